/* tokens: API tokens (see tokens.h). The digest is the lookup key (a
 * UNIQUE index), so finding a token never compares secrets: what a timing
 * difference of the B-tree search could reveal is how close a guess's
 * SHA-256 is to a stored one, which says nothing about the secret. */
#include "store/tokens.h"
#include "store/store.h"
#include "store/store_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define TOKEN_COLS                                                                                 \
	"t.id, t.name, t.scope, t.secret_sha256, t.created, t.last_used, t.expires, "              \
	"o.account_id, o.domain_id"
#define TOKEN_FROM " FROM tokens t LEFT JOIN token_owners o ON o.token_id = t.id"

static void token_row(sqlite3_stmt *st, struct store_token *t)
{
	memset(t, 0, sizeof *t);
	t->id = sqlite3_column_int64(st, 0);
	const unsigned char *name = sqlite3_column_text(st, 1);
	const unsigned char *scope = sqlite3_column_text(st, 2);
	snprintf(t->name, sizeof t->name, "%s", name ? (const char *)name : "");
	snprintf(t->scope, sizeof t->scope, "%s", scope ? (const char *)scope : "");
	if (sqlite3_column_bytes(st, 3) == STORE_TOKEN_DIGEST)
		memcpy(t->digest, sqlite3_column_blob(st, 3), STORE_TOKEN_DIGEST);
	t->created = sqlite3_column_int64(st, 4);
	t->last_used = sqlite3_column_int64(st, 5);
	t->expires = sqlite3_column_int64(st, 6);
	t->account_id = sqlite3_column_int64(st, 7); /* NULL reads as 0 */
	t->domain_id = sqlite3_column_int64(st, 8);
}

int store_token_add(struct store_tx *tx, const char *name, const char *scope,
                    const unsigned char digest[STORE_TOKEN_DIGEST], int64_t expires, int64_t *id)
{
	sqlite3 *db = tx->rd.db;
	if (!name)
		name = "";
	if (!scope || !*scope || strlen(scope) >= STORE_TOKEN_SCOPE_MAX ||
	    strlen(name) >= STORE_TOKEN_NAME_MAX || expires < 0)
		return -EINVAL;
	sqlite3_stmt *st;
	int rc = store_prep(db, &st,
	                    "INSERT INTO tokens(name, scope, secret_sha256, created, expires) "
	                    "VALUES(?1, ?2, ?3, ?4, ?5)");
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, scope, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, digest, STORE_TOKEN_DIGEST, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, store_now());
	sqlite3_bind_int64(st, 5, expires);
	rc = store_step_done(st);
	sqlite3_finalize(st);
	if (rc == 0 && id)
		*id = sqlite3_last_insert_rowid(db);
	return rc;
}

int store_token_set_owner(struct store_tx *tx, int64_t token_id, const char *account,
                          const char *domain)
{
	if ((account == NULL) == (domain == NULL))
		return -EINVAL;
	sqlite3 *db = tx->rd.db;
	sqlite3_stmt *st;
	int64_t owner;
	int rc = store_owner_id(db, account, domain, &owner);
	if (rc < 0)
		return rc;
	rc = store_prep(db, &st,
	                account ? "INSERT OR REPLACE INTO token_owners(token_id, account_id) "
	                          "VALUES(?1, ?2)"
	                        : "INSERT OR REPLACE INTO token_owners(token_id, domain_id) "
	                          "VALUES(?1, ?2)");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, token_id);
	sqlite3_bind_int64(st, 2, owner);
	rc = store_step_done(st);
	sqlite3_finalize(st);
	return rc;
}

/* Run a statement bound to (?1 = a, ?2 = b): 0 if it changed a row,
 * -ENOENT if none, or negative. */
static int change_one(sqlite3 *db, const char *sql, int64_t a, int64_t b)
{
	int rc = store_run_ids(db, sql, a, b);
	if (rc == 0 && sqlite3_changes(db) == 0)
		rc = -ENOENT;
	return rc;
}

int store_token_del(struct store_tx *tx, int64_t id)
{
	return change_one(tx->rd.db, "DELETE FROM tokens WHERE id = ?1", id, 0);
}

int store_token_touch(struct store_tx *tx, int64_t id, int64_t now)
{
	return change_one(tx->rd.db, "UPDATE tokens SET last_used = ?2 WHERE id = ?1", id, now);
}

int store_token_list(struct store_rd *rd, int (*cb)(void *ud, const struct store_token *t),
                     void *ud)
{
	sqlite3_stmt *st;
	int rc = store_prep(rd->db, &st, "SELECT " TOKEN_COLS TOKEN_FROM " ORDER BY t.id");
	if (rc < 0)
		return rc;
	int ret = 0;
	struct store_token t;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		token_row(st, &t);
		if ((ret = cb(ud, &t)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_errno(rc);
	sqlite3_finalize(st);
	return ret;
}

int store_token_find(struct store_rd *rd, const unsigned char digest[STORE_TOKEN_DIGEST],
                     struct store_token *out)
{
	sqlite3_stmt *st;
	int rc = store_prep_cached(rd->db, &st,
	                           "SELECT " TOKEN_COLS TOKEN_FROM " WHERE t.secret_sha256 = ?1");
	if (rc < 0)
		return rc;
	sqlite3_bind_blob(st, 1, digest, STORE_TOKEN_DIGEST, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		token_row(st, out);
		rc = 1;
	} else {
		rc = rc == SQLITE_DONE ? 0 : store_errno(rc);
	}
	store_release(st);
	return rc;
}
