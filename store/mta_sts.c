/* mta_sts: the stored MTA-STS policy cache (see mta_sts.h). A put also
 * drops the expired rows: the table never holds more than the relay's
 * recent destinations. */
#include "store/mta_sts.h"
#include "store/store.h"
#include "store/store_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int store_mta_sts_put(struct store_tx *tx, const struct store_mta_sts_policy *p, int64_t now)
{
	if (!p->domain[0] || strlen(p->domain) > 253 || !p->id[0] ||
	    strlen(p->id) >= sizeof p->id || !p->text || strlen(p->text) >= STORE_MTA_STS_TEXT_MAX)
		return -EINVAL;
	sqlite3_stmt *st;
	int rc = store_prep(tx->rd.db, &st, "DELETE FROM mta_sts_policies WHERE expires <= ?1");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, now);
	rc = store_step_done(st);
	sqlite3_finalize(st);
	if (rc < 0)
		return rc;
	rc = store_prep(
	    tx->rd.db, &st,
	    "INSERT OR REPLACE INTO mta_sts_policies(domain, policy_id, policy, expires) "
	    "VALUES(lower(?1), ?2, ?3, ?4)");
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, p->domain, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, p->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, p->text, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, p->expires);
	rc = store_step_done(st);
	sqlite3_finalize(st);
	return rc;
}

int store_mta_sts_list(struct store_rd *rd, int64_t now,
                       int (*cb)(void *ud, const struct store_mta_sts_policy *p), void *ud)
{
	sqlite3_stmt *st;
	int rc = store_prep(rd->db, &st,
	                    "SELECT domain, policy_id, policy, expires FROM mta_sts_policies "
	                    "WHERE expires > ?1 ORDER BY expires DESC");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, now);
	int ret = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_mta_sts_policy p;
		memset(&p, 0, sizeof p);
		const unsigned char *d = sqlite3_column_text(st, 0),
		                    *id = sqlite3_column_text(st, 1);
		snprintf(p.domain, sizeof p.domain, "%s", d ? (const char *)d : "");
		snprintf(p.id, sizeof p.id, "%s", id ? (const char *)id : "");
		const unsigned char *text = sqlite3_column_text(st, 2);
		p.text = text ? (const char *)text : "";
		p.expires = sqlite3_column_int64(st, 3);
		if ((ret = cb(ud, &p)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_errno(rc);
	sqlite3_finalize(st);
	return ret;
}
