/* rcpt: recipient resolution for every submitter (rcpt.h says when and
 * why it runs early). Moved from proto/smtp/deliver.c so that JMAP's
 * EmailSubmission resolves exactly as SMTP's RCPT does. */
#include "deliver/rcpt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deliver/srs_key.h"
#include "lib/log.h"
#include "mailauth/srs.h"

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

static enum deliver_status resolve(struct store *store, const char *addr, bool may_relay,
                                   const char *notify, const char *orcpt, struct deliver_rcpt *out,
                                   unsigned depth);

/* An SRS address (mailauth/srs.h) at one of our domains: a bounce coming
 * back to a redirect Sieve sent out. A good one goes to the address it
 * decodes to, relayed whoever sends (as an alias's forward is), an SRS1
 * to the first forwarder's SRS0 (which may be ours again, hence depth);
 * a bad hash or an old one is an unknown user (550 5.1.1). 1 when addr
 * is not SRS at one of our domains (resolve as usual). */
static int srs_bounce(struct store *store, const char *addr, const char *notify, const char *orcpt,
                      struct deliver_rcpt *out, unsigned depth, enum deliver_status *st)
{
	char back[SRS_ADDR_MAX];
	enum srs_verdict v =
	    srs_reverse(srs_key_get(), addr, (int64_t)time(NULL), back, sizeof back);
	if (v == SRS_NOT_SRS)
		return 1;
	struct store_rcpt r;
	memset(&r, 0, sizeof r);
	int rc = store_resolve_rcpt_cached(store, addr, &r);
	if (rc == -ENOENT)
		return 1; /* another domain's SRS: the relay decision as usual */
	if (v != SRS_OK || depth >= 2) {
		log_info("srs event=bounce_refused rcpt=%.200s why=%s", addr,
		         v == SRS_EXPIRED    ? "expired"
		         : v == SRS_BAD_HASH ? "bad_hash"
		         : v == SRS_OK       ? "too_deep"
		                             : "malformed");
		*st = DELIVER_NO_SUCH_USER;
		return 0;
	}
	*st = resolve(store, back, true, notify, orcpt, out, depth + 1);
	if (*st == DELIVER_OK && out->remote)
		out->forwarded = true;
	log_info("srs event=bounce_accepted rcpt=%.200s to=%.200s status=%d", addr, back, (int)*st);
	return 0;
}

enum deliver_status deliver_rcpt_resolve(struct store *store, const char *addr, bool may_relay,
                                         const char *notify, const char *orcpt,
                                         struct deliver_rcpt *out)
{
	return resolve(store, addr, may_relay, notify, orcpt, out, 0);
}

static enum deliver_status resolve(struct store *store, const char *addr, bool may_relay,
                                   const char *notify, const char *orcpt, struct deliver_rcpt *out,
                                   unsigned depth)
{
	struct store_rcpt r;
	int rc;
	enum deliver_status st;

	memset(out, 0, sizeof *out);
	if (!store)
		return DELIVER_STORE_FAIL;
	if (srs_bounce(store, addr, notify, orcpt, out, depth, &st) == 0)
		return st;
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
