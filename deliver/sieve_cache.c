/* sieve_cache: compiled scripts by (account, updated) (see sieve_cache.h).
 *
 * Why a script that no longer compiles is remembered too: the CLI refuses
 * to store one, but a newer tern with tighter limits may meet an old
 * script; it then runs none (implicit keep) and says so once per version,
 * not at every message. */
#include "deliver/sieve_cache.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "sieve/sieve.h"
#include "store/sieve.h"

struct sieve_cached {
	int64_t account_id;
	int64_t updated;
	struct sieve_script *script; /* NULL: does not compile */
	unsigned refs;               /* the slot's own, plus one per taker */
	uint64_t used;               /* last use, for eviction */
};

static struct sieve_cached *slots[SIEVE_CACHE_SLOTS];
static uint64_t clock_tick;

void sieve_cache_drop(struct sieve_cached *c)
{
	if (!c || --c->refs > 0)
		return;
	sieve_script_free(&c->script);
	free(c);
}

const struct sieve_script *sieve_cached_script(const struct sieve_cached *c)
{
	return c ? c->script : NULL;
}

/* The slot for account_id: its own, else an empty one, else the least
 * recently used. */
static size_t slot_for(int64_t account_id)
{
	size_t empty = SIEVE_CACHE_SLOTS, oldest = 0;
	for (size_t i = 0; i < SIEVE_CACHE_SLOTS; i++) {
		if (!slots[i]) {
			if (empty == SIEVE_CACHE_SLOTS)
				empty = i;
			continue;
		}
		if (slots[i]->account_id == account_id)
			return i;
		if (slots[oldest] && slots[i]->used < slots[oldest]->used)
			oldest = i;
	}
	return empty < SIEVE_CACHE_SLOTS ? empty : oldest;
}

static struct sieve_cached *compile_active(struct store_rd *rd, int64_t account_id, int *rc)
{
	char *text = NULL;
	size_t len = 0;
	struct store_sieve_script info;
	*rc = store_sieve_get(rd, account_id, NULL, &text, &len, &info);
	if (*rc <= 0)
		return NULL;
	struct sieve_cached *c = calloc(1, sizeof *c);
	if (!c) {
		free(text);
		*rc = -ENOMEM;
		return NULL;
	}
	c->account_id = account_id;
	c->updated = info.updated;
	c->refs = 1;
	char err[256];
	int r = sieve_compile(text, len, NULL, &c->script, err, sizeof err);
	free(text);
	if (r == -ENOMEM) {
		free(c);
		*rc = -ENOMEM;
		return NULL;
	}
	if (r == 0)
		log_info("sieve event=compiled account=%lld script=\"%s\" version=%lld",
		         (long long)account_id, info.name, (long long)info.updated);
	if (r < 0)
		log_warn("sieve event=script_not_compiled account=%lld script=\"%s\" err=\"%s\" "
		         "note=implicit_keep",
		         (long long)account_id, info.name, err);
	*rc = 1;
	return c;
}

int sieve_cache_take(struct store_rd *rd, int64_t account_id, struct sieve_cached **out)
{
	*out = NULL;
	int64_t updated = 0;
	int rc = store_sieve_active_version(rd, account_id, &updated);
	size_t i = slot_for(account_id);
	struct sieve_cached *c = slots[i];
	if (rc <= 0) {
		if (c && c->account_id == account_id) { /* deactivated: forget it */
			slots[i] = NULL;
			sieve_cache_drop(c);
		}
		return rc;
	}
	if (!c || c->account_id != account_id || c->updated != updated) {
		struct sieve_cached *fresh = compile_active(rd, account_id, &rc);
		if (!fresh)
			return rc;
		if (c)
			sieve_cache_drop(c);
		slots[i] = c = fresh;
	}
	c->used = ++clock_tick;
	if (!c->script)
		return 0;
	c->refs++;
	*out = c;
	return 1;
}

void sieve_cache_clear(void)
{
	for (size_t i = 0; i < SIEVE_CACHE_SLOTS; i++) {
		sieve_cache_drop(slots[i]);
		slots[i] = NULL;
	}
}
