/* check: "may this text be stored as a user's script?", the one question
 * ManageSieve's PUTSCRIPT/CHECKSCRIPT, JMAP's SieveScript/set and
 * SieveScript/validate, and `tern sieve put` all ask before they store.
 * One answer for all of them (not empty, within the size bound, compiles
 * under the default limits), so a script one of them accepts is one every
 * other accepts and delivery can run. */
#include "sieve/sieve.h"

#include <errno.h>
#include <stdio.h>

int sieve_check(const char *src, size_t len, char *err, size_t errlen)
{
	struct sieve_limits lim;
	sieve_limits_default(&lim);
	if (len == 0) {
		snprintf(err, errlen, "The script is empty");
		return -ENODATA;
	}
	if (len > lim.max_script_bytes) {
		snprintf(err, errlen, "A script has at most %zu octets", lim.max_script_bytes);
		return -EFBIG;
	}
	struct sieve_script *compiled = NULL;
	int rc = sieve_compile(src, len, &lim, &compiled, err, errlen);
	sieve_script_free(&compiled);
	if (rc == -ENOMEM)
		snprintf(err, errlen, "Out of memory");
	return rc;
}
