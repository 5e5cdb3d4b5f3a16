/* rcpt_cache: recipient resolutions remembered by the event loop.
 *
 * Why: resolving one RCPT runs three to five small queries (domain,
 * account, alias, +tag folder), each its own read transaction on the
 * reader connection. With the writer committing between them, every one
 * re-takes the WAL read lock (fcntl) and re-reads its pages from the WAL:
 * a third of the loop thread's time while accepting mail.
 *
 * Results (a local mailbox, a forward, unknown user, foreign domain, alias
 * loop, bad syntax) are kept by the exact address given; errors are not.
 * Staleness: triggers bump meta 'directory' on every change to domains,
 * accounts, aliases and mailbox names (schema step 3 -> 4), whichever
 * process makes it, and the cache is emptied when the counter moved. SMTP
 * reads the counter when a transaction starts (store_rcpt_cache_check at
 * MAIL), so a transaction sees every change made before it began: one
 * single-row read instead of three to five lookups per recipient. Other
 * callers see changes within a second.
 */
#include "store/accounts.h"
#include "store/store.h"
#include "store/store_int.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 1024      /* power of two */
#define MAX_ENTRIES 768 /* then start over: the table stays sparse */
#define RECHECK_MS 1000

struct entry {
	int rc;
	struct store_rcpt r;
	char key[]; /* the address as given */
};

struct rcpt_cache {
	int64_t serial; /* meta 'directory' when filled; -1: unknown, cache off */
	uint64_t checked_ms;
	size_t n;
	struct entry *slot[SLOTS];
};

static void clear(struct rcpt_cache *c)
{
	for (size_t i = 0; i < SLOTS; i++) {
		free(c->slot[i]);
		c->slot[i] = NULL;
	}
	c->n = 0;
}

void rcpt_cache_free(struct rcpt_cache *c)
{
	if (!c)
		return;
	clear(c);
	free(c);
}

/* Re-read the counter; empty the cache if it moved (or cannot be read). */
static void check(struct rcpt_cache *c, struct store *s, uint64_t now)
{
	int64_t serial =
	    store_scalar(s->rd.db, "SELECT value FROM meta WHERE key = 'directory' LIMIT ?1", 1);
	if (serial < 0 || serial != c->serial)
		clear(c);
	c->serial = serial;
	c->checked_ms = now;
}

/* The loop's cache, kept in the store, and the loop's clock (0 without a
 * loop). */
static struct rcpt_cache **cache_slot(struct store *s, uint64_t *now_ms)
{
	*now_ms = s->loop ? uv_now(s->loop) : 0;
	return &s->rcpt_cache;
}

static struct rcpt_cache *cache_of(struct store *s, uint64_t *now)
{
	struct rcpt_cache **cp = cache_slot(s, now);
	if (!*cp) {
		*cp = calloc(1, sizeof **cp);
		if (*cp)
			check(*cp, s, *now);
	}
	return *cp;
}

void store_rcpt_cache_check(struct store *s)
{
	uint64_t now;
	struct rcpt_cache **cp = cache_slot(s, &now);
	if (*cp)
		check(*cp, s, now);
}

static size_t hash(const char *key)
{
	uint64_t h = 0xcbf29ce484222325u; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 0x100000001b3u;
	return (size_t)(h ^ (h >> 32));
}

/* The slot holding key, or the empty slot where it would go. */
static struct entry **find(struct rcpt_cache *c, const char *key)
{
	for (size_t i = hash(key);; i++) {
		struct entry **e = &c->slot[i & (SLOTS - 1)];
		if (!*e || strcmp((*e)->key, key) == 0)
			return e;
	}
}

static bool cacheable(int rc)
{
	return rc >= 0 || rc == -ENOENT || rc == -ELOOP || rc == -EINVAL;
}

int store_resolve_rcpt_cached(struct store *s, const char *address, struct store_rcpt *out)
{
	uint64_t now;
	struct rcpt_cache *c = cache_of(s, &now);
	if (c && now - c->checked_ms >= RECHECK_MS)
		check(c, s, now);
	if (!c || c->serial < 0)
		return store_resolve_rcpt(&s->rd, address, out);

	struct entry **e = find(c, address);
	if (*e) {
		*out = (*e)->r;
		return (*e)->rc;
	}
	memset(out, 0, sizeof *out);
	int rc = store_resolve_rcpt(&s->rd, address, out);
	if (!cacheable(rc))
		return rc;
	if (c->n >= MAX_ENTRIES) {
		clear(c);
		e = find(c, address);
	}
	size_t klen = strlen(address) + 1;
	struct entry *n = malloc(sizeof *n + klen);
	if (!n)
		return rc;
	n->rc = rc;
	n->r = *out;
	memcpy(n->key, address, klen);
	*e = n;
	c->n++;
	return rc;
}
