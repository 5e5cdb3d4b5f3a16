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

/* The id of the account's script `name`: > 0, 0 none, or negative. */
static int64_t id_of(sqlite3 *db, int64_t account_id, const char *name)
{
	sqlite3_stmt *st;
	int rc = store_prep_cached(
	    db, &st, "SELECT id FROM sieve_scripts WHERE account_id = ?1 AND name = ?2");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, account_id);
	sqlite3_bind_text(st, 2, name ? name : "", -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	int64_t id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	store_release(st);
	return rc == SQLITE_ROW ? id : rc == SQLITE_DONE ? 0 : store_errno(rc);
}

/* Script `id` of the account: 1 (*active, and name into name when not
 * NULL), 0 none, or negative. */
static int id_row(sqlite3 *db, int64_t account_id, int64_t id, bool *active,
                  char name[STORE_SIEVE_NAME_MAX + 1])
{
	sqlite3_stmt *st;
	int rc = store_prep_cached(db, &st,
	                           "SELECT active, name FROM sieve_scripts "
	                           "WHERE id = ?1 AND account_id = ?2");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, account_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*active = sqlite3_column_int(st, 0) != 0;
		if (name) {
			const unsigned char *n = sqlite3_column_text(st, 1);
			snprintf(name, STORE_SIEVE_NAME_MAX + 1, "%s", n ? (const char *)n : "");
		}
	}
	store_release(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : store_errno(rc);
}

int64_t store_sieve_id_of(struct store_rd *rd, int64_t account_id, const char *name)
{
	return id_of(rd->db, account_id, name);
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
	/* the upsert keeps a replaced script's id */
	rc = store_prep(db, &st,
	                "INSERT INTO sieve_scripts(account_id, name, active, updated, script) "
	                "VALUES(?1, ?2, 0, ?4, ?3) ON CONFLICT(account_id, name) DO UPDATE SET "
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

int store_sieve_replace_id(struct store_tx *tx, int64_t account_id, int64_t id, const char *script,
                           size_t len)
{
	sqlite3 *db = tx->rd.db;
	if (!script || len == 0 || len > STORE_SIEVE_SCRIPT_MAX)
		return -EINVAL;
	bool active;
	int rc = id_row(db, account_id, id, &active, NULL);
	if (rc <= 0)
		return rc < 0 ? rc : -ENOENT;
	int64_t version = next_version(db, account_id);
	if (version < 0)
		return (int)version;
	sqlite3_stmt *st;
	rc =
	    store_prep(db, &st, "UPDATE sieve_scripts SET script = ?2, updated = ?3 WHERE id = ?1");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_blob64(st, 2, script, len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, version);
	rc = store_step_done(st);
	sqlite3_finalize(st);
	return rc;
}

/* Script `id` (0: none) the account's only active one. */
static int make_active(sqlite3 *db, int64_t account_id, int64_t id)
{
	int64_t version = next_version(db, account_id);
	if (version < 0)
		return (int)version;
	/* the old one off first: the partial unique index allows one active */
	sqlite3_stmt *st;
	int rc = store_prep(db, &st,
	                    "UPDATE sieve_scripts SET active = 0, updated = ?2 "
	                    "WHERE account_id = ?1 AND active");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, account_id);
	sqlite3_bind_int64(st, 2, version);
	rc = store_step_done(st);
	sqlite3_finalize(st);
	if (rc < 0 || id == 0)
		return rc;
	rc = store_prep(db, &st, "UPDATE sieve_scripts SET active = 1, updated = ?2 WHERE id = ?1");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, version);
	rc = store_step_done(st);
	sqlite3_finalize(st);
	return rc;
}

int store_sieve_activate(struct store_tx *tx, int64_t account_id, const char *name)
{
	sqlite3 *db = tx->rd.db;
	int64_t id = 0;
	if (name && (id = id_of(db, account_id, name)) <= 0)
		return id < 0 ? (int)id : -ENOENT;
	return make_active(db, account_id, id);
}

int store_sieve_activate_id(struct store_tx *tx, int64_t account_id, int64_t id)
{
	sqlite3 *db = tx->rd.db;
	bool active;
	int rc = id_row(db, account_id, id, &active, NULL);
	if (rc <= 0)
		return rc < 0 ? rc : -ENOENT;
	return make_active(db, account_id, id);
}

int store_sieve_delete_id(struct store_tx *tx, int64_t account_id, int64_t id)
{
	sqlite3 *db = tx->rd.db;
	bool active = false;
	int rc = id_row(db, account_id, id, &active, NULL);
	if (rc <= 0)
		return rc < 0 ? rc : -ENOENT;
	if (active)
		return -EBUSY;
	sqlite3_stmt *st;
	rc = store_prep(db, &st, "DELETE FROM sieve_scripts WHERE id = ?1");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = store_step_done(st);
	sqlite3_finalize(st);
	return rc;
}

int store_sieve_delete(struct store_tx *tx, int64_t account_id, const char *name)
{
	int64_t id = id_of(tx->rd.db, account_id, name);
	if (id <= 0)
		return id < 0 ? (int)id : -ENOENT;
	return store_sieve_delete_id(tx, account_id, id);
}

