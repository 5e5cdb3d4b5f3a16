/* notify: in-process fan-out of committed mailbox changes.
 *
 * A session that has a mailbox selected (IMAP, IDLE or not; POP3) subscribes
 * to its mailbox id. Whoever changes a mailbox publishes an event from its
 * store completion, i.e. after the change is committed, on the loop thread.
 * The registry is keyed by mailbox id; a second store backend spanning
 * several nodes would carry the same events (e.g. PostgreSQL LISTEN/NOTIFY)
 * and call notify_publish() when they arrive.
 *
 * A subscription is to one mailbox (its message events) or to an account
 * (notify_subscribe_account: what IMAP NOTIFY needs). An account's
 * subscribers get its mailbox-list events (a mailbox created, deleted or
 * renamed; a subscription changed; an annotation changed), which no
 * mailbox subscriber ever sees, and the message events of its mailboxes
 * whose publisher named the account (account_id set).
 *
 * Loop thread only: no locking. Callbacks may subscribe, unsubscribe (any
 * handle, including their own) and publish from inside a callback; a
 * subscription made during a publish does not see the event being
 * published, an unsubscribed one does not see it if not reached yet.
 */
#ifndef TERN_NOTIFY_H
#define TERN_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

enum notify_kind {
	/* a mailbox's messages: to its subscribers, and its account's */
	NOTIFY_EXISTS,
	NOTIFY_EXPUNGE,
	NOTIFY_FLAGS,
	/* the account's mailbox list: to the account's subscribers only */
	NOTIFY_MAILBOX_CREATED, /* name */
	NOTIFY_MAILBOX_DELETED, /* name */
	NOTIFY_MAILBOX_RENAMED, /* old_name -> name (children moved too) */
	NOTIFY_SUBSCRIPTION,    /* name subscribed or unsubscribed */
	NOTIFY_METADATA,        /* name's annotations (name "": the server's) */
};

struct notify_event {
	int64_t mailbox_id; /* 0 for an account event without one */
	enum notify_kind kind;
	uint32_t uid;
	int64_t modseq;
	uint64_t origin;      /* session id that caused it, 0 = none */
	int64_t account_id;   /* the mailbox's account, 0 = not said */
	const char *name;     /* mailbox-list events: valid during the call */
	const char *old_name; /* NOTIFY_MAILBOX_RENAMED */
	const char *entry;    /* NOTIFY_METADATA: the entry set or deleted */
};

#define NOTIFY_ACCOUNT_EVENT(kind) ((kind) >= NOTIFY_MAILBOX_CREATED)

typedef void (*notify_cb)(void *ud, const struct notify_event *ev);

struct notify_sub;

/* Returns a handle, or NULL on allocation failure. */
struct notify_sub *notify_subscribe(int64_t mailbox_id, notify_cb cb, void *ud);
/* Every event of an account (see the top). Returns NULL on allocation
 * failure. Unsubscribe with notify_unsubscribe(). */
struct notify_sub *notify_subscribe_account(int64_t account_id, notify_cb cb, void *ud);
/* NULL-safe. The handle must not be used afterwards. */
void notify_unsubscribe(struct notify_sub *h);
/* Calls every live subscriber of ev->mailbox_id (message events) and of
 * ev->account_id (when set). Returns how many were called. */
size_t notify_publish(const struct notify_event *ev);
/* Number of live subscriptions for a mailbox (tests, stats). */
size_t notify_count(int64_t mailbox_id);
/* Frees every subscription (shutdown, tests). Not from inside a callback. */
void notify_reset(void);

#endif
