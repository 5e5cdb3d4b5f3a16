/* import: mailboxes and message batches for `tern import` (import.h).
 *
 * A message goes in through store_deliver(), like an APPEND, so it gets a
 * message row, an entry, a MODSEQ, a save date and a thread as any other
 * mail does. A kept UID is given by setting the mailbox's UIDNEXT to it
 * first (never lowering it): delivery then takes exactly that UID. */
#include "store/import.h"
#include "store/entries.h"
#include "store/mail.h"
#include "store/mailboxes.h"
#include "store/store_int.h"

#include <errno.h>
#include <string.h>

int store_uidvalidity_taken(struct store_rd *rd, uint32_t uidvalidity, int64_t except_mailbox_id)
{
	sqlite3_stmt *st;
	int rc = store_prep(rd->db, &st,
	                    "SELECT 1 FROM mailboxes WHERE uidvalidity = ?1 AND id != ?2 LIMIT 1");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, uidvalidity);
	sqlite3_bind_int64(st, 2, except_mailbox_id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : store_errno(rc);
}

static int set_uids(sqlite3 *db, struct store_import_mailbox *q)
{
	if (q->uidvalidity == 0 || q->uidnext == 0)
		return -EINVAL;
	int64_t n = store_scalar(db, "SELECT count(*) FROM mailbox_entries WHERE mailbox_id = ?1",
	                         q->mailbox_id);
	if (n < 0)
		return (int)n;
	if (n > 0)
		return -ENOTEMPTY;
	struct store_rd rd = {.db = db};
	int rc = store_uidvalidity_taken(&rd, q->uidvalidity, q->mailbox_id);
	if (rc != 0)
		return rc < 0 ? rc : -EADDRINUSE;
	sqlite3_stmt *st;
	/* A new UIDVALIDITY: what QRESYNC remembered of the old one goes. */
	if ((rc = store_prep(db, &st, "DELETE FROM expunged WHERE mailbox_id = ?1")) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, q->mailbox_id);
	rc = store_step_done(st);
	sqlite3_finalize(st);
	if (rc < 0)
		return rc;
	if ((rc = store_prep(db, &st,
	                     "UPDATE mailboxes SET uidvalidity = ?2, uidnext = ?3, "
	                     "highestmodseq = highestmodseq + 1 WHERE id = ?1")) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, q->mailbox_id);
	sqlite3_bind_int64(st, 2, q->uidvalidity);
	sqlite3_bind_int64(st, 3, q->uidnext);
	rc = store_step_done(st);
	sqlite3_finalize(st);
	if (rc < 0)
		return rc;
	/* No UIDVALIDITY handed out later may equal this one. */
	if ((rc = store_prep(db, &st,
	                     "INSERT INTO meta(key, value) VALUES('uidvalidity', ?1) "
	                     "ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)")) <
	    0)
		return rc;
	sqlite3_bind_int64(st, 1, q->uidvalidity);
	rc = store_step_done(st);
	sqlite3_finalize(st);
	return rc;
}

int store_import_mailbox_job(struct store_tx *tx, void *arg)
{
	struct store_import_mailbox *q = arg;
	q->created = false;
	int rc = store_mailbox_find(&tx->rd, q->account_id, q->name, &q->mailbox_id);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		struct store_mailbox_req req = {.account_id = q->account_id, .name = q->name};
		if ((rc = store_mailbox_create_job(tx, &req)) < 0)
			return rc;
		q->mailbox_id = req.mailbox_id;
		q->created = true;
	}
	return q->keep_uids ? set_uids(tx->rd.db, q) : 0;
}

static int raise_uidnext(sqlite3 *db, int64_t mailbox_id, uint32_t uidnext)
{
	sqlite3_stmt *st;
	int rc = store_prep_cached(db, &st,
	                           "UPDATE mailboxes SET uidnext = max(uidnext, ?2) WHERE id = ?1");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, uidnext);
	rc = store_step_done(st);
	store_release(st);
	return rc;
}

int store_import_batch_job(struct store_tx *tx, void *arg)
{
	struct store_import_batch *b = arg;
	sqlite3 *db = tx->rd.db;
	int rc;
	for (size_t i = 0; i < b->n; i++) {
		struct store_import_msg *m = &b->msgs[i];
		if (m->uid) {
			int64_t next = store_scalar(
			    db, "SELECT uidnext FROM mailboxes WHERE id = ?1", b->mailbox_id);
			if (next < 0)
				return (int)next;
			if ((int64_t)m->uid < next)
				return -ERANGE;
			if ((rc = raise_uidnext(db, b->mailbox_id, m->uid)) < 0)
				return rc;
		}
		struct store_append_req a = {
		    .account_id = b->account_id,
		    .mailbox_id = b->mailbox_id,
		    .data = m->data,
		    .len = m->len,
		    .internal_date = m->internal_date > 0 ? m->internal_date : 0,
		    .flags = m->flags & STORE_FLAG_ALL,
		    .keywords = m->keywords ? m->keywords : "",
		    .thread = m->thread,
		};
		if ((rc = store_append_job(tx, &a)) < 0)
			return rc;
		if (m->uid && a.uid != m->uid)
			return -EIO; /* cannot happen: delivery takes UIDNEXT */
	}
	return b->uidnext ? raise_uidnext(db, b->mailbox_id, b->uidnext) : 0;
}
