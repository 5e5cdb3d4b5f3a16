/* html_sanitize: see html_sanitize.h.
 *
 * One pass, no tree. The tokenizer follows the states of HTML5's (13.2.5)
 * closely enough that a tag, an attribute or a comment is where a browser
 * would see it, but safety does not rest on that: every token is written
 * out again in canonical form (lower-case names, double-quoted escaped
 * values, escaped text), so the output holds only the elements and
 * attributes allowed here, whatever the input meant.
 *
 *   text ──'<'──▶ markup: "<!--" comment (dropped)
 *                         "<!", "<?", "</" + non-letter: bogus comment (dropped)
 *                         "<" letter / "</" letter: tag ─▶ policy
 *                         anything else: the '<' is text
 *
 * The policy for a start tag, by the element table below:
 *   KEEP      written, pushed on the open-element stack (unless VOID)
 *   RAWDROP   script, style, iframe, ...: the raw text to its end tag dropped
 *   RAWTEXT   xmp, textarea, plaintext: the raw text kept as escaped text
 *   SKIP      svg, math, object, ...: everything up to the matching end
 *             tag dropped (svg/math also end where HTML would leave foreign
 *             content, at a "breakout" tag such as <p> or <div>)
 *   otherwise the tag is dropped and its content kept.
 * An end tag closes the nearest open element of its name (and those above
 * it), never across a table cell, so the output is balanced; the rest are
 * closed at the end. A few implied end tags (p, li, dt/dd, tr, td/th, a)
 * are closed the way HTML does, so the usual mail markup comes out as the
 * browser would have built it. */
#include "mime/html_sanitize.h"
#include "mime/html_sanitize_int.h"
#include "lib/utf8.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum {
	F_KEEP = 1u << 0,     /* written out */
	F_VOID = 1u << 1,     /* no content, no end tag */
	F_BLOCK = 1u << 2,    /* opening it closes an open p */
	F_BO = 1u << 3,       /* ends foreign content (svg, math) when it starts */
	F_BOUNDARY = 1u << 4, /* table, td, th, caption: implied end tags stop here */
	F_RAWDROP = 1u << 5,  /* raw text content, dropped */
	F_RCDATA = 1u << 6,   /* raw text content with character references */
	F_RAWTEXT = 1u << 7,  /* raw text content, kept as text */
	F_PRE = 1u << 8,      /* that text in <pre> */
	F_TOEOF = 1u << 9,    /* the raw text runs to the end of the input */
	F_SKIP = 1u << 10,    /* the subtree is dropped */
	F_FOREIGN = 1u << 11, /* svg, math */
	F_DANGER = 1u << 12,  /* active content: sets HTML_FOUND_DROPPED */
	F_P = 1u << 13,       /* the groups of the implied end tags */
	F_LI = 1u << 14,
	F_LIST = 1u << 15,
	F_DTDD = 1u << 16,
	F_DL = 1u << 17,
	F_TR = 1u << 18,
	F_CELL = 1u << 19,
	F_TSECT = 1u << 20,
	F_TABLE = 1u << 21,
	F_TABLEISH = 1u << 22, /* its end tag may close inside a table, not beyond it */
	F_A = 1u << 23,
};

/* Allowed attributes, in strcmp order (bsearch); the bit of each in an
 * element's mask. */
enum {
	AT_ABBR,
	AT_ALIGN,
	AT_ALT,
	AT_BGCOLOR,
	AT_BORDER,
	AT_CELLPADDING,
	AT_CELLSPACING,
	AT_COLOR,
	AT_COLSPAN,
	AT_DIR,
	AT_FACE,
	AT_HEIGHT,
	AT_HREF,
	AT_HSPACE,
	AT_LANG,
	AT_NOSHADE,
	AT_NOWRAP,
	AT_REVERSED,
	AT_ROWSPAN,
	AT_SCOPE,
	AT_SIZE,
	AT_SPAN,
	AT_SRC,
	AT_START,
	AT_STYLE,
	AT_SUMMARY,
	AT_TITLE,
	AT_TYPE,
	AT_VALIGN,
	AT_VALUE,
	AT_VSPACE,
	AT_WIDTH,
	AT_COUNT
};

static const char *const attr_names[AT_COUNT] = {
    "abbr",    "align",    "alt",     "bgcolor", "border", "cellpadding", "cellspacing", "color",
    "colspan", "dir",      "face",    "height",  "href",   "hspace",      "lang",        "noshade",
    "nowrap",  "reversed", "rowspan", "scope",   "size",   "span",        "src",         "start",
    "style",   "summary",  "title",   "type",    "valign", "value",       "vspace",      "width"};

