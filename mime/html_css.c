/* html_css: the style attribute filter of the HTML sanitizer
 * (html_sanitize_int.h).
 *
 * Why an allowlist of properties and a small value grammar: CSS can load
 * (url(), image-set(), @import), run (expression(), behavior,
 * -moz-binding) and overlay the page (position). Instead of listing those,
 * a value may hold no function but the colour ones, no escape, no
 * comment, no quote outside font names, no ':' '@' '<' '>' '{' '}' '&',
 * so none of them can be spelt; the property must be one mail uses for
 * layout and type. A declaration that fails is dropped, the rest kept. */
#include "mime/html_sanitize_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Whole property names; strcmp order (bsearch). */
static const char *const props[] = {
    "background",
    "background-color",
    "border",
    "border-bottom",
    "border-bottom-color",
    "border-bottom-left-radius",
    "border-bottom-right-radius",
    "border-bottom-style",
    "border-bottom-width",
    "border-collapse",
    "border-color",
    "border-left",
    "border-left-color",
    "border-left-style",
    "border-left-width",
    "border-radius",
    "border-right",
    "border-right-color",
    "border-right-style",
    "border-right-width",
    "border-spacing",
    "border-style",
    "border-top",
    "border-top-color",
    "border-top-left-radius",
    "border-top-right-radius",
    "border-top-style",
    "border-top-width",
    "border-width",
    "caption-side",
    "clear",
    "color",
    "direction",
    "display",
    "font",
    "font-family",
    "font-size",
    "font-stretch",
    "font-style",
    "font-variant",
    "font-weight",
    "height",
    "letter-spacing",
    "line-height",
    "list-style",
    "list-style-position",
    "list-style-type",
    "margin",
    "margin-bottom",
    "margin-left",
    "margin-right",
    "margin-top",
    "max-height",
    "max-width",
    "min-height",
    "min-width",
    "overflow-wrap",
    "padding",
    "padding-bottom",
    "padding-left",
    "padding-right",
    "padding-top",
    "table-layout",
    "text-align",
    "text-decoration",
    "text-decoration-color",
    "text-decoration-line",
    "text-decoration-style",
    "text-indent",
    "text-overflow",
    "text-shadow",
    "text-transform",
    "unicode-bidi",
    "vertical-align",
    "white-space",
    "width",
    "word-break",
    "word-spacing",
    "word-wrap",
};

static const char *const display_values[] = {"block",      "inline",    "inline-block",
                                             "list-item",  "none",      "table",
                                             "table-cell", "table-row", "table-row-group"};

static const char *const colour_functions[] = {"hsl", "hsla", "rgb", "rgba"};

static int cmp_str(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c | 0x20 : c;
}

/* Lower-case ASCII copy of s[0..n) in dst (cap bytes with the NUL), or
 * false if it does not fit. */
static bool lower_copy(char *dst, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		return false;
	for (size_t i = 0; i < n; i++)
		dst[i] = (char)lower((unsigned char)s[i]);
	dst[n] = '\0';
	return true;
}

static bool contains(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

/* Is the lower-cased value v (len bytes) acceptable for property prop? */
static bool value_ok(const char *prop, const char *v, size_t len)
{
	bool quotes_ok = strcmp(prop, "font") == 0 || strcmp(prop, "font-family") == 0;
	char quote = 0;
	int depth = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c < 0x20 && !is_space(c))
			return false;
		/* Not even in a font name's quotes. */
		if (c == 0x7f || strchr("\\<>{}@&:`", c) ||
		    (c == '/' && i + 1 < len && v[i + 1] == '*') ||
		    (c == '*' && i > 0 && v[i - 1] == '/'))
			return false;
		if (quote) {
			if (c == (unsigned char)quote)
				quote = 0;
			continue;
		}
		switch (c) {
		case '"':
		case '\'':
			if (!quotes_ok)
				return false;
			quote = (char)c;
			break;
		case ';':
			return false;
		case '(': {
			size_t e = i, b = i;
			while (b > 0 && ((v[b - 1] >= 'a' && v[b - 1] <= 'z') || v[b - 1] == '-'))
				b--;
			char fn[8];
			if (depth > 0 || !lower_copy(fn, sizeof fn, v + b, e - b) ||
			    !bsearch(fn, colour_functions, 4, sizeof colour_functions[0], cmp_str))
				return false;
			depth++;
			break;
		}
		case ')':
			if (depth == 0)
				return false;
			depth--;
			break;
		default:
			break;
		}
	}
	if (quote || depth)
		return false;
	if (contains(v, "position") || contains(v, "expression") || contains(v, "javascript") ||
	    contains(v, "behavior") || contains(v, "binding"))
		return false;
	if (strcmp(prop, "display") == 0)
		return bsearch(v, display_values, sizeof display_values / sizeof display_values[0],
		               sizeof display_values[0], cmp_str) != NULL;
	return true;
}

