/* backup: a consistent copy of the store while it serves, and putting one
 * back (`tern backup`, `tern restore`).
 *
 * A backup is itself an SQLite database: the pages of tern.db as one read
 * transaction saw them (SQLite's online backup API), in rollback-journal
 * mode so it is one self-contained file, plus a table of the data
 * directory's other files a restore needs (ACME account and certificates,
 * the self-signed certificate: backup_files). `sqlite3 FILE` opens it, and
 * `PRAGMA integrity_check` covers those files too. A restore drops that
 * table before the copy becomes tern.db.
 *
 * The server holds a shared flock on <data_dir>/tern.lock for its whole
 * life (every store_open() takes one); a restore takes it exclusively, so
 * it cannot replace a store that a server (or a CLI command) has open,
 * and nothing opens the store while it is being replaced. */
#ifndef TERN_STORE_BACKUP_H
#define TERN_STORE_BACKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The lock file: fd >= 0 holding flock(<dir>/tern.lock) shared or
 * exclusive (never waits), -EWOULDBLOCK when someone holds it the other
 * way, or another negative errno. close() releases it. */
int store_lock_dir(const char *dir, bool exclusive);

/* ---- backup ---- */

struct store_backup;

/* Opens <data_dir>/tern.db read-only and starts one read transaction (the
 * snapshot the backup copies; in WAL mode it never blocks the writer), and
 * creates dest (which must not exist). err says why not. */
int store_backup_begin(struct store_backup **out, const char *data_dir, const char *dest, char *err,
                       size_t errlen);
/* Copies up to `pages` more pages. 1 when more remain, 0 when all are
 * copied, or a negative errno (err). *done, *total: pages so far. */
int store_backup_step(struct store_backup *b, int pages, int *done, int *total, char *err,
                      size_t errlen);
/* After the last step: keeps a file of the data directory (name relative
 * to it, e.g. "acme/account.key") in the backup. */
int store_backup_add_file(struct store_backup *b, const char *name, const void *data, size_t len,
                          unsigned mode, char *err, size_t errlen);

struct store_backup_summary {
	int64_t messages; /* message rows (bodies) */
	int64_t entries;  /* mailbox entries (what IMAP lists) */
	int64_t accounts;
	int schema; /* PRAGMA user_version */
};
/* Ends the snapshot, switches dest to a rollback journal, closes it and
 * fsyncs it; frees b whatever the result. */
int store_backup_finish(struct store_backup *b, struct store_backup_summary *sum, char *err,
                        size_t errlen);
/* Gives up: closes everything, removes dest. NULL-safe. */
void store_backup_abort(struct store_backup *b);

/* ---- restore ---- */

/* Checks that path is a tern backup (or a tern.db) this binary can open:
 * an SQLite database that passes PRAGMA integrity_check, with tern's
 * tables and a schema version not newer than STORE_SCHEMA_VERSION.
 * Opened read-only; nothing is written. 0, or a negative errno with err. */
int store_backup_check(const char *path, struct store_backup_summary *sum, char *err,
                       size_t errlen);

/* Calls fn for each file kept in the backup at path (see
 * store_backup_add_file); stops at fn's first non-zero return, which it
 * returns. 0 when all were handed over; a negative errno (err). */
typedef int (*store_backup_file_fn)(void *ud, const char *name, const void *data, size_t len,
                                    unsigned mode);
int store_backup_files(const char *path, store_backup_file_fn fn, void *ud, char *err,
                       size_t errlen);

/* Installs the backup at path as <data_dir>/tern.db: copies it beside it
 * (tern.db.restore, with SQLite's backup API, so a -wal beside path is
 * included), drops the backup's own tables from the copy, fsyncs
 * it, removes the old store's -wal and -shm, renames the copy over
 * tern.db and fsyncs the directory. The caller holds the exclusive lock
 * and has checked the backup. 0, or a negative errno (err). */
int store_restore_install(const char *path, const char *data_dir, char *err, size_t errlen);

#endif
