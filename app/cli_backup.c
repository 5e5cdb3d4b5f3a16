/* cli_backup: `tern backup FILE` and `tern restore FILE`.
 *
 * A backup is one file (store/backup.h says what is in it): the store as
 * one snapshot, taken while the server runs and accepts mail, and the data
 * directory's other files a restore needs: acme/ (the ACME account key and
 * the certificates it got) and tls/ (the self-signed certificate). It is
 * written to FILE.tmp, fsynced and renamed, so FILE is whole or absent.
 * Not in it: the configuration file and certificates it names outside the
 * data directory (README, "Backup and restore").
 *
 * A restore checks everything before it touches anything: the file
 * (SQLite, integrity_check, tern's tables, a schema this tern can open),
 * that no process has the target store open (the exclusive flock of
 * store/backup.h), and that the target is empty unless --force. Then the
 * files, each tmp + fsync + rename, and tern.db last, the same way. */
#include "app/cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/backup.h"
#include "store/store.h"

/* The data directory's folders a backup keeps, and the most one of their
 * files may hold (keys and certificate chains are a few KiB). */
static const char *const kept_dirs[] = {"acme", "tls"};
#define KEPT_FILE_MAX (1024 * 1024)
#define PAGES_PER_STEP 1024

static const char usage_backup[] =
    "usage: tern [--config FILE] backup [--force] FILE\n\n"
    "Writes a consistent copy of the store to FILE while the server runs and\n"
    "accepts mail: every message acknowledged before the backup started is in\n"
    "it. FILE also keeps <data_dir>/acme/ and <data_dir>/tls/. It is written\n"
    "to FILE.tmp, fsynced and renamed; an existing FILE is kept unless --force.\n"
    "Not in it: the configuration file, and certificate files it names outside\n"
    "the data directory. Check a backup with `tern verify FILE`.\n";

static const char usage_restore[] =
    "usage: tern [--config FILE] restore [--force] FILE\n\n"
    "Puts a backup made by `tern backup` (or a copy of tern.db) back as the\n"
    "store of data_dir, with the acme/ and tls/ files it keeps. Stop the server\n"
    "first: restore refuses a store that a process has open. It checks the\n"
    "backup (integrity, schema version) before it changes anything, and\n"
    "refuses a data directory that already has a store unless --force.\n";

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fsync_dir_of(const char *path)
{
	char dir[4096];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

/* Is path the store's own tern.db (the same file, by any name)? */
static bool is_the_store(const struct config *cfg, const char *path)
{
	char db[4200];
	snprintf(db, sizeof db, "%s/tern.db", cfg->data_dir);
	struct stat a, b;
	return stat(path, &a) == 0 && stat(db, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

/* Parses [--force] FILE. 0, or 2 (usage error, printed). */
static int parse_args(const char *cmd, int argc, char **argv, bool *force, const char **file)
{
	*force = false;
	*file = NULL;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--force") == 0) {
			*force = true;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "tern %s: unknown option %s (see tern %s --help)\n", cmd,
			        argv[i], cmd);
			return 2;
		} else if (*file) {
			fprintf(stderr, "tern %s: one FILE only ('%s' is one too many)\n", cmd,
			        argv[i]);
			return 2;
		} else {
			*file = argv[i];
		}
	}
	if (!*file) {
		fprintf(stderr, "tern %s: which FILE? (see tern %s --help)\n", cmd, cmd);
		return 2;
	}
	return 0;
}

/* Reads a small file whole into *out (malloc'd). */
static int read_small(const char *path, char **out, size_t *len, mode_t *mode)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	struct stat sb;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size > KEPT_FILE_MAX) {
		int e = !S_ISREG(sb.st_mode) ? EISDIR : EFBIG;
		close(fd);
		return -e;
	}
	char *buf = malloc((size_t)sb.st_size + 1);
	size_t got = 0;
	while (buf && got < (size_t)sb.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)sb.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (!buf || got != (size_t)sb.st_size) {
		free(buf);
		return buf ? -EIO : -ENOMEM;
	}
	*out = buf;
	*len = got;
	*mode = sb.st_mode;
	return 0;
}

