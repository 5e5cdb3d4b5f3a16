/* rcpt: recipient resolution for every submitter (rcpt.h says when and
 * why it runs early). Moved from proto/smtp/deliver.c so that JMAP's
 * EmailSubmission resolves exactly as SMTP's RCPT does. */
#include "deliver/rcpt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/accounts.h"
#include "store/entries.h"
#include "store/store.h"

void deliver_rcpt_free(struct deliver_rcpt *r)
{
	free(r->addr);
	free(r->notify);
	free(r->orcpt);
	memset(r, 0, sizeof *r);
}

/* Is the account's quota used up (a read error counts as no)? */
static bool over_quota(struct store *store, int64_t account_id)
{
	struct store_rd *rd = store_reader(store);
	struct store_account a;
	if (store_account_get(rd, account_id, &a) != 1 || a.quota_bytes <= 0)
		return false;
	int64_t used = store_account_usage(rd, account_id);
	return used >= 0 && used >= a.quota_bytes;
}

enum deliver_status deliver_rcpt_resolve(struct store *store, const char *addr, bool may_relay,
                                         const char *notify, const char *orcpt,
                                         struct deliver_rcpt *out)
{
	struct store_rcpt r;
	int rc;

	memset(out, 0, sizeof *out);
	if (!store)
		return DELIVER_STORE_FAIL;
	memset(&r, 0, sizeof r);
	rc = store_resolve_rcpt_cached(store, addr, &r);
	if (rc == STORE_RCPT_LOCAL) {
		if (over_quota(store, r.account_id))
			return DELIVER_MAILBOX_FULL;
		out->account_id = r.account_id;
		out->mailbox_id = r.mailbox_id;
		out->addr = strdup(addr);
	} else if (rc == STORE_RCPT_REMOTE) {
		/* An alias the administrator pointed elsewhere: forwarding is
		 * allowed whoever sends. */
		out->remote = true;
		out->forwarded = true;
		out->addr = strdup(r.address);
	} else if (rc == -ENOENT) {
		if (!may_relay)
			return DELIVER_RELAY_DENIED;
		out->remote = true;
		out->addr = strdup(addr);
	} else if (rc == 0) {
		return DELIVER_NO_SUCH_USER;
	} else if (rc == -ELOOP) {
		return DELIVER_ALIAS_LOOP;
	} else if (rc == -EINVAL) {
		return DELIVER_BAD_ADDRESS;
	} else {
		return DELIVER_STORE_FAIL;
	}
	if (notify)
		out->notify = strdup(notify);
	if (orcpt)
		out->orcpt = strdup(orcpt);
	if (!out->addr || (notify && !out->notify) || (orcpt && !out->orcpt)) {
		deliver_rcpt_free(out);
		return DELIVER_STORE_FAIL;
	}
	return DELIVER_OK;
}
