/* notify: the registry behind notify.h.
 *
 * A fixed table of buckets hashed by mailbox id, each a doubly linked list.
 * The interesting part is re-entrancy: a callback (an IMAP session
 * reacting to EXISTS) may close its session and unsubscribe, unsubscribe a
 * neighbour, subscribe something new, or publish again. So during a publish
 * nothing is unlinked or freed: unsubscribe only marks the node dead, and
 * dead nodes are swept when the outermost publish returns. New nodes are
 * pushed at the head of their bucket, behind the walk, and carry the
 * generation they were born in so a nested walk from the head skips them
 * too.
 *
 * An account's subscriptions live in the same table under the key
 * -account_id: mailbox ids are positive, so the two never meet.
 */
#include "store/notify.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>

#define NOTIFY_BUCKETS 1024

struct notify_sub {
	struct notify_sub *prev, *next;
	int64_t mailbox_id; /* the key: a mailbox id, or -account_id */
	notify_cb cb;
	void *ud;
	uint64_t born; /* publish generation at subscribe time */
	bool dead;
};

static struct notify_sub *buckets[NOTIFY_BUCKETS];
static unsigned publish_depth;
static uint64_t generation;
static bool need_sweep;

static size_t bucket_of(int64_t mailbox_id)
{
	uint64_t h = (uint64_t)mailbox_id * 0x9E3779B97F4A7C15ull;
	return (size_t)(h >> 54) % NOTIFY_BUCKETS;
}

static void unlink_free(struct notify_sub *n)
{
	size_t b = bucket_of(n->mailbox_id);
	if (n->prev)
		n->prev->next = n->next;
	else
		buckets[b] = n->next;
	if (n->next)
		n->next->prev = n->prev;
	free(n);
}

static void sweep(void)
{
	for (size_t b = 0; b < NOTIFY_BUCKETS; b++) {
		struct notify_sub *n = buckets[b];
		while (n) {
			struct notify_sub *next = n->next;
			if (n->dead)
				unlink_free(n);
			n = next;
		}
	}
	need_sweep = false;
}

struct notify_sub *notify_subscribe(int64_t mailbox_id, notify_cb cb, void *ud)
{
	struct notify_sub *n = calloc(1, sizeof *n);
	if (!n)
		return NULL;
	size_t b = bucket_of(mailbox_id);
	n->mailbox_id = mailbox_id;
	n->cb = cb;
	n->ud = ud;
	n->born = generation;
	n->next = buckets[b];
	if (n->next)
		n->next->prev = n;
	buckets[b] = n;
	return n;
}

struct notify_sub *notify_subscribe_account(int64_t account_id, notify_cb cb, void *ud)
{
	if (account_id <= 0)
		return NULL;
	return notify_subscribe(-account_id, cb, ud);
}

void notify_unsubscribe(struct notify_sub *h)
{
	if (!h)
		return;
	assert(!h->dead);
	if (publish_depth > 0) {
		h->dead = true;
		need_sweep = true;
		return;
	}
	unlink_free(h);
}

/* Call the live subscribers under key that were there before gen. */
static size_t publish_to(int64_t key, uint64_t gen, const struct notify_event *ev)
{
	size_t called = 0;
	for (struct notify_sub *n = buckets[bucket_of(key)]; n; n = n->next) {
		if (n->dead || n->born > gen || n->mailbox_id != key)
			continue;
		n->cb(n->ud, ev);
		called++;
	}
	return called;
}

size_t notify_publish(const struct notify_event *ev)
{
	size_t called = 0;
	/* Everything subscribed from now on is born in a later generation. */
	uint64_t gen = generation++;
	publish_depth++;
	if (!NOTIFY_ACCOUNT_EVENT(ev->kind) && ev->mailbox_id > 0)
		called += publish_to(ev->mailbox_id, gen, ev);
	if (ev->account_id > 0)
		called += publish_to(-ev->account_id, gen, ev);
	if (--publish_depth == 0 && need_sweep)
		sweep();
	return called;
}

size_t notify_count(int64_t mailbox_id)
{
	size_t c = 0;
	for (struct notify_sub *n = buckets[bucket_of(mailbox_id)]; n; n = n->next)
		if (!n->dead && n->mailbox_id == mailbox_id)
			c++;
	return c;
}

void notify_reset(void)
{
	assert(publish_depth == 0);
	for (size_t b = 0; b < NOTIFY_BUCKETS; b++) {
		struct notify_sub *n = buckets[b];
		while (n) {
			struct notify_sub *next = n->next;
			free(n);
			n = next;
		}
		buckets[b] = NULL;
	}
	need_sweep = false;
}
