/* match: Sieve's comparators and match types (RFC 5228 §2.7).
 *
 * Comparators: i;octet compares bytes; i;ascii-casemap folds A-Z to a-z
 * first (RFC 4790 §9.2). Match types: :is (equal), :contains (a
 * substring), :matches (a glob: '*' any run, '?' one character, '\' takes
 * the next one literally). Under i;ascii-casemap '?' and the growth of '*'
 * step over a whole UTF-8 character, so captures never split one.
 *
 * :matches runs in O(value × key): when the pattern fails it goes back
 * only to the last '*' and lets it take one more character. That is
 * enough for globs, and it is also what RFC 5229 §3.2 asks of captures:
 * the wildcards match as little as possible, leftmost first. Every step
 * is charged to the run's budget, so a long header against a long key
 * ends the run rather than the CPU. */
#include "sieve/sieve_int.h"

#include <string.h>

static unsigned char fold(int cmp, unsigned char c)
{
	if (cmp == SIEVE_CMP_CASEMAP && c >= 'A' && c <= 'Z')
		return (unsigned char)(c + 32);
	return c;
}

/* The bytes of the character at s[i]: one, or a UTF-8 sequence's length
 * under i;ascii-casemap (continuation bytes counted, never past n). */
static size_t unit(int cmp, const char *s, size_t n, size_t i)
{
	size_t k = 1;
	if (cmp == SIEVE_CMP_CASEMAP && ((unsigned char)s[i] & 0xc0) == 0xc0)
		while (i + k < n && ((unsigned char)s[i + k] & 0xc0) == 0x80 && k < 4)
			k++;
	return k;
}

static int is(int cmp, const char *v, size_t vlen, const char *k, size_t klen,
              struct sieve_budget *b)
{
	if (!sieve_charge(b, 1 + vlen / 16))
		return -1;
	if (vlen != klen)
		return 0;
	for (size_t i = 0; i < vlen; i++)
		if (fold(cmp, (unsigned char)v[i]) != fold(cmp, (unsigned char)k[i]))
			return 0;
	return 1;
}

static int contains(int cmp, const char *v, size_t vlen, const char *k, size_t klen,
                    struct sieve_budget *b)
{
	if (klen == 0)
		return 1;
	for (size_t i = 0; i + klen <= vlen; i++) {
		if (!sieve_charge(b, 1 + klen / 16))
			return -1;
		size_t j = 0;
		while (j < klen &&
		       fold(cmp, (unsigned char)v[i + j]) == fold(cmp, (unsigned char)k[j]))
			j++;
		if (j == klen)
			return 1;
	}
	return 0;
}

static void capture(struct sieve_captures *c, unsigned i, size_t start, size_t len)
{
	if (c && i < SIEVE_MAX_CAPTURES) {
		c->start[i] = start;
		c->len[i] = len;
		if (c->n <= i)
			c->n = i + 1;
	}
}

static int matches(int cmp, const char *v, size_t vlen, const char *p, size_t plen,
                   struct sieve_captures *caps, struct sieve_budget *b)
{
	size_t si = 0, pi = 0;
	bool star = false;
	size_t star_pi = 0, star_si = 0, star_start = 0;
	unsigned ci = 1, star_ci = 0;
	if (caps)
		caps->n = 0;
	while (si < vlen) {
		if (!sieve_charge(b, 1))
			return -1;
		if (pi < plen && p[pi] == '*') {
			star = true;
			star_pi = pi++;
			star_si = star_start = si;
			star_ci = ci;
			capture(caps, ci++, si, 0);
			continue;
		}
		if (pi < plen && p[pi] == '?') {
			size_t u = unit(cmp, v, vlen, si);
			capture(caps, ci++, si, u);
			pi++;
			si += u;
			continue;
		}
		if (pi < plen) {
			size_t lit = pi;
			if (p[pi] == '\\' && pi + 1 < plen)
				lit = pi + 1;
			if (fold(cmp, (unsigned char)p[lit]) == fold(cmp, (unsigned char)v[si])) {
				pi = lit + 1;
				si++;
				continue;
			}
		}
		if (!star)
			return 0;
		/* Back to the last star, which takes one more character. */
		star_si += unit(cmp, v, vlen, star_si);
		if (star_si > vlen)
			return 0;
		capture(caps, star_ci, star_start, star_si - star_start);
		ci = star_ci + 1;
		si = star_si;
		pi = star_pi + 1;
	}
	while (pi < plen && p[pi] == '*') {
		capture(caps, ci++, vlen, 0);
		pi++;
	}
	if (pi != plen)
		return 0;
	capture(caps, 0, 0, vlen);
	return 1;
}

int sieve_match(int cmp, int match, const char *value, size_t vlen, const char *key, size_t klen,
                struct sieve_captures *caps, struct sieve_budget *budget)
{
	switch (match) {
	case SIEVE_MATCH_CONTAINS:
		return contains(cmp, value, vlen, key, klen, budget);
	case SIEVE_MATCH_MATCHES:
		return matches(cmp, value, vlen, key, klen, caps, budget);
	default:
		return is(cmp, value, vlen, key, klen, budget);
	}
}
