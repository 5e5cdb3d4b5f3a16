/* email_render_snippet: RFC 8621 §5 SearchSnippet from a message's bytes.
 *
 * The subject (decoded) and the body's text (mime_searchable_text: text
 * parts decoded and converted, HTML stripped) are searched for the terms,
 * case-insensitively: both sides lower-cased a code point at a time
 * (libunistring's uc_tolower; no full case folding, so "ß" does not
 * match "ss"). The subject is returned
 * whole; of the body, a window that starts a little before the first
 * match, white space collapsed, at most 255 octets as the RFC asks, markup
 * included. Everything that is not markup is HTML-escaped, and a cut never
 * falls inside a UTF-8 sequence, an entity or a <mark> element. */
#include "proto/jmap/email_render.h"
#include "proto/jmap/email_render_int.h"
#include "lib/utf8.h"

#include <unicase.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>

#define SNIPPET_MAX 255             /* octets, §5 */
#define SNIPPET_BEFORE 40           /* octets of context before the first match */
#define SNIPPET_TEXT_MAX (1u << 20) /* body text searched */

/* UTF-8 text lower-cased a code point at a time (uc_tolower: one code
 * point to one, though not always to as many bytes), with, for every byte
 * of the result, where the code point it belongs to starts in the
 * original: a match found in the lower-cased text is cut from the
 * original. Invalid bytes (there are none in what mime/ gives) are kept
 * as they are. */
struct folded {
	char *low;
	size_t n;
	size_t *orig; /* n + 1 entries; orig[n] = the original's length */
};

static void folded_free(struct folded *f)
{
	free(f->low);
	free(f->orig);
}

/* The code point at s[*i] lower-cased into enc; its length. *i moves past
 * it. An invalid byte is kept as it is. */
static size_t lower_code_point(const char *s, size_t len, size_t *i, char enc[4])
{
	size_t j = *i;
	int32_t cp = utf8_decode((const unsigned char *)s, len, &j);
	size_t el;
	if (cp < 0) {
		enc[0] = s[*i];
		j = *i + 1;
		el = 1;
	} else {
		el = utf8_encode(uc_tolower((ucs4_t)cp), enc);
		if (el > (j - *i) * 2) { /* not so in Unicode 15; stay in bounds */
			el = j - *i;
			memcpy(enc, s + *i, el);
		}
	}
	*i = j;
	return el;
}

static int fold(const char *s, size_t len, struct folded *f, bool with_map)
{
	memset(f, 0, sizeof(*f));
	/* lower-casing makes a code point at most one byte longer (2 -> 3),
	 * so never more than doubles the text */
	if (len > SIZE_MAX / 2 / sizeof(size_t) - 4)
		return -ENOMEM;
	f->low = malloc(len * 2 + 4);
	f->orig = with_map ? malloc((len * 2 + 4) * sizeof(size_t)) : NULL;
	if (!f->low || (with_map && !f->orig))
		return -ENOMEM;
	for (size_t i = 0; i < len;) {
		char enc[4];
		size_t at = i, el = lower_code_point(s, len, &i, enc);
		for (size_t k = 0; k < el; k++) {
			if (with_map)
				f->orig[f->n] = at;
			f->low[f->n++] = enc[k];
		}
	}
	if (with_map)
		f->orig[f->n] = len;
	f->low[f->n] = '\0';
	return 0;
}

struct terms {
	struct folded *t; /* the terms, lower-cased; empty ones left out */
	size_t n;
};

static void terms_free(struct terms *t)
{
	for (size_t i = 0; i < t->n; i++)
		folded_free(&t->t[i]);
	free(t->t);
}

