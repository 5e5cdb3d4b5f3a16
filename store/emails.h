/* emails: a message seen account-wide, as JMAP sees it (RFC 8621): one
 * Email is one message row, held by entries in any number of the
 * account's mailboxes; a Thread is the messages sharing a thread id; and
 * one state string says whether anything of the account's mail changed.
 *
 * IMAP reads entries one mailbox at a time (entries.h); these reads cross
 * the mailboxes of one account and never show another account's entries.
 * Entries from before schema 10 have no thread id: their message id
 * stands in (each is a thread of its own, as threads.h says). */
#ifndef TERN_STORE_EMAILS_H
#define TERN_STORE_EMAILS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store_rd;

/* One entry of a message, with its mailbox's UIDVALIDITY (the JMAP
 * mailbox id is "F" + uidvalidity). */
struct store_email_entry {
	int64_t mailbox_id;
	uint32_t uidvalidity;
	uint32_t uid;
	int64_t message_id;
	int64_t thread_id;
	uint32_t flags;       /* STORE_FLAG_* (mail.h) */
	const char *keywords; /* space-separated; valid during the callback */
	int64_t internal_date;
	int64_t size;
	int64_t modseq;
};

/* The entries of message_id in account_id's mailboxes, by mailbox id.
 * Returns the callback's non-zero value, or the number of entries (0: the
 * account holds no such message), or a negative errno. */
int store_email_entries(struct store_rd *rd, int64_t account_id, int64_t message_id,
                        int (*cb)(void *ud, const struct store_email_entry *e), void *ud);

/* The entries of one mailbox in UID order with what Email/query filters
 * and sorts on (uid, message_id, thread_id, flags, keywords,
 * internal_date, size; mailbox_id, uidvalidity and modseq are 0): the
 * leanest walk of mailbox_entries. Returns cb's non-zero value, the
 * number of entries, or a negative errno. */
int store_email_rows(struct store_rd *rd, int64_t mailbox_id,
                     int (*cb)(void *ud, const struct store_email_entry *e), void *ud);

/* The same from UID min_uid on (the entries new since a UIDNEXT): a
 * range of the primary key. */
int store_email_rows_from(struct store_rd *rd, int64_t mailbox_id, uint32_t min_uid,
                          int (*cb)(void *ud, const struct store_email_entry *e), void *ud);

/* One mailbox's entries in arrival order (store_email_dates): three
 * arrays of n entries each, malloc'd and grown by the call. */
struct store_date_rows {
	int64_t *message_ids;
	int64_t *dates; /* internal_date */
	uint32_t *uids;
	size_t n, cap;
};

/* Appends to out the entries of one mailbox with after <= internal_date
 * < before, ordered by internal date then message id, both ascending or
 * (descending) both descending: the order of Email/query sorted by
 * receivedAt. A walk of the mailbox_entries_date index alone (schema 18),
 * no row of the table and no sort. 0 or a negative errno (out keeps what
 * it has; store_date_rows_free releases it). */
int store_email_dates(struct store_rd *rd, int64_t mailbox_id, int64_t after, int64_t before,
                      bool descending, struct store_date_rows *out);
void store_date_rows_free(struct store_date_rows *out);

/* The account's messages, each once, by message id: at most limit of
 * them (0: no limit). *ids malloc'd (NULL when *n is 0). 0 or a negative
 * errno. (Email/get with ids null.) */
int store_email_ids(struct store_rd *rd, int64_t account_id, size_t limit, int64_t **ids,
                    size_t *n);

/* The messages of up to STORE_THREADS_MAX threads of account_id, in
 * one pass over the account's entries: cb gets each message of each
 * thread, thread by thread (ascending ids), oldest internal date first
 * within one (then by message id). Threads the account does not have
 * give nothing. Returns cb's non-zero value, the number of
 * messages, or a negative errno (-E2BIG: too many threads). */
#define STORE_THREADS_MAX 1024
int store_threads_emails(struct store_rd *rd, int64_t account_id, const int64_t *thread_ids,
                         size_t n, int (*cb)(void *ud, int64_t thread_id, int64_t message_id),
                         void *ud);

/* The mailbox of account_id whose UIDVALIDITY is uidvalidity: 1 found
 * (*mailbox_id set), 0 not, or a negative errno. */
int store_mailbox_by_uidvalidity(struct store_rd *rd, int64_t account_id, uint32_t uidvalidity,
                                 int64_t *mailbox_id);

/* A state string for the account's mail (JMAP's Email and Thread state):
 * it changes whenever a message is added, changed or removed in any of
 * the account's mailboxes, or a mailbox is created or deleted (every such
 * change raises a mailbox's HIGHESTMODSEQ, or changes the set of
 * mailboxes, whose UIDVALIDITYs are never reused). Written into out as
 * "<sum of modseqs>.<mailboxes>.<sum of uidvalidities>" in hex; 0 or a
 * negative errno (-ENOSPC: out too small). */
#define STORE_EMAIL_STATE_MAX 64
int store_email_state(struct store_rd *rd, int64_t account_id, char *out, size_t outlen);

#endif
