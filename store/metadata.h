/* metadata: IMAP METADATA annotations (RFC 5464), table `metadata`.
 *
 * An entry belongs to an account, and to one of its mailboxes or to "the
 * server" (mailbox_id STORE_METADATA_SERVER): tern has no sharing, so the
 * server's entries are the account's own, /shared ones included. Entries
 * go with their mailbox when it is deleted (a foreign key) and follow it
 * when it is renamed (they hang on the id); RENAME INBOX copies INBOX's
 * entries to the new mailbox (RFC 5464 §4.1).
 *
 * Names are stored in lower case (entry names are case-insensitive); the
 * caller validates them. Values are bytes, possibly with NULs. The
 * entries the server computes (/shared/admin, /private/specialuse) are not
 * stored: proto/imap adds them.
 *
 * Return convention as in store.h. */
#ifndef TERN_STORE_METADATA_H
#define TERN_STORE_METADATA_H

#include <stddef.h>
#include <stdint.h>

struct store_rd;
struct store_tx;

#define STORE_METADATA_SERVER 0 /* mailbox_id of the server's entries */

/* cb(ud, name, value, len) for each stored entry of the account's mailbox
 * (or server) that is `entry` itself or below it: depth 0 the entry
 * alone, 1 also its children, -1 everything below it. By name. 0, cb's
 * non-zero return, or a negative errno. */
typedef int (*store_metadata_cb)(void *ud, const char *name, const void *value, size_t len);
int store_metadata_get(struct store_rd *rd, int64_t account_id, int64_t mailbox_id,
                       const char *entry, int depth, store_metadata_cb cb, void *ud);

/* Job (arg: struct store_metadata_set): set or delete (values[i] NULL)
 * every entry, all or none. -ENOENT when the mailbox is gone; -EDQUOT when
 * a new entry would take the mailbox (or the server) past max_entries, or
 * the account past max_account (0: no limit); the job's savepoint then
 * undoes the entries already set. */
struct store_metadata_set {
	int64_t account_id;
	int64_t mailbox_id; /* or STORE_METADATA_SERVER */
	size_t n;
	const char *const *names; /* lower case */
	const void *const *values;
	const size_t *lens;
	uint32_t max_entries;
	uint32_t max_account;
	/* result: how many entries changed (set or deleted) */
	size_t changed;
};
int store_metadata_set_job(struct store_tx *tx, void *arg);

#endif
