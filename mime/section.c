/* section: IMAP section specs -> byte ranges of the raw message (see
 * section.h).
 *
 * RFC 9051 §6.4.5 numbers parts like this: the parts of a multipart are
 * 1, 2, ...; a message that is not multipart has one part, "1", its body;
 * a message/rfc822 part "n" contains a message whose parts are "n.1",
 * "n.2", ... by the same rule.  HEADER, TEXT and HEADER.FIELDS apply to a
 * message (the top level one, or the one inside a message/rfc822 part);
 * MIME applies to a numbered part and is that part's own header.
 *
 * Every answer is a range of the raw bytes, except HEADER.FIELDS[.NOT],
 * which is a subset of a header's fields and is built by
 * imap_header_fields(): fields in message order, continuation lines kept,
 * and the blank line that ends a header.
 */
#include "mime/section.h"
#include "mime/header.h"
#include "lib/base64.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Step into a message: its part k. */
static const struct mime_part *msg_part(const struct mime_part *msg, unsigned long k)
{
	if (msg->flags & MIME_PART_MULTIPART) {
		const struct mime_part *c = msg->children;
		for (unsigned long i = 1; c && i < k; i++)
			c = c->next;
		return c;
	}
	return k == 1 ? msg : NULL;
}

static const struct mime_part *step(const struct mime_part *p, unsigned long k)
{
	if (p->message)
		return msg_part(p->message, k);
	if (p->flags & MIME_PART_MULTIPART) {
		/* the selected part is a multipart: its children */
		const struct mime_part *c = p->children;
		for (unsigned long i = 1; c && i < k; i++)
			c = c->next;
		return c;
	}
	return NULL;
}

/* Parse "1.2.3" from s[*i..n); stops before a non-number component. */
static int parse_numbers(const struct mime_message *m, const char *s, size_t n, size_t *i,
                         const struct mime_part **part)
{
	const struct mime_part *p = NULL;
	while (*i < n && s[*i] >= '0' && s[*i] <= '9') {
		unsigned long k = 0;
		size_t st = *i;
		while (*i < n && s[*i] >= '0' && s[*i] <= '9') {
			if (k > 1000000)
				return -EINVAL;
			k = k * 10 + (unsigned long)(s[*i] - '0');
			(*i)++;
		}
		if (k == 0 || (s[st] == '0'))
			return -EINVAL;
		p = p ? step(p, k) : msg_part(m->root, k);
		if (!p)
			return -ENOENT;
		if (*i < n) {
			if (s[*i] != '.')
				return -EINVAL;
			(*i)++;
			if (*i == n)
				return -EINVAL;
		}
	}
	*part = p;
	return 0;
}

const struct mime_part *imap_part_find(const struct mime_message *m, const char *num, size_t len)
{
	size_t i = 0;
	const struct mime_part *p = NULL;
	if (parse_numbers(m, num, len, &i, &p) < 0 || i != len)
		return NULL;
	return p;
}

static bool word(const char *s, size_t n, size_t i, const char *w)
{
	size_t l = strlen(w);
	return n - i >= l && strncasecmp(s + i, w, l) == 0;
}

int imap_section_find(const struct mime_message *m, const char *s, size_t n,
                      struct imap_section *out)
{
	memset(out, 0, sizeof(*out));
	size_t i = 0;
	const struct mime_part *p = NULL;
	int r = parse_numbers(m, s, n, &i, &p);
	if (r < 0)
		return r;
	if (i == n) {
		/* "" or "1.2": the body of the part, or the whole message */
		out->kind = IMAP_SECTION_BODY;
		out->part = p ? p : m->root;
		if (!p) {
			out->offset = 0;
			out->length = m->len;
		} else {
			out->offset = p->body_start;
			out->length = p->size;
		}
		return 0;
	}
	/* the message the text part applies to */
	const struct mime_part *msg = m->root;
	if (p && !word(s, n, i, "MIME")) {
		if (!p->message)
			return -EINVAL;
		msg = p->message;
	}
	if (word(s, n, i, "MIME") && i + 4 == n) {
		if (!p)
			return -EINVAL;
		out->kind = IMAP_SECTION_MIME;
		out->part = p;
		out->offset = p->hdr_start;
		out->length = p->body_start - p->hdr_start;
		return 0;
	}
	if (word(s, n, i, "TEXT") && i + 4 == n) {
		out->kind = IMAP_SECTION_TEXT;
		out->part = msg;
		out->offset = msg->body_start;
		out->length = msg->size;
		return 0;
	}
	if (word(s, n, i, "HEADER") && i + 6 == n) {
		out->kind = IMAP_SECTION_HEADER;
		out->part = msg;
		out->offset = msg->hdr_start;
		out->length = msg->body_start - msg->hdr_start;
		return 0;
	}
	size_t l;
	if (word(s, n, i, "HEADER.FIELDS.NOT")) {
		out->kind = IMAP_SECTION_FIELDS_NOT;
		l = 17;
	} else if (word(s, n, i, "HEADER.FIELDS")) {
		out->kind = IMAP_SECTION_FIELDS;
		l = 13;
	} else {
		return -EINVAL;
	}
	i += l;
	while (i < n && s[i] == ' ')
		i++;
	if (i >= n || s[i] != '(' || s[n - 1] != ')' || n - 1 <= i)
		return -EINVAL;
	out->fields = s + i + 1;
	out->fields_len = n - 1 - (i + 1);
	size_t k = 0;
	while (k < out->fields_len && out->fields[k] == ' ')
		k++;
	if (k == out->fields_len)
		return -EINVAL; /* the list needs at least one name */
	out->part = msg;
	out->offset = msg->hdr_start;
	out->length = msg->body_start - msg->hdr_start;
	return 0;
}

