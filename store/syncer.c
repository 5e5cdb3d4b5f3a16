/* syncer: the thread that makes commits durable. */
#include "store/store.h"
#include "store/store_int.h"
#include "lib/log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- durability: the syncer ----
 *
 * The writer commits every batch without an fsync: it writes the WAL
 * frames (in one pwrite, store/wal_vfs.c, which takes SQLite's commit sync
 * for itself; or, without that VFS, with synchronous=NORMAL) and goes on
 * with the next batch. A second thread, the syncer, fdatasyncs the WAL
 * file (through its own descriptor: fdatasync flushes the file, whichever
 * descriptor wrote it) and only then completes the jobs of the batches
 * committed before the sync began. So a reply still waits for its data to
 * be on disk, but the writer's CPU work on the next batch overlaps the
 * disk's flush of the last one, and one sync covers every batch committed
 * while the previous sync ran.
 *
 * A job submitted with store_submit_lazy() changes nothing a crash may
 * undo without losing mail (flags, expunges, \Recent marks, index data):
 * it completes right after its commit, and its frames reach the disk with
 * the next sync, which the syncer runs at the latest STORE_LAZY_SYNC_MS
 * after the first unsynced commit. Dovecot never fsyncs its index files by
 * default; this is the same, with a bound.
 *
 * Why this is as durable as synchronous=FULL: the WAL is appended in
 * order, so a sync that starts after a commit returned covers it; SQLite
 * itself syncs the WAL before a checkpoint copies frames into the database
 * and the database after, in NORMAL as in FULL (and through our VFS, where
 * checkpoint_fullfsync marks those syncs as ones it must make); and SQLite
 * removes the WAL only when the last connection closes, so the descriptor
 * stays the file's until store_close(). */

/* ---- After a failed sync ----
 *
 * When fdatasync fails, the kernel may already have dropped the pages it
 * could not write and marked them clean: a later fdatasync then succeeds
 * without them (PostgreSQL's "fsyncgate", 2018). The frames of the failed
 * batch are not on disk, and SQLite, which believes they are, chains every
 * later commit's frames to them by checksum; after a restart the WAL's
 * recovery stops at the first missing frame and drops all that follow. So
 * no commit after a failed sync may be called durable: from then on this
 * store refuses every write (the clients get their protocol's temporary
 * error, /readyz says 503), completes no job that waited for a sync, and
 * says once why. Restarting tern reopens the database and recovers the WAL
 * as far as it is whole, which is what was acknowledged. */
bool store_writes_stopped(struct store *s)
{
	return atomic_load(&s->writes_stopped);
}

int store_wal_sync(struct store *s)
{
	int rc = fdatasync(s->wal_fd) == 0 ? 0 : -errno;
#ifdef TERN_FAULTS
	if (rc == 0 && store_fault_sync())
		rc = -EIO;
#endif
	uv_mutex_lock(&s->mu);
	s->stats.wal_syncs++;
	uv_mutex_unlock(&s->mu);
	if (rc < 0) {
		log_error("store event=wal_sync_failed err=\"%s\"", strerror(-rc));
		if (!atomic_exchange(&s->writes_stopped, true))
			log_error("store event=writes_stopped why=\"a sync of the WAL failed; "
			          "later commits could not be made durable\" action=\"restart "
			          "tern to recover the store\"");
	} else if (store_writes_stopped(s)) {
		rc = -EIO; /* this sync cannot vouch for frames after the lost ones */
	}
	return rc;
}

/* After a commit: jobs (possibly none) wait for the next sync, which
 * comes at the latest STORE_LAZY_SYNC_MS after the oldest unsynced commit;
 * with jobs waiting the syncer syncs at once. wlock held. */
void store_queue_for_sync(struct store *s, struct store_job *jobs, struct store_job *last,
                          bool lazy_only)
{
	uv_mutex_lock(&s->smu);
	if (jobs) {
		if (s->stail)
			s->stail->next = jobs;
		else
			s->shead = jobs;
		s->stail = last;
	}
	if (!s->unsynced_ns)
		s->unsynced_ns = uv_hrtime();
	uv_cond_signal(&s->scond);
	uv_mutex_unlock(&s->smu);
	if (lazy_only) {
		uv_mutex_lock(&s->mu);
		s->stats.lazy_commits++;
		uv_mutex_unlock(&s->mu);
	}
}

