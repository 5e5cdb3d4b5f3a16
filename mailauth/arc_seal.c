/* arc_seal: adding an ARC set to a message tern forwards (arc.h), RFC
 * 8617 §5.1.
 *
 * Instance N+1 over the message's N sets. The AAR is "i=N+1; " and our
 * Authentication-Results value; the AMS is a DKIM-style signature
 * (relaxed/relaxed, the key's algorithm) over the h= fields and the body;
 * the AS signs every set, oldest first (AAR, AMS, AS), the new AS with b=
 * empty, relaxed. With cv=fail only the new set is signed (as dkimpy and
 * the ARC test suite do), and a chain whose latest seal says cv=fail gets
 * no new set (§5.1.2).
 *
 * Tags are written in alphabetical order with one SP after each ';' and
 * folded only at those spaces (b= is never broken: a later seal hashes
 * our fields relaxed, where a fold would be a space), so the relaxed form
 * of what we hash is the test suite's normalized form and its signatures
 * reproduce exactly. ARC fields are not signed by the AMS: the new AAR is not part
 * of the message we hash, and a verifier would find it. */
#include "mailauth/arc.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mailauth/dkim_sign_base.h"

#define LINE_MAX_LEN 78

static const char *const default_fields[] = {
    "from",           "to",           "cc",           "subject",
    "date",           "message-id",   "reply-to",     "in-reply-to",
    "references",     "mime-version", "content-type", "content-transfer-encoding",
    "dkim-signature",
};

struct arc_sealer {
	struct dkim_sign_base base;
	struct dkim_name h[DKIM_H_MAX];
	char hname[DKIM_H_MAX][64];
	size_t nh;
	bool default_h;
};

static void add_name(struct arc_sealer *s, const char *name)
{
	size_t len = strlen(name);
	if (s->nh == DKIM_H_MAX || len == 0 || len >= sizeof s->hname[0] ||
	    strncasecmp(name, "arc-", 4) == 0)
		return;
	for (size_t i = 0; i <= len; i++) {
		char c = name[i];
		if (c && ((unsigned char)c <= 0x20 || c == ':' || (unsigned char)c >= 0x7f))
			return;
		s->hname[s->nh][i] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
	}
	s->h[s->nh].name = s->hname[s->nh];
	s->h[s->nh].len = len;
	s->nh++;
}

struct arc_sealer *arc_sealer_new(struct dkim_signing_key *key, const char *domain,
                                  const char *selector, int64_t now, const char *const *headers,
                                  size_t nheaders)
{
	struct arc_sealer *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	if (dkim_sign_base_init(&s->base, key, domain, selector, now, DKIM_CANON_RELAXED) < 0) {
		free(s);
		return NULL;
	}
	s->default_h = headers == NULL;
	for (size_t i = 0; headers && i < nheaders; i++)
		add_name(s, headers[i]);
	return s;
}

void arc_sealer_feed(struct arc_sealer *s, const void *data, size_t len)
{
	dkim_sign_base_feed(&s->base, data, len);
}

void arc_sealer_free(struct arc_sealer **sp)
{
	struct arc_sealer *s = *sp;
	if (!s)
		return;
	dkim_sign_base_free(&s->base);
	free(s);
	*sp = NULL;
}

/* A field being written: text, the column of its last line. */
struct out {
	struct buf b;
	size_t col;
	int err;
};

static void put_raw(struct out *o, const char *p, size_t n)
{
	o->err |= buf_add(&o->b, p, n);
	o->col += n;
}

/* A tag "k=v" (or text) after "; ", folding before it when it does not fit. */
static void put_tag(struct out *o, const char *text, bool first)
{
	size_t n = strlen(text);
	if (!first)
		put_raw(o, ";", 1);
	if (o->col + 1 + n > LINE_MAX_LEN && o->col > 1) {
		o->err |= buf_add(&o->b, "\r\n\t", 3);
		o->col = 1;
	} else {
		put_raw(o, " ", 1);
	}
	put_raw(o, text, n);
}

/* Builds "Name: a=..; b=<sig>; rest" where the signature is over the
 * hash state sha plus this field with b= empty (relaxed, no CRLF). The
 * tags after b= are in after[]. */
