/* writer: the one thread that writes, in batches (group commit), its idle
 * work, and store_exec() for callers without a loop. The design is told at
 * the top of store.c. */
#include "lib/metrics.h"
#include "store/store.h"
#include "store/store_int.h"
#include "lib/log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>

static int exec_txn(struct store *s, store_job_fn fn, void *arg, bool lazy);

static size_t count(const struct store_job *j)
{
	size_t n = 0;
	for (; j; j = j->next)
		n++;
	return n;
}

static bool disk_full(const struct store_job *batch)
{
	for (const struct store_job *j = batch; j; j = j->next)
		if (j->status == -ENOSPC)
			return true;
	return false;
}

/* The disk is full: the reserve goes back (store/reserve.c), and the
 * checkpointer, which may have given up for want of room, tries again.
 * False when there was no reserve to give. wlock held. */
static bool give_reserve(struct store *s)
{
	if (!store_reserve_release(s))
		return false;
	store_checkpointer_wake(s);
	return true;
}

/* Take the lazy jobs (lazy true: flags, expunges, what makes room) or the
 * others (false: what adds data) out of *batch, in order. */
static struct store_job *take(struct store_job **batch, bool lazy)
{
	struct store_job *taken = NULL, **tt = &taken, **link = batch;
	while (*link) {
		struct store_job *j = *link;
		if (j->lazy == lazy) {
			*link = j->next;
			j->next = NULL;
			*tt = j;
			tt = &j->next;
		} else {
			link = &j->next;
		}
	}
	return taken;
}

struct idle_slice {
	struct store *s;
	uint64_t deadline_ns;
	int more;
};

/* One of the batch's control statements (BEGIN, SAVEPOINT, RELEASE,
 * COMMIT), from the statement cache: four of them run for every job, and
 * sqlite3_exec() would parse each again. Returns an SQLite result code,
 * SQLITE_OK when done. */
