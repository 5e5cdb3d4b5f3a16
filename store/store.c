/* store: opening, schema migrations, and the writer thread.
 *
 * Why one writer thread. SQLite allows one writer at a time per database,
 * and a durable COMMIT costs an fsync (synchronous=FULL: a 250 must be on
 * disk). Doing that on the loop thread would stall every connection for
 * each message; doing it from many threads would serialise them on the
 * database lock anyway. So one thread owns the only write connection and
 * amortises the fsync: group commit.
 *
 *   loop thread                      writer thread
 *   -----------                      -------------
 *   store_submit(job) --+
 *   store_submit(job) --+--> jobs --> wake, take ALL waiting jobs (<= cap)
 *   store_submit(job) --+            BEGIN IMMEDIATE
 *                                    for each job:
 *                                        SAVEPOINT j; run(db, arg)
 *                                        ok   -> RELEASE j
 *                                        fail -> ROLLBACK TO j; RELEASE j
 *                                    COMMIT            (one fsync)
 *                                      fails -> ROLLBACK, every job fails
 *   async cb: run done(arg, status) <-- completions + uv_async_send
 *
 * While a batch is being committed the next jobs pile up, so the batch size
 * grows by itself with the load: one job per commit when idle, hundreds
 * under a burst. Invariant: a completion is queued only after its batch's
 * COMMIT returned (or the batch was rolled back), so no reply is sent for
 * data that is not durable.
 *
 * A job that fails is rolled back to its own savepoint and the others
 * proceed. If SQLite itself abandoned the transaction (it does on some
 * SQLITE_FULL/IOERR/NOMEM errors), nothing of the batch survives, so every
 * job of the batch fails.
 *
 * Idle work. IMAP's precomputed data and FTS5 index (store/imap_messages.c)
 * cost more than storing the message itself, so they are not part of the
 * delivery transaction: a 250 waits only for the message. When the writer
 * has had no job and the loop no client input for STORE_IDLE_MS (a second)
 * it indexes new messages in short transactions, stopping as soon as a job
 * arrives. Under sustained load the
 * index lags; SEARCH indexes what it needs itself, FETCH computes on the fly.
 *
 * Two more threads serve the writer: the syncer fdatasyncs the WAL and
 * completes the jobs of the batches committed before the sync began
 * ("Durability" below), and the checkpointer copies the WAL into the
 * database with its own connection ("Checkpoints"), so neither flush nor
 * copy stalls the next batch. Jobs the loop submits wake the writer once
 * per loop iteration (on_loop_prepare).
 *
 * store_exec() (CLI, startup) uses the same write connection under the same
 * mutex as the writer's batches, so it never interleaves with a batch. Other
 * processes (the CLI while the server runs) are serialised by SQLite's own
 * locking with busy_timeout.
 */
#include "store/store.h"
#include "store/store_int.h"
#include "store/imap_messages.h"
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

#define STORE_BUSY_TIMEOUT_MS 10000
/* Quiet time before idle work starts, and the most one slice may take.
 * Indexing costs about ten times what storing does, so under steady load
 * (no second without a job) it waits: it must never be what slows the
 * acceptance of mail. */
#define STORE_IDLE_MS 1000
#define STORE_IDLE_SLICE_MS 25
/* A lazy commit (store_submit_lazy) reaches the disk at the latest this
 * long after it returned: with the next synchronous commit, or by an
 * explicit sync of the WAL. */
#define STORE_LAZY_SYNC_MS 200

struct store_job {
	struct store_job *next;
	store_job_fn run;
	store_done_fn done;
	void *arg;
	int status;
	bool lazy; /* need not be on disk when done runs */
};

struct store {
	char path[4096];
	uv_loop_t *loop;
	sqlite3 *reader;
	struct rcpt_cache *rcpt_cache; /* the loop's, store/rcpt_cache.c */
	sqlite3 *writer;
	uv_mutex_t wlock; /* held while the write connection is in use */
	/* The syncer (see "Durability"): our own descriptor of tern.db-wal
	 * (-1: none, the writer then commits with synchronous=FULL), and
	 * under smu the committed jobs waiting for a sync of it and the time
	 * of the oldest commit not yet synced (0: none). */
	int wal_fd;
	uv_mutex_t smu;
	uv_cond_t scond;
	struct store_job *shead, *stail;
	uint64_t unsynced_ns;
	bool sclosing;
	bool have_syncer;
	uv_thread_t syncer;
	/* The checkpointer (see "Checkpoints"): its connection, and under kmu
	 * whether the writer asked for a checkpoint. */
	sqlite3 *ckpt;
	uv_mutex_t kmu;
	uv_cond_t kcond;
	bool kwanted, kclosing;
	/* Under wlock (the WAL hook runs in the writer's commits): the WAL
	 * size that asks for the next checkpoint, and the size last seen. */
	int ckpt_at, wal_pages;
	bool have_checkpointer;
	uv_thread_t checkpointer;

	/* job queue, protected by mu */
	uv_mutex_t mu;
	uv_cond_t cond;
	struct store_job *head, *tail;
	bool closing;
	int fail_commits; /* test hook */
	struct store_stats stats;
	bool idle_work; /* something may be left for the idle indexer */
	/* uv_now() of the loop's last client input (store_note_client): idle
	 * work also waits for the clients to be quiet, so that the indexer
	 * never takes the CPU from a download or a command. */
	_Atomic uint64_t client_ms;
	int64_t index_cursor; /* writer thread only: messages below are done */

	/* Jobs the loop submitted wake the writer once per loop iteration,
	 * from this prepare handle, instead of a futex wake each (wake under
	 * mu; loop_thread is store_open()'s caller). */
	uv_prepare_t *waker;
	bool wake;
	uv_thread_t loop_thread;

	/* completions, protected by cmu */
	uv_mutex_t cmu;
	struct store_job *chead, *ctail;
	uv_async_t *async;
	bool have_thread;
	uv_thread_t thread;
};

/* ---- small helpers ---- */

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

