/* verify: the checks of `tern verify` (verify.h). Each check is one query
 * whose rows are findings, already in words; rows are streamed, so memory
 * does not grow with the store or with the damage. */
#include "store/verify.h"
#include "store/store.h"
#include "store/store_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* "user@example.org:INBOX" for the mailboxes row b (or its id alone when
 * the account is gone). */
#define MBOX(b)                                                                                    \
	"coalesce((SELECT address FROM accounts WHERE id = " b ".account_id) || ':' || " b         \
	".name, "                                                                                  \
	"'mailbox ' || " b ".id)"

struct check {
	const char *name;
	const char *sql; /* rows of one text column: the findings */
};

static const struct check checks[] = {
    {"foreign_key", "SELECT printf('%s row %s: refers to a missing %s row', \"table\", "
                    "ifnull(rowid, '(without rowid)'), parent) FROM pragma_foreign_key_check"},
    /* Bodies and what holds them (store/mail.c: refcount = entries + queue rows). */
    {"orphan_message",
     "SELECT printf('message %d (%d bytes): no mailbox entry or queue row holds it', id, size) "
     "FROM messages m WHERE NOT EXISTS (SELECT 1 FROM mailbox_entries WHERE message_id = m.id) "
     "AND NOT EXISTS (SELECT 1 FROM queue WHERE message_id = m.id)"},
    {"refcount",
     "SELECT printf('message %d: refcount %d, but held by %d entries and %d queue rows', id, "
     "refcount, e, q) FROM (SELECT id, refcount, "
     "(SELECT count(*) FROM mailbox_entries WHERE message_id = m.id) AS e, "
     "(SELECT count(*) FROM queue WHERE message_id = m.id) AS q FROM messages m) "
     "WHERE e + q > 0 AND refcount != e + q"},
    {"missing_message",
     "SELECT printf('%s uid %d: its message %d is missing', " MBOX(
         "b") ", e.uid, e.message_id) "
              "FROM mailbox_entries e LEFT JOIN mailboxes b ON b.id = e.mailbox_id "
              "WHERE NOT EXISTS (SELECT 1 FROM messages WHERE id = e.message_id)"},
    {"missing_mailbox",
     "SELECT printf('mailbox %d uid %d: the mailbox is missing', e.mailbox_id, e.uid) "
     "FROM mailbox_entries e WHERE NOT EXISTS (SELECT 1 FROM mailboxes WHERE id = e.mailbox_id)"},
    {"entry_size", "SELECT printf('%s uid %d: size %d, its message has %d bytes', " MBOX(
                       "b") ", e.uid, e.size, "
                            "m.size) FROM mailbox_entries e JOIN messages m ON m.id = e.message_id "
                            "JOIN mailboxes b ON b.id = e.mailbox_id WHERE e.size != m.size"},
    /* Per mailbox: UIDs, MODSEQs, UIDVALIDITY (RFC 3501 2.3.1.1, RFC 7162 3.1.1). */
    {"mailbox",
     "SELECT printf('%s: UIDVALIDITY %d is not a non-zero 32-bit number', " MBOX(
         "b") ", "
              "uidvalidity) FROM mailboxes b WHERE uidvalidity <= 0 OR uidvalidity > 4294967295 "
              "UNION ALL SELECT printf('%s: UIDNEXT %d', " MBOX(
                  "b") ", uidnext) FROM mailboxes b "
                       "WHERE uidnext < 1 UNION ALL SELECT printf('%s: HIGHESTMODSEQ %d', " MBOX(
                           "b") ", "
                                "highestmodseq) FROM mailboxes b WHERE highestmodseq < 1"},
    {"uidvalidity",
     "SELECT printf('UIDVALIDITY %d is given to %d mailboxes (MAILBOXID must be unique)', "
     "uidvalidity, count(*)) FROM mailboxes GROUP BY uidvalidity HAVING count(*) > 1"},
    {"uid", "SELECT printf('%s uid %d: not below UIDNEXT %d', " MBOX(
                "b") ", e.uid, b.uidnext) "
                     "FROM mailbox_entries e JOIN mailboxes b ON b.id = e.mailbox_id "
                     "WHERE e.uid >= b.uidnext OR e.uid < 1 "
                     "UNION ALL SELECT printf('%s expunged uid %d: not below UIDNEXT %d', " MBOX(
                         "b") ", x.uid, "
                              "b.uidnext) FROM expunged x JOIN mailboxes b ON b.id = x.mailbox_id "
                              "WHERE x.uid >= b.uidnext OR x.uid < 1"},
    {"uid_unique",
     "SELECT printf('%s uid %d: %d entries have it', " MBOX(
         "b") ", e.uid, count(*)) "
              "FROM mailbox_entries e JOIN mailboxes b ON b.id = e.mailbox_id "
              "GROUP BY e.mailbox_id, e.uid HAVING count(*) > 1 "
              "UNION ALL SELECT printf('%s uid %d: both present and expunged (a UID used twice)', "
              "" MBOX("b") ", e.uid) FROM mailbox_entries e "
                           "JOIN expunged x ON x.mailbox_id = e.mailbox_id AND x.uid = e.uid "
                           "JOIN mailboxes b ON b.id = e.mailbox_id"},
    {"modseq",
     "SELECT printf('%s uid %d: MODSEQ %d above HIGHESTMODSEQ %d', " MBOX(
         "b") ", e.uid, "
              "e.modseq, b.highestmodseq) FROM mailbox_entries e JOIN mailboxes b ON b.id = "
              "e.mailbox_id "
              "WHERE e.modseq > b.highestmodseq OR e.modseq < 1 "
              "UNION ALL SELECT printf('%s expunged uid %d: MODSEQ %d above HIGHESTMODSEQ %d', "
              "" MBOX(
                  "b") ", x.uid, x.modseq, b.highestmodseq) FROM expunged x "
                       "JOIN mailboxes b ON b.id = x.mailbox_id WHERE x.modseq > b.highestmodseq"},
    /* The outbound queue: one row per recipient, holding its message. */
    {"queue",
     "SELECT printf('queue row %d (to %s): its message %d is missing', id, rcpt, message_id) "
     "FROM queue q WHERE NOT EXISTS (SELECT 1 FROM messages WHERE id = q.message_id) "
     "UNION ALL SELECT printf('queue row %d: no recipient', id) FROM queue WHERE rcpt = '' "
     "UNION ALL SELECT printf('queue row %d (to %s): next attempt %d, attempts %d', id, rcpt, "
     "next_attempt, attempts) FROM queue WHERE next_attempt <= 0 OR attempts < 0 "
     "UNION ALL SELECT printf('queue row %d (to %s): expires %d before it was queued (%d)', id, "
     "rcpt, expires, created) FROM queue WHERE expires < created "
     "UNION ALL SELECT printf('queue row %d (to %s): flags delay_dsn_sent=%d cancelled=%d', "
     "id, rcpt, delay_dsn_sent, cancelled) FROM queue "
     "WHERE delay_dsn_sent NOT IN (0, 1) OR cancelled NOT IN (0, 1)"},
    /* IMAP's index (store/msg_index.c): rows of messages that are gone. */
    {"index",
     "SELECT printf('imap_message_info row for missing message %d', message_id) "
     "FROM imap_message_info i WHERE NOT EXISTS (SELECT 1 FROM messages WHERE id = i.message_id) "
     "UNION ALL SELECT printf('imap_sort_keys row for missing message %d', message_id) "
     "FROM imap_sort_keys k WHERE NOT EXISTS (SELECT 1 FROM messages WHERE id = k.message_id) "
     "UNION ALL SELECT printf('imap_fts row for missing message %d', id) "
     "FROM imap_fts_docsize d WHERE NOT EXISTS (SELECT 1 FROM messages WHERE id = d.id)"},
};