static int control(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	if (store_prep_cached(db, &st, sql) < 0)
		return SQLITE_ERROR;
	int rc = sqlite3_step(st);
	store_release(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Runs one batch on the write connection; sets every job's status. Returns
 * true if it committed. */
static bool run_batch(struct store *s, struct store_job *batch, size_t n)
{
	sqlite3 *db = s->writer;
	int rc;

	if (store_writes_stopped(s)) {
		store_fail_all(batch, -EIO);
		return false;
	}
	for (struct store_job *j = batch; j; j = j->next)
		j->status = 0;
	rc = control(db, "BEGIN IMMEDIATE");
	if (rc != SQLITE_OK) {
		log_error("store event=begin_failed rc=%d err=\"%s\" jobs=%zu", rc,
		          sqlite3_errmsg(db), n);
		store_fail_all(batch, store_errno(rc) ? store_errno(rc) : -EIO);
		return false;
	}
	for (struct store_job *j = batch; j; j = j->next) {
		if (control(db, "SAVEPOINT job") != SQLITE_OK) {
			j->status = -EIO;
			continue;
		}
		int st = j->run(&s->tx, j->arg);
		if (sqlite3_get_autocommit(db)) {
			/* SQLite abandoned the whole transaction (or the job ended
			 * it, which is a bug): nothing of this batch survives. */
			log_error("store event=txn_lost status=%d err=\"%s\" jobs=%zu", st,
			          sqlite3_errmsg(db), n);
			store_fail_all(batch, st < 0 ? st : -EIO);
			return false;
		}
		if (st < 0) {
			j->status = st;
			sqlite3_exec(db, "ROLLBACK TO job", NULL, NULL, NULL);
		} else {
			j->status = st;
		}
		control(db, "RELEASE job");
	}

	bool inject = false;
	uv_mutex_lock(&s->mu);
	if (s->fail_commits > 0) {
		s->fail_commits--;
		inject = true;
	}
	uv_mutex_unlock(&s->mu);

	if (inject)
		rc = SQLITE_IOERR;
	else
		rc = control(db, "COMMIT");
	if (rc != SQLITE_OK) {
		log_error("store event=commit_failed rc=%d err=\"%s\" jobs=%zu injected=%d", rc,
		          inject ? "test hook" : sqlite3_errmsg(db), n, inject);
		if (!sqlite3_get_autocommit(db))
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		int e = store_errno(rc);
		for (struct store_job *j = batch; j; j = j->next)
			j->status = e ? e : -EIO;
		return false;
	}
	return true;
}

static bool job_waiting(struct store *s)
{
	uv_mutex_lock(&s->mu);
	bool waiting = s->head || s->closing;
	uv_mutex_unlock(&s->mu);
	return waiting;
}

static int idle_index_slice(struct store_tx *tx, void *arg)
{
	struct idle_slice *q = arg;
	struct store *s = q->s;
	int r;
	do {
		r = store_index_next(tx, &s->index_cursor);
	} while (r > 0 && uv_hrtime() < q->deadline_ns && !job_waiting(s));
	q->more = r > 0;
	return r < 0 ? r : 0;
}

/* Writer thread, mu not held: one bounded slice of idle work. Returns
 * whether more is left. */
static bool run_idle_work(struct store *s)
{
	struct idle_slice q = {s, uv_hrtime() + (uint64_t)STORE_IDLE_SLICE_MS * 1000000u, 0};
	int r = exec_txn(s, idle_index_slice, &q, true); /* derived data: lazy */
	if (r < 0) {
		log_warn("store event=index_failed err=\"%s\"", strerror(-r));
		return false; /* try again after the next batch */
	}
	return q.more;
}

void store_note_client(struct store *s)
{
	atomic_store_explicit(&s->client_ms, uv_now(s->loop), memory_order_relaxed);
}

void store_writer_main(void *arg)
{
	struct store *s = arg;
	uint64_t last_job_ns = uv_hrtime();
	uv_mutex_lock(&s->mu);
	for (;;) {
		while (!s->head && !s->closing) {
			uint64_t now = uv_hrtime(), wake = UINT64_MAX;
			if (s->idle_work) {
				/* Quiet for STORE_IDLE_MS since the last job: then
				 * slice after slice until a job comes or nothing is
				 * left. */
				uint64_t client_ns =
				    atomic_load_explicit(&s->client_ms, memory_order_relaxed) *
				    1000000u;
				uint64_t busy_ns =
				    client_ns > last_job_ns ? client_ns : last_job_ns;
				uint64_t quiet_at = busy_ns + (uint64_t)STORE_IDLE_MS * 1000000u;
				if (now >= quiet_at) {
					uv_mutex_unlock(&s->mu);
					bool more = run_idle_work(s);
					uv_mutex_lock(&s->mu);
					s->idle_work = more;
					continue;
				}
				if (quiet_at < wake)
					wake = quiet_at;
			}
			if (wake == UINT64_MAX)
				uv_cond_wait(&s->cond, &s->mu);
			else
				uv_cond_timedwait(&s->cond, &s->mu, wake - now);
		}
		if (!s->head)
			break; /* closing and drained */

		/* Take everything waiting, up to the cap. */
		struct store_job *batch = s->head, *last = s->head;
		size_t n = 1;
		while (last->next && n < STORE_MAX_BATCH) {
			last = last->next;
			n++;
		}
		s->head = last->next;
		if (!s->head)
			s->tail = NULL;
		last->next = NULL;
		uv_mutex_unlock(&s->mu);

		uv_mutex_lock(&s->wlock);
		if (atomic_exchange(&s->ckpt_full, false))
			give_reserve(s);
		/* Without the reserve and the room it stood for, jobs that add
		 * data wait outside (see store/reserve.c). */
		struct store_job *refused = store_reserve_room(s) ? NULL : take(&batch, false);
		uint64_t t0 = uv_hrtime();
		bool committed = batch && run_batch(s, batch, count(batch));
		if (committed)
			metric_observe(HIST_COMMIT, (double)(uv_hrtime() - t0) / 1e9);
		struct store_job *retried = NULL;
		bool retry_committed = false;
		if (committed)
			store_reserve_rearm(s);
		else if (batch && disk_full(batch) && give_reserve(s))
			retried = take(&batch, true); /* they may make room: again, alone */
		if (retried)
			retry_committed = run_batch(s, retried, count(retried));
		uv_mutex_unlock(&s->wlock);
		for (struct store_job *j = refused; j; j = j->next)
			j->status = -ENOSPC;
		last_job_ns = uv_hrtime();

		uint64_t failed = 0;
		for (struct store_job *j = batch; j; j = j->next)
			failed += j->status < 0;
		for (struct store_job *j = retried; j; j = j->next)
			failed += j->status < 0;
		for (struct store_job *j = refused; j; j = j->next)
			failed++;

		int cache = 0, cache_hi = 0; /* this thread's connection: read here */
		sqlite3_db_status(s->writer, SQLITE_DBSTATUS_CACHE_USED, &cache, &cache_hi, 0);
		uv_mutex_lock(&s->mu);
		s->stats.writer_cache = (uint64_t)cache;
		s->stats.jobs += n;
		s->stats.failed += failed;
		s->stats.commits += committed || retry_committed;
		s->idle_work |= committed;
		if (n > s->stats.max_batch)
			s->stats.max_batch = n;
		uv_mutex_unlock(&s->mu);

		/* Only now, after COMMIT returned (and, through the syncer,
		 * after it is on disk), may anyone hear about it. */
		if (batch)
			store_hand_over(s, batch, committed);
		if (retried)
			store_hand_over(s, retried, retry_committed);
		if (refused)
			store_hand_over(s, refused, false);
		uv_mutex_lock(&s->mu);
	}
	uv_mutex_unlock(&s->mu);
}

static int submit(struct store *s, store_job_fn run, store_done_fn done, void *arg, bool lazy)
{
	if (!s->have_thread)
		return -ENOTSUP;
	struct store_job *j = calloc(1, sizeof *j);
	if (!j)
		return -ENOMEM;
	j->run = run;
	j->done = done;
	j->arg = arg;
	j->lazy = lazy;
	uv_mutex_lock(&s->mu);
	if (s->closing) {
		uv_mutex_unlock(&s->mu);
		free(j);
		return -ESHUTDOWN;
	}
	if (s->tail)
		s->tail->next = j;
	else
		s->head = j;
	s->tail = j;
	s->outstanding++;
	uv_thread_t self = uv_thread_self();
	if (s->waker && uv_thread_equal(&self, &s->loop_thread))
		s->wake = true;
	else
		uv_cond_signal(&s->cond);
	uv_mutex_unlock(&s->mu);
	return 0;
}

/* Before the loop polls: wake the writer for what this iteration submitted,
 * so one wake-up covers a burst (and the writer gets it as one batch). */
void store_on_loop_prepare(uv_prepare_t *h)
{
	struct store *s = h->data;
	if (!s)
		return;
	uv_mutex_lock(&s->mu);
	if (s->wake) {
		s->wake = false;
		uv_cond_signal(&s->cond);
	}
	uv_mutex_unlock(&s->mu);
}

int store_submit(struct store *s, store_job_fn run, store_done_fn done, void *arg)
{
	return submit(s, run, done, arg, false);
}

int store_submit_lazy(struct store *s, store_job_fn run, store_done_fn done, void *arg)
{
	return submit(s, run, done, arg, true);
}

uint64_t store_jobs_outstanding(struct store *s)
{
	return s->outstanding;
}

void store_get_stats(struct store *s, struct store_stats *out)
{
	uv_mutex_lock(&s->mu);
	*out = s->stats;
	uv_mutex_unlock(&s->mu);
	out->writes_stopped = store_writes_stopped(s);
}

uint64_t store_cache_bytes(struct store *s)
{
	int cur = 0, hi = 0;
	sqlite3_db_status(s->reader, SQLITE_DBSTATUS_CACHE_USED, &cur, &hi, 0);
	uv_mutex_lock(&s->mu);
	uint64_t writer = s->stats.writer_cache;
	uv_mutex_unlock(&s->mu);
	return (uint64_t)cur + writer;
}

void store_test_fail_next_commits(struct store *s, int n)
{
	uv_mutex_lock(&s->mu);
	s->fail_commits = n < 0 ? 0 : n;
	uv_mutex_unlock(&s->mu);
}

/* One transaction on the write connection, synchronous unless lazy. */
static int exec_txn(struct store *s, store_job_fn fn, void *arg, bool lazy)
{
	sqlite3 *db = s->writer;
	int rc, ret;
	uv_mutex_lock(&s->wlock);
	if (store_writes_stopped(s)) {
		ret = -EIO;
		goto out;
	}
	rc = control(db, "BEGIN IMMEDIATE");
	if (rc != SQLITE_OK) {
		ret = store_errno(rc);
		goto out;
	}
	ret = fn(&s->tx, arg);
	if (ret < 0) {
		if (!sqlite3_get_autocommit(db))
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		goto out;
	}
	if (sqlite3_get_autocommit(db)) {
		ret = -EIO; /* the transaction was lost under fn */
		goto out;
	}
	rc = control(db, "COMMIT");
	if (rc != SQLITE_OK) {
		log_error("store event=exec_commit_failed rc=%d err=\"%s\"", rc,
		          sqlite3_errmsg(db));
		if (!sqlite3_get_autocommit(db))
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		ret = store_errno(rc) ? store_errno(rc) : -EIO;
	} else if (s->have_syncer && lazy) {
		store_queue_for_sync(s, NULL, NULL, true); /* the syncer syncs it soon */
	} else if (s->have_syncer) {
		ret = store_wal_sync(s) < 0 ? -EIO : ret; /* on disk before we return */
	}
out:
	uv_mutex_unlock(&s->wlock);
	return ret;
}

int store_exec(struct store *s, store_job_fn fn, void *arg)
{
	return exec_txn(s, fn, arg, false);
}

int store_set_indexer(struct store *s, store_indexer_fn fn, int64_t version)
{
	int r = fn ? store_exec(s, store_index_drop_outdated, &version) : 0;
	atomic_store(&s->indexer, fn);
	uv_mutex_lock(&s->mu);
	s->idle_work = true;
	uv_mutex_unlock(&s->mu);
	return r;
}