static int signed_field(struct arc_sealer *s, const char *name, const char *alg,
                        const char *const *after, size_t nafter, crypto_hash_sha256_state *sha,
                        struct buf *field)
{
	/* the text hashed: the same tags without folding; relaxed makes them equal */
	struct buf h = {0};
	int err = buf_adds(&h, name);
	err |= buf_adds(&h, ": a=");
	err |= buf_adds(&h, alg);
	err |= buf_adds(&h, "; b=");
	for (size_t i = 0; i < nafter; i++) {
		err |= buf_adds(&h, "; ");
		err |= buf_adds(&h, after[i]);
	}
	if (err) {
		buf_free(&h);
		return -1;
	}
	dkim_header_hash(sha, DKIM_CANON_RELAXED, h.data, h.len, false);
	buf_free(&h);
	char b64[DKIM_SIGN_B64_MAX], tmp[DKIM_NAME_MAX + 16];
	if (dkim_sign_base_sign(&s->base, sha, b64) < 0)
		return -1;
	struct out o = {.b = *field};
	put_raw(&o, name, strlen(name));
	put_raw(&o, ":", 1);
	snprintf(tmp, sizeof tmp, "a=%s", alg);
	put_tag(&o, tmp, true);
	/* b= unbroken (on a line of its own when long): a later AS hashes
	 * this field relaxed, where a fold inside b= would be a space */
	struct buf bt = {0};
	o.err |= buf_adds(&bt, "b=") | buf_adds(&bt, b64) | buf_addc(&bt, '\0');
	if (!o.err)
		put_tag(&o, bt.data, false);
	buf_free(&bt);
	for (size_t i = 0; i < nafter; i++)
		put_tag(&o, after[i], false);
	o.err |= buf_add(&o.b, "\r\n", 2);
	*field = o.b;
	return o.err ? -1 : 0;
}

/* The AAR's value: "i=N; " then authres, its line ends made folds. */
static int aar_field(unsigned instance, const char *authres, struct buf *out)
{
	char tmp[64];
	snprintf(tmp, sizeof tmp, "ARC-Authentication-Results: i=%u; ", instance);
	int err = buf_adds(out, tmp);
	size_t n = strlen(authres);
	while (n && (authres[n - 1] == ' ' || authres[n - 1] == '\t' || authres[n - 1] == '\r' ||
	             authres[n - 1] == '\n'))
		n--;
	while (n && (*authres == ' ' || *authres == '\t')) {
		authres++;
		n--;
	}
	for (size_t i = 0; i < n; i++) {
		char c = authres[i];
		if (c == '\r')
			continue;
		if (c == '\n') {
			err |= buf_add(out, "\r\n", 2);
			if (i + 1 < n && authres[i + 1] != ' ' && authres[i + 1] != '\t')
				err |= buf_addc(out, '\t');
			continue;
		}
		if (c == '\0')
			break;
		err |= buf_addc(out, c);
	}
	err |= buf_add(out, "\r\n", 2);
	return err ? -1 : 0;
}

int arc_sealer_finish(struct arc_sealer *s, enum arc_status chain, const char *authres,
                      struct buf *out, char *err, size_t errlen)
{
	struct dkim_msg *msg = &s->base.msg;
	if (!msg->done)
		dkim_msg_end_headers(msg);
	if (msg->error) {
		snprintf(err, errlen, "%s", msg->error);
		return -1;
	}
	struct arc_sets *sets = malloc(sizeof *sets);
	if (!sets) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	arc_sets_collect(msg, sets);
	/* the highest instance there, also in a broken chain */
	unsigned n = 0;
	for (size_t i = 0; i < msg->nfield; i++) {
		const struct dkim_field *f = &msg->field[i];
		if (f->name_len >= 4 && strncasecmp(f->text, "ARC-", 4) == 0) {
			unsigned k = arc_field_instance(f);
			n = k > n ? k : n;
		}
	}
	enum arc_cv cv = n == 0 ? ARC_CV_NONE : chain == ARC_PASS ? ARC_CV_PASS : ARC_CV_FAIL;
	int rc = 1;
	if (n >= ARC_MAX_INSTANCE)
		goto done;
	if (n && sets->set[n].as) {
		struct arc_seal *last = malloc(sizeof *last);
		const char *why;
		bool ended = last && arc_seal_parse(sets->set[n].as, last, &why) == 0 &&
		             last->cv == ARC_CV_FAIL;
		free(last);
		if (ended)
			goto done;
	}
	if (cv == ARC_CV_PASS && sets->error)
		cv = ARC_CV_FAIL;
	unsigned inst = n + 1;
	rc = -1;

