/* body_lists: RFC 8621 §4.1.4's body lists and the has-attachment rule
 * (see body_lists.h). parse_structure() is the RFC's pseudo-code,
 * recursive like it, over the parse tree itself. */
#include "mime/body_lists.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *mime_part_filename(const struct mime_part *p)
{
	for (unsigned i = 0; i < p->ndparams; i++)
		if (strcmp(p->dparams[i].name, "filename") == 0 && p->dparams[i].value[0])
			return p->dparams[i].value;
	const char *n = mime_part_param(p, "name");
	return n && n[0] ? n : NULL;
}

static bool is_multipart(const struct mime_part *p)
{
	return (p->flags & MIME_PART_MULTIPART) != 0;
}

static bool is_inline_media_type(const struct mime_part *p)
{
	return strcmp(p->ltype, "image") == 0 || strcmp(p->ltype, "audio") == 0 ||
	       strcmp(p->ltype, "video") == 0;
}

static bool disposition_is(const struct mime_part *p, const char *d)
{
	return p->disposition && strcasecmp(p->disposition, d) == 0;
}

struct list {
	const struct mime_part **v;
	size_t n;
	bool null; /* the pseudo-code's "textBody = null" */
};

/* A list has room for every part of the message: a part is pushed onto
 * one list at most once. */
static int push(struct list *l, size_t cap, const struct mime_part *p)
{
	if (!l->v && !(l->v = calloc(cap, sizeof *l->v)))
		return -ENOMEM;
	if (l->n < cap)
		l->v[l->n++] = p;
	return 0;
}

/* parseStructure(parts, multipartType, inAlternative, htmlBody, textBody,
 * attachments) over the n parts from first on (siblings). The lists are
 * shared with the caller, as in the RFC's JavaScript, except "set to
 * null", which is local (a copy of the flag). */
static int parse_structure(size_t cap, const struct mime_part *first, size_t n, const char *mptype,
                           bool in_alternative, struct list *html, struct list *text,
                           struct list *att, unsigned depth)
{
	bool html_null = html->null, text_null = text->null;
	long text_length = text_null ? -1 : (long)text->n;
	long html_length = html_null ? -1 : (long)html->n;
	bool alternative = strcmp(mptype, "alternative") == 0;
	int r = 0;
	if (depth > MIME_MAX_DEPTH + 2)
		return 0; /* cannot happen: mime_parse() caps the depth */
	size_t i = 0;
	for (const struct mime_part *p = first; p && i < n && r == 0; p = p->next, i++) {
		bool plain = mime_part_is(p, "text", "plain");
		bool html_part = mime_part_is(p, "text", "html");
		bool is_inline = !disposition_is(p, "attachment") &&
		                 (plain || html_part || is_inline_media_type(p)) &&
		                 (i == 0 || (strcmp(mptype, "related") != 0 &&
		                             (is_inline_media_type(p) || !mime_part_filename(p))));
		if (is_multipart(p)) {
			/* the recursion sees this level's lists as they are now */
			struct list h = *html, tx = *text;
			h.null = html_null;
			tx.null = text_null;
			r = parse_structure(cap, p->children, p->nchildren, p->lsubtype,
			                    in_alternative ||
			                        strcmp(p->lsubtype, "alternative") == 0,
			                    &h, &tx, att, depth + 1);
			html->v = h.v, html->n = h.n;
			text->v = tx.v, text->n = tx.n;
		} else if (is_inline) {
			if (alternative) {
				if (plain)
					r = text_null ? 0 : push(text, cap, p);
				else if (html_part)
					r = html_null ? 0 : push(html, cap, p);
				else
					r = push(att, cap, p);
				continue;
			} else if (in_alternative) {
				if (plain)
					html_null = true;
				if (html_part)
					text_null = true;
			}
			if (!text_null)
				r = push(text, cap, p);
			if (r == 0 && !html_null)
				r = push(html, cap, p);
			if (r == 0 && (text_null || html_null) && is_inline_media_type(p))
				r = push(att, cap, p);
		} else {
			r = push(att, cap, p);
		}
	}
	if (r == 0 && alternative && !text_null && !html_null) {
		/* found an HTML part only: it is the text body too */
		if (text_length == (long)text->n && html_length != (long)html->n)
			for (size_t k = (size_t)html_length; k < html->n && r == 0; k++)
				r = push(text, cap, html->v[k]);
		/* found a plain text part only */
		if (html_length == (long)html->n && text_length != (long)text->n)
			for (size_t k = (size_t)text_length; k < text->n && r == 0; k++)
				r = push(html, cap, text->v[k]);
	}
	return r;
}

int mime_body_lists(const struct mime_message *m, struct mime_body_lists *out)
{
	memset(out, 0, sizeof *out);
	struct list html = {0}, text = {0}, att = {0};
	size_t cap = (size_t)m->nparts + 1;
	int r = parse_structure(cap, m->root, 1, "mixed", false, &html, &text, &att, 0);
	out->text = text.v, out->ntext = text.n;
	out->html = html.v, out->nhtml = html.n;
	out->att = att.v, out->natt = att.n;
	if (r < 0)
		mime_body_lists_free(out);
	return r;
}

void mime_body_lists_free(struct mime_body_lists *l)
{
	free(l->text);
	free(l->html);
	free(l->att);
	memset(l, 0, sizeof *l);
}

bool mime_part_counts_as_attachment(const struct mime_part *p)
{
	/* an image the HTML shows (inline, with a Content-ID) is not one the
	 * user would call an attachment */
	return !(p->id && is_inline_media_type(p) && !disposition_is(p, "attachment"));
}

bool mime_body_lists_have_attachment(const struct mime_body_lists *l)
{
	for (size_t k = 0; k < l->natt; k++)
		if (mime_part_counts_as_attachment(l->att[k]))
			return true;
	return false;
}

int mime_has_attachment(const struct mime_message *m)
{
	struct mime_body_lists l;
	int r = mime_body_lists(m, &l);
	if (r < 0)
		return r;
	r = mime_body_lists_have_attachment(&l);
	mime_body_lists_free(&l);
	return r;
}
