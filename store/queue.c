/* queue: outbound queue rows (see queue.h). Plain statements over the
 * `queue` table; the policy (backoff, grouping, bounces) lives in the
 * runner, relay/scheduler.c. */
#include "store/queue.h"
#include "store/mail.h"
#include "store/store.h"
#include "store/store_int.h"

#include <errno.h>

#define ROW_COLS                                                                                   \
	"q.id, q.message_id, q.mail_from, q.rcpt, q.notify, q.orcpt, q.ret, q.envid, "             \
	"q.next_attempt, q.attempts, q.last_error, q.expires, q.claimed_until, q.created, "        \
	"m.size, q.delay_dsn_sent, q.cancelled "
#define ROW_FROM " FROM queue q LEFT JOIN messages m ON m.id = q.message_id "

static const char *col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

static int walk(sqlite3_stmt *st, store_queue_cb cb, void *ud)
{
	int rc, n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_queue_row r = {
		    .id = sqlite3_column_int64(st, 0),
		    .message_id = sqlite3_column_int64(st, 1),
		    .mail_from = col_text(st, 2) ? col_text(st, 2) : "",
		    .rcpt = col_text(st, 3) ? col_text(st, 3) : "",
		    .notify = col_text(st, 4),
		    .orcpt = col_text(st, 5),
		    .ret = col_text(st, 6),
		    .envid = col_text(st, 7),
		    .next_attempt = sqlite3_column_int64(st, 8),
		    .attempts = sqlite3_column_int64(st, 9),
		    .last_error = col_text(st, 10),
		    .expires = sqlite3_column_int64(st, 11),
		    .claimed_until = sqlite3_column_int64(st, 12),
		    .created = sqlite3_column_int64(st, 13),
		    .size = sqlite3_column_int64(st, 14),
		    .delay_dsn_sent = sqlite3_column_int(st, 15) != 0,
		    .cancelled = sqlite3_column_int(st, 16) != 0,
		};
		n++;
		int c = cb ? cb(ud, &r) : 0;
		if (c != 0) {
			sqlite3_finalize(st);
			return c;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? n : store_errno(rc);
}

int store_queue_due(struct store_rd *rd, int64_t now, size_t limit, store_queue_cb cb, void *ud)
{
	sqlite3 *db = rd->db;
	sqlite3_stmt *st;
	int rc = store_prep(db, &st,
	                    "SELECT " ROW_COLS ROW_FROM
	                    "WHERE q.next_attempt <= ?1 AND q.claimed_until <= ?1 "
	                    "ORDER BY q.next_attempt, q.id LIMIT ?2");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, (int64_t)limit);
	rc = walk(st, cb, ud);
	return rc < 0 ? rc : 0;
}

int store_queue_list(struct store_rd *rd, store_queue_cb cb, void *ud)
{
	sqlite3 *db = rd->db;
	sqlite3_stmt *st;
	int rc = store_prep(db, &st, "SELECT " ROW_COLS ROW_FROM "ORDER BY q.id");
	if (rc < 0)
		return rc;
	rc = walk(st, cb, ud);
	return rc < 0 ? rc : 0;
}

int store_queue_get(struct store_rd *rd, int64_t id, store_queue_cb cb, void *ud)
{
	sqlite3 *db = rd->db;
	sqlite3_stmt *st;
	int rc = store_prep(db, &st, "SELECT " ROW_COLS ROW_FROM "WHERE q.id = ?1");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = walk(st, cb, ud);
	return rc < 0 ? rc : (rc > 0 ? 1 : 0);
}

static int64_t scalar(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int rc = store_prep(db, &st, sql);
	if (rc < 0)
		return rc;
	int64_t v = 0;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		v = store_errno(rc);
	sqlite3_finalize(st);
	return v;
}

int64_t store_queue_count(struct store_rd *rd)
{
	sqlite3 *db = rd->db;
	return scalar(db, "SELECT count(*) FROM queue");
}