#define A(x) (1u << AT_##x)
/* Every kept element may carry these. */
#define GLOBAL_ATTRS                                                                               \
	(A(ALIGN) | A(BGCOLOR) | A(DIR) | A(HEIGHT) | A(LANG) | A(STYLE) | A(TITLE) | A(VALIGN) |  \
	 A(WIDTH))

struct element {
	const char *name;
	uint32_t flags;
	uint32_t attrs; /* besides GLOBAL_ATTRS */
};

/* strcmp order (bsearch). Not listed: the tag is dropped, content kept. */
static const struct element elements[] = {
    {"a", F_KEEP | F_A | F_BO, A(HREF)},
    {"abbr", F_KEEP, 0},
    {"acronym", F_KEEP, 0},
    {"address", F_KEEP | F_BLOCK, 0},
    {"applet", F_SKIP | F_DANGER, 0},
    {"area", F_VOID | F_DANGER, 0},
    {"article", F_KEEP | F_BLOCK, 0},
    {"aside", F_KEEP | F_BLOCK, 0},
    {"audio", F_SKIP | F_DANGER, 0},
    {"b", F_KEEP | F_BO, 0},
    {"base", F_VOID | F_DANGER, 0},
    {"basefont", F_VOID, 0},
    {"bdi", F_KEEP, 0},
    {"bdo", F_KEEP, 0},
    {"bgsound", F_VOID | F_DANGER, 0},
    {"big", F_KEEP | F_BO, 0},
    {"blockquote", F_KEEP | F_BLOCK | F_BO, 0},
    {"body", F_BO, 0},
    {"br", F_KEEP | F_VOID | F_BO, 0},
    {"button", F_DANGER, 0},
    {"canvas", F_SKIP | F_DANGER, 0},
    {"caption", F_KEEP | F_BOUNDARY | F_TABLEISH, 0},
    {"center", F_KEEP | F_BLOCK | F_BO, 0},
    {"cite", F_KEEP, 0},
    {"code", F_KEEP | F_BO, 0},
    {"col", F_KEEP | F_VOID | F_TABLEISH, A(SPAN)},
    {"colgroup", F_KEEP | F_TABLEISH, A(SPAN)},
    {"dd", F_KEEP | F_BLOCK | F_DTDD | F_BO, 0},
    {"del", F_KEEP, 0},
    {"details", F_KEEP | F_BLOCK, 0},
    {"dfn", F_KEEP, 0},
    {"div", F_KEEP | F_BLOCK | F_BO, 0},
    {"dl", F_KEEP | F_BLOCK | F_DL | F_BO, 0},
    {"dt", F_KEEP | F_BLOCK | F_DTDD | F_BO, 0},
    {"em", F_KEEP | F_BO, 0},
    {"embed", F_VOID | F_DANGER | F_BO, 0},
    {"font", F_KEEP | F_BO, A(COLOR) | A(FACE) | A(SIZE)},
    {"form", F_DANGER, 0},
    {"frame", F_VOID | F_DANGER, 0},
    {"frameset", F_SKIP | F_DANGER, 0},
    {"h1", F_KEEP | F_BLOCK | F_BO, 0},
    {"h2", F_KEEP | F_BLOCK | F_BO, 0},
    {"h3", F_KEEP | F_BLOCK | F_BO, 0},
    {"h4", F_KEEP | F_BLOCK | F_BO, 0},
    {"h5", F_KEEP | F_BLOCK | F_BO, 0},
    {"h6", F_KEEP | F_BLOCK | F_BO, 0},
    {"head", F_BO, 0},
    {"header", F_KEEP | F_BLOCK, 0},
    {"hr", F_KEEP | F_VOID | F_BLOCK | F_BO, A(SIZE) | A(NOSHADE) | A(COLOR)},
    {"i", F_KEEP | F_BO, 0},
    {"iframe", F_RAWDROP | F_DANGER, 0},
    {"image", F_VOID | F_DANGER, 0},
    {"img", F_KEEP | F_VOID | F_BO, A(SRC) | A(ALT) | A(BORDER) | A(HSPACE) | A(VSPACE)},
    {"input", F_VOID | F_DANGER, 0},
    {"ins", F_KEEP, 0},
    {"isindex", F_VOID | F_DANGER, 0},
    {"kbd", F_KEEP, 0},
    {"keygen", F_VOID | F_DANGER, 0},
    {"li", F_KEEP | F_BLOCK | F_LI | F_BO, A(VALUE) | A(TYPE)},
    {"link", F_VOID | F_DANGER, 0},
    {"listing", F_BO, 0},
    {"main", F_KEEP | F_BLOCK, 0},
    {"mark", F_KEEP, 0},
    {"math", F_SKIP | F_FOREIGN | F_DANGER, 0},
    {"menu", F_BO, 0},
    {"meta", F_VOID | F_DANGER | F_BO, 0},
    {"nav", F_KEEP | F_BLOCK, 0},
    {"nobr", F_BO, 0},
    {"noembed", F_RAWDROP, 0},
    {"noframes", F_RAWDROP, 0},
    {"noscript", F_RAWDROP, 0},
    {"object", F_SKIP | F_DANGER, 0},
    {"ol", F_KEEP | F_BLOCK | F_LIST | F_BO, A(START) | A(TYPE) | A(REVERSED)},
    {"p", F_KEEP | F_BLOCK | F_P | F_BO, 0},
    {"param", F_VOID | F_DANGER, 0},
    {"plaintext", F_RAWTEXT | F_PRE | F_TOEOF, 0},
    {"pre", F_KEEP | F_BLOCK | F_BO, 0},
    {"q", F_KEEP, 0},
    {"rp", F_KEEP, 0},
    {"rt", F_KEEP, 0},
    {"ruby", F_KEEP | F_BO, 0},
    {"s", F_KEEP | F_BO, 0},
    {"samp", F_KEEP, 0},
    {"script", F_RAWDROP | F_DANGER, 0},
    {"section", F_KEEP | F_BLOCK, 0},
    {"small", F_KEEP | F_BO, 0},
    {"source", F_VOID, 0},
    {"span", F_KEEP | F_BO, 0},
    {"strike", F_KEEP | F_BO, 0},
    {"strong", F_KEEP | F_BO, 0},
    {"style", F_RAWDROP | F_DANGER, 0},
    {"sub", F_KEEP | F_BO, 0},
    {"summary", F_KEEP, 0},
    {"sup", F_KEEP | F_BO, 0},
    {"svg", F_SKIP | F_FOREIGN | F_DANGER, 0},
    {"table", F_KEEP | F_BLOCK | F_BOUNDARY | F_TABLE | F_TABLEISH | F_BO,
     A(BORDER) | A(CELLPADDING) | A(CELLSPACING) | A(SUMMARY)},
    {"tbody", F_KEEP | F_TSECT | F_TABLEISH, 0},
    {"td", F_KEEP | F_BOUNDARY | F_CELL | F_TABLEISH,
     A(COLSPAN) | A(ROWSPAN) | A(NOWRAP) | A(ABBR) | A(SCOPE)},
    {"template", F_SKIP | F_DANGER, 0},
    {"textarea", F_RAWTEXT | F_RCDATA, 0},
    {"tfoot", F_KEEP | F_TSECT | F_TABLEISH, 0},
    {"th", F_KEEP | F_BOUNDARY | F_CELL | F_TABLEISH,
     A(COLSPAN) | A(ROWSPAN) | A(NOWRAP) | A(ABBR) | A(SCOPE)},
    {"thead", F_KEEP | F_TSECT | F_TABLEISH, 0},
    {"time", F_KEEP, 0},
    {"title", F_RAWDROP | F_RCDATA, 0},
    {"tr", F_KEEP | F_TR | F_TABLEISH, 0},
    {"track", F_VOID, 0},
    {"tt", F_KEEP | F_BO, 0},
    {"u", F_KEEP | F_BO, 0},
    {"ul", F_KEEP | F_BLOCK | F_LIST | F_BO, A(TYPE)},
    {"var", F_KEEP | F_BO, 0},
    {"video", F_SKIP | F_DANGER, 0},
    {"wbr", F_KEEP | F_VOID, 0},
    {"xmp", F_RAWTEXT | F_PRE, 0},
};

