/* store: opening, schema migrations, and the writer thread.
 *
 * Why one writer thread. SQLite allows one writer at a time per database,
 * and a durable COMMIT costs an fsync (synchronous=FULL: a 250 must be on
 * disk). Doing that on the loop thread would stall every connection for
 * each message; doing it from many threads would serialise them on the
 * database lock anyway. So one thread owns the only write connection and
 * amortises the fsync: group commit.
 *
 *   loop thread                      writer thread
 *   -----------                      -------------
 *   store_submit(job) --+
 *   store_submit(job) --+--> jobs --> wake, take ALL waiting jobs (<= cap)
 *   store_submit(job) --+            BEGIN IMMEDIATE
 *                                    for each job:
 *                                        SAVEPOINT j; run(tx, arg)
 *                                        ok   -> RELEASE j
 *                                        fail -> ROLLBACK TO j; RELEASE j
 *                                    COMMIT            (one fsync)
 *                                      fails -> ROLLBACK, every job fails
 *   async cb: run done(arg, status) <-- completions + uv_async_send
 *
 * While a batch is being committed the next jobs pile up, so the batch size
 * grows by itself with the load: one job per commit when idle, hundreds
 * under a burst. Invariant: a completion is queued only after its batch's
 * COMMIT returned (or the batch was rolled back), so no reply is sent for
 * data that is not durable.
 *
 * A job that fails is rolled back to its own savepoint and the others
 * proceed. If SQLite itself abandoned the transaction (it does on some
 * SQLITE_FULL/IOERR/NOMEM errors), nothing of the batch survives, so every
 * job of the batch fails.
 *
 * Idle work. The index rows of a message (store/msg_index.h: what the
 * registered indexer, IMAP's, works out once per message, and the FTS5
 * index) cost more than storing the message itself, so they are not part
 * of the delivery transaction: a 250 waits only for the message. When the
 * writer has had no job and the loop no client input for STORE_IDLE_MS (a
 * second) it indexes new messages in short transactions, stopping as soon
 * as a job arrives. Under sustained load the index lags; SEARCH indexes
 * what it needs itself, FETCH computes on the fly.
 *
 * Two more threads serve the writer: the syncer fdatasyncs the WAL and
 * completes the jobs of the batches committed before the sync began
 * ("Durability" below), and the checkpointer copies the WAL into the
 * database with its own connection ("Checkpoints"), so neither flush nor
 * copy stalls the next batch. Jobs the loop submits wake the writer once
 * per loop iteration (store_on_loop_prepare).
 *
 * store_exec() (CLI, startup) uses the same write connection under the same
 * mutex as the writer's batches, so it never interleaves with a batch. Other
 * processes (the CLI while the server runs) are serialised by SQLite's own
 * locking with busy_timeout.
 */
#include "store/backup.h"
#include "store/store.h"
#include "store/store_int.h"
#include "store/uploads.h"
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

/* ---- small helpers ---- */

const char *store_path(const struct store *s)
{
	return s->path;
}

struct store_rd *store_reader(struct store *s)
{
	return &s->rd;
}

struct store_rd *store_tx_reader(struct store_tx *tx)
{
	return &tx->rd;
}

int store_tx_try(struct store_tx *tx, store_job_fn fn, void *arg)
{
	sqlite3 *db = tx->rd.db;
	int r = store_run(db, "SAVEPOINT try");
	if (r < 0)
		return r;
	r = fn(tx, arg);
	if (r < 0)
		store_run(db, "ROLLBACK TO try");
	store_run(db, "RELEASE try");
	return r;
}

static bool read_step(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	if (store_prep_cached(db, &st, sql) < 0)
		return false;
	int rc = sqlite3_step(st);
	store_release(st);
	return rc == SQLITE_DONE;
}

bool store_read_begin(struct store_rd *rd)
{
	if (!rd->db || !sqlite3_get_autocommit(rd->db))
		return false;
	return read_step(rd->db, "BEGIN");
}

void store_read_end(struct store_rd *rd, bool begun)
{
	if (!begun || sqlite3_get_autocommit(rd->db))
		return;
	if (!read_step(rd->db, "COMMIT")) {
		log_warn("store event=read_end_failed err=\"%s\"", sqlite3_errmsg(rd->db));
		read_step(rd->db, "ROLLBACK");
	}
}

/* ---- open / close ---- */

static void free_handle(uv_handle_t *h)
{
	free(h);
}

