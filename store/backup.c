/* backup: the online backup of tern.db, and putting one back (backup.h).
 *
 * Why one read transaction around the whole copy. sqlite3_backup_step()
 * started on a connection with no transaction open takes a fresh read
 * lock per step, and when another process (the server's writer) commits
 * between two steps, the copy starts over: under steady delivery it would
 * never end. Holding one read transaction on the source for the whole
 * copy pins one snapshot instead. In WAL mode a reader never blocks the
 * writer; it only keeps the checkpointer from going past its snapshot, so
 * the WAL grows for as long as the copy takes, and shrinks after. */
#include "store/backup.h"
#include "store/store.h"
#include "store/store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define BACKUP_FILES_TABLE "backup_files"

int store_lock_dir(const char *dir, bool exclusive)
{
	char path[4200];
	if ((size_t)snprintf(path, sizeof path, "%s/tern.lock", dir) >= sizeof path)
		return -ENAMETOOLONG;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0) {
		int e = errno;
		close(fd);
		return e == EWOULDBLOCK ? -EWOULDBLOCK : -e;
	}
	return fd;
}

struct store_backup {
	sqlite3 *src, *dst;
	sqlite3_backup *bk;
	char dest[4096];
	struct store_backup_summary sum;
};

static int fail(sqlite3 *db, int rc, char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s: %s", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	return store_errno(rc) < 0 ? store_errno(rc) : -EIO;
}

static void read_summary(sqlite3 *db, struct store_backup_summary *sum)
{
	sum->schema = (int)store_scalar_uncached(db, "PRAGMA user_version");
	sum->messages = store_scalar_uncached(db, "SELECT count(*) FROM messages");
	sum->entries = store_scalar_uncached(db, "SELECT count(*) FROM mailbox_entries");
	sum->accounts = store_scalar_uncached(db, "SELECT count(*) FROM accounts");
}

static int open_readonly(sqlite3 **db, const char *path, char *err, size_t errlen)
{
	int rc = sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, *db ? sqlite3_errmsg(*db) : "out of memory");
		sqlite3_close(*db);
		*db = NULL;
		return store_errno(rc) < 0 ? store_errno(rc) : -EIO;
	}
	sqlite3_busy_timeout(*db, STORE_BUSY_TIMEOUT_MS);
	return 0;
}

static int fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

int store_backup_begin(struct store_backup **out, const char *data_dir, const char *dest, char *err,
                       size_t errlen)
{
	*out = NULL;
	struct store_backup *b = calloc(1, sizeof *b);
	if (!b) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	char src[4200];
	snprintf(src, sizeof src, "%s/tern.db", data_dir);
	struct stat sb;
	if (stat(src, &sb) < 0) {
		int e = errno;
		snprintf(err, errlen, "no store at %s: %s", src, strerror(e));
		free(b);
		return -e;
	}
	if ((size_t)snprintf(b->dest, sizeof b->dest, "%s", dest) >= sizeof b->dest) {
		snprintf(err, errlen, "%s: path too long", dest);
		free(b);
		return -ENAMETOOLONG;
	}
	/* Claim dest: it holds password hashes and private keys, so 0600. */
	int fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", dest, strerror(e));
		free(b);
		return -e;
	}
	close(fd);
	int rc = open_readonly(&b->src, src, err, errlen);
	if (rc < 0)
		goto out;
	/* The snapshot: BEGIN alone takes no lock; the first read does. */
	if ((rc = sqlite3_exec(b->src, "BEGIN", NULL, NULL, NULL)) != SQLITE_OK ||
	    store_scalar_uncached(b->src, "SELECT count(*) FROM sqlite_schema") < 0) {
		rc = fail(b->src, rc == SQLITE_OK ? sqlite3_errcode(b->src) : rc, err, errlen, src);
		goto out;
	}
	read_summary(b->src, &b->sum);
	if (b->sum.messages < 0 || b->sum.entries < 0) {
		snprintf(err, errlen, "%s: not a tern store (no messages or mailbox_entries table)",
		         src);
		rc = -EPROTO;
		goto out;
	}
	rc = sqlite3_open_v2(dest, &b->dst, SQLITE_OPEN_READWRITE, NULL);
	if (rc != SQLITE_OK) {
		rc = fail(b->dst, rc, err, errlen, dest);
		goto out;
	}
	b->bk = sqlite3_backup_init(b->dst, "main", b->src, "main");
	if (!b->bk) {
		rc = fail(b->dst, sqlite3_errcode(b->dst), err, errlen, dest);
		goto out;
	}
	*out = b;
	return 0;
