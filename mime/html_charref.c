/* html_charref: HTML character references (&amp; &#39; &#x27;) for the
 * sanitizer (html_sanitize.h).
 *
 * Why only a subset of HTML5's 2231 names: a name this table does not know
 * is never decoded, so it is written back escaped ("&amp;name;") in an
 * attribute, where the sanitizer checks the decoded value (a URL's scheme),
 * and verbatim in text, where any character is harmless. What the browser
 * sees is thus what was checked. The table holds the names mail uses and
 * every name that spells an ASCII punctuation character (&colon;, &Tab;,
 * &NewLine;, &lpar;), the ones used to hide "javascript:" from filters. */
#include "mime/html_sanitize_int.h"

#include <stdlib.h>
#include <string.h>

struct named_ref {
	const char *name;
	uint32_t cp;
};

/* Made from Python's html.entities.html5 for the names listed in the
 * commit that added this file; strcmp order (bsearch). */
static const struct named_ref named_refs[] = {
    {"AElig", 0xC6},
    {"AMP", 0x26},
    {"Aacute", 0xC1},
    {"Acirc", 0xC2},
    {"Agrave", 0xC0},
    {"Alpha", 0x391},
    {"Aring", 0xC5},
    {"Atilde", 0xC3},
    {"Auml", 0xC4},
    {"Beta", 0x392},
    {"COPY", 0xA9},
    {"Ccedil", 0xC7},
    {"Dagger", 0x2021},
    {"Delta", 0x394},
    {"DiacriticalGrave", 0x60},
    {"ETH", 0xD0},
    {"Eacute", 0xC9},
    {"Ecirc", 0xCA},
    {"Egrave", 0xC8},
    {"Euml", 0xCB},
    {"GT", 0x3E},
    {"Gamma", 0x393},
    {"Hat", 0x5E},
    {"Iacute", 0xCD},
    {"Icirc", 0xCE},
    {"Igrave", 0xCC},
    {"Iuml", 0xCF},
    {"LT", 0x3C},
    {"NewLine", 0xA},
    {"NoBreak", 0x2060},
    {"NonBreakingSpace", 0xA0},
    {"Ntilde", 0xD1},
    {"OElig", 0x152},
    {"Oacute", 0xD3},
    {"Ocirc", 0xD4},
    {"Ograve", 0xD2},
    {"Omega", 0x3A9},
    {"Oslash", 0xD8},
    {"Otilde", 0xD5},
    {"Ouml", 0xD6},
    {"Prime", 0x2033},
    {"QUOT", 0x22},
    {"REG", 0xAE},
    {"Scaron", 0x160},
    {"THORN", 0xDE},
    {"TRADE", 0x2122},
    {"Tab", 0x9},
    {"Uacute", 0xDA},
    {"Ucirc", 0xDB},
    {"Ugrave", 0xD9},
    {"Uuml", 0xDC},
    {"VerticalLine", 0x7C},
    {"Yacute", 0xDD},
    {"Yuml", 0x178},
    {"ZeroWidthSpace", 0x200B},
    {"aacute", 0xE1},
    {"acirc", 0xE2},
    {"acute", 0xB4},
    {"aelig", 0xE6},
    {"agrave", 0xE0},
    {"alpha", 0x3B1},
    {"amp", 0x26},
    {"apos", 0x27},
    {"aring", 0xE5},
    {"ast", 0x2A},
    {"asymp", 0x2248},
    {"atilde", 0xE3},
    {"auml", 0xE4},
    {"bdquo", 0x201E},
    {"beta", 0x3B2},
    {"brvbar", 0xA6},
    {"bsol", 0x5C},
    {"bull", 0x2022},
    {"bullet", 0x2022},
    {"ccedil", 0xE7},
    {"cedil", 0xB8},
    {"cent", 0xA2},
    {"check", 0x2713},
    {"checkmark", 0x2713},
    {"circ", 0x2C6},
    {"circledR", 0xAE},
    {"clubs", 0x2663},
    {"colon", 0x3A},
    {"comma", 0x2C},
    {"commat", 0x40},
    {"copy", 0xA9},
    {"cross", 0x2717},
    {"curren", 0xA4},
    {"dArr", 0x21D3},
    {"dagger", 0x2020},
    {"darr", 0x2193},
    {"dash", 0x2010},
    {"deg", 0xB0},
    {"delta", 0x3B4},
    {"diams", 0x2666},
    {"divide", 0xF7},
    {"dollar", 0x24},
    {"eacute", 0xE9},
    {"ecirc", 0xEA},
    {"egrave", 0xE8},
    {"emsp", 0x2003},
    {"ensp", 0x2002},
    {"epsilon", 0x3B5},
    {"equals", 0x3D},
    {"equiv", 0x2261},
    {"eth", 0xF0},
    {"euml", 0xEB},
    {"euro", 0x20AC},
    {"excl", 0x21},
    {"female", 0x2640},
    {"flat", 0x266D},
    {"fnof", 0x192},
    {"frac12", 0xBD},
    {"frac14", 0xBC},
    {"frac34", 0xBE},
    {"frasl", 0x2044},
    {"gamma", 0x3B3},
    {"ge", 0x2265},
    {"grave", 0x60},
    {"gt", 0x3E},
    {"hArr", 0x21D4},
    {"hairsp", 0x200A},
    {"harr", 0x2194},
    {"hearts", 0x2665},
    {"hellip", 0x2026},
    {"horbar", 0x2015},
    {"hyphen", 0x2010},
    {"iacute", 0xED},
    {"icirc", 0xEE},
    {"iexcl", 0xA1},
    {"igrave", 0xEC},
    {"infin", 0x221E},
    {"iquest", 0xBF},
    {"isin", 0x2208},
    {"iuml", 0xEF},
    {"lArr", 0x21D0},
    {"lambda", 0x3BB},
    {"laquo", 0xAB},
    {"larr", 0x2190},
    {"lbrace", 0x7B},
    {"lbrack", 0x5B},
    {"lcub", 0x7B},
    {"ldquo", 0x201C},
    {"le", 0x2264},
    {"lowast", 0x2217},
    {"lowbar", 0x5F},
    {"loz", 0x25CA},
    {"lpar", 0x28},
    {"lrm", 0x200E},
    {"lsaquo", 0x2039},
    {"lsqb", 0x5B},
    {"lsquo", 0x2018},
    {"lt", 0x3C},
    {"macr", 0xAF},
    {"male", 0x2642},
    {"mdash", 0x2014},
    {"micro", 0xB5},
    {"midast", 0x2A},
    {"middot", 0xB7},
    {"minus", 0x2212},
    {"mldr", 0x2026},
    {"mu", 0x3BC},
    {"nabla", 0x2207},
    {"natural", 0x266E},
    {"nbsp", 0xA0},
    {"ndash", 0x2013},
    {"ne", 0x2260},
    {"nldr", 0x2025},
    {"not", 0xAC},
    {"ntilde", 0xF1},
    {"num", 0x23},
    {"oacute", 0xF3},
    {"ocirc", 0xF4},
    {"oelig", 0x153},
    {"ograve", 0xF2},
    {"oline", 0x203E},
    {"omega", 0x3C9},
    {"ordf", 0xAA},
    {"ordm", 0xBA},
    {"oslash", 0xF8},
    {"otilde", 0xF5},
    {"ouml", 0xF6},
    {"para", 0xB6},
    {"part", 0x2202},
    {"percnt", 0x25},
    {"period", 0x2E},
    {"permil", 0x2030},
    {"phi", 0x3C6},
    {"phone", 0x260E},
    {"pi", 0x3C0},
    {"plus", 0x2B},
    {"plusmn", 0xB1},
    {"pound", 0xA3},
    {"prime", 0x2032},
    {"prod", 0x220F},
    {"quest", 0x3F},
    {"quot", 0x22},
    {"rArr", 0x21D2},
    {"radic", 0x221A},
    {"raquo", 0xBB},
    {"rarr", 0x2192},
    {"rbrace", 0x7D},
    {"rbrack", 0x5D},
    {"rcub", 0x7D},
    {"rdquo", 0x201D},
    {"reg", 0xAE},
    {"rlm", 0x200F},
    {"rpar", 0x29},
    {"rsaquo", 0x203A},
    {"rsqb", 0x5D},
    {"rsquo", 0x2019},
    {"sbquo", 0x201A},
    {"scaron", 0x161},
    {"sect", 0xA7},
    {"semi", 0x3B},
    {"sharp", 0x266F},
    {"shy", 0xAD},
    {"sigma", 0x3C3},
    {"sol", 0x2F},
    {"spades", 0x2660},
    {"star", 0x2606},
    {"starf", 0x2605},
    {"sum", 0x2211},
    {"sup1", 0xB9},
    {"sup2", 0xB2},
    {"sup3", 0xB3},
    {"szlig", 0xDF},
    {"tau", 0x3C4},
    {"theta", 0x3B8},
    {"thinsp", 0x2009},
    {"thorn", 0xFE},
    {"tilde", 0x2DC},
    {"times", 0xD7},
    {"trade", 0x2122},
    {"uArr", 0x21D1},
    {"uacute", 0xFA},
    {"uarr", 0x2191},
    {"ucirc", 0xFB},
    {"ugrave", 0xF9},
    {"uml", 0xA8},
    {"uuml", 0xFC},
    {"verbar", 0x7C},
    {"vert", 0x7C},
    {"yacute", 0xFD},
    {"yen", 0xA5},
    {"yuml", 0xFF},
    {"zwj", 0x200D},
    {"zwnj", 0x200C},
};

