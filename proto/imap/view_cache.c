/* view_cache: SELECT's index of a mailbox in memory (see view_cache.h).
 *
 * Why: SELECT tells EXISTS, the first unseen message and the keywords in
 * use (FLAGS), and gives the session its UID array; read from the store
 * that is a walk of every entry (14 ms for 100,000), where Dovecot reads
 * its index file. Here the loop keeps, per recently selected mailbox, the
 * sorted UIDs, a flags byte per message (\Seen for UNSEEN) and the
 * message's keyword list as an index into the distinct lists in use, with
 * a count of messages per list (so that a keyword whose last message lost
 * it leaves FLAGS, as with a scan).
 *
 * Why it cannot go stale: every change to a mailbox's entries (delivery,
 * DSNs, APPEND, COPY/MOVE in or out, STORE, EXPUNGE, POP3's \Seen and
 * DELE, from this process or another) gives the entries it touches, or
 * the expunged UIDs it records, a new MODSEQ and raises the mailbox's
 * HIGHESTMODSEQ in the same transaction (store/entries.h). The index is
 * valid as of a MODSEQ m: when the mailbox row says HIGHESTMODSEQ == m
 * nothing changed; when it is higher, the entries with MODSEQ > m
 * (store_entries_changed_since, the (mailbox_id, modseq) index) and the
 * UIDs expunged since m (store_expunged_uids) are exactly what changed.
 * Applying them is idempotent (an entry is set to what it is now; an
 * expunged UID never comes back), so rows newer than the HIGHESTMODSEQ
 * the caller read do no harm: they are applied again at the next call. A new UIDVALIDITY
 * (the mailbox deleted and its id reused) starts afresh.
 *
 * Bounds: at most MAX_MAILBOXES indexes and BUDGET bytes, least recently
 * used evicted first; the one just returned stays even when alone over
 * the budget (it is dropped at the next call for another mailbox). */
#include "proto/imap/view_cache.h"
#include "proto/imap/seqset.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "store/entries.h"
#include "store/mail.h"

#define BUDGET (32u << 20)
#define MAX_MAILBOXES 64

/* A distinct keyword list and how many messages have it. */
struct kwlist {
	char *text;
	uint32_t count;
	uint32_t hash;
};

struct imap_view_cache {
	int64_t mailbox_id;
	uint32_t uidvalidity;
	int64_t modseq; /* every change up to this MODSEQ is here */
	uint32_t *uids; /* ascending */
	uint8_t *flags; /* STORE_FLAG_* of uids[i] */
	uint32_t *kw;   /* index into lists; 0 = no keywords */
	size_t n, cap;
	size_t nunseen;
	struct kwlist *lists;          /* [0] is the empty list */
	size_t nlists, caplists, live; /* live: lists[1..] with a count */
	uint32_t *slots;               /* open addressing over lists; 0 = empty */
	size_t nslots;
	size_t textbytes;
	uint64_t used;
	struct imap_view_cache *next;
};

static struct imap_view_cache *caches;
static uint64_t clock_now;

static size_t cost(const struct imap_view_cache *c)
{
	return sizeof *c + c->cap * (sizeof *c->uids + sizeof *c->flags + sizeof *c->kw) +
	       c->caplists * sizeof *c->lists + c->nslots * sizeof *c->slots + c->textbytes;
}