int64_t store_queue_oldest(struct store_rd *rd)
{
	return scalar(rd->db, "SELECT coalesce(min(created), 0) FROM queue");
}

static int run_changes(sqlite3 *db, const char *sql, int64_t a, int64_t b, int64_t c,
                       const char *text)
{
	sqlite3_stmt *st;
	int rc = store_prep(db, &st, sql);
	if (rc < 0)
		return rc;
	int np = sqlite3_bind_parameter_count(st);
	if (np >= 1)
		sqlite3_bind_int64(st, 1, a);
	if (np >= 2)
		sqlite3_bind_int64(st, 2, b);
	if (np >= 3)
		sqlite3_bind_int64(st, 3, c);
	if (np >= 4) {
		if (text)
			sqlite3_bind_text(st, 4, text, -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(st, 4);
	}
	rc = store_step_done(st);
	sqlite3_finalize(st);
	return rc < 0 ? rc : sqlite3_changes(db);
}

int store_queue_claim(struct store_tx *tx, int64_t id, int64_t now, int64_t until)
{
	sqlite3 *db = tx->rd.db;
	return run_changes(db,
	                   "UPDATE queue SET claimed_until = ?3 WHERE id = ?1 AND "
	                   "claimed_until <= ?2",
	                   id, now, until, NULL);
}

int store_queue_recover(struct store_tx *tx)
{
	sqlite3 *db = tx->rd.db;
	return run_changes(db, "UPDATE queue SET claimed_until = 0 WHERE claimed_until != 0", 0, 0,
	                   0, NULL);
}

int store_queue_defer(struct store_tx *tx, int64_t id, int64_t next_attempt, const char *error)
{
	sqlite3 *db = tx->rd.db;
	int rc = run_changes(db,
	                     "UPDATE queue SET attempts = attempts + 1, next_attempt = ?2, "
	                     "claimed_until = 0, last_error = substr(?4, 1, 1000) "
	                     "WHERE id = ?1 AND ?3 = ?3",
	                     id, next_attempt, 0, error);
	return rc < 0 ? rc : (rc == 0 ? -ENOENT : 0);
}

int store_queue_finish(struct store_tx *tx, int64_t id)
{
	sqlite3 *db = tx->rd.db;
	int64_t msg = -1;
	sqlite3_stmt *st;
	int rc = store_prep(db, &st, "SELECT message_id FROM queue WHERE id = ?1");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		msg = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? -ENOENT : store_errno(rc);
	rc = run_changes(db, "DELETE FROM queue WHERE id = ?1", id, 0, 0, NULL);
	if (rc < 0)
		return rc;
	return store_message_ref(tx, msg, -1) < 0 ? -EIO : 0;
}

int store_queue_retry(struct store_tx *tx, int64_t id, int64_t now)
{
	sqlite3 *db = tx->rd.db;
	if (id > 0)
		return run_changes(db,
		                   "UPDATE queue SET next_attempt = ?2, claimed_until = 0 "
		                   "WHERE id = ?1",
		                   id, now, 0, NULL);
	return run_changes(db,
	                   "UPDATE queue SET next_attempt = ?2, claimed_until = 0 WHERE ?1 = ?1", 0,
	                   now, 0, NULL);
}

int store_queue_cancel(struct store_tx *tx, int64_t id, int64_t now)
{
	sqlite3 *db = tx->rd.db;
	return run_changes(db,
	                   "UPDATE queue SET next_attempt = ?2, cancelled = 1, claimed_until = 0 "
	                   "WHERE id = ?1",
	                   id, now, 0, NULL);
}

int store_queue_delay_dsn_sent(struct store_tx *tx, int64_t id)
{
	sqlite3 *db = tx->rd.db;
	return run_changes(db, "UPDATE queue SET delay_dsn_sent = 1 WHERE id = ?1", id, 0, 0, NULL);
}
