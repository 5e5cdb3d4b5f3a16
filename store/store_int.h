/* store_int: helpers shared by the files of store/, not part of its API. */
#ifndef TERN_STORE_INT_H
#define TERN_STORE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sqlite3.h>

#include "store/store.h"

/* The fault driver's builds count every step (store/fault.h). */
#ifdef TERN_FAULTS
#include "store/fault_int.h"
#define sqlite3_step store_fault_step
#endif

/* The handles of store.h, for this backend: a read view is a connection
 * (the loop's reader, or the write connection inside a transaction); a
 * write transaction is the write connection while a job or store_exec()
 * holds it. */
struct store_rd {
	sqlite3 *db;
	struct store *s;
};
struct store_tx {
	struct store_rd rd;
};

/* Map an SQLite result code to a negative errno: SQLITE_FULL -> -ENOSPC,
 * SQLITE_BUSY/LOCKED -> -EBUSY, SQLITE_NOMEM -> -ENOMEM,
 * SQLITE_CONSTRAINT_FOREIGNKEY -> -ENOENT, other SQLITE_CONSTRAINT ->
 * -EEXIST, SQLITE_TOOBIG -> -EFBIG, anything else -> -EIO. */
int store_errno(int sqlite_rc);

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
/* Run a statement (cached) bound to ?1 = a and, if it has one, ?2 = b, to
 * its end: 0 or a negative errno. */
int store_run_ids(sqlite3 *db, const char *sql, int64_t a, int64_t b);
/* Up to len bytes at offset of the "data" BLOB of table's row rowid
 * (incremental blob I/O: never the whole value in memory): the count read
 * (0 past the end), -ENOENT for no such row, or a negative errno. */
ssize_t store_blob_read(sqlite3 *db, const char *table, int64_t rowid, uint64_t offset, void *buf,
                        size_t len);
/* The same for a query without parameters on a connection whose statements
 * are not cached (backup's and verify's own): the value, or -1. */
int64_t store_scalar_uncached(sqlite3 *db, const char *sql);
/* mailboxes.highestmodseq, or -ENOENT / a negative errno; and setting it
 * (store/mailboxes.c). */
int64_t store_mailbox_modseq(sqlite3 *db, int64_t mailbox_id);
int store_set_mailbox_modseq(sqlite3 *db, int64_t mailbox_id, int64_t modseq);
/* Subscribe (on) or unsubscribe an account to a name, whether or not a
 * mailbox has it (store/mailboxes.c): 1 if that changed something, 0 if
 * not, or a negative errno. */
int store_subscription_set(sqlite3 *db, int64_t account_id, const char *name, bool on);
/* Run a statement without results (bind nothing); negative errno on failure. */
int store_run(sqlite3 *db, const char *sql);
/* Step a statement expected to finish (SQLITE_DONE); 0 or negative errno. */
int store_step_done(sqlite3_stmt *st);
/* The id of account (an address) or, when account is NULL, of domain (a
 * name): what a token or a webhook belongs to. 0, -ENOENT or negative. */
int store_owner_id(sqlite3 *db, const char *account, const char *domain, int64_t *id);
/* unix seconds */
int64_t store_now(void);
/* Allocate a UIDVALIDITY that has never been handed out by this database
 * (max(last + 1, now)), inside the caller's transaction. 0 on error. */
uint32_t store_next_uidvalidity(sqlite3 *db);

/* The loop's recipient cache (store/rcpt_cache.c), kept in the store. */
struct store;
struct rcpt_cache;
void rcpt_cache_free(struct rcpt_cache *c);

/* The indexer registered with store_set_indexer() (NULL: none). */
#include "store/msg_index.h"
store_indexer_fn store_indexer(struct store *s);
/* Writer, idle work (store/msg_index.c): index the next message above
 * *cursor that is in some mailbox and has no index row, and advance
 * *cursor past it (also when its indexing fails, so a bad message is not
 * retried forever). 1 if one was handled, 0 if none is left. */
int store_index_next(struct store_tx *tx, int64_t *cursor);
/* A job (arg: const int64_t *version): drop the index rows another
 * indexer version made, and start the idle work over (store_set_indexer). */
int store_index_drop_outdated(struct store_tx *tx, void *arg);

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

/* ---- the store object, shared by the files of this backend ---- */

#include <stdatomic.h>
#include <uv.h>

#define STORE_BUSY_TIMEOUT_MS 10000
/* Quiet time before idle work starts, and the most one slice may take.
 * Indexing costs about ten times what storing does, so under steady load
 * (no second without a job) it waits: it must never be what slows the
 * acceptance of mail. */
#define STORE_IDLE_MS 1000
#define STORE_IDLE_SLICE_MS 25
/* A lazy commit (store_submit_lazy) reaches the disk at the latest this
 * long after it returned: with the next synchronous commit, or by an
 * explicit sync of the WAL. */
#define STORE_LAZY_SYNC_MS 200

struct store_job {
	struct store_job *next;
	store_job_fn run;
	store_done_fn done;
	void *arg;
	int status;
	bool lazy; /* need not be on disk when done runs */
};