/* The names HTML5 also decodes without a ';' (a subset of its legacy list). */
static const char *const legacy_names[] = {"AMP",  "COPY", "GT", "LT",   "QUOT", "REG", "amp",
                                           "copy", "gt",   "lt", "nbsp", "quot", "reg"};

/* HTML5 13.2.5.80: numeric references 0x80-0x9F mean windows-1252. */
static const uint16_t cp1252[32] = {0x20AC, 0x81,   0x201A, 0x192,  0x201E, 0x2026, 0x2020, 0x2021,
                                    0x2C6,  0x2030, 0x160,  0x2039, 0x152,  0x8D,   0x17D,  0x8F,
                                    0x90,   0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
                                    0x2DC,  0x2122, 0x161,  0x203A, 0x153,  0x9D,   0x17E,  0x178};

static bool is_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static enum html_ref numeric(const char *s, size_t n, size_t *used, uint32_t *cp)
{
	size_t i = 2;
	bool hex = i < n && (s[i] == 'x' || s[i] == 'X');
	if (hex)
		i++;
	size_t first = i;
	uint32_t v = 0;
	for (; i < n; i++) {
		int d = hex ? hexval((unsigned char)s[i])
		            : (s[i] >= '0' && s[i] <= '9' ? s[i] - '0' : -1);
		if (d < 0)
			break;
		v = v > 0x10FFFF ? 0x110000 : v * (hex ? 16 : 10) + (uint32_t)d;
	}
	if (i == first)
		return HTML_REF_LITERAL; /* "&#" or "&#x" alone: text */
	if (i < n && s[i] == ';')
		i++;
	if (v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		v = 0xFFFD;
	else if (v >= 0x80 && v <= 0x9F)
		v = cp1252[v - 0x80];
	*used = i;
	*cp = v;
	return HTML_REF_DECODED;
}

static int cmp_named(const void *key, const void *elem)
{
	return strcmp(key, ((const struct named_ref *)elem)->name);
}

static const struct named_ref *find_named(const char *name, size_t len)
{
	char key[33];
	if (len == 0 || len >= sizeof key)
		return NULL;
	memcpy(key, name, len);
	key[len] = '\0';
	return bsearch(key, named_refs, sizeof named_refs / sizeof named_refs[0],
	               sizeof named_refs[0], cmp_named);
}

enum html_ref html_charref(const char *s, size_t n, bool in_attr, size_t *used, uint32_t *cp)
{
	*used = 1;
	if (n < 2)
		return HTML_REF_LITERAL;
	if (s[1] == '#')
		return numeric(s, n, used, cp);
	size_t len = 0;
	while (1 + len < n && is_alnum((unsigned char)s[1 + len]))
		len++;
	if (len == 0)
		return HTML_REF_LITERAL;
	if (1 + len < n && s[1 + len] == ';') {
		const struct named_ref *r = find_named(s + 1, len);
		if (r) {
			*used = len + 2;
			*cp = r->cp;
			return HTML_REF_DECODED;
		}
		if (len <= 32 && ((unsigned char)s[1] | 0x20) >= 'a' &&
		    ((unsigned char)s[1] | 0x20) <= 'z') {
			*used = len + 2;
			return HTML_REF_UNKNOWN;
		}
		return HTML_REF_LITERAL;
	}
	/* No ';': the legacy names, as a prefix of the alphanumeric run. */
	for (size_t k = 0; k < sizeof legacy_names / sizeof legacy_names[0]; k++) {
		size_t l = strlen(legacy_names[k]);
		if (l > len || memcmp(s + 1, legacy_names[k], l) != 0)
			continue;
		if (in_attr && (l < len || (1 + l < n && s[1 + l] == '=')))
			return HTML_REF_LITERAL;
		const struct named_ref *r = find_named(s + 1, l);
		if (!r)
			return HTML_REF_LITERAL;
		*used = l + 1;
		*cp = r->cp;
		return HTML_REF_DECODED;
	}
	return HTML_REF_LITERAL;
}

bool html_charref_table_sorted(void)
{
	for (size_t i = 1; i < sizeof named_refs / sizeof named_refs[0]; i++)
		if (strcmp(named_refs[i - 1].name, named_refs[i].name) >= 0)
			return false;
	return true;
}