static void finding(struct store_verify_summary *sum, store_verify_fn fn, void *ud,
                    const char *check, const char *detail)
{
	sum->findings++;
	fn(ud, check, detail);
}

/* Runs one query whose rows are findings; a query that fails is a finding
 * too (the damage kept the check from running). */
static void run_check(sqlite3 *db, const char *name, const char *sql, bool skip_ok,
                      store_verify_fn fn, void *ud, struct store_verify_summary *sum)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			const char *t = (const char *)sqlite3_column_text(st, 0);
			if (skip_ok && t && strcmp(t, "ok") == 0)
				continue;
			finding(sum, fn, ud, name, t ? t : "?");
		}
	}
	if (rc != SQLITE_DONE) {
		char buf[512];
		snprintf(buf, sizeof buf, "the check could not run: %s", sqlite3_errmsg(db));
		finding(sum, fn, ud, name, buf);
	}
	sqlite3_finalize(st);
	sum->checks++;
}

int store_verify(const char *path, bool quick, store_verify_fn fn, void *ud,
                 struct store_verify_summary *sum, char *err, size_t errlen)
{
	memset(sum, 0, sizeof *sum);
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return -ENOENT;
	}
	sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
	sqlite3_exec(db, "PRAGMA query_only=ON", NULL, NULL, NULL);
	/* Is it a tern store at all? Otherwise there is nothing to check. */
	sqlite3_stmt *st;
	rc = sqlite3_prepare_v2(
	    db,
	    "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN "
	    "('messages', 'mailbox_entries', 'mailboxes', 'queue', 'accounts')",
	    -1, &st, NULL);
	int64_t tables = -1;
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
		tables = sqlite3_column_int64(st, 0);
	if (tables < 0 && (sqlite3_errcode(db) & 0xff) == SQLITE_CORRUPT) {
		/* Damaged past reading its table list: that is the finding. */
		char buf[512];
		snprintf(buf, sizeof buf, "%s (the other checks cannot run)", sqlite3_errmsg(db));
		sqlite3_finalize(st);
		sqlite3_close(db);
		finding(sum, fn, ud, quick ? "quick_check" : "integrity_check", buf);
		sum->checks = 1;
		return 0;
	}
	if (tables < 0) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
		sqlite3_finalize(st);
		sqlite3_close(db);
		return -EPROTO;
	}
	sqlite3_finalize(st);
	if (tables != 5) {
		snprintf(err, errlen, "%s: an SQLite database, but not a tern store", path);
		sqlite3_close(db);
		return -EPROTO;
	}
	/* One snapshot for every check, also while a server writes. */
	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	run_check(db, quick ? "quick_check" : "integrity_check",
	          quick ? "PRAGMA quick_check" : "PRAGMA integrity_check", true, fn, ud, sum);
	for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++)
		run_check(db, checks[i].name, checks[i].sql, false, fn, ud, sum);
	sum->messages = store_scalar_uncached(db, "SELECT count(*) FROM messages");
	sum->entries = store_scalar_uncached(db, "SELECT count(*) FROM mailbox_entries");
	sum->mailboxes = store_scalar_uncached(db, "SELECT count(*) FROM mailboxes");
	sum->queue = store_scalar_uncached(db, "SELECT count(*) FROM queue");
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(db);
	return 0;
}
