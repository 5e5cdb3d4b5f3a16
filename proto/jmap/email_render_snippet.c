/* email_render_snippet: RFC 8621 §5 SearchSnippet from a message's bytes.
 *
 * The subject (decoded) and the body's text (mime_searchable_text: text
 * parts decoded and converted, HTML stripped) are searched for the terms,
 * ASCII letters compared case-insensitively. The subject is returned
 * whole; of the body, a window that starts a little before the first
 * match, white space collapsed, at most 255 octets as the RFC asks, markup
 * included. Everything that is not markup is HTML-escaped, and a cut never
 * falls inside a UTF-8 sequence, an entity or a <mark> element. */
#include "proto/jmap/email_render.h"
#include "proto/jmap/email_render_int.h"
#include "lib/utf8.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#define SNIPPET_MAX 255             /* octets, §5 */
#define SNIPPET_BEFORE 40           /* octets of context before the first match */
#define SNIPPET_TEXT_MAX (1u << 20) /* body text searched */

struct terms {
	char **lower; /* the terms, ASCII lower-cased; empty ones left out */
	size_t *len;
	size_t n;
};

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static void lower_in_place(char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		s[i] = ascii_lower(s[i]);
}

static void terms_free(struct terms *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->lower[i]);
	free(t->lower);
	free(t->len);
}

static int terms_init(struct terms *t, const char *const *terms, size_t nterms)
{
	memset(t, 0, sizeof(*t));
	t->lower = calloc(nterms ? nterms : 1, sizeof(char *));
	t->len = calloc(nterms ? nterms : 1, sizeof(size_t));
	if (!t->lower || !t->len)
		return -ENOMEM;
	for (size_t i = 0; i < nterms; i++) {
		if (!terms[i] || !terms[i][0])
			continue;
		size_t l = strlen(terms[i]);
		char *c = strdup(terms[i]);
		if (!c)
			return -ENOMEM;
		lower_in_place(c, l);
		t->lower[t->n] = c;
		t->len[t->n++] = l;
	}
	return 0;
}

/* Length of the term that matches low[i..n) there, 0 if none (the longest
 * one wins). */
static size_t match_at(const struct terms *t, const char *low, size_t n, size_t i)
{
	size_t best = 0;
	for (size_t k = 0; k < t->n; k++)
		if (t->len[k] <= n - i && t->len[k] > best &&
		    memcmp(low + i, t->lower[k], t->len[k]) == 0)
			best = t->len[k];
	return best;
}

/* Offset of the first match in low[0..n), or SIZE_MAX. */
static size_t first_match(const struct terms *t, const char *low, size_t n)
{
	size_t first = SIZE_MAX;
	for (size_t k = 0; k < t->n; k++) {
		const char *p = memmem(low, n, t->lower[k], t->len[k]);
		if (p && (size_t)(p - low) < first)
			first = (size_t)(p - low);
	}
	return first;
}

/* text[i..] escaped into tmp; its length. */
static size_t escape_char(const char *text, size_t n, size_t i, size_t *adv, char tmp[8])
{
	switch (text[i]) {
	case '<':
		*adv = 1;
		memcpy(tmp, "&lt;", 4);
		return 4;
	case '>':
		*adv = 1;
		memcpy(tmp, "&gt;", 4);
		return 4;
	case '&':
		*adv = 1;
		memcpy(tmp, "&amp;", 5);
		return 5;
	case '"':
		*adv = 1;
		memcpy(tmp, "&quot;", 6);
		return 6;
	}
	size_t j = i;
	if (utf8_decode((const unsigned char *)text, n, &j) < 0)
		j = i + 1; /* cannot happen: the text is UTF-8 */
	*adv = j - i;
	memcpy(tmp, text + i, *adv);
	return *adv;
}

/* text[start..n) with matches marked and the rest escaped, at most max
 * octets. */
static int mark(const struct terms *t, const char *text, const char *low, size_t n, size_t start,
                size_t max, struct buf *out)
{
	int r = buf_add(out, "", 0);
	for (size_t i = start; i < n && r == 0;) {
		size_t ml = match_at(t, low, n, i);
		if (ml) {
			/* the match whole, escaped, or nothing */
			struct buf m = {0};
			r = buf_adds(&m, "<mark>");
			for (size_t k = i; k < i + ml && r == 0;) {
				char tmp[8];
				size_t adv, l = escape_char(text, i + ml, k, &adv, tmp);
				r = buf_add(&m, tmp, l);
				k += adv;
			}
			if (r == 0)
				r = buf_adds(&m, "</mark>");
			if (r == 0 && out->len + m.len > max) {
				buf_free(&m);
				break;
			}
			if (r == 0)
				r = buf_add(out, m.data, m.len);
			buf_free(&m);
			i += ml;
			continue;
		}
		char tmp[8];
		size_t adv, l = escape_char(text, n, i, &adv, tmp);
		if (out->len + l > max)
			break;
		r = buf_add(out, tmp, l);
		i += adv;
	}
	return r;
}

