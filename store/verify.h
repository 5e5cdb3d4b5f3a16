/* verify: read-only checks of a store's invariants (`tern verify`).
 *
 * SQLite's own checks (integrity_check or quick_check, foreign_key_check),
 * then what the schema cannot say: every message row is held by an entry
 * or a queue row and its refcount counts them; every entry's message
 * exists and has the entry's size; per mailbox, UIDs are below UIDNEXT and
 * never both live and expunged, MODSEQs are at most HIGHESTMODSEQ,
 * UIDVALIDITY is non-zero and not shared; queue rows have their message
 * and sane times; IMAP's index rows have their message. No count is
 * cached per mailbox (STATUS counts entries), so only refcount is
 * compared with a real count. */
#ifndef TERN_STORE_VERIFY_H
#define TERN_STORE_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store_verify_summary {
	int64_t findings;
	int64_t messages, entries, mailboxes, queue;
	int checks; /* checks run */
};

/* One finding: the check's name ("refcount", "uid", ...) and what is
 * wrong, in words. */
typedef void (*store_verify_fn)(void *ud, const char *check, const char *detail);

/* Runs every check on the database at path (a tern.db, also one a server
 * is using, or a backup), opened read-only. quick: quick_check instead of
 * integrity_check. 0 when the checks ran (sum->findings says whether they
 * found anything), or a negative errno when they could not (err). */
int store_verify(const char *path, bool quick, store_verify_fn fn, void *ud,
                 struct store_verify_summary *sum, char *err, size_t errlen);

#endif
