/* dkim_sign: making a DKIM-Signature field (dkim.h).
 *
 * relaxed/relaxed by default (a test-only option picks simple), rsa-sha256
 * or ed25519-sha256 by the key. h= names every instance of the fields
 * worth signing that the message has, and From, To, Subject, Date and
 * Message-ID once more than they are present (over-signing, RFC 6376
 * §8.15): an instance added on the way then breaks the signature. The
 * field is folded at 78 characters, and the text hashed is the text sent
 * (the b= value emptied), so simple header canonicalization signs it too. */
#include "mailauth/dkim.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailauth/dkim_sign_base.h"

#define LINE_MAX_LEN 78

static const char *const signed_fields[] = {
    "From",
    "Reply-To",
    "Subject",
    "Date",
    "To",
    "Cc",
    "Message-ID",
    "In-Reply-To",
    "References",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "Sender",
};
static const char *const oversigned_fields[] = {"From", "To", "Subject", "Date", "Message-ID"};

struct dkim_signer {
	struct dkim_sign_base base;
	enum dkim_canon hc, bc;
};

struct dkim_signer *dkim_signer_new(struct dkim_signing_key *key, const char *domain,
                                    const char *selector, int64_t now,
                                    const struct dkim_sign_opts *opts)
{
	struct dkim_signer *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->hc = opts ? opts->header_canon : DKIM_CANON_RELAXED;
	s->bc = opts ? opts->body_canon : DKIM_CANON_RELAXED;
	if (dkim_sign_base_init(&s->base, key, domain, selector, now, s->bc) < 0) {
		free(s);
		return NULL;
	}
	return s;
}

void dkim_signer_feed(struct dkim_signer *s, const void *data, size_t len)
{
	dkim_sign_base_feed(&s->base, data, len);
}

/* Folding writer: appends text, breaking to "\r\n\t" before a piece that
 * would pass the line limit. */
struct folder {
	struct buf *b;
	size_t col;
	int err;
};

static void put(struct folder *f, const char *p, size_t n, bool space_before)
{
	size_t need = n + (space_before ? 1 : 0);
	if (f->col + need > LINE_MAX_LEN && f->col > 1) {
		f->err |= buf_add(f->b, "\r\n\t", 3);
		f->col = 1;
		space_before = false;
	}
	if (space_before) {
		f->err |= buf_addc(f->b, ' ');
		f->col++;
	}
	f->err |= buf_add(f->b, p, n);
	f->col += n;
}

static void put_tag(struct folder *f, const char *s)
{
	put(f, s, strlen(s), true);
}

/* A long value (base64) in pieces that fill each line. */
static void put_long(struct folder *f, const char *tag, const char *v, bool last)
{
	put(f, tag, strlen(tag), true);
	size_t n = strlen(v);
	while (n) {
		size_t room = f->col < LINE_MAX_LEN ? LINE_MAX_LEN - f->col : 0;
		if (room < 2) {
			f->err |= buf_add(f->b, "\r\n\t", 3);
			f->col = 1;
			continue;
		}
		size_t k = n < room - (last ? 0 : 1) ? n : room - (last ? 0 : 1);
		if (k == 0)
			k = 1;
		f->err |= buf_add(f->b, v, k);
		f->col += k;
		v += k;
		n -= k;
	}
	if (!last)
		put(f, ";", 1, false);
}

static bool oversigned(const char *name)
{
	for (size_t i = 0; i < sizeof oversigned_fields / sizeof *oversigned_fields; i++)
		if (strcmp(name, oversigned_fields[i]) == 0)
			return true;
	return false;
}

