/* sql: the small helpers every file of store/ uses to talk SQL: prepare,
 * step, one-value queries, errno mapping, UIDVALIDITY allocation. */
#include "store/store.h"
#include "store/store_int.h"
#include "lib/log.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int store_errno(int rc)
{
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		return -ENOENT; /* refers to a row that does not exist */
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_TOOBIG:
		return -EFBIG;
	default:
		return -EIO;
	}
}

int store_prep(sqlite3 *db, sqlite3_stmt **st, const char *sql)
{
	int rc = sqlite3_prepare_v2(db, sql, -1, st, NULL);
	if (rc != SQLITE_OK) {
		log_error("store event=prepare rc=%d err=\"%s\" sql=\"%.80s\"", rc,
		          sqlite3_errmsg(db), sql);
		*st = NULL;
		return store_errno(rc);
	}
	return 0;
}

int store_run(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		log_warn("store event=exec rc=%d err=\"%s\" sql=\"%.80s\"", rc, msg ? msg : "?",
		         sql);
		sqlite3_free(msg);
		return store_errno(rc);
	}
	return 0;
}

int store_step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return 0;
	return store_errno(rc);
}

int64_t store_now(void)
{
	return (int64_t)time(NULL);
}

uint32_t store_next_uidvalidity(sqlite3 *db)
{
	sqlite3_stmt *st;
	int64_t last = 0, now = store_now(), v;
	if (store_prep(db, &st, "SELECT value FROM meta WHERE key='uidvalidity'") < 0)
		return 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		last = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	v = now > last ? now : last + 1;
	if (v <= 0 || v > UINT32_MAX)
		return 0; /* the year 2106, or 4 billion mailboxes created in a second */
	if (store_prep(db, &st,
	               "INSERT INTO meta(key, value) VALUES('uidvalidity', ?1) "
	               "ON CONFLICT(key) DO UPDATE SET value=excluded.value") < 0)
		return 0;
	sqlite3_bind_int64(st, 1, v);
	int rc = store_step_done(st);
	sqlite3_finalize(st);
	return rc < 0 ? 0 : (uint32_t)v;
}

ssize_t store_blob_read(sqlite3 *db, const char *table, int64_t rowid, uint64_t offset, void *buf,
                        size_t len)
{
	sqlite3_blob *blob = NULL;
	int rc = sqlite3_blob_open(db, "main", table, "data", rowid, 0, &blob);
	if (rc != SQLITE_OK) {
		sqlite3_blob_close(blob);
		/* A missing row is reported as SQLITE_ERROR "no such rowid". */
		return rc == SQLITE_ERROR ? -ENOENT : store_errno(rc);
	}
	uint64_t size = (uint64_t)sqlite3_blob_bytes(blob);
	ssize_t n = 0;
	if (offset < size) {
		uint64_t want = size - offset < len ? size - offset : len;
		if (want > INT_MAX)
			want = INT_MAX;
		rc = sqlite3_blob_read(blob, buf, (int)want, (int)offset);
		n = rc == SQLITE_OK ? (ssize_t)want : store_errno(rc);
	}
	sqlite3_blob_close(blob);
	return n;
}
