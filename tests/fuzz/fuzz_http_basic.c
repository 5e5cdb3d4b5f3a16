/* fuzz_http_basic: the Basic credentials decoder of the JMAP routes
 * (RFC 7617) on arbitrary Authorization values: no overrun, and what it
 * accepts is a non-empty user and a password that fit, without NUL. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/http/http_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *v = malloc(size ? size : 1);
	if (!v)
		return 0;
	memcpy(v, data, size);
	char user[HTTP_BASIC_USER_MAX], password[HTTP_BASIC_PASSWORD_MAX];
	if (http_basic_credentials(v, size, user, password)) {
		size_t u = strnlen(user, sizeof user), p = strnlen(password, sizeof password);
		if (u == 0 || u >= sizeof user || p >= sizeof password)
			abort();
	}
	free(v);
	return 0;
}