#define N_ELEMENTS (sizeof elements / sizeof elements[0])
#define UNKNOWN_EL 0xFF

struct san {
	const char *s;
	size_t n;
	const struct html_sanitize_opts *o;
	struct buf *out;
	size_t out_start, out_cap;
	unsigned found;
	int err;
	uint8_t stack[HTML_SANITIZE_MAX_DEPTH];
	unsigned depth;
	/* Inside a dropped subtree: its element, how many of it are open,
	 * and whether it is svg/math. skip_el UNKNOWN_EL: not skipping. */
	uint8_t skip_el;
	unsigned skip_nest;
	bool skip_foreign;
	struct buf val; /* an attribute value, decoded */
	struct buf tmp; /* the filtered style, a decoded Content-ID */
	struct buf url; /* what the cid callback returns */
};

#define TAG_EOF SIZE_MAX

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static bool is_alpha(char c)
{
	return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c | 0x20) : c;
}

static bool starts_ci(const char *s, size_t n, const char *prefix)
{
	size_t l = strlen(prefix);
	if (n < l)
		return false;
	for (size_t i = 0; i < l; i++)
		if (lower(s[i]) != prefix[i])
			return false;
	return true;
}

static int cmp_element(const void *key, const void *elem)
{
	return strcmp(key, ((const struct element *)elem)->name);
}