/* Script id's name to `to`, which no other script of the account has. */
static int set_name(sqlite3 *db, int64_t account_id, int64_t id, const char *to)
{
	int64_t version = next_version(db, account_id);
	if (version < 0)
		return (int)version;
	sqlite3_stmt *st;
	int rc =
	    store_prep(db, &st, "UPDATE sieve_scripts SET name = ?2, updated = ?3 WHERE id = ?1");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, to, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, version);
	rc = store_step_done(st);
	sqlite3_finalize(st);
	return rc;
}

int store_sieve_rename(struct store_tx *tx, int64_t account_id, const char *from, const char *to)
{
	sqlite3 *db = tx->rd.db;
	if (!store_sieve_name_valid(from) || !store_sieve_name_valid(to))
		return -EINVAL;
	int64_t id = id_of(db, account_id, from);
	if (id <= 0)
		return id < 0 ? (int)id : -ENOENT;
	int64_t taken = id_of(db, account_id, to); /* `from` itself included */
	if (taken != 0)
		return taken < 0 ? (int)taken : -EEXIST;
	return set_name(db, account_id, id, to);
}

int store_sieve_rename_id(struct store_tx *tx, int64_t account_id, int64_t id, const char *to)
{
	sqlite3 *db = tx->rd.db;
	if (!store_sieve_name_valid(to))
		return -EINVAL;
	bool active;
	char name[STORE_SIEVE_NAME_MAX + 1];
	int rc = id_row(db, account_id, id, &active, name);
	if (rc <= 0)
		return rc < 0 ? rc : -ENOENT;
	if (strcmp(name, to) == 0)
		return 0;
	int64_t taken = id_of(db, account_id, to);
	if (taken != 0)
		return taken < 0 ? (int)taken : -EEXIST;
	return set_name(db, account_id, id, to);
}

int64_t store_sieve_count(struct store_rd *rd, int64_t account_id)
{
	return store_scalar(rd->db, "SELECT count(*) FROM sieve_scripts WHERE account_id = ?1",
	                    account_id);
}

/* The columns every read selects, in script_row's order (the text last:
 * the others are read without walking its overflow pages). */
#define SCRIPT_COLUMNS "id, name, active, updated, length(script), script"

static void script_row(sqlite3_stmt *st, struct store_sieve_script *s)
{
	memset(s, 0, sizeof *s);
	s->id = sqlite3_column_int64(st, 0);
	const unsigned char *name = sqlite3_column_text(st, 1);
	snprintf(s->name, sizeof s->name, "%s", name ? (const char *)name : "");
	s->active = sqlite3_column_int(st, 2) != 0;
	s->updated = sqlite3_column_int64(st, 3);
	s->size = (size_t)sqlite3_column_int64(st, 4);
}

int store_sieve_list(struct store_rd *rd, int64_t account_id,
                     int (*cb)(void *ud, const struct store_sieve_script *s), void *ud)
{
	sqlite3_stmt *st;
	int rc = store_prep(rd->db, &st,
	                    "SELECT id, name, active, updated, length(script) FROM sieve_scripts "
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

/* One row of st (bound, not stepped) into script/len/info; releases st. */
static int read_one(sqlite3_stmt *st, char **script, size_t *len, struct store_sieve_script *info)
{
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		store_release(st);
		return rc == SQLITE_DONE ? 0 : store_errno(rc);
	}
	struct store_sieve_script s;
	script_row(st, &s);
	if (script) {
		int n = sqlite3_column_bytes(st, 5);
		char *text = malloc((size_t)n + 1);
		if (!text) {
			store_release(st);
			return -ENOMEM;
		}
		if (n)
			memcpy(text, sqlite3_column_blob(st, 5), (size_t)n);
		text[n] = '\0';
		*script = text;
		if (len)
			*len = (size_t)n;
	}
	store_release(st);
	if (info)
		*info = s;
	return 1;
}

int store_sieve_get(struct store_rd *rd, int64_t account_id, const char *name, char **script,
                    size_t *len, struct store_sieve_script *info)
{
	sqlite3_stmt *st;
	int rc = store_prep_cached(rd->db, &st,
	                           name ? "SELECT " SCRIPT_COLUMNS
	                                  " FROM sieve_scripts WHERE account_id = ?1 AND name = ?2"
	                                : "SELECT " SCRIPT_COLUMNS
	                                  " FROM sieve_scripts WHERE account_id = ?1 AND active");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, account_id);
	if (name)
		sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	return read_one(st, script, len, info);
}

int store_sieve_get_id(struct store_rd *rd, int64_t account_id, int64_t id, char **script,
                       size_t *len, struct store_sieve_script *info)
{
	sqlite3_stmt *st;
	int rc = store_prep_cached(rd->db, &st,
	                           "SELECT " SCRIPT_COLUMNS " FROM sieve_scripts "
	                           "WHERE id = ?1 AND account_id = ?2");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, account_id);
	return read_one(st, script, len, info);
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
