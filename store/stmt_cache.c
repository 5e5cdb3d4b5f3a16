/* stmt_cache: prepared statements kept across calls, for the hot paths.
 *
 * Why: a delivery runs about eight small statements; preparing each one
 * again (tokenise, parse, plan, generate bytecode) cost as much writer-
 * thread CPU as executing it, and the writer thread is what every 250
 * waits for. SQLite has no statement cache in its C API, so this is one.
 *
 * A statement is keyed by (connection, address of its SQL text): callers
 * pass string literals, whose addresses are stable. store_prep_cached()
 * hands out the cached statement and marks it busy; store_release() resets
 * it, clears its bindings and marks it free. When the statement is busy
 * (a nested use of the same SQL) or the table is full, a fresh statement is
 * prepared and store_release() finalizes it instead.
 *
 * Connections are used by one thread at a time, but the table is shared by
 * the loop's and the writer's connections, so lookups take a mutex; it is
 * held for a few loads, never while SQLite runs. store_stmt_cache_drop()
 * finalizes a connection's statements before it is closed.
 */
#include "store/store_int.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#define CACHE_SLOTS 256 /* power of two */

struct cache_slot {
	sqlite3 *db; /* NULL: empty */
	const char *sql;
	sqlite3_stmt *st;
	bool busy;
};

static struct cache_slot slots[CACHE_SLOTS];
static uv_mutex_t cache_mu;
static uv_once_t cache_once = UV_ONCE_INIT;

static void cache_init(void)
{
	uv_mutex_init(&cache_mu);
}

static size_t slot_hash(const sqlite3 *db, const char *sql)
{
	uint64_t h = (uint64_t)(uintptr_t)db * 0x9e3779b97f4a7c15u ^ (uint64_t)(uintptr_t)sql;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9u;
	h ^= h >> 32;
	return (size_t)h & (CACHE_SLOTS - 1);
}

/* mu held: the slot of (db, sql), or else the first empty slot of its
 * probe sequence, or NULL. (Slots are emptied when a connection closes, so
 * the whole sequence is searched, not only up to the first hole.) */
static struct cache_slot *slot_find(sqlite3 *db, const char *sql)
{
	size_t h = slot_hash(db, sql);
	struct cache_slot *empty = NULL;
	for (size_t i = 0; i < CACHE_SLOTS / 4; i++) {
		struct cache_slot *c = &slots[(h + i) & (CACHE_SLOTS - 1)];
		if (c->db == db && c->sql == sql)
			return c;
		if (!c->db && !empty)
			empty = c;
	}
	return empty;
}

int store_prep_cached(sqlite3 *db, sqlite3_stmt **st, const char *sql)
{
	uv_once(&cache_once, cache_init);
	uv_mutex_lock(&cache_mu);
	struct cache_slot *c = slot_find(db, sql);
	if (c && c->db && !c->busy) {
		c->busy = true;
		*st = c->st;
		uv_mutex_unlock(&cache_mu);
		return 0;
	}
	bool keep = c && !c->db;
	if (keep) { /* reserve the slot while preparing outside the lock */
		c->db = db;
		c->sql = sql;
		c->st = NULL;
		c->busy = true;
	}
	uv_mutex_unlock(&cache_mu);

	int rc = store_prep(db, st, sql);
	if (keep) {
		uv_mutex_lock(&cache_mu);
		if (rc < 0)
			c->db = NULL;
		else
			c->st = *st;
		uv_mutex_unlock(&cache_mu);
	}
	return rc;
}

void store_release(sqlite3_stmt *st)
{
	if (!st)
		return;
	sqlite3 *db = sqlite3_db_handle(st);
	uv_once(&cache_once, cache_init);
	uv_mutex_lock(&cache_mu);
	/* The key is the caller's SQL pointer, which the statement does not
	 * know; find the slot by statement instead. */
	struct cache_slot *c = NULL;
	for (size_t i = 0; i < CACHE_SLOTS; i++) {
		if (slots[i].st == st && slots[i].db == db) {
			c = &slots[i];
			break;
		}
	}
	uv_mutex_unlock(&cache_mu);
	if (!c) {
		sqlite3_finalize(st);
		return;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	uv_mutex_lock(&cache_mu);
	c->busy = false;
	uv_mutex_unlock(&cache_mu);
}

void store_stmt_cache_drop(sqlite3 *db)
{
	uv_once(&cache_once, cache_init);
	uv_mutex_lock(&cache_mu);
	for (size_t i = 0; i < CACHE_SLOTS; i++) {
		if (slots[i].db == db) {
			sqlite3_finalize(slots[i].st);
			slots[i] = (struct cache_slot){0};
		}
	}
	uv_mutex_unlock(&cache_mu);
}

int64_t store_scalar(sqlite3 *db, const char *sql, int64_t arg)
{
	sqlite3_stmt *st;
	int rc = store_prep_cached(db, &st, sql);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, arg);
	rc = sqlite3_step(st);
	int64_t v = rc == SQLITE_ROW    ? sqlite3_column_int64(st, 0)
	            : rc == SQLITE_DONE ? -ENOENT
	                                : store_errno(rc);
	store_release(st);
	return v;
}

int store_run_ids(sqlite3 *db, const char *sql, int64_t a, int64_t b)
{
	sqlite3_stmt *st;
	int rc = store_prep_cached(db, &st, sql);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, a);
	if (sqlite3_bind_parameter_count(st) >= 2)
		sqlite3_bind_int64(st, 2, b);
	rc = store_step_done(st);
	store_release(st);
	return rc;
}

int64_t store_scalar_uncached(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_finalize(st);
	return v;
}
