/* powerloss_shim: LD_PRELOAD library that lets tests/reliability/run undo,
 * after a SIGKILL, every write that was never fsynced: a power cut.
 *
 * Why a journal of old contents: a preloaded library cannot act after
 * SIGKILL, and keeping unsynced data aside would change what the process
 * reads. So every write goes through to the real file, and before it the
 * shim appends the bytes it overwrites (and the file's size) to a journal;
 * an fsync/fdatasync of the file marks the journal's length at the moment
 * it began. After the kill the runner undoes, newest first, each file's
 * records past its last mark (tests/reliability/powerloss.py).
 *
 * Files under $TERN_POWERLOSS_DIR are followed, also when opened read-only:
 * fdatasync through such a descriptor is how the store's syncer makes the
 * WAL durable (not *-shm: SQLite rebuilds the WAL index, the runner deletes
 * it). The
 * journal is $TERN_POWERLOSS_JOURNAL, appended with one write(2) per
 * record (O_APPEND), so the server and the CLI can share it. Not modelled:
 * directory entries (create, rename, unlink are taken as durable) and torn
 * sectors (a write is lost whole or kept whole). Tests only; never built
 * into tern.
 *
 * Records: 'W' u32 pathlen, path, u64 offset, u64 old file size, u64 n,
 * n old bytes; 'S' u32 pathlen, path, u64 journal length at the sync. */
/* open() and friends are defined here: no fortify wrappers of them. */
#undef _FORTIFY_SOURCE
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_FDS 65536

/* fd -> path of a followed file, and its inode: a descriptor closed where
 * close() is not seen (glibc's fclose, libuv's syscall(SYS_close), dup2)
 * leaves a stale entry whose number another file or socket may take. */
static char *followed[MAX_FDS];
static dev_t followed_dev[MAX_FDS];
static ino_t followed_ino[MAX_FDS];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int journal_fd = -1;
static const char *dir;
static size_t dir_len;
/* TERN_POWERLOSS_IGNORE_SYNCS=1: forget every sync, as if the server never
 * asked for one; the runner must then find acknowledged data lost (the
 * variant's own test). */
static int ignore_syncs;

static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_close)(int);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off_t);
static int (*real_ftruncate)(int, off_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_unlink)(const char *);
static int (*real_rename)(const char *, const char *);

