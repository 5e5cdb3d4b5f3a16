/* fuzz_deliver_collect: arbitrary bytes as a sent message's header, read
 * for its recipients (deliver_collect_prepare: To, Cc and Bcc through
 * mime/'s address lists and RFC 2047 decoding), with one envelope
 * recipient.
 *
 * Beyond crashes and leaks: nothing or at most DELIVER_COLLECT_MAX
 * addresses, and never the sender's. The store half is
 * store_contacts_collect, tested in test_store_contacts. */
#include "deliver/collect.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct deliver_rcpt r = {.addr = (char *)"env@x.test", .remote = true};
	struct deliver_collect *c =
	    deliver_collect_prepare(1, "me@x.test", (const char *)data, size, &r, 1);
	if (!c)
		return 0;
	size_t n = deliver_collect_count(c);
	if (n == 0 || n > DELIVER_COLLECT_MAX)
		__builtin_trap();
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(deliver_collect_address(c, i), "me@x.test") == 0)
			__builtin_trap();
	deliver_collect_free(c);
	return 0;
}
