/* connect: opening a connection the way every store connection is opened
 * (WAL, foreign keys, busy timeout, cache size; the write connections
 * through store/wal_vfs.c). */
#include "store/store.h"
#include "store/store_int.h"
#include "lib/log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *writer_vfs; /* store/wal_vfs.c, or NULL: SQLite's */

int store_mkdir_p(const char *dir)
{
	char buf[4096];
	size_t n = strlen(dir);
	if (n == 0 || n >= sizeof buf)
		return -ENAMETOOLONG;
	memcpy(buf, dir, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		char c = buf[i];
		buf[i] = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return -errno;
		buf[i] = c;
	}
	struct stat sb;
	if (stat(dir, &sb) < 0)
		return -errno;
	return S_ISDIR(sb.st_mode) ? 0 : -ENOTDIR;
}

/* Once per process, before the first connection: SQLite's memory
 * statistics take a global mutex on every allocation, which the loop and
 * the writer thread then fight over; nothing here reads those statistics.
 * Write connections open through store/wal_vfs.c when it registers. */
static void sqlite_setup(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	writer_vfs = store_wal_vfs_register();
}

int store_open_conn(sqlite3 **db, const char *path, bool reader, char *err, size_t errlen)
{
	static uv_once_t once = UV_ONCE_INIT;
	uv_once(&once, sqlite_setup);
	/* NOMUTEX: each connection is used by one thread at a time (the reader
	 * by the loop; the writer by the writer thread or store_exec(), both
	 * under wlock), so SQLite's per-call connection mutex is redundant. */
	int rc = sqlite3_open_v2(path, db,
	                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	                         reader ? NULL : writer_vfs);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, *db ? sqlite3_errmsg(*db) : "out of memory");
		sqlite3_close(*db);
		*db = NULL;
		return store_errno(rc);
	}
	sqlite3_busy_timeout(*db, STORE_BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(*db, 1);
	/* cache_size: 32 MiB of pages each (grown only as used) instead of
	 * SQLite's 2 MiB, so the b-tree pages every delivery touches stay in
	 * memory instead of being read back with pread. */
	const char *pragmas = reader ? "PRAGMA foreign_keys=ON; PRAGMA query_only=ON; "
	                               "PRAGMA cache_size=-32768;"
	                             : "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
	                               "PRAGMA foreign_keys=ON; PRAGMA cache_size=-32768;";
	char *msg = NULL;
	rc = sqlite3_exec(*db, pragmas, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, msg ? msg : "?");
		sqlite3_free(msg);
		sqlite3_close(*db);
		*db = NULL;
		return store_errno(rc);
	}
	return 0;
}