static void resolve(void)
{
	if (real_open)
		return;
	real_open = dlsym(RTLD_NEXT, "open");
	real_openat = dlsym(RTLD_NEXT, "openat");
	real_close = dlsym(RTLD_NEXT, "close");
	real_write = dlsym(RTLD_NEXT, "write");
	real_pwrite = dlsym(RTLD_NEXT, "pwrite");
	real_writev = dlsym(RTLD_NEXT, "writev");
	real_pwritev = dlsym(RTLD_NEXT, "pwritev");
	real_ftruncate = dlsym(RTLD_NEXT, "ftruncate");
	real_fsync = dlsym(RTLD_NEXT, "fsync");
	real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
	real_unlink = dlsym(RTLD_NEXT, "unlink");
	real_rename = dlsym(RTLD_NEXT, "rename");
	dir = getenv("TERN_POWERLOSS_DIR");
	dir_len = dir ? strlen(dir) : 0;
	ignore_syncs = getenv("TERN_POWERLOSS_IGNORE_SYNCS") != NULL;
	const char *j = getenv("TERN_POWERLOSS_JOURNAL");
	if (dir && j)
		journal_fd = real_open(j, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
}

static void put(char **p, const void *v, size_t n)
{
	memcpy(*p, v, n);
	*p += n;
}

/* One record in one write(2); a journal that cannot be written stops the
 * process rather than let a run pass without its model. */
static void journal(char kind, const char *path, uint64_t a, uint64_t b, const void *old,
                    uint64_t n)
{
	uint32_t pl = (uint32_t)strlen(path);
	size_t len = 1 + 4 + pl + 8 + (kind == 'W' ? 16 + n : 0);
	char *buf = malloc(len), *p = buf;
	if (!buf)
		abort();
	put(&p, &kind, 1);
	put(&p, &pl, 4);
	put(&p, path, pl);
	put(&p, &a, 8);
	if (kind == 'W') {
		put(&p, &b, 8);
		put(&p, &n, 8);
		put(&p, old, n);
	}
	if (real_write(journal_fd, buf, len) != (ssize_t)len)
		abort();
	free(buf);
}

static void follow(int fd, const char *path, int flags)
{
	if (fd < 0 || fd >= MAX_FDS || journal_fd < 0)
		return;
	char abs[PATH_MAX];
	if (!realpath(path, abs) || strncmp(abs, dir, dir_len) != 0 || abs[dir_len] != '/')
		return;
	size_t l = strlen(abs);
	if (l > 4 && strcmp(abs + l - 4, "-shm") == 0)
		return;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return;
	pthread_mutex_lock(&mu);
	free(followed[fd]);
	followed[fd] = strdup(abs);
	followed_dev[fd] = st.st_dev;
	followed_ino[fd] = st.st_ino;
	pthread_mutex_unlock(&mu);
}

/* Before overwriting [off, off+n) of a followed file (mu held): its old
 * bytes and size go to the journal. */
static void save_old(int fd, off_t off, size_t n)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		abort();
	uint64_t size = (uint64_t)st.st_size, have = 0;
	char *old = NULL;
	if ((uint64_t)off < size) {
		have = size - (uint64_t)off < n ? size - (uint64_t)off : n;
		old = malloc(have ? have : 1);
		/* Through the same descriptor: opening and closing another one
		 * would drop this process's POSIX locks on the file (SQLite's). A
		 * write-only descriptor (never SQLite's) needs a second one. */
		if (!old)
			abort();
		ssize_t got = pread(fd, old, have, off);
		if (got < 0 && errno == EBADF) {
			int rfd = real_open(followed[fd], O_RDONLY | O_CLOEXEC);
			got = rfd < 0 ? -1 : pread(rfd, old, have, off);
			if (rfd >= 0)
				real_close(rfd);
		}
		if (got != (ssize_t)have)
			abort();
	}
	journal('W', followed[fd], (uint64_t)off, size, old, have);
	free(old);
}

static int is_followed(int fd)
{
	if (fd < 0 || fd >= MAX_FDS || !followed[fd])
		return 0;
	struct stat st;
	if (fstat(fd, &st) == 0 && st.st_dev == followed_dev[fd] && st.st_ino == followed_ino[fd])
		return 1;
	pthread_mutex_lock(&mu);
	free(followed[fd]);
	followed[fd] = NULL;
	pthread_mutex_unlock(&mu);
	return 0;
}

int open(const char *path, int flags, ...)
{
	resolve();
	mode_t mode = 0;
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	int fd = real_open(path, flags, mode);
	follow(fd, path, flags);
	return fd;
}

int open64(const char *path, int flags, ...) __attribute__((alias("open")));

int openat(int dirfd, const char *path, int flags, ...)
{
	resolve();
	mode_t mode = 0;
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	int fd = real_openat(dirfd, path, flags, mode);
	if (path[0] == '/' || dirfd == AT_FDCWD)
		follow(fd, path, flags);
	return fd;
}

int openat64(int dirfd, const char *path, int flags, ...) __attribute__((alias("openat")));

int __open_2(const char *path, int flags)
{
	return open(path, flags);
}

int __open64_2(const char *path, int flags) __attribute__((alias("__open_2")));

int close(int fd)
{
	resolve();
	if (fd >= 0 && fd < MAX_FDS) {
		pthread_mutex_lock(&mu);
		free(followed[fd]);
		followed[fd] = NULL;
		pthread_mutex_unlock(&mu);
	}
	return real_close(fd);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	resolve();
	if (!is_followed(fd))
		return real_pwrite(fd, buf, n, off);
	pthread_mutex_lock(&mu);
	save_old(fd, off, n);
	ssize_t r = real_pwrite(fd, buf, n, off);
	pthread_mutex_unlock(&mu);
	return r;
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off) __attribute__((alias("pwrite")));

