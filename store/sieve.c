/* sieve: Sieve scripts and vacation's memory (see sieve.h).
 *
 * Why `updated` is a counter that only grows per account rather than the
 * clock: two puts within one second must not look the same to a cache of
 * compiled scripts keyed by (account, updated). It is the time of the
 * change, or one more than the account's newest, whichever is larger. */
#include "store/sieve.h"
#include "store/store.h"
#include "store/store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool store_sieve_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > STORE_SIEVE_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c < 0x20 || c == 0x7f || c == '/')
			return false;
	}
	return true;
}

/* The next `updated` of an account (see the top of the file). */
static int64_t next_version(sqlite3 *db, int64_t account_id)
{
	int64_t newest = store_scalar(
	    db, "SELECT coalesce(max(updated), 0) FROM sieve_scripts WHERE account_id = ?1",
	    account_id);
	if (newest < 0)
		return newest;
	int64_t now = store_now();
	return now > newest ? now : newest + 1;
}

static int account_exists(sqlite3 *db, int64_t account_id)
{
	int64_t n = store_scalar(db, "SELECT count(*) FROM accounts WHERE id = ?1", account_id);
	return n < 0 ? (int)n : n > 0;
}

int store_sieve_put(struct store_tx *tx, int64_t account_id, const char *name, const char *script,
                    size_t len)
{
	sqlite3 *db = tx->rd.db;
	if (!store_sieve_name_valid(name) || !script || len == 0 || len > STORE_SIEVE_SCRIPT_MAX)
		return -EINVAL;
	int rc = account_exists(db, account_id);
	if (rc <= 0)
		return rc < 0 ? rc : -ENOENT;
	int64_t version = next_version(db, account_id);
	if (version < 0)
		return (int)version;
	sqlite3_stmt *st;
	rc = store_prep(db, &st,
	                "INSERT INTO sieve_scripts(account_id, name, script, active, updated) "
	                "VALUES(?1, ?2, ?3, 0, ?4) ON CONFLICT(account_id, name) DO UPDATE SET "
	                "script = excluded.script, updated = excluded.updated");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, account_id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_blob64(st, 3, script, len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, version);
	rc = store_step_done(st);
	sqlite3_finalize(st);
	return rc;
}

int store_sieve_activate(struct store_tx *tx, int64_t account_id, const char *name)
{
	sqlite3 *db = tx->rd.db;
	sqlite3_stmt *st;
	int rc;
	if (name) {
		rc = store_prep(db, &st,
		                "SELECT 1 FROM sieve_scripts WHERE account_id = ?1 AND name = ?2");
		if (rc < 0)
			return rc;
		sqlite3_bind_int64(st, 1, account_id);
		sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		if (rc != SQLITE_ROW)
			return rc == SQLITE_DONE ? -ENOENT : store_errno(rc);
	}
	int64_t version = next_version(db, account_id);
	if (version < 0)
		return (int)version;
	/* the old one off first: the partial unique index allows one active */
	rc = store_prep(db, &st,
	                "UPDATE sieve_scripts SET active = 0, updated = ?2 "
	                "WHERE account_id = ?1 AND active");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, account_id);
	sqlite3_bind_int64(st, 2, version);
	rc = store_step_done(st);
	sqlite3_finalize(st);
	if (rc < 0 || !name)
		return rc;
	rc = store_prep(db, &st,
	                "UPDATE sieve_scripts SET active = 1, updated = ?3 "
	                "WHERE account_id = ?1 AND name = ?2");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, account_id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, version);
	rc = store_step_done(st);
	sqlite3_finalize(st);
	return rc;
}

int store_sieve_delete(struct store_tx *tx, int64_t account_id, const char *name)
{
	sqlite3 *db = tx->rd.db;
	sqlite3_stmt *st;
	int rc = store_prep(db, &st,
	                    "SELECT active FROM sieve_scripts WHERE account_id = ?1 AND name = ?2");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, account_id);
	sqlite3_bind_text(st, 2, name ? name : "", -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	bool active = rc == SQLITE_ROW && sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? -ENOENT : store_errno(rc);
	if (active)
		return -EBUSY;
	rc = store_prep(db, &st, "DELETE FROM sieve_scripts WHERE account_id = ?1 AND name = ?2");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, account_id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	rc = store_step_done(st);
	sqlite3_finalize(st);
	return rc;
}

static int script_exists(sqlite3 *db, int64_t account_id, const char *name)
{
	sqlite3_stmt *st;
	int rc =
	    store_prep(db, &st, "SELECT 1 FROM sieve_scripts WHERE account_id = ?1 AND name = ?2");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, account_id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : store_errno(rc);
}

