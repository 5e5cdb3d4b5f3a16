/* checkpointer: the thread that copies the WAL into the database. */
#include "store/store.h"
#include "store/store_int.h"
#include "lib/log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- checkpoints ----
 *
 * SQLite's automatic checkpoint runs inside the COMMIT that takes the WAL
 * past 1000 pages, on the writer thread: it syncs the WAL, copies its pages
 * into the database and syncs that while every job waits. Under an SMTP
 * load that was a quarter of the writer's time, thirty times a second.
 * Instead the WAL hook wakes a checkpointer thread with its own connection,
 * which copies the pages with PASSIVE checkpoints (they never block the
 * writer or a reader) while the writer goes on.
 *
 * SQLite starts the WAL over from its beginning only when a checkpoint has
 * copied all of it, which a checkpoint running beside a busy writer never
 * quite does. So past STORE_CHECKPOINT_HARD pages the writer checkpoints
 * in its own thread, as SQLite would: that copies only what the
 * checkpointer has not, and the next transaction starts the WAL over. */
#define STORE_CHECKPOINT_SOFT 1000
#define STORE_CHECKPOINT_HARD 4000
/* Past SOFT, the checkpointer is woken again only after this many more
 * pages: often enough that little is left for the writer at HARD (which
 * halved the SMTP bench's p99 against a step of 1000), rarely enough that a
 * trickle of mail does not bring a checkpoint with every commit. */
#define STORE_CHECKPOINT_STEP 250

static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct store *s = arg;
	if (pages < s->wal_pages)
		s->ckpt_at = STORE_CHECKPOINT_SOFT; /* the WAL started over */
	s->wal_pages = pages;
	if (pages >= STORE_CHECKPOINT_HARD) {
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	} else if (pages >= s->ckpt_at) {
		/* Once per STORE_CHECKPOINT_STEP pages, not after every commit
		 * past SOFT: a commit that begins while a checkpoint runs keeps
		 * the WAL from starting over, so at a steady trickle of mail
		 * each commit would bring a checkpoint (two fsyncs) of its own. */
		s->ckpt_at = pages + STORE_CHECKPOINT_STEP;
		store_checkpointer_wake(s);
	}
	return SQLITE_OK;
}

static void checkpointer_main(void *arg)
{
	struct store *s = arg;
	uv_mutex_lock(&s->kmu);
	for (;;) {
		while (!s->kwanted && !s->kclosing)
			uv_cond_wait(&s->kcond, &s->kmu);
		if (s->kclosing)
			break;
		s->kwanted = false;
		uv_mutex_unlock(&s->kmu);
		int rc =
		    sqlite3_wal_checkpoint_v2(s->ckpt, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		uv_mutex_lock(&s->mu);
		s->stats.checkpoints++;
		uv_mutex_unlock(&s->mu);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			log_warn("store event=checkpoint_failed rc=%d err=\"%s\"", rc,
			         sqlite3_errmsg(s->ckpt));
		if ((rc & 0xff) == SQLITE_FULL) /* the writer gives it the reserve */
			atomic_store(&s->ckpt_full, true);
		uv_mutex_lock(&s->kmu);
	}
	uv_mutex_unlock(&s->kmu);
}

void store_checkpointer_wake(struct store *s)
{
	if (!s->have_checkpointer)
		return;
	uv_mutex_lock(&s->kmu);
	s->kwanted = true;
	uv_cond_signal(&s->kcond);
	uv_mutex_unlock(&s->kmu);
}

/* Without it (no connection, no thread), SQLite's own checkpoints stay. */
void store_checkpointer_start(struct store *s)
{
	char err[256];
	if (store_open_conn(&s->ckpt, s->path, false, err, sizeof err) < 0) {
		log_warn("store event=no_checkpointer err=\"%s\"", err);
		return;
	}
	if (uv_thread_create(&s->checkpointer, checkpointer_main, s) != 0) {
		sqlite3_close(s->ckpt);
		s->ckpt = NULL;
		return;
	}
	s->have_checkpointer = true;
	s->ckpt_at = STORE_CHECKPOINT_SOFT;
	sqlite3_wal_hook(s->writer, wal_hook, s);
}

/* After the writer thread ended. */
void store_checkpointer_stop(struct store *s)
{
	if (s->have_checkpointer) {
		store_stop_thread(&s->kmu, &s->kcond, &s->kclosing, &s->checkpointer);
		s->have_checkpointer = false;
	}
	sqlite3_close(s->ckpt);
	s->ckpt = NULL;
}
