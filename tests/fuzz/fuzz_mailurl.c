/* fuzz_mailurl: arbitrary bytes through the IMAP URL parser
 * (mailurl/url.h), which reads what IMAP clients send in CATENATE (and
 * GENURLAUTH, URLFETCH, SMTP BURL). Besides not crashing, a URL it accepts
 * must have filled its fields within bounds and NUL-terminated, and the
 * URLAUTH rump must be a prefix of the input. */
#include "mailurl/url.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BOUNDED(f) (memchr((f), '\0', sizeof(f)) != NULL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mailurl u;
	if (mailurl_parse((const char *)data, size, &u) < 0)
		return 0;
	if (!BOUNDED(u.user) || !BOUNDED(u.auth_type) || !BOUNDED(u.host) || !BOUNDED(u.mailbox) ||
	    !BOUNDED(u.section) || !BOUNDED(u.access) || !BOUNDED(u.mechanism) || !BOUNDED(u.token))
		__builtin_trap();
	if (u.has_urlauth && (u.rump_len == 0 || u.rump_len > size || !u.access[0]))
		__builtin_trap();
	if (!u.has_urlauth && (u.rump_len || u.has_expire || u.mechanism[0]))
		__builtin_trap();
	if (u.uid == 0 && (u.section[0] || u.has_partial || u.uidvalidity))
		__builtin_trap();
	if (u.mechanism[0] && strlen(u.token) < 32)
		__builtin_trap();
	return 0;
}