int64_t store_scalar(sqlite3 *db, const char *sql, int64_t arg)
{
	sqlite3_stmt *st;
	int rc = store_prep_cached(db, &st, sql);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, arg);
	rc = sqlite3_step(st);
	int64_t v = rc == SQLITE_ROW    ? sqlite3_column_int64(st, 0)
	            : rc == SQLITE_DONE ? -ENOENT
	                                : store_errno(rc);
	store_release(st);
	return v;
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

const char *store_path(const struct store *s)
{
	return s->path;
}

sqlite3 *store_reader(struct store *s)
{
	return s->reader;
}

static bool read_step(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	if (store_prep_cached(db, &st, sql) < 0)
		return false;
	int rc = sqlite3_step(st);
	store_release(st);
	return rc == SQLITE_DONE;
}

bool store_read_begin(struct store *s)
{
	if (!s->reader || !sqlite3_get_autocommit(s->reader))
		return false;
	return read_step(s->reader, "BEGIN");
}

void store_read_end(struct store *s, bool begun)
{
	if (!begun || sqlite3_get_autocommit(s->reader))
		return;
	if (!read_step(s->reader, "COMMIT")) {
		log_warn("store event=read_end_failed err=\"%s\"", sqlite3_errmsg(s->reader));
		read_step(s->reader, "ROLLBACK");
	}
}

struct rcpt_cache **store_rcpt_cache(struct store *s, uint64_t *now_ms)
{
	*now_ms = s->loop ? uv_now(s->loop) : 0;
	return &s->rcpt_cache;
}

/* ---- schema ---- */

/* Migration i takes the schema from user_version i to i + 1. Append only:
 * never edit a step that has shipped. */