/* Keeps the regular files of the kept folders; counts them in *n. */
static int add_kept_files(struct store_backup *b, const char *data_dir, int *n)
{
	for (size_t i = 0; i < sizeof kept_dirs / sizeof kept_dirs[0]; i++) {
		char dpath[4200];
		snprintf(dpath, sizeof dpath, "%s/%s", data_dir, kept_dirs[i]);
		DIR *d = opendir(dpath);
		if (!d)
			continue; /* none made yet */
		struct dirent *de;
		int rc = 0;
		while (rc == 0 && (de = readdir(d))) {
			size_t nl = strlen(de->d_name);
			if (de->d_name[0] == '.' ||
			    (nl > 4 && strcmp(de->d_name + nl - 4, ".tmp") == 0))
				continue; /* hidden, or a file being written */
			char path[4500], name[600], err[512];
			snprintf(path, sizeof path, "%s/%s", dpath, de->d_name);
			snprintf(name, sizeof name, "%s/%s", kept_dirs[i], de->d_name);
			char *data = NULL;
			size_t len = 0;
			mode_t mode = 0;
			int r = read_small(path, &data, &len, &mode);
			if (r == -EISDIR || r == -ELOOP)
				continue; /* only regular files are ours */
			if (r < 0) {
				fprintf(stderr, "tern backup: %s: %s\n", path, strerror(-r));
				rc = -1;
				break;
			}
			r = store_backup_add_file(b, name, data, len, (unsigned)mode, err,
			                          sizeof err);
			free(data);
			if (r < 0) {
				fprintf(stderr, "tern backup: %s\n", err);
				rc = -1;
			} else {
				(*n)++;
			}
		}
		closedir(d);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int cmd_backup(const struct config *cfg, int argc, char **argv)
{
	bool force;
	const char *file;
	int rc = parse_args("backup", argc, argv, &force, &file);
	if (rc)
		return rc;
	struct stat sb;
	if (is_the_store(cfg, file)) {
		fprintf(stderr, "tern backup: %s is the store itself; name another file\n", file);
		return 1;
	}
	if (stat(file, &sb) == 0) {
		if (!S_ISREG(sb.st_mode)) {
			fprintf(stderr, "tern backup: %s exists and is not a file\n", file);
			return 1;
		}
		if (!force) {
			fprintf(stderr, "tern backup: %s exists; add --force to replace it\n",
			        file);
			return 1;
		}
	}
	char tmp[4200];
	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", file) >= sizeof tmp) {
		fprintf(stderr, "tern backup: %s: path too long\n", file);
		return 1;
	}
	if (access(tmp, F_OK) == 0) {
		if (!force) {
			fprintf(stderr,
			        "tern backup: %s exists: another backup is writing it, or one was "
			        "interrupted; remove it (or add --force)\n",
			        tmp);
			return 1;
		}
		unlink(tmp);
	}
	double t0 = now_s();
	char err[1024];
	struct store_backup *b;
	if (store_backup_begin(&b, cfg->data_dir, tmp, err, sizeof err) < 0) {
		fprintf(stderr, "tern backup: %s\n", err);
		return 1;
	}
	bool tty = isatty(STDERR_FILENO);
	/* Test hook: small steps with a pause after each, so that a test's
	 * deliveries surely commit while the copy runs. */
	const char *hook = getenv("TERN_TEST_BACKUP_STEP_MS");
	int pause_ms = hook ? atoi(hook) : 0, pages = pause_ms > 0 ? 16 : PAGES_PER_STEP;
	int done = 0, total = 0, last_pct = -1;
	while ((rc = store_backup_step(b, pages, &done, &total, err, sizeof err)) > 0) {
		if (pause_ms > 0)
			usleep((useconds_t)pause_ms * 1000);
		int pct = total ? (int)((int64_t)done * 100 / total) : 100;
		if (tty && pct != last_pct) {
			fprintf(stderr, "\rtern backup: %3d%% (%d of %d pages)", pct, done, total);
			last_pct = pct;
		}
	}
	if (tty && last_pct >= 0)
		fputs("\r\033[K", stderr);
	int nfiles = 0;
	if (rc < 0) {
		fprintf(stderr, "tern backup: %s\n", err);
		store_backup_abort(b);
		return 1;
	}
	if (add_kept_files(b, cfg->data_dir, &nfiles) < 0) {
		store_backup_abort(b);
		return 1;
	}
	struct store_backup_summary sum;
	if (store_backup_finish(b, &sum, err, sizeof err) < 0) {
		fprintf(stderr, "tern backup: %s\n", err);
		return 1;
	}
	if (rename(tmp, file) < 0) {
		fprintf(stderr, "tern backup: rename %s to %s: %s\n", tmp, file, strerror(errno));
		unlink(tmp);
		return 1;
	}
	int r = fsync_dir_of(file);
	if (r < 0) {
		fprintf(stderr, "tern backup: fsync of %s's directory: %s\n", file, strerror(-r));
		return 1;
	}
	long long bytes = stat(file, &sb) == 0 ? (long long)sb.st_size : -1;
	printf("backup %s: %lld bytes, %lld messages (%lld mailbox entries, %lld accounts), "
	       "%d files, %.1f seconds\n",
	       file, bytes, (long long)sum.messages, (long long)sum.entries,
	       (long long)sum.accounts, nfiles, now_s() - t0);
	return 0;
}

/* ---- restore ---- */

/* A name a backup may give a file: <kept dir>/<plain name>. The backup is
 * input like any other: no "..", no absolute path, no deeper folder. */
static bool safe_name(const char *name)
{
	for (size_t i = 0; i < sizeof kept_dirs / sizeof kept_dirs[0]; i++) {
		size_t dl = strlen(kept_dirs[i]);
		if (strncmp(name, kept_dirs[i], dl) != 0 || name[dl] != '/')
			continue;
		const char *base = name + dl + 1;
		if (!*base || base[0] == '.' || strchr(base, '/') || strlen(base) > 255)
			return false;
		for (const char *p = base; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				return false;
		return true;
	}
	return false;
}

struct restore_ctx {
	const char *data_dir;
	const char *exists; /* set by find_existing: the first file in the way */
	char exists_buf[4500];
	int written;
};

static int check_name(void *ud, const char *name, const void *data, size_t len, unsigned mode)
{
	if (!safe_name(name)) {
		fprintf(stderr,
		        "tern restore: the backup names a file '%s' outside acme/ and tls/\n",
		        name);
		return -EPROTO;
	}
	if (len > KEPT_FILE_MAX) {
		fprintf(stderr, "tern restore: the backup's file %s is too large (%zu bytes)\n",
		        name, len);
		return -EPROTO;
	}
	struct restore_ctx *c = ud;
	char path[4500];
	snprintf(path, sizeof path, "%s/%s", c->data_dir, name);
	if (!c->exists && access(path, F_OK) == 0) {
		snprintf(c->exists_buf, sizeof c->exists_buf, "%s", path);
		c->exists = c->exists_buf;
	}
	return 0;
}

static int write_file(void *ud, const char *name, const void *data, size_t len, unsigned mode)
{
	struct restore_ctx *c = ud;
	char dir[4500], path[4500], tmp[4600];
	snprintf(path, sizeof path, "%s/%s", c->data_dir, name);
	snprintf(dir, sizeof dir, "%s", path);
	*strrchr(dir, '/') = '\0';
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "tern restore: %s: %s\n", dir, strerror(errno));
		return -errno;
	}
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	unlink(tmp);
	/* Keys stay private whatever the backup says. */
	int fd =
	    open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, (mode & 0700) | 0600);
	int rc = fd < 0 ? -errno : 0;
	for (size_t off = 0; rc == 0 && off < len;) {
		ssize_t n = write(fd, (const char *)data + off, len - off);
		if (n < 0 && errno != EINTR)
			rc = -errno;
		else if (n > 0)
			off += (size_t)n;
	}
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (fd >= 0 && close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc == 0)
		rc = fsync_dir_of(path);
	if (rc < 0) {
		fprintf(stderr, "tern restore: %s: %s\n", path, strerror(-rc));
		unlink(tmp);
		return rc;
	}
	c->written++;
	return 0;
}

