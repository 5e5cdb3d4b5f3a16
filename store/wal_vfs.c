/* wal_vfs: the write connection's WAL, written in one system call per
 * commit (per 120 KiB of it) instead of two per page.
 *
 * Why. SQLite appends a commit to the WAL frame by frame: a 24-byte header
 * and a page, each its own write(2). A 20-session SMTP load commits about
 * thirty frames a batch, and those sixty calls were a third of the writer
 * thread's time (a system call is dear on a virtual machine). This VFS is
 * SQLite's own unix VFS with one change for files opened as a WAL: writes
 * that continue the previous one are gathered in a buffer, and go to the
 * file together before anything else touches it.
 *
 * When the buffer goes out. Before every other operation on the WAL (read,
 * size, truncate, sync, close, file control) and before a write elsewhere.
 * The point that matters is the commit: with synchronous=FULL SQLite syncs
 * the WAL after a commit's last frame and before it publishes the commit in
 * the wal-index, where other connections (the loop's reader, the
 * checkpointer) learn which frames to read. So they never read a frame that
 * is still in our buffer, and the syncer's fdatasync (store/store.c), which
 * starts after COMMIT returned, finds every frame in the file.
 *
 * Which syncs are deferred. With a syncer, store_wal_defer_commit_syncs()
 * marks the writer's WAL: a sync with SQLITE_SYNC_NORMAL (what a commit
 * asks for, PRAGMA fullfsync being off) then only empties the buffer, and
 * the syncer makes it durable before anyone hears of the commit. Every
 * other sync is real: the writer sets checkpoint_fullfsync, so the syncs
 * around a checkpoint and after a new WAL header come with SQLITE_SYNC_FULL.
 * Without the mark (no syncer, the CLI) every sync is real, as in plain
 * synchronous=FULL.
 *
 * The file object: the unix VFS's own object first (so its methods take
 * our pointer as theirs), our fields after it (at tail_offset). Files other than a WAL keep
 * the unix methods untouched.
 */
#include "store/store_int.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define WAL_VFS_NAME "tern-wal"
/* Gathered bytes that go out before the commit's sync: a large
 * transaction's frames are written as they come past this. */
#define WAL_BUF_MAX (1024 * 1024)
/* The most one unix xWrite takes: it masks the length with 0x1ffff, so
 * larger writes come out short (and SQLite reports the disk full). */
#define WAL_WRITE_MAX (120 * 1024)

struct wal_tail {
	const sqlite3_io_methods *real; /* the unix VFS's methods */
	char *buf;                      /* WAL_BUF_MAX bytes, from the first write */
	size_t len;
	sqlite3_int64 off; /* file offset of buf[0] */
	bool defer_commit_syncs;
};

static sqlite3_vfs wal_vfs;
static sqlite3_vfs *unix_vfs;
static sqlite3_io_methods wal_methods;
static _Atomic uint64_t syncs_real, syncs_deferred;
static int tail_offset; /* the unix object's size, rounded up for alignment */

static struct wal_tail *tail_of(sqlite3_file *f)
{
	return (struct wal_tail *)((char *)f + tail_offset);
}

static int flush(sqlite3_file *f)
{
	struct wal_tail *t = tail_of(f);
	int rc = SQLITE_OK;
#ifdef TERN_FAULTS
	bool fail = false;
	long cut = t->len ? store_fault_wal_write((long)t->len, &fail) : 0;
	if (fail) {
		if (cut > 0)
			t->real->xWrite(f, t->buf, (int)cut, t->off);
		t->len = 0;
		return SQLITE_FULL; /* as the unix VFS answers a short write */
	}
#endif
	for (size_t done = 0; done < t->len && rc == SQLITE_OK; done += WAL_WRITE_MAX) {
		size_t n = t->len - done < WAL_WRITE_MAX ? t->len - done : WAL_WRITE_MAX;
		rc = t->real->xWrite(f, t->buf + done, (int)n, t->off + (sqlite3_int64)done);
	}
	t->len = 0;
	return rc;
}

