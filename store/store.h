/* store: tern's SQLite database, and the one thread allowed to write it.
 *
 * Every mutation of mail state (deliver, append, flags, expunge, mailbox
 * create, queue changes) is a *job*: a function that runs on the store
 * writer thread inside a transaction, followed by a *completion* that runs
 * back on the loop thread once the transaction is durable. The writer takes
 * every job that is waiting (group commit), runs each inside its own
 * SAVEPOINT, and COMMITs once, so a burst of a thousand deliveries costs one
 * fsync instead of a thousand. An SMTP 250 is sent only from a completion:
 * nothing is acknowledged before it is on disk.
 *
 * Reads happen on a separate connection owned by the loop thread
 * (store_reader()); in WAL mode readers never block the writer and always
 * see the last committed state once their statement starts.
 *
 * Functions in accounts.h and mail.h take a plain `sqlite3 *` so the same
 * code runs inside a writer job, inside store_exec() (CLI, startup), or as a
 * read on the reader connection.
 *
 * Return convention everywhere in store/: 0 (or a count, or 1/0 for
 * "found"/"not found") on success, a negative errno on failure.
 */
#ifndef TERN_STORE_H
#define TERN_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>
#include <uv.h>

struct store;

/* Current schema version (PRAGMA user_version after store_open). */
#define STORE_SCHEMA_VERSION 5

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

/* The read connection for the loop thread (or the CLI). PRAGMA query_only is
 * on: writes through it fail. Never use it from another thread. */
sqlite3 *store_reader(struct store *s);

/* Runs the reader's statements until store_read_end() in one read
 * transaction: one snapshot, one WAL read lock, and one check of the page
 * cache, instead of one per statement (SQLite drops the whole cache when
 * another connection committed in between, which the writer does every
 * millisecond or so under load). Only within one synchronous piece of
 * work: a transaction left open would pin the WAL and hide new mail.
 * Returns whether it began one (false: already inside one, or failed);
 * pass that to store_read_end(). */
bool store_read_begin(struct store *s);
void store_read_end(struct store *s, bool begun);

/* Synchronous write transaction (CLI, startup): BEGIN IMMEDIATE; fn; COMMIT.
 * If fn returns < 0 the transaction is rolled back and that value returned.
 * Blocks the caller (and serialises with the writer thread): never use it on
 * the loop thread while serving. Returns 0 or a negative errno. */
int store_exec(struct store *s, int (*fn)(sqlite3 *db, void *arg), void *arg);

/* A job body: runs on the writer thread inside the batch transaction, inside
 * its own SAVEPOINT. Returns 0 (or any value >= 0) on success, a negative
 * errno on failure; on failure everything the job wrote is rolled back and
 * the other jobs of the batch are unaffected. Must not begin/commit
 * transactions itself, and must finish (reset/finalize) its statements. */
typedef int (*store_job_fn)(sqlite3 *db, void *arg);

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
};
void store_get_stats(struct store *s, struct store_stats *out);

/* Test hook: make the next n writer-batch COMMITs fail (the batch is rolled
 * back and every job in it gets -EIO). Thread-safe. */
void store_test_fail_next_commits(struct store *s, int n);

/* Map an SQLite result code to a negative errno: SQLITE_FULL -> -ENOSPC,
 * SQLITE_BUSY/LOCKED -> -EBUSY, SQLITE_NOMEM -> -ENOMEM, SQLITE_CONSTRAINT_FOREIGNKEY
 * -> -ENOENT, other SQLITE_CONSTRAINT -> -EEXIST, SQLITE_TOOBIG -> -EFBIG, anything else -> -EIO.
 */
int store_errno(int sqlite_rc);

/* Path of the database file (for the CLI and logs). */
const char *store_path(const struct store *s);

#endif
