/* quickstart_names: what `tern quickstart` accepts as an address and a
 * host name, and the password it makes (see quickstart.h). */
#include "app/quickstart.h"

#include <ctype.h>
#include <string.h>
#include <sys/random.h>

#include "store/accounts.h"

/* A password from the CSPRNG: 24 characters of 56 that are not easily
 * confused (no 0/O, 1/l/I), about 139 bits. Rejection sampling: every
 * character is equally likely. */
int quickstart_password(char out[QUICKSTART_PASSWORD_LEN + 1])
{
	static const char alphabet[] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	const unsigned n = sizeof alphabet - 1, limit = 256 - 256 % n;
	size_t have = 0;
	while (have < QUICKSTART_PASSWORD_LEN) {
		unsigned char raw[64];
		if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
			return -1;
		for (size_t i = 0; i < sizeof raw && have < QUICKSTART_PASSWORD_LEN; i++)
			if (raw[i] < limit)
				out[have++] = alphabet[raw[i] % n];
		explicit_bzero(raw, sizeof raw);
	}
	out[QUICKSTART_PASSWORD_LEN] = '\0';
	return 0;
}

/* A host name: dot-separated labels of letters, digits and inner hyphens,
 * at least two of them, the last not all digits. */
bool quickstart_valid_hostname(const char *s)
{
	size_t len = strlen(s), label = 0, labels = 1;
	bool last_alpha = false;
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i <= len; i++) {
		char c = s[i];
		if (c == '.' || c == '\0') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			if (c == '.') {
				labels++;
				label = 0;
				last_alpha = false;
			}
			continue;
		}
		if (!isalnum((unsigned char)c) && !(c == '-' && label > 0))
			return false;
		if (++label > 63)
			return false;
		last_alpha |= isalpha((unsigned char)c) != 0;
	}
	return labels >= 2 && last_alpha;
}

/* user@domain with an RFC 5322 dot-atom local part; the domain is
 * lowercased in place. */
bool quickstart_valid_address(char *addr, char **domain)
{
	char *at = strrchr(addr, '@');
	if (!at || at == addr || at - addr > 64 || strlen(addr) >= STORE_ADDR_MAX)
		return false;
	for (char *p = addr; p < at; p++) {
		unsigned char c = (unsigned char)*p;
		bool dot_ok = c == '.' && p > addr && p + 1 < at && p[1] != '.';
		if (!isalnum(c) && !strchr("!#$%&'*+/=?^_`{|}~-", c) && !dot_ok)
			return false;
	}
	for (char *p = at + 1; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	*domain = at + 1;
	return quickstart_valid_hostname(at + 1);
}