int store_sieve_rename(struct store_tx *tx, int64_t account_id, const char *from, const char *to)
{
	sqlite3 *db = tx->rd.db;
	if (!store_sieve_name_valid(from) || !store_sieve_name_valid(to))
		return -EINVAL;
	int rc = script_exists(db, account_id, from);
	if (rc <= 0)
		return rc < 0 ? rc : -ENOENT;
	rc = script_exists(db, account_id, to);
	if (rc != 0)
		return rc < 0 ? rc : -EEXIST;
	int64_t version = next_version(db, account_id);
	if (version < 0)
		return (int)version;
	sqlite3_stmt *st;
	rc = store_prep(db, &st,
	                "UPDATE sieve_scripts SET name = ?3, updated = ?4 "
	                "WHERE account_id = ?1 AND name = ?2");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, account_id);
	sqlite3_bind_text(st, 2, from, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, to, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, version);
	rc = store_step_done(st);
	sqlite3_finalize(st);
	return rc;
}

int64_t store_sieve_count(struct store_rd *rd, int64_t account_id)
{
	return store_scalar(rd->db, "SELECT count(*) FROM sieve_scripts WHERE account_id = ?1",
	                    account_id);
}

static void script_row(sqlite3_stmt *st, struct store_sieve_script *s)
{
	memset(s, 0, sizeof *s);
	const unsigned char *name = sqlite3_column_text(st, 0);
	snprintf(s->name, sizeof s->name, "%s", name ? (const char *)name : "");
	s->active = sqlite3_column_int(st, 1) != 0;
	s->updated = sqlite3_column_int64(st, 2);
	s->size = (size_t)sqlite3_column_int64(st, 3);
}

int store_sieve_list(struct store_rd *rd, int64_t account_id,
                     int (*cb)(void *ud, const struct store_sieve_script *s), void *ud)
{
	sqlite3_stmt *st;
	int rc = store_prep(rd->db, &st,
	                    "SELECT name, active, updated, length(script) FROM sieve_scripts "
	                    "WHERE account_id = ?1 ORDER BY name");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, account_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_sieve_script s;
		script_row(st, &s);
		int r = cb(ud, &s);
		if (r < 0) {
			sqlite3_finalize(st);
			return r;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store_errno(rc);
}

int store_sieve_get(struct store_rd *rd, int64_t account_id, const char *name, char **script,
                    size_t *len, struct store_sieve_script *info)
{
	sqlite3_stmt *st;
	int rc = store_prep_cached(
	    rd->db, &st,
	    name ? "SELECT name, active, updated, length(script), script FROM sieve_scripts "
	           "WHERE account_id = ?1 AND name = ?2"
	         : "SELECT name, active, updated, length(script), script FROM sieve_scripts "
	           "WHERE account_id = ?1 AND active");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, account_id);
	if (name)
		sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		store_release(st);
		return rc == SQLITE_DONE ? 0 : store_errno(rc);
	}
	struct store_sieve_script s;
	script_row(st, &s);
	int n = sqlite3_column_bytes(st, 4);
	char *text = malloc((size_t)n + 1);
	if (!text) {
		store_release(st);
		return -ENOMEM;
	}
	if (n)
		memcpy(text, sqlite3_column_blob(st, 4), (size_t)n);
	text[n] = '\0';
	store_release(st);
	*script = text;
	if (len)
		*len = (size_t)n;
	if (info)
		*info = s;
	return 1;
}

int store_sieve_active_version(struct store_rd *rd, int64_t account_id, int64_t *updated)
{
	sqlite3_stmt *st;
	int rc = store_prep_cached(rd->db, &st,
	                           "SELECT updated FROM sieve_scripts "
	                           "WHERE account_id = ?1 AND active");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, account_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*updated = sqlite3_column_int64(st, 0);
	store_release(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : store_errno(rc);
}

int store_sieve_vacation_seen(struct store_rd *rd, int64_t account_id, const char *handle,
                              const char *sender, int64_t since)
{
	sqlite3_stmt *st;
	int rc = store_prep_cached(rd->db, &st,
	                           "SELECT 1 FROM sieve_vacation WHERE account_id = ?1 AND "
	                           "handle = ?2 AND sender = ?3 AND sent_at > ?4");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, account_id);
	sqlite3_bind_text(st, 2, handle, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, sender, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, since);
	rc = sqlite3_step(st);
	store_release(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : store_errno(rc);
}

int store_sieve_vacation_note(struct store_tx *tx, int64_t account_id, const char *handle,
                              const char *sender, int64_t now)
{
	sqlite3 *db = tx->rd.db;
	sqlite3_stmt *st;
	/* :days is at most 365: older pairs can never hold a reply back */
	int rc = store_prep_cached(db, &st,
	                           "DELETE FROM sieve_vacation WHERE account_id = ?1 AND "
	                           "sent_at < ?2");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, account_id);
	sqlite3_bind_int64(st, 2, now - 366 * 86400LL);
	rc = store_step_done(st);
	store_release(st);
	if (rc < 0)
		return rc;
	rc = store_prep_cached(db, &st,
	                       "INSERT INTO sieve_vacation(account_id, handle, sender, sent_at) "
	                       "VALUES(?1, ?2, ?3, ?4) ON CONFLICT(account_id, handle, sender) "
	                       "DO UPDATE SET sent_at = excluded.sent_at");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, account_id);
	sqlite3_bind_text(st, 2, handle, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, sender, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now);
	rc = store_step_done(st);
	store_release(st);
	return rc;
}
