/* urlauth: mailbox access keys (urlauth.h) in table urlauth_keys. */
#include "store/urlauth.h"
#include "store/store.h"
#include "store/store_int.h"

#include <errno.h>
#include <string.h>

int store_urlauth_key_get(struct store_rd *rd, int64_t mailbox_id,
                          uint8_t key[STORE_URLAUTH_KEY_LEN])
{
	sqlite3_stmt *st;
	int rc =
	    store_prep_cached(rd->db, &st, "SELECT key FROM urlauth_keys WHERE mailbox_id = ?1");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, mailbox_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == STORE_URLAUTH_KEY_LEN) {
		memcpy(key, sqlite3_column_blob(st, 0), STORE_URLAUTH_KEY_LEN);
		rc = 1;
	} else {
		rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : store_errno(rc);
	}
	store_release(st);
	return rc;
}

int store_urlauth_key_job(struct store_tx *tx, void *arg)
{
	struct store_urlauth_key_req *q = arg;
	sqlite3 *db = tx->rd.db;
	sqlite3_stmt *st;
	int rc;
	if (!q->mailbox_id) {
		if (!q->reset)
			return -EINVAL;
		if ((rc = store_prep_cached(db, &st,
		                            "DELETE FROM urlauth_keys WHERE mailbox_id IN "
		                            "(SELECT id FROM mailboxes WHERE account_id = ?1)")) <
		    0)
			return rc;
		sqlite3_bind_int64(st, 1, q->account_id);
		rc = store_step_done(st);
		store_release(st);
		return rc;
	}
	if ((rc = store_prep_cached(
	         db, &st, "SELECT 1 FROM mailboxes WHERE id = ?1 AND account_id = ?2")) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, q->mailbox_id);
	sqlite3_bind_int64(st, 2, q->account_id);
	rc = sqlite3_step(st);
	store_release(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? -ENOENT : store_errno(rc);
	if ((rc = store_prep_cached(db, &st,
	                            q->reset
	                                ? "INSERT OR REPLACE INTO urlauth_keys(mailbox_id, key) "
	                                  "VALUES(?1, ?2)"
	                                : "INSERT OR IGNORE INTO urlauth_keys(mailbox_id, key) "
	                                  "VALUES(?1, ?2)")) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, q->mailbox_id);
	sqlite3_bind_blob(st, 2, q->key, STORE_URLAUTH_KEY_LEN, SQLITE_STATIC);
	rc = store_step_done(st);
	store_release(st);
	if (rc < 0)
		return rc;
	rc = store_urlauth_key_get(store_tx_reader(tx), q->mailbox_id, q->key);
	return rc < 0 ? rc : rc == 1 ? 0 : -EIO;
}