	/* h=: the default list, of the fields present */
	if (s->default_h)
		for (size_t i = 0; i < sizeof default_fields / sizeof *default_fields; i++)
			for (size_t k = dkim_msg_count(msg, default_fields[i]); k > 0; k--)
				add_name(s, default_fields[i]);
	if (s->nh == 0 || dkim_msg_count(msg, "From") == 0) {
		snprintf(err, errlen, "the message has no From field");
		goto done;
	}
	const char *alg = dkim_sign_base_alg(&s->base);
	struct buf aar = {0}, ams = {0}, as = {0}, hlist = {0};
	int e = aar_field(inst, authres ? authres : "", &aar);

	char bh64[64], itag[16], ttag[32], dtag[DKIM_NAME_MAX + 4], stag[DKIM_NAME_MAX + 4];
	dkim_sign_base_body_hash(&s->base, bh64);
	char bhtag[80];
	snprintf(bhtag, sizeof bhtag, "bh=%s", bh64);
	snprintf(itag, sizeof itag, "i=%u", inst);
	snprintf(ttag, sizeof ttag, "t=%lld", (long long)s->base.now);
	snprintf(dtag, sizeof dtag, "d=%s", s->base.domain);
	snprintf(stag, sizeof stag, "s=%s", s->base.selector);
	e |= buf_adds(&hlist, "h=");
	for (size_t i = 0; i < s->nh; i++) {
		e |= buf_add(&hlist, s->h[i].name, s->h[i].len);
		if (i + 1 < s->nh)
			e |= buf_addc(&hlist, ':');
	}
	e |= buf_addc(&hlist, '\0');
	if (e) {
		snprintf(err, errlen, "out of memory");
		goto free_bufs;
	}

	/* AMS */
	crypto_hash_sha256_state sha;
	crypto_hash_sha256_init(&sha);
	dkim_msg_hash_fields(msg, &sha, DKIM_CANON_RELAXED, s->h, s->nh);
	const char *ams_tags[] = {bhtag, "c=relaxed/relaxed", dtag, hlist.data, itag, stag, ttag};
	if (signed_field(s, "ARC-Message-Signature", alg, ams_tags, 7, &sha, &ams) < 0) {
		snprintf(err, errlen, "signing failed");
		goto free_bufs;
	}

	/* AS: the earlier sets (unless the chain failed), then the new one */
	crypto_hash_sha256_init(&sha);
	if (cv != ARC_CV_FAIL)
		for (unsigned k = 1; k <= n; k++) {
			const struct arc_set *set = &sets->set[k];
			dkim_header_hash(&sha, DKIM_CANON_RELAXED, set->aar->text, set->aar->len,
			                 true);
			dkim_header_hash(&sha, DKIM_CANON_RELAXED, set->ams->text, set->ams->len,
			                 true);
			dkim_header_hash(&sha, DKIM_CANON_RELAXED, set->as->text, set->as->len,
			                 true);
		}
	dkim_header_hash(&sha, DKIM_CANON_RELAXED, aar.data, aar.len - 2, true);
	dkim_header_hash(&sha, DKIM_CANON_RELAXED, ams.data, ams.len - 2, true);
	const char *cvtag = cv == ARC_CV_NONE   ? "cv=none"
	                    : cv == ARC_CV_PASS ? "cv=pass"
	                                        : "cv=fail";
	const char *as_tags[] = {cvtag, dtag, itag, stag, ttag};
	if (signed_field(s, "ARC-Seal", alg, as_tags, 5, &sha, &as) < 0) {
		snprintf(err, errlen, "signing failed");
		goto free_bufs;
	}
	if (buf_add(out, as.data, as.len) < 0 || buf_add(out, ams.data, ams.len) < 0 ||
	    buf_add(out, aar.data, aar.len) < 0) {
		snprintf(err, errlen, "out of memory");
		goto free_bufs;
	}
	rc = 0;
free_bufs:
	buf_free(&aar);
	buf_free(&ams);
	buf_free(&as);
	buf_free(&hlist);
done:
	free(sets);
	return rc;
}

int arc_seal(struct dkim_signing_key *key, const char *domain, const char *selector, int64_t now,
             const char *const *headers, size_t nheaders, enum arc_status chain,
             const char *authres, const void *msg, size_t len, struct buf *out, char *err,
             size_t errlen)
{
	struct arc_sealer *s = arc_sealer_new(key, domain, selector, now, headers, nheaders);
	if (!s) {
		snprintf(err, errlen, "domain or selector too long, or out of memory");
		return -1;
	}
	arc_sealer_feed(s, msg, len);
	int rc = arc_sealer_finish(s, chain, authres, out, err, errlen);
	arc_sealer_free(&s);
	return rc;
}
