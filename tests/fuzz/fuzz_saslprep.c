/* fuzz_saslprep: SASLprep (lib/saslprep.c) of arbitrary bytes, as a query
 * and as a stored string: the SCRAM user names a client sends reach it.
 *
 * Beyond crashes: a result is non-empty, well-formed UTF-8 of the length
 * said, a stored string that prepares prepares the same as a query,
 * printable ASCII comes back as it is, and preparing a result again gives
 * it back (SASLprep is idempotent on its own output). */
#include "lib/saslprep.h"
#include "lib/utf8.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool printable_ascii(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *q = NULL, *st = NULL, *again = NULL;
	size_t q_len = 0, st_len = 0, again_len = 0;
	int rq = saslprep((const char *)data, size, SASLPREP_QUERY, &q, &q_len);
	int rs = saslprep((const char *)data, size, SASLPREP_STORED, &st, &st_len);
	if ((rq == SASLPREP_OK) != (q != NULL) || (rs == SASLPREP_OK) != (st != NULL))
		__builtin_trap();
	if (rq == SASLPREP_OK) {
		if (q_len == 0 || strlen(q) != q_len || !utf8_valid(q, q_len))
			__builtin_trap();
		if (size && size <= SASLPREP_IN_MAX && printable_ascii(data, size) &&
		    (q_len != size || memcmp(q, data, size) != 0))
			__builtin_trap();
		if (q_len <= SASLPREP_IN_MAX) {
			if (saslprep(q, q_len, SASLPREP_QUERY, &again, &again_len) != SASLPREP_OK ||
			    again_len != q_len || memcmp(again, q, q_len) != 0)
				__builtin_trap();
		}
	}
	if (rs == SASLPREP_OK && (rq != SASLPREP_OK || st_len != q_len || memcmp(st, q, q_len)))
		__builtin_trap();
	saslprep_free(q, q_len);
	saslprep_free(st, st_len);
	saslprep_free(again, again_len);
	return 0;
}
