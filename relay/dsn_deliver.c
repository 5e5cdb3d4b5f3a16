/* dsn_deliver: put a DSN where the original sender will find it, inside the
 * writer transaction that records the failure (so a bounce and the end of
 * its queue row commit together: never a lost bounce, never a bounce for a
 * row that is still queued). */
#include "relay/dsn.h"
#include "mime/msgid.h"
#include "store/accounts.h"
#include "store/mail.h"
#include "store/store.h"
#include "store/threads.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int dsn_deliver(struct store_tx *tx, const char *to, const char *data, size_t len)
{
	struct store_rcpt r;
	memset(&r, 0, sizeof r);
	int rc = store_resolve_rcpt(store_tx_reader(tx), to, &r);
	struct store_local_rcpt local = {0};
	struct store_remote_rcpt remote = {0};
	struct store_delivery d = {
	    .data = data, .len = len, .mail_from = "", /* null sender: a DSN is never bounced */
	};
	/* A DSN refers to the message it reports on (References), so it
	 * joins that message's thread. Read here, on the writer thread: DSNs
	 * are built in the job that records the failure. */
	struct mime_thread_ids *tids = NULL;
	struct store_thread_keys keys;
	if (rc == STORE_RCPT_LOCAL) {
		local.account_id = r.account_id;
		local.mailbox_id = r.mailbox_id;
		d.local = &local;
		d.nlocal = 1;
	} else if (rc == STORE_RCPT_REMOTE) {
		remote.rcpt = r.address;
		d.remote = &remote;
		d.nremote = 1;
	} else if (rc == -ENOENT) {
		remote.rcpt = to;
		d.remote = &remote;
		d.nremote = 1;
	} else {
		/* A local domain without such a user, or an alias loop: the
		 * DSN has nowhere to go. Dropping it is what every MTA does
		 * with an undeliverable bounce (it would go to postmaster). */
		return rc < 0 ? rc : -ENOENT;
	}
	if (!d.nlocal)
		return store_deliver(tx, &d);
	if ((tids = malloc(sizeof *tids))) {
		mime_thread_ids_read(data, len, tids);
		keys = (struct store_thread_keys){tids->message_id, tids->parents, tids->nparents};
		d.thread = &keys;
	}
	/* Final delivery records the (null) reverse-path, RFC 5321 4.4. */
	static const char retpath[] = "Return-Path: <>\r\n";
	char *copy = malloc(sizeof retpath - 1 + len);
	if (!copy) {
		free(tids);
		return -ENOMEM;
	}
	memcpy(copy, retpath, sizeof retpath - 1);
	memcpy(copy + sizeof retpath - 1, data, len);
	d.data = copy;
	d.len = sizeof retpath - 1 + len;
	rc = store_deliver(tx, &d);
	free(copy);
	free(tids);
	return rc;
}
