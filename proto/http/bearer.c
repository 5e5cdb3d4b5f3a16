/* bearer: the token of an "Authorization: Bearer ..." field (RFC 6750
 * 2.1), for the admin API, the send API and /metrics. */
#include "proto/http/http_int.h"

#include <strings.h>

bool http_bearer(const struct http_request *req, const char **token, size_t *len)
{
	const struct http_field *f = http_request_field(req, "Authorization");
	if (!f || f->value_len < 7 || strncasecmp(f->value, "Bearer ", 7) != 0)
		return false;
	*token = f->value + 7;
	*len = f->value_len - 7;
	while (*len && **token == ' ') {
		(*token)++;
		(*len)--;
	}
	return true;
}
