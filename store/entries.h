/* entries: the messages of a mailbox as entries (mailbox, UID) ->
 * message, flags, keywords, MODSEQ, internal date, size: reading them in
 * UID ranges, searching their text, and the write jobs of the message
 * commands (flags, copy/move, append, expunge).
 *
 * UIDs come from mailboxes.uidnext and MODSEQs from ++highestmodseq, so both
 * are strictly increasing per mailbox and never reused; expunged UIDs are
 * remembered with their MODSEQ for QRESYNC. Keywords are a space-separated
 * list, compared case-insensitively.
 *
 * The *_job functions have the store_job_fn signature (arg: the struct
 * named beside them) and run on the writer thread; the others read
 * through a view. */
#ifndef TERN_STORE_ENTRIES_H
#define TERN_STORE_ENTRIES_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store_rd;
struct store_tx;
struct store_thread_keys;

/* How far a message write job is, for INPROGRESS (RFC 9585): the job
 * (writer thread) sets goal when it knows it and counts the messages done,
 * with relaxed atomic stores; the loop reads both from a timer while the
 * command waits for the job. Nothing else is shared before the job's
 * completion, and the commit stays all or nothing. goal 0: not known yet.
 * Units are messages; a MOVE counts each message twice (copy, expunge). */
struct store_progress {
	atomic_size_t done, goal;
};

/* ---- reading ---- */

struct store_entry {
	uint32_t uid;
	int64_t message_id;
	int64_t size;
	uint32_t flags; /* STORE_FLAG_* (mail.h) */
	int64_t modseq;
	int64_t internal_date;
	const char *keywords; /* space-separated; valid during the callback */
	int64_t sent_day;     /* STORE_NO_DAY when unknown (no index row) */
	const char *headers;  /* STORE_COLS_HEADERS only; NULL when unknown */
	bool indexed;         /* the message has its index row (msg_index.h) */
	int64_t thread_id;    /* threads.h (THREADID); message_id is the EMAILID */
	int64_t save_date;    /* unix seconds it was put in this mailbox (SAVEDATE) */
};
/* Which columns an entries query fills: ENTRY only the mailbox_entries
 * row, size included (sent_day STORE_NO_DAY, not indexed, no headers: the
 * fast one), INFO also sent_day and indexed from the index row, HEADERS
 * also headers. No page of the message row itself is read. */
enum store_entry_cols {
	STORE_COLS_ENTRY,
	STORE_COLS_INFO,
	STORE_COLS_HEADERS,
};
/* Entries with lo <= uid <= hi in UID order, at most limit (0 = no limit).
 * Returns the callback's non-zero value, or the number of rows seen. */
int store_entries_range(struct store_rd *rd, int64_t mailbox_id, uint32_t lo, uint32_t hi,
                        size_t limit, enum store_entry_cols cols,
                        int (*cb)(void *ud, const struct store_entry *e), void *ud);
/* Every entry in UID order, all but the index columns (POP3's maildrop). */
int store_entries_list(struct store_rd *rd, int64_t mailbox_id,
                       int (*cb)(void *ud, const struct store_entry *e), void *ud);
/* The same with uid, flags, modseq and keywords only (message_id, size and
 * internal_date are 0): a scan of mailbox_entries' key alone, the fastest
 * way through a big mailbox (IMAP SELECT). */
int store_entries_list_flags(struct store_rd *rd, int64_t mailbox_id,
                             int (*cb)(void *ud, const struct store_entry *e), void *ud);
/* The entries whose MODSEQ is above modseq (changed or added since:
 * every change of an entry gives it a new MODSEQ), with uid, flags, modseq
 * and keywords as _list_flags gives them, in no particular order: a range
 * of the (mailbox_id, modseq) index. With store_expunged_uids, what
 * happened to a mailbox since a MODSEQ (IMAP's view cache, QRESYNC). */
int store_entries_changed_since(struct store_rd *rd, int64_t mailbox_id, int64_t modseq,
                                int (*cb)(void *ud, const struct store_entry *e), void *ud);
/* One entry. 1 found, 0 not, negative. keywords are copied into kwbuf
 * (truncated to kwcap); headers are not read. */
int store_entry_get(struct store_rd *rd, int64_t mailbox_id, uint32_t uid, struct store_entry *out,
                    char *kwbuf, size_t kwcap);
/* 1 found (flags, modseq and keywords, truncated to kwcap), 0 not found,
 * negative. */
int store_entry_flags(struct store_rd *rd, int64_t mailbox_id, uint32_t uid, uint32_t *flags,
                      int64_t *modseq, char *kw, size_t kwcap);
/* The number of entries with a UID above uid, or negative. */
int64_t store_entries_count_above(struct store_rd *rd, int64_t mailbox_id, uint32_t uid);
/* Bytes used by an account (sum of message sizes over its entries). */
int64_t store_account_usage(struct store_rd *rd, int64_t account_id);

/* Where store_search_text looks: the body text, headers or body, or the
 * header text alone (every header field of the message and of the
 * messages inside it, "Name: decoded value" lines). */
