/* emails: account-wide reads of messages and threads for JMAP (see
 * emails.h). Each query goes through the account's mailboxes, so an id
 * of another account's message simply finds nothing. */
#include "store/emails.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

int store_email_entries(struct store_rd *rd, int64_t account_id, int64_t message_id,
                        int (*cb)(void *ud, const struct store_email_entry *e), void *ud)
{
	sqlite3_stmt *st;
	int r = store_prep_cached(rd->db, &st,
	                          "SELECT e.mailbox_id, b.uidvalidity, e.uid, e.message_id, "
	                          "coalesce(e.thread_id, e.message_id), e.flags, e.keywords, "
	                          "e.internal_date, e.size, e.modseq FROM mailbox_entries e "
	                          "JOIN mailboxes b ON b.id = e.mailbox_id "
	                          "WHERE e.message_id = ?1 AND b.account_id = ?2 "
	                          "ORDER BY e.mailbox_id, e.uid");
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, message_id);
	sqlite3_bind_int64(st, 2, account_id);
	int ret = 0, rows = 0;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_email_entry e = {
		    .mailbox_id = sqlite3_column_int64(st, 0),
		    .uidvalidity = (uint32_t)sqlite3_column_int64(st, 1),
		    .uid = (uint32_t)sqlite3_column_int64(st, 2),
		    .message_id = sqlite3_column_int64(st, 3),
		    .thread_id = sqlite3_column_int64(st, 4),
		    .flags = (uint32_t)sqlite3_column_int64(st, 5),
		    .keywords = (const char *)sqlite3_column_text(st, 6),
		    .internal_date = sqlite3_column_int64(st, 7),
		    .size = sqlite3_column_int64(st, 8),
		    .modseq = sqlite3_column_int64(st, 9),
		};
		if (!e.keywords)
			e.keywords = "";
		rows++;
		if ((ret = cb(ud, &e)) != 0)
			break;
	}
	if (ret == 0 && r != SQLITE_DONE)
		ret = store_errno(r);
	store_release(st);
	return ret ? ret : rows;
}

int store_email_rows(struct store_rd *rd, int64_t mailbox_id,
                     int (*cb)(void *ud, const struct store_email_entry *e), void *ud)
{
	return store_email_rows_from(rd, mailbox_id, 0, cb, ud);
}

int store_email_rows_from(struct store_rd *rd, int64_t mailbox_id, uint32_t min_uid,
                          int (*cb)(void *ud, const struct store_email_entry *e), void *ud)
{
	sqlite3_stmt *st;
	int r = store_prep_cached(rd->db, &st,
	                          "SELECT uid, message_id, coalesce(thread_id, message_id), flags, "
	                          "keywords, internal_date, size FROM mailbox_entries "
	                          "WHERE mailbox_id = ?1 AND uid >= ?2 ORDER BY uid");
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, min_uid);
	int ret = 0, rows = 0;
	struct store_email_entry e = {0};
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		e.uid = (uint32_t)sqlite3_column_int64(st, 0);
		e.message_id = sqlite3_column_int64(st, 1);
		e.thread_id = sqlite3_column_int64(st, 2);
		e.flags = (uint32_t)sqlite3_column_int64(st, 3);
		e.keywords = (const char *)sqlite3_column_text(st, 4);
		e.internal_date = sqlite3_column_int64(st, 5);
		e.size = sqlite3_column_int64(st, 6);
		if (!e.keywords)
			e.keywords = "";
		rows++;
		if ((ret = cb(ud, &e)) != 0)
			break;
	}
	if (ret == 0 && r != SQLITE_DONE)
		ret = store_errno(r);
	store_release(st);
	return ret ? ret : rows;
}

int store_email_dates(struct store_rd *rd, int64_t mailbox_id, int64_t after, int64_t before,
                      bool descending, struct store_date_rows *out)
{
	sqlite3_stmt *st;
	int r = store_prep_cached(
	    rd->db, &st,
	    descending ? "SELECT message_id, internal_date, uid FROM mailbox_entries "
	                 "INDEXED BY mailbox_entries_date WHERE mailbox_id = ?1 AND "
	                 "internal_date >= ?2 AND internal_date < ?3 "
	                 "ORDER BY internal_date DESC, message_id DESC"
	               : "SELECT message_id, internal_date, uid FROM mailbox_entries "
	                 "INDEXED BY mailbox_entries_date WHERE mailbox_id = ?1 AND "
	                 "internal_date >= ?2 AND internal_date < ?3 "
	                 "ORDER BY internal_date, message_id");
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, after);
	sqlite3_bind_int64(st, 3, before);
	int ret = 0;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (out->n == out->cap) {
			size_t ncap = out->cap ? out->cap * 2 : 1024;
			int64_t *ids = realloc(out->message_ids, ncap * sizeof *ids);
			if (ids)
				out->message_ids = ids;
			int64_t *dates = ids ? realloc(out->dates, ncap * sizeof *dates) : NULL;
			if (dates)
				out->dates = dates;
			uint32_t *uids = dates ? realloc(out->uids, ncap * sizeof *uids) : NULL;
			if (!uids) {
				ret = -ENOMEM;
				break;
			}
			out->uids = uids;
			out->cap = ncap;
		}
		out->message_ids[out->n] = sqlite3_column_int64(st, 0);
		out->dates[out->n] = sqlite3_column_int64(st, 1);
		out->uids[out->n++] = (uint32_t)sqlite3_column_int64(st, 2);
	}
	if (ret == 0 && r != SQLITE_DONE)
		ret = store_errno(r);
	store_release(st);
	return ret;
}