static const char *const migrations[] = {
    /* 0 -> 1: the initial schema. */
    "CREATE TABLE meta(\n"
    "  key TEXT PRIMARY KEY,\n"
    "  value INTEGER NOT NULL\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE domains(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  name TEXT NOT NULL UNIQUE COLLATE NOCASE,\n"
    "  created INTEGER NOT NULL\n"
    ");\n"
    "CREATE TABLE accounts(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  domain_id INTEGER NOT NULL REFERENCES domains(id),\n"
    "  localpart TEXT NOT NULL COLLATE NOCASE,\n"
    "  address TEXT NOT NULL UNIQUE COLLATE NOCASE,\n"
    "  password_hash TEXT NOT NULL DEFAULT '',\n"
    "  quota_bytes INTEGER NOT NULL DEFAULT 0,\n"
    "  disabled INTEGER NOT NULL DEFAULT 0,\n"
    "  created INTEGER NOT NULL\n"
    ");\n"
    "CREATE INDEX accounts_domain ON accounts(domain_id);\n"
    /* An alias's source domain must be local; the target is free text (a
     * local address, or a remote one: forwarding). */
    "CREATE TABLE aliases(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  source TEXT NOT NULL UNIQUE COLLATE NOCASE,\n"
    "  domain_id INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,\n"
    "  target TEXT NOT NULL COLLATE NOCASE,\n"
    "  created INTEGER NOT NULL\n"
    ");\n"
    "CREATE INDEX aliases_domain ON aliases(domain_id);\n"
    "CREATE INDEX aliases_target ON aliases(target);\n"
    "CREATE TABLE mailboxes(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,\n"
    "  name TEXT NOT NULL,\n"
    "  special_use TEXT NOT NULL DEFAULT '',\n"
    "  uidvalidity INTEGER NOT NULL,\n"
    "  uidnext INTEGER NOT NULL DEFAULT 1,\n"
    "  highestmodseq INTEGER NOT NULL DEFAULT 1,\n"
    "  subscribed INTEGER NOT NULL DEFAULT 1,\n"
    "  created INTEGER NOT NULL,\n"
    "  UNIQUE(account_id, name)\n"
    ");\n"
    /* Small columns first: columns after a large BLOB would cost a walk of
     * its overflow pages on every read. */
    "CREATE TABLE messages(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  sha256 BLOB NOT NULL UNIQUE,\n"
    "  size INTEGER NOT NULL,\n"
    "  refcount INTEGER NOT NULL DEFAULT 0,\n"
    "  created INTEGER NOT NULL,\n"
    "  envelope TEXT,\n"
    "  bodystructure TEXT,\n"
    "  data BLOB NOT NULL\n"
    ");\n"
    "CREATE INDEX messages_unreferenced ON messages(id) WHERE refcount <= 0;\n"
    "CREATE TABLE mailbox_entries(\n"
    "  mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,\n"
    "  uid INTEGER NOT NULL,\n"
    "  message_id INTEGER NOT NULL REFERENCES messages(id),\n"
    "  flags INTEGER NOT NULL DEFAULT 0,\n"
    "  keywords TEXT NOT NULL DEFAULT '',\n"
    "  modseq INTEGER NOT NULL,\n"
    "  internal_date INTEGER NOT NULL,\n"
    "  PRIMARY KEY(mailbox_id, uid)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX mailbox_entries_message ON mailbox_entries(message_id);\n"
    "CREATE INDEX mailbox_entries_modseq ON mailbox_entries(mailbox_id, modseq);\n"
    "CREATE TABLE expunged(\n"
    "  mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,\n"
    "  uid INTEGER NOT NULL,\n"
    "  modseq INTEGER NOT NULL,\n"
    "  PRIMARY KEY(mailbox_id, uid)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX expunged_modseq ON expunged(mailbox_id, modseq);\n"
    "CREATE TABLE queue(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  message_id INTEGER NOT NULL REFERENCES messages(id),\n"
    "  mail_from TEXT NOT NULL,\n"
    "  rcpt TEXT NOT NULL,\n"
    "  notify TEXT,\n"
    "  orcpt TEXT,\n"
    "  ret TEXT,\n"
    "  envid TEXT,\n"
    "  next_attempt INTEGER NOT NULL,\n"
    "  attempts INTEGER NOT NULL DEFAULT 0,\n"
    "  last_error TEXT,\n"
    "  expires INTEGER NOT NULL,\n"
    "  claimed_until INTEGER NOT NULL DEFAULT 0,\n"
    "  created INTEGER NOT NULL\n"
    ");\n"
    "CREATE INDEX queue_due ON queue(next_attempt);\n"
    "CREATE INDEX queue_message ON queue(message_id);\n",
    /* 1 -> 2: what IMAP precomputes per message (store/imap_messages.c):
     * ENVELOPE, BODY, BODYSTRUCTURE, the Date: day and the decoded top-level
     * header, and an FTS5 trigram index of the decoded text for SEARCH
     * BODY/TEXT (rowid = messages.id). Both go when the message goes. */
    "CREATE TABLE imap_message_info(\n"
    "  message_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,\n"
    "  sent_day INTEGER,\n"
    "  envelope TEXT NOT NULL,\n"
    "  body TEXT NOT NULL,\n"
    "  bodystructure TEXT NOT NULL,\n"
    "  headers TEXT NOT NULL\n"
    ");\n"
    "CREATE VIRTUAL TABLE imap_fts USING fts5(hdr, body, tokenize = 'trigram case_sensitive 0');\n"
    "CREATE TRIGGER imap_fts_gc AFTER DELETE ON messages BEGIN\n"
    "  DELETE FROM imap_fts WHERE rowid = old.id;\n"
    "END;\n",
    /* 2 -> 3: per queue row, whether its delay DSN went out (so it goes out
     * once, also across `tern queue retry`), and whether the postmaster
     * cancelled it (`tern queue bounce`: the DSN says so, not "expired").
     * Per mailbox, the highest UID some IMAP session has seen as \Recent
     * (RFC 3501 2.3.2); what exists at the upgrade counts as seen. */
    "ALTER TABLE queue ADD COLUMN delay_dsn_sent INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE queue ADD COLUMN cancelled INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE mailboxes ADD COLUMN recent_uid INTEGER NOT NULL DEFAULT 0;\n"
    "UPDATE mailboxes SET recent_uid = uidnext - 1;\n",
    /* 3 -> 4: meta 'directory' counts changes to what recipients resolve
     * against (domains, accounts, aliases, mailbox names), whoever makes
     * them: the server, or the CLI in another process. The loop's cache of
     * resolutions (store/rcpt_cache.c) is dropped when it moves.
     * Each entry carries its message's size: RFC822.SIZE, STATUS SIZE,
     * POP3 LIST and quotas then read mailbox_entries alone, not a page of
     * every message row. */
    "ALTER TABLE mailbox_entries ADD COLUMN size INTEGER NOT NULL DEFAULT 0;\n"
    "UPDATE mailbox_entries SET size = "
    "(SELECT m.size FROM messages m WHERE m.id = mailbox_entries.message_id);\n"
    "INSERT OR IGNORE INTO meta(key, value) VALUES('directory', 0);\n"
/* clang-format off */
#define DIRECTORY_TRIGGER(name, event)                                      \
	"CREATE TRIGGER directory_" name " AFTER " event " BEGIN\n"          \
	"  UPDATE meta SET value = value + 1 WHERE key = 'directory';\n"     \
	"END;\n"
    DIRECTORY_TRIGGER("domain_insert", "INSERT ON domains")
    DIRECTORY_TRIGGER("domain_update", "UPDATE ON domains")
    DIRECTORY_TRIGGER("domain_delete", "DELETE ON domains")
    DIRECTORY_TRIGGER("account_insert", "INSERT ON accounts")
    DIRECTORY_TRIGGER("account_update", "UPDATE OF domain_id, localpart, address ON accounts")
    DIRECTORY_TRIGGER("account_delete", "DELETE ON accounts")
    DIRECTORY_TRIGGER("alias_insert", "INSERT ON aliases")
    DIRECTORY_TRIGGER("alias_update", "UPDATE ON aliases")
    DIRECTORY_TRIGGER("alias_delete", "DELETE ON aliases")
    DIRECTORY_TRIGGER("mailbox_insert", "INSERT ON mailboxes")
    DIRECTORY_TRIGGER("mailbox_update", "UPDATE OF account_id, name ON mailboxes")
    DIRECTORY_TRIGGER("mailbox_delete", "DELETE ON mailboxes"),
#undef DIRECTORY_TRIGGER
    /* clang-format on */
    /* 4 -> 5: messages lose their SHA-256 and the two columns nothing
     * read (IMAP's ENVELOPE and BODYSTRUCTURE live in imap_message_info).
     * Deduplicating by digest cost a UNIQUE index entry on a random page
     * with every message, a quarter of the writer's time under SMTP load,
     * and it hardly ever found anything: every delivery's bytes differ in
     * their Received: line. A delivery to many recipients still stores its
     * bytes once. SQLite cannot drop a UNIQUE column, so the table is
     * copied (migrate() runs with foreign keys off); its index and trigger
     * go with the old table and are made again. */
    "CREATE TABLE messages_v5(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  size INTEGER NOT NULL,\n"
    "  refcount INTEGER NOT NULL DEFAULT 0,\n"
    "  created INTEGER NOT NULL,\n"
    "  data BLOB NOT NULL\n"
    ");\n"
    "INSERT INTO messages_v5(id, size, refcount, created, data)\n"
    "  SELECT id, size, refcount, created, data FROM messages;\n"
    "DROP TABLE messages;\n"
    "ALTER TABLE messages_v5 RENAME TO messages;\n"
    "CREATE INDEX messages_unreferenced ON messages(id) WHERE refcount <= 0;\n"
    "CREATE TRIGGER imap_fts_gc AFTER DELETE ON messages BEGIN\n"
    "  DELETE FROM imap_fts WHERE rowid = old.id;\n"
    "END;\n",
};

#define NMIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