/* Writer thread, after a batch committed (or not): lazy jobs, failed jobs
 * and, without a syncer, every job complete now; the others after the
 * next sync. */
void store_hand_over(struct store *s, struct store_job *batch, bool committed)
{
	struct store_job *now = NULL, **nt = &now, *later = NULL, **lt = &later;
	struct store_job *now_last = NULL, *later_last = NULL;
	bool lazy_only = true;
	for (struct store_job *j = batch, *next; j; j = next) {
		next = j->next;
		j->next = NULL;
		lazy_only &= j->lazy;
		if (!committed || !s->have_syncer || j->lazy || j->status < 0) {
			*nt = now_last = j;
			nt = &j->next;
		} else {
			*lt = later_last = j;
			lt = &j->next;
		}
	}
	if (committed && s->have_syncer)
		store_queue_for_sync(s, later, later_last, lazy_only);
	if (now)
		store_post_completions(s, now, now_last);
}

static void syncer_main(void *arg)
{
	struct store *s = arg;
	uv_mutex_lock(&s->smu);
	for (;;) {
		if (!s->shead) {
			if (!s->unsynced_ns) {
				if (s->sclosing)
					break;
				uv_cond_wait(&s->scond, &s->smu);
				continue;
			}
			uint64_t now = uv_hrtime();
			uint64_t at = s->unsynced_ns + (uint64_t)STORE_LAZY_SYNC_MS * 1000000u;
			if (now < at && !s->sclosing) {
				uv_cond_timedwait(&s->scond, &s->smu, at - now);
				continue;
			}
		}
		/* Everything committed so far: the jobs waiting and any lazy
		 * commit. A commit after this point sets unsynced_ns again. */
		struct store_job *list = s->shead, *last = s->stail;
		s->shead = s->stail = NULL;
		s->unsynced_ns = 0;
		uv_mutex_unlock(&s->smu);
		int rc = store_wal_sync(s);
		if (rc < 0)
			for (struct store_job *j = list; j; j = j->next)
				j->status = rc;
		if (list)
			store_post_completions(s, list, last);
		uv_mutex_lock(&s->smu);
	}
	uv_mutex_unlock(&s->smu);
}

/* With a loop: our own descriptor of the WAL, the writer in NORMAL mode,
 * and the syncer thread. Any step failing leaves synchronous=FULL, where
 * every commit syncs by itself (as the CLI's store does). */
void store_syncer_start(struct store *s)
{
	char wal[sizeof s->path + 8];
	snprintf(wal, sizeof wal, "%s-wal", s->path);
	s->wal_fd = open(wal, O_RDONLY | O_CLOEXEC);
	if (s->wal_fd < 0) {
		log_warn("store event=no_syncer err=\"%s\"", strerror(errno));
		return;
	}
	/* Commits leave the WAL sync to the syncer: through store/wal_vfs.c,
	 * whose WAL then writes a commit's frames at its SQLITE_SYNC_NORMAL
	 * sync and leaves the rest to us, while the syncs around checkpoints
	 * come as SQLITE_SYNC_FULL and stay real; or, without it, with
	 * synchronous=NORMAL, which does not sync commits at all. */
	bool deferred = sqlite3_exec(s->writer, "PRAGMA checkpoint_fullfsync=ON", NULL, NULL,
	                             NULL) == SQLITE_OK &&
	                store_wal_defer_commit_syncs(s->writer, true) == 0;
	if ((deferred ||
	     sqlite3_exec(s->writer, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL) == SQLITE_OK) &&
	    uv_thread_create(&s->syncer, syncer_main, s) == 0) {
		s->have_syncer = true;
		return;
	}
	if (deferred)
		store_wal_defer_commit_syncs(s->writer, false);
	sqlite3_exec(s->writer, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
	close(s->wal_fd);
	s->wal_fd = -1;
}

/* After the writer thread ended: the last sync, then the thread ends. */
void store_syncer_stop(struct store *s)
{
	if (s->have_syncer) {
		store_stop_thread(&s->smu, &s->scond, &s->sclosing, &s->syncer);
		s->have_syncer = false;
	}
	if (s->wal_fd >= 0)
		close(s->wal_fd);
	s->wal_fd = -1;
}
