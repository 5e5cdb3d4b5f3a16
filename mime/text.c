/* text: the UTF-8 text of a message for the full-text index (SEARCH).
 *
 * A pre-order walk over the tree, without a stack: every message header
 * becomes "Name: value" lines with encoded words decoded (mime_header_text,
 * which the store also uses for the top-level header alone), every "text/..."
 * leaf its decoded, charset-converted body (HTML reduced to its text), each
 * ended by a line break.  The result is cut at the limit on a UTF-8
 * character boundary. */
#include "mime/header.h"
#include "mime/mime_int.h"
#include "lib/hex.h"

#include <string.h>

int mime_html_strip(const char *s, size_t n, struct buf *out)
{
	int r = 0;
	for (size_t i = 0; i < n && r == 0;) {
		if (s[i] == '<') {
			size_t j = i + 1;
			bool skip_content = false;
			const char *close = NULL;
			if (n - j >= 6 && strncasecmp(s + j, "script", 6) == 0) {
				skip_content = true;
				close = "</script";
			} else if (n - j >= 5 && strncasecmp(s + j, "style", 5) == 0) {
				skip_content = true;
				close = "</style";
			}
			const char *gt = memchr(s + j, '>', n - j);
			i = gt ? (size_t)(gt - s) + 1 : n;
			if (skip_content) {
				size_t cl = strlen(close);
				while (i + cl <= n && strncasecmp(s + i, close, cl) != 0)
					i++;
				if (i + cl > n)
					i = n;
			}
			if (out->len && out->data[out->len - 1] != ' ')
				r = buf_addc(out, ' ');
			continue;
		}
		if (s[i] == '&') {
			static const struct {
				const char *e;
				unsigned cp;
			} ents[] = {{"amp;", '&'},   {"lt;", '<'},     {"gt;", '>'},
			            {"quot;", '"'},  {"apos;", '\''},  {"nbsp;", ' '},
			            {"copy;", 0xa9}, {"euro;", 0x20ac}};
			bool done = false;
			for (size_t k = 0; k < sizeof(ents) / sizeof(ents[0]); k++) {
				size_t el = strlen(ents[k].e);
				if (n - i - 1 >= el && strncasecmp(s + i + 1, ents[k].e, el) == 0) {
					r = mime_put_utf8(out, ents[k].cp);
					i += el + 1;
					done = true;
					break;
				}
			}
			if (!done && i + 2 < n && s[i + 1] == '#') {
				size_t j = i + 2;
				unsigned cp = 0;
				bool hx = j < n && (s[j] == 'x' || s[j] == 'X');
				j += hx;
				size_t ds = j;
				while (j < n && j - ds < 7 &&
				       (hx ? hex_value(s[j]) >= 0 : (s[j] >= '0' && s[j] <= '9'))) {
					cp = cp * (hx ? 16 : 10) + (unsigned)hex_value(s[j]);
					j++;
				}
				if (j > ds && j < n && s[j] == ';') {
					if (cp == 0)
						cp = 0xfffd; /* utf8_encode() takes the rest */
					r = mime_put_utf8(out, cp);
					i = j + 1;
					done = true;
				}
			}
			if (!done)
				r = buf_addc(out, s[i++]);
			continue;
		}
		size_t j = i;
		while (j < n && s[j] != '<' && s[j] != '&')
			j++;
		r = buf_add(out, s + i, j - i);
		i = j;
	}
	return r;
}

int mime_header_text(const struct mime_message *m, const struct mime_part *p, size_t max,
                     struct buf *out)
{
	size_t pos = p->hdr_start, start = out->len;
	const char *n, *v;
	size_t nl, vl;
	int r = buf_add(out, "", 0);
	while (r == 0 && mime_header_next(m->raw, &pos, p->body_start, &n, &nl, &v, &vl) > 0) {
		if (out->len - start > max)
			break;
		r = buf_add(out, n, nl);
		if (r == 0)
			r = buf_add(out, ": ", 2);
		if (r == 0)
			r = mime_decode_header_value(v, vl, out);
		if (r == 0)
			r = buf_addc(out, '\n');
	}
	return r;
}

int mime_searchable_text(const struct mime_message *m, unsigned what, size_t max, struct buf *out)
{
	struct buf dec = {0}, conv = {0};
	int r = buf_add(out, "", 0);
	size_t start = out->len;
	if (max == 0)
		max = 16u << 20;
	const struct mime_part *p = m->root;
	while (p && r == 0 && out->len - start < max) {
		if ((what & MIME_TEXT_HEADERS) && (p->flags & MIME_PART_MESSAGE))
			r = mime_header_text(m, p, max - (out->len - start), out);
		if (r == 0 && (what & MIME_TEXT_BODY) && !p->children && !p->message &&
		    strcmp(p->ltype, "text") == 0 && !(p->flags & MIME_PART_MULTIPART)) {
			buf_reset(&dec);
			buf_reset(&conv);
			if (mime_decode_body(m, p, &dec) < 0) {
				buf_reset(&dec);
				r = buf_add(&dec, m->raw + p->body_start, p->size);
			}
			if (r == 0)
				r = mime_to_utf8(mime_part_param(p, "charset"),
				                 dec.data ? dec.data : "", dec.len, &conv);
			if (r == 0 && strcmp(p->lsubtype, "html") == 0)
				r = mime_html_strip(conv.data, conv.len, out);
			else if (r == 0)
				r = buf_add(out, conv.data, conv.len);
			if (r == 0)
				r = buf_addc(out, '\n');
		}
		/* pre-order walk without a stack: down, then next, then up */
		if (p->children) {
			p = p->children;
		} else if (p->message) {
			p = p->message;
		} else {
			while (p && !p->next)
				p = p->parent;
			if (p)
				p = p->next;
		}
	}
	if (r == 0 && out->len - start > max) {
		/* cut at a UTF-8 character boundary */
		size_t e = start + max;
		while (e > start && ((unsigned char)out->data[e] & 0xc0) == 0x80)
			e--;
		out->len = e;
		out->data[e] = '\0';
	}
	buf_free(&dec);
	buf_free(&conv);
	return r;
}