static int user_version(sqlite3 *db)
{
	sqlite3_stmt *st;
	int v = -1;
	if (store_prep(db, &st, "PRAGMA user_version") < 0)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* 0 when `PRAGMA foreign_key_check` finds no broken reference. */
static int foreign_keys_intact(sqlite3 *db)
{
	sqlite3_stmt *st;
	if (store_prep(db, &st, "PRAGMA foreign_key_check") < 0)
		return -EIO;
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : rc == SQLITE_ROW ? -EPROTO : store_errno(rc);
}

static int migrate_steps(sqlite3 *db, char *err, size_t errlen)
{
	int from = -1; /* the version found */
	for (;;) {
		if (store_run(db, "BEGIN IMMEDIATE") < 0) {
			snprintf(err, errlen, "migrate: BEGIN: %s", sqlite3_errmsg(db));
			return -EIO;
		}
		/* Read inside the transaction: another process may have migrated. */
		int v = user_version(db);
		if (v < 0 || v > NMIGRATIONS) {
			store_run(db, "ROLLBACK");
			snprintf(err, errlen,
			         v < 0 ? "cannot read schema version"
			               : "database schema version %d is newer than this tern (%d)",
			         v, NMIGRATIONS);
			return -EPROTO;
		}
		if (v == NMIGRATIONS) {
			store_run(db, "COMMIT");
			return 0;
		}
		if (from < 0)
			from = v;
		if (from > 0) /* a step may copy a table: say why the start waits */
			log_info("store event=migrating from=%d to=%d", v, v + 1);
		char *msg = NULL, bump[64];
		int rc = sqlite3_exec(db, migrations[v], NULL, NULL, &msg);
		if (rc == SQLITE_OK && foreign_keys_intact(db) < 0) {
			msg = sqlite3_mprintf("a reference is broken after the step");
			rc = SQLITE_CONSTRAINT;
		}
		if (rc == SQLITE_OK) {
			snprintf(bump, sizeof bump, "PRAGMA user_version=%d", v + 1);
			rc = sqlite3_exec(db, bump, NULL, NULL, &msg);
		}
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(db, "COMMIT", NULL, NULL, &msg);
		if (rc != SQLITE_OK) {
			snprintf(err, errlen, "migrate %d->%d: %s", v, v + 1, msg ? msg : "?");
			sqlite3_free(msg);
			store_run(db, "ROLLBACK");
			return store_errno(rc);
		}
		log_info("store event=migrated from=%d to=%d", v, v + 1);
	}
}

/* Foreign keys are off while steps run (a step may copy a table that
 * others reference, and dropping the old one must not cascade); each step
 * must leave every reference intact, which foreign_key_check verifies
 * before its COMMIT. */
static int migrate(sqlite3 *db, char *err, size_t errlen)
{
	store_run(db, "PRAGMA foreign_keys=OFF");
	int rc = migrate_steps(db, err, errlen);
	store_run(db, "PRAGMA foreign_keys=ON");
	return rc;
}

static int mkdir_p(const char *dir)
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

static const char *writer_vfs; /* store/wal_vfs.c, or NULL: SQLite's */

/* Once per process, before the first connection: SQLite's memory
 * statistics take a global mutex on every allocation, which the loop and
 * the writer thread then fight over; nothing here reads those statistics.
 * Write connections open through store/wal_vfs.c when it registers. */
static void sqlite_setup(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	writer_vfs = store_wal_vfs_register();
}

static int open_conn(sqlite3 **db, const char *path, bool reader, char *err, size_t errlen)
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

/* ---- writer thread ---- */

static void post_completions(struct store *s, struct store_job *first, struct store_job *last)
{
	uv_mutex_lock(&s->cmu);
	if (s->ctail)
		s->ctail->next = first;
	else
		s->chead = first;
	s->ctail = last;
	uv_mutex_unlock(&s->cmu);
	uv_async_send(s->async);
}

static void run_completions(struct store *s)
{
	uv_mutex_lock(&s->cmu);
	struct store_job *j = s->chead;
	s->chead = s->ctail = NULL;
	uv_mutex_unlock(&s->cmu);
	while (j) {
		struct store_job *next = j->next;
		if (j->done)
			j->done(j->arg, j->status);
		free(j);
		j = next;
	}
}

static void on_async(uv_async_t *h)
{
	run_completions(h->data);
}

static void fail_all(struct store_job *j, int status)
{
	for (; j; j = j->next)
		if (j->status >= 0)
			j->status = status;
}

/* Tells a thread waiting on cond (under mu) that *closing is set, and
 * waits for it to end. */
static void stop_thread(uv_mutex_t *mu, uv_cond_t *cond, bool *closing, uv_thread_t *thread)
{
	uv_mutex_lock(mu);
	*closing = true;
	uv_cond_signal(cond);
	uv_mutex_unlock(mu);
	uv_thread_join(thread);
}

/* ---- durability: the syncer ----
 *
 * The writer commits every batch without an fsync: it writes the WAL
 * frames (in one pwrite, store/wal_vfs.c, which takes SQLite's commit sync
 * for itself; or, without that VFS, with synchronous=NORMAL) and goes on
 * with the next batch. A second thread, the syncer, fdatasyncs the WAL
 * file (through its own descriptor: fdatasync flushes the file, whichever
 * descriptor wrote it) and only then completes the jobs of the batches
 * committed before the sync began. So a reply still waits for its data to
 * be on disk, but the writer's CPU work on the next batch overlaps the
 * disk's flush of the last one, and one sync covers every batch committed
 * while the previous sync ran.
 *
 * A job submitted with store_submit_lazy() changes nothing a crash may
 * undo without losing mail (flags, expunges, \Recent marks, index data):
 * it completes right after its commit, and its frames reach the disk with
 * the next sync, which the syncer runs at the latest STORE_LAZY_SYNC_MS
 * after the first unsynced commit. Dovecot never fsyncs its index files by
 * default; this is the same, with a bound.
 *
 * Why this is as durable as synchronous=FULL: the WAL is appended in
 * order, so a sync that starts after a commit returned covers it; SQLite
 * itself syncs the WAL before a checkpoint copies frames into the database
 * and the database after, in NORMAL as in FULL (and through our VFS, where
 * checkpoint_fullfsync marks those syncs as ones it must make); and SQLite
 * removes the WAL only when the last connection closes, so the descriptor
 * stays the file's until store_close(). */

static int wal_sync(struct store *s)
{
	int rc = fdatasync(s->wal_fd) == 0 ? 0 : -errno;
	uv_mutex_lock(&s->mu);
	s->stats.wal_syncs++;
	uv_mutex_unlock(&s->mu);
	if (rc < 0)
		log_error("store event=wal_sync_failed err=\"%s\"", strerror(-rc));
	return rc;
}

/* After a commit: jobs (possibly none) wait for the next sync, which
 * comes at the latest STORE_LAZY_SYNC_MS after the oldest unsynced commit;
 * with jobs waiting the syncer syncs at once. wlock held. */
static void queue_for_sync(struct store *s, struct store_job *jobs, struct store_job *last,
                           bool lazy_only)
{
	uv_mutex_lock(&s->smu);
	if (jobs) {
		if (s->stail)
			s->stail->next = jobs;
		else
			s->shead = jobs;
		s->stail = last;
	}
	if (!s->unsynced_ns)
		s->unsynced_ns = uv_hrtime();
	uv_cond_signal(&s->scond);
	uv_mutex_unlock(&s->smu);
	if (lazy_only) {
		uv_mutex_lock(&s->mu);
		s->stats.lazy_commits++;
		uv_mutex_unlock(&s->mu);
	}
}

/* Writer thread, after a batch committed (or not): lazy jobs, failed jobs
 * and, without a syncer, every job complete now; the others after the
 * next sync. */
static void hand_over(struct store *s, struct store_job *batch, bool committed)
{
	struct store_job *now = NULL, **nt = &now, *later = NULL, **lt = &later;
	struct store_job *now_last = NULL, *later_last = NULL;
	bool lazy_only = true;
	for (struct store_job *j = batch, *next; j; j = next) {
		next = j->next;
		j->next = NULL;
		lazy_only &= j->lazy;
		if (!committed || !s->have_syncer || j->lazy || j->status < 0) {
			*nt = now_last = j;
			nt = &j->next;
		} else {
			*lt = later_last = j;
			lt = &j->next;
		}
	}
	if (committed && s->have_syncer)
		queue_for_sync(s, later, later_last, lazy_only);
	if (now)
		post_completions(s, now, now_last);
}

static void syncer_main(void *arg)
{
	struct store *s = arg;
	uv_mutex_lock(&s->smu);
	for (;;) {
		if (!s->shead) {
			if (!s->unsynced_ns) {
				if (s->sclosing)
					break;
				uv_cond_wait(&s->scond, &s->smu);
				continue;
			}
			uint64_t now = uv_hrtime();
			uint64_t at = s->unsynced_ns + (uint64_t)STORE_LAZY_SYNC_MS * 1000000u;
			if (now < at && !s->sclosing) {
				uv_cond_timedwait(&s->scond, &s->smu, at - now);
				continue;
			}
		}
		/* Everything committed so far: the jobs waiting and any lazy
		 * commit. A commit after this point sets unsynced_ns again. */
		struct store_job *list = s->shead, *last = s->stail;
		s->shead = s->stail = NULL;
		s->unsynced_ns = 0;
		uv_mutex_unlock(&s->smu);
		int rc = wal_sync(s);
		if (rc < 0)
			for (struct store_job *j = list; j; j = j->next)
				j->status = rc;
		if (list)
			post_completions(s, list, last);
		uv_mutex_lock(&s->smu);
	}
	uv_mutex_unlock(&s->smu);
}

/* ---- checkpoints ----
 *
 * SQLite's automatic checkpoint runs inside the COMMIT that takes the WAL
 * past 1000 pages, on the writer thread: it syncs the WAL, copies its pages
 * into the database and syncs that while every job waits. Under an SMTP
 * load that was a quarter of the writer's time, thirty times a second.
 * Instead the WAL hook wakes a checkpointer thread with its own connection,
 * which copies the pages with PASSIVE checkpoints (they never block the
 * writer or a reader) while the writer goes on.
 *
 * SQLite starts the WAL over from its beginning only when a checkpoint has
 * copied all of it, which a checkpoint running beside a busy writer never
 * quite does. So past STORE_CHECKPOINT_HARD pages the writer checkpoints
 * in its own thread, as SQLite would: that copies only what the
 * checkpointer has not, and the next transaction starts the WAL over. */
#define STORE_CHECKPOINT_SOFT 1000
#define STORE_CHECKPOINT_HARD 4000
/* Past SOFT, the checkpointer is woken again only after this many more
 * pages: often enough that little is left for the writer at HARD (which
 * halved the SMTP bench's p99 against a step of 1000), rarely enough that a
 * trickle of mail does not bring a checkpoint with every commit. */
#define STORE_CHECKPOINT_STEP 250

static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct store *s = arg;
	if (pages < s->wal_pages)
		s->ckpt_at = STORE_CHECKPOINT_SOFT; /* the WAL started over */
	s->wal_pages = pages;
	if (pages >= STORE_CHECKPOINT_HARD) {
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	} else if (pages >= s->ckpt_at) {
		/* Once per STORE_CHECKPOINT_STEP pages, not after every commit
		 * past SOFT: a commit that begins while a checkpoint runs keeps
		 * the WAL from starting over, so at a steady trickle of mail
		 * each commit would bring a checkpoint (two fsyncs) of its own. */
		s->ckpt_at = pages + STORE_CHECKPOINT_STEP;
		uv_mutex_lock(&s->kmu);
		s->kwanted = true;
		uv_cond_signal(&s->kcond);
		uv_mutex_unlock(&s->kmu);
	}
	return SQLITE_OK;
}

