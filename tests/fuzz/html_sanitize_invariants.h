/* html_sanitize_invariants: what every output of html_sanitize() must be,
 * checked by the unit test (test_html_sanitize) and the fuzz target
 * (fuzz_html_sanitize) alike.
 *
 * The check reads the output with a grammar far stricter than HTML's: text
 * without '<' or '>', '&' only as a reference; tags "<name( attr=\"v\")*>"
 * and "</name>" with names from the allowlist, values without '"' '<' '>';
 * every element closed in order; no control characters, UTF-8 only. Then
 * the attributes by name: no on*, href only http(s)/mailto/#, src only
 * data:image/(png|gif|jpeg|webp) or the cid prefix the caller's callback
 * hands out, data-tern-src only http(s), style without url( expression
 * javascript position \ @ or a comment. Other values are inert text (a
 * title may say "javascript:"); the unit test's vectors check the whole
 * output for such words besides. NULL if the output passes, else what is wrong. */
#ifndef TERN_TEST_HTML_SANITIZE_INVARIANTS_H
#define TERN_TEST_HTML_SANITIZE_INVARIANTS_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "lib/utf8.h"

static const char *const hsi_elements[] = {
    "a",     "abbr",     "acronym",    "address", "article", "aside",   "b",    "bdi",
    "bdo",   "big",      "blockquote", "br",      "caption", "center",  "cite", "code",
    "col",   "colgroup", "dd",         "del",     "details", "dfn",     "div",  "dl",
    "dt",    "em",       "figcaption", "figure",  "font",    "footer",  "h1",   "h2",
    "h3",    "h4",       "h5",         "h6",      "header",  "hr",      "i",    "img",
    "ins",   "kbd",      "li",         "main",    "mark",    "nav",     "ol",   "p",
    "pre",   "q",        "rp",         "rt",      "ruby",    "s",       "samp", "section",
    "small", "span",     "strike",     "strong",  "sub",     "summary", "sup",  "table",
    "tbody", "td",       "tfoot",      "th",      "thead",   "time",    "tr",   "tt",
    "u",     "ul",       "var",        "wbr"};

static const char *const hsi_attrs[] = {
    "abbr",   "align",   "alt",           "bgcolor", "border", "cellpadding", "cellspacing",
    "color",  "colspan", "data-tern-src", "dir",     "face",   "height",      "href",
    "hspace", "lang",    "noshade",       "nowrap",  "rel",    "reversed",    "rowspan",
    "scope",  "size",    "span",          "src",     "start",  "style",       "summary",
    "target", "title",   "type",          "valign",  "value",  "vspace",      "width"};

static bool hsi_in(const char *const *set, size_t n, const char *s, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(set[i]) == len && memcmp(set[i], s, len) == 0)
			return true;
	return false;
}

static bool hsi_void(const char *s, size_t len)
{
	static const char *const v[] = {"br", "col", "hr", "img", "wbr"};
	return hsi_in(v, 5, s, len);
}

static char hsi_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c | 0x20) : c;
}

static bool hsi_prefix_ci(const char *s, size_t len, const char *p)
{
	size_t m = strlen(p);
	if (m > len)
		return false;
	for (size_t i = 0; i < m; i++)
		if (hsi_lower(s[i]) != hsi_lower(p[i]))
			return false;
	return true;
}

static bool hsi_contains_ci(const char *s, size_t len, const char *needle)
{
	size_t m = strlen(needle);
	for (size_t i = 0; i + m <= len; i++) {
		if (hsi_prefix_ci(s + i, len - i, needle))
			return true;
	}
	return false;
}

