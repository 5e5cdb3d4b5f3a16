/* changes: the messages and threads touched since a set of mailbox marks
 * (see changes.h for the rule). Three steps, all on one read view:
 *
 *  1. the marks of now; every marked mailbox must still be there with its
 *     UIDVALIDITY, else -ESTALE;
 *  2. per mailbox, the entries and expunged rows above its mark's
 *     HIGHESTMODSEQ (a mailbox without a mark: all its entries); an
 *     expunged row below the mark's UIDNEXT is an entry that existed then;
 *  3. per touched message, its entries now (index mailbox_entries_message):
 *     one in the account means it exists, one in a marked mailbox below
 *     the mark's UIDNEXT means it existed then too.
 *
 * The work is proportional to what changed (plus one walk of the
 * account's entries for threads whose existence is still open), never to
 * the size of the mailboxes. */
#include "store/changes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

int store_mailbox_marks(struct store_rd *rd, int64_t account_id, struct store_mailbox_mark **v,
                        size_t *n)
{
	*v = NULL;
	*n = 0;
	sqlite3_stmt *st;
	int r = store_prep_cached(rd->db, &st,
	                          "SELECT id, highestmodseq, uidvalidity, uidnext FROM mailboxes "
	                          "WHERE account_id = ?1 ORDER BY id");
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, account_id);
	size_t cap = 0;
	int ret = 0;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			struct store_mailbox_mark *nv = realloc(*v, cap * sizeof *nv);
			if (!nv) {
				ret = -ENOMEM;
				break;
			}
			*v = nv;
		}
		(*v)[(*n)++] = (struct store_mailbox_mark){
		    .mailbox_id = sqlite3_column_int64(st, 0),
		    .highestmodseq = sqlite3_column_int64(st, 1),
		    .uidvalidity = (uint32_t)sqlite3_column_int64(st, 2),
		    .uidnext = (uint32_t)sqlite3_column_int64(st, 3),
		};
	}
	if (ret == 0 && r != SQLITE_DONE)
		ret = store_errno(r);
	store_release(st);
	if (ret < 0) {
		free(*v);
		*v = NULL;
		*n = 0;
	}
	return ret;
}

int store_marks_state(const struct store_mailbox_mark *v, size_t n, char *out, size_t outlen)
{
	unsigned long long modseqs = 0, uidvalidities = 0;
	for (size_t i = 0; i < n; i++) {
		modseqs += (unsigned long long)v[i].highestmodseq;
		uidvalidities += v[i].uidvalidity;
	}
	int w =
	    snprintf(out, outlen, "%llx.%llx.%llx", modseqs, (unsigned long long)n, uidvalidities);
	return w < 0 || (size_t)w >= outlen ? -ENOSPC : 0;
}

