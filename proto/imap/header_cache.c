/* header_cache: header texts and Date: days for SEARCH, per mailbox.
 *
 * Why: SQLite drops a connection's whole page cache whenever another
 * connection has committed, and in a busy server something commits
 * between almost any two commands. A header SEARCH (FROM, SUBJECT, HEADER,
 * SENTSINCE...) of a 200-message mailbox then read some 300 pages of
 * imap_message_info back with pread(2): half of the loop thread's time in
 * the IMAP benchmark's mix. Dovecot keeps such fields in its cache file
 * for the same reason.
 *
 * Why it cannot go stale: a mailbox id with its UIDVALIDITY and a UID
 * always name the same bytes (messages are immutable, UIDs are never
 * reused, and a mailbox that is deleted and created again gets a new
 * UIDVALIDITY). So an entry is right for as long as it is kept; an
 * expunged message's entry is merely unused. New mail has UIDs above all
 * cached ones and is read when a SEARCH next asks.
 *
 * Bounds: mailboxes of up to IMAP_HEADER_CACHE_MAX messages (bigger ones
 * use the FTS prefilter, cmd_search.c), and BUDGET bytes in all, evicting
 * the mailbox least recently searched.
 *
 * FETCH of header fields (every mail client's message list) reads and
 * parses the start of each message for the same reason; the raw header
 * bytes are kept too, by the same key, in a direct-mapped table whose
 * size bounds it (at most 32 MiB, a few MiB for typical headers).
 */
#include "proto/imap/header_cache.h"
#include "proto/imap/seqset.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "store/entries.h"
#include "proto/imap/index.h"

#define BUDGET (32u << 20)

struct imap_header_cache {
	int64_t mailbox_id;
	uint32_t uidvalidity;
	uint32_t upto; /* every UID <= upto that existed when read is here */
	/* uids[i] (ascending, seqset's sorted-UID helpers) is items[i] */
	uint32_t *uids;
	struct imap_header_entry *items;
	size_t n, ucap, icap;
	size_t bytes;
	uint64_t used; /* LRU clock */
	struct imap_header_cache *next;
};

static struct imap_header_cache *caches;
static size_t total_bytes;
static uint64_t clock_now;

struct raw_slot {
	int64_t mailbox_id;
	uint32_t uidvalidity, uid;
	char *data; /* NULL: empty */
	size_t len;
};
static struct raw_slot *raw_slots;

static struct raw_slot *raw_slot_of(int64_t mailbox_id, uint32_t uidvalidity, uint32_t uid)
{
	uint64_t h = (uint64_t)mailbox_id * 0x9e3779b97f4a7c15u ^ uidvalidity;
	h = (h ^ uid) * 0xbf58476d1ce4e5b9u;
	return &raw_slots[(h ^ (h >> 31)) & (IMAP_RAW_HEADER_SLOTS - 1)];
}

const char *imap_raw_header_get(int64_t mailbox_id, uint32_t uidvalidity, uint32_t uid, size_t *len)
{
	if (!raw_slots)
		return NULL;
	struct raw_slot *r = raw_slot_of(mailbox_id, uidvalidity, uid);
	if (!r->data || r->mailbox_id != mailbox_id || r->uidvalidity != uidvalidity ||
	    r->uid != uid)
		return NULL;
	*len = r->len;
	return r->data;
}

void imap_raw_header_put(int64_t mailbox_id, uint32_t uidvalidity, uint32_t uid, const char *data,
                         size_t len)
{
	if (len > IMAP_RAW_HEADER_MAX)
		return;
	if (!raw_slots && !(raw_slots = calloc(IMAP_RAW_HEADER_SLOTS, sizeof *raw_slots)))
		return;
	char *copy = malloc(len ? len : 1);
	if (!copy)
		return;
	memcpy(copy, data, len);
	struct raw_slot *r = raw_slot_of(mailbox_id, uidvalidity, uid);
	free(r->data);
	*r = (struct raw_slot){mailbox_id, uidvalidity, uid, copy, len};
}

static void drop(struct imap_header_cache **link)
{
	struct imap_header_cache *h = *link;
	*link = h->next;
	for (size_t i = 0; i < h->n; i++)
		free((char *)h->items[i].headers);
	free(h->uids);
	free(h->items);
	total_bytes -= h->bytes;
	free(h);
}

