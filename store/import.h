/* import: what `tern import` writes — a mailbox made ready for imported
 * mail, and batches of messages with their flags, keywords, internal
 * dates and, from a Dovecot Maildir, their UIDs.
 *
 * Keeping UIDs: clients that knew the mailbox (same UIDVALIDITY) then see
 * the same UIDs and download nothing again. That is only possible in an
 * empty mailbox, whose UIDVALIDITY and UIDNEXT are replaced by the
 * imported ones; a UIDVALIDITY another mailbox of the store has is
 * refused (it is also the mailbox's MAILBOXID, RFC 8474), and the store's
 * UIDVALIDITY counter is raised past it so none is handed out twice.
 *
 * Both are store_job_fn bodies (store_exec() in the CLI): one transaction
 * per batch, so an import that stops halfway leaves whole batches. */
#ifndef TERN_STORE_IMPORT_H
#define TERN_STORE_IMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store_tx;
struct store_thread_keys;

struct store_import_mailbox {
	int64_t account_id;
	const char *name; /* created with its parents when missing */
	bool keep_uids;   /* set uidvalidity and uidnext (empty mailbox only) */
	uint32_t uidvalidity;
	uint32_t uidnext;
	/* results */
	int64_t mailbox_id;
	bool created;
};
/* -ENOTEMPTY: keep_uids and the mailbox has messages; -EADDRINUSE: the
 * UIDVALIDITY is another mailbox's; -EINVAL: a bad name or UIDVALIDITY 0. */
int store_import_mailbox_job(struct store_tx *tx, void *arg);

/* 1 when a mailbox other than except_mailbox_id (0: none) has this
 * UIDVALIDITY, 0 when none has, or a negative errno. */
struct store_rd;
int store_uidvalidity_taken(struct store_rd *rd, uint32_t uidvalidity, int64_t except_mailbox_id);

struct store_import_msg {
	const char *data; /* the message, CRLF line ends */
	size_t len;
	int64_t internal_date; /* unix seconds; <= 0: now */
	uint32_t flags;        /* STORE_FLAG_* */
	const char *keywords;  /* space-separated valid keywords, or "" */
	uint32_t uid;          /* 0: the next one; else at least the mailbox's UIDNEXT */
	const struct store_thread_keys *thread;
};
struct store_import_batch {
	int64_t account_id;
	int64_t mailbox_id;
	struct store_import_msg *msgs;
	size_t n;
	uint32_t uidnext; /* after the batch, UIDNEXT is raised to at least this (0: no) */
};
/* Stores every message of the batch, in order. -ERANGE: a UID below the
 * mailbox's UIDNEXT (the input repeats a UID or is out of order). */
int store_import_batch_job(struct store_tx *tx, void *arg);

#endif