static const struct store_mailbox_mark *mark_of(const struct store_mailbox_mark *v, size_t n,
                                                int64_t mailbox_id)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid].mailbox_id == mailbox_id)
			return &v[mid];
		if (v[mid].mailbox_id < mailbox_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

struct change_vec {
	struct store_change *v;
	size_t n, cap;
};

static int push(struct change_vec *cv, int64_t id, int64_t thread_id, bool existed)
{
	if (cv->n == cv->cap) {
		size_t cap = cv->cap ? cv->cap * 2 : 64;
		struct store_change *nv = realloc(cv->v, cap * sizeof *nv);
		if (!nv)
			return -ENOMEM;
		cv->v = nv;
		cv->cap = cap;
	}
	cv->v[cv->n++] =
	    (struct store_change){.id = id, .thread_id = thread_id, .existed = existed};
	return 0;
}

static int by_id(const void *a, const void *b)
{
	const struct store_change *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Step 2 for one mailbox: its entries above modseq (existed: below
 * uidnext, a mark's mailbox only) and, for a marked mailbox, its expunged
 * rows above it. */
static int touched_in(sqlite3 *db, const struct store_mailbox_mark *now,
                      const struct store_mailbox_mark *mark, struct change_vec *cv)
{
	sqlite3_stmt *st;
	int r = store_prep_cached(db, &st,
	                          "SELECT message_id, coalesce(thread_id, message_id), uid "
	                          "FROM mailbox_entries INDEXED BY mailbox_entries_modseq "
	                          "WHERE mailbox_id = ?1 AND modseq > ?2");
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, now->mailbox_id);
	sqlite3_bind_int64(st, 2, mark ? mark->highestmodseq : INT64_MIN);
	int ret = 0;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		uint32_t uid = (uint32_t)sqlite3_column_int64(st, 2);
		if ((ret = push(cv, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
		                mark && uid < mark->uidnext)) < 0)
			break;
	}
	if (ret == 0 && r != SQLITE_DONE)
		ret = store_errno(r);
	store_release(st);
	if (ret < 0 || !mark)
		return ret;
	/* Expunged rows of a mailbox the marks do not name are of entries
	 * made and removed since: nothing the client saw. */
	if ((r = store_prep_cached(db, &st,
	                           "SELECT message_id, coalesce(thread_id, message_id), uid "
	                           "FROM expunged INDEXED BY expunged_modseq "
	                           "WHERE mailbox_id = ?1 AND modseq > ?2")) < 0)
		return r;
	sqlite3_bind_int64(st, 1, now->mailbox_id);
	sqlite3_bind_int64(st, 2, mark->highestmodseq);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_type(st, 0) == SQLITE_NULL) {
			ret = -ESTALE; /* expunged before schema 17: no message named */
			break;
		}
		uint32_t uid = (uint32_t)sqlite3_column_int64(st, 2);
		if ((ret = push(cv, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
		                uid < mark->uidnext)) < 0)
			break;
	}
	if (ret == 0 && r != SQLITE_DONE)
		ret = store_errno(r);
	store_release(st);
	return ret;
}

/* Step 3 for one message: where its entries are now. */
static int entries_now(sqlite3 *db, const struct store_mailbox_mark *now, size_t nnow,
                       const struct store_mailbox_mark *since, size_t nsince,
                       struct store_change *c)
{
	sqlite3_stmt *st;
	int r = store_prep_cached(db, &st,
	                          "SELECT mailbox_id, uid FROM mailbox_entries "
	                          "INDEXED BY mailbox_entries_message WHERE message_id = ?1");
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, c->id);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t mailbox_id = sqlite3_column_int64(st, 0);
		uint32_t uid = (uint32_t)sqlite3_column_int64(st, 1);
		if (!mark_of(now, nnow, mailbox_id))
			continue; /* another account's entry of a shared message */
		c->exists = true;
		const struct store_mailbox_mark *m = mark_of(since, nsince, mailbox_id);
		if (m && uid < m->uidnext)
			c->existed = true;
	}
	r = r == SQLITE_DONE ? 0 : store_errno(r);
	store_release(st);
	return r;
}

int store_email_changes(struct store_rd *rd, int64_t account_id,
                        const struct store_mailbox_mark *since, size_t n, struct store_change **out,
                        size_t *nout)
{
	*out = NULL;
	*nout = 0;
	struct store_mailbox_mark *now;
	size_t nnow;
	int r = store_mailbox_marks(rd, account_id, &now, &nnow);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		const struct store_mailbox_mark *m = mark_of(now, nnow, since[i].mailbox_id);
		if (!m || m->uidvalidity != since[i].uidvalidity ||
		    (i && since[i - 1].mailbox_id >= since[i].mailbox_id)) {
			free(now);
			return -ESTALE;
		}
	}
	struct change_vec cv = {0};
	for (size_t i = 0; r == 0 && i < nnow; i++)
		r = touched_in(rd->db, &now[i], mark_of(since, n, now[i].mailbox_id), &cv);
	if (r < 0)
		goto out;
	if (cv.n)
		qsort(cv.v, cv.n, sizeof *cv.v, by_id);
	/* one per message; then where each is now */
	size_t w = 0;
	for (size_t i = 0; i < cv.n; i++) {
		if (w && cv.v[w - 1].id == cv.v[i].id) {
			cv.v[w - 1].existed |= cv.v[i].existed;
			continue;
		}
		cv.v[w++] = cv.v[i];
	}
	cv.n = w;
	w = 0;
	for (size_t i = 0; i < cv.n; i++) {
		if ((r = entries_now(rd->db, now, nnow, since, n, &cv.v[i])) < 0)
			goto out;
		if (cv.v[i].existed || cv.v[i].exists)
			cv.v[w++] = cv.v[i];
	}
	cv.n = w;
