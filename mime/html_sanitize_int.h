/* html_sanitize_int: what the HTML sanitizer's files share (mime/
 * html_sanitize.c, html_charref.c, html_css.c); not for other callers. */
#ifndef TERN_MIME_HTML_SANITIZE_INT_H
#define TERN_MIME_HTML_SANITIZE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

/* What the bytes at an '&' are (HTML5 13.2.5.72, reduced to the names in
 * html_charref.c's table). */
enum html_ref {
	HTML_REF_LITERAL, /* a plain '&': *used is 1 */
	HTML_REF_DECODED, /* a reference: *cp is its code point, *used its length */
	HTML_REF_UNKNOWN, /* "&name;" with a name not in the table: *used its length */
};

/* s[0..n), s[0] == '&'. in_attr: the rules for attribute values (a
 * legacy name without ';' followed by '=' or an alphanumeric is literal).
 * A numeric reference is decoded as HTML5 says: 0, surrogates and values
 * above U+10FFFF become U+FFFD, 0x80-0x9F the windows-1252 characters. */
enum html_ref html_charref(const char *s, size_t n, bool in_attr, size_t *used, uint32_t *cp);

/* The sorted-table promises the lookups rely on (bsearch): true if each
 * of the sanitizer's tables is in strcmp order. For the unit test. */
bool html_charref_table_sorted(void);
bool html_css_table_sorted(void);
bool html_sanitize_tables_sorted(void);

/* Filter the value of a style attribute (already entity-decoded, UTF-8)
 * and append to out the declarations that survive, as "prop:value"
 * joined by ';': properties from an allowlist, values without functions
 * other than rgb()/rgba()/hsl()/hsla(), without url(, expression(,
 * javascript:, @import, backslash escapes, comments or "position". The
 * number of declarations dropped, or -ENOMEM/-E2BIG. Nothing appended:
 * no declaration survived. */
int html_css_filter(const char *v, size_t n, struct buf *out);

#endif
