/* store: tern's mail database, and the one thread allowed to write it.
 *
 * Nothing above store/ sees the database itself. It sees three opaque
 * handles and named operations on them (accounts.h, mailboxes.h, mail.h,
 * entries.h, msg_index.h, queue.h, tokens.h):
 *
 *   struct store     the store as a whole: open, close, submit jobs;
 *   struct store_rd  a read view: the loop's reader (store_reader()), or a
 *                    write transaction reading what it wrote so far
 *                    (store_tx_reader());
 *   struct store_tx  a write transaction: what a job runs in, on the writer
 *                    thread, or what store_exec() runs in (CLI, startup).
 *
 * Every mutation of mail state (deliver, append, flags, expunge, mailbox
 * create, queue changes) is a *job*: a function that runs on the store
 * writer thread inside a transaction, followed by a *completion* that runs
 * back on the loop thread once the transaction is durable. The writer takes
 * every job that is waiting (group commit), runs each inside its own
 * savepoint, and commits once, so a burst of a thousand deliveries costs one
 * fsync instead of a thousand. An SMTP 250 is sent only from a completion:
 * nothing is acknowledged before it is on disk.
 *
 * Reads happen on a separate view owned by the loop thread (store_reader());
 * readers never block the writer and see the last committed state once
 * their operation starts.
 *
 * This backend is SQLite (WAL mode); store/ is the only folder that
 * includes sqlite3.h. docs/design.md lists every operation and which
 * protocol uses it, for a second backend.
 *
 * Return convention everywhere in store/: 0 (or a count, or 1/0 for
 * "found"/"not found") on success, a negative errno on failure.
 */
#ifndef TERN_STORE_H
#define TERN_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct store;
struct store_rd;
struct store_tx;

/* Current schema version (PRAGMA user_version after store_open). */
#define STORE_SCHEMA_VERSION 24

/* Largest number of jobs the writer puts into one transaction. */
#define STORE_MAX_BATCH 1024

/* Opens (creating) <dir>/tern.db: WAL mode, synchronous=FULL (a 250 must be
 * on disk), foreign_keys=ON, busy_timeout. Creates dir (0700, with parents)
 * if missing and migrates the schema by PRAGMA user_version, each step in
 * its own transaction; a database newer than this binary is refused.
 *
 * loop may be NULL (CLI use): then there is no writer thread and
 * store_submit() fails with -ENOTSUP; use store_exec() for writes.
 * With a loop, store_open() must be called on the loop thread; completions
 * run on it.
 *
 * Test hook: if the environment variable TERN_TEST_FAIL_COMMIT=<n> is set
 * when the store opens, the next n writer batches fail at COMMIT as if the
 * disk were full (see store_test_fail_next_commits()).
 *
 * On failure *out is NULL and err holds a message. */
int store_open(struct store **out, const char *dir, uv_loop_t *loop, char *err, size_t errlen);

/* Runs every queued job, joins the writer thread, runs the remaining
 * completions (on the calling thread, which must be the loop thread), closes
 * the connections and frees the store. *s is set to NULL. NULL-safe.
 * The async handle is closed with uv_close(): run the loop once more (e.g.
 * uv_run(loop, UV_RUN_NOWAIT)) before uv_loop_close(). */
void store_close(struct store **s);

/* The read view of the loop thread (or the CLI). It cannot write. Never
 * use it from another thread. */
struct store_rd *store_reader(struct store *s);
/* What a write transaction reads: the same rows with its own changes so
 * far. Valid as long as tx. */
struct store_rd *store_tx_reader(struct store_tx *tx);

/* Runs a view's reads until store_read_end() in one read transaction: one
 * snapshot, one lock, and one check of the page cache, instead of one per
 * read (SQLite drops the whole cache when another connection committed in
 * between, which the writer does every millisecond or so under load).
 * Only within one synchronous piece of work: a transaction left open
 * would pin the WAL and hide new mail. Returns whether it began one
 * (false: already inside one, or failed: then each read is its own, as
 * correct but slower); pass that to store_read_end(). */
bool store_read_begin(struct store_rd *rd);
void store_read_end(struct store_rd *rd, bool begun);