out:
	store_backup_abort(b);
	return rc < 0 ? rc : -EIO;
}

int store_backup_step(struct store_backup *b, int pages, int *done, int *total, char *err,
                      size_t errlen)
{
	if (!b->bk)
		return 0;
	int rc;
	/* Our own snapshot is held, so only the destination's lock could be
	 * busy (someone opened the half-written file): wait a little. */
	for (int tries = 0;; tries++) {
		rc = sqlite3_backup_step(b->bk, pages);
		if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || tries >= 500)
			break;
		usleep(10000);
	}
	*total = sqlite3_backup_pagecount(b->bk);
	*done = *total - sqlite3_backup_remaining(b->bk);
	if (rc == SQLITE_OK)
		return 1;
	if (rc != SQLITE_DONE)
		return fail(b->dst, rc, err, errlen, "backup");
	rc = sqlite3_backup_finish(b->bk);
	b->bk = NULL;
	if (rc != SQLITE_OK)
		return fail(b->dst, rc, err, errlen, "backup");
	/* The pages say WAL (they are tern.db's); a backup is one file. */
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(b->dst, "PRAGMA journal_mode=DELETE", -1, &st, NULL) != SQLITE_OK)
		return fail(b->dst, sqlite3_errcode(b->dst), err, errlen, b->dest);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return fail(b->dst, rc, err, errlen, b->dest);
	return 0;
}

