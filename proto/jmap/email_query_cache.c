/* email_query_cache: recent Email/query results by query and state (see
 * email_query_cache.h). A handful of slots searched linearly: a client
 * pages through one or two lists at a time. */
#include "proto/jmap/email_query_cache.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct slot {
	int64_t account_id;
	char *key;
	char *state;
	int64_t *ids;
	size_t n;
	uint64_t used; /* the clock when last found or put */
	bool has_basis;
	struct jmap_query_basis basis;
};

static struct slot slots[JMAP_QUERY_CACHE_SLOTS];
static uint64_t clock_now;
uint64_t jmap_query_advanced;
uint64_t jmap_query_by_date;

static void slot_free(struct slot *s)
{
	free(s->key);
	free(s->state);
	free(s->ids);
	free(s->basis.keys);
	free(s->basis.uids);
	memset(s, 0, sizeof *s);
}

const int64_t *jmap_query_cache_get(int64_t account_id, const char *key, const char *state,
                                    size_t *n)
{
	for (size_t i = 0; i < JMAP_QUERY_CACHE_SLOTS; i++) {
		struct slot *s = &slots[i];
		if (s->key && s->account_id == account_id && !strcmp(s->key, key) &&
		    !strcmp(s->state, state)) {
			s->used = ++clock_now;
			*n = s->n;
			return s->ids;
		}
	}
	return NULL;
}

void jmap_query_cache_put(int64_t account_id, const char *key, const char *state, int64_t *ids,
                          size_t n)
{
	jmap_query_cache_put_basis(account_id, key, state, ids, n, NULL);
}

const int64_t *jmap_query_cache_latest(int64_t account_id, const char *key, size_t *n,
                                       const struct jmap_query_basis **basis)
{
	struct slot *best = NULL;
	for (size_t i = 0; i < JMAP_QUERY_CACHE_SLOTS; i++) {
		struct slot *s = &slots[i];
		if (s->key && s->has_basis && s->account_id == account_id && !strcmp(s->key, key) &&
		    (!best || s->used > best->used))
			best = s;
	}
	if (!best)
		return NULL;
	best->used = ++clock_now;
	*n = best->n;
	*basis = &best->basis;
	return best->ids;
}

static void basis_free(struct jmap_query_basis *b)
{
	if (b) {
		free(b->keys);
		free(b->uids);
	}
}

void jmap_query_cache_put_basis(int64_t account_id, const char *key, const char *state,
                                int64_t *ids, size_t n, struct jmap_query_basis *basis)
{
	if (n > JMAP_QUERY_CACHE_MAX_IDS) {
		free(ids);
		basis_free(basis);
		return;
	}
	/* The same query in the same state, or else a free slot, or else the
	 * least recently used. Older states of a query stay while they are
	 * used: Email/queryChanges works out its changes from them. */
	struct slot *victim = &slots[0];
	for (size_t i = 0; i < JMAP_QUERY_CACHE_SLOTS; i++) {
		struct slot *s = &slots[i];
		if (s->key && s->account_id == account_id && !strcmp(s->key, key) &&
		    !strcmp(s->state, state)) {
			victim = s;
			break;
		}
		if (!s->key || (victim->key && s->used < victim->used))
			victim = s;
	}
	slot_free(victim);
	victim->key = strdup(key);
	victim->state = strdup(state);
	if (!victim->key || !victim->state) {
		slot_free(victim);
		free(ids);
		basis_free(basis);
		return;
	}
	victim->account_id = account_id;
	victim->ids = ids;
	victim->n = n;
	if (basis) {
		victim->has_basis = true;
		victim->basis = *basis;
	}
	victim->used = ++clock_now;
}

void jmap_query_cache_clear(void)
{
	for (size_t i = 0; i < JMAP_QUERY_CACHE_SLOTS; i++)
		slot_free(&slots[i]);
}