/* Drops every cache matching (the given mailbox id, and h if not NULL). */
static void drop_where(int64_t mailbox_id, const struct imap_header_cache *h)
{
	for (struct imap_header_cache **l = &caches; *l;)
		if ((*l)->mailbox_id == mailbox_id && (!h || *l == h))
			drop(l);
		else
			l = &(*l)->next;
}

/* Evict least recently used caches (never keep) until within budget. */
static void evict(const struct imap_header_cache *keep)
{
	while (total_bytes > BUDGET) {
		struct imap_header_cache **oldest = NULL;
		for (struct imap_header_cache **l = &caches; *l; l = &(*l)->next)
			if (*l != keep && (!oldest || (*l)->used < (*oldest)->used))
				oldest = l;
		if (!oldest)
			return;
		drop(oldest);
	}
}

struct fill {
	struct store_rd *rd;
	struct imap_header_cache *h;
};

static int fill_cb(void *ud, const struct store_entry *e)
{
	struct fill *f = ud;
	struct imap_header_cache *h = f->h;
	if (h->n == h->icap) {
		size_t cap = h->icap ? h->icap * 2 : 64;
		struct imap_header_entry *items = realloc(h->items, cap * sizeof *items);
		if (!items)
			return -ENOMEM;
		h->items = items;
		h->icap = cap;
	}
	struct imap_header_entry *it = &h->items[h->n];
	it->sent_day = e->sent_day;
	char *headers = NULL;
	if (e->indexed) {
		headers = strdup(e->headers ? e->headers : "");
		if (!headers)
			return -ENOMEM;
	} else {
		/* Not indexed yet: decoded from the message as its info row
		 * will be (imap_header_info). */
		int r = imap_header_info(f->rd, e->message_id, &headers, &it->sent_day);
		if (r < 0)
			return r;
	}
	if (!imap_uids_push(&h->uids, &h->n, &h->ucap, e->uid)) {
		free(headers);
		return -ENOMEM;
	}
	it->headers = headers;
	size_t bytes = sizeof *it + sizeof e->uid + strlen(headers) + 1;
	h->bytes += bytes;
	total_bytes += bytes;
	h->upto = e->uid;
	return 0;
}

struct imap_header_cache *imap_header_cache_get(struct store_rd *rd, int64_t mailbox_id,
                                                uint32_t uidvalidity, uint32_t count)
{
	if (count > IMAP_HEADER_CACHE_MAX)
		return NULL;
	struct imap_header_cache **link = &caches;
	while (*link && ((*link)->mailbox_id != mailbox_id || (*link)->uidvalidity != uidvalidity))
		link = &(*link)->next;
	struct imap_header_cache *h = *link;
	if (!h) {
		/* Another UIDVALIDITY of this mailbox id is gone for good. */
		drop_where(mailbox_id, NULL);
		h = calloc(1, sizeof *h);
		if (!h)
			return NULL;
		h->mailbox_id = mailbox_id;
		h->uidvalidity = uidvalidity;
		h->bytes = sizeof *h;
		total_bytes += h->bytes;
		h->next = caches;
		caches = h;
	}
	h->used = ++clock_now;
	if (h->upto < UINT32_MAX) {
		struct fill f = {.rd = rd, .h = h};
		int r = store_entries_range(rd, mailbox_id, h->upto + 1, UINT32_MAX, 0,
		                            STORE_COLS_HEADERS, fill_cb, &f);
		if (r < 0)
			return NULL; /* what was read is right: entries come in UID order */
		if (h->n > IMAP_HEADER_CACHE_MAX * 2) {
			/* Grown past what is kept (the view had been smaller). */
			drop_where(mailbox_id, h);
			return NULL;
		}
	}
	evict(h);
	return h;
}

const struct imap_header_entry *imap_header_cache_find(const struct imap_header_cache *h,
                                                       uint32_t uid)
{
	size_t i = imap_uids_lower_bound(h->uids, h->n, uid);
	return i < h->n && h->uids[i] == uid ? &h->items[i] : NULL;
}
