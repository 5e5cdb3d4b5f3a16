/* threads: assigning a message to its thread (see threads.h). */
#include "store/threads.h"
#include "store/store.h"
#include "store/store_int.h"

#include <errno.h>
#include <string.h>

static bool key_ok(const char *k)
{
	if (!k)
		return false;
	size_t n = strlen(k);
	return n > 0 && n <= STORE_THREAD_MAX_ID;
}

int store_thread_assign(struct store_tx *tx, int64_t account_id, int64_t message_id,
                        const struct store_thread_keys *keys, int64_t *thread_id)
{
	sqlite3 *db = tx->rd.db;
	*thread_id = message_id;
	if (!keys)
		return 0;
	size_t np =
	    keys->nparents < STORE_THREAD_MAX_PARENTS ? keys->nparents : STORE_THREAD_MAX_PARENTS;
	sqlite3_stmt *sel = NULL, *ins = NULL;
	int r = store_prep_cached(db, &sel,
	                          "SELECT thread_id FROM thread_refs "
	                          "WHERE account_id = ?1 AND msgid = ?2");
	if (r < 0)
		return r;
	bool found = false;
	for (size_t i = 0; i <= np && !found; i++) {
		const char *k = i == 0 ? keys->message_id : keys->parents[i - 1];
		if (!key_ok(k))
			continue;
		sqlite3_reset(sel);
		sqlite3_bind_int64(sel, 1, account_id);
		sqlite3_bind_text(sel, 2, k, -1, SQLITE_STATIC);
		r = sqlite3_step(sel);
		if (r == SQLITE_ROW) {
			*thread_id = sqlite3_column_int64(sel, 0);
			found = true;
		} else if (r != SQLITE_DONE) {
			store_release(sel);
			return store_errno(r);
		}
	}
	sqlite3_reset(sel);
	store_release(sel);
	if ((r = store_prep_cached(db, &ins,
	                           "INSERT OR IGNORE INTO thread_refs(account_id, msgid, "
	                           "thread_id) VALUES(?1, ?2, ?3)")) < 0)
		return r;
	for (size_t i = 0; i <= np && r == 0; i++) {
		const char *k = i == 0 ? keys->message_id : keys->parents[i - 1];
		if (!key_ok(k))
			continue;
		sqlite3_reset(ins);
		sqlite3_bind_int64(ins, 1, account_id);
		sqlite3_bind_text(ins, 2, k, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 3, *thread_id);
		r = store_step_done(ins);
	}
	store_release(ins);
	return r;
}