static int wal_close(sqlite3_file *f)
{
	struct wal_tail *t = tail_of(f);
	int rc = flush(f);
	int rc2 = t->real->xClose(f);
	free(t->buf);
	t->buf = NULL;
	return rc != SQLITE_OK ? rc : rc2;
}

static int wal_read(sqlite3_file *f, void *p, int n, sqlite3_int64 off)
{
	int rc = flush(f);
	return rc != SQLITE_OK ? rc : tail_of(f)->real->xRead(f, p, n, off);
}

static int wal_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off)
{
	struct wal_tail *t = tail_of(f);
	if (t->len && (off != t->off + (sqlite3_int64)t->len || t->len + (size_t)n > WAL_BUF_MAX)) {
		int rc = flush(f);
		if (rc != SQLITE_OK)
			return rc;
	}
	if (!t->buf)
		t->buf = malloc(WAL_BUF_MAX);
	if (!t->buf || (size_t)n > WAL_BUF_MAX) /* written as SQLite would */
		return t->real->xWrite(f, p, n, off);
	if (t->len == 0)
		t->off = off;
	memcpy(t->buf + t->len, p, (size_t)n);
	t->len += (size_t)n;
	return SQLITE_OK;
}

static int wal_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	int rc = flush(f);
	return rc != SQLITE_OK ? rc : tail_of(f)->real->xTruncate(f, size);
}

static int wal_sync(sqlite3_file *f, int flags)
{
	struct wal_tail *t = tail_of(f);
	int rc = flush(f);
	if (rc != SQLITE_OK)
		return rc;
	if (t->defer_commit_syncs && (flags & 0x0f) == SQLITE_SYNC_NORMAL) {
		atomic_fetch_add_explicit(&syncs_deferred, 1, memory_order_relaxed);
		return SQLITE_OK; /* the syncer's, before the commit is acknowledged */
	}
	atomic_fetch_add_explicit(&syncs_real, 1, memory_order_relaxed);
	return t->real->xSync(f, flags);
}

static int wal_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	int rc = flush(f);
	return rc != SQLITE_OK ? rc : tail_of(f)->real->xFileSize(f, size);
}

static int wal_lock(sqlite3_file *f, int level)
{
	return tail_of(f)->real->xLock(f, level);
}

static int wal_unlock(sqlite3_file *f, int level)
{
	return tail_of(f)->real->xUnlock(f, level);
}

static int wal_check_reserved(sqlite3_file *f, int *out)
{
	return tail_of(f)->real->xCheckReservedLock(f, out);
}

static int wal_file_control(sqlite3_file *f, int op, void *arg)
{
	int rc = flush(f);
	return rc != SQLITE_OK ? rc : tail_of(f)->real->xFileControl(f, op, arg);
}

static int wal_sector_size(sqlite3_file *f)
{
	return tail_of(f)->real->xSectorSize(f);
}

static int wal_device_characteristics(sqlite3_file *f)
{
	return tail_of(f)->real->xDeviceCharacteristics(f);
}

/* The WAL has no shared memory or mapping of its own (the wal-index hangs
 * off the database file), so version 1 methods are all it needs. */
static sqlite3_io_methods wal_methods = {
    .iVersion = 1,
    .xClose = wal_close,
    .xRead = wal_read,
    .xWrite = wal_write,
    .xTruncate = wal_truncate,
    .xSync = wal_sync,
    .xFileSize = wal_file_size,
    .xLock = wal_lock,
    .xUnlock = wal_unlock,
    .xCheckReservedLock = wal_check_reserved,
    .xFileControl = wal_file_control,
    .xSectorSize = wal_sector_size,
    .xDeviceCharacteristics = wal_device_characteristics,
};

static int vfs_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
	(void)vfs;
	int rc = unix_vfs->xOpen(unix_vfs, name, f, flags, out_flags);
	if (rc != SQLITE_OK || !(flags & SQLITE_OPEN_WAL) || !f->pMethods)
		return rc;
	struct wal_tail *t = tail_of(f);
	memset(t, 0, sizeof *t);
	t->real = f->pMethods;
	f->pMethods = &wal_methods;
	return SQLITE_OK;
}

