/* uploads: JMAP uploads (see uploads.h). The bytes are one BLOB column of
 * a small row, read in one piece: an upload is at most maxSizeUpload. */
#include "store/uploads.h"
#include "store/store.h"
#include "store/store_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "lib/buf.h"

int store_uploads_expire(struct store_tx *tx, int64_t now)
{
	sqlite3_stmt *st;
	int rc = store_prep(tx->rd.db, &st, "DELETE FROM uploads WHERE created < ?1");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, now - STORE_UPLOAD_TTL);
	rc = store_step_done(st);
	sqlite3_finalize(st);
	return rc < 0 ? rc : sqlite3_changes(tx->rd.db);
}

int store_upload_job(struct store_tx *tx, void *arg)
{
	struct store_upload_req *q = arg;
	sqlite3 *db = tx->rd.db;
	if (!q->type || strlen(q->type) >= STORE_UPLOAD_TYPE_MAX || q->account_id <= 0)
		return -EINVAL;
	int64_t now = store_now();
	int rc = store_uploads_expire(tx, now);
	if (rc < 0)
		return rc;
	if (q->max_total) {
		int64_t used = store_scalar(
		    db, "SELECT COALESCE(SUM(size), 0) FROM uploads WHERE account_id = ?1",
		    q->account_id);
		if (used < 0)
			return (int)used;
		if ((uint64_t)used + q->len > q->max_total)
			return -EDQUOT;
	}
	sqlite3_stmt *st;
	rc = store_prep(db, &st,
	                "INSERT INTO uploads(account_id, type, size, data, created) "
	                "VALUES(?1, ?2, ?3, ?4, ?5)");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, q->account_id);
	sqlite3_bind_text(st, 2, q->type, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)q->len);
	sqlite3_bind_blob64(st, 4, q->len ? q->data : "", q->len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now);
	rc = store_step_done(st);
	sqlite3_finalize(st);
	if (rc == 0)
		q->id = sqlite3_last_insert_rowid(db);
	return rc;
}

/* One upload's row: its metadata, and its bytes appended to out unless out
 * is NULL (then the data column is not even read). 1, 0 (none, or
 * expired), or a negative errno. */
static int upload_row(struct store_rd *rd, int64_t account_id, int64_t id,
                      struct store_upload *meta, struct buf *out)
{
	sqlite3_stmt *st;
	int rc = store_prep_cached(rd->db, &st,
	                           out ? "SELECT type, size, created, data FROM uploads "
	                                 "WHERE id = ?1 AND account_id = ?2 AND created >= ?3"
	                               : "SELECT type, size, created FROM uploads "
	                                 "WHERE id = ?1 AND account_id = ?2 AND created >= ?3");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, account_id);
	sqlite3_bind_int64(st, 3, store_now() - STORE_UPLOAD_TTL);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *type = sqlite3_column_text(st, 0);
		memset(meta, 0, sizeof *meta);
		meta->id = id;
		snprintf(meta->type, sizeof meta->type, "%s", type ? (const char *)type : "");
		meta->size = (size_t)sqlite3_column_int64(st, 1);
		meta->created = sqlite3_column_int64(st, 2);
		rc = 1;
		if (out) {
			const void *data = sqlite3_column_blob(st, 3);
			int n = sqlite3_column_bytes(st, 3);
			if (n > 0 && buf_add(out, data, (size_t)n) < 0)
				rc = -ENOMEM;
		}
	} else {
		rc = rc == SQLITE_DONE ? 0 : store_errno(rc);
	}
	store_release(st);
	return rc;
}

int store_upload_read(struct store_rd *rd, int64_t account_id, int64_t id,
                      struct store_upload *meta, struct buf *out)
{
	return upload_row(rd, account_id, id, meta, out);
}

int store_upload_stat(struct store_rd *rd, int64_t account_id, int64_t id,
                      struct store_upload *meta)
{
	return upload_row(rd, account_id, id, meta, NULL);
}

long store_upload_read_at(struct store_rd *rd, int64_t id, uint64_t offset, void *buf, size_t len)
{
	return (long)store_blob_read(rd->db, "uploads", id, offset, buf, len);
}
