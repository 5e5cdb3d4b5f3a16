/* dkim_canon: simple and relaxed canonicalization (dkim_canon.h).
 *
 * Body, both algorithms (RFC 6376 §3.4.3, §3.4.4): empty lines at the
 * end are dropped, so every empty line is held back as a count and
 * written only when content follows. Relaxed also drops whitespace at
 * line ends and folds each run inside a line to one SP: a run is held as
 * a flag and written as one SP when content follows on the same line. An
 * unterminated last line gets its CRLF; an empty body is CRLF (simple)
 * or nothing (relaxed, RFC 6376 erratum 3192 reading).
 *
 * Header, relaxed (§3.4.2): lowercase name, unfold, runs of WSP to one
 * SP, no WSP at the value's end or around the colon. */
#include "mailauth/dkim_canon.h"

#include "lib/buf.h"

#include <string.h>

static void emit(struct dkim_body *b, const void *p, size_t n)
{
	uint64_t room = b->total >= b->limit ? 0 : b->limit - b->total;
	size_t take = n < room ? n : (size_t)room;
	b->total += n;
	const unsigned char *s = p;
	while (take) {
		size_t k = sizeof b->out - b->out_len;
		if (k > take)
			k = take;
		memcpy(b->out + b->out_len, s, k);
		b->out_len += k;
		s += k;
		take -= k;
		if (b->out_len == sizeof b->out) {
			crypto_hash_sha256_update(&b->sha, b->out, b->out_len);
			b->out_len = 0;
		}
	}
}

void dkim_body_init(struct dkim_body *b, enum dkim_canon canon, uint64_t limit)
{
	memset(b, 0, sizeof *b);
	b->canon = canon;
	b->limit = limit;
	crypto_hash_sha256_init(&b->sha);
}

/* The start of content on a line: the empty lines before it were not the
 * body's end after all. */
static void line_content(struct dkim_body *b)
{
	if (!b->in_line) {
		while (b->empty_run) {
			emit(b, "\r\n", 2);
			b->empty_run--;
		}
		b->in_line = true;
	}
}

static void line_end(struct dkim_body *b)
{
	if (b->in_line)
		emit(b, "\r\n", 2);
	else
		b->empty_run++;
	b->in_line = false;
	b->wsp = false;
}

static void content_byte(struct dkim_body *b, unsigned char c)
{
	if (b->canon == DKIM_CANON_RELAXED && (c == ' ' || c == '\t')) {
		b->wsp = true;
		return;
	}
	line_content(b);
	if (b->wsp) {
		emit(b, " ", 1);
		b->wsp = false;
	}
	emit(b, &c, 1);
}

void dkim_body_feed(struct dkim_body *b, const void *data, size_t len)
{
	const unsigned char *p = data, *end = p + len;
	while (p < end) {
		if (b->cr) {
			b->cr = false;
			if (*p == '\n') {
				line_end(b);
				p++;
				continue;
			}
			content_byte(b, '\r');
		}
		/* a run of plain bytes in a line that has begun: in one go */
		if (b->in_line && !b->wsp) {
			const unsigned char *q = p;
			while (q < end && *q != '\r' && *q != '\n' &&
			       (b->canon == DKIM_CANON_SIMPLE || (*q != ' ' && *q != '\t')))
				q++;
			if (q > p) {
				emit(b, p, (size_t)(q - p));
				p = q;
				continue;
			}
		}
		unsigned char c = *p++;
		if (c == '\r')
			b->cr = true;
		else if (c == '\n')
			line_end(b);
		else
			content_byte(b, c);
	}
}

void dkim_body_final(struct dkim_body *b, unsigned char hash[32])
{
	if (b->cr) {
		b->cr = false;
		content_byte(b, '\r');
	}
	if (b->in_line)
		line_end(b);
	else if (b->canon == DKIM_CANON_SIMPLE && b->total == 0)
		emit(b, "\r\n", 2);
	if (b->out_len)
		crypto_hash_sha256_update(&b->sha, b->out, b->out_len);
	b->out_len = 0;
	crypto_hash_sha256_final(&b->sha, hash);
}

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void dkim_header_hash(crypto_hash_sha256_state *sha, enum dkim_canon canon, const char *field,
                      size_t len, bool crlf)
{
	if (canon == DKIM_CANON_SIMPLE) {
		crypto_hash_sha256_update(sha, (const unsigned char *)field, len);
		if (crlf)
			crypto_hash_sha256_update(sha, (const unsigned char *)"\r\n", 2);
		return;
	}
	unsigned char out[256];
	size_t n = 0;
#define PUT(ch)                                                                                    \
	do {                                                                                       \
		if (n == sizeof out) {                                                             \
			crypto_hash_sha256_update(sha, out, n);                                    \
			n = 0;                                                                     \
		}                                                                                  \
		out[n++] = (unsigned char)(ch);                                                    \
	} while (0)
	const char *colon = memchr(field, ':', len);
	size_t name_end = colon ? (size_t)(colon - field) : len;
	size_t ne = name_end;
	while (ne > 0 && is_wsp(field[ne - 1]))
		ne--;
	for (size_t i = 0; i < ne; i++) {
		char c = field[i];
		PUT(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	if (colon) {
		PUT(':');
		size_t i = name_end + 1;
		while (i < len && is_wsp(field[i]))
			i++;
		bool pending = false;
		for (; i < len; i++) {
			if (is_wsp(field[i])) {
				pending = true;
				continue;
			}
			if (pending)
				PUT(' ');
			pending = false;
			PUT(field[i]);
		}
	}
	if (crlf) {
		PUT('\r');
		PUT('\n');
	}
	if (n)
		crypto_hash_sha256_update(sha, out, n);
#undef PUT
}

int dkim_header_hash_unsigned(crypto_hash_sha256_state *sha, enum dkim_canon canon,
                              const char *field, size_t len, size_t b_off, size_t b_end)
{
	/* one piece: relaxed folds the whitespace on both sides of the gap */
	struct buf self = {0};
	if (buf_add(&self, field, b_off) < 0 || buf_add(&self, field + b_end, len - b_end) < 0) {
		buf_free(&self);
		return -1;
	}
	dkim_header_hash(sha, canon, self.data, self.len, false);
	buf_free(&self);
	return 0;
}

int dkim_bodies_get(struct dkim_bodies *bs, enum dkim_canon canon, uint64_t limit)
{
	for (size_t i = 0; i < bs->n; i++)
		if (bs->body[i].canon == canon && bs->body[i].limit == limit)
			return (int)i;
	if (bs->n == DKIM_BODIES_MAX)
		return -1;
	dkim_body_init(&bs->body[bs->n], canon, limit);
	return (int)bs->n++;
}

void dkim_bodies_feed(struct dkim_bodies *bs, const void *data, size_t len)
{
	for (size_t i = 0; i < bs->n; i++)
		dkim_body_feed(&bs->body[i], data, len);
}

void dkim_bodies_final(struct dkim_bodies *bs)
{
	for (size_t i = 0; i < bs->n; i++)
		dkim_body_final(&bs->body[i], bs->hash[i]);
}