static int cmp_name(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

/* The lower-cased name s[0..n) in key (cap bytes), false if it cannot be
 * a table name (too long, not ASCII alphanumeric). */
static bool name_key(char *key, size_t cap, const char *s, size_t n)
{
	if (n == 0 || n >= cap)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = lower(s[i]);
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return false;
		key[i] = c;
	}
	key[n] = '\0';
	return true;
}

static uint8_t element_id(const char *s, size_t n)
{
	char key[16];
	if (!name_key(key, sizeof key, s, n))
		return UNKNOWN_EL;
	const struct element *e =
	    bsearch(key, elements, N_ELEMENTS, sizeof elements[0], cmp_element);
	return e ? (uint8_t)(e - elements) : UNKNOWN_EL;
}

static uint32_t el_flags(uint8_t id)
{
	return id == UNKNOWN_EL ? 0 : elements[id].flags;
}

static int attr_id(const char *s, size_t n)
{
	char key[16];
	if (!name_key(key, sizeof key, s, n))
		return -1;
	const char *const *a = bsearch(key, attr_names, AT_COUNT, sizeof attr_names[0], cmp_name);
	return a ? (int)(a - attr_names) : -1;
}

/* ---- output ---------------------------------------------------------------- */

static void put(struct san *st, const void *p, size_t n)
{
	if (st->err)
		return;
	if (st->out->len - st->out_start + n > st->out_cap) {
		st->err = -E2BIG;
		return;
	}
	int rc = buf_add(st->out, p, n);
	if (rc)
		st->err = rc;
}

static void puts_(struct san *st, const char *s)
{
	put(st, s, strlen(s));
}

/* Byte classes for put_escaped: 0 copied as is, 1 escaped or dropped,
 * 2 the start of a multi-byte sequence (checked). */
#define CLASSES_COMMON                                                                             \
	[0 ... 8] = 1, [0x0b ... 0x0c] = 1,                                                        \
	       [0x0e ... 0x1f] = 1, ['&'] = 1, ['<'] = 1, ['>'] = 1, [0x7f] = 1,                   \
	       [0x80 ... 0xff] = 2
static const unsigned char class_text[256] = {CLASSES_COMMON};
static const unsigned char class_attr[256] = {CLASSES_COMMON, ['"'] = 1};

/* p[0..n) escaped for text or a double-quoted attribute value: & < > (and
 * ") as references, C0 controls but tab, LF and CR dropped, ill-formed
 * UTF-8 as U+FFFD. */
static void put_escaped(struct san *st, const char *p, size_t n, bool attr)
{
	const unsigned char *cls = attr ? class_attr : class_text;
	const unsigned char *s = (const unsigned char *)p;
	size_t i = 0;
	while (i < n && !st->err) {
		size_t run = i;
		while (i < n && cls[s[i]] == 0)
			i++;
		if (i > run)
			put(st, s + run, i - run);
		if (i >= n)
			break;
		unsigned char c = s[i];
		if (cls[c] == 2) {
			size_t j = i;
			if (utf8_decode(s, n, &j) >= 0) {
				put(st, s + i, j - i);
				i = j;
			} else {
				put(st, "\xEF\xBF\xBD", 3);
				i++;
			}
			continue;
		}
		switch (c) {
		case '&':
			put(st, "&amp;", 5);
			break;
		case '<':
			put(st, "&lt;", 4);
			break;
		case '>':
			put(st, "&gt;", 4);
			break;
		case '"':
			put(st, "&quot;", 6);
			break;
		default:
			break; /* a control character: dropped */
		}
		i++;
	}
}

/* Text (or raw text) p[0..n): character references decoded if refs, then
 * escaped; nothing while a subtree is being dropped. */
static void put_text(struct san *st, const char *p, size_t n, bool refs)
{
	if (st->skip_el != UNKNOWN_EL)
		return;
	size_t i = 0;
	while (i < n && !st->err) {
		const char *amp = refs ? memchr(p + i, '&', n - i) : NULL;
		size_t j = amp ? (size_t)(amp - p) : n;
		put_escaped(st, p + i, j - i, false);
		if (j >= n)
			break;
		size_t used;
		uint32_t cp = 0;
		switch (html_charref(p + j, n - j, false, &used, &cp)) {
		case HTML_REF_DECODED: {
			char enc[4];
			put_escaped(st, enc, utf8_encode(cp, enc), false);
			break;
		}
		case HTML_REF_UNKNOWN:
			put(st, p + j, used); /* "&name;": letters and digits */
			break;
		case HTML_REF_LITERAL:
			put(st, "&amp;", 5);
			break;
		}
		i = j + used;
	}
}

static void put_attr(struct san *st, const char *name, const char *v, size_t n)
{
	put(st, " ", 1);
	puts_(st, name);
	put(st, "=\"", 2);
	put_escaped(st, v, n, true);
	put(st, "\"", 1);
}

