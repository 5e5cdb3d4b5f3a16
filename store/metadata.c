/* metadata: the `metadata` table (store/metadata.h says what it holds).
 *
 * The server's entries have mailbox_id NULL (a foreign key cannot point
 * at "no mailbox"), so the unique index and every query key on
 * ifnull(mailbox_id, 0): the same expression, so SQLite uses the index.
 * The entries below a name are a range of the index: name > 'e/' and
 * name < 'e0' ('0' follows '/'). */
#include "store/metadata.h"
#include "store/store_int.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static void bind_mailbox(sqlite3_stmt *st, int col, int64_t mailbox_id)
{
	if (mailbox_id == STORE_METADATA_SERVER)
		sqlite3_bind_null(st, col);
	else
		sqlite3_bind_int64(st, col, mailbox_id);
}

int store_metadata_get(struct store_rd *rd, int64_t account_id, int64_t mailbox_id,
                       const char *entry, int depth, store_metadata_cb cb, void *ud)
{
	sqlite3_stmt *st;
	int rc =
	    store_prep_cached(rd->db, &st,
	                      "SELECT name, value FROM metadata "
	                      "WHERE account_id = ?1 AND ifnull(mailbox_id, 0) = ?2 AND "
	                      "(name = ?3 OR (?4 <> 0 AND name > ?3 || '/' AND name < ?3 || '0' "
	                      "AND (?4 < 0 OR instr(substr(name, length(?3) + 2), '/') = 0))) "
	                      "ORDER BY name");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, account_id);
	sqlite3_bind_int64(st, 2, mailbox_id);
	sqlite3_bind_text(st, 3, entry, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, depth);
	int ret = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const void *v = sqlite3_column_blob(st, 1);
		size_t len = (size_t)sqlite3_column_bytes(st, 1);
		if ((ret = cb(ud, (const char *)sqlite3_column_text(st, 0), v ? v : "", len)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_errno(rc);
	store_release(st);
	return ret;
}

/* 1 if the entry was there (and is now gone or replaced), 0 if not. */
static int delete_entry(sqlite3 *db, const struct store_metadata_set *j, const char *name)
{
	sqlite3_stmt *st;
	int rc = store_prep_cached(db, &st,
	                           "DELETE FROM metadata WHERE account_id = ?1 AND "
	                           "ifnull(mailbox_id, 0) = ?2 AND name = ?3");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, j->account_id);
	sqlite3_bind_int64(st, 2, j->mailbox_id);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	rc = store_step_done(st);
	store_release(st);
	return rc < 0 ? rc : sqlite3_changes(db) > 0;
}

static int insert_entry(sqlite3 *db, const struct store_metadata_set *j, size_t i)
{
	sqlite3_stmt *st;
	int rc = store_prep_cached(db, &st,
	                           "INSERT INTO metadata(account_id, mailbox_id, name, value) "
	                           "VALUES (?1, ?2, ?3, ?4)");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, j->account_id);
	bind_mailbox(st, 2, j->mailbox_id);
	sqlite3_bind_text(st, 3, j->names[i], -1, SQLITE_STATIC);
	sqlite3_bind_blob64(st, 4, j->values[i], j->lens[i], SQLITE_STATIC);
	rc = store_step_done(st);
	store_release(st);
	return rc;
}

static int64_t count_entries(sqlite3 *db, const struct store_metadata_set *j, bool account)
{
	sqlite3_stmt *st;
	int rc = account ? store_prep_cached(db, &st,
	                                     "SELECT count(*) FROM metadata WHERE account_id = ?1")
	                 : store_prep_cached(db, &st,
	                                     "SELECT count(*) FROM metadata WHERE account_id = ?1 "
	                                     "AND ifnull(mailbox_id, 0) = ?2");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, j->account_id);
	if (!account)
		sqlite3_bind_int64(st, 2, j->mailbox_id);
	rc = sqlite3_step(st);
	int64_t n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : store_errno(rc);
	store_release(st);
	return n;
}

int store_metadata_set_job(struct store_tx *tx, void *arg)
{
	sqlite3 *db = tx->rd.db;
	struct store_metadata_set *j = arg;
	size_t added = 0;
	j->changed = 0;
	for (size_t i = 0; i < j->n; i++) {
		int had = delete_entry(db, j, j->names[i]);
		if (had < 0)
			return had;
		if (j->values[i]) {
			int rc = insert_entry(db, j, i);
			if (rc < 0)
				return rc; /* -ENOENT: the mailbox went away */
			added += !had;
		}
		/* a delete of a missing entry, or a value set again, still counts:
		 * what changed is what the client named */
		j->changed++;
	}
	if (added == 0)
		return 0; /* replacing or deleting never fails a limit */
	int64_t n = count_entries(db, j, false);
	if (n < 0)
		return (int)n;
	if (j->max_entries && n > j->max_entries)
		return -EDQUOT;
	if (j->max_account) {
		if ((n = count_entries(db, j, true)) < 0)
			return (int)n;
		if (n > j->max_account)
			return -EDQUOT;
	}
	return 0;
}
