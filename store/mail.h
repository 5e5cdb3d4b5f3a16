/* mail: messages and their delivery.
 *
 * A message's raw RFC 5322 bytes are stored once per delivery (or APPEND),
 * and shared by every mailbox entry and queue row that holds them: a
 * reference count counts those holders, and a message is deleted when it
 * drops to zero. A delivery stores the message, one mailbox entry per
 * local recipient (entries.h) and one queue row per remote recipient
 * (queue.h) in one step.
 *
 * Writers take a struct store_tx (a job or store_exec()); readers a view.
 */
#ifndef TERN_STORE_MAIL_H
#define TERN_STORE_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct store_rd;
struct store_tx;
struct store_thread_keys;

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

/* The STORE_FLAG_* bit of the system flag named s[0..len) ("\Seen", in
 * any case), or 0: none of the five (\Recent, an unknown one, a
 * keyword). IMAP's flag lists and Sieve's imap4flags both read names. */
uint32_t store_flag_named(const char *s, size_t len);

/* How long a queued remote recipient is retried before it bounces. */
#define STORE_QUEUE_LIFETIME (5 * 24 * 3600)

struct store_local_rcpt {
	int64_t account_id;
	int64_t mailbox_id; /* <= 0: the account's INBOX */
	/* What a Sieve script asked for (RFC 5232), zero when none: the
	 * entry's system flags (STORE_FLAG_*) and keywords (space-separated,
	 * distinct; NULL: none, or $Junk when filed as junk). */
	uint32_t flags;
	const char *keywords;
	/* The user's script filed it itself: the delivery's junk verdict does
	 * not move this copy to Junk (a user can rescue a sender). */
	bool not_junk;
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
	/* The message's threading keys (threads.h), read from its header by
	 * the caller; NULL: each local entry starts a thread of its own. */
	const struct store_thread_keys *thread;
	/* Quarantined (DMARC): every local copy (but those marked not_junk)
	 * goes into its account's \Junk mailbox (a "Junk" with that special use is given it, or
	 * created, when the account has none), with the $Junk keyword; the local recipients'
	 * mailbox_id is not used then. */
	bool junk;
	/* results filled by the job: */
	int64_t message_id;
	uint32_t *uids;       /* nlocal entries, caller-allocated, or NULL */
	int64_t *modseqs;     /* nlocal entries, caller-allocated, or NULL */
	int64_t *mailbox_ids; /* nlocal entries or NULL: the mailbox each went into */
	int64_t *queue_ids;   /* nremote entries or NULL: each remote rcpt's queue row */
};

/* A job body: the message is stored once (refcount bumped
 * by one per entry and per queue row), one mailbox entry per distinct local
 * mailbox (UID = uidnext++, MODSEQ = ++highestmodseq, save date now, the
 * thread assigned once per account (threads.h); the same mailbox twice
 * in `local` gets one entry and the same uid/modseq in both result slots),
 * one queue row per remote rcpt (next_attempt = now, expires = now +
 * STORE_QUEUE_LIFETIME). -ENOENT if a mailbox does not belong to its
 * account, -EOVERFLOW if a mailbox ran out of UIDs, -EINVAL if there is
 * nothing to deliver to. d and the data must stay valid until the job ran. */
int store_deliver(struct store_tx *tx, struct store_delivery *d);
/* The same with the store_job_fn signature (arg is a struct store_delivery *). */
int store_deliver_job(struct store_tx *tx, void *arg);

/* Reads up to len bytes of the message from offset (incrementally, so a
 * big message is never loaded whole). Returns bytes read (0 at or past the
 * end), -ENOENT if no such message, negative on error. */
ssize_t store_message_read(struct store_rd *rd, int64_t message_id, size_t offset, void *buf,
                           size_t len);
/* Size in bytes, -ENOENT, or negative. */
int64_t store_message_size(struct store_rd *rd, int64_t message_id);
/* Add delta to a message's refcount; a message that reaches 0 is deleted.
 * (The queue runner calls it with -1 when it drops a queue row.) */
int store_message_ref(struct store_tx *tx, int64_t message_id, int delta);

#endif
