/* send_idem: the Idempotency-Key rows (see send_idem.h). Expiry is by
 * `created`: a lookup ignores rows older than a day, and every put first
 * deletes them (an index on created keeps that cheap), so the table holds
 * about a day of keyed sends and needs no timer. */
#include "store/send_idem.h"
#include "store/store_int.h"

#include <errno.h>
#include <string.h>

int store_idem_find(struct store_rd *rd, int64_t token_id, const char *key, int64_t now,
                    unsigned char hash[STORE_IDEM_HASH], int *status, struct buf *response)
{
	sqlite3_stmt *st;
	int rc = store_prep_cached(rd->db, &st,
	                           "SELECT body_sha256, status, response FROM send_idempotency "
	                           "WHERE token_id = ?1 AND key = ?2 AND created > ?3");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, token_id);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now - STORE_IDEM_TTL);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		memset(hash, 0, STORE_IDEM_HASH);
		if (sqlite3_column_bytes(st, 0) == STORE_IDEM_HASH)
			memcpy(hash, sqlite3_column_blob(st, 0), STORE_IDEM_HASH);
		*status = sqlite3_column_int(st, 1);
		const void *r = sqlite3_column_text(st, 2);
		size_t n = (size_t)sqlite3_column_bytes(st, 2);
		buf_reset(response);
		rc = buf_add(response, r ? r : "", n) < 0 ? -ENOMEM : 1;
	} else {
		rc = rc == SQLITE_DONE ? 0 : store_errno(rc);
	}
	store_release(st);
	return rc;
}

int store_idem_put(struct store_tx *tx, int64_t token_id, const char *key, int64_t now,
                   const unsigned char hash[STORE_IDEM_HASH], int status, const char *response,
                   size_t len)
{
	sqlite3 *db = tx->rd.db;
	sqlite3_stmt *st;
	int rc = store_prep(db, &st, "DELETE FROM send_idempotency WHERE created <= ?1");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, now - STORE_IDEM_TTL);
	rc = store_step_done(st);
	sqlite3_finalize(st);
	if (rc < 0)
		return rc;
	rc = store_prep(db, &st,
	                "INSERT INTO send_idempotency(token_id, key, body_sha256, status, "
	                "response, created) VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, token_id);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, hash, STORE_IDEM_HASH, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, status);
	sqlite3_bind_text(st, 5, response, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, now);
	rc = store_step_done(st);
	sqlite3_finalize(st);
	return rc;
}
