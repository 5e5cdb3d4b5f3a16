/* notify: in-process fan-out of committed mailbox changes.
 *
 * A session that has a mailbox selected (IMAP, IDLE or not; POP3) subscribes
 * to its mailbox id. Whoever changes a mailbox publishes an event from its
 * store completion, i.e. after the change is committed, on the loop thread.
 * The registry is keyed by mailbox id; a second store backend spanning
 * several nodes would carry the same events (e.g. PostgreSQL LISTEN/NOTIFY)
 * and call notify_publish() when they arrive.
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

enum notify_kind { NOTIFY_EXISTS, NOTIFY_EXPUNGE, NOTIFY_FLAGS };

struct notify_event {
	int64_t mailbox_id;
	enum notify_kind kind;
	uint32_t uid;
	int64_t modseq;
	uint64_t origin; /* session id that caused it, 0 = none */
};

typedef void (*notify_cb)(void *ud, const struct notify_event *ev);

struct notify_sub;

/* Returns a handle, or NULL on allocation failure. */
struct notify_sub *notify_subscribe(int64_t mailbox_id, notify_cb cb, void *ud);
/* NULL-safe. The handle must not be used afterwards. */
void notify_unsubscribe(struct notify_sub *h);
/* Calls every live subscriber of ev->mailbox_id. Returns how many were called. */
size_t notify_publish(const struct notify_event *ev);
/* Number of live subscriptions for a mailbox (tests, stats). */
size_t notify_count(int64_t mailbox_id);
/* Frees every subscription (shutdown, tests). Not from inside a callback. */
void notify_reset(void);

#endif
