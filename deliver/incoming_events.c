/* incoming_events: a local delivery's "incoming" webhook events (see
 * incoming_events.h). The JSON is relay/webhook_event.c's, like the
 * outbound events'; this file only finds, per receiving account, where
 * the message went. */
#include "deliver/incoming_events.h"
#include "deliver/job_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "relay/webhook_event.h"
#include "store/store.h"
#include "store/webhooks.h"

static int count_hook(void *ud, const struct store_webhook *w)
{
	(void)w;
	(*(size_t *)ud)++;
	return 0;
}

/* Where to look for the Authentication-Results field tern added when its
 * judge ran: the fields the caller put on top (the job's prefix, after
 * Return-Path:), never the message, whose own such fields are the
 * sender's to forge. */
static void authres_of(const struct deliver_job *j, struct webhook_incoming *in)
{
	in->authres = j->local_data + j->retpath_len;
	in->authres_len = j->prefix_len;
}

/* The event of account j->local[first].account_id: its mailboxes are
 * those of the entries from first on with that account (each once). */
static int account_event(struct store_tx *tx, const struct deliver_job *j, size_t first)
{
	int64_t acct = j->local[first].account_id;
	size_t hooks = 0;
	int rc = store_webhooks_incoming(tx, acct, count_hook, &hooks);
	if (rc < 0 || hooks == 0)
		return rc;
	char address[320];
	char **names = calloc(j->nlocal - first, sizeof *names);
	if (!names)
		return -ENOMEM;
	size_t n = 0;
	address[0] = '\0';
	for (size_t i = first; i < j->nlocal && rc >= 0; i++) {
		if (j->local[i].account_id != acct)
			continue;
		bool seen = false;
		for (size_t k = first; k < i && !seen; k++)
			seen = j->local[k].account_id == acct && j->mbids[k] == j->mbids[i];
		if (seen)
			continue;
		char name[1024];
		rc = store_webhook_mailbox_names(store_tx_reader(tx), j->mbids[i], address,
		                                 sizeof address, name, sizeof name);
		if (rc == 0)
			continue; /* cannot be: the entry was just written there */
		if (rc > 0 && !(names[n++] = strdup(name)))
			rc = -ENOMEM;
	}
	if (rc >= 0 && n > 0) {
		struct webhook_incoming in = {
		    .account = address,
		    .mailboxes = (const char *const *)names,
		    .nmailboxes = n,
		    .mail_from = j->mail_from,
		    .data = j->local_data,
		    .len = j->local_len,
		    .received_at = j->internal_date,
		    .spam = j->junk,
		};
		authres_of(j, &in);
		rc = webhook_incoming_record(tx, acct, &in, (int64_t)time(NULL));
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

int deliver_incoming_events(struct store_tx *tx, const struct deliver_job *j)
{
	int added = 0;
	for (size_t i = 0; i < j->nlocal; i++) {
		bool seen = false;
		for (size_t k = 0; k < i && !seen; k++)
			seen = j->local[k].account_id == j->local[i].account_id;
		if (seen)
			continue;
		int rc = account_event(tx, j, i);
		if (rc < 0)
			return rc;
		added += rc;
	}
	return added;
}