static void checkpointer_main(void *arg)
{
	struct store *s = arg;
	uv_mutex_lock(&s->kmu);
	for (;;) {
		while (!s->kwanted && !s->kclosing)
			uv_cond_wait(&s->kcond, &s->kmu);
		if (s->kclosing)
			break;
		s->kwanted = false;
		uv_mutex_unlock(&s->kmu);
		int rc =
		    sqlite3_wal_checkpoint_v2(s->ckpt, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		uv_mutex_lock(&s->mu);
		s->stats.checkpoints++;
		uv_mutex_unlock(&s->mu);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			log_warn("store event=checkpoint_failed rc=%d err=\"%s\"", rc,
			         sqlite3_errmsg(s->ckpt));
		uv_mutex_lock(&s->kmu);
	}
	uv_mutex_unlock(&s->kmu);
}

/* Without it (no connection, no thread), SQLite's own checkpoints stay. */
static void start_checkpointer(struct store *s)
{
	char err[256];
	if (open_conn(&s->ckpt, s->path, false, err, sizeof err) < 0) {
		log_warn("store event=no_checkpointer err=\"%s\"", err);
		return;
	}
	if (uv_thread_create(&s->checkpointer, checkpointer_main, s) != 0) {
		sqlite3_close(s->ckpt);
		s->ckpt = NULL;
		return;
	}
	s->have_checkpointer = true;
	s->ckpt_at = STORE_CHECKPOINT_SOFT;
	sqlite3_wal_hook(s->writer, wal_hook, s);
}

/* After the writer thread ended. */
static void stop_checkpointer(struct store *s)
{
	if (s->have_checkpointer) {
		stop_thread(&s->kmu, &s->kcond, &s->kclosing, &s->checkpointer);
		s->have_checkpointer = false;
	}
	sqlite3_close(s->ckpt);
	s->ckpt = NULL;
}

/* Runs one batch on the write connection; sets every job's status. Returns
 * true if it committed. */
static bool run_batch(struct store *s, struct store_job *batch, size_t n)
{
	sqlite3 *db = s->writer;
	int rc;

	for (struct store_job *j = batch; j; j = j->next)
		j->status = 0;
	rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		log_error("store event=begin_failed rc=%d err=\"%s\" jobs=%zu", rc,
		          sqlite3_errmsg(db), n);
		fail_all(batch, store_errno(rc) ? store_errno(rc) : -EIO);
		return false;
	}
	for (struct store_job *j = batch; j; j = j->next) {
		if (sqlite3_exec(db, "SAVEPOINT job", NULL, NULL, NULL) != SQLITE_OK) {
			j->status = -EIO;
			continue;
		}
		int st = j->run(db, j->arg);
		if (sqlite3_get_autocommit(db)) {
			/* SQLite abandoned the whole transaction (or the job ended
			 * it, which is a bug): nothing of this batch survives. */
			log_error("store event=txn_lost status=%d err=\"%s\" jobs=%zu", st,
			          sqlite3_errmsg(db), n);
			fail_all(batch, st < 0 ? st : -EIO);
			return false;
		}
		if (st < 0) {
			j->status = st;
			sqlite3_exec(db, "ROLLBACK TO job", NULL, NULL, NULL);
		} else {
			j->status = st;
		}
		sqlite3_exec(db, "RELEASE job", NULL, NULL, NULL);
	}

	bool inject = false;
	uv_mutex_lock(&s->mu);
	if (s->fail_commits > 0) {
		s->fail_commits--;
		inject = true;
	}
	uv_mutex_unlock(&s->mu);

	if (inject)
		rc = SQLITE_IOERR;
	else
		rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		log_error("store event=commit_failed rc=%d err=\"%s\" jobs=%zu injected=%d", rc,
		          inject ? "test hook" : sqlite3_errmsg(db), n, inject);
		if (!sqlite3_get_autocommit(db))
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		int e = store_errno(rc);
		for (struct store_job *j = batch; j; j = j->next)
			j->status = e ? e : -EIO;
		return false;
	}
	return true;
}

