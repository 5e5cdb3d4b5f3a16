/* counts: see counts.h. Plain count(*)/sum() scans: `tern stats` is an
 * operator's command, not a hot path. */
#include "store/counts.h"

#include <sqlite3.h>
#include <string.h>

#include "store/store.h"
#include "store/store_int.h"

static int one_row(sqlite3 *db, const char *sql, int64_t now, int64_t *cols, int ncols)
{
	sqlite3_stmt *st;
	int rc = store_prep(db, &st, sql);
	if (rc < 0)
		return rc;
	if (sqlite3_bind_parameter_count(st) >= 1)
		sqlite3_bind_int64(st, 1, now);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		for (int i = 0; i < ncols; i++)
			cols[i] = sqlite3_column_int64(st, i);
		rc = 0;
	} else {
		rc = store_errno(rc);
	}
	sqlite3_finalize(st);
	return rc;
}

int store_counts_read(struct store_rd *rd, int64_t now, struct store_counts *out)
{
	memset(out, 0, sizeof *out);
	bool begun = store_read_begin(rd);
	int64_t a[4], m[2], s[2], q[4];
	int rc = one_row(rd->db,
	                 "SELECT (SELECT count(*) FROM domains), (SELECT count(*) FROM accounts),"
	                 " (SELECT count(*) FROM aliases), (SELECT count(*) FROM mailboxes)",
	                 now, a, 4);
	if (rc == 0)
		rc = one_row(rd->db, "SELECT count(*), coalesce(sum(size), 0) FROM mailbox_entries",
		             now, m, 2);
	if (rc == 0)
		rc = one_row(rd->db, "SELECT count(*), coalesce(sum(size), 0) FROM messages", now,
		             s, 2);
	if (rc == 0)
		rc = one_row(
		    rd->db,
		    "SELECT coalesce(sum(claimed_until <= ?1 AND NOT cancelled AND attempts = 0), "
		    "0),"
		    " coalesce(sum(claimed_until <= ?1 AND NOT cancelled AND attempts > 0), 0),"
		    " coalesce(sum(claimed_until > ?1), 0),"
		    " coalesce(sum(claimed_until <= ?1 AND cancelled), 0) FROM queue",
		    now, q, 4);
	store_read_end(rd, begun);
	if (rc < 0)
		return rc;
	*out = (struct store_counts){
	    .domains = a[0],
	    .accounts = a[1],
	    .aliases = a[2],
	    .mailboxes = a[3],
	    .messages = m[0],
	    .bytes = m[1],
	    .stored_messages = s[0],
	    .stored_bytes = s[1],
	    .queue_queued = q[0],
	    .queue_deferred = q[1],
	    .queue_sending = q[2],
	    .queue_bouncing = q[3],
	};
	return 0;
}
