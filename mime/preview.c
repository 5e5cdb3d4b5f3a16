/* preview: RFC 8970's short text of a message (mime.h, mime_preview).
 *
 * What a mail list shows under the subject: the start of what the sender
 * wrote, so the part a reader would see first (text/plain, or HTML as
 * text), without what a reply quotes or the signature, as one line. */
#include "mime/mime.h"
#include "mime/mime_int.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

static bool is_attachment(const struct mime_part *p)
{
	return p->disposition && strcasecmp(p->disposition, "attachment") == 0;
}

/* The first leaf text/<subtype> part that is not an attachment, in the
 * order a reader meets them, not looking into attached messages. */
static const struct mime_part *first_text(const struct mime_message *m, const char *subtype)
{
	const struct mime_part *p = m->root;
	while (p) {
		if (!p->children && !(p->flags & MIME_PART_MULTIPART) && !p->message &&
		    strcmp(p->ltype, "text") == 0 && strcmp(p->lsubtype, subtype) == 0 &&
		    !is_attachment(p))
			return p;
		if (p->children) {
			p = p->children;
		} else {
			while (p && !p->next)
				p = p->parent;
			if (p)
				p = p->next;
		}
	}
	return NULL;
}

/* Append the lines of text[0..n) that are not quoted, up to a signature
 * separator, with runs of white space as one space; stop after max
 * characters. */
static int condense(const char *t, size_t n, size_t max, struct buf *out)
{
	size_t chars = 0, i = 0;
	bool space = false;
	int r = 0;
	while (i < n && chars < max && r == 0) {
		size_t e = i;
		while (e < n && t[e] != '\n')
			e++;
		size_t b = i, le = e;
		while (b < le && (t[b] == ' ' || t[b] == '\t'))
			b++;
		if (le > b && t[le - 1] == '\r')
			le--;
		if (le - i == 3 && memcmp(t + i, "-- ", 3) == 0)
			break; /* the signature (RFC 3676 §4.3) */
		if (b < le && t[b] != '>') {
			for (size_t k = b; k < le && chars < max && r == 0; k++) {
				unsigned char c = (unsigned char)t[k];
				if (c < 0x20 || c == 0x7f || c == ' ') {
					space = true;
					continue;
				}
				if (space && out->len > 0 && (c & 0xc0) != 0x80) {
					r = buf_addc(out, ' ');
					chars++;
					if (chars >= max)
						break;
				}
				space = false;
				if ((c & 0xc0) != 0x80) {
					chars++;
				}
				r = buf_addc(out, (char)c);
				/* the rest of this character's bytes */
				while (r == 0 && k + 1 < le &&
				       ((unsigned char)t[k + 1] & 0xc0) == 0x80)
					r = buf_addc(out, t[++k]);
			}
		}
		space = true;
		i = e + 1;
	}
	return r;
}

int mime_preview(const struct mime_message *m, struct buf *out)
{
	const struct mime_part *p = first_text(m, "plain");
	bool html = false;
	if (!p && (p = first_text(m, "html")))
		html = true;
	int r = buf_add(out, "", 0);
	if (!p || r < 0)
		return r;
	struct buf dec = {0}, conv = {0}, text = {0};
	if (mime_decode_body(m, p, &dec) < 0) {
		buf_reset(&dec);
		r = buf_add(&dec, m->raw + p->body_start, p->size);
	}
	if (r == 0)
		r = mime_to_utf8(mime_part_param(p, "charset"), dec.data ? dec.data : "", dec.len,
		                 &conv);
	if (r == 0 && html)
		r = mime_html_strip(conv.data ? conv.data : "", conv.len, &text);
	if (r == 0) {
		const struct buf *t = html ? &text : &conv;
		struct buf one = {0}; /* on its own: no space before its first word */
		r = condense(t->data ? t->data : "", t->len, MIME_PREVIEW_CHARS, &one);
		if (r == 0 && one.len)
			r = buf_add(out, one.data, one.len);
		buf_free(&one);
	}
	buf_free(&dec);
	buf_free(&conv);
	buf_free(&text);
	return r;
}