static bool job_waiting(struct store *s)
{
	uv_mutex_lock(&s->mu);
	bool waiting = s->head || s->closing;
	uv_mutex_unlock(&s->mu);
	return waiting;
}

static int exec_txn(struct store *s, int (*fn)(sqlite3 *db, void *arg), void *arg, bool lazy);

struct idle_slice {
	struct store *s;
	uint64_t deadline_ns;
	int more;
};

static int idle_index_slice(sqlite3 *db, void *arg)
{
	struct idle_slice *q = arg;
	struct store *s = q->s;
	int r;
	do {
		r = store_imap_index_next(db, &s->index_cursor);
	} while (r > 0 && uv_hrtime() < q->deadline_ns && !job_waiting(s));
	q->more = r > 0;
	return r < 0 ? r : 0;
}

/* Writer thread, mu not held: one bounded slice of idle work. Returns
 * whether more is left. */
static bool run_idle_work(struct store *s)
{
	struct idle_slice q = {s, uv_hrtime() + (uint64_t)STORE_IDLE_SLICE_MS * 1000000u, 0};
	int r = exec_txn(s, idle_index_slice, &q, true); /* derived data: lazy */
	if (r < 0) {
		log_warn("store event=index_failed err=\"%s\"", strerror(-r));
		return false; /* try again after the next batch */
	}
	return q.more;
}

void store_note_client(struct store *s)
{
	atomic_store_explicit(&s->client_ms, uv_now(s->loop), memory_order_relaxed);
}