/* ---- the open elements ------------------------------------------------------- */

static void pop_to(struct san *st, unsigned d)
{
	while (st->depth > d) {
		uint8_t id = st->stack[--st->depth];
		put(st, "</", 2);
		puts_(st, elements[id].name);
		put(st, ">", 1);
	}
}

/* Close the nearest open element with a flag in match, unless one with a
 * flag in stop comes first. */
static void close_nearest(struct san *st, uint32_t match, uint32_t stop)
{
	for (unsigned d = st->depth; d > 0; d--) {
		uint32_t f = elements[st->stack[d - 1]].flags;
		if (f & match) {
			pop_to(st, d - 1);
			return;
		}
		if (f & stop)
			return;
	}
}

/* HTML's implied end tags for a kept start tag. */
static void implied_ends(struct san *st, uint32_t f)
{
	if (f & F_LI)
		close_nearest(st, F_LI, F_LIST | F_BOUNDARY);
	if (f & F_DTDD)
		close_nearest(st, F_DTDD, F_DL | F_BOUNDARY);
	if (f & F_TSECT)
		close_nearest(st, F_TSECT, F_TABLE);
	if (f & F_TR)
		close_nearest(st, F_TR, F_TABLE);
	if (f & F_CELL)
		close_nearest(st, F_CELL, F_TR | F_TABLE);
	if (f & F_A)
		close_nearest(st, F_A, F_BOUNDARY);
	if (f & F_BLOCK)
		close_nearest(st, F_P, F_BOUNDARY);
}

static void end_tag(struct san *st, uint8_t id)
{
	uint32_t f = el_flags(id);
	if (!(f & F_KEEP))
		return;
	if (f & F_VOID) {
		if (strcmp(elements[id].name, "br") == 0)
			put(st, "<br>", 4); /* </br> is a <br> in HTML */
		return;
	}
	uint32_t stop = (f & F_TABLE) ? 0 : (f & F_TABLEISH) ? F_TABLE : F_BOUNDARY;
	for (unsigned d = st->depth; d > 0; d--) {
		if (st->stack[d - 1] == id) {
			pop_to(st, d - 1);
			return;
		}
		if (elements[st->stack[d - 1]].flags & stop)
			return;
	}
}

/* ---- attributes -------------------------------------------------------------- */

/* The attribute value p[0..n) with character references decoded into
 * st->val. */
/* p[0..n) appended to b with ill-formed UTF-8 as U+FFFD, so that what is
 * checked is byte for byte what put_escaped() writes. */
static int add_utf8(struct buf *b, const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t i = 0;
	int rc = 0;
	while (i < n && !rc) {
		size_t run = i;
		while (i < n && s[i] < 0x80)
			i++;
		rc = buf_add(b, s + run, i - run);
		if (i >= n || rc)
			break;
		size_t j = i;
		if (utf8_decode(s, n, &j) >= 0) {
			rc = buf_add(b, s + i, j - i);
			i = j;
		} else {
			rc = buf_add(b, "\xEF\xBF\xBD", 3);
			i++;
		}
	}
	return rc;
}

static void decode_value(struct san *st, const char *p, size_t n)
{
	buf_reset(&st->val);
	size_t i = 0;
	int rc = 0;
	while (i < n && !rc) {
		const char *amp = memchr(p + i, '&', n - i);
		size_t j = amp ? (size_t)(amp - p) : n;
		rc = add_utf8(&st->val, p + i, j - i);
		if (j >= n || rc)
			break;
		size_t used;
		uint32_t cp = 0;
		if (html_charref(p + j, n - j, true, &used, &cp) == HTML_REF_DECODED) {
			char enc[4];
			rc = buf_add(&st->val, enc, utf8_encode(cp, enc));
		} else {
			used = 1;
			rc = buf_addc(&st->val, '&');
		}
		i = j + used;
	}
	if (rc)
		st->err = rc;
}

/* A URL as the browser reads it: leading and trailing C0 controls and
 * spaces stripped, tab, LF and CR removed (WHATWG URL). False if another
 * control character is left (no browser agrees on those). In place. */
static bool clean_url(struct buf *v)
{
	size_t m = 0;
	for (size_t i = 0; i < v->len; i++) {
		unsigned char c = (unsigned char)v->data[i];
		if (c == '\t' || c == '\n' || c == '\r')
			continue;
		if (c <= 0x20 && m == 0)
			continue;
		if ((c < 0x20 && c != ' ') || c == 0x7f)
			return false;
		v->data[m++] = (char)c;
	}
	while (m > 0 && v->data[m - 1] == ' ')
		m--;
	v->len = m;
	return true;
}

