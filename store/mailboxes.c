/* mailboxes: the mailbox rows of an account and their counters (see
 * mailboxes.h); the hierarchy operations are in mailbox_tree.c. */
#include "store/mailboxes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store/store.h"
#include "store/store_int.h"

int store_mailbox_counts(struct store_rd *rd, int64_t mailbox_id, struct store_mailbox_counts *out)
{
	sqlite3 *db = rd->db;
	sqlite3_stmt *st;
	memset(out, 0, sizeof *out);
	int rc = store_prep(db, &st,
	                    "SELECT count(*), coalesce(sum((e.flags & 1) = 0), 0), "
	                    "coalesce(sum((e.flags & 8) != 0), 0), coalesce(sum(e.size), 0) "
	                    "FROM mailbox_entries e WHERE e.mailbox_id = ?1");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, mailbox_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->messages = (uint32_t)sqlite3_column_int64(st, 0);
		out->unseen = (uint32_t)sqlite3_column_int64(st, 1);
		out->deleted = (uint32_t)sqlite3_column_int64(st, 2);
		out->size = (uint64_t)sqlite3_column_int64(st, 3);
		rc = 0;
	} else {
		rc = store_errno(rc);
	}
	sqlite3_finalize(st);
	return rc;
}

int store_mailbox_thread_counts(struct store_rd *rd, int64_t mailbox_id,
                                struct store_mailbox_thread_counts *out)
{
	sqlite3_stmt *st;
	memset(out, 0, sizeof *out);
	int rc = store_prep_cached(
	    rd->db, &st,
	    "SELECT count(*), coalesce(sum((flags & 17) = 0), 0), "
	    "count(DISTINCT coalesce(thread_id, message_id)), "
	    "count(DISTINCT CASE WHEN (flags & 17) = 0 THEN coalesce(thread_id, message_id) END) "
	    "FROM mailbox_entries WHERE mailbox_id = ?1");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, mailbox_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->emails = (uint32_t)sqlite3_column_int64(st, 0);
		out->unread_emails = (uint32_t)sqlite3_column_int64(st, 1);
		out->threads = (uint32_t)sqlite3_column_int64(st, 2);
		out->unread_threads = (uint32_t)sqlite3_column_int64(st, 3);
		rc = 0;
	} else {
		rc = store_errno(rc);
	}
	store_release(st);
	return rc;
}

int64_t store_recent_uid(struct store_rd *rd, int64_t mailbox_id)
{
	sqlite3 *db = rd->db;
	return store_scalar(db, "SELECT recent_uid FROM mailboxes WHERE id = ?1", mailbox_id);
}

int store_recent_mark_job(struct store_tx *tx, void *job)
{
	sqlite3 *db = tx->rd.db;
	struct store_recent_mark *q = job;
	sqlite3_stmt *st;
	int rc = store_prep_cached(db, &st,
	                           "UPDATE mailboxes SET recent_uid = ?2 "
	                           "WHERE id = ?1 AND recent_uid < ?2");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, q->mailbox_id);
	sqlite3_bind_int64(st, 2, q->uid);
	rc = store_step_done(st);
	store_release(st);
	return rc;
}

static const char *mailbox_name(const char *name)
{
	return strcasecmp(name, "INBOX") == 0 ? "INBOX" : name;
}

int store_mailbox_find(struct store_rd *rd, int64_t account_id, const char *name,
                       int64_t *mailbox_id)
{
	sqlite3 *db = rd->db;
	sqlite3_stmt *st;
	if (!name)
		return -EINVAL;
	int rc = store_prep_cached(db, &st,
	                           "SELECT id FROM mailboxes WHERE account_id = ?1 AND name = ?2");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, account_id);
	sqlite3_bind_text(st, 2, mailbox_name(name), -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (mailbox_id)
			*mailbox_id = sqlite3_column_int64(st, 0);
		rc = 1;
	} else {
		rc = rc == SQLITE_DONE ? 0 : store_errno(rc);
	}
	store_release(st);
	return rc;
}

#define MAILBOX_COLS                                                                               \
	"id, account_id, name, special_use, uidvalidity, uidnext, highestmodseq, "                 \
	"EXISTS(SELECT 1 FROM subscriptions s WHERE s.account_id = mailboxes.account_id "          \
	"AND s.name = mailboxes.name)"

