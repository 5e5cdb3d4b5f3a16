/* email_query_cache: recent Email/query results by query and state (see
 * email_query_cache.h). A handful of slots searched linearly: a client
 * pages through one or two lists at a time. */
#include "proto/jmap/email_query_cache.h"

#include <stdlib.h>
#include <string.h>

struct slot {
	int64_t account_id;
	char *key;
	char *state;
	int64_t *ids;
	size_t n;
	uint64_t used; /* the clock when last found or put */
};

static struct slot slots[JMAP_QUERY_CACHE_SLOTS];
static uint64_t clock_now;

static void slot_free(struct slot *s)
{
	free(s->key);
	free(s->state);
	free(s->ids);
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
	if (n > JMAP_QUERY_CACHE_MAX_IDS) {
		free(ids);
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
		return;
	}
	victim->account_id = account_id;
	victim->ids = ids;
	victim->n = n;
	victim->used = ++clock_now;
}

void jmap_query_cache_clear(void)
{
	for (size_t i = 0; i < JMAP_QUERY_CACHE_SLOTS; i++)
		slot_free(&slots[i]);
}
