/* dkim: DKIM keys (see dkim.h). A selector is unique per domain for good,
 * retired or not: a verifier that cached the old key must never see the
 * same name with another one. */
#include "store/dkim.h"
#include "store/store.h"
#include "store/store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int too_long(const char *s, size_t max)
{
	return !s || !*s || strlen(s) >= max;
}

int store_dkim_add(struct store_tx *tx, const char *domain, const char *selector,
                   const char *algorithm, const char *private_key, const char *public_key)
{
	sqlite3 *db = tx->rd.db;
	if (too_long(domain, 254) || too_long(selector, STORE_DKIM_SELECTOR_MAX) ||
	    too_long(algorithm, STORE_DKIM_ALG_MAX) ||
	    too_long(public_key, STORE_DKIM_PUBLIC_MAX) || !private_key || !*private_key)
		return -EINVAL;
	sqlite3_stmt *st;
	int rc = store_prep(db, &st,
	                    "INSERT INTO dkim_keys(domain_id, selector, algorithm, private_key, "
	                    "public_key, created) "
	                    "SELECT id, ?2, ?3, ?4, ?5, ?6 FROM domains WHERE name = ?1");
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, selector, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, algorithm, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, private_key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, public_key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, store_now());
	rc = store_step_done(st);
	sqlite3_finalize(st);
	if (rc == 0 && sqlite3_changes(db) == 0)
		rc = -ENOENT;
	return rc;
}

int store_dkim_retire(struct store_tx *tx, const char *domain, const char *selector, int64_t now)
{
	sqlite3 *db = tx->rd.db;
	sqlite3_stmt *st;
	int rc = store_prep(db, &st,
	                    "UPDATE dkim_keys SET retired = ?3 WHERE selector = ?2 AND "
	                    "retired IS NULL AND domain_id = "
	                    "(SELECT id FROM domains WHERE name = ?1)");
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, domain ? domain : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, selector ? selector : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now > 0 ? now : 1);
	rc = store_step_done(st);
	sqlite3_finalize(st);
	if (rc == 0 && sqlite3_changes(db) == 0)
		rc = -ENOENT;
	return rc;
}

static void copy_col(char *dst, size_t n, sqlite3_stmt *st, int col)
{
	const unsigned char *v = sqlite3_column_text(st, col);
	snprintf(dst, n, "%s", v ? (const char *)v : "");
}

int store_dkim_list(struct store_rd *rd, const char *domain,
                    int (*cb)(void *ud, const struct store_dkim_key *k), void *ud)
{
	sqlite3_stmt *st;
	int rc = store_prep(rd->db, &st,
	                    "SELECT k.id, d.name, k.selector, k.algorithm, k.public_key, "
	                    "k.created, k.retired FROM dkim_keys k JOIN domains d "
	                    "ON d.id = k.domain_id WHERE ?1 IS NULL OR d.name = ?1 "
	                    "ORDER BY d.name, k.id");
	if (rc < 0)
		return rc;
	if (domain)
		sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
	int ret = 0;
	struct store_dkim_key k;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&k, 0, sizeof k);
		k.id = sqlite3_column_int64(st, 0);
		copy_col(k.domain, sizeof k.domain, st, 1);
		copy_col(k.selector, sizeof k.selector, st, 2);
		copy_col(k.algorithm, sizeof k.algorithm, st, 3);
		copy_col(k.public_key, sizeof k.public_key, st, 4);
		k.created = sqlite3_column_int64(st, 5);
		k.retired = sqlite3_column_int64(st, 6);
		if ((ret = cb(ud, &k)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_errno(rc);
	sqlite3_finalize(st);
	return ret;
}

int store_dkim_live_private(struct store_rd *rd, const char *domain,
                            int (*cb)(void *ud, const struct store_dkim_private *k), void *ud)
{
	sqlite3_stmt *st;
	int rc = store_prep(rd->db, &st,
	                    "SELECT k.selector, k.algorithm, k.private_key FROM dkim_keys k "
	                    "JOIN domains d ON d.id = k.domain_id WHERE d.name = ?1 AND "
	                    "k.retired IS NULL ORDER BY k.id LIMIT ?2");
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, domain ? domain : "", -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, STORE_DKIM_LIVE_MAX);
	int ret = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_dkim_private k;
		memset(&k, 0, sizeof k);
		copy_col(k.selector, sizeof k.selector, st, 0);
		copy_col(k.algorithm, sizeof k.algorithm, st, 1);
		const unsigned char *v = sqlite3_column_text(st, 2);
		int n = sqlite3_column_bytes(st, 2);
		char *copy = v ? malloc((size_t)n + 1) : NULL;
		if (!copy) {
			ret = -ENOMEM;
			break;
		}
		memcpy(copy, v, (size_t)n);
		copy[n] = '\0';
		k.private_key = copy;
		ret = cb(ud, &k);
		explicit_bzero(copy, (size_t)n);
		free(copy);
		if (ret != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_errno(rc);
	sqlite3_finalize(st);
	return ret;
}

int store_dkim_serial(struct store_rd *rd, struct store_dkim_serial *out)
{
	sqlite3_stmt *st;
	int rc = store_prep_cached(rd->db, &st,
	                           "SELECT (SELECT value FROM meta WHERE key = 'directory'), "
	                           "count(*), coalesce(max(id), 0), "
	                           "coalesce(sum(CASE WHEN retired IS NULL THEN 0 ELSE id END), 0) "
	                           "FROM dkim_keys");
	if (rc < 0)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->directory = sqlite3_column_int64(st, 0);
		out->count = sqlite3_column_int64(st, 1);
		out->max_id = sqlite3_column_int64(st, 2);
		out->retired_sum = sqlite3_column_int64(st, 3);
		rc = 0;
	} else {
		rc = store_errno(rc);
	}
	store_release(st);
	return rc;
}
