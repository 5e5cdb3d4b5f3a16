/* mail: messages, mailboxes, mailbox entries, delivery.
 *
 * A message's raw RFC 5322 bytes are stored once per delivery (or APPEND),
 * and shared by every mailbox entry and queue row that holds them:
 * messages.refcount counts those holders (mailbox entries + queue rows), and
 * a message row is deleted when it drops to zero.
 *
 * A mailbox entry is (mailbox, UID) -> message, flags, keywords, MODSEQ,
 * internal date. UIDs come from mailboxes.uidnext and MODSEQs from
 * ++mailboxes.highestmodseq, so both are strictly increasing per mailbox and
 * never reused (expunged UIDs are remembered in `expunged` with their MODSEQ
 * for QRESYNC).
 *
 * Writers must run inside a transaction (a writer job or store_exec()).
 * List callbacks return 0 to continue; anything else stops the walk and is
 * returned.
 */
#ifndef TERN_STORE_MAIL_H
#define TERN_STORE_MAIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sqlite3.h>

/* System flags, as stored in mailbox_entries.flags. (\Recent is per session
 * and never stored.) */
enum {
	STORE_FLAG_SEEN = 1u << 0,
	STORE_FLAG_ANSWERED = 1u << 1,
	STORE_FLAG_FLAGGED = 1u << 2,
	STORE_FLAG_DELETED = 1u << 3,
	STORE_FLAG_DRAFT = 1u << 4,
	STORE_FLAG_ALL = (1u << 5) - 1,
};

/* How long a queued remote recipient is retried before it bounces. */
#define STORE_QUEUE_LIFETIME (5 * 24 * 3600)

struct store_local_rcpt {
	int64_t account_id;
	int64_t mailbox_id; /* <= 0: the account's INBOX */
};
struct store_remote_rcpt {
	const char *rcpt;
	const char *notify; /* DSN NOTIFY or NULL */
	const char *orcpt;  /* DSN ORCPT or NULL */
};

struct store_delivery {
	const char *data; /* full message, CRLF line endings */
	size_t len;
	const char *mail_from; /* envelope sender, "" = null sender */
	const char *ret;       /* DSN RET or NULL */
	const char *envid;     /* DSN ENVID or NULL */
	int64_t internal_date; /* unix seconds; 0 = now */
	const struct store_local_rcpt *local;
	size_t nlocal;
	const struct store_remote_rcpt *remote;
	size_t nremote;
	/* results filled by the job: */
	int64_t message_id;
	uint32_t *uids;   /* nlocal entries, caller-allocated, or NULL */
	int64_t *modseqs; /* nlocal entries, caller-allocated, or NULL */
};

/* A job body: the message is stored once (refcount bumped
 * by one per entry and per queue row), one mailbox entry per distinct local
 * mailbox (UID = uidnext++, MODSEQ = ++highestmodseq; the same mailbox twice
 * in `local` gets one entry and the same uid/modseq in both result slots),
 * one queue row per remote rcpt (next_attempt = now, expires = now +
 * STORE_QUEUE_LIFETIME). -ENOENT if a mailbox does not belong to its
 * account, -EOVERFLOW if a mailbox ran out of UIDs, -EINVAL if there is
 * nothing to deliver to. d and the data must stay valid until the job ran. */
int store_deliver(sqlite3 *db, struct store_delivery *d);
/* The same with the store_job_fn signature (arg is a struct store_delivery *). */
int store_deliver_job(sqlite3 *db, void *arg);

/* Reads up to len bytes of the message body from offset (sqlite3_blob, so a
 * big message is never loaded whole). Returns bytes read (0 at or past the
 * end), -ENOENT if no such message, negative on error. */
ssize_t store_message_read(sqlite3 *db, int64_t message_id, size_t offset, void *buf, size_t len);
/* Size in bytes, -ENOENT, or negative. */
int64_t store_message_size(sqlite3 *db, int64_t message_id);
/* Add delta to a message's refcount; a message that reaches 0 is deleted.
 * (The queue runner calls it with -1 when it drops a queue row.) */
int store_message_ref(sqlite3 *db, int64_t message_id, int delta);

struct store_mailbox {
	int64_t id;
	int64_t account_id;
	const char *name;        /* valid during the callback only */
	const char *special_use; /* "" or "\\Sent" etc.; callback only */
	uint32_t uidvalidity;
	uint32_t uidnext;
	int64_t highestmodseq;
	int subscribed;
};

/* 1 found (*mailbox_id set), 0 not found, negative on error. "INBOX" matches
 * in any case; other names are exact. */
int store_mailbox_find(sqlite3 *db, int64_t account_id, const char *name, int64_t *mailbox_id);
/* 1 found (out filled; name/special_use set to NULL), 0, or negative. */
int store_mailbox_get(sqlite3 *db, int64_t mailbox_id, struct store_mailbox *out);
int store_mailbox_list(sqlite3 *db, int64_t account_id,
                       int (*cb)(void *ud, const struct store_mailbox *mb), void *ud);
/* Creates a mailbox with a fresh UIDVALIDITY (never repeated for a
 * re-created name), uidnext 1, subscribed. Any spelling of "inbox" is stored
 * as "INBOX". -EEXIST, -EINVAL (empty name). id may be NULL. */
int store_mailbox_create(sqlite3 *db, int64_t account_id, const char *name, const char *special_use,
                         int64_t *id);

struct store_entry {
	uint32_t uid;
	int64_t message_id;
	int64_t size;
	uint32_t flags;
	int64_t modseq;
	int64_t internal_date;
	const char *keywords; /* space-separated; valid during the callback only */
};
/* In UID order. */
int store_entries_list(sqlite3 *db, int64_t mailbox_id,
                       int (*cb)(void *ud, const struct store_entry *e), void *ud);
/* The same with uid, flags, modseq and keywords only (message_id, size and
 * internal_date are 0): much faster on a big mailbox (IMAP SELECT). */
int store_entries_list_flags(sqlite3 *db, int64_t mailbox_id,
                             int (*cb)(void *ud, const struct store_entry *e), void *ud);
/* Expunge the given UIDs (missing ones are skipped): one new MODSEQ for the
 * whole call, recorded in `expunged`; message refcounts dropped and
 * unreferenced messages deleted. Returns the number expunged or negative.
 * The new MODSEQ is the mailbox's highestmodseq (store_mailbox_get). */
int store_entries_expunge(sqlite3 *db, int64_t mailbox_id, const uint32_t *uids, size_t n);
/* flags = (flags | add_mask) & ~remove_mask. If that changes the flags the
 * entry gets MODSEQ = ++highestmodseq. Returns the new flags (>= 0),
 * -ENOENT if no such UID, or negative. */
int store_entries_set_flags(sqlite3 *db, int64_t mailbox_id, uint32_t uid, uint32_t add_mask,
                            uint32_t remove_mask);
/* Same, reporting the new flags and the entry's (possibly new) MODSEQ. */
int store_entries_update_flags(sqlite3 *db, int64_t mailbox_id, uint32_t uid, uint32_t add_mask,
                               uint32_t remove_mask, uint32_t *flags_out, int64_t *modseq_out);

#endif