static size_t iov_total(const struct iovec *iov, int cnt)
{
	size_t n = 0;
	for (int i = 0; i < cnt; i++)
		n += iov[i].iov_len;
	return n;
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	resolve();
	if (!is_followed(fd))
		return real_pwritev(fd, iov, cnt, off);
	pthread_mutex_lock(&mu);
	save_old(fd, off, iov_total(iov, cnt));
	ssize_t r = real_pwritev(fd, iov, cnt, off);
	pthread_mutex_unlock(&mu);
	return r;
}

ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off_t off)
    __attribute__((alias("pwritev")));

/* write/writev at the descriptor's position (the end with O_APPEND). */
static off_t position(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0 && (fl & O_APPEND)) {
		struct stat st;
		return fstat(fd, &st) == 0 ? st.st_size : 0;
	}
	return lseek(fd, 0, SEEK_CUR);
}

ssize_t write(int fd, const void *buf, size_t n)
{
	resolve();
	if (!is_followed(fd))
		return real_write(fd, buf, n);
	pthread_mutex_lock(&mu);
	save_old(fd, position(fd), n);
	ssize_t r = real_write(fd, buf, n);
	pthread_mutex_unlock(&mu);
	return r;
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	resolve();
	if (!is_followed(fd))
		return real_writev(fd, iov, cnt);
	pthread_mutex_lock(&mu);
	save_old(fd, position(fd), iov_total(iov, cnt));
	ssize_t r = real_writev(fd, iov, cnt);
	pthread_mutex_unlock(&mu);
	return r;
}

int ftruncate(int fd, off_t len)
{
	resolve();
	if (!is_followed(fd))
		return real_ftruncate(fd, len);
	pthread_mutex_lock(&mu);
	struct stat st;
	if (fstat(fd, &st) == 0 && st.st_size > len)
		save_old(fd, len, (size_t)(st.st_size - len));
	else
		save_old(fd, len, 0);
	int r = real_ftruncate(fd, len);
	pthread_mutex_unlock(&mu);
	return r;
}

int ftruncate64(int fd, off_t len) __attribute__((alias("ftruncate")));

/* Everything journalled before the sync began is durable once it returns. */
static int sync_with(int (*fn)(int), int fd)
{
	resolve();
	if (!is_followed(fd))
		return fn(fd);
	pthread_mutex_lock(&mu);
	struct stat st;
	uint64_t upto = fstat(journal_fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	char *path = strdup(followed[fd]);
	pthread_mutex_unlock(&mu);
	int r = fn(fd);
	if (r == 0 && path && !ignore_syncs) {
		pthread_mutex_lock(&mu);
		journal('S', path, upto, 0, NULL, 0);
		pthread_mutex_unlock(&mu);
	}
	free(path);
	return r;
}

int fsync(int fd)
{
	resolve();
	return sync_with(real_fsync, fd);
}

int fdatasync(int fd)
{
	resolve();
	return sync_with(real_fdatasync, fd);
}

/* A file unlinked or renamed over is gone as a whole (directory entries
 * are taken as durable): its journalled writes must not be undone on a
 * new file of the same name, so they count as synced from here. */
static void barrier(const char *path)
{
	char abs[PATH_MAX];
	if (journal_fd < 0 || !realpath(path, abs) || strncmp(abs, dir, dir_len) != 0)
		return;
	pthread_mutex_lock(&mu);
	struct stat st;
	uint64_t upto = fstat(journal_fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	journal('S', abs, upto, 0, NULL, 0);
	pthread_mutex_unlock(&mu);
}

int unlink(const char *path)
{
	resolve();
	barrier(path);
	return real_unlink(path);
}

int rename(const char *from, const char *to)
{
	resolve();
	barrier(from);
	barrier(to);
	return real_rename(from, to);
}