static void writer_main(void *arg)
{
	struct store *s = arg;
	uint64_t last_job_ns = uv_hrtime();
	uv_mutex_lock(&s->mu);
	for (;;) {
		while (!s->head && !s->closing) {
			uint64_t now = uv_hrtime(), wake = UINT64_MAX;
			if (s->idle_work) {
				/* Quiet for STORE_IDLE_MS since the last job: then
				 * slice after slice until a job comes or nothing is
				 * left. */
				uint64_t client_ns =
				    atomic_load_explicit(&s->client_ms, memory_order_relaxed) *
				    1000000u;
				uint64_t busy_ns =
				    client_ns > last_job_ns ? client_ns : last_job_ns;
				uint64_t quiet_at = busy_ns + (uint64_t)STORE_IDLE_MS * 1000000u;
				if (now >= quiet_at) {
					uv_mutex_unlock(&s->mu);
					bool more = run_idle_work(s);
					uv_mutex_lock(&s->mu);
					s->idle_work = more;
					continue;
				}
				if (quiet_at < wake)
					wake = quiet_at;
			}
			if (wake == UINT64_MAX)
				uv_cond_wait(&s->cond, &s->mu);
			else
				uv_cond_timedwait(&s->cond, &s->mu, wake - now);
		}
		if (!s->head)
			break; /* closing and drained */

		/* Take everything waiting, up to the cap. */
		struct store_job *batch = s->head, *last = s->head;
		size_t n = 1;
		while (last->next && n < STORE_MAX_BATCH) {
			last = last->next;
			n++;
		}
		s->head = last->next;
		if (!s->head)
			s->tail = NULL;
		last->next = NULL;
		uv_mutex_unlock(&s->mu);

		uv_mutex_lock(&s->wlock);
		bool committed = run_batch(s, batch, n);
		uv_mutex_unlock(&s->wlock);
		last_job_ns = uv_hrtime();

		uint64_t failed = 0;
		for (struct store_job *j = batch; j; j = j->next)
			failed += j->status < 0;

		uv_mutex_lock(&s->mu);
		s->stats.jobs += n;
		s->stats.failed += failed;
		s->stats.commits += committed;
		s->idle_work |= committed;
		if (n > s->stats.max_batch)
			s->stats.max_batch = n;
		uv_mutex_unlock(&s->mu);

		/* Only now, after COMMIT returned (and, through the syncer,
		 * after it is on disk), may anyone hear about it. */
		hand_over(s, batch, committed);
		uv_mutex_lock(&s->mu);
	}
	uv_mutex_unlock(&s->mu);
}

static int submit(struct store *s, store_job_fn run, store_done_fn done, void *arg, bool lazy)
{
	if (!s->have_thread)
		return -ENOTSUP;
	struct store_job *j = calloc(1, sizeof *j);
	if (!j)
		return -ENOMEM;
	j->run = run;
	j->done = done;
	j->arg = arg;
	j->lazy = lazy;
	uv_mutex_lock(&s->mu);
	if (s->closing) {
		uv_mutex_unlock(&s->mu);
		free(j);
		return -ESHUTDOWN;
	}
	if (s->tail)
		s->tail->next = j;
	else
		s->head = j;
	s->tail = j;
	uv_thread_t self = uv_thread_self();
	if (s->waker && uv_thread_equal(&self, &s->loop_thread))
		s->wake = true;
	else
		uv_cond_signal(&s->cond);
	uv_mutex_unlock(&s->mu);
	return 0;
}

/* Before the loop polls: wake the writer for what this iteration submitted,
 * so one wake-up covers a burst (and the writer gets it as one batch). */
static void on_loop_prepare(uv_prepare_t *h)
{
	struct store *s = h->data;
	if (!s)
		return;
	uv_mutex_lock(&s->mu);
	if (s->wake) {
		s->wake = false;
		uv_cond_signal(&s->cond);
	}
	uv_mutex_unlock(&s->mu);
}

int store_submit(struct store *s, store_job_fn run, store_done_fn done, void *arg)
{
	return submit(s, run, done, arg, false);
}

int store_submit_lazy(struct store *s, store_job_fn run, store_done_fn done, void *arg)
{
	return submit(s, run, done, arg, true);
}

void store_get_stats(struct store *s, struct store_stats *out)
{
	uv_mutex_lock(&s->mu);
	*out = s->stats;
	uv_mutex_unlock(&s->mu);
}

void store_test_fail_next_commits(struct store *s, int n)
{
	uv_mutex_lock(&s->mu);
	s->fail_commits = n < 0 ? 0 : n;
	uv_mutex_unlock(&s->mu);
}

/* One transaction on the write connection, synchronous unless lazy. */
static int exec_txn(struct store *s, int (*fn)(sqlite3 *db, void *arg), void *arg, bool lazy)
{
	sqlite3 *db = s->writer;
	int rc, ret;
	uv_mutex_lock(&s->wlock);
	rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		ret = store_errno(rc);
		goto out;
	}
	ret = fn(db, arg);
	if (ret < 0) {
		if (!sqlite3_get_autocommit(db))
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		goto out;
	}
	if (sqlite3_get_autocommit(db)) {
		ret = -EIO; /* the transaction was lost under fn */
		goto out;
	}
	rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		log_error("store event=exec_commit_failed rc=%d err=\"%s\"", rc,
		          sqlite3_errmsg(db));
		if (!sqlite3_get_autocommit(db))
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		ret = store_errno(rc) ? store_errno(rc) : -EIO;
	} else if (s->have_syncer && lazy) {
		queue_for_sync(s, NULL, NULL, true); /* the syncer syncs it soon */
	} else if (s->have_syncer) {
		ret = wal_sync(s) < 0 ? -EIO : ret; /* on disk before we return */
	}
out:
	uv_mutex_unlock(&s->wlock);
	return ret;
}

int store_exec(struct store *s, int (*fn)(sqlite3 *db, void *arg), void *arg)
{
	return exec_txn(s, fn, arg, false);
}

/* ---- open / close ---- */

/* With a loop: our own descriptor of the WAL, the writer in NORMAL mode,
 * and the syncer thread. Any step failing leaves synchronous=FULL, where
 * every commit syncs by itself (as the CLI's store does). */
