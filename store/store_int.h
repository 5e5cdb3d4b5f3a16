/* store_int: helpers shared by the files of store/, not part of its API. */
#ifndef TERN_STORE_INT_H
#define TERN_STORE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sqlite3.h>

/* Prepare sql on db; logs and returns a negative errno on failure. */
int store_prep(sqlite3 *db, sqlite3_stmt **st, const char *sql);
/* The same from a cache of prepared statements (store/stmt_cache.c) for
 * hot paths; sql must be a string literal (its address is the key). Give
 * the statement back with store_release(), never sqlite3_finalize(). */
int store_prep_cached(sqlite3 *db, sqlite3_stmt **st, const char *sql);
/* Reset and unbind a statement from store_prep_cached() (or finalize it
 * when it was not cached). NULL is ignored. */
void store_release(sqlite3_stmt *st);
/* Finalize db's cached statements; before sqlite3_close(db). */
void store_stmt_cache_drop(sqlite3 *db);
/* The first column of the first row of a query bound to one integer
 * (?1): a non-negative value, -ENOENT for no row, or a negative errno. */
int64_t store_scalar(sqlite3 *db, const char *sql, int64_t arg);
/* mailboxes.highestmodseq, or -ENOENT / a negative errno. */
int64_t store_mailbox_modseq(sqlite3 *db, int64_t mailbox_id);
/* Run a statement without results (bind nothing); negative errno on failure. */
int store_run(sqlite3 *db, const char *sql);
/* Step a statement expected to finish (SQLITE_DONE); 0 or negative errno. */
int store_step_done(sqlite3_stmt *st);
/* unix seconds */
int64_t store_now(void);
/* Allocate a UIDVALIDITY that has never been handed out by this database
 * (max(last + 1, now)), inside the caller's transaction. 0 on error. */
uint32_t store_next_uidvalidity(sqlite3 *db);

/* The loop's recipient cache (store/rcpt_cache.c), kept in the store, and
 * the loop's clock (0 without a loop). */
struct store;
struct rcpt_cache;
struct rcpt_cache **store_rcpt_cache(struct store *s, uint64_t *now_ms);
void rcpt_cache_free(struct rcpt_cache *c);

/* store/wal_vfs.c: registers the VFS the write connection opens with
 * (once per process) and returns its name, or NULL to use SQLite's own. */
const char *store_wal_vfs_register(void);
/* On db's WAL (opened by that VFS), with on: a commit's sync only writes
 * the gathered frames, and the caller syncs before it acknowledges the
 * commit. 0, or -1 when db's WAL is not one of ours. */
int store_wal_defer_commit_syncs(sqlite3 *db, bool on);
/* Syncs of WALs opened by that VFS, in this process: made, and left to the
 * caller of store_wal_defer_commit_syncs(). */
void store_wal_sync_counts(uint64_t *real, uint64_t *deferred);

#endif
