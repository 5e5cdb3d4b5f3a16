/* fuzz_jmap_push_query: the EventSource URL's query (jmap_push.c) on
 * arbitrary bytes: no overrun, and what it accepts is in range: known
 * type bits only, ping 0 or within the clamp. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/http/http_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *query = malloc(size + 1);
	if (!query)
		return 0;
	memcpy(query, data, size);
	query[size] = '\0';
	struct http_push_query q;
	char err[120];
	if (http_push_parse_query(query, &q, err, sizeof err) == 0) {
		if (q.types & ~HTTP_PUSH_TYPES)
			abort();
		if (q.ping_s != 0 &&
		    (q.ping_s < HTTP_PUSH_PING_MIN || q.ping_s > HTTP_PUSH_PING_MAX))
			abort();
	} else if (strnlen(err, sizeof err) == 0 || strnlen(err, sizeof err) == sizeof err) {
		abort();
	}
	free(query);
	return 0;
}
