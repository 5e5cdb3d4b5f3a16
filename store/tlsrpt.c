/* tlsrpt: the TLS-RPT counters (see tlsrpt.h). One row per day, policy
 * domain, policy (type and id) and result: an upsert adds to its count,
 * so a batch from the relay is a handful of statements whatever the
 * number of sessions behind it. */
#include "store/tlsrpt.h"
#include "store/store.h"
#include "store/store_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int bad(const char *s, size_t max, int may_be_empty)
{
	return !s || (!may_be_empty && !*s) || strlen(s) >= max;
}

int store_tlsrpt_add(struct store_tx *tx, const struct store_tlsrpt_count *rows, size_t n)
{
	sqlite3_stmt *st;
	int rc =
	    store_prep(tx->rd.db, &st,
	               "INSERT INTO tlsrpt_counts(day, policy_domain, policy_type, policy_id, "
	               "result, count, policy_string) VALUES(?1, lower(?2), ?3, ?4, ?5, ?6, ?7) "
	               "ON CONFLICT(day, policy_domain, policy_type, policy_id, result) DO "
	               "UPDATE SET count = count + excluded.count, "
	               "policy_string = excluded.policy_string");
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct store_tlsrpt_count *c = &rows[i];
		if (strlen(c->day) != 10 || bad(c->policy_domain, 254, 0) ||
		    bad(c->policy_type, sizeof c->policy_type, 0) ||
		    bad(c->policy_id, sizeof c->policy_id, 1) ||
		    bad(c->result, sizeof c->result, 0) ||
		    bad(c->policy_string, sizeof c->policy_string, 1) || c->count > INT64_MAX) {
			rc = -EINVAL;
			break;
		}
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, c->day, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, c->policy_domain, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, c->policy_type, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, c->policy_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, c->result, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, (int64_t)c->count);
		sqlite3_bind_text(st, 7, c->policy_string, -1, SQLITE_STATIC);
		rc = store_step_done(st);
	}
	sqlite3_finalize(st);
	return rc;
}

int store_tlsrpt_prune(struct store_tx *tx, const char *before_day)
{
	sqlite3_stmt *st;
	int rc = store_prep(tx->rd.db, &st, "DELETE FROM tlsrpt_counts WHERE day < ?1");
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, before_day ? before_day : "", -1, SQLITE_STATIC);
	rc = store_step_done(st);
	sqlite3_finalize(st);
	return rc < 0 ? rc : sqlite3_changes(tx->rd.db);
}

static void copy_col(char *dst, size_t n, sqlite3_stmt *st, int col)
{
	const unsigned char *v = sqlite3_column_text(st, col);
	snprintf(dst, n, "%s", v ? (const char *)v : "");
}

int store_tlsrpt_list(struct store_rd *rd, const char *day, const char *policy_domain,
                      int (*cb)(void *ud, const struct store_tlsrpt_count *c), void *ud)
{
	sqlite3_stmt *st;
	int rc = store_prep(rd->db, &st,
	                    "SELECT day, policy_domain, policy_type, policy_id, result, count, "
	                    "policy_string FROM tlsrpt_counts WHERE (?1 IS NULL OR day = ?1) AND "
	                    "(?2 IS NULL OR policy_domain = lower(?2)) "
	                    "ORDER BY day, policy_domain, policy_type, policy_id, result");
	if (rc < 0)
		return rc;
	if (day)
		sqlite3_bind_text(st, 1, day, -1, SQLITE_STATIC);
	if (policy_domain)
		sqlite3_bind_text(st, 2, policy_domain, -1, SQLITE_STATIC);
	int ret = 0;
	static struct store_tlsrpt_count c; /* 4 KiB: not on the stack; loop or CLI only */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&c, 0, sizeof c);
		copy_col(c.day, sizeof c.day, st, 0);
		copy_col(c.policy_domain, sizeof c.policy_domain, st, 1);
		copy_col(c.policy_type, sizeof c.policy_type, st, 2);
		copy_col(c.policy_id, sizeof c.policy_id, st, 3);
		copy_col(c.result, sizeof c.result, st, 4);
		c.count = (uint64_t)sqlite3_column_int64(st, 5);
		copy_col(c.policy_string, sizeof c.policy_string, st, 6);
		if ((ret = cb(ud, &c)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_errno(rc);
	sqlite3_finalize(st);
	return ret;
}
