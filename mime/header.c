/* header: reading RFC 5322 header fields from raw bytes, leniently (stored
 * mail) and strictly (mail being received).  See header.h. */
#include "mime/header.h"
#include "mime/mime_int.h"

#include <string.h>
#include <strings.h>

/* ---- lenient ---------------------------------------------------------- */

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

int mime_unfold(const char *v, size_t len, struct buf *out)
{
	buf_reset(out);
	size_t s = 0, e = len;
	while (s < e && (mime_wsp(v[s]) || v[s] == '\r' || v[s] == '\n'))
		s++;
	while (e > s && (mime_wsp(v[e - 1]) || v[e - 1] == '\r' || v[e - 1] == '\n'))
		e--;
	for (size_t i = s; i < e;) {
		size_t j = i;
		while (j < e && v[j] != '\r' && v[j] != '\n' && v[j] != '\0')
			j++;
		int r = buf_add(out, v + i, j - i);
		if (r < 0)
			return r;
		i = j < e ? j + 1 : j;
	}
	return buf_add(out, "", 0);
}

size_t mime_skip_cfws(const char *v, size_t len, size_t i)
{
	size_t depth = 0;
	for (; i < len; i++) {
		char c = v[i];
		if (depth > 0) {
			if (c == '\\' && i + 1 < len)
				i++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
		} else if (c == '(') {
			depth = 1;
		} else if (!(c == ' ' || c == '\t' || c == '\r' || c == '\n')) {
			break;
		}
	}
	return i < len ? i : len;
}

int mime_strip_comments(const char *v, size_t len, struct buf *out)
{
	buf_reset(out);
	int depth = 0, r = 0;
	bool quoted = false;
	for (size_t i = 0; i < len && r == 0; i++) {
		char c = v[i];
		if (c == '\r' || c == '\n' || c == '\0')
			continue;
		if (quoted) {
			if (c == '\\' && i + 1 < len) {
				r = buf_add(out, v + i, 2);
				i++;
				continue;
			}
			if (c == '"')
				quoted = false;
			r = buf_addc(out, c);
		} else if (depth > 0) {
			if (c == '\\')
				i++;
			else if (c == '(')
				depth++;
			else if (c == ')' && --depth == 0)
				r = buf_addc(out, ' ');
		} else if (c == '(') {
			depth = 1;
		} else {
			if (c == '"')
				quoted = true;
			r = buf_addc(out, c);
		}
	}
	if (r == 0)
		r = buf_add(out, "", 0);
	return r;
}

/* ---- strict ------------------------------------------------------------ */

/* End of the line starting at p: index of its LF (or len), and the length
 * of the line without CR LF. */
static size_t line_end(const char *d, size_t len, size_t p, size_t *content)
{
	const char *lf = memchr(d + p, '\n', len - p);
	size_t e = lf ? (size_t)(lf - d) : len;
	size_t c = e;
	if (c > p && d[c - 1] == '\r')
		c--;
	*content = c - p;
	return e;
}

int mime_field_next(const char *d, size_t len, size_t *pos, struct mime_field *h)
{
	size_t p = *pos, clen, e;

	if (p >= len)
		return 0;
	e = line_end(d, len, p, &clen);
	if (clen == 0) /* the empty line: end of the header section */
		return 0;
	if (d[p] == ' ' || d[p] == '\t')
		return -1; /* a continuation with nothing to continue */
	size_t k = p;
	while (k < p + clen && d[k] != ':' && (unsigned char)d[k] > 32 && (unsigned char)d[k] < 127)
		k++;
	size_t name_end = k;
	while (k < p + clen && (d[k] == ' ' || d[k] == '\t')) /* obs-optional */
		k++;
	if (name_end == p || k >= p + clen || d[k] != ':')
		return -1;
	h->name = d + p;
	h->name_len = name_end - p;
	h->value = d + k + 1;
	/* Folded continuation lines belong to this field. */
	size_t vend = p + clen;
	size_t next = e < len ? e + 1 : len;
	while (next < len && (d[next] == ' ' || d[next] == '\t')) {
		e = line_end(d, len, next, &clen);
		vend = next + clen;
		next = e < len ? e + 1 : len;
	}
	h->value_len = vend - (size_t)(h->value - d);
	*pos = next;
	return 1;
}

int mime_header_check(const char *data, size_t len)
{
	size_t pos = 0;
	struct mime_field h;
	int rc;
	while ((rc = mime_field_next(data, len, &pos, &h)) == 1)
		;
	return rc;
}

int mime_header_count(const char *data, size_t len, const char *name)
{
	size_t pos = 0, nlen = strlen(name);
	struct mime_field h;
	int rc, n = 0;
	while ((rc = mime_field_next(data, len, &pos, &h)) == 1)
		if (h.name_len == nlen && strncasecmp(h.name, name, nlen) == 0)
			n++;
	return rc < 0 ? -1 : n;
}

/* Address-list walker. Outside quotes and comments: '<' opens an angle
 * address (its content is the address, a route "@a,@b:" dropped), ','
 * and ';' end a mailbox, ':' ends a group's display name. Text outside
 * angle brackets is kept (minus whitespace) as a bare addr-spec candidate
 * and used when the mailbox had no angle address. */
int mime_addr_specs(const char *v, size_t len, int (*cb)(void *ud, const char *addr, size_t alen),
                    void *ud)
{
	char bare[512], angle[512];
	size_t nbare = 0, nangle = 0;
	bool in_angle = false, have_angle = false, overflow = false;
	int found = 0, rc;

	for (size_t i = 0; i <= len; i++) {
		char c = i < len ? v[i] : ',';
		if (c == '(' && !in_angle) {
			int depth = 1;
			for (i++; i < len && depth > 0; i++) {
				if (v[i] == '\\')
					i++;
				else if (v[i] == '(')
					depth++;
				else if (v[i] == ')')
					depth--;
			}
			if (depth)
				return -1;
			i--;
			continue;
		}
		if (c == '"') {
			/* quoted string: kept verbatim (part of a local part or
			 * a display name) */
			size_t s = i;
			for (i++; i < len && v[i] != '"'; i++)
				if (v[i] == '\\')
					i++;
			if (i >= len)
				return -1;
			size_t n = i - s + 1;
			char *dst = in_angle ? angle : bare;
			size_t *dn = in_angle ? &nangle : &nbare;
			if (*dn + n >= sizeof bare)
				overflow = true;
			else {
				memcpy(dst + *dn, v + s, n);
				*dn += n;
			}
			continue;
		}
		if (in_angle) {
			if (c == '>') {
				in_angle = false;
				have_angle = true;
			} else if (c == ':' && nangle && angle[0] == '@') {
				nangle = 0; /* obs-route */
			} else if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
				if (nangle + 1 >= sizeof angle)
					overflow = true;
				else
					angle[nangle++] = c;
			}
			continue;
		}
		if (c == '<') {
			if (have_angle)
				return -1;
			in_angle = true;
			nangle = 0;
			continue;
		}
		if (c == ':') { /* group display name */
			nbare = 0;
			continue;
		}
		if (c == ',' || c == ';') {
			if (overflow)
				return -1;
			const char *a = have_angle ? angle : bare;
			size_t an = have_angle ? nangle : nbare;
			if (an) {
				found++;
				if ((rc = cb(ud, a, an)) != 0)
					return rc;
			}
			nbare = nangle = 0;
			have_angle = false;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (have_angle)
			continue; /* junk after the angle address: ignored */
		if (nbare + 1 >= sizeof bare)
			overflow = true;
		else
			bare[nbare++] = c;
	}
	if (in_angle)
		return -1;
	return found;
}
