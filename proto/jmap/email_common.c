/* email_common: helpers of the Email, Thread and SearchSnippet methods
 * (see email_common.h). */
#include "proto/jmap/email_common.h"

#include <errno.h>
#include <string.h>

#include "lib/buf.h"
#include "store/entries.h"
#include "store/mail.h"
#include "store/store.h"

bool jmap_email_account_ok(struct jmap_call *c)
{
	json_t *a = json_object_get(c->args, "accountId");
	int64_t id;
	if (!json_is_string(a)) {
		jmap_error(c, "invalidArguments", "accountId must be a string");
		return false;
	}
	if (!jmap_id_parse(json_string_value(a), 'A', &id) || id != c->acct->account_id) {
		jmap_error(c, "accountNotFound", NULL);
		return false;
	}
	return true;
}

void jmap_server_fail(struct jmap_call *c, const char *what)
{
	jmap_error(c, "serverFail", what);
}

int jmap_message_bytes(const struct jmap_account *a, int64_t message_id, struct buf *out)
{
	struct store_rd *rd = store_reader(a->store);
	buf_reset(out);
	int64_t size = store_message_size(rd, message_id);
	if (size < 0)
		return (int)size;
	if ((uint64_t)size >= BUF_MAX)
		return -EFBIG;
	char chunk[65536];
	for (;;) {
		ssize_t got = store_message_read(rd, message_id, out->len, chunk, sizeof chunk);
		if (got < 0)
			return (int)got;
		if (got == 0)
			return 0;
		int r = buf_add(out, chunk, (size_t)got);
		if (r < 0)
			return r;
	}
}