static void mailbox_row(sqlite3_stmt *st, struct store_mailbox *mb)
{
	mb->id = sqlite3_column_int64(st, 0);
	mb->account_id = sqlite3_column_int64(st, 1);
	mb->name = (const char *)sqlite3_column_text(st, 2);
	mb->special_use = (const char *)sqlite3_column_text(st, 3);
	mb->uidvalidity = (uint32_t)sqlite3_column_int64(st, 4);
	mb->uidnext = (uint32_t)sqlite3_column_int64(st, 5);
	mb->highestmodseq = sqlite3_column_int64(st, 6);
	mb->subscribed = sqlite3_column_int(st, 7);
}

int store_mailbox_get(struct store_rd *rd, int64_t mailbox_id, struct store_mailbox *out)
{
	sqlite3 *db = rd->db;
	sqlite3_stmt *st;
	int rc = store_prep_cached(db, &st, "SELECT " MAILBOX_COLS " FROM mailboxes WHERE id = ?1");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, mailbox_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		mailbox_row(st, out);
		out->name = out->special_use = NULL;
		rc = 1;
	} else {
		rc = rc == SQLITE_DONE ? 0 : store_errno(rc);
	}
	store_release(st);
	return rc;
}

int store_mailbox_list(struct store_rd *rd, int64_t account_id,
                       int (*cb)(void *ud, const struct store_mailbox *mb), void *ud)
{
	sqlite3 *db = rd->db;
	sqlite3_stmt *st;
	/* INBOX first, then by name: the order a client expects from LIST. */
	int rc = store_prep_cached(db, &st,
	                           "SELECT " MAILBOX_COLS " FROM mailboxes WHERE account_id = ?1 "
	                           "ORDER BY name <> 'INBOX', name");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, account_id);
	int ret = 0;
	struct store_mailbox mb;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		mailbox_row(st, &mb);
		if ((ret = cb(ud, &mb)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_errno(rc);
	store_release(st);
	return ret;
}

int store_mailbox_create(struct store_tx *tx, int64_t account_id, const char *name,
                         const char *special_use, int64_t *id)
{
	sqlite3 *db = tx->rd.db;
	if (!name || !*name)
		return -EINVAL;
	uint32_t uidvalidity = store_next_uidvalidity(db);
	if (uidvalidity == 0)
		return -EIO;
	sqlite3_stmt *st;
	int rc = store_prep(db, &st,
	                    "INSERT INTO mailboxes(account_id, name, special_use, uidvalidity, "
	                    "uidnext, highestmodseq, created) "
	                    "VALUES(?1, ?2, ?3, ?4, 1, 1, ?5)");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, account_id);
	sqlite3_bind_text(st, 2, mailbox_name(name), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, special_use ? special_use : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, uidvalidity);
	sqlite3_bind_int64(st, 5, store_now());
	rc = store_step_done(st);
	sqlite3_finalize(st);
	if (rc == 0 && id)
		*id = sqlite3_last_insert_rowid(db);
	if (rc == 0) {
		int sub = store_subscription_set(db, account_id, name, true);
		rc = sub < 0 ? sub : 0;
	}
	return rc;
}

int store_subscription_set(sqlite3 *db, int64_t account_id, const char *name, bool on)
{
	sqlite3_stmt *st;
	int rc =
	    store_prep(db, &st,
	               on ? "INSERT OR IGNORE INTO subscriptions(account_id, name) VALUES(?1, ?2)"
	                  : "DELETE FROM subscriptions WHERE account_id = ?1 AND name = ?2");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, account_id);
	sqlite3_bind_text(st, 2, mailbox_name(name), -1, SQLITE_STATIC);
	rc = store_step_done(st);
	sqlite3_finalize(st);
	return rc < 0 ? rc : sqlite3_changes(db);
}

int store_subscription_list(struct store_rd *rd, int64_t account_id,
                            int (*cb)(void *ud, const char *name), void *ud)
{
	sqlite3 *db = rd->db;
	sqlite3_stmt *st;
	int rc = store_prep(db, &st,
	                    "SELECT name FROM subscriptions WHERE account_id = ?1 "
	                    "ORDER BY name <> 'INBOX', name");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, account_id);
	int ret = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((ret = cb(ud, (const char *)sqlite3_column_text(st, 0))) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_errno(rc);
	sqlite3_finalize(st);
	return ret;
}

int64_t store_mailbox_modseq(sqlite3 *db, int64_t mailbox_id)
{
	return store_scalar(db, "SELECT highestmodseq FROM mailboxes WHERE id = ?1", mailbox_id);
}

int store_set_mailbox_modseq(sqlite3 *db, int64_t mailbox_id, int64_t modseq)
{
	sqlite3_stmt *st;
	int rc =
	    store_prep_cached(db, &st, "UPDATE mailboxes SET highestmodseq = ?2 WHERE id = ?1");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, modseq);
	rc = store_step_done(st);
	store_release(st);
	return rc;
}
