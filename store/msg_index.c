/* msg_index: the index rows and the registered indexer (see msg_index.h). */
#include "store/msg_index.h"
#include "store/mail.h"
#include "store/store.h"
#include "store/store_int.h"
#include "lib/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void store_index_data_free(struct store_index_data *d)
{
	if (!d)
		return;
	free(d->envelope);
	free(d->body);
	free(d->bodystructure);
	free(d->headers);
	free(d->hdr_text);
	free(d->body_text);
	free(d->sort_keys);
	free(d->preview);
	memset(d, 0, sizeof *d);
	d->sent_day = STORE_NO_DAY;
}

/* Writer: store d as message_id's row and text, replacing any. In a
 * savepoint of its own: on failure nothing is left behind and the caller's
 * transaction is unaffected. */
static int index_put(sqlite3 *db, int64_t message_id, const struct store_index_data *d)
{
	sqlite3_stmt *st = NULL;
	int r = store_run(db, "SAVEPOINT msg_index");
	if (r < 0)
		return r;
	r = store_prep(db, &st,
	               "INSERT OR REPLACE INTO imap_message_info(message_id, sent_day, envelope, "
	               "body, bodystructure, headers, preview) "
	               "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
	if (r == 0) {
		sqlite3_bind_int64(st, 1, message_id);
		if (d->sent_day == STORE_NO_DAY)
			sqlite3_bind_null(st, 2);
		else
			sqlite3_bind_int64(st, 2, d->sent_day);
		sqlite3_bind_text(st, 3, d->envelope, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, d->body, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, d->bodystructure, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, d->headers, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, d->preview, -1, SQLITE_STATIC); /* NULL -> NULL */
		r = store_step_done(st);
		sqlite3_finalize(st);
	}
	if (r == 0 && (r = store_prep(db, &st, "DELETE FROM imap_fts WHERE rowid = ?1")) == 0) {
		sqlite3_bind_int64(st, 1, message_id);
		r = store_step_done(st);
		sqlite3_finalize(st);
	}
	if (r == 0 && d->sort_keys &&
	    (r = store_prep(db, &st,
	                    "INSERT OR REPLACE INTO imap_sort_keys(message_id, keys) "
	                    "VALUES(?1, ?2)")) == 0) {
		sqlite3_bind_int64(st, 1, message_id);
		sqlite3_bind_blob(st, 2, d->sort_keys, (int)d->sort_keys_len, SQLITE_STATIC);
		r = store_step_done(st);
		sqlite3_finalize(st);
	}
	if (r == 0 &&
	    (r = store_prep(db, &st,
	                    "INSERT INTO imap_fts(rowid, hdr, body) VALUES(?1, ?2, ?3)")) == 0) {
		sqlite3_bind_int64(st, 1, message_id);
		sqlite3_bind_text(st, 2, d->hdr_text ? d->hdr_text : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, d->body_text ? d->body_text : "", -1, SQLITE_STATIC);
		r = store_step_done(st);
		sqlite3_finalize(st);
	}
	if (r < 0)
		store_run(db, "ROLLBACK TO msg_index");
	store_run(db, "RELEASE msg_index");
	return r;
}

static char *col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return strdup(t ? (const char *)t : "");
}

int store_index_get(struct store_rd *rd, int64_t message_id, struct store_index_data *out)
{
	sqlite3 *db = rd->db;
	sqlite3_stmt *st;
	memset(out, 0, sizeof *out);
	out->sent_day = STORE_NO_DAY;
	int r = store_prep(db, &st,
	                   "SELECT sent_day, envelope, body, bodystructure, headers, preview "
	                   "FROM imap_message_info WHERE message_id = ?1");
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, message_id);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		if (sqlite3_column_type(st, 0) != SQLITE_NULL)
			out->sent_day = sqlite3_column_int64(st, 0);
		out->envelope = col_dup(st, 1);
		out->body = col_dup(st, 2);
		out->bodystructure = col_dup(st, 3);
		out->headers = col_dup(st, 4);
		if (sqlite3_column_type(st, 5) != SQLITE_NULL)
			out->preview = col_dup(st, 5);
		r = (out->envelope && out->body && out->bodystructure && out->headers) ? 1
		                                                                       : -ENOMEM;
		if (r < 0)
			store_index_data_free(out);
	} else {
		r = r == SQLITE_DONE ? 0 : store_errno(r);
	}
	sqlite3_finalize(st);
	return r;
}

int store_index_missing_in(struct store_rd *rd, int64_t mailbox_id, uint32_t above, uint32_t upto)
{
	sqlite3 *db = rd->db;
	sqlite3_stmt *st;
	int r = store_prep_cached(db, &st,
	                          "SELECT EXISTS(SELECT 1 FROM mailbox_entries e WHERE "
	                          "e.mailbox_id = ?1 AND e.uid > ?2 AND e.uid <= ?3 AND NOT EXISTS "
	                          "(SELECT 1 FROM imap_message_info i WHERE "
	                          "i.message_id = e.message_id))");
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, above);
	sqlite3_bind_int64(st, 3, upto);
	int rc = sqlite3_step(st);
	r = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : store_errno(rc);
	store_release(st);
	return r;
}

/* Reads message_id whole and indexes it with the registered indexer
 * (-ENOSYS without one). */