static int mkdir_p(const char *dir)
{
	char buf[4096];
	if ((size_t)snprintf(buf, sizeof buf, "%s", dir) >= sizeof buf)
		return -ENAMETOOLONG;
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return -errno;
		if (!c)
			return 0;
		*p = c;
	}
}

static int cmd_restore(const struct config *cfg, int argc, char **argv)
{
	bool force;
	const char *file;
	int rc = parse_args("restore", argc, argv, &force, &file);
	if (rc)
		return rc;
	char err[1024];
	struct store_backup_summary sum;
	if (is_the_store(cfg, file)) {
		fprintf(stderr, "tern restore: %s is the store of %s itself; nothing changed\n",
		        file, cfg->data_dir);
		return 1;
	}
	/* 1. The backup, before anything is touched. */
	if (store_backup_check(file, &sum, err, sizeof err) < 0) {
		fprintf(stderr, "tern restore: %s; nothing changed\n", err);
		return 1;
	}
	struct restore_ctx c = {.data_dir = cfg->data_dir};
	rc = store_backup_files(file, check_name, &c, err, sizeof err);
	if (rc != 0) {
		if (rc < 0 && rc != -EPROTO)
			fprintf(stderr, "tern restore: %s\n", err);
		fprintf(stderr, "tern restore: nothing changed\n");
		return 1;
	}
	/* 2. The target: not in use, and empty unless --force. */
	if ((rc = mkdir_p(cfg->data_dir)) < 0) {
		fprintf(stderr, "tern restore: %s: %s\n", cfg->data_dir, strerror(-rc));
		return 1;
	}
	int lock = store_lock_dir(cfg->data_dir, true);
	if (lock == -EWOULDBLOCK) {
		fprintf(stderr,
		        "tern restore: the store in %s is in use (tern serve, or another tern "
		        "command, has it open); stop the server first; nothing changed\n",
		        cfg->data_dir);
		return 1;
	}
	if (lock < 0) {
		fprintf(stderr, "tern restore: %s/tern.lock: %s; nothing changed\n", cfg->data_dir,
		        strerror(-lock));
		return 1;
	}
	char dbpath[4200];
	snprintf(dbpath, sizeof dbpath, "%s/tern.db", cfg->data_dir);
	struct stat sb;
	const char *in_the_way = stat(dbpath, &sb) == 0 ? dbpath : c.exists;
	if (in_the_way && !force) {
		fprintf(stderr,
		        "tern restore: %s already exists; add --force to replace the store in %s; "
		        "nothing changed\n",
		        in_the_way, cfg->data_dir);
		close(lock);
		return 1;
	}
	/* 3. The files, then the store: tern.db's rename is the last step. */
	rc = store_backup_files(file, write_file, &c, err, sizeof err);
	if (rc == 0)
		rc = store_restore_install(file, cfg->data_dir, err, sizeof err);
	close(lock);
	if (rc != 0) {
		if (rc < 0)
			fprintf(stderr, "tern restore: %s\n", err);
		fprintf(stderr, "tern restore: the store in %s was not replaced\n", cfg->data_dir);
		return 1;
	}
	printf("restored %s into %s: %lld messages (%lld mailbox entries, %lld accounts), "
	       "%d files, schema %d%s\n",
	       file, cfg->data_dir, (long long)sum.messages, (long long)sum.entries,
	       (long long)sum.accounts, c.written, sum.schema,
	       sum.schema < STORE_SCHEMA_VERSION ? " (upgraded when tern next opens it)" : "");
	return 0;
}

int cli_backup(const struct config *cfg, const char *cmd, int argc, char **argv)
{
	if (strcmp(cmd, "verify") == 0)
		return cli_verify(cfg, argc, argv);
	bool backup = strcmp(cmd, "backup") == 0;
	if (!cfg) {
		fputs(backup ? usage_backup : usage_restore, stdout);
		return 0;
	}
	return backup ? cmd_backup(cfg, argc, argv) : cmd_restore(cfg, argc, argv);
}