static int hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static void img_src(struct san *st)
{
	const char *v = st->val.data;
	size_t n = st->val.len;
	static const char *const data_types[] = {"data:image/png", "data:image/gif",
	                                         "data:image/jpeg", "data:image/webp"};
	for (size_t k = 0; k < sizeof data_types / sizeof data_types[0]; k++) {
		size_t l = strlen(data_types[k]);
		if (starts_ci(v, n, data_types[k]) && n > l && (v[l] == ';' || v[l] == ',')) {
			put_attr(st, "src", v, n);
			return;
		}
	}
	if (starts_ci(v, n, "cid:")) {
		if (!st->o || !st->o->cid_url)
			return;
		buf_reset(&st->tmp);
		int rc = 0;
		for (size_t i = 4; i < n && !rc; i++) {
			int h, l;
			if (v[i] == '%' && i + 2 < n && (h = hexdigit(v[i + 1])) >= 0 &&
			    (l = hexdigit(v[i + 2])) >= 0) {
				rc = buf_addc(&st->tmp, (char)(h * 16 + l));
				i += 2;
			} else {
				rc = buf_addc(&st->tmp, v[i]);
			}
		}
		buf_reset(&st->url);
		if (!rc)
			rc = st->o->cid_url(st->o->ctx, st->tmp.len ? st->tmp.data : "",
			                    st->tmp.len, &st->url);
		if (rc < 0) {
			st->err = rc;
		} else if (rc == 1) {
			put_attr(st, "src", st->url.len ? st->url.data : "", st->url.len);
			st->found |= HTML_FOUND_CID_IMAGES;
		}
		return;
	}
	if (starts_ci(v, n, "http://") || starts_ci(v, n, "https://")) {
		bool load = st->o && st->o->remote_images_src;
		put_attr(st, load ? "src" : "data-tern-src", v, n);
		st->found |= HTML_FOUND_REMOTE_IMAGES;
		return;
	}
	st->found |= HTML_FOUND_DROPPED;
}

static bool href_ok(const struct buf *v)
{
	return (v->len > 0 && v->data[0] == '#') || starts_ci(v->data, v->len, "http://") ||
	       starts_ci(v->data, v->len, "https://") || starts_ci(v->data, v->len, "mailto:");
}

/* One attribute of a kept element: written if allowed. */
static void attribute(struct san *st, uint8_t el, const char *name, size_t nlen, const char *v,
                      size_t vlen, uint32_t *seen, bool *href)
{
	if (nlen >= 2 && lower(name[0]) == 'o' && lower(name[1]) == 'n')
		st->found |= HTML_FOUND_DROPPED;
	int a = attr_id(name, nlen);
	if (a < 0)
		return;
	uint32_t bit = 1u << a;
	if (!((GLOBAL_ATTRS | elements[el].attrs) & bit) || (*seen & bit))
		return;
	*seen |= bit; /* the first one counts, as in HTML */
	decode_value(st, v, vlen);
	if (st->err)
		return;
	struct buf *d = &st->val;
	switch (a) {
	case AT_HREF:
		if (clean_url(d) && href_ok(d)) {
			put_attr(st, "href", d->data ? d->data : "", d->len);
			*href = true;
		} else {
			st->found |= HTML_FOUND_DROPPED;
		}
		break;
	case AT_SRC:
		if (clean_url(d))
			img_src(st);
		else
			st->found |= HTML_FOUND_DROPPED;
		break;
	case AT_STYLE: {
		buf_reset(&st->tmp);
		int rc = html_css_filter(d->data ? d->data : "", d->len, &st->tmp);
		if (rc < 0)
			st->err = rc;
		else if (rc > 0)
			st->found |= HTML_FOUND_DROPPED;
		if (rc >= 0 && st->tmp.len)
			put_attr(st, "style", st->tmp.data, st->tmp.len);
		break;
	}
	case AT_DIR:
		if ((d->len == 3 &&
		     (starts_ci(d->data, 3, "ltr") || starts_ci(d->data, 3, "rtl"))) ||
		    (d->len == 4 && starts_ci(d->data, 4, "auto")))
			put_attr(st, "dir", d->data, d->len);
		break;
	default:
		put_attr(st, attr_names[a], d->data ? d->data : "", d->len);
		break;
	}
}

/* The attributes of a tag from s[k] up to and past its '>': written for a
 * kept element el when emit. The position after the '>', or TAG_EOF if
 * the input ends inside the tag (which is then dropped, as HTML does). */