/* Everything but xOpen is the unix VFS's. */
static int vfs_delete(sqlite3_vfs *v, const char *name, int sync_dir)
{
	(void)v;
	return unix_vfs->xDelete(unix_vfs, name, sync_dir);
}

static int vfs_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
	(void)v;
	return unix_vfs->xAccess(unix_vfs, name, flags, out);
}

static int vfs_full_pathname(sqlite3_vfs *v, const char *name, int len, char *out)
{
	(void)v;
	return unix_vfs->xFullPathname(unix_vfs, name, len, out);
}

static void *vfs_dlopen(sqlite3_vfs *v, const char *name)
{
	(void)v;
	return unix_vfs->xDlOpen(unix_vfs, name);
}

static void vfs_dlerror(sqlite3_vfs *v, int len, char *out)
{
	(void)v;
	unix_vfs->xDlError(unix_vfs, len, out);
}

static void (*vfs_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
	(void)v;
	return unix_vfs->xDlSym(unix_vfs, h, sym);
}

static void vfs_dlclose(sqlite3_vfs *v, void *h)
{
	(void)v;
	unix_vfs->xDlClose(unix_vfs, h);
}

static int vfs_randomness(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return unix_vfs->xRandomness(unix_vfs, n, out);
}

static int vfs_sleep(sqlite3_vfs *v, int us)
{
	(void)v;
	return unix_vfs->xSleep(unix_vfs, us);
}

static int vfs_current_time(sqlite3_vfs *v, double *out)
{
	(void)v;
	return unix_vfs->xCurrentTime(unix_vfs, out);
}

static int vfs_last_error(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return unix_vfs->xGetLastError(unix_vfs, n, out);
}

static int vfs_current_time_int64(sqlite3_vfs *v, sqlite3_int64 *out)
{
	(void)v;
	return unix_vfs->xCurrentTimeInt64(unix_vfs, out);
}

const char *store_wal_vfs_register(void)
{
	unix_vfs = sqlite3_vfs_find(NULL);
	if (!unix_vfs || unix_vfs->iVersion < 2)
		return NULL;
	tail_offset = (unix_vfs->szOsFile + 15) & ~15;
	wal_vfs = (sqlite3_vfs){
	    .iVersion = 2,
	    .szOsFile = tail_offset + (int)sizeof(struct wal_tail),
	    .mxPathname = unix_vfs->mxPathname,
	    .zName = WAL_VFS_NAME,
	    .xOpen = vfs_open,
	    .xDelete = vfs_delete,
	    .xAccess = vfs_access,
	    .xFullPathname = vfs_full_pathname,
	    .xDlOpen = vfs_dlopen,
	    .xDlError = vfs_dlerror,
	    .xDlSym = vfs_dlsym,
	    .xDlClose = vfs_dlclose,
	    .xRandomness = vfs_randomness,
	    .xSleep = vfs_sleep,
	    .xCurrentTime = vfs_current_time,
	    .xGetLastError = vfs_last_error,
	    .xCurrentTimeInt64 = vfs_current_time_int64,
	};
	return sqlite3_vfs_register(&wal_vfs, 0) == SQLITE_OK ? WAL_VFS_NAME : NULL;
}

int store_wal_defer_commit_syncs(sqlite3 *db, bool on)
{
	sqlite3_file *f = NULL;
	if (sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &f) != SQLITE_OK || !f ||
	    f->pMethods != &wal_methods)
		return -1;
	tail_of(f)->defer_commit_syncs = on;
	return 0;
}

void store_wal_sync_counts(uint64_t *real, uint64_t *deferred)
{
	*real = atomic_load_explicit(&syncs_real, memory_order_relaxed);
	*deferred = atomic_load_explicit(&syncs_deferred, memory_order_relaxed);
}
