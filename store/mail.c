/* mail: messages, mailboxes, entries and delivery (see mail.h).
 *
 * Why shared message rows: one SMTP transaction to 50 local recipients, or
 * a message that is both delivered and relayed, stores its bytes once;
 * refcount counts holders (mailbox entries and queue rows) and is
 * maintained by every function that adds or drops a holder, so "delete the
 * message when nobody holds it" is a cheap indexed DELETE instead of a scan
 * for orphans. Messages are not deduplicated across deliveries (schema 5
 * in store.c says why).
 *
 * Why UID/MODSEQ live in the mailboxes row: allocating them is a
 * read-modify-write of that row inside the writer's transaction, which is
 * already serialised, so they are gap-free per call and never reused, with
 * no extra locking. One delivery bumps HIGHESTMODSEQ once per entry; one
 * expunge call uses a single new MODSEQ for all the UIDs it removes
 * (QRESYNC VANISHED (EARLIER) works from `expunged`).
 */
#include "store/mail.h"
#include "store/entries.h"
#include "store/mailboxes.h"
#include "store/store.h"
#include "store/store_int.h"
#include "store/threads.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

uint32_t store_flag_named(const char *s, size_t len)
{
	static const struct {
		const char *name;
		uint32_t bit;
	} sys[] = {{"\\Seen", STORE_FLAG_SEEN},
	           {"\\Answered", STORE_FLAG_ANSWERED},
	           {"\\Flagged", STORE_FLAG_FLAGGED},
	           {"\\Deleted", STORE_FLAG_DELETED},
	           {"\\Draft", STORE_FLAG_DRAFT}};
	for (size_t i = 0; i < sizeof sys / sizeof sys[0]; i++)
		if (strlen(sys[i].name) == len && strncasecmp(s, sys[i].name, len) == 0)
			return sys[i].bit;
	return 0;
}

/* ---- messages ---- */

ssize_t store_message_read(struct store_rd *rd, int64_t message_id, size_t offset, void *buf,
                           size_t len)
{
	return store_blob_read(rd->db, "messages", message_id, offset, buf, len);
}

int64_t store_message_size(struct store_rd *rd, int64_t message_id)
{
	sqlite3 *db = rd->db;
	return store_scalar(db, "SELECT size FROM messages WHERE id = ?1", message_id);
}

int store_message_ref(struct store_tx *tx, int64_t message_id, int delta)
{
	sqlite3 *db = tx->rd.db;
	sqlite3_stmt *st;
	int rc = store_prep_cached(db, &st,
	                           "UPDATE messages SET refcount = refcount + ?2 WHERE id = ?1");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, message_id);
	sqlite3_bind_int(st, 2, delta);
	rc = store_step_done(st);
	store_release(st);
	if (rc < 0)
		return rc;
	if (sqlite3_changes(db) == 0)
		return -ENOENT;
	if (delta >= 0)
		return 0;
	if ((rc = store_prep_cached(db, &st,
	                            "DELETE FROM messages WHERE id = ?1 AND refcount <= 0")) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, message_id);
	rc = store_step_done(st);
	store_release(st);
	return rc;
}

/* Inserts the message; returns its id (> 0) or negative. The refcount is
 * left at zero: the caller adds its holders. */
static int64_t message_insert(sqlite3 *db, const char *data, size_t len)
{
	sqlite3_stmt *st;
	/* The id is above every id handed out before, deleted ones included
	 * (meta 'message_hw', schema 10): it is the message's EMAILID, which
	 * must never name two messages. */
	int rc = store_prep_cached(
	    db, &st,
	    "INSERT INTO messages(id, size, refcount, created, data) VALUES("
	    "max(coalesce((SELECT max(id) FROM messages), 0), "
	    "coalesce((SELECT value FROM meta WHERE key = 'message_hw'), 0)) + 1, ?1, 0, ?2, ?3)");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)len);
	sqlite3_bind_int64(st, 2, store_now());
	sqlite3_bind_blob64(st, 3, data, len, SQLITE_STATIC);
	rc = store_step_done(st);
	store_release(st);
	if (rc < 0)
		return rc;
	/* The index rows (msg_index.h) are built later, by the writer's idle
	 * work (store/store.c), not in the delivery transaction. */
	return sqlite3_last_insert_rowid(db);
}

/* ---- delivery ---- */

struct deliver_stmts {
	sqlite3_stmt *mbox, *bump, *entry, *queue;
};