static int terms_init(struct terms *t, const char *const *terms, size_t nterms)
{
	memset(t, 0, sizeof(*t));
	t->t = calloc(nterms ? nterms : 1, sizeof(*t->t));
	if (!t->t)
		return -ENOMEM;
	for (size_t i = 0; i < nterms; i++) {
		if (!terms[i] || !terms[i][0])
			continue;
		if (fold(terms[i], strlen(terms[i]), &t->t[t->n++], false) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Length of the term that matches low[i..n) there, 0 if none (the longest
 * one wins). */
static size_t match_at(const struct terms *t, const char *low, size_t n, size_t i)
{
	size_t best = 0;
	for (size_t k = 0; k < t->n; k++) {
		size_t l = t->t[k].n;
		if (l <= n - i && l > best && memcmp(low + i, t->t[k].low, l) == 0)
			best = l;
	}
	return best;
}

/* Offset of the first match in low[0..n), or SIZE_MAX. */
static size_t first_match(const struct terms *t, const char *low, size_t n)
{
	size_t first = SIZE_MAX;
	for (size_t k = 0; k < t->n; k++) {
		const char *p = memmem(low, n, t->t[k].low, t->t[k].n);
		if (p && (size_t)(p - low) < first)
			first = (size_t)(p - low);
	}
	return first;
}

/* The original code point at text[i..) escaped into tmp; its length. */
static size_t escape_char(const char *text, size_t n, size_t i, char tmp[8])
{
	switch (text[i]) {
	case '<':
		memcpy(tmp, "&lt;", 4);
		return 4;
	case '>':
		memcpy(tmp, "&gt;", 4);
		return 4;
	case '&':
		memcpy(tmp, "&amp;", 5);
		return 5;
	case '"':
		memcpy(tmp, "&quot;", 6);
		return 6;
	}
	size_t j = i;
	if (utf8_decode((const unsigned char *)text, n, &j) < 0)
		j = i + 1;
	memcpy(tmp, text + i, j - i);
	return j - i;
}

/* The original text[a..b) escaped, appended. */
static int escape_range(const char *text, size_t n, size_t a, size_t b, struct buf *out)
{
	int r = 0;
	for (size_t i = a; i < b && r == 0;) {
		char tmp[8];
		size_t j = i;
		if (utf8_decode((const unsigned char *)text, n, &j) < 0)
			j = i + 1;
		r = buf_add(out, tmp, escape_char(text, n, i, tmp));
		i = j;
	}
	return r;
}

/* From lower-cased offset start on: matches marked, the rest escaped, at
 * most max octets, taken from the original text. */
static int mark(const struct terms *t, const char *text, size_t tn, const struct folded *f,
                size_t start, size_t max, struct buf *out)
{
	int r = buf_add(out, "", 0);
	for (size_t k = start; k < f->n && r == 0;) {
		size_t ml = match_at(t, f->low, f->n, k);
		if (ml) {
			/* the match whole, escaped, or nothing */
			struct buf m = {0};
			r = buf_adds(&m, "<mark>");
			if (r == 0)
				r = escape_range(text, tn, f->orig[k], f->orig[k + ml], &m);
			if (r == 0)
				r = buf_adds(&m, "</mark>");
			if (r == 0 && out->len + m.len > max) {
				buf_free(&m);
				break;
			}
			if (r == 0)
				r = buf_add(out, m.data, m.len);
			buf_free(&m);
			k += ml;
			continue;
		}
		char tmp[8];
		size_t l = escape_char(text, tn, f->orig[k], tmp);
		if (out->len + l > max)
			break;
		r = buf_add(out, tmp, l);
		/* the next lower-cased code point */
		size_t o = f->orig[k];
		while (k < f->n && f->orig[k] == o)
			k++;
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

/* The offset in text of the code point that starts at offset at of its
 * lower-cased form. */
static size_t original_offset(const char *text, size_t n, size_t at)
{
	size_t i = 0, k = 0;
	while (i < n && k < at) {
		char enc[4];
		k += lower_code_point(text, n, &i, enc);
	}
	return i;
}

/* The marked snippet of text (UTF-8), or JSON null without a match.
 * window: at most SNIPPET_MAX octets from a little before the first
 * match; only that part of the text is mapped, so a long body costs
 * one lower-cased copy and no offset table. */
static json_t *snippet_of(const struct terms *t, const char *text, size_t n, bool window)
{
	struct folded whole, f = {0};
	json_t *j = NULL;
	if (fold(text, n, &whole, false) < 0)
		goto out;
	size_t at = first_match(t, whole.low, whole.n);
	if (at == SIZE_MAX) {
		j = json_null();
		goto out;
	}
	size_t start = 0, end = n, max = SIZE_MAX;
	if (window) {
		size_t longest = 0;
		for (size_t k = 0; k < t->n; k++)
			longest = t->t[k].n > longest ? t->t[k].n : longest;
		max = SNIPPET_MAX;
		size_t oat = original_offset(text, n, at);
		start = oat > SNIPPET_BEFORE ? oat - SNIPPET_BEFORE : 0;
		while (start > 0 && ((unsigned char)text[start] & 0xc0) == 0x80)
			start--; /* the start of a code point */
		/* begin at a word when one starts close enough */
		for (size_t k = start; start > 0 && k < oat; k++)
			if (text[k] == ' ') {
				start = k + 1;
				break;
			}
		/* every byte of text gives one of output or more; a match that
		 * starts inside the window may run on by twice its length */
		if (n - start > SNIPPET_MAX + 2 * longest + 4) {
			end = start + SNIPPET_MAX + 2 * longest + 4;
			while (end < n && ((unsigned char)text[end] & 0xc0) == 0x80)
				end++;
		}
	}
	if (fold(text + start, end - start, &f, true) < 0)
		goto out;
	struct buf b = {0};
	if (mark(t, text + start, end - start, &f, 0, max, &b) == 0)
		j = er_json_string(b.data ? b.data : "", b.len);
	buf_free(&b);
out:
	folded_free(&whole);
	folded_free(&f);
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