static void start_syncer(struct store *s)
{
	char wal[sizeof s->path + 8];
	snprintf(wal, sizeof wal, "%s-wal", s->path);
	s->wal_fd = open(wal, O_RDONLY | O_CLOEXEC);
	if (s->wal_fd < 0) {
		log_warn("store event=no_syncer err=\"%s\"", strerror(errno));
		return;
	}
	/* Commits leave the WAL sync to the syncer: through store/wal_vfs.c,
	 * whose WAL then writes a commit's frames at its SQLITE_SYNC_NORMAL
	 * sync and leaves the rest to us, while the syncs around checkpoints
	 * come as SQLITE_SYNC_FULL and stay real; or, without it, with
	 * synchronous=NORMAL, which does not sync commits at all. */
	bool deferred = sqlite3_exec(s->writer, "PRAGMA checkpoint_fullfsync=ON", NULL, NULL,
	                             NULL) == SQLITE_OK &&
	                store_wal_defer_commit_syncs(s->writer, true) == 0;
	if ((deferred ||
	     sqlite3_exec(s->writer, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL) == SQLITE_OK) &&
	    uv_thread_create(&s->syncer, syncer_main, s) == 0) {
		s->have_syncer = true;
		return;
	}
	if (deferred)
		store_wal_defer_commit_syncs(s->writer, false);
	sqlite3_exec(s->writer, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
	close(s->wal_fd);
	s->wal_fd = -1;
}

/* After the writer thread ended: the last sync, then the thread ends. */
static void stop_syncer(struct store *s)
{
	if (s->have_syncer) {
		stop_thread(&s->smu, &s->scond, &s->sclosing, &s->syncer);
		s->have_syncer = false;
	}
	if (s->wal_fd >= 0)
		close(s->wal_fd);
	s->wal_fd = -1;
}

static void free_handle(uv_handle_t *h)
{
	free(h);
}

int store_open(struct store **out, const char *dir, uv_loop_t *loop, char *err, size_t errlen)
{
	struct store *s;
	int rc;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	rc = mkdir_p(dir);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(-rc));
		return rc;
	}
	s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if ((size_t)snprintf(s->path, sizeof s->path, "%s/tern.db", dir) >= sizeof s->path) {
		free(s);
		snprintf(err, errlen, "%s: path too long", dir);
		return -ENAMETOOLONG;
	}
	s->loop = loop;
	uv_mutex_init(&s->mu);
	uv_mutex_init(&s->wlock);
	uv_mutex_init(&s->cmu);
	uv_cond_init(&s->cond);

	s->wal_fd = -1;
	uv_mutex_init(&s->smu);
	uv_cond_init(&s->scond);
	uv_mutex_init(&s->kmu);
	uv_cond_init(&s->kcond);
	rc = open_conn(&s->writer, s->path, false, err, errlen);
	if (rc == 0)
		rc = migrate(s->writer, err, errlen);
	if (rc == 0)
		rc = open_conn(&s->reader, s->path, true, err, errlen);
	if (rc < 0)
		goto fail;

	const char *env = getenv("TERN_TEST_FAIL_COMMIT");
	if (env && *env) {
		s->fail_commits = atoi(env);
		log_warn("store event=test_hook fail_commits=%d", s->fail_commits);
	}

	if (loop) {
		s->async = calloc(1, sizeof *s->async);
		if (!s->async) {
			rc = -ENOMEM;
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		uv_async_init(loop, s->async, on_async);
		s->async->data = s;
		s->waker = calloc(1, sizeof *s->waker);
		if (s->waker) {
			s->loop_thread = uv_thread_self();
			uv_prepare_init(loop, s->waker);
			s->waker->data = s;
			uv_prepare_start(s->waker, on_loop_prepare);
			uv_unref((uv_handle_t *)s->waker);
		}
		s->idle_work = true; /* whatever an earlier run left unindexed */
		start_syncer(s);
		start_checkpointer(s);
		rc = uv_thread_create(&s->thread, writer_main, s);
		if (rc < 0) {
			snprintf(err, errlen, "writer thread: %s", uv_strerror(rc));
			uv_close((uv_handle_t *)s->async, free_handle);
			s->async = NULL;
			if (s->waker)
				uv_close((uv_handle_t *)s->waker, free_handle);
			s->waker = NULL;
			goto fail;
		}
		s->have_thread = true;
	}
	*out = s;
	return 0;
fail:
	stop_checkpointer(s);
	stop_syncer(s);
	store_stmt_cache_drop(s->reader);
	sqlite3_close(s->reader);
	store_stmt_cache_drop(s->writer);
	sqlite3_close(s->writer);
	uv_cond_destroy(&s->cond);
	uv_cond_destroy(&s->scond);
	uv_cond_destroy(&s->kcond);
	uv_mutex_destroy(&s->mu);
	uv_mutex_destroy(&s->smu);
	uv_mutex_destroy(&s->kmu);
	uv_mutex_destroy(&s->wlock);
	uv_mutex_destroy(&s->cmu);
	free(s);
	return rc;
}

void store_close(struct store **sp)
{
	struct store *s = sp ? *sp : NULL;
	if (!s)
		return;
	*sp = NULL;
	if (s->have_thread)
		stop_thread(&s->mu, &s->cond, &s->closing, &s->thread);
	stop_checkpointer(s);
	stop_syncer(s);
	if (s->have_thread)
		run_completions(s);
	if (s->waker) {
		s->waker->data = NULL;
		uv_close((uv_handle_t *)s->waker, free_handle);
	}
	if (s->async) {
		s->async->data = NULL;
		uv_close((uv_handle_t *)s->async, free_handle);
	}
	rcpt_cache_free(s->rcpt_cache);
	store_stmt_cache_drop(s->reader);
	store_stmt_cache_drop(s->writer);
	if (sqlite3_close(s->reader) != SQLITE_OK)
		log_warn("store event=close_reader err=\"%s\"", sqlite3_errmsg(s->reader));
	/* A clean close of the last connection checkpoints and removes the WAL. */
	if (sqlite3_close(s->writer) != SQLITE_OK)
		log_warn("store event=close_writer err=\"%s\"", sqlite3_errmsg(s->writer));
	uv_cond_destroy(&s->cond);
	uv_cond_destroy(&s->scond);
	uv_cond_destroy(&s->kcond);
	uv_mutex_destroy(&s->mu);
	uv_mutex_destroy(&s->smu);
	uv_mutex_destroy(&s->kmu);
	uv_mutex_destroy(&s->wlock);
	uv_mutex_destroy(&s->cmu);
	free(s);
}