static void deliver_stmts_free(struct deliver_stmts *s)
{
	store_release(s->mbox);
	store_release(s->bump);
	store_release(s->entry);
	store_release(s->queue);
}

/* Adds one entry to mailbox mbid of account_id. */
static int add_entry(struct deliver_stmts *s, int64_t account_id, int64_t mbid, int64_t msgid,
                     int64_t size, int64_t idate, int64_t thread_id, uint32_t flags,
                     const char *keywords, uint32_t *uid_out, int64_t *modseq_out)
{
	int rc;
	sqlite3_reset(s->mbox);
	sqlite3_bind_int64(s->mbox, 1, mbid);
	sqlite3_bind_int64(s->mbox, 2, account_id);
	rc = sqlite3_step(s->mbox);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? -ENOENT : store_errno(rc);
	int64_t uid = sqlite3_column_int64(s->mbox, 0);
	int64_t modseq = sqlite3_column_int64(s->mbox, 1) + 1;
	sqlite3_reset(s->mbox);
	if (uid <= 0 || uid >= UINT32_MAX)
		return -EOVERFLOW;

	sqlite3_reset(s->bump);
	sqlite3_bind_int64(s->bump, 1, mbid);
	sqlite3_bind_int64(s->bump, 2, uid + 1);
	sqlite3_bind_int64(s->bump, 3, modseq);
	if ((rc = store_step_done(s->bump)) < 0)
		return rc;

	sqlite3_reset(s->entry);
	sqlite3_bind_int64(s->entry, 1, mbid);
	sqlite3_bind_int64(s->entry, 2, uid);
	sqlite3_bind_int64(s->entry, 3, msgid);
	sqlite3_bind_int64(s->entry, 4, modseq);
	sqlite3_bind_int64(s->entry, 5, idate);
	sqlite3_bind_int64(s->entry, 6, size);
	sqlite3_bind_int64(s->entry, 7, thread_id);
	sqlite3_bind_int64(s->entry, 8, store_now());
	sqlite3_bind_text(s->entry, 9, keywords, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s->entry, 10, flags & STORE_FLAG_ALL);
	if ((rc = store_step_done(s->entry)) < 0)
		return rc;
	*uid_out = (uint32_t)uid;
	*modseq_out = modseq;
	return 0;
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/* The account's mailbox with the \Junk special use (RFC 6154); one named
 * "Junk" is given that use, or created with it, when there is none. */
static int junk_mailbox(struct store_tx *tx, int64_t account_id, int64_t *mbid)
{
	sqlite3_stmt *st;
	int rc = store_prep_cached(tx->rd.db, &st,
	                           "SELECT id FROM mailboxes WHERE account_id = ?1 AND "
	                           "instr(' ' || special_use || ' ', ' \\Junk ') > 0 "
	                           "ORDER BY id LIMIT 1");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, account_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*mbid = sqlite3_column_int64(st, 0);
	rc = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : store_errno(rc);
	store_release(st);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	rc = store_mailbox_find(&tx->rd, account_id, "Junk", mbid);
	if (rc < 0)
		return rc;
	if (rc == 1) {
		rc = store_prep(tx->rd.db, &st,
		                "UPDATE mailboxes SET special_use = trim(special_use || ' \\Junk') "
		                "WHERE id = ?1");
		if (rc < 0)
			return rc;
		sqlite3_bind_int64(st, 1, *mbid);
		rc = store_step_done(st);
		sqlite3_finalize(st);
		return rc;
	}
	return store_mailbox_create(tx, account_id, "Junk", "\\Junk", mbid);
}

int store_deliver(struct store_tx *tx, struct store_delivery *d)
{
	sqlite3 *db = tx->rd.db;
	struct deliver_stmts s = {0};
	int64_t *mbids = NULL, *threads = NULL, refs = 0, now = store_now();
	int64_t idate = d->internal_date ? d->internal_date : now;
	int rc;

	if (!d->data || (d->nlocal == 0 && d->nremote == 0) || (d->nlocal && !d->local) ||
	    (d->nremote && !d->remote))
		return -EINVAL;
	if (d->nlocal && (!(mbids = calloc(d->nlocal, sizeof *mbids)) ||
	                  !(threads = calloc(d->nlocal, sizeof *threads)))) {
		free(mbids);
		return -ENOMEM;
	}

	int64_t msgid = message_insert(db, d->data, d->len);
	if (msgid < 0) {
		rc = (int)msgid;
		goto out;
	}
	if ((rc = store_prep_cached(db, &s.mbox,
	                            "SELECT uidnext, highestmodseq FROM mailboxes "
	                            "WHERE id = ?1 AND account_id = ?2")) < 0 ||
	    (rc = store_prep_cached(db, &s.bump,
	                            "UPDATE mailboxes SET uidnext = ?2, highestmodseq = ?3 "
	                            "WHERE id = ?1")) < 0 ||
	    (rc = store_prep_cached(
	         db, &s.entry,
	         "INSERT INTO mailbox_entries(mailbox_id, uid, message_id, flags, "
	         "modseq, internal_date, size, thread_id, save_date, keywords) "
	         "VALUES(?1, ?2, ?3, ?10, ?4, ?5, ?6, ?7, ?8, ?9)")) < 0 ||
	    (rc = store_prep_cached(
	         db, &s.queue,
	         "INSERT INTO queue(message_id, mail_from, rcpt, notify, orcpt, ret, "
	         "envid, next_attempt, expires, created) "
	         "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?8)")) < 0)
		goto out;

	for (size_t i = 0; i < d->nlocal; i++) {
		const struct store_local_rcpt *r = &d->local[i];
		int64_t mbid = r->mailbox_id;
		uint32_t uid = 0;
		int64_t modseq = 0;
		bool junk = d->junk && !r->not_junk;
		if (junk) {
			if ((rc = junk_mailbox(tx, r->account_id, &mbid)) < 0)
				goto out;
		} else if (mbid <= 0) {
			rc = store_mailbox_find(&tx->rd, r->account_id, "INBOX", &mbid);
			if (rc <= 0) {
				rc = rc == 0 ? -ENOENT : rc;
				goto out;
			}
		}
		mbids[i] = mbid;
		if (d->mailbox_ids)
			d->mailbox_ids[i] = mbid;
		size_t j;
		for (j = 0; j < i && mbids[j] != mbid; j++)
			;
		if (j < i) { /* same mailbox again: one entry */
			if (d->uids)
				d->uids[i] = d->uids[j];
			if (d->modseqs)
				d->modseqs[i] = d->modseqs[j];
			continue;
		}
		/* one thread per account: the first entry of the account assigns it */
		for (j = 0; j < i && d->local[j].account_id != r->account_id; j++)
			;
		if (j < i)
			threads[i] = threads[j];
		else if ((rc = store_thread_assign(tx, r->account_id, msgid, d->thread,
		                                   &threads[i])) < 0)
			goto out;
		const char *kw = r->keywords ? r->keywords : junk ? "$Junk" : "";
		rc = add_entry(&s, r->account_id, mbid, msgid, (int64_t)d->len, idate, threads[i],
		               r->flags, kw, &uid, &modseq);
		if (rc < 0)
			goto out;
		refs++;
		if (d->uids)
			d->uids[i] = uid;
		if (d->modseqs)
			d->modseqs[i] = modseq;
	}

	for (size_t i = 0; i < d->nremote; i++) {
		const struct store_remote_rcpt *r = &d->remote[i];
		if (!r->rcpt || !*r->rcpt) {
			rc = -EINVAL;
			goto out;
		}
		sqlite3_reset(s.queue);
		sqlite3_bind_int64(s.queue, 1, msgid);
		sqlite3_bind_text(s.queue, 2, d->mail_from ? d->mail_from : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(s.queue, 3, r->rcpt, -1, SQLITE_STATIC);
		bind_text_or_null(s.queue, 4, r->notify);
		bind_text_or_null(s.queue, 5, r->orcpt);
		bind_text_or_null(s.queue, 6, d->ret);
		bind_text_or_null(s.queue, 7, d->envid);
		sqlite3_bind_int64(s.queue, 8, now);
		sqlite3_bind_int64(s.queue, 9, now + STORE_QUEUE_LIFETIME);
		if ((rc = store_step_done(s.queue)) < 0)
			goto out;
		if (d->queue_ids)
			d->queue_ids[i] = sqlite3_last_insert_rowid(db);
		refs++;
	}
	rc = store_message_ref(tx, msgid, (int)refs);
	if (rc == 0)
		d->message_id = msgid;
out:
	deliver_stmts_free(&s);
	free(mbids);
	free(threads);
	return rc;
}

int store_deliver_job(struct store_tx *tx, void *arg)
{
	return store_deliver(tx, arg);
}

/* ---- mailboxes ---- */

/* ---- entries ---- */
