/* webhook: delivery and incoming-mail webhooks (store/webhooks.h) for the
 * admin API, as
 * `tern webhook add|list|delete|queue|retry` has them: an add makes the
 * signing secret here (shown once, by the caller), a delete takes the
 * webhook's pending events with it, a retry makes one undelivered event
 * due now. */
#include "admin/admin.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tls/rng.h"

bool admin_webhook_events_valid(const char *list)
{
	/* The outbound outcomes (relay/scheduler.c), and mail delivered into
	 * the webhook's account or domain (deliver/incoming_events.c), which
	 * no default list names: a webhook hears of incoming mail only when
	 * asked. */
	static const char *const names[] = {"delivered", "delayed", "bounced", "incoming"};
	enum { NNAMES = sizeof names / sizeof names[0] };
	bool seen[NNAMES] = {false};
	if (!list || !*list || strlen(list) >= STORE_WEBHOOK_EVENTS_MAX)
		return false;
	for (const char *p = list; *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		size_t k = 0;
		while (k < NNAMES && !(strlen(names[k]) == len && strncmp(p, names[k], len) == 0))
			k++;
		if (k == NNAMES || seen[k])
			return false;
		seen[k] = true;
		p += len + (end ? 1 : 0);
		if (end && !*p)
			return false; /* a trailing comma */
	}
	return true;
}

int admin_webhook_secret(char out[STORE_WEBHOOK_SECRET_MAX])
{
	unsigned char rnd[32];
	void *ctx = tls_rng_ctx();
	if (!ctx || tls_rng(ctx, rnd, sizeof rnd) != 0)
		return -1;
	int n = snprintf(out, STORE_WEBHOOK_SECRET_MAX, "whsec_");
	for (size_t i = 0; i < sizeof rnd; i++)
		n += snprintf(out + n, STORE_WEBHOOK_SECRET_MAX - (size_t)n, "%02x", rnd[i]);
	explicit_bzero(rnd, sizeof rnd);
	return 0;
}

int admin_webhook_run(struct store_tx *tx, struct admin_op *op, int64_t now)
{
	int rc;
	switch (op->kind) {
	case ADMIN_WEBHOOK_ADD:
		if (!admin_webhook_events_valid(op->events) || !op->url[0] || !op->secret[0] ||
		    !op->owner[0])
			return -EINVAL;
		return store_webhook_add(tx, op->owner_is_domain ? NULL : op->owner,
		                         op->owner_is_domain ? op->owner : NULL, op->url,
		                         op->secret, op->events, &op->new_id);
	case ADMIN_WEBHOOK_DEL:
		rc = store_webhook_del(tx, op->id);
		break;
	case ADMIN_WEBHOOK_RETRY:
		rc = store_webhook_event_requeue(tx, op->id, now);
		break;
	default:
		return -EINVAL;
	}
	op->changed = rc == 0;
	return rc;
}

int admin_webhooks(struct store_rd *rd, int (*cb)(void *ud, const struct store_webhook *w),
                   void *ud)
{
	return store_webhook_list(rd, cb, ud);
}

int admin_webhook_events(struct store_rd *rd,
                         int (*cb)(void *ud, const struct store_webhook_event *e), void *ud)
{
	return store_webhook_undelivered(rd, cb, ud);
}