int dkim_signer_finish(struct dkim_signer *s, struct buf *out, char *err, size_t errlen)
{
	struct dkim_msg *msg = &s->base.msg;
	if (!msg->done)
		dkim_msg_end_headers(msg);
	if (msg->error) {
		snprintf(err, errlen, "%s", msg->error);
		return -1;
	}
	if (dkim_msg_count(msg, "From") == 0) {
		snprintf(err, errlen, "the message has no From field");
		return -1;
	}
	char bh64[64];
	dkim_sign_base_body_hash(&s->base, bh64);

	/* h=, lowercase, as a list of names for the header hash too */
	struct dkim_name names[64];
	char lower[64][32];
	size_t nn = 0;
	for (size_t i = 0; i < sizeof signed_fields / sizeof *signed_fields; i++) {
		size_t c = dkim_msg_count(msg, signed_fields[i]);
		if (c && oversigned(signed_fields[i]))
			c++;
		else if (!c && oversigned(signed_fields[i]))
			c = 1; /* absent: one empty instance keeps it from being added */
		size_t len = strlen(signed_fields[i]);
		for (size_t k = 0; k < c && nn < 64; k++) {
			for (size_t j = 0; j <= len; j++) {
				char ch = signed_fields[i][j];
				lower[nn][j] = ch >= 'A' && ch <= 'Z' ? (char)(ch + 32) : ch;
			}
			names[nn].name = lower[nn];
			names[nn].len = len;
			nn++;
		}
	}

	struct buf field = {0};
	struct folder f = {.b = &field};
	char tmp[600];
	f.err |= buf_adds(&field, "DKIM-Signature:");
	f.col = field.len;
	put_tag(&f, "v=1;");
	snprintf(tmp, sizeof tmp, "a=%s;", dkim_sign_base_alg(&s->base));
	put_tag(&f, tmp);
	snprintf(tmp, sizeof tmp, "c=%s/%s;", s->hc == DKIM_CANON_RELAXED ? "relaxed" : "simple",
	         s->bc == DKIM_CANON_RELAXED ? "relaxed" : "simple");
	put_tag(&f, tmp);
	snprintf(tmp, sizeof tmp, "d=%s;", s->base.domain);
	put_tag(&f, tmp);
	snprintf(tmp, sizeof tmp, "s=%s;", s->base.selector);
	put_tag(&f, tmp);
	snprintf(tmp, sizeof tmp, "t=%lld;", (long long)s->base.now);
	put_tag(&f, tmp);
	for (size_t i = 0; i < nn; i++) {
		snprintf(tmp, sizeof tmp, "%s%s%s", i == 0 ? "h=" : "", names[i].name,
		         i + 1 < nn ? ":" : ";");
		put(&f, tmp, strlen(tmp), i == 0);
	}
	put_long(&f, "bh=", bh64, false);
	put_tag(&f, "b=");
	if (f.err) {
		buf_free(&field);
		snprintf(err, errlen, "out of memory");
		return -1;
	}

	crypto_hash_sha256_state sha;
	crypto_hash_sha256_init(&sha);
	dkim_msg_hash_fields(msg, &sha, s->hc, names, nn);
	dkim_header_hash(&sha, s->hc, field.data, field.len, false);
	char b64[DKIM_SIGN_B64_MAX];
	if (dkim_sign_base_sign(&s->base, &sha, b64) < 0) {
		buf_free(&field);
		snprintf(err, errlen, "signing failed");
		return -1;
	}
	/* b= was written with its leading space: the value follows directly */
	size_t n = strlen(b64);
	const char *v = b64;
	while (n) {
		size_t room = f.col < LINE_MAX_LEN ? LINE_MAX_LEN - f.col : 0;
		if (room == 0) {
			f.err |= buf_add(&field, "\r\n\t", 3);
			f.col = 1;
			continue;
		}
		size_t k = n < room ? n : room;
		f.err |= buf_add(&field, v, k);
		f.col += k;
		v += k;
		n -= k;
	}
	f.err |= buf_add(&field, "\r\n", 2);
	if (f.err || buf_add(out, field.data, field.len) < 0) {
		buf_free(&field);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	buf_free(&field);
	return 0;
}

void dkim_signer_free(struct dkim_signer **sp)
{
	struct dkim_signer *s = *sp;
	if (!s)
		return;
	dkim_sign_base_free(&s->base);
	free(s);
	*sp = NULL;
}

int dkim_sign(struct dkim_signing_key *key, const char *domain, const char *selector, int64_t now,
              const struct dkim_sign_opts *opts, const void *msg, size_t len, struct buf *out,
              char *err, size_t errlen)
{
	struct dkim_signer *s = dkim_signer_new(key, domain, selector, now, opts);
	if (!s) {
		snprintf(err, errlen, "domain or selector too long, or out of memory");
		return -1;
	}
	dkim_signer_feed(s, msg, len);
	int rc = dkim_signer_finish(s, out, err, errlen);
	dkim_signer_free(&s);
	return rc;
}
