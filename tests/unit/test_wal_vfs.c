/* test_wal_vfs: the write connection's WAL VFS (store/wal_vfs.c). What a
 * commit wrote must be in the file when COMMIT returns, whatever its size
 * and whether or not the pager spilled pages mid-transaction: a second
 * connection through SQLite's own VFS reads it back. A commit's sync is
 * left to the caller only when asked, and a checkpoint's sync never is. */
#include "store/store_int.h"
#include "tests/unit/check.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static sqlite3 *open_db(const char *path, const char *vfs, const char *pragmas)
{
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs) !=
	        SQLITE_OK ||
	    sqlite3_exec(db, pragmas, NULL, NULL, NULL) != SQLITE_OK) {
		printf("open %s: %s\n", path, db ? sqlite3_errmsg(db) : "?");
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

static void fill(unsigned char *buf, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (unsigned char)(seed * 131u + i * 7u + (i >> 11));
}

/* One transaction storing blobs of the given sizes; then the reader must
 * see exactly those bytes. */
static void commit_and_read_back(sqlite3 *w, sqlite3 *r, const size_t *sizes, int n, unsigned seed)
{
	sqlite3_stmt *ins, *sel;
	sqlite3_exec(w, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	sqlite3_prepare_v2(w, "INSERT OR REPLACE INTO t(k, v) VALUES(?1, ?2)", -1, &ins, NULL);
	for (int i = 0; i < n; i++) {
		unsigned char *buf = malloc(sizes[i] + 1);
		fill(buf, sizes[i], seed + (unsigned)i);
		sqlite3_bind_int(ins, 1, i);
		sqlite3_bind_blob(ins, 2, buf, (int)sizes[i], SQLITE_TRANSIENT);
		CHECK(sqlite3_step(ins) == SQLITE_DONE, "insert %d: %s", i, sqlite3_errmsg(w));
		sqlite3_reset(ins);
		free(buf);
	}
	sqlite3_finalize(ins);
	CHECK(sqlite3_exec(w, "COMMIT", NULL, NULL, NULL) == SQLITE_OK, "commit: %s",
	      sqlite3_errmsg(w));

	sqlite3_prepare_v2(r, "SELECT v FROM t WHERE k = ?1", -1, &sel, NULL);
	for (int i = 0; i < n; i++) {
		unsigned char *want = malloc(sizes[i] + 1);
		fill(want, sizes[i], seed + (unsigned)i);
		sqlite3_bind_int(sel, 1, i);
		int rc = sqlite3_step(sel);
		/* (an empty blob reads back as NULL) */
		const void *got = sqlite3_column_blob(sel, 0);
		CHECK(rc == SQLITE_ROW && (size_t)sqlite3_column_bytes(sel, 0) == sizes[i] &&
		          (sizes[i] == 0 || memcmp(got, want, sizes[i]) == 0),
		      "seed %u: blob %d (%zu bytes) read back", seed, i, sizes[i]);
		sqlite3_reset(sel);
		free(want);
	}
	sqlite3_finalize(sel);
}

int main(void)
{
	char dir[] = "/tmp/tern-walvfs-XXXXXX", path[64];
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof path, "%s/t.db", dir);
	const char *vfs = store_wal_vfs_register();
	CHECK(vfs != NULL, "the VFS registers");
	/* A small cache, so that big transactions spill pages into the WAL
	 * before their commit, and rewrite some of them after. */
	sqlite3 *w = open_db(path, vfs,
	                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
	                     "PRAGMA checkpoint_fullfsync=ON; PRAGMA cache_size=20; "
	                     "PRAGMA wal_autocheckpoint=0; "
	                     "CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB);");
	sqlite3 *r = open_db(path, NULL, "PRAGMA query_only=ON;");
	if (!w || !r)
		return 1;

	uint64_t real0, def0, real1, def1;
	/* Not deferred: every commit syncs for real. */
	store_wal_sync_counts(&real0, &def0);
	size_t small[] = {1, 100, 4000};
	commit_and_read_back(w, r, small, 3, 1);
	commit_and_read_back(w, r, small, 3, 2);
	store_wal_sync_counts(&real1, &def1);
	CHECK(real1 - real0 >= 2 && def1 == def0, "without the mark commits sync (%llu real)",
	      (unsigned long long)(real1 - real0));

	CHECK(store_wal_defer_commit_syncs(w, true) == 0, "the writer's WAL is ours");
	CHECK(store_wal_defer_commit_syncs(r, true) == -1, "the reader's WAL is SQLite's");
	store_wal_sync_counts(&real0, &def0);
	/* Past the unix VFS's largest single write (128 KiB), past our buffer
	 * (1 MiB), and with the pager spilling: 3 MiB in one commit. */
	size_t big[] = {130 * 1024, 1, 1100 * 1024, 5000, 3 * 1024 * 1024};
	for (unsigned seed = 10; seed < 14; seed++)
		commit_and_read_back(w, r, big, 5, seed);
	size_t many[200];
	for (int i = 0; i < 200; i++)
		many[i] = 300 + (size_t)i * 41;
	commit_and_read_back(w, r, many, 200, 20);
	store_wal_sync_counts(&real1, &def1);
	CHECK(def1 - def0 == 5 && real1 == real0, "with it commits leave the sync (%llu, %llu)",
	      (unsigned long long)(def1 - def0), (unsigned long long)(real1 - real0));

	/* A checkpoint syncs the WAL and the database for real. */
	CHECK(sqlite3_exec(w, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL) == SQLITE_OK,
	      "checkpoint: %s", sqlite3_errmsg(w));
	store_wal_sync_counts(&real0, &def0);
	CHECK(real0 > real1 && def0 == def1, "a checkpoint's WAL sync is real");
	commit_and_read_back(w, r, big, 5, 30); /* a new WAL header, then frames */
	size_t none[] = {0};
	commit_and_read_back(w, r, none, 1, 31);

	sqlite3_close(r);
	sqlite3_close(w);
	check_remove_dir(dir);
	return check_report("test_wal_vfs");
}
