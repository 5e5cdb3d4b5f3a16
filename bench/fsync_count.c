/* fsync_count.so: an LD_PRELOAD shim that counts fsync()/fdatasync() calls
 * of the process it is loaded into, split by the kind of file synced
 * (SQLite WAL, database, anything else), and writes the counts when the
 * process exits:
 *
 *   FSYNC_COUNT_OUT=/path/file LD_PRELOAD=bench/bin/fsync_count.so tern serve
 *   -> "wal_syncs=N db_syncs=M other_syncs=K"
 *
 * With SQLite in WAL mode and synchronous=FULL every COMMIT syncs the WAL
 * once (and a checkpoint syncs the WAL and then the database), so
 * wal_syncs / messages is the durable-write cost per accepted message,
 * measured without any help from tern. Benchmarks only.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned long n_wal, n_db, n_other;
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);

static void classify(int fd)
{
	char link[64], path[512];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof path - 1);
	if (n <= 0) {
		__atomic_add_fetch(&n_other, 1, __ATOMIC_RELAXED);
		return;
	}
	path[n] = 0;
	if (n > 4 && strcmp(path + n - 4, "-wal") == 0)
		__atomic_add_fetch(&n_wal, 1, __ATOMIC_RELAXED);
	else if (n > 3 && strcmp(path + n - 3, ".db") == 0)
		__atomic_add_fetch(&n_db, 1, __ATOMIC_RELAXED);
	else
		__atomic_add_fetch(&n_other, 1, __ATOMIC_RELAXED);
}

int fsync(int fd)
{
	if (!real_fsync)
		real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	classify(fd);
	return real_fsync(fd);
}

int fdatasync(int fd)
{
	if (!real_fdatasync)
		real_fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	classify(fd);
	return real_fdatasync(fd);
}

__attribute__((destructor)) static void report(void)
{
	const char *out = getenv("FSYNC_COUNT_OUT");
	if (!out || !*out)
		return;
	int fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	char line[160];
	int n = snprintf(line, sizeof line, "wal_syncs=%lu db_syncs=%lu other_syncs=%lu\n",
	                 __atomic_load_n(&n_wal, __ATOMIC_RELAXED),
	                 __atomic_load_n(&n_db, __ATOMIC_RELAXED),
	                 __atomic_load_n(&n_other, __ATOMIC_RELAXED));
	if (write(fd, line, (size_t)n) < 0) {
		/* nothing to do */
	}
	close(fd);
}