struct store {
	char path[4096];
	/* A shared flock on <dir>/tern.lock for as long as the store is open
	 * (store/backup.h: a restore needs it exclusively); -1: none. */
	int lock_fd;
	uv_loop_t *loop;
	sqlite3 *reader;
	struct store_rd rd;            /* the loop's view: reader */
	struct rcpt_cache *rcpt_cache; /* the loop's, store/rcpt_cache.c */
	sqlite3 *writer;
	struct store_tx tx; /* the writer's transaction: writer, under wlock */
	uv_mutex_t wlock;   /* held while the write connection is in use */
	/* The syncer (see "Durability"): our own descriptor of tern.db-wal
	 * (-1: none, the writer then commits with synchronous=FULL), and
	 * under smu the committed jobs waiting for a sync of it and the time
	 * of the oldest commit not yet synced (0: none). */
	int wal_fd;
	/* The disk reserve (store/reserve.c), under wlock; ckpt_full: the
	 * checkpointer found the disk full. */
	int reserve_fd;
	uint64_t reserve_bytes;
	bool reserve_held;
	uint64_t reserve_retry_ns;
	uint64_t room_checked_ns;
	bool room;
	_Atomic bool ckpt_full;
	uv_mutex_t smu;
	uv_cond_t scond;
	struct store_job *shead, *stail;
	uint64_t unsynced_ns;
	bool sclosing;
	bool have_syncer;
	uv_thread_t syncer;
	/* The checkpointer (see "Checkpoints"): its connection, and under kmu
	 * whether the writer asked for a checkpoint. */
	sqlite3 *ckpt;
	uv_mutex_t kmu;
	uv_cond_t kcond;
	bool kwanted, kclosing;
	/* Under wlock (the WAL hook runs in the writer's commits): the WAL
	 * size that asks for the next checkpoint, and the size last seen. */
	int ckpt_at, wal_pages;
	bool have_checkpointer;
	uv_thread_t checkpointer;

	/* job queue, protected by mu */
	uv_mutex_t mu;
	uv_cond_t cond;
	struct store_job *head, *tail;
	bool closing;
	int fail_commits;            /* test hook */
	_Atomic bool writes_stopped; /* a WAL sync failed: syncer.c */
	/* Jobs submitted whose completion has not run yet (store_jobs_outstanding). */
	_Atomic uint64_t outstanding;
	struct store_stats stats;
	bool idle_work; /* something may be left for the idle indexer */
	/* uv_now() of the loop's last client input (store_note_client): idle
	 * work also waits for the clients to be quiet, so that the indexer
	 * never takes the CPU from a download or a command. */
	_Atomic uint64_t client_ms;
	int64_t index_cursor;              /* writer thread only: messages below are done */
	_Atomic(store_indexer_fn) indexer; /* store_set_indexer() */
	/* store/webhooks.c, under wlock: whether some webhook wants the
	 * "incoming" event, as of the write connection's PRAGMA data_version
	 * incoming_hooks_dv (another process's commit moves it) and of this
	 * process's own adds (they clear incoming_hooks_known). */
	bool incoming_hooks_known, incoming_hooks_any;
	int64_t incoming_hooks_dv;

	/* Jobs the loop submitted wake the writer once per loop iteration,
	 * from this prepare handle, instead of a futex wake each (wake under
	 * mu; loop_thread is store_open()'s caller). */
	uv_prepare_t *waker;
	bool wake;
	uv_thread_t loop_thread;

	/* completions, protected by cmu */
	uv_mutex_t cmu;
	struct store_job *chead, *ctail;
	uv_async_t *async;
	bool have_thread;
	uv_thread_t thread;
};

/* jobs.c: completions to the loop, and thread shutdown. */
void store_post_completions(struct store *s, struct store_job *first, struct store_job *last);
void store_run_completions(struct store *s);
void store_on_async(uv_async_t *h);
void store_fail_all(struct store_job *j, int status);
/* Tells a thread waiting on cond (under mu) that *closing is set, and
 * waits for it to end. */
void store_stop_thread(uv_mutex_t *mu, uv_cond_t *cond, bool *closing, uv_thread_t *thread);

/* syncer.c: see "durability" there. */
int store_wal_sync(struct store *s);
/* True once a WAL sync failed: every write fails until restart. */
bool store_writes_stopped(struct store *s);
void store_queue_for_sync(struct store *s, struct store_job *jobs, struct store_job *last,
                          bool lazy_only);
void store_hand_over(struct store *s, struct store_job *batch, bool committed);
void store_syncer_start(struct store *s);
void store_syncer_stop(struct store *s);

/* checkpointer.c */
void store_checkpointer_start(struct store *s);
void store_checkpointer_stop(struct store *s); /* after the writer ended */
void store_checkpointer_wake(struct store *s);

/* connect.c */
int store_mkdir_p(const char *dir);
int store_open_conn(sqlite3 **db, const char *path, bool reader, char *err, size_t errlen);

/* schema.c: migrate db to STORE_SCHEMA_VERSION (err says why not). */
int store_migrate(sqlite3 *db, char *err, size_t errlen);

/* reserve.c: give the reserve back (true if there was one to give), try
 * to take it again, and close it. Under wlock. */
bool store_reserve_release(struct store *s);
void store_reserve_rearm(struct store *s);
void store_reserve_close(struct store *s);
/* Without the reserve: is there room for jobs that add data, beyond a
 * reserve's worth kept for the ones that make room? */
bool store_reserve_room(struct store *s);

/* writer.c */
void store_writer_main(void *arg);
void store_on_loop_prepare(uv_prepare_t *h);

#endif
