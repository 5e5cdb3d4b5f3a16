/* saslprep: see saslprep.h. RFC 4013 §2, in the order of RFC 3454 §3:
 *
 *   1. map: C.1.2 (non-ASCII space) to U+0020, B.1 to nothing
 *   2. normalize: NFKC
 *   3. prohibit: C.1.2, C.2.1, C.2.2, C.3 to C.9 (on the output)
 *   4. bidi: RFC 3454 §6 (on the output)
 *
 * and, for stored strings, no code point unassigned in Unicode 3.2 (A.1),
 * checked on the input (before NFKC of a newer libunistring could turn a
 * later addition into something assigned) and on the output. */
#include "lib/saslprep.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <uninorm.h>

#include "lib/utf8.h"

struct saslprep_range {
	uint32_t lo, hi;
};

#include "lib/saslprep_tables.h"

#define IN(table, cp) in_table(table, sizeof table / sizeof table[0], cp)

static bool in_table(const struct saslprep_range *t, size_t n, uint32_t cp)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cp < t[mid].lo)
			hi = mid;
		else if (cp > t[mid].hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

static bool printable_ascii(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

static int copy_out(const char *s, size_t len, char **out, size_t *out_len)
{
	char *c = malloc(len + 1);
	if (!c)
		return SASLPREP_ENOMEM;
	memcpy(c, s, len);
	c[len] = '\0';
	*out = c;
	*out_len = len;
	return SASLPREP_OK;
}

/* Step 1 into map (at most len bytes: each mapping shrinks or drops). */
static int map(const unsigned char *in, size_t len, enum saslprep_use use, unsigned char *map,
               size_t *map_len)
{
	size_t i = 0, o = 0;
	while (i < len) {
		int32_t cp = utf8_decode(in, len, &i);
		if (cp <= 0)
			return SASLPREP_EUTF8; /* malformed, or a NUL */
		if (use == SASLPREP_STORED && IN(saslprep_unassigned, (uint32_t)cp))
			return SASLPREP_EUNASSIGNED;
		if (IN(saslprep_nothing, (uint32_t)cp))
			continue;
		if (IN(saslprep_space, (uint32_t)cp))
			cp = ' ';
		o += utf8_encode((uint32_t)cp, (char *)map + o);
	}
	*map_len = o;
	return SASLPREP_OK;
}

/* Steps 3 and 4, and A.1 again, on the normalized string. */
static int check(const unsigned char *s, size_t len, enum saslprep_use use)
{
	bool any_randal = false, any_l = false, first_randal = false, last_randal = false;
	size_t i = 0;
	if (len == 0)
		return SASLPREP_EEMPTY;
	while (i < len) {
		bool first = i == 0;
		int32_t cp = utf8_decode(s, len, &i);
		if (cp <= 0)
			return SASLPREP_EUTF8;
		uint32_t c = (uint32_t)cp;
		if (IN(saslprep_prohibited, c))
			return SASLPREP_EPROHIBITED;
		if (use == SASLPREP_STORED && IN(saslprep_unassigned, c))
			return SASLPREP_EUNASSIGNED;
		last_randal = IN(saslprep_randal, c);
		if (first)
			first_randal = last_randal;
		any_randal = any_randal || last_randal;
		any_l = any_l || IN(saslprep_l, c);
	}
	/* RFC 3454 §6: with any RandALCat, no LCat, and RandALCat first and last. */
	if (any_randal && (any_l || !first_randal || !last_randal))
		return SASLPREP_EBIDI;
	return SASLPREP_OK;
}

int saslprep(const char *in, size_t len, enum saslprep_use use, char **out, size_t *out_len)
{
	*out = NULL;
	*out_len = 0;
	if (len > SASLPREP_IN_MAX)
		return SASLPREP_ETOOLONG;
	if (len == 0)
		return SASLPREP_EEMPTY;
	if (printable_ascii(in, len)) /* nearly every password: SASLprep leaves it as it is */
		return copy_out(in, len, out, out_len);

	unsigned char *mapped = malloc(len + 1);
	if (!mapped)
		return SASLPREP_ENOMEM;
	size_t mapped_len = 0, norm_len = 0;
	uint8_t *norm = NULL;
	int rc = map((const unsigned char *)in, len, use, mapped, &mapped_len);
	if (rc == SASLPREP_OK && mapped_len == 0)
		rc = SASLPREP_EEMPTY;
	if (rc == SASLPREP_OK) {
		norm = u8_normalize(UNINORM_NFKC, mapped, mapped_len, NULL, &norm_len);
		if (!norm)
			rc = SASLPREP_ENOMEM;
	}
	if (rc == SASLPREP_OK)
		rc = check(norm, norm_len, use);
	if (rc == SASLPREP_OK)
		rc = copy_out((const char *)norm, norm_len, out, out_len);
	saslprep_free((char *)mapped, len + 1);
	saslprep_free((char *)norm, norm_len);
	return rc;
}

void saslprep_free(char *s, size_t len)
{
	if (!s)
		return;
	explicit_bzero(s, len);
	free(s);
}

const char *saslprep_strerror(int err)
{
	switch (err) {
	case SASLPREP_OK:
		return "ok";
	case SASLPREP_EUTF8:
		return "invalid_utf8";
	case SASLPREP_ETOOLONG:
		return "too_long";
	case SASLPREP_EPROHIBITED:
		return "prohibited";
	case SASLPREP_EBIDI:
		return "bidi";
	case SASLPREP_EUNASSIGNED:
		return "unassigned";
	case SASLPREP_EEMPTY:
		return "empty";
	case SASLPREP_ENOMEM:
		return "nomem";
	}
	return "unknown";
}