static void drop(struct imap_view_cache *c)
{
	for (struct imap_view_cache **p = &caches; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	for (size_t i = 1; i < c->nlists; i++)
		free(c->lists[i].text);
	free(c->lists);
	free(c->slots);
	free(c->uids);
	free(c->flags);
	free(c->kw);
	free(c);
}

/* Evict the least recently used others until both bounds hold. */
static void evict_for(struct imap_view_cache *keep)
{
	for (;;) {
		size_t total = 0, count = 0;
		struct imap_view_cache *lru = NULL;
		for (struct imap_view_cache *c = caches; c; c = c->next) {
			total += cost(c);
			count++;
			if (c != keep && (!lru || c->used < lru->used))
				lru = c;
		}
		if ((total <= BUDGET && count <= MAX_MAILBOXES) || !lru)
			return;
		drop(lru);
	}
}

static uint32_t hash_text(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static int rehash(struct imap_view_cache *c, size_t nslots)
{
	uint32_t *slots = calloc(nslots, sizeof *slots);
	if (!slots)
		return -ENOMEM;
	for (size_t i = 1; i < c->nlists; i++) {
		size_t j = c->lists[i].hash & (nslots - 1);
		while (slots[j])
			j = (j + 1) & (nslots - 1);
		slots[j] = (uint32_t)i;
	}
	free(c->slots);
	c->slots = slots;
	c->nslots = nslots;
	return 0;
}

/* The index of the keyword list text (exact bytes), added if new. */
static int64_t list_index(struct imap_view_cache *c, const char *text)
{
	if (!text || !*text)
		return 0;
	uint32_t h = hash_text(text);
	if (c->nslots) {
		for (size_t j = h & (c->nslots - 1); c->slots[j]; j = (j + 1) & (c->nslots - 1)) {
			const struct kwlist *l = &c->lists[c->slots[j]];
			if (l->hash == h && strcmp(l->text, text) == 0)
				return c->slots[j];
		}
	}
	if (c->nlists == c->caplists) {
		size_t cap = c->caplists ? c->caplists * 2 : 16;
		struct kwlist *l = realloc(c->lists, cap * sizeof *l);
		if (!l)
			return -ENOMEM;
		c->lists = l;
		c->caplists = cap;
		if (c->nlists == 0)
			c->lists[c->nlists++] = (struct kwlist){0};
	}
	size_t len = strlen(text);
	char *t = malloc(len + 1);
	if (!t)
		return -ENOMEM;
	memcpy(t, text, len + 1);
	size_t i = c->nlists++;
	c->lists[i] = (struct kwlist){.text = t, .hash = h};
	c->textbytes += len + 1;
	if (c->nlists * 2 > c->nslots) {
		if (rehash(c, c->nslots ? c->nslots * 2 : 32) < 0) {
			c->nlists--; /* not findable: take it back */
			c->textbytes -= len + 1;
			free(t);
			return -ENOMEM;
		}
	} else {
		size_t j = h & (c->nslots - 1);
		while (c->slots[j])
			j = (j + 1) & (c->nslots - 1);
		c->slots[j] = (uint32_t)i;
	}
	return (int64_t)i;
}

static void count_message(struct imap_view_cache *c, uint8_t flags, uint32_t kw, int by)
{
	if (!(flags & STORE_FLAG_SEEN))
		c->nunseen += (size_t)by;
	if (kw) {
		struct kwlist *l = &c->lists[kw];
		if (by > 0 && l->count++ == 0)
			c->live++;
		else if (by < 0 && --l->count == 0)
			c->live--;
	}
}

static int reserve(struct imap_view_cache *c, size_t need)
{
	if (need <= c->cap)
		return 0;
	size_t cap = c->cap ? c->cap : 1024;
	while (cap < need)
		cap *= 2;
	uint32_t *u = realloc(c->uids, cap * sizeof *u);
	if (u)
		c->uids = u;
	uint8_t *f = u ? realloc(c->flags, cap * sizeof *f) : NULL;
	if (f)
		c->flags = f;
	uint32_t *k = f ? realloc(c->kw, cap * sizeof *k) : NULL;
	if (!k)
		return -ENOMEM;
	c->kw = k;
	c->cap = cap;
	return 0;
}

/* A cold read: every entry, in UID order. */
static int append_entry(void *ud, const struct store_entry *e)
{
	struct imap_view_cache *c = ud;
	int64_t kw = list_index(c, e->keywords);
	if (kw < 0 || reserve(c, c->n + 1) < 0)
		return -ENOMEM;
	if (c->n && e->uid <= c->uids[c->n - 1])
		return -EIO; /* not in UID order */
	c->uids[c->n] = e->uid;
	c->flags[c->n] = (uint8_t)(e->flags & STORE_FLAG_ALL);
	c->kw[c->n] = (uint32_t)kw;
	count_message(c, c->flags[c->n], c->kw[c->n], 1);
	c->n++;
	return 0;
}

struct added {
	uint32_t uid, kw;
	uint8_t flags;
};

struct delta {
	struct imap_view_cache *c;
	struct added *v;
	size_t n, cap;
};

/* An entry changed or added since the index's MODSEQ (each UID once:
 * one query, keyed by UID). */
static int apply_entry(void *ud, const struct store_entry *e)
{
	struct delta *d = ud;
	struct imap_view_cache *c = d->c;
	int64_t kw = list_index(c, e->keywords);
	if (kw < 0)
		return -ENOMEM;
	uint8_t flags = (uint8_t)(e->flags & STORE_FLAG_ALL);
	size_t i = imap_uids_lower_bound(c->uids, c->n, e->uid);
	if (i < c->n && c->uids[i] == e->uid) {
		count_message(c, c->flags[i], c->kw[i], -1);
		c->flags[i] = flags;
		c->kw[i] = (uint32_t)kw;
		count_message(c, flags, (uint32_t)kw, 1);
		return 0;
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		struct added *v = realloc(d->v, cap * sizeof *v);
		if (!v)
			return -ENOMEM;
		d->v = v;
		d->cap = cap;
	}
	d->v[d->n++] = (struct added){.uid = e->uid, .kw = (uint32_t)kw, .flags = flags};
	return 0;
}

static int cmp_added(const void *a, const void *b)
{
	uint32_t x = ((const struct added *)a)->uid, y = ((const struct added *)b)->uid;
	return x < y ? -1 : x > y;
}

/* New UIDs into the sorted arrays: appended in the usual case (new mail
 * has higher UIDs than any there), merged otherwise. */
static int insert_added(struct imap_view_cache *c, struct added *v, size_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof *v, cmp_added);
	if (reserve(c, c->n + n) < 0)
		return -ENOMEM;
	/* merge from the back: the arrays have room for both */
	size_t i = c->n, j = n, w = c->n + n;
	while (j > 0) {
		if (i > 0 && c->uids[i - 1] > v[j - 1].uid) {
			i--;
			w--;
			c->uids[w] = c->uids[i];
			c->flags[w] = c->flags[i];
			c->kw[w] = c->kw[i];
		} else {
			j--;
			w--;
			c->uids[w] = v[j].uid;
			c->flags[w] = v[j].flags;
			c->kw[w] = v[j].kw;
			count_message(c, v[j].flags, v[j].kw, 1);
		}
	}
	c->n += n;
	return 0;
}

/* Expunged UIDs (ascending) out of the arrays, in one pass. */
static void remove_expunged(struct imap_view_cache *c, const uint32_t *gone, size_t n)
{
	if (!n)
		return;
	size_t w = imap_uids_lower_bound(c->uids, c->n, gone[0]), k = 0;
	for (size_t r = w; r < c->n; r++) {
		uint32_t u = c->uids[r];
		while (k < n && gone[k] < u)
			k++;
		if (k < n && gone[k] == u) {
			count_message(c, c->flags[r], c->kw[r], -1);
			continue;
		}
		c->uids[w] = u;
		c->flags[w] = c->flags[r];
		c->kw[w] = c->kw[r];
		w++;
	}
	c->n = w;
}

static int update(struct store_rd *rd, struct imap_view_cache *c)
{
	struct delta d = {.c = c};
	int r = store_entries_changed_since(rd, c->mailbox_id, c->modseq, apply_entry, &d);
	if (r >= 0)
		r = insert_added(c, d.v, d.n);
	free(d.v);
	if (r < 0)
		return r;
	/* after the entries: an entry read above and expunged since is
	 * among these (an expunge recorded later is read next time) */
	uint32_t *gone = NULL;
	size_t ngone = 0;
	r = store_expunged_uids(rd, c->mailbox_id, c->modseq, 1, UINT32_MAX, &gone, &ngone);
	if (r >= 0)
		remove_expunged(c, gone, ngone);
	free(gone);
	return r < 0 ? r : 0;
}

int imap_view_cache_get(struct store_rd *rd, int64_t mailbox_id, uint32_t uidvalidity,
                        int64_t modseq, struct imap_view_cache **out)
{
	*out = NULL;
	struct imap_view_cache *c = caches;
	while (c && c->mailbox_id != mailbox_id)
		c = c->next;
	/* a new UIDVALIDITY; a MODSEQ going back (cannot happen); keyword
	 * lists no message has any more outnumbering those in use: afresh */
	if (c &&
	    (c->uidvalidity != uidvalidity || c->modseq > modseq || c->nlists > 2 * c->live + 64)) {
		drop(c);
		c = NULL;
	}
	int r = 0;
	if (!c) {
		if (!(c = calloc(1, sizeof *c)))
			return -ENOMEM;
		c->mailbox_id = mailbox_id;
		c->uidvalidity = uidvalidity;
		c->next = caches;
		caches = c;
		r = store_entries_list_flags(rd, mailbox_id, append_entry, c);
	} else if (c->modseq < modseq) {
		r = update(rd, c);
	}
	if (r < 0) { /* half applied, perhaps: forget it */
		drop(c);
		return r;
	}
	c->modseq = modseq;
	c->used = ++clock_now;
	evict_for(c);
	*out = c;
	return 0;
}

const uint32_t *imap_view_cache_uids(const struct imap_view_cache *c, size_t *n)
{
	*n = c->n;
	return c->uids;
}

uint32_t imap_view_cache_first_unseen(const struct imap_view_cache *c)
{
	if (!c->nunseen)
		return 0;
	for (size_t i = 0; i < c->n; i++)
		if (!(c->flags[i] & STORE_FLAG_SEEN))
			return (uint32_t)i + 1;
	return 0;
}

void imap_view_cache_keywords(const struct imap_view_cache *c,
                              void (*cb)(void *ud, const char *list), void *ud)
{
	if (!c->live)
		return;
	bool *told = calloc(c->nlists, sizeof *told);
	size_t left = c->live;
	for (size_t i = 0; i < c->n && left; i++) {
		uint32_t k = c->kw[i];
		if (!k || (told && told[k]))
			continue;
		if (told) {
			told[k] = true;
			left--;
		}
		cb(ud, c->lists[k].text);
	}
	free(told);
}

void imap_view_cache_forget(int64_t mailbox_id)
{
	for (struct imap_view_cache *c = caches; c; c = c->next)
		if (c->mailbox_id == mailbox_id) {
			drop(c);
			return;
		}
}

void imap_view_cache_clear(void)
{
	while (caches)
		drop(caches);
}