/* Is name one of the (space separated, maybe quoted) names in list? */
static bool in_list(const char *name, size_t nl, const char *list, size_t ll)
{
	size_t i = 0;
	while (i < ll) {
		while (i < ll && (list[i] == ' ' || list[i] == '\t'))
			i++;
		size_t s = i, e;
		if (i < ll && list[i] == '"') {
			s = ++i;
			while (i < ll && list[i] != '"')
				i += (list[i] == '\\' && i + 1 < ll) ? 2 : 1;
			e = i < ll ? i : ll;
			i = e + 1;
		} else {
			while (i < ll && list[i] != ' ' && list[i] != '\t')
				i++;
			e = i;
		}
		if (e - s == nl && strncasecmp(list + s, name, nl) == 0)
			return true;
	}
	return false;
}

int imap_header_fields(const char *hdr, size_t len, const char *fields, size_t flen, bool negate,
                       struct buf *out)
{
	size_t pos = 0;
	const char *n, *v;
	size_t nl, vl;
	int r = buf_add(out, "", 0);
	while (r == 0) {
		if (mime_header_next(hdr, &pos, len, &n, &nl, &v, &vl) <= 0)
			break;
		if (in_list(n, nl, fields, flen) != negate) {
			r = buf_add(out, n, (size_t)(v + vl - n));
			/* a last field cut off without a line break */
			if (r == 0 && (vl == 0 || v[vl - 1] != '\n'))
				r = buf_add(out, "\r\n", 2);
		}
	}
	return r ? r : buf_add(out, "\r\n", 2);
}

int imap_section_fetch(const struct mime_message *m, const struct imap_section *s, struct buf *out)
{
	if (s->kind == IMAP_SECTION_FIELDS || s->kind == IMAP_SECTION_FIELDS_NOT)
		return imap_header_fields(m->raw + s->offset, s->length, s->fields, s->fields_len,
		                          s->kind == IMAP_SECTION_FIELDS_NOT, out);
	return buf_add(out, m->raw + s->offset, s->length);
}

/* ---- BINARY[section] of a big part, a piece at a time ---------------------
 *
 * How a range is found again without decoding what comes before it:
 *
 *  - identity (and multipart/message parts, which BINARY returns raw): the
 *    decoded offset is the raw offset.
 *  - base64: the decoder below is mime_decode_base64() (mime/decode.c) with
 *    its state in a struct, so it can stop after any byte and go on later:
 *    characters outside the alphabet are skipped, "=" drops the bits held.
 *    A mark records the raw offset, the decoded offset and the bits held
 *    there (at most 6 of them matter).
 *  - quoted-printable: mime_decode_qp() decodes line by line, and what a
 *    line decodes to depends on that line alone. So the raw body is cut
 *    only after an LF, each piece goes through mime_decode_qp() as it is,
 *    and a mark is the start of a line.
 *
 * The first decode of a part walks it in blocks of at least a stride of
 * raw bytes and marks the start of each; the output is the same bytes
 * mime_decode_body() gives (tests/unit/test_imap_binary.c compares them
 * on random and broken input). */

#define RAW_PIECE (256u << 10) /* raw bytes read at once for a range */

/* The end of a quoted-printable piece that starts at raw[0] and may run to
 * raw[len): just after the last LF, or len at the end of the body (last);
 * 0 when the piece holds no whole line. */
static size_t qp_cut(const char *raw, size_t len, bool last)
{
	if (last)
		return len;
	for (size_t i = len; i > 0; i--)
		if (raw[i - 1] == '\n')
			return i;
	return 0;
}

void imap_binary_map_free(struct imap_binary_map *map)
{
	free(map->marks);
	memset(map, 0, sizeof(*map));
}

