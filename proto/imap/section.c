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
#include "proto/imap/section.h"
#include "mime/header.h"

#include <errno.h>
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

int imap_section_fetch(const struct mime_message *m, const struct imap_section *s,
                       struct buf *out)
{
	if (s->kind == IMAP_SECTION_FIELDS || s->kind == IMAP_SECTION_FIELDS_NOT)
		return imap_header_fields(m->raw + s->offset, s->length, s->fields, s->fields_len,
		                          s->kind == IMAP_SECTION_FIELDS_NOT, out);
	return buf_add(out, m->raw + s->offset, s->length);
}