/* One declaration s[0..n) ("prop: value"): appended to out (after a ';'
 * if out grew since start) if it passes. 1 kept, 0 dropped, -errno. */
static int declaration(const char *s, size_t n, struct buf *out, size_t start, char *lv,
                       size_t lvcap)
{
	const char *colon = memchr(s, ':', n);
	if (!colon)
		return 0;
	size_t pb = 0, pe = (size_t)(colon - s);
	while (pb < pe && is_space((unsigned char)s[pb]))
		pb++;
	while (pe > pb && is_space((unsigned char)s[pe - 1]))
		pe--;
	char prop[40];
	if (pe == pb || !lower_copy(prop, sizeof prop, s + pb, pe - pb))
		return 0;
	for (size_t i = 0; prop[i]; i++)
		if (!((prop[i] >= 'a' && prop[i] <= 'z') || prop[i] == '-'))
			return 0;
	if (!bsearch(prop, props, sizeof props / sizeof props[0], sizeof props[0], cmp_str))
		return 0;
	size_t vb = (size_t)(colon - s) + 1, ve = n;
	while (vb < ve && is_space((unsigned char)s[vb]))
		vb++;
	while (ve > vb && is_space((unsigned char)s[ve - 1]))
		ve--;
	if (ve == vb || ve - vb >= lvcap)
		return 0;
	/* The value lower-cased with white space collapsed: what is checked
	 * and what is written (CSS keywords are case-insensitive; font names
	 * too, for matching). */
	size_t m = 0;
	for (size_t i = vb; i < ve; i++) {
		unsigned char c = (unsigned char)s[i];
		if (is_space(c)) {
			if (m > 0 && lv[m - 1] != ' ')
				lv[m++] = ' ';
			continue;
		}
		lv[m++] = (char)lower(c);
	}
	lv[m] = '\0';
	if (memchr(lv, '\0', m) || !value_ok(prop, lv, m))
		return 0;
	int rc = 0;
	if (out->len > start)
		rc = buf_addc(out, ';');
	if (!rc)
		rc = buf_adds(out, prop);
	if (!rc)
		rc = buf_addc(out, ':');
	if (!rc)
		rc = buf_add(out, lv, m);
	return rc ? rc : 1;
}

int html_css_filter(const char *v, size_t n, struct buf *out)
{
	size_t start = out->len;
	int dropped = 0;
	/* A value longer than this is not layout: dropped. */
	enum { VALUE_MAX = 1024 };
	char lv[VALUE_MAX];
	size_t b = 0;
	char quote = 0;
	int depth = 0;
	for (size_t i = 0; i <= n; i++) {
		char c = i < n ? v[i] : ';';
		if (i < n && quote) {
			if (c == quote)
				quote = 0;
			continue;
		}
		if (i < n && (c == '"' || c == '\'')) {
			quote = c;
			continue;
		}
		if (i < n && c == '(') {
			depth++;
			continue;
		}
		if (i < n && c == ')') {
			if (depth > 0)
				depth--;
			continue;
		}
		if (c != ';' || (i < n && depth > 0))
			continue;
		size_t e = i;
		size_t k = b;
		while (k < e && is_space((unsigned char)v[k]))
			k++;
		if (k < e) {
			int rc = declaration(v + b, e - b, out, start, lv, sizeof lv);
			if (rc < 0) {
				out->len = start;
				if (out->data)
					out->data[start] = '\0';
				return rc;
			}
			if (rc == 0)
				dropped++;
		}
		b = i + 1;
		quote = 0;
		depth = 0;
	}
	return dropped;
}

bool html_css_table_sorted(void)
{
	for (size_t i = 1; i < sizeof props / sizeof props[0]; i++)
		if (strcmp(props[i - 1], props[i]) >= 0)
			return false;
	for (size_t i = 1; i < sizeof display_values / sizeof display_values[0]; i++)
		if (strcmp(display_values[i - 1], display_values[i]) >= 0)
			return false;
	return true;
}