int store_open(struct store **out, const char *dir, uv_loop_t *loop, char *err, size_t errlen)
{
	struct store *s;
	int rc;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	rc = store_mkdir_p(dir);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(-rc));
		return rc;
	}
	s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if ((size_t)snprintf(s->path, sizeof s->path, "%s/tern.db", dir) >= sizeof s->path) {
		free(s);
		snprintf(err, errlen, "%s: path too long", dir);
		return -ENAMETOOLONG;
	}
	s->loop = loop;
	/* Held shared by every process that has the store open; `tern
	 * restore` takes it exclusively before it replaces tern.db. */
	s->lock_fd = store_lock_dir(dir, false);
	if (s->lock_fd == -EWOULDBLOCK) {
		snprintf(err, errlen,
		         "%s: tern restore is replacing the store; try again when it ends", dir);
		free(s);
		return -EBUSY;
	}
	if (s->lock_fd < 0)
		log_warn("store event=no_lock_file dir=%s err=\"%s\"", dir, strerror(-s->lock_fd));
	uv_mutex_init(&s->mu);
	uv_mutex_init(&s->wlock);
	uv_mutex_init(&s->cmu);
	uv_cond_init(&s->cond);

	s->wal_fd = -1;
	s->reserve_fd = -1;
	uv_mutex_init(&s->smu);
	uv_cond_init(&s->scond);
	uv_mutex_init(&s->kmu);
	uv_cond_init(&s->kcond);
	rc = store_open_conn(&s->writer, s->path, false, err, errlen);
#ifdef TERN_FAULTS
	if (rc == 0)
		store_fault_note_writer(s->writer);
#endif
	if (rc == 0)
		rc = store_migrate(s->writer, err, errlen);
	if (rc == 0)
		rc = store_open_conn(&s->reader, s->path, true, err, errlen);
	if (rc < 0)
		goto fail;
	s->rd = (struct store_rd){.db = s->reader, .s = s};
	s->tx = (struct store_tx){.rd = {.db = s->writer, .s = s}};
	/* JMAP uploads live a day (uploads.h): what a previous run left */
	if (loop && store_uploads_expire(&s->tx, store_now()) < 0)
		log_warn("store event=uploads_expire_failed");

	const char *env = getenv("TERN_TEST_FAIL_COMMIT");
	if (env && *env) {
		s->fail_commits = atoi(env);
		log_warn("store event=test_hook fail_commits=%d", s->fail_commits);
	}

	if (loop) {
		s->async = calloc(1, sizeof *s->async);
		if (!s->async) {
			rc = -ENOMEM;
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		uv_async_init(loop, s->async, store_on_async);
		s->async->data = s;
		s->waker = calloc(1, sizeof *s->waker);
		if (s->waker) {
			s->loop_thread = uv_thread_self();
			uv_prepare_init(loop, s->waker);
			s->waker->data = s;
			uv_prepare_start(s->waker, store_on_loop_prepare);
			uv_unref((uv_handle_t *)s->waker);
		}
		s->idle_work = true; /* whatever an earlier run left unindexed */
		store_syncer_start(s);
		store_checkpointer_start(s);
		rc = uv_thread_create(&s->thread, store_writer_main, s);
		if (rc < 0) {
			snprintf(err, errlen, "writer thread: %s", uv_strerror(rc));
			uv_close((uv_handle_t *)s->async, free_handle);
			s->async = NULL;
			if (s->waker)
				uv_close((uv_handle_t *)s->waker, free_handle);
			s->waker = NULL;
			goto fail;
		}
		s->have_thread = true;
	}
	*out = s;
	return 0;
fail:
	store_checkpointer_stop(s);
	store_syncer_stop(s);
	store_stmt_cache_drop(s->reader);
	sqlite3_close(s->reader);
	store_stmt_cache_drop(s->writer);
	sqlite3_close(s->writer);
	uv_cond_destroy(&s->cond);
	uv_cond_destroy(&s->scond);
	uv_cond_destroy(&s->kcond);
	uv_mutex_destroy(&s->mu);
	uv_mutex_destroy(&s->smu);
	uv_mutex_destroy(&s->kmu);
	uv_mutex_destroy(&s->wlock);
	uv_mutex_destroy(&s->cmu);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	free(s);
	return rc;
}

void store_close(struct store **sp)
{
	struct store *s = sp ? *sp : NULL;
	if (!s)
		return;
	*sp = NULL;
	if (s->have_thread)
		store_stop_thread(&s->mu, &s->cond, &s->closing, &s->thread);
	store_checkpointer_stop(s);
	store_syncer_stop(s);
	if (s->have_thread)
		store_run_completions(s);
	if (s->waker) {
		s->waker->data = NULL;
		uv_close((uv_handle_t *)s->waker, free_handle);
	}
	if (s->async) {
		s->async->data = NULL;
		uv_close((uv_handle_t *)s->async, free_handle);
	}
	rcpt_cache_free(s->rcpt_cache);
	store_stmt_cache_drop(s->reader);
	store_stmt_cache_drop(s->writer);
	if (sqlite3_close(s->reader) != SQLITE_OK)
		log_warn("store event=close_reader err=\"%s\"", sqlite3_errmsg(s->reader));
	/* A clean close of the last connection checkpoints and removes the WAL. */
	if (sqlite3_close(s->writer) != SQLITE_OK)
		log_warn("store event=close_writer err=\"%s\"", sqlite3_errmsg(s->writer));
	uv_cond_destroy(&s->cond);
	uv_cond_destroy(&s->scond);
	uv_cond_destroy(&s->kcond);
	uv_mutex_destroy(&s->mu);
	uv_mutex_destroy(&s->smu);
	uv_mutex_destroy(&s->kmu);
	uv_mutex_destroy(&s->wlock);
	uv_mutex_destroy(&s->cmu);
	store_reserve_close(s);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	free(s);
}