void store_date_rows_free(struct store_date_rows *out)
{
	free(out->message_ids);
	free(out->dates);
	free(out->uids);
	*out = (struct store_date_rows){0};
}

/* Steps st and collects its first column into a growing array. */
static int collect_ids(sqlite3_stmt *st, int64_t **ids, size_t *n)
{
	size_t cap = 0;
	int r;
	*ids = NULL;
	*n = 0;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			int64_t *p = realloc(*ids, ncap * sizeof *p);
			if (!p) {
				r = SQLITE_NOMEM;
				break;
			}
			*ids = p;
			cap = ncap;
		}
		(*ids)[(*n)++] = sqlite3_column_int64(st, 0);
	}
	if (r != SQLITE_DONE) {
		free(*ids);
		*ids = NULL;
		*n = 0;
		return store_errno(r);
	}
	return 0;
}

int store_email_ids(struct store_rd *rd, int64_t account_id, size_t limit, int64_t **ids, size_t *n)
{
	*ids = NULL;
	*n = 0;
	sqlite3_stmt *st;
	int r = store_prep_cached(rd->db, &st,
	                          "SELECT DISTINCT e.message_id FROM mailbox_entries e "
	                          "JOIN mailboxes b ON b.id = e.mailbox_id "
	                          "WHERE b.account_id = ?1 ORDER BY 1 LIMIT ?2");
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, account_id);
	sqlite3_bind_int64(st, 2, limit ? (int64_t)limit : -1);
	r = collect_ids(st, ids, n);
	store_release(st);
	return r;
}

int store_threads_emails(struct store_rd *rd, int64_t account_id, const int64_t *thread_ids,
                         size_t n, int (*cb)(void *ud, int64_t thread_id, int64_t message_id),
                         void *ud)
{
	if (n > STORE_THREADS_MAX)
		return -E2BIG;
	if (n == 0)
		return 0;
	/* No index on thread_id: one walk of the account's entries for all
	 * the threads a Thread/get asks for. (A schema step for an index is
	 * the store's to take when that shows up in a profile.) */
	static const char head[] =
	    "SELECT coalesce(e.thread_id, e.message_id) AS t, e.message_id, "
	    "min(e.internal_date) AS d FROM mailbox_entries e "
	    "JOIN mailboxes b ON b.id = e.mailbox_id "
	    "WHERE b.account_id = ?1 AND coalesce(e.thread_id, e.message_id) IN (";
	static const char tail[] = ") GROUP BY e.message_id ORDER BY t, d, e.message_id";
	size_t len = sizeof head + 2 * n + sizeof tail;
	char *sql = malloc(len);
	if (!sql)
		return -ENOMEM;
	char *w = sql + sizeof head - 1;
	memcpy(sql, head, sizeof head - 1);
	for (size_t i = 0; i < n; i++) {
		*w++ = i ? ',' : '?';
		if (i)
			*w++ = '?';
	}
	memcpy(w, tail, sizeof tail);
	sqlite3_stmt *st;
	int r = store_prep(rd->db, &st, sql);
	free(sql);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, account_id);
	for (size_t i = 0; i < n; i++)
		sqlite3_bind_int64(st, (int)i + 2, thread_ids[i]);
	int ret = 0, rows = 0;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		rows++;
		if ((ret = cb(ud, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1))) != 0)
			break;
	}
	if (ret == 0 && r != SQLITE_DONE)
		ret = store_errno(r);
	sqlite3_finalize(st);
	return ret ? ret : rows;
}

int store_mailbox_by_uidvalidity(struct store_rd *rd, int64_t account_id, uint32_t uidvalidity,
                                 int64_t *mailbox_id)
{
	sqlite3_stmt *st;
	int r = store_prep_cached(rd->db, &st,
	                          "SELECT id FROM mailboxes WHERE account_id = ?1 AND "
	                          "uidvalidity = ?2");
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, account_id);
	sqlite3_bind_int64(st, 2, uidvalidity);
	r = sqlite3_step(st);
	int ret;
	if (r == SQLITE_ROW) {
		*mailbox_id = sqlite3_column_int64(st, 0);
		ret = 1;
	} else {
		ret = r == SQLITE_DONE ? 0 : store_errno(r);
	}
	store_release(st);
	return ret;
}

int store_email_state(struct store_rd *rd, int64_t account_id, char *out, size_t outlen)
{
	sqlite3_stmt *st;
	int r = store_prep_cached(rd->db, &st,
	                          "SELECT coalesce(sum(highestmodseq), 0), count(*), "
	                          "coalesce(sum(uidvalidity), 0) FROM mailboxes "
	                          "WHERE account_id = ?1");
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, account_id);
	r = sqlite3_step(st);
	int ret = 0;
	if (r == SQLITE_ROW) {
		int w = snprintf(out, outlen, "%llx.%llx.%llx",
		                 (unsigned long long)sqlite3_column_int64(st, 0),
		                 (unsigned long long)sqlite3_column_int64(st, 1),
		                 (unsigned long long)sqlite3_column_int64(st, 2));
		if (w < 0 || (size_t)w >= outlen)
			ret = -ENOSPC;
	} else {
		ret = store_errno(r);
	}
	store_release(st);
	return ret;
}