enum store_fts_scope { STORE_FTS_BODY, STORE_FTS_TEXT, STORE_FTS_HEADERS };
/* UIDs of the mailbox whose text matches needle (UTF-8), case-
 * insensitively, as a substring, in scope. *uids is malloc'd, ascending. */
int store_search_text(struct store_rd *rd, int64_t mailbox_id, const char *needle, size_t nlen,
                      enum store_fts_scope scope, uint32_t **uids, size_t *n);

/* UIDs expunged since modseq (QRESYNC VANISHED (EARLIER)), ascending,
 * restricted to lo..hi. *uids malloc'd. */
int store_expunged_uids(struct store_rd *rd, int64_t mailbox_id, int64_t modseq, uint32_t lo,
                        uint32_t hi, uint32_t **uids, size_t *n);

/* ---- keywords ---- */

bool store_keyword_has(const char *list, const char *kw, size_t kwlen);

/* ---- write jobs ---- */

enum store_flag_op { STORE_FLAGS_SET = 0, STORE_FLAGS_ADD, STORE_FLAGS_REMOVE };

struct store_flag_result {
	uint32_t uid;
	int status; /* 0 unchanged, 1 changed, 2 failed UNCHANGEDSINCE, -1 gone */
	uint32_t flags;
	int64_t modseq;
	char *keywords; /* malloc'd by the job */
};

struct store_flags_req {
	int64_t mailbox_id;
	const uint32_t *uids; /* ascending */
	size_t n;
	enum store_flag_op op;
	uint32_t flags;
	const char *keywords;            /* space-separated, distinct; "" for none */
	int64_t unchangedsince;          /* < 0: none */
	struct store_flag_result *res;   /* n entries, caller-allocated */
	struct store_progress *progress; /* NULL: none */
	int64_t highestmodseq;           /* result */
	bool ran; /* the job's: set at its first run (a lazy job may run again) */
};
int store_flags_job(struct store_tx *tx, void *arg);
void store_flags_req_clear(struct store_flags_req *r);

struct store_copy_req {
	int64_t account_id;
	int64_t src_mailbox_id, dst_mailbox_id;
	const uint32_t *uids; /* ascending */
	size_t n;
	bool move;
	uint64_t quota_bytes;            /* 0: no quota check */
	struct store_progress *progress; /* NULL: none */
	/* results */
	uint32_t *new_uids; /* n entries, caller-allocated; 0 = source gone */
	int64_t *new_modseqs;
	uint32_t dst_uidvalidity;
	int64_t src_modseq; /* src highestmodseq after a MOVE */
	size_t copied;
};
/* -ENOENT: destination gone; -EDQUOT: over quota. */
int store_copy_job(struct store_tx *tx, void *arg);

struct store_append_req {
	int64_t account_id;
	int64_t mailbox_id;
	const char *data;
	size_t len;
	int64_t internal_date; /* 0 = now */
	uint32_t flags;
	const char *keywords;                   /* "" none */
	uint64_t quota_bytes;                   /* 0: none */
	const struct store_thread_keys *thread; /* threads.h; NULL: none */
	/* results */
	uint32_t uid;
	uint32_t uidvalidity;
	int64_t modseq;
};
int store_append_job(struct store_tx *tx, void *arg);

/* IMAP REPLACE (RFC 8508): expunge one message and append another as one
 * step. The expunge comes first, so the append's quota check sees the net
 * change (RFC 8508 3.4). -ESTALE: the old message is gone (nothing done);
 * otherwise store_append_job's errors, with nothing done either. */
struct store_replace_req {
	struct store_append_req append;
	int64_t old_mailbox_id;
	uint32_t old_uid;
	/* result: old_mailbox_id's highestmodseq after the expunge */
	int64_t expunge_modseq;
};
int store_replace_job(struct store_tx *tx, void *arg);

struct store_expunge_req {
	int64_t mailbox_id;
	const uint32_t *uids; /* candidates, ascending; NULL = every \Deleted */
	size_t n;
	struct store_progress *progress; /* NULL: none */
	/* results */
	uint32_t *expunged; /* malloc'd by the job, ascending (NULL before it) */
	size_t nexpunged;
	int64_t modseq;
};
int store_expunge_job(struct store_tx *tx, void *arg);

/* ---- changing ---- */

/* Expunge the given UIDs (missing ones are skipped): one new MODSEQ for the
 * whole call, recorded with the UIDs for QRESYNC; message references
 * dropped and unreferenced messages deleted. Returns the number expunged
 * or negative. */
int store_entries_expunge(struct store_tx *tx, int64_t mailbox_id, const uint32_t *uids, size_t n);
/* flags = (flags | add_mask) & ~remove_mask. If that changes the flags the
 * entry gets MODSEQ = ++highestmodseq. Returns the new flags (>= 0),
 * -ENOENT if no such UID, or negative; flags_out and modseq_out (may be
 * NULL) get the new flags and the entry's (possibly new) MODSEQ. */
int store_entries_update_flags(struct store_tx *tx, int64_t mailbox_id, uint32_t uid,
                               uint32_t add_mask, uint32_t remove_mask, uint32_t *flags_out,
                               int64_t *modseq_out);

#endif