static size_t attributes(struct san *st, size_t k, uint8_t el, bool emit, bool *self_closing,
                         bool *href)
{
	const char *s = st->s;
	size_t n = st->n;
	uint32_t seen = 0;
	*self_closing = false;
	*href = false;
	for (;;) {
		while (k < n && (is_ws(s[k]) || s[k] == '/')) {
			*self_closing = s[k] == '/' && k + 1 < n && s[k + 1] == '>';
			k++;
		}
		if (k >= n)
			return TAG_EOF;
		if (s[k] == '>')
			return k + 1;
		*self_closing = false;
		size_t nb = k++; /* the first character may be '=' */
		while (k < n && !is_ws(s[k]) && s[k] != '/' && s[k] != '>' && s[k] != '=')
			k++;
		size_t ne = k;
		while (k < n && is_ws(s[k]))
			k++;
		size_t vb = 0, ve = 0;
		if (k < n && s[k] == '=') {
			k++;
			while (k < n && is_ws(s[k]))
				k++;
			if (k >= n)
				return TAG_EOF;
			if (s[k] == '"' || s[k] == '\'') {
				vb = k + 1;
				const char *q = memchr(s + vb, s[k], n - vb);
				if (!q)
					return TAG_EOF;
				ve = (size_t)(q - s);
				k = ve + 1;
			} else {
				vb = k;
				while (k < n && !is_ws(s[k]) && s[k] != '>')
					k++;
				ve = k;
			}
		}
		if (emit && !st->err)
			attribute(st, el, s + nb, ne - nb, s + vb, ve - vb, &seen, href);
	}
}

/* ---- markup -------------------------------------------------------------------- */

/* Past the next '>' from k, or the end: a bogus comment, a doctype, or
 * CDATA in HTML content. */
static size_t bogus_comment(struct san *st, size_t k)
{
	const char *gt = memchr(st->s + k, '>', st->n - k);
	return gt ? (size_t)(gt - st->s) + 1 : st->n;
}

/* "<!--" at i: past its end ("-->", "--!>", or the abrupt "<!-->" and
 * "<!--->"), or the end of the input. */
static size_t comment(struct san *st, size_t i)
{
	const char *s = st->s;
	size_t n = st->n, k = i + 4;
	if (k < n && s[k] == '>')
		return k + 1;
	if (k + 1 < n && s[k] == '-' && s[k + 1] == '>')
		return k + 2;
	while (k < n) {
		const char *d = memchr(s + k, '-', n - k);
		if (!d)
			return n;
		size_t j = (size_t)(d - s);
		if (j + 2 < n && s[j + 1] == '-' && s[j + 2] == '>')
			return j + 3;
		if (j + 3 < n && s[j + 1] == '-' && s[j + 2] == '!' && s[j + 3] == '>')
			return j + 4;
		k = j + 1;
	}
	return n;
}

/* The raw text of element id from k to its end tag ("</name" then white
 * space, '/' or '>'), kept as text or dropped. The position of that end
 * tag (parsed next as markup), or the end of the input. */
static size_t raw_text(struct san *st, size_t k, uint8_t id, bool keep)
{
	const struct element *e = &elements[id];
	const char *s = st->s;
	size_t n = st->n, nl = strlen(e->name), end = n;
	if (!(e->flags & F_TOEOF)) {
		for (size_t q = k; q < n;) {
			const char *lt = memchr(s + q, '<', n - q);
			if (!lt)
				break;
			size_t j = (size_t)(lt - s);
			if (j + 2 + nl < n && s[j + 1] == '/' &&
			    starts_ci(s + j + 2, nl, e->name) &&
			    (is_ws(s[j + 2 + nl]) || s[j + 2 + nl] == '/' ||
			     s[j + 2 + nl] == '>')) {
				end = j;
				break;
			}
			q = j + 1;
		}
	}
	if (keep && st->skip_el == UNKNOWN_EL) {
		if (e->flags & F_PRE) {
			implied_ends(st, F_BLOCK); /* a pre closes an open p */
			puts_(st, "<pre>");
		}
		put_text(st, s + k, end - k, e->flags & F_RCDATA);
		if (e->flags & F_PRE)
			puts_(st, "</pre>");
	}
	return end;
}

/* A tag whose name starts at s[k] ("<" or "</" before it). The position
 * after it. */
