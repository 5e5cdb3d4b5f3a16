/* imap_mailbox: mailbox-level queries and changes the IMAP core needs
 * (STATUS counts, one entry's flags, expunged UIDs since a MODSEQ, quota
 * usage; CREATE with parents, DELETE, RENAME with children and the INBOX
 * special case, SUBSCRIBE). Same conventions as mail.h: plain sqlite3 *,
 * 0 / count / 1-0 found, negative errno. The *_job functions have the
 * store_job_fn signature and run inside a writer transaction. */
#ifndef TERN_STORE_IMAP_MAILBOX_H
#define TERN_STORE_IMAP_MAILBOX_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

struct imap_mbox_status {
	uint32_t messages;
	uint32_t unseen;
	uint32_t deleted;
	uint64_t size; /* octets of all messages */
};
int imap_mbox_status(sqlite3 *db, int64_t mailbox_id, struct imap_mbox_status *out);

/* 1 found (flags, modseq and keywords, space-separated, truncated to
 * kwcap), 0 not found, negative. */
int imap_mbox_entry(sqlite3 *db, int64_t mailbox_id, uint32_t uid, uint32_t *flags, int64_t *modseq,
                    char *kw, size_t kwcap);

/* \Recent bookkeeping (RFC 3501 2.3.2): the highest UID of the mailbox
 * that some session has been given as \Recent, or negative; the number of
 * messages above a UID; and a job (arg: struct imap_mbox_recent) that
 * raises the mark (never lowers it). */
int64_t imap_mbox_recent_uid(sqlite3 *db, int64_t mailbox_id);
int64_t imap_mbox_count_above(sqlite3 *db, int64_t mailbox_id, uint32_t uid);
struct imap_mbox_recent {
	int64_t mailbox_id;
	uint32_t uid;
};
int imap_mbox_recent_job(sqlite3 *db, void *job);

/* UIDs expunged with MODSEQ > modseq, ascending, to cb (return non-zero to
 * stop). */
int imap_mbox_expunged_since(sqlite3 *db, int64_t mailbox_id, int64_t modseq,
                             int (*cb)(void *ud, uint32_t uid), void *ud);

struct imap_mbox_job {
	int64_t account_id;
	const char *name;    /* internal UTF-8 name */
	const char *newname; /* RENAME target */
	int subscribe;       /* SUBSCRIBE 1 / UNSUBSCRIBE 0 */
	/* results */
	int64_t mailbox_id; /* CREATE: the new mailbox; DELETE/RENAME: the one affected */
	uint32_t *uids;     /* RENAME INBOX: UIDs moved out of INBOX (malloc'd) */
	size_t nuids;
	int64_t modseq; /* RENAME INBOX: INBOX's new HIGHESTMODSEQ */
};

/* Creates name and any missing parent. -EEXIST if name exists. */
int imap_mbox_create_job(sqlite3 *db, void *job);
/* -ENOENT, -EPERM (INBOX), -ENOTEMPTY (has children). Drops the messages. */
int imap_mbox_delete_job(sqlite3 *db, void *job);
/* Renames name and its children; creates missing parents of newname.
 * INBOX: moves its messages into a new mailbox newname, INBOX stays (with
 * its UIDVALIDITY and UIDNEXT) and its children do not move.
 * -ENOENT, -EEXIST, -EINVAL (into itself). */
int imap_mbox_rename_job(sqlite3 *db, void *job);
/* -ENOENT if no such mailbox. */
int imap_mbox_subscribe_job(sqlite3 *db, void *job);

#endif
