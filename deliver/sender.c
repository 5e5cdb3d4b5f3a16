/* sender: the ownership checks of a logged-in submitter (sender.h), moved
 * from proto/smtp/deliver.c so that JMAP refuses the same senders SMTP
 * does. */
#include "deliver/sender.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "mime/header.h"
#include "store/accounts.h"
#include "store/store.h"

enum deliver_status deliver_sender_owned(struct store *store, int64_t account_id, const char *addr,
                                         size_t len)
{
	char buf[DELIVER_SENDER_MAX + 1];
	struct store_rd *rd = store ? store_reader(store) : NULL;
	int rc;

	if (!rd)
		return DELIVER_STORE_FAIL;
	if (len == 0 || len >= sizeof buf)
		return DELIVER_NOT_OWNED;
	memcpy(buf, addr, len);
	buf[len] = '\0';
	rc = store_address_owned_by(rd, account_id, buf);
	if (rc < 0)
		return DELIVER_STORE_FAIL;
	return rc == 1 ? DELIVER_OK : DELIVER_NOT_OWNED;
}

struct from_check {
	struct store *store;
	int64_t account_id;
	enum deliver_status verdict;
};

static int from_cb(void *ud, const char *addr, size_t alen)
{
	struct from_check *fc = ud;
	enum deliver_status r = deliver_sender_owned(fc->store, fc->account_id, addr, alen);
	if (r != DELIVER_OK) {
		fc->verdict = r;
		return 1;
	}
	return 0;
}

enum deliver_status deliver_header_from_check(struct store *store, int64_t account_id,
                                              const char *msg, size_t len, const char **why)
{
	size_t pos = 0;
	struct mime_field h;
	int nfrom = 0, rc;

	*why = NULL;
	while ((rc = mime_field_next(msg, len, &pos, &h)) == 1) {
		if (h.name_len != 4 || strncasecmp(h.name, "From", 4) != 0)
			continue;
		nfrom++;
		struct from_check fc = {store, account_id, DELIVER_OK};
		int n = mime_addr_specs(h.value, h.value_len, from_cb, &fc);
		if (fc.verdict != DELIVER_OK) {
			*why = fc.verdict == DELIVER_NOT_OWNED
			           ? "Header From: not owned by authenticated user"
			           : NULL;
			return fc.verdict;
		}
		if (n <= 0) {
			*why = "Header From: has no usable address";
			return DELIVER_NOT_OWNED;
		}
	}
	if (nfrom != 1) {
		*why = nfrom ? "More than one From: header" : "Message has no From: header";
		return DELIVER_NOT_OWNED;
	}
	return DELIVER_OK;
}
