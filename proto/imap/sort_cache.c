/* sort_cache: sort records per mailbox in memory (see sort_cache.h).
 *
 * Why: SORT and THREAD need a record for every message of the mailbox.
 * Reading 100,000 of them through the entries/records join costs more
 * than the 100 ms a sort of that many may take; Dovecot keeps the same
 * fields in its cache file. Like header_cache.c's, an entry cannot go
 * stale: a mailbox id, its UIDVALIDITY and a UID always name the same
 * bytes, so a record stays right as long as it is kept; mail that arrives
 * later has higher UIDs and is read at the next SORT.
 *
 * Bounds: BUDGET bytes in all, the mailbox sorted least recently evicted
 * first; a mailbox whose records alone exceed the budget is not cached. */
#include "proto/imap/sort_cache.h"
#include "proto/imap/index.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "store/msg_index.h"

#define BUDGET (96u << 20)

struct slot {
	int64_t arrival, size;
	uint32_t off, len; /* in recs; len 0: none */
};

struct imap_sort_cache {
	int64_t mailbox_id;
	uint32_t uidvalidity;
	uint32_t upto; /* every UID <= upto that existed when read is here */
	uint32_t *uids;
	struct slot *slots;
	size_t n, cap;
	struct buf recs;
	uint64_t used;
	struct imap_sort_cache *next;
};

static struct imap_sort_cache *caches;
static uint64_t clock_now;

static size_t cost(const struct imap_sort_cache *c)
{
	return c->recs.cap + c->cap * (sizeof *c->uids + sizeof *c->slots);
}

static size_t total_cost(void)
{
	size_t t = 0;
	for (struct imap_sort_cache *c = caches; c; c = c->next)
		t += cost(c);
	return t;
}

static void drop(struct imap_sort_cache *c)
{
	for (struct imap_sort_cache **p = &caches; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	free(c->uids);
	free(c->slots);
	buf_free(&c->recs);
	free(c);
}

/* Evict the least recently used others until the budget holds. */
static void evict_for(struct imap_sort_cache *keep)
{
	while (total_cost() > BUDGET) {
		struct imap_sort_cache *lru = NULL;
		for (struct imap_sort_cache *c = caches; c; c = c->next)
			if (c != keep && (!lru || c->used < lru->used))
				lru = c;
		if (!lru)
			return;
		drop(lru);
	}
}

struct fill {
	struct imap_sort_cache *c;
	struct store_rd *rd;
	struct buf tmp;
	int error;
};

static int fill_cb(void *ud, const struct store_sort_row *r)
{
	struct fill *f = ud;
	struct imap_sort_cache *c = f->c;
	if (c->n == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 1024;
		uint32_t *u = realloc(c->uids, nc * sizeof *u);
		if (u)
			c->uids = u;
		struct slot *s = u ? realloc(c->slots, nc * sizeof *s) : NULL;
		if (!s)
			return -ENOMEM;
		c->slots = s;
		c->cap = nc;
	}
	const void *rec = r->keys;
	size_t len = r->keys_len;
	if (!rec) { /* not indexed yet: from the header, as the indexer would */
		buf_reset(&f->tmp);
		int e = imap_sort_record_read(f->rd, r->message_id, &f->tmp);
		if (e == -ENOMEM)
			return e;
		rec = e == 0 ? f->tmp.data : NULL;
		len = e == 0 ? f->tmp.len : 0;
	}
	struct slot *s = &c->slots[c->n];
	s->arrival = r->internal_date;
	s->size = r->size;
	s->off = (uint32_t)c->recs.len;
	s->len = rec ? (uint32_t)len : 0;
	if (rec && len && buf_add(&c->recs, rec, len) < 0)
		return -ENOMEM;
	c->uids[c->n++] = r->uid;
	c->upto = r->uid;
	if (cost(c) > BUDGET)
		return -EFBIG;
	return 0;
}

int imap_sort_cache_get(struct store_rd *rd, int64_t mailbox_id, uint32_t uidvalidity,
                        uint32_t upto, size_t slice, struct imap_sort_cache **out)
{
	struct imap_sort_cache *c = caches;
	while (c && !(c->mailbox_id == mailbox_id && c->uidvalidity == uidvalidity))
		c = c->next;
	if (!c) {
		for (struct imap_sort_cache *o = caches; o; o = o->next)
			if (o->mailbox_id == mailbox_id) { /* an older UIDVALIDITY */
				drop(o);
				break;
			}
		c = calloc(1, sizeof *c);
		if (!c)
			return -ENOMEM;
		c->mailbox_id = mailbox_id;
		c->uidvalidity = uidvalidity;
		c->next = caches;
		caches = c;
	}
	c->used = ++clock_now;
	*out = c;
	if (c->upto >= upto)
		return 1;
	struct fill f = {.c = c, .rd = rd};
	int r = store_sort_rows(rd, mailbox_id, c->upto + 1, upto, slice, fill_cb, &f);
	buf_free(&f.tmp);
	if (r < 0) {
		drop(c);
		*out = NULL;
		return r;
	}
	evict_for(c);
	if ((size_t)r < slice || c->upto >= upto) {
		c->upto = upto; /* what is missing below upto was expunged */
		return 1;
	}
	return 0;
}

static const struct imap_sort_cached *entry(const struct imap_sort_cache *c, size_t i,
                                            struct imap_sort_cached *tmp)
{
	const struct slot *s = &c->slots[i];
	tmp->arrival = s->arrival;
	tmp->size = s->size;
	tmp->rec = s->len ? c->recs.data + s->off : NULL;
	tmp->len = s->len;
	return tmp;
}

const struct imap_sort_cached *imap_sort_cache_next(const struct imap_sort_cache *c, uint32_t uid,
                                                    size_t *pos, struct imap_sort_cached *tmp)
{
	size_t i = *pos;
	if (i < c->n && c->uids[i] < uid) {
		/* gallop, then binary search: a sparse result skips far */
		size_t step = 1, lo = i;
		while (i + step < c->n && c->uids[i + step] < uid) {
			lo = i + step;
			step *= 2;
		}
		size_t hi = i + step < c->n ? i + step : c->n;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (c->uids[mid] < uid)
				lo = mid + 1;
			else
				hi = mid;
		}
		i = lo;
	}
	*pos = i;
	if (i >= c->n || c->uids[i] != uid)
		return NULL;
	return entry(c, i, tmp);
}

const char *imap_sort_cache_data(const struct imap_sort_cache *c)
{
	return c->recs.data;
}