static int index_stored(struct store_tx *tx, int64_t message_id)
{
	store_indexer_fn indexer = store_indexer(tx->rd.s);
	if (!indexer)
		return -ENOSYS;
	int64_t size = store_message_size(&tx->rd, message_id);
	if (size < 0)
		return (int)size;
	char *buf = malloc((size_t)size + 1);
	if (!buf)
		return -ENOMEM;
	ssize_t got = store_message_read(&tx->rd, message_id, 0, buf, (size_t)size);
	struct store_index_data d = {.sent_day = STORE_NO_DAY};
	int r = got < 0 ? (int)got : indexer(buf, (size_t)got, &d);
	if (r == 0)
		r = index_put(tx->rd.db, message_id, &d);
	store_index_data_free(&d);
	free(buf);
	return r;
}

int store_index_next(struct store_tx *tx, int64_t *cursor)
{
	sqlite3 *db = tx->rd.db;
	if (!store_indexer(tx->rd.s))
		return 0; /* nobody registered one: nothing to do */
	int64_t id = store_scalar(db,
	                          "SELECT e.message_id FROM mailbox_entries e "
	                          "WHERE e.message_id > ?1 AND NOT EXISTS (SELECT 1 FROM "
	                          "imap_message_info i WHERE i.message_id = e.message_id) "
	                          "ORDER BY e.message_id LIMIT 1",
	                          *cursor);
	if (id == -ENOENT) {
		/* All done up to the end: start the next search there. */
		int64_t last = store_scalar(
		    db, "SELECT IFNULL(MAX(message_id), ?1) FROM mailbox_entries", *cursor);
		if (last > *cursor)
			*cursor = last;
		return 0;
	}
	if (id < 0)
		return (int)id;
	*cursor = id;
	int r = index_stored(tx, id);
	return r == -ENOMEM ? r : 1;
}

int store_index_missing_job(struct store_tx *tx, void *arg)
{
	sqlite3 *db = tx->rd.db;
	struct store_index_req *q = arg;
	sqlite3_stmt *st;
	int r = store_prep(db, &st,
	                   "SELECT DISTINCT e.message_id FROM mailbox_entries e "
	                   "WHERE e.mailbox_id = ?1 AND NOT EXISTS "
	                   "(SELECT 1 FROM imap_message_info i WHERE i.message_id = e.message_id) "
	                   "LIMIT ?2");
	if (r < 0)
		return r;
	int limit = q->limit > 0 ? q->limit : 100;
	sqlite3_bind_int64(st, 1, q->mailbox_id);
	sqlite3_bind_int(st, 2, limit + 1);
	int64_t ids[1025];
	int n = 0;
	if (limit > 1024)
		limit = 1024;
	while ((r = sqlite3_step(st)) == SQLITE_ROW && n <= limit)
		ids[n++] = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	q->remaining = n > limit;
	if (n > limit)
		n = limit;
	q->done = 0;
	for (int i = 0; i < n; i++) {
		r = index_stored(tx, ids[i]);
		if (r == -ENOMEM)
			return r;
		q->done += r == 0;
	}
	return q->done;
}

int store_index_drop_outdated(struct store_tx *tx, void *arg)
{
	sqlite3 *db = tx->rd.db;
	int64_t version = *(const int64_t *)arg;
	int64_t had = store_scalar(db,
	                           "SELECT value FROM meta WHERE key = 'indexer_version' "
	                           "AND ?1",
	                           1);
	if (had == version)
		return 0;
	int64_t rows = store_scalar(db, "SELECT count(*) FROM imap_message_info WHERE ?1", 1);
	int r = store_run(db, "DELETE FROM imap_fts; DELETE FROM imap_message_info; "
	                      "DELETE FROM imap_sort_keys;");
	tx->rd.s->index_cursor = 0; /* the idle work starts over (under wlock, as it runs) */
	sqlite3_stmt *st;
	if (r == 0 &&
	    (r = store_prep(db, &st,
	                    "INSERT INTO meta(key, value) VALUES('indexer_version', ?1) "
	                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value")) == 0) {
		sqlite3_bind_int64(st, 1, version);
		r = store_step_done(st);
		sqlite3_finalize(st);
	}
	if (r == 0 && rows > 0)
		log_info("store event=index_outdated version=%lld was=%lld rows=%lld",
		         (long long)version, (long long)had, (long long)rows);
	return r;
}

int store_sort_rows(struct store_rd *rd, int64_t mailbox_id, uint32_t lo, uint32_t hi, size_t limit,
                    int (*cb)(void *ud, const struct store_sort_row *r), void *ud)
{
	sqlite3_stmt *st;
	int r = store_prep_cached(rd->db, &st,
	                          "SELECT e.uid, e.message_id, e.size, e.internal_date, k.keys "
	                          "FROM mailbox_entries e LEFT JOIN imap_sort_keys k "
	                          "ON k.message_id = e.message_id "
	                          "WHERE e.mailbox_id = ?1 AND e.uid BETWEEN ?2 AND ?3 "
	                          "ORDER BY e.uid LIMIT ?4");
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, lo);
	sqlite3_bind_int64(st, 3, hi);
	sqlite3_bind_int64(st, 4, limit ? (int64_t)limit : -1);
	int rc, seen = 0, ret = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_sort_row row = {
		    .uid = (uint32_t)sqlite3_column_int64(st, 0),
		    .message_id = sqlite3_column_int64(st, 1),
		    .size = sqlite3_column_int64(st, 2),
		    .internal_date = sqlite3_column_int64(st, 3),
		    .keys = sqlite3_column_blob(st, 4),
		};
		row.keys_len = row.keys ? (size_t)sqlite3_column_bytes(st, 4) : 0;
		seen++;
		if ((ret = cb(ud, &row)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = store_errno(rc);
	store_release(st);
	return ret ? ret : seen;
}

store_indexer_fn store_indexer(struct store *s)
{
	return atomic_load(&s->indexer);
}