/* cid_prefix: what the callback's URLs start with (NULL: no src but data:). */
static const char *hsi_check(const char *s, size_t n, const char *cid_prefix)
{
	enum { MAXD = 1024 };
	const char *stack[MAXD];
	size_t lens[MAXD];
	size_t depth = 0;
	if (!utf8_valid(s, n))
		return "not UTF-8 (or a NUL)";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
			return "a control character";
		if (c == '>')
			return "a '>' in text";
		if (c == '&') {
			size_t k = i + 1;
			if (k < n && s[k] == '#')
				k++;
			size_t b = k;
			while (k < n &&
			       ((s[k] >= 'a' && s[k] <= 'z') || (s[k] >= 'A' && s[k] <= 'Z') ||
			        (s[k] >= '0' && s[k] <= '9')))
				k++;
			if (k == b || k >= n || s[k] != ';')
				return "a bare '&'";
			i = k;
			continue;
		}
		if (c != '<')
			continue;
		bool end = i + 1 < n && s[i + 1] == '/';
		size_t k = i + 1 + end, nb = k;
		while (k < n && ((s[k] >= 'a' && s[k] <= 'z') || (s[k] >= '0' && s[k] <= '9')))
			k++;
		size_t nl = k - nb;
		if (nl == 0)
			return "a '<' that starts no tag";
		if (!hsi_in(hsi_elements, sizeof hsi_elements / sizeof hsi_elements[0], s + nb, nl))
			return "an element not in the allowlist";
		if (end) {
			if (k >= n || s[k] != '>')
				return "an end tag with more than a name";
			if (depth == 0 || lens[depth - 1] != nl ||
			    memcmp(stack[depth - 1], s + nb, nl))
				return "an end tag that closes no open element";
			depth--;
			i = k;
			continue;
		}
		bool href_seen = false, target = false;
		for (;;) {
			if (k >= n)
				return "a tag cut short";
			if (s[k] == '>')
				break;
			if (s[k] != ' ')
				return "junk in a tag";
			k++;
			size_t ab = k;
			while (k < n && ((s[k] >= 'a' && s[k] <= 'z') || s[k] == '-'))
				k++;
			size_t al = k - ab;
			if (al == 0 || k + 1 >= n || s[k] != '=' || s[k + 1] != '"')
				return "an attribute not name=\"value\"";
			const char *an = s + ab;
			if (al >= 2 && an[0] == 'o' && an[1] == 'n')
				return "an on* attribute";
			if (!hsi_in(hsi_attrs, sizeof hsi_attrs / sizeof hsi_attrs[0], an, al))
				return "an attribute not in the allowlist";
			k += 2;
			size_t vb = k;
			while (k < n && s[k] != '"') {
				if (s[k] == '<' || s[k] == '>')
					return "'<' or '>' in an attribute value";
				if (s[k] == '&' && !hsi_prefix_ci(s + k, n - k, "&amp;") &&
				    !hsi_prefix_ci(s + k, n - k, "&quot;") &&
				    !hsi_prefix_ci(s + k, n - k, "&lt;") &&
				    !hsi_prefix_ci(s + k, n - k, "&gt;"))
					return "a reference in an attribute value that the "
					       "sanitizer did not write";
				k++;
			}
			if (k >= n)
				return "an unterminated attribute value";
			const char *v = s + vb;
			size_t vl = k - vb;
			k++;
			if (al == 4 && memcmp(an, "href", 4) == 0) {
				href_seen = true;
				if (!hsi_prefix_ci(v, vl, "http://") &&
				    !hsi_prefix_ci(v, vl, "https://") &&
				    !hsi_prefix_ci(v, vl, "mailto:") && !hsi_prefix_ci(v, vl, "#"))
					return "an href that is not http(s), mailto or #";
			}
			if (al == 3 && memcmp(an, "src", 3) == 0 &&
			    !hsi_prefix_ci(v, vl, "data:image/png") &&
			    !hsi_prefix_ci(v, vl, "data:image/gif") &&
			    !hsi_prefix_ci(v, vl, "data:image/jpeg") &&
			    !hsi_prefix_ci(v, vl, "data:image/webp") &&
			    !(cid_prefix && hsi_prefix_ci(v, vl, cid_prefix)))
				return "an img src that is neither data:image nor a cid URL";
			if (al == 13 && !hsi_prefix_ci(v, vl, "http://") &&
			    !hsi_prefix_ci(v, vl, "https://"))
				return "a data-tern-src that is not http(s)";
			if (al == 5 && memcmp(an, "style", 5) == 0 &&
			    (hsi_contains_ci(v, vl, "javascript") ||
			     hsi_contains_ci(v, vl, "vbscript") ||
			     hsi_contains_ci(v, vl, "expression") ||
			     hsi_contains_ci(v, vl, "url(") || hsi_contains_ci(v, vl, "position") ||
			     memchr(v, '\\', vl) || hsi_contains_ci(v, vl, "/*") ||
			     memchr(v, '@', vl)))
				return "a style with a script, url(, position, an escape, a "
				       "comment or an "
				       "at-rule";
			if (al == 6 && memcmp(an, "target", 6) == 0)
				target = true;
		}
		if (href_seen != target)
			return "a link without target=_blank (or a target without a link)";
		if (!hsi_void(s + nb, nl)) {
			if (depth == MAXD)
				return "too deep";
			stack[depth] = s + nb;
			lens[depth++] = nl;
		}
		i = k;
	}
	return depth ? "an element left open" : NULL;
}

#endif