/* Synchronous write transaction (CLI, startup): begin; fn; commit.
 * If fn returns < 0 the transaction is rolled back and that value returned.
 * Blocks the caller (and serialises with the writer thread): never use it on
 * the loop thread while serving. Returns 0 or a negative errno. */
/* A job body: runs on the writer thread inside the batch transaction, inside
 * its own savepoint. Returns 0 (or any value >= 0) on success, a negative
 * errno on failure; on failure everything the job wrote is rolled back and
 * the other jobs of the batch are unaffected. It changes the store only
 * through the operations that take a struct store_tx. */
typedef int (*store_job_fn)(struct store_tx *tx, void *arg);

int store_exec(struct store *s, store_job_fn fn, void *arg);

/* Inside a transaction: run fn in a savepoint of its own. When fn fails,
 * what it wrote is undone and the transaction goes on as before it; its
 * status is returned either way. For optional work inside a job (a
 * success DSN that cannot be stored must not fail the delivery). */
int store_tx_try(struct store_tx *tx, store_job_fn fn, void *arg);

/* A completion: runs on the loop thread after the batch holding the job
 * COMMITted (status = the job's return value, >= 0), or after the job or
 * its batch failed (status < 0: the job's own error, or -EIO/-ENOSPC/-EBUSY
 * when COMMIT failed; then nothing of the job is visible). Never runs before
 * the commit. */
typedef void (*store_done_fn)(void *arg, int status);

/* Queue a job. Thread-safe (may be called from any thread). arg (and
 * everything it points to) must stay valid until done runs; done may be
 * NULL. Returns 0, -ENOTSUP (no loop), -ESHUTDOWN (closing) or -ENOMEM; on
 * failure done is never called. */
int store_submit(struct store *s, store_job_fn run, store_done_fn done, void *arg);
/* The same for a change a crash may undo without losing mail: flags,
 * expunges, \Recent marks, index data. It is committed (atomic, visible to
 * every reader) when done runs, but reaches the disk with the next
 * synchronous commit, at the latest 200 ms later (see store.c). Never for
 * a message or anything a reply promises is on disk. */
int store_submit_lazy(struct store *s, store_job_fn run, store_done_fn done, void *arg);
/* Keep bytes of disk space aside in <dir>/tern.reserve (dir: the data
 * directory given to store_open()): when the disk is full, it is given
 * back so that lazy jobs (flags, expunges: what a user does to make room)
 * still commit; see store/reserve.c. 0 = none. Returns 0 or a negative
 * errno (the file cannot be made); no room for it is only logged. */
int store_set_disk_reserve(struct store *s, const char *dir, uint64_t bytes);
/* Loop thread: a client sent something. Idle work waits until clients
 * have been quiet for a second as well. */
void store_note_client(struct store *s);

struct store_stats {
	uint64_t jobs;         /* jobs completed (successfully or not) */
	uint64_t commits;      /* batches committed */
	uint64_t max_batch;    /* largest batch seen */
	uint64_t failed;       /* jobs whose status was < 0 */
	uint64_t lazy_commits; /* batches and idle slices committed without fsync */
	uint64_t wal_syncs;    /* explicit syncs of the WAL for them */
	uint64_t checkpoints;  /* passes of the checkpointer thread */
	/* bytes the write connection's page cache held after its last batch
	 * (bounded by its cache_size) */
	uint64_t writer_cache;
	/* 1 once a sync of the WAL failed: every write fails from then on,
	 * until tern restarts (store/syncer.c, "After a failed sync") */
	uint64_t writes_stopped;
};
void store_get_stats(struct store *s, struct store_stats *out);
/* Bytes the page caches of the loop's reader and of the write connection
 * hold (each bounded by cache_size, 32 MiB): memory that grows with the
 * data read until that bound, not a leak. Loop thread. */
uint64_t store_cache_bytes(struct store *s);
/* Jobs submitted whose completion has not run yet: a test harness waits
 * for 0 before it checks what the completions give back. Any thread. */
uint64_t store_jobs_outstanding(struct store *s);

/* Test hook: make the next n writer-batch COMMITs fail (the batch is rolled
 * back and every job in it gets -EIO). Thread-safe. */
void store_test_fail_next_commits(struct store *s, int n);

/* Path of the database file (for the CLI and logs). */
const char *store_path(const struct store *s);

#endif
