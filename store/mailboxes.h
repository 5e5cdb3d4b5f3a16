/* mailboxes: an account's folders — find, list, create with parents,
 * delete, rename (with children, and the INBOX special case), subscribe —
 * and the per-mailbox counters: message counts and the \Recent mark.
 *
 * Names are UTF-8 with '/' as the hierarchy separator; "INBOX" matches in
 * any case and is stored in upper case. Every new mailbox gets a
 * UIDVALIDITY never handed out before in this store.
 *
 * Subscriptions are names of their own (RFC 3501 §6.3.6): a new mailbox
 * is subscribed, a RENAME takes the subscriptions of the name and the
 * names under it along, and a DELETE leaves the name subscribed until
 * the client unsubscribes it.
 *
 * The *_job functions have the store_job_fn signature (arg: the struct
 * named in their comment); the others read through a view. */
#ifndef TERN_STORE_MAILBOXES_H
#define TERN_STORE_MAILBOXES_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

struct store_rd;
struct store_tx;

struct store_mailbox {
	int64_t id;
	int64_t account_id;
	const char *name;        /* valid during the callback only */
	const char *special_use; /* "" or "\\Sent" etc.; callback only */
	uint32_t uidvalidity;
	uint32_t uidnext;
	int64_t highestmodseq;
	int subscribed; /* the account is subscribed to the name */
};

/* 1 found (*mailbox_id set), 0 not found, negative on error. */
int store_mailbox_find(struct store_rd *rd, int64_t account_id, const char *name,
                       int64_t *mailbox_id);
/* 1 found (out filled; name/special_use set to NULL), 0, or negative. */
int store_mailbox_get(struct store_rd *rd, int64_t mailbox_id, struct store_mailbox *out);
/* INBOX first, then by name. */
int store_mailbox_list(struct store_rd *rd, int64_t account_id,
                       int (*cb)(void *ud, const struct store_mailbox *mb), void *ud);
/* Every name the account is subscribed to, whether a mailbox has it or
 * not (a subscribed mailbox that was deleted), INBOX first, then by name;
 * name is valid during the callback only. 0, cb's non-zero return, or a
 * negative errno. */
int store_subscription_list(struct store_rd *rd, int64_t account_id,
                            int (*cb)(void *ud, const char *name), void *ud);
/* Creates one mailbox with a fresh UIDVALIDITY, uidnext 1, subscribed.
 * -EEXIST, -EINVAL (empty name). id may be NULL. */
int store_mailbox_create(struct store_tx *tx, int64_t account_id, const char *name,
                         const char *special_use, int64_t *id);

struct store_mailbox_counts {
	uint32_t messages;
	uint32_t unseen;
	uint32_t deleted;
	uint64_t size; /* octets of all messages */
};
int store_mailbox_counts(struct store_rd *rd, int64_t mailbox_id, struct store_mailbox_counts *out);

/* What JMAP's Mailbox object counts (RFC 8621 §2): unread means neither
 * \Seen nor \Draft; a thread is the entries' THREADID (an entry without
 * one is a thread of its own, numbered like its message); an unread
 * thread has an unread entry in this mailbox. */
struct store_mailbox_thread_counts {
	uint32_t emails;
	uint32_t unread_emails;
	uint32_t threads;
	uint32_t unread_threads;
};
int store_mailbox_thread_counts(struct store_rd *rd, int64_t mailbox_id,
                                struct store_mailbox_thread_counts *out);
/* The \Recent mark (RFC 3501 2.3.2): the highest UID of the mailbox that
 * some session has been given as \Recent, or negative; and a job (arg:
 * struct store_recent_mark) that raises it (never lowers it). */
int64_t store_recent_uid(struct store_rd *rd, int64_t mailbox_id);
struct store_recent_mark {
	int64_t mailbox_id;
	uint32_t uid;
};
int store_recent_mark_job(struct store_tx *tx, void *arg);

/* arg of the four jobs below. */
struct store_mailbox_req {
	int64_t account_id;
	const char *name;    /* internal UTF-8 name */
	const char *newname; /* RENAME target */
	int subscribe;       /* SUBSCRIBE 1 / UNSUBSCRIBE 0 */
	/* CREATE: special-use attributes, space-separated ("\\Drafts \\Sent"),
	 * or NULL/"" for none */
	const char *special_use;
	/* DELETE: -EBUSY, not the delete, when the mailbox holds messages
	 * (JMAP's Mailbox/set destroy without onDestroyRemoveEmails) */
	bool refuse_if_messages;
	/* results */
	int64_t mailbox_id; /* CREATE: the new mailbox; DELETE/RENAME: the one affected */
	uint32_t *uids;     /* RENAME INBOX: UIDs moved out of INBOX (malloc'd) */
	size_t nuids;
	int64_t modseq; /* RENAME INBOX: INBOX's new HIGHESTMODSEQ */
};

/* Creates name and any missing parent (all of them subscribed). -EEXIST if
 * name exists; -EADDRINUSE if another mailbox of the account already has
 * one of the special uses asked for (one mailbox per use, so a client
 * never has to choose between two Drafts). */
int store_mailbox_create_job(struct store_tx *tx, void *arg);
/* -ENOENT, -EPERM (INBOX), -ENOTEMPTY (has children), -EBUSY (has
 * messages and refuse_if_messages). Drops the messages. */
int store_mailbox_delete_job(struct store_tx *tx, void *arg);
/* Renames name and its children; creates missing parents of newname.
 * INBOX: moves its messages into a new mailbox newname, INBOX stays (with
 * its UIDVALIDITY and UIDNEXT) and its children do not move.
 * -ENOENT, -EEXIST, -EINVAL (into itself). */
int store_mailbox_rename_job(struct store_tx *tx, void *arg);
/* SUBSCRIBE: -ENOENT if no such mailbox. UNSUBSCRIBE: -ENOENT if the name
 * is neither subscribed nor a mailbox. */
int store_mailbox_subscribe_job(struct store_tx *tx, void *arg);

#endif