/* White space runs as one space, ends trimmed, in place. */
static size_t collapse_space(char *s, size_t n)
{
	size_t w = 0;
	bool space = true; /* drops leading space */
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ws = c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
		if (ws) {
			if (!space)
				s[w++] = ' ';
			space = true;
		} else {
			s[w++] = c;
			space = false;
		}
	}
	while (w && s[w - 1] == ' ')
		w--;
	return w;
}

/* The marked snippet of text (UTF-8) into *out, or JSON null without a
 * match. window: cut to SNIPPET_MAX octets around the first match. */
static json_t *snippet_of(const struct terms *t, char *text, size_t n, bool window)
{
	char *low = malloc(n + 1);
	if (!low)
		return NULL;
	memcpy(low, text, n);
	lower_in_place(low, n);
	size_t at = first_match(t, low, n);
	json_t *j = NULL;
	if (at == SIZE_MAX) {
		j = json_null();
	} else {
		size_t start = 0, max = SIZE_MAX;
		if (window) {
			max = SNIPPET_MAX;
			start = at > SNIPPET_BEFORE ? at - SNIPPET_BEFORE : 0;
			while (start > 0 && ((unsigned char)text[start] & 0xc0) == 0x80)
				start--;
			/* begin at a word when one starts close enough */
			for (size_t k = start; start > 0 && k < at; k++)
				if (text[k] == ' ') {
					start = k + 1;
					break;
				}
		}
		struct buf b = {0};
		if (mark(t, text, low, n, start, max, &b) == 0)
			j = er_json_string(b.data ? b.data : "", b.len);
		buf_free(&b);
	}
	free(low);
	return j;
}

int jmap_email_snippet(json_t *obj, const char *raw, size_t len, const char *const *terms,
                       size_t nterms)
{
	struct mime_message *m = NULL;
	struct terms t;
	struct buf subject = {0}, body = {0};
	json_t *js = NULL, *jp = NULL;
	int r = terms_init(&t, terms, nterms);
	if (r == 0)
		r = mime_parse(raw, len, &m) < 0 ? -ENOMEM : 0;
	if (r == 0) {
		const char *v;
		size_t vl;
		if (mime_header_get(m, m->root, "subject", &v, &vl))
			r = mime_decode_header_value(v, vl, &subject);
	}
	if (r == 0)
		r = buf_add(&subject, "", 0);
	if (r == 0)
		r = mime_searchable_text(m, MIME_TEXT_BODY, SNIPPET_TEXT_MAX, &body);
	if (r == 0)
		r = buf_add(&body, "", 0);
	if (r == 0) {
		/* mime/ gives UTF-8; make sure before cutting by sequences */
		if (!utf8_valid(subject.data, subject.len) || !utf8_valid(body.data, body.len))
			r = -EINVAL;
	}
	if (r == -EINVAL) {
		/* repair, then go on */
		struct buf s2 = {0}, b2 = {0};
		r = mime_to_utf8("utf-8", subject.data ? subject.data : "", subject.len, &s2);
		if (r == 0)
			r = mime_to_utf8("utf-8", body.data ? body.data : "", body.len, &b2);
		if (r == 0)
			r = buf_add(&s2, "", 0);
		if (r == 0)
			r = buf_add(&b2, "", 0);
		buf_free(&subject);
		buf_free(&body);
		subject = s2;
		body = b2;
	}
	if (r == 0) {
		subject.len = collapse_space(subject.data, subject.len);
		body.len = collapse_space(body.data, body.len);
		js = snippet_of(&t, subject.data, subject.len, false);
		jp = snippet_of(&t, body.data, body.len, true);
		if (!js || !jp || json_object_set(obj, "subject", js) < 0 ||
		    json_object_set(obj, "preview", jp) < 0)
			r = -ENOMEM;
	}
	json_decref(js);
	json_decref(jp);
	buf_free(&subject);
	buf_free(&body);
	mime_free(&m);
	terms_free(&t);
	return r < 0 ? -ENOMEM : 0;
}
