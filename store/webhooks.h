/* webhooks: delivery webhooks (table `webhooks`) and the events waiting to
 * be POSTed to them (table `webhook_events`, schema 21).
 *
 * A webhook belongs to one account or one domain and names the events it
 * wants ("delivered,delayed,bounced", and "incoming" when asked). The
 * queue's record job adds one event per outcome in its own transaction
 * (store_webhook_event_add), a local delivery one per receiving account in
 * the delivery's (store_webhooks_incoming); the runner reads the due ones
 * (store_webhook_due) and marks each delivered, retried later or failed. The secret is kept as
 * given: it signs every POST, so unlike a token's it must be readable.
 *
 * Return convention as in store.h. */
#ifndef TERN_STORE_WEBHOOKS_H
#define TERN_STORE_WEBHOOKS_H

#include <stddef.h>
#include <stdint.h>

struct store_rd;
struct store_tx;

#define STORE_WEBHOOK_URL_MAX 2048
#define STORE_WEBHOOK_SECRET_MAX 128
#define STORE_WEBHOOK_EVENTS_MAX 64
#define STORE_WEBHOOK_ERROR_MAX 256

struct store_webhook {
	int64_t id;
	int64_t account_id, domain_id; /* exactly one is non-zero */
	char owner[320];               /* the account's address or the domain's name */
	char url[STORE_WEBHOOK_URL_MAX];
	char secret[STORE_WEBHOOK_SECRET_MAX];
	char events[STORE_WEBHOOK_EVENTS_MAX];
	int64_t created;
};

/* A webhook of the account with address account, or of the domain named
 * domain (exactly one non-NULL). 0 (id set), -ENOENT (no such account or
 * domain), -EINVAL (both or neither, a field too long). */
int store_webhook_add(struct store_tx *tx, const char *account, const char *domain, const char *url,
                      const char *secret, const char *events, int64_t *id);
/* 0, or -ENOENT. Its events go with it. */
int store_webhook_del(struct store_tx *tx, int64_t id);
/* Every webhook, by id; callback as in accounts.h. */
int store_webhook_list(struct store_rd *rd, int (*cb)(void *ud, const struct store_webhook *w),
                       void *ud);
/* The webhooks that hear of mail sent by `sender`: the account with that
 * address and the domain of its domain part. Callback as in accounts.h. */
int store_webhooks_of_sender(struct store_rd *rd, const char *sender,
                             int (*cb)(void *ud, const struct store_webhook *w), void *ud);

/* Incoming mail (the "incoming" event): the webhooks that name "incoming"
 * in their events and belong to the account with id account_id or to its
 * domain, by id. Callback as in accounts.h. In a write transaction only
 * (the delivery's): whether any webhook at all wants "incoming" is kept in
 * the store and read again only when another connection committed (the
 * write connection's PRAGMA data_version moved) or this process added a
 * webhook, so most deliveries run no query of the webhooks. */
int store_webhooks_incoming(struct store_tx *tx, int64_t account_id,
                            int (*cb)(void *ud, const struct store_webhook *w), void *ud);
/* What an incoming event says of a mailbox entry: the address of the
 * account that owns mailbox_id and the mailbox's name. 1 (both set,
 * truncated to their sizes), 0 (no such mailbox), or negative. */
int store_webhook_mailbox_names(struct store_rd *rd, int64_t mailbox_id, char *address,
                                size_t address_len, char *mailbox, size_t mailbox_len);

/* An event for webhook_id, due now. 0 or negative. */
int store_webhook_event_add(struct store_tx *tx, int64_t webhook_id, const char *json, int64_t now);

struct store_webhook_event {
	int64_t id;
	int64_t webhook_id;
	const char *json; /* valid during the callback */
	const char *url;
	const char *secret;
	const char *last_error; /* "" when none */
	int64_t created, attempts, next_attempt, delivered_at, failed_at;
};
/* Events neither delivered nor failed, next_attempt <= now, oldest first,
 * at most limit. Callback as in accounts.h. */
int store_webhook_due(struct store_rd *rd, int64_t now, int limit,
                      int (*cb)(void *ud, const struct store_webhook_event *e), void *ud);
/* Every event not delivered (pending and failed), by id, for the CLI. */
int store_webhook_undelivered(struct store_rd *rd,
                              int (*cb)(void *ud, const struct store_webhook_event *e), void *ud);
/* The POST got a 2xx: delivered at now; delivered rows older than a week
 * are deleted as new ones are marked. 0, or -ENOENT. */
int store_webhook_event_delivered(struct store_tx *tx, int64_t id, int64_t now);
/* The POST failed: one more attempt, next try at next (0: give up, failed
 * at now), with the error. 0, or -ENOENT. */
int store_webhook_event_retry(struct store_tx *tx, int64_t id, int64_t now, int64_t next,
                              const char *error);
/* `tern webhook retry ID`: an undelivered event is due again now (a
 * failed one too). 0, or -ENOENT. */
int store_webhook_event_requeue(struct store_tx *tx, int64_t id, int64_t now);

#endif