out:
	free(now);
	if (r < 0 || cv.n == 0) {
		free(cv.v);
		return r < 0 ? r : 0;
	}
	*out = cv.v;
	*nout = cv.n;
	return 0;
}

static int by_thread(const void *a, const void *b)
{
	const struct store_change *x = a, *y = b;
	if (x->thread_id != y->thread_id)
		return x->thread_id < y->thread_id ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static bool has_id(const struct store_change *v, size_t n, int64_t id)
{
	struct store_change key = {.id = id};
	return bsearch(&key, v, n, sizeof *v, by_id) != NULL;
}

/* A thread with a message that is in the account now and was not touched
 * both existed and exists: one walk of the account's entries finds them
 * for the threads still open. */
static int untouched_members(struct store_rd *rd, int64_t account_id,
                             const struct store_change *emails, size_t nemails,
                             struct store_change *threads, size_t nthreads)
{
	sqlite3_stmt *st;
	int r = store_prep_cached(rd->db, &st,
	                          "SELECT e.message_id, coalesce(e.thread_id, e.message_id) "
	                          "FROM mailbox_entries e JOIN mailboxes b ON b.id = e.mailbox_id "
	                          "WHERE b.account_id = ?1");
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, account_id);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_change key = {.id = sqlite3_column_int64(st, 1)};
		struct store_change *t = bsearch(&key, threads, nthreads, sizeof *threads, by_id);
		if (!t || (t->existed && t->exists))
			continue;
		if (!has_id(emails, nemails, sqlite3_column_int64(st, 0)))
			t->existed = t->exists = true;
	}
	r = r == SQLITE_DONE ? 0 : store_errno(r);
	store_release(st);
	return r;
}

int store_thread_changes(struct store_rd *rd, int64_t account_id,
                         const struct store_mailbox_mark *since, size_t n,
                         struct store_change **out, size_t *nout)
{
	*out = NULL;
	*nout = 0;
	struct store_change *emails;
	size_t nemails;
	int r = store_email_changes(rd, account_id, since, n, &emails, &nemails);
	if (r < 0 || nemails == 0)
		return r;
	struct store_change *threads = malloc(nemails * sizeof *threads);
	if (!threads) {
		free(emails);
		return -ENOMEM;
	}
	/* emails stays sorted by id for has_id(); threads is built from a
	 * copy sorted by thread */
	memcpy(threads, emails, nemails * sizeof *threads);
	qsort(threads, nemails, sizeof *threads, by_thread);
	size_t w = 0;
	bool open = false;
	for (size_t i = 0; i < nemails; i++) {
		const struct store_change *e = &threads[i];
		if (w && threads[w - 1].id == e->thread_id) {
			threads[w - 1].existed |= e->existed;
			threads[w - 1].exists |= e->exists;
			continue;
		}
		threads[w++] = (struct store_change){.id = e->thread_id,
		                                     .thread_id = e->thread_id,
		                                     .existed = e->existed,
		                                     .exists = e->exists};
	}
	for (size_t i = 0; i < w; i++)
		open |= !(threads[i].existed && threads[i].exists);
	r = open ? untouched_members(rd, account_id, emails, nemails, threads, w) : 0;
	free(emails);
	if (r < 0) {
		free(threads);
		return r;
	}
	*out = threads;
	*nout = w;
	return 0;
}
