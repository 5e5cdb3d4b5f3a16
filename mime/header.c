/* header: reading RFC 5322 header fields from raw bytes.  See header.h.
 *
 * Lines may end in CRLF or LF; a field goes on over every following line
 * that starts with white space (folding).  The reader is lenient: a line
 * that is neither a field nor a continuation is skipped, so that whatever
 * a sender wrote still yields the fields that are there. */
#include "mime/header.h"
#include "mime/mime_int.h"

#include <string.h>

bool mime_ieq(const char *a, size_t alen, const char *b)
{
	size_t i;
	for (i = 0; i < alen; i++)
		if (!b[i] || mime_lc((unsigned char)a[i]) != mime_lc((unsigned char)b[i]))
			return false;
	return b[i] == '\0';
}

/* Is [p, e) (one line without its break) the first line of a header field?
 * A name of printable ASCII, optional WSP (obsolete syntax), a colon. */
bool mime_field_line(const char *p, const char *e)
{
	const char *s = p;
	while (p < e && *p != ':') {
		unsigned char c = (unsigned char)*p;
		if (c <= 32 || c >= 127)
			break;
		p++;
	}
	if (p == s)
		return false;
	while (p < e && mime_wsp(*p))
		p++;
	return p < e && *p == ':';
}

int mime_header_next(const char *raw, size_t *pos, size_t end, const char **name, size_t *nlen,
                     const char **value, size_t *vlen)
{
	size_t p = *pos;
	while (p < end) {
		const char *nl = memchr(raw + p, '\n', end - p);
		size_t next = nl ? (size_t)(nl - raw) + 1 : end;
		size_t ce = nl ? (size_t)(nl - raw) : end;
		if (ce > p && raw[ce - 1] == '\r')
			ce--;
		if (ce == p) { /* blank line: end of header */
			*pos = end;
			return 0;
		}
		if (mime_wsp(raw[p]) || !mime_field_line(raw + p, raw + ce)) {
			p = next; /* stray continuation or junk: skip */
			continue;
		}
		const char *colon = memchr(raw + p, ':', ce - p);
		size_t ne = (size_t)(colon - raw);
		while (ne > p && mime_wsp(raw[ne - 1]))
			ne--;
		*name = raw + p;
		*nlen = ne - p;
		size_t vs = (size_t)(colon - raw) + 1;
		/* continuation lines */
		while (next < end && mime_wsp(raw[next])) {
			nl = memchr(raw + next, '\n', end - next);
			next = nl ? (size_t)(nl - raw) + 1 : end;
		}
		*value = raw + vs;
		*vlen = next - vs;
		*pos = next;
		return 1;
	}
	*pos = end;
	return 0;
}

int mime_unfold(const char *v, size_t len, struct mime_buf *out)
{
	mime_buf_reset(out);
	size_t s = 0, e = len;
	while (s < e && (mime_wsp(v[s]) || v[s] == '\r' || v[s] == '\n'))
		s++;
	while (e > s && (mime_wsp(v[e - 1]) || v[e - 1] == '\r' || v[e - 1] == '\n'))
		e--;
	for (size_t i = s; i < e;) {
		size_t j = i;
		while (j < e && v[j] != '\r' && v[j] != '\n' && v[j] != '\0')
			j++;
		int r = mime_buf_add(out, v + i, j - i);
		if (r < 0)
			return r;
		i = j < e ? j + 1 : j;
	}
	return mime_buf_add(out, "", 0);
}

int mime_strip_comments(const char *v, size_t len, struct mime_buf *out)
{
	mime_buf_reset(out);
	int depth = 0, r = 0;
	bool quoted = false;
	for (size_t i = 0; i < len && r == 0; i++) {
		char c = v[i];
		if (c == '\r' || c == '\n' || c == '\0')
			continue;
		if (quoted) {
			if (c == '\\' && i + 1 < len) {
				r = mime_buf_add(out, v + i, 2);
				i++;
				continue;
			}
			if (c == '"')
				quoted = false;
			r = mime_buf_addc(out, c);
		} else if (depth > 0) {
			if (c == '\\')
				i++;
			else if (c == '(')
				depth++;
			else if (c == ')' && --depth == 0)
				r = mime_buf_addc(out, ' ');
		} else if (c == '(') {
			depth = 1;
		} else {
			if (c == '"')
				quoted = true;
			r = mime_buf_addc(out, c);
		}
	}
	if (r == 0)
		r = mime_buf_add(out, "", 0);
	return r;
}
