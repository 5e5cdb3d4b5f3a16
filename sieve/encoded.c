/* encoded: RFC 5228 §2.4.2.4's encoded characters, "${hex:..}" (octets)
 * and "${unicode:..}" (code points as UTF-8), decoded in a script's strings
 * when it requires "encoded-character".
 *
 * One pass, left to right, in place (a decoded sequence is always shorter
 * than its encoding): "${hex:4${hex:30}}" becomes "${hex:40}", not "@".
 * A sequence that is not well-formed stays as written; a well-formed one
 * naming a surrogate or a value above U+10FFFF is an error. */
#include "sieve/sieve_int.h"

#include "lib/utf8.h"

#include <ctype.h>
#include <strings.h>

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The sequence at s[i] ("${" seen): 1 with the index past it, 0 when it
 * is not well-formed, -1 on a bad code point. With out, the decoded bytes
 * go there (out may be s itself at or before i: each item decodes to no
 * more bytes than it is written with). */
static int sequence(const char *s, size_t len, size_t i, char *out, size_t *olen, size_t *end)
{
	bool hex;
	size_t j = i + 2;
	if (len - j >= 4 && strncasecmp(s + j, "hex:", 4) == 0) {
		hex = true;
		j += 4;
	} else if (len - j >= 8 && strncasecmp(s + j, "unicode:", 8) == 0) {
		hex = false;
		j += 8;
	} else {
		return 0;
	}
	size_t n = 0, items = 0;
	bool bad_cp = false;
	for (;;) {
		while (j < len && blank(s[j]))
			j++;
		if (j < len && s[j] == '}')
			break;
		size_t k = j;
		uint32_t v = 0;
		while (k < len && hexval(s[k]) >= 0) {
			if (v < 0x1000000)
				v = v * 16 + (uint32_t)hexval(s[k]);
			k++;
		}
		if (k == j || (hex && k - j > 2))
			return 0;
		if (k < len && !blank(s[k]) && s[k] != '}')
			return 0;
		if (hex) {
			if (out)
				out[n] = (char)v;
			n++;
		} else if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
			bad_cp = true;
		} else if (out) {
			char u[4];
			size_t ul = utf8_encode(v, u);
			for (size_t q = 0; q < ul; q++)
				out[n++] = u[q];
		}
		items++;
		j = k;
	}
	if (items == 0)
		return 0;
	if (bad_cp)
		return -1;
	*olen = n;
	*end = j + 1;
	return 1;
}

int sieve_decode_encoded(char *s, size_t *len)
{
	size_t r = 0, w = 0, n = *len;
	while (r < n) {
		if (s[r] == '$' && r + 1 < n && s[r + 1] == '{') {
			size_t olen = 0, end = 0;
			int k = sequence(s, n, r, NULL, &olen, &end);
			if (k < 0)
				return -1;
			if (k > 0) {
				sequence(s, n, r, s + w, &olen, &end);
				w += olen;
				r = end;
				continue;
			}
		}
		s[w++] = s[r++];
	}
	s[w] = '\0';
	*len = w;
	return 0;
}
