/* dkim_msg: the header section, kept and split into fields (dkim_msg.h).
 *
 * A field is a line that starts with a non-blank and the continuation
 * lines (starting with SP or HTAB) after it. A continuation with no field
 * before it, a field without a colon, or too many or too large fields make
 * the section malformed: every signature over it then fails to verify,
 * and the signer refuses to sign. */
#include "mailauth/dkim_msg.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void split_fields(struct dkim_msg *m)
{
	if (m->error || m->hdr.len == 0)
		return;
	size_t n = 0;
	const char *s = m->hdr.data, *end = s + m->hdr.len;
	for (const char *p = s; p < end; p++)
		if ((p == s || p[-1] == '\n') && *p != ' ' && *p != '\t')
			n++;
	if (s[0] == ' ' || s[0] == '\t') {
		m->error = "invalid header: bad continuation";
		return;
	}
	if (n > DKIM_FIELDS_MAX) {
		m->error = "too many header fields";
		return;
	}
	m->field = calloc(n, sizeof *m->field);
	if (!m->field) {
		m->error = "out of memory";
		return;
	}
	const char *p = s;
	while (p < end) {
		const char *q = p;
		/* to the CRLF that is not followed by a continuation */
		for (;;) {
			const char *nl = memchr(q, '\n', (size_t)(end - q));
			q = nl ? nl + 1 : end;
			if (q >= end || (*q != ' ' && *q != '\t'))
				break;
		}
		struct dkim_field *f = &m->field[m->nfield++];
		f->text = p;
		f->len = (size_t)(q - p);
		if (f->len >= 2 && p[f->len - 2] == '\r' && p[f->len - 1] == '\n')
			f->len -= 2;
		const char *colon = memchr(p, ':', f->len);
		if (!colon) {
			m->error = "invalid header: no colon";
			return;
		}
		size_t nl = (size_t)(colon - p);
		while (nl > 0 && (p[nl - 1] == ' ' || p[nl - 1] == '\t'))
			nl--;
		f->name_len = nl;
		p = q;
	}
}

size_t dkim_msg_feed(struct dkim_msg *m, const void *data, size_t len)
{
	const char *p = data;
	size_t i = 0;
	while (i < len && !m->done) {
		const char *nl = memchr(p + i, '\n', len - i);
		size_t take = nl ? (size_t)(nl - (p + i)) : len - i;
		if (take) {
			m->line_len += take;
			m->last_cr = p[i + take - 1] == '\r';
		}
		if (!m->error && m->hdr.len + take + 2 > DKIM_HEADER_MAX)
			m->error = "header section too large";
		if (!m->error && buf_add(&m->hdr, p + i, take) < 0)
			m->error = "out of memory";
		i += take;
		if (!nl)
			break;
		i++; /* the LF */
		bool cr = m->line_len > 0 && m->last_cr;
		bool empty = m->line_len == (cr ? 1u : 0u);
		m->line_len = 0;
		if (empty) { /* the empty line: the header section ends */
			m->hdr.len = m->line_start;
			m->done = true;
			split_fields(m);
			break;
		}
		if (!m->error &&
		    ((!cr && buf_addc(&m->hdr, '\r') < 0) || buf_addc(&m->hdr, '\n') < 0))
			m->error = "out of memory";
		m->line_start = m->hdr.len;
	}
	return i;
}

int dkim_msg_take(struct dkim_msg *m, const void **data, size_t *len)
{
	if (m->done)
		return 0;
	size_t used = dkim_msg_feed(m, *data, *len);
	if (!m->done) {
		*len = 0;
		return 0;
	}
	*data = (const char *)*data + used;
	*len -= used;
	return 1;
}

void dkim_msg_end_headers(struct dkim_msg *m)
{
	if (m->done)
		return;
	m->done = true;
	split_fields(m);
}

void dkim_msg_free(struct dkim_msg *m)
{
	buf_free(&m->hdr);
	free(m->field);
	memset(m, 0, sizeof *m);
}

bool dkim_field_is(const struct dkim_field *f, const char *name, size_t name_len)
{
	return f->name_len == name_len && strncasecmp(f->text, name, name_len) == 0;
}

void dkim_msg_hash_fields(const struct dkim_msg *m, crypto_hash_sha256_state *sha,
                          enum dkim_canon canon, const struct dkim_name *names, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		size_t used = 0; /* the same name earlier in the list */
		for (size_t j = 0; j < k; j++)
			if (names[j].len == names[k].len &&
			    strncasecmp(names[j].name, names[k].name, names[k].len) == 0)
				used++;
		for (size_t f = m->nfield; f-- > 0;) {
			if (!dkim_field_is(&m->field[f], names[k].name, names[k].len))
				continue;
			if (used-- == 0) {
				dkim_header_hash(sha, canon, m->field[f].text, m->field[f].len,
				                 true);
				break;
			}
		}
	}
}

size_t dkim_msg_count(const struct dkim_msg *m, const char *name)
{
	size_t n = 0, len = strlen(name);
	for (size_t i = 0; i < m->nfield; i++)
		n += dkim_field_is(&m->field[i], name, len);
	return n;
}