static int add_mark(struct imap_binary_map *map, size_t *cap, uint64_t raw, uint64_t dec,
                    const struct mime_b64_state *st)
{
	if (map->nmarks == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct imap_binary_mark *n = realloc(map->marks, ncap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		map->marks = n;
		*cap = ncap;
	}
	map->marks[map->nmarks++] = (struct imap_binary_mark){
	    .raw = raw, .dec = dec, .acc = (uint8_t)st->acc, .bits = (uint8_t)st->bits};
	return 0;
}

int imap_binary_decode(const struct mime_message *m, const struct mime_part *p, struct buf *out,
                       struct imap_binary_map *map)
{
	memset(map, 0, sizeof(*map));
	enum mime_encoding enc = (p->flags & MIME_PART_MULTIPART) || p->message
	                             ? MIME_ENC_IDENTITY
	                             : mime_part_encoding(p);
	if (enc == MIME_ENC_UNKNOWN)
		return -EINVAL;
	map->enc = enc;
	map->raw_off = p->body_start;
	map->raw_len = p->size;
	const char *raw = m->raw + p->body_start;
	size_t len = p->size, start = out->len, cap = 0;
	struct mime_b64_state st = {0, 0};
	int r = buf_add(out, "", 0);
	if (r == 0)
		r = add_mark(map, &cap, 0, 0, &st);
	if (r == 0 && enc == MIME_ENC_IDENTITY)
		r = buf_add(out, raw, len);
	/* The stride: a mark per IMAP_BINARY_STRIDE, fewer for a huge part. */
	size_t stride = len / IMAP_BINARY_MAX_MARKS + 1;
	if (stride < IMAP_BINARY_STRIDE)
		stride = IMAP_BINARY_STRIDE;
	for (size_t pos = 0; r == 0 && enc != MIME_ENC_IDENTITY && pos < len;) {
		size_t n = len - pos < stride ? len - pos : stride;
		if (enc == MIME_ENC_QP) {
			/* run on to the end of the line */
			const char *nl = memchr(raw + pos + n, '\n', len - pos - n);
			n = nl ? (size_t)(nl - (raw + pos)) + 1 : len - pos;
			r = mime_decode_qp(raw + pos, n, out);
		} else {
			r = mime_decode_base64_run(&st, raw + pos, n, out);
		}
		pos += n;
		if (r == 0 && pos < len)
			r = add_mark(map, &cap, pos, out->len - start, &st);
	}
	if (r < 0) {
		imap_binary_map_free(map);
		return r;
	}
	map->size = out->len - start;
	return 0;
}

int imap_binary_range(const struct imap_binary_map *map, uint64_t off, uint64_t len,
                      imap_raw_read_fn read, void *ud, struct buf *out)
{
	int r = buf_add(out, "", 0);
	if (r < 0 || off >= map->size || len == 0)
		return r;
	uint64_t end = len < map->size - off ? off + len : map->size;
	bool identity = map->enc == MIME_ENC_IDENTITY;
	/* the last mark at or before off (marks[0] is the start) */
	size_t lo = 0, hi = map->nmarks;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (map->marks[mid].dec <= off)
			lo = mid;
		else
			hi = mid;
	}
	const struct imap_binary_mark *mk = &map->marks[lo];
	uint64_t pos = identity ? off : mk->raw, dec = identity ? off : mk->dec;
	struct mime_b64_state st = {mk->acc, mk->bits};
	size_t cap = RAW_PIECE;
	char *piece = malloc(cap);
	struct buf tmp = {0};
	if (!piece)
		return -ENOMEM;
	while (r == 0 && dec < end && pos < map->raw_len) {
		size_t n = map->raw_len - pos < cap ? (size_t)(map->raw_len - pos) : cap;
		if (identity && n > end - dec)
			n = (size_t)(end - dec);
		ssize_t got = read(ud, map->raw_off + pos, piece, n);
		if (got < 0 || (size_t)got != n) {
			r = got < 0 ? (int)got : -EIO;
			break;
		}
		const char *d = piece;
		size_t dn = n;
		if (map->enc == MIME_ENC_BASE64) {
			buf_reset(&tmp);
			r = mime_decode_base64_run(&st, piece, n, &tmp);
			d = tmp.data;
			dn = tmp.len;
		} else if (map->enc == MIME_ENC_QP) {
			size_t cut = qp_cut(piece, n, pos + n == map->raw_len);
			if (cut == 0) {
				/* not one whole line in the piece: read a longer one */
				char *np = realloc(piece, cap * 2);
				if (!np) {
					r = -ENOMEM;
					break;
				}
				piece = np;
				cap *= 2;
				continue;
			}
			buf_reset(&tmp);
			r = mime_decode_qp(piece, cut, &tmp);
			d = tmp.data;
			dn = tmp.len;
			n = cut;
		}
		pos += n;
		/* what of [dec, dec + dn) lies in [off, end) */
		if (r == 0 && dec + dn > off) {
			uint64_t from = off > dec ? off - dec : 0;
			uint64_t to = end - dec < dn ? end - dec : dn;
			if (to > from)
				r = buf_add(out, d + from, (size_t)(to - from));
		}
		dec += dn;
	}
	free(piece);
	buf_free(&tmp);
	return r;
}
