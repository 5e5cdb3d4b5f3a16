/* fuzz_mta_sts: arbitrary bytes through the MTA-STS TXT record parser and
 * the policy parser (mailauth/mta_sts_policy.c), then every kept pattern
 * matched against names taken from the input.
 *
 * Beyond crashes: a parsed id is 1..32 alphanumerics; a parsed policy has
 * at most MTA_STS_MAX_MX patterns, each NUL-terminated and lower case,
 * max_age within 0..MTA_STS_MAX_AGE, at least one mx unless mode none; a
 * policy pattern that is not a wildcard matches itself. */
#include "mailauth/mta_sts_policy.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	char id[MTA_STS_ID_MAX + 1];
	if (mta_sts_parse_txt(s, size, id) == 0) {
		size_t n = strlen(id);
		if (n == 0 || n > MTA_STS_ID_MAX)
			abort();
		for (size_t i = 0; i < n; i++)
			if (!isalnum((unsigned char)id[i]))
				abort();
	}
	static struct mta_sts_policy p;
	const char *why;
	if (mta_sts_parse_policy(s, size, &p, &why) != 0) {
		if (!why)
			abort();
		return 0;
	}
	if (p.nmx > MTA_STS_MAX_MX || p.max_age < 0 || p.max_age > MTA_STS_MAX_AGE ||
	    (p.mode != MTA_STS_NONE && p.nmx == 0))
		abort();
	for (size_t i = 0; i < p.nmx; i++) {
		size_t n = strnlen(p.mx[i], sizeof p.mx[i]);
		if (n == sizeof p.mx[i])
			abort();
		for (size_t k = 0; k < n; k++)
			if (isupper((unsigned char)p.mx[i][k]))
				abort();
		if (p.mx[i][0] != '*' && !mta_sts_mx_matches(&p, p.mx[i]))
			abort();
	}
	/* Each input line as a host name. */
	char host[300];
	size_t off = 0;
	while (off < size) {
		size_t n = 0;
		while (off + n < size && s[off + n] != '\n' && n < sizeof host - 1)
			n++;
		memcpy(host, s + off, n);
		host[n] = '\0';
		(void)mta_sts_mx_matches(&p, host);
		off += n + 1;
	}
	return 0;
}