int store_backup_add_file(struct store_backup *b, const char *name, const void *data, size_t len,
                          unsigned mode, char *err, size_t errlen)
{
	if (b->bk) {
		snprintf(err, errlen, "backup: files go in after the pages");
		return -EINVAL;
	}
	int rc = sqlite3_exec(b->dst,
	                      "CREATE TABLE IF NOT EXISTS " BACKUP_FILES_TABLE "(\n"
	                      "  name TEXT PRIMARY KEY,\n"
	                      "  mode INTEGER NOT NULL,\n"
	                      "  data BLOB NOT NULL\n"
	                      ")",
	                      NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return fail(b->dst, rc, err, errlen, b->dest);
	sqlite3_stmt *st;
	rc = sqlite3_prepare_v2(b->dst,
	                        "INSERT OR REPLACE INTO " BACKUP_FILES_TABLE
	                        "(name, mode, data) VALUES(?1, ?2, ?3)",
	                        -1, &st, NULL);
	if (rc != SQLITE_OK)
		return fail(b->dst, rc, err, errlen, b->dest);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, (int)(mode & 07777));
	sqlite3_bind_blob64(st, 3, len ? data : "", len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : fail(b->dst, rc, err, errlen, b->dest);
}

int store_backup_finish(struct store_backup *b, struct store_backup_summary *sum, char *err,
                        size_t errlen)
{
	int rc = 0;
	if (b->bk) {
		snprintf(err, errlen, "backup: not all pages were copied");
		rc = -EINVAL;
	}
	*sum = b->sum;
	sqlite3_exec(b->src, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(b->src);
	b->src = NULL;
	if (rc == 0 && sqlite3_close(b->dst) != SQLITE_OK) {
		rc = fail(b->dst, sqlite3_errcode(b->dst), err, errlen, b->dest);
	} else if (rc == 0) {
		b->dst = NULL;
		if ((rc = fsync_path(b->dest)) < 0)
			snprintf(err, errlen, "fsync %s: %s", b->dest, strerror(-rc));
	}
	if (rc < 0) {
		store_backup_abort(b);
		return rc;
	}
	free(b);
	return 0;
}

void store_backup_abort(struct store_backup *b)
{
	if (!b)
		return;
	if (b->bk)
		sqlite3_backup_finish(b->bk);
	sqlite3_close(b->src);
	sqlite3_close(b->dst);
	unlink(b->dest);
	char j[4200];
	snprintf(j, sizeof j, "%s-journal", b->dest);
	unlink(j);
	snprintf(j, sizeof j, "%s-wal", b->dest);
	unlink(j);
	snprintf(j, sizeof j, "%s-shm", b->dest);
	unlink(j);
	free(b);
}

/* ---- restore ---- */

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The file's own header, before SQLite reads it: is it SQLite at all, and
 * is it whole (a copy cut short says so only as "malformed" later). */
static int check_header(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	unsigned char h[100];
	struct stat sb;
	ssize_t n = read(fd, h, sizeof h);
	int fs = fstat(fd, &sb);
	close(fd);
	if (n < (ssize_t)sizeof h || memcmp(h, "SQLite format 3", 16) != 0) {
		snprintf(err, errlen, "%s: not an SQLite database (so not a tern backup)", path);
		return -EPROTO;
	}
	uint32_t page_size = (uint32_t)h[16] << 8 | h[17];
	if (page_size == 1)
		page_size = 65536;
	uint32_t pages = be32(h + 28);
	/* The page count is valid only when "version-valid-for" matches the
	 * change counter (SQLite's file format, 1.3.7). */
	if (fs == 0 && pages && be32(h + 92) == be32(h + 24) &&
	    (uint64_t)sb.st_size < (uint64_t)pages * page_size) {
		snprintf(err, errlen, "%s: truncated: %lld bytes, its header says %llu", path,
		         (long long)sb.st_size, (unsigned long long)pages * page_size);
		return -EPROTO;
	}
	return 0;
}

int store_backup_check(const char *path, struct store_backup_summary *sum, char *err, size_t errlen)
{
	memset(sum, 0, sizeof *sum);
	int rc = check_header(path, err, errlen);
	if (rc < 0)
		return rc;
	sqlite3 *db = NULL;
	if ((rc = open_readonly(&db, path, err, errlen)) < 0)
		return rc;
	sqlite3_stmt *st = NULL;
	rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check(5)", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		rc = fail(db, rc, err, errlen, path);
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *line = (const char *)sqlite3_column_text(st, 0);
		if (line && strcmp(line, "ok") != 0) {
			snprintf(err, errlen, "%s: damaged (integrity_check: %s)", path, line);
			rc = -EBADMSG;
			goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		rc = fail(db, rc, err, errlen, path);
		goto out;
	}
	read_summary(db, sum);
	if (sum->schema <= 0 || sum->messages < 0 || sum->entries < 0 || sum->accounts < 0) {
		snprintf(err, errlen, "%s: an SQLite database, but not a tern store", path);
		rc = -EPROTO;
	} else if (sum->schema > STORE_SCHEMA_VERSION) {
		snprintf(err, errlen,
		         "%s: schema version %d is newer than this tern's (%d): restore it with "
		         "the tern that made it",
		         path, sum->schema, STORE_SCHEMA_VERSION);
		rc = -EPROTO;
	} else {
		rc = 0;
	}
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

int store_backup_files(const char *path, store_backup_file_fn fn, void *ud, char *err,
                       size_t errlen)
{
	sqlite3 *db = NULL;
	int rc = open_readonly(&db, path, err, errlen);
	if (rc < 0)
		return rc;
	sqlite3_stmt *st = NULL;
	if (store_scalar_uncached(
	        db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = "
	            "'" BACKUP_FILES_TABLE "'") <= 0) {
		sqlite3_close(db); /* a plain tern.db: no files kept */
		return 0;
	}
	rc = sqlite3_prepare_v2(
	    db, "SELECT name, mode, data FROM " BACKUP_FILES_TABLE " ORDER BY name", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		rc = fail(db, rc, err, errlen, path);
		sqlite3_close(db);
		return rc;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const void *data = sqlite3_column_blob(st, 2);
		size_t len = (size_t)sqlite3_column_bytes(st, 2);
		int r = fn(ud, name ? name : "", data, len, (unsigned)sqlite3_column_int(st, 1));
		if (r != 0) {
			sqlite3_finalize(st);
			sqlite3_close(db);
			return r;
		}
	}
	rc = rc == SQLITE_DONE ? 0 : fail(db, rc, err, errlen, path);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

/* Copies the database at from into a new file to with the backup API,
 * not byte by byte: a copy of a store that has a -wal beside it then
 * carries what the WAL holds too. */
static int copy_db(const char *from, const char *to, char *err, size_t errlen)
{
	int fd = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", to, strerror(e));
		return -e;
	}
	close(fd);
	sqlite3 *src = NULL, *dst = NULL;
	int rc = open_readonly(&src, from, err, errlen);
	if (rc < 0)
		return rc;
	if ((rc = sqlite3_open_v2(to, &dst, SQLITE_OPEN_READWRITE, NULL)) != SQLITE_OK) {
		rc = fail(dst, rc, err, errlen, to);
		goto out;
	}
	sqlite3_backup *bk = sqlite3_backup_init(dst, "main", src, "main");
	if (!bk) {
		rc = fail(dst, sqlite3_errcode(dst), err, errlen, to);
		goto out;
	}
	while ((rc = sqlite3_backup_step(bk, 1024)) == SQLITE_OK)
		;
	int frc = sqlite3_backup_finish(bk);
	if (rc != SQLITE_DONE || frc != SQLITE_OK) {
		rc = fail(dst, rc != SQLITE_DONE ? rc : frc, err, errlen, to);
		goto out;
	}
	rc = 0;
out:
	sqlite3_close(src);
	if (dst && sqlite3_close(dst) != SQLITE_OK && rc == 0)
		rc = fail(dst, sqlite3_errcode(dst), err, errlen, to);
	return rc;
}

/* In the copy: the backup's own table goes, and the file becomes a
 * rollback-journal database again (store_open() makes it WAL). */
static int strip_copy(const char *tmp, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(tmp, &db, SQLITE_OPEN_READWRITE, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(
		    db, "PRAGMA journal_mode=DELETE; DROP TABLE IF EXISTS " BACKUP_FILES_TABLE ";",
		    NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		rc = fail(db, rc, err, errlen, tmp);
		sqlite3_close(db);
		return rc;
	}
	if (sqlite3_close(db) != SQLITE_OK)
		return fail(db, sqlite3_errcode(db), err, errlen, tmp);
	return 0;
}

int store_restore_install(const char *path, const char *data_dir, char *err, size_t errlen)
{
	char db[4200], tmp[4300], side[4400];
	snprintf(db, sizeof db, "%s/tern.db", data_dir);
	snprintf(tmp, sizeof tmp, "%s.restore", db);
	/* Left by a restore that was interrupted: never a live store. */
	unlink(tmp);
	snprintf(side, sizeof side, "%s-journal", tmp);
	unlink(side);
	int rc = copy_db(path, tmp, err, errlen);
	if (rc == 0)
		rc = strip_copy(tmp, err, errlen);
	if (rc == 0 && (rc = fsync_path(tmp)) < 0)
		snprintf(err, errlen, "fsync %s: %s", tmp, strerror(-rc));
	if (rc < 0) {
		unlink(tmp);
		return rc;
	}
	/* The old store's WAL must go before the new file takes its name:
	 * SQLite would replay it into the restored database. */
	static const char *const sides[] = {"-wal", "-shm", "-journal"};
	for (size_t i = 0; i < sizeof sides / sizeof sides[0]; i++) {
		snprintf(side, sizeof side, "%s%s", db, sides[i]);
		if (unlink(side) < 0 && errno != ENOENT) {
			rc = -errno;
			snprintf(err, errlen, "%s: %s", side, strerror(-rc));
			unlink(tmp);
			return rc;
		}
	}
	if (rename(tmp, db) < 0) {
		rc = -errno;
		snprintf(err, errlen, "rename %s to %s: %s", tmp, db, strerror(-rc));
		unlink(tmp);
		return rc;
	}
	if ((rc = fsync_path(data_dir)) < 0)
		snprintf(err, errlen, "fsync %s: %s", data_dir, strerror(-rc));
	return rc;
}
