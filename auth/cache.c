/* cache: see cache.h. A chained hash table on the account id, and a
 * doubly linked list in order of use for eviction; entries are allocated
 * as they come, so a large bound costs only the bucket array. */
#include "auth/cache.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

struct cred_entry {
	struct cred_entry *next_in_bucket;
	struct cred_entry *newer, *older; /* use order */
	int64_t account_id;
	uint64_t expires_ms;
	unsigned char digest[CRED_MAC_LEN];
	unsigned char mac[CRED_MAC_LEN];
};

struct cred_cache {
	size_t max_entries;
	uint64_t ttl_ms;
	size_t count;
	size_t nbuckets; /* a power of two */
	struct cred_entry **buckets;
	struct cred_entry *newest, *oldest;
	unsigned char secret[crypto_auth_hmacsha256_KEYBYTES];
};

struct cred_cache *cred_cache_new(size_t max_entries, uint64_t ttl_ms)
{
	if (sodium_init() < 0)
		return NULL;
	struct cred_cache *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->max_entries = ttl_ms ? max_entries : 0;
	c->ttl_ms = ttl_ms;
	c->nbuckets = 16;
	while (c->nbuckets < c->max_entries && c->nbuckets < ((size_t)1 << 24))
		c->nbuckets *= 2;
	c->buckets = calloc(c->nbuckets, sizeof *c->buckets);
	if (!c->buckets) {
		free(c);
		return NULL;
	}
	randombytes_buf(c->secret, sizeof c->secret);
	return c;
}

static size_t bucket_of(const struct cred_cache *c, int64_t account_id)
{
	uint64_t h = (uint64_t)account_id * 0x9E3779B97F4A7C15ull;
	return (size_t)(h >> 32) & (c->nbuckets - 1);
}

static void unlink_use(struct cred_cache *c, struct cred_entry *e)
{
	if (e->newer)
		e->newer->older = e->older;
	else
		c->newest = e->older;
	if (e->older)
		e->older->newer = e->newer;
	else
		c->oldest = e->newer;
	e->newer = e->older = NULL;
}

static void link_newest(struct cred_cache *c, struct cred_entry *e)
{
	e->older = c->newest;
	e->newer = NULL;
	if (c->newest)
		c->newest->newer = e;
	c->newest = e;
	if (!c->oldest)
		c->oldest = e;
}

static struct cred_entry **find_slot(struct cred_cache *c, int64_t account_id)
{
	struct cred_entry **p = &c->buckets[bucket_of(c, account_id)];
	while (*p && (*p)->account_id != account_id)
		p = &(*p)->next_in_bucket;
	return p;
}

static void drop(struct cred_cache *c, struct cred_entry **slot)
{
	struct cred_entry *e = *slot;
	*slot = e->next_in_bucket;
	unlink_use(c, e);
	sodium_memzero(e, sizeof *e);
	free(e);
	c->count--;
}

void cred_cache_free(struct cred_cache **cache)
{
	struct cred_cache *c = *cache;
	if (!c)
		return;
	while (c->oldest)
		drop(c, find_slot(c, c->oldest->account_id));
	free(c->buckets);
	sodium_memzero(c, sizeof *c);
	free(c);
	*cache = NULL;
}

bool cred_cache_enabled(const struct cred_cache *cache)
{
	return cache && cache->max_entries > 0;
}

void cred_cache_mac(const struct cred_cache *cache, int64_t account_id, const char *password,
                    size_t len, unsigned char mac[CRED_MAC_LEN])
{
	unsigned char id[8];
	for (int i = 0; i < 8; i++)
		id[i] = (unsigned char)((uint64_t)account_id >> (56 - 8 * i));
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, cache->secret, sizeof cache->secret);
	crypto_auth_hmacsha256_update(&st, id, sizeof id);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)password, len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof st);
}

void cred_cache_digest(const char *stored_hash, unsigned char digest[CRED_MAC_LEN])
{
	crypto_hash_sha256(digest, (const unsigned char *)stored_hash, strlen(stored_hash));
}

enum cred_verdict cred_cache_check(struct cred_cache *cache, int64_t account_id,
                                   const unsigned char digest[CRED_MAC_LEN],
                                   const unsigned char mac[CRED_MAC_LEN], uint64_t now_ms)
{
	if (!cred_cache_enabled(cache))
		return CRED_MISS;
	struct cred_entry **slot = find_slot(cache, account_id);
	struct cred_entry *e = *slot;
	if (!e)
		return CRED_MISS;
	if (now_ms >= e->expires_ms || sodium_memcmp(e->digest, digest, CRED_MAC_LEN) != 0) {
		drop(cache, slot); /* stale: the password was changed, or time is up */
		return CRED_MISS;
	}
	if (sodium_memcmp(e->mac, mac, CRED_MAC_LEN) != 0)
		return CRED_MISS; /* another password: kept, the caller hashes */
	unlink_use(cache, e);
	link_newest(cache, e);
	return CRED_HIT;
}

void cred_cache_put(struct cred_cache *cache, int64_t account_id,
                    const unsigned char digest[CRED_MAC_LEN], const unsigned char mac[CRED_MAC_LEN],
                    uint64_t now_ms)
{
	if (!cred_cache_enabled(cache))
		return;
	struct cred_entry **slot = find_slot(cache, account_id);
	struct cred_entry *e = *slot;
	if (e) {
		unlink_use(cache, e);
	} else {
		if (cache->count >= cache->max_entries) {
			drop(cache, find_slot(cache, cache->oldest->account_id));
			slot = find_slot(cache, account_id); /* the chain may have changed */
		}
		e = calloc(1, sizeof *e);
		if (!e)
			return; /* not remembered: the next login hashes */
		e->account_id = account_id;
		e->next_in_bucket = NULL;
		*slot = e;
		cache->count++;
	}
	e->expires_ms = now_ms + cache->ttl_ms;
	memcpy(e->digest, digest, CRED_MAC_LEN);
	memcpy(e->mac, mac, CRED_MAC_LEN);
	link_newest(cache, e);
}

void cred_cache_forget(struct cred_cache *cache, int64_t account_id)
{
	if (!cred_cache_enabled(cache))
		return;
	struct cred_entry **slot = find_slot(cache, account_id);
	if (*slot)
		drop(cache, slot);
}

size_t cred_cache_count(const struct cred_cache *cache)
{
	return cache ? cache->count : 0;
}