static size_t tag(struct san *st, size_t k, bool is_end)
{
	const char *s = st->s;
	size_t n = st->n, nb = k;
	while (k < n && !is_ws(s[k]) && s[k] != '/' && s[k] != '>')
		k++;
	uint8_t id = element_id(s + nb, k - nb);
	uint32_t f = el_flags(id);
	bool self_closing, href;

	if (st->skip_el != UNKNOWN_EL) {
		if (!is_end && st->skip_foreign && (f & F_BO)) {
			st->skip_el = UNKNOWN_EL; /* HTML leaves foreign content here */
		} else {
			size_t e = attributes(st, k, id, false, &self_closing, &href);
			if (e == TAG_EOF)
				return n;
			if (id == st->skip_el) {
				if (is_end) {
					if (--st->skip_nest == 0)
						st->skip_el = UNKNOWN_EL;
				} else if (!(self_closing && st->skip_foreign)) {
					st->skip_nest++;
				}
			} else if (!is_end && !st->skip_foreign && (f & (F_RAWDROP | F_RAWTEXT))) {
				e = raw_text(st, e, id, false);
			}
			return e;
		}
	}

	if (is_end || !(f & F_KEEP)) {
		size_t e = attributes(st, k, id, false, &self_closing, &href);
		if (e == TAG_EOF)
			return n;
		if (is_end) {
			end_tag(st, id);
			return e;
		}
		if (f & F_DANGER)
			st->found |= HTML_FOUND_DROPPED;
		if (f & F_SKIP) {
			if (!(self_closing && (f & F_FOREIGN))) {
				st->skip_el = id;
				st->skip_nest = 1;
				st->skip_foreign = f & F_FOREIGN;
			}
			return e;
		}
		if (f & (F_RAWDROP | F_RAWTEXT))
			return raw_text(st, e, id, f & F_RAWTEXT);
		return e;
	}

	implied_ends(st, f);
	bool push = !(f & F_VOID);
	if (push && st->depth >= HTML_SANITIZE_MAX_DEPTH) {
		size_t e = attributes(st, k, id, false, &self_closing, &href);
		return e == TAG_EOF ? n : e;
	}
	size_t mark = st->out->len;
	put(st, "<", 1);
	puts_(st, elements[id].name);
	size_t e = attributes(st, k, id, true, &self_closing, &href);
	if (e == TAG_EOF) {
		if (!st->err) {
			st->out->len = mark;
			st->out->data[mark] = '\0';
		}
		return n;
	}
	if (href)
		puts_(st, " target=\"_blank\" rel=\"noopener noreferrer\"");
	put(st, ">", 1);
	if (push)
		st->stack[st->depth++] = id;
	return e;
}

/* s[i] == '<'. The position after what starts there. */
static size_t markup(struct san *st, size_t i)
{
	const char *s = st->s;
	size_t n = st->n;
	if (i + 1 >= n) {
		put_text(st, "<", 1, false);
		return n;
	}
	char c = s[i + 1];
	if (c == '!') {
		if (i + 3 < n && s[i + 2] == '-' && s[i + 3] == '-')
			return comment(st, i);
		if (st->skip_foreign && st->skip_el != UNKNOWN_EL && n - i >= 9 &&
		    memcmp(s + i, "<![CDATA[", 9) == 0) {
			for (size_t k = i + 9; k + 2 < n; k++)
				if (s[k] == ']' && s[k + 1] == ']' && s[k + 2] == '>')
					return k + 3;
			return n;
		}
		return bogus_comment(st, i + 2);
	}
	if (c == '/') {
		if (i + 2 >= n) {
			put_text(st, "</", 2, false);
			return n;
		}
		if (is_alpha(s[i + 2]))
			return tag(st, i + 2, true);
		if (s[i + 2] == '>')
			return i + 3;
		return bogus_comment(st, i + 2);
	}
	if (c == '?')
		return bogus_comment(st, i + 1);
	if (is_alpha(c))
		return tag(st, i + 1, false);
	put_text(st, "<", 1, false);
	return i + 1;
}

int html_sanitize(const char *in, size_t len, const struct html_sanitize_opts *o, struct buf *out,
                  unsigned *found)
{
	struct san st = {
	    .s = in,
	    .n = len,
	    .o = o,
	    .out = out,
	    .out_start = out->len,
	    .skip_el = UNKNOWN_EL,
	};
	st.out_cap = len > (SIZE_MAX - HTML_SANITIZE_OUT_SLACK) / HTML_SANITIZE_OUT_FACTOR
	                 ? SIZE_MAX
	                 : len * HTML_SANITIZE_OUT_FACTOR + HTML_SANITIZE_OUT_SLACK;
	size_t i = 0;
	while (i < len && !st.err) {
		const char *lt = memchr(in + i, '<', len - i);
		size_t j = lt ? (size_t)(lt - in) : len;
		put_text(&st, in + i, j - i, true);
		if (j >= len)
			break;
		i = markup(&st, j);
	}
	pop_to(&st, 0);
	buf_free(&st.val);
	buf_free(&st.tmp);
	buf_free(&st.url);
	if (st.err) {
		out->len = st.out_start;
		if (out->data)
			out->data[out->len] = '\0';
		return st.err;
	}
	if (found)
		*found = st.found;
	return 0;
}

bool html_sanitize_tables_sorted(void)
{
	for (size_t i = 1; i < N_ELEMENTS; i++)
		if (strcmp(elements[i - 1].name, elements[i].name) >= 0)
			return false;
	for (size_t i = 1; i < AT_COUNT; i++)
		if (strcmp(attr_names[i - 1], attr_names[i]) >= 0)
			return false;
	return N_ELEMENTS < UNKNOWN_EL;
}
