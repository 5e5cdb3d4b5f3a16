/* fuzz_http_basic: what the JMAP routes parse out of header fields, on
 * arbitrary values: the Basic credentials decoder (RFC 7617): no
 * overrun, and what it accepts is a non-empty user and a password that
 * fit, without NUL; and the Cookie field's parser: a value found lies
 * inside the field. */
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
	size_t len;
	const char *c = http_cookie_value(v, size, "tern_session", &len);
	if (c && (c < v || c + len > v + size))
		abort();
	free(v);
	return 0;
}
