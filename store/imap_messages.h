/* imap_messages: the store side of the IMAP message commands.
 *
 * Precomputed data. IMAP asks the same questions of a message again and
 * again (ENVELOPE, BODYSTRUCTURE, "is the Date: before X", "does the body
 * contain Y"), so each message is parsed once, soon after it is stored
 * (store_imap_index_next(), the writer's idle work, see store/store.c), and
 * the answers go into two tables created by schema migration 2:
 *
 *   imap_message_info(message_id, sent_day, envelope, body, bodystructure,
 *                     headers)   one row per message, cascade-deleted with
 *                                the message;
 *   imap_fts(hdr, body)          FTS5 with the trigram tokenizer
 *                                (case-insensitive), rowid = messages.id;
 *                                a trigger on messages deletes its row.
 *
 * Why trigram: IMAP SEARCH BODY/TEXT is a substring match, not a word
 * match. An FTS5 trigram phrase query is an exact, case-insensitive
 * substring test answered from the index; needles shorter than three
 * characters fall back to LIKE over the stored text (still inside SQLite,
 * still no re-parse of messages).
 *
 * Why not messages.envelope/bodystructure: an UPDATE of the messages row
 * rewrites its (possibly large) data BLOB; a side table costs nothing.
 *
 * A message not indexed yet (the writer was busy, or indexing failed) has
 * no row; SEARCH first runs store_imap_index_missing_job() on its mailbox,
 * and FETCH computes what it needs on the fly meanwhile.
 *
 * The write jobs below run on the store writer thread (store_submit); the
 * read helpers take the loop's reader connection.
 */
#ifndef TERN_STORE_IMAP_MESSAGES_H
#define TERN_STORE_IMAP_MESSAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

/* Decoded text kept per message for SEARCH (each of headers and body). */
#define STORE_IMAP_TEXT_MAX (1u << 20)

/* ---- precomputed data ---- */

struct store_imap_info {
	int64_t sent_day; /* IMAP_NO_DAY when the Date: field is missing/bad */
	char *envelope;   /* malloc'd, NUL-terminated */
	char *body;
	char *bodystructure;
	char *headers; /* top-level fields "Name: decoded value\n" */
};
void store_imap_info_free(struct store_imap_info *i);

/* Parse data and compute everything (pure, any thread). hdr_text and
 * body_text (may be NULL) receive the searchable text, malloc'd. */
int store_imap_info_compute(const char *data, size_t len, struct store_imap_info *out,
                            char **hdr_text, char **body_text);

/* Writer: compute and store the info and FTS rows of a message (replacing
 * any). Runs inside its own SAVEPOINT: on failure nothing is left behind
 * and the caller's transaction is unaffected. */
int store_imap_index(sqlite3 *db, int64_t message_id, const char *data, size_t len);

/* Reader: 1 and *out filled (malloc'd strings), 0 if there is no row. */
int store_imap_info_get(sqlite3 *db, int64_t message_id, struct store_imap_info *out);

/* Job (arg: struct store_imap_index_req): index up to `limit` messages of a
 * mailbox that have no info row. Sets remaining = 1 if more are left. */
struct store_imap_index_req {
	int64_t mailbox_id;
	int limit;
	int done;      /* result: messages indexed */
	int remaining; /* result: 1 if not all were done */
};
int store_imap_index_missing_job(sqlite3 *db, void *arg);
/* Writer, idle work: index the next message above *cursor that is in some
 * mailbox and has no info row, and advance *cursor past it (also when its
 * indexing fails, so a bad message is not retried forever). 1 if one was
 * handled, 0 if none is left. */
int store_imap_index_next(sqlite3 *db, int64_t *cursor);
/* Reader: 1 if some message of the mailbox has no info row. */
int store_imap_mailbox_unindexed(sqlite3 *db, int64_t mailbox_id, uint32_t above, uint32_t upto);

/* ---- entries ---- */

struct store_imap_entry {
	uint32_t uid;
	int64_t message_id;
	int64_t size;
	uint32_t flags;
	int64_t modseq;
	int64_t internal_date;
	const char *keywords; /* valid during the callback */
	int64_t sent_day;     /* IMAP_NO_DAY when unknown (no info row) */
	const char *headers;  /* with_headers only; NULL when unknown */
	bool indexed;         /* the message has an info row */
};
/* Which columns an entries query fills: ENTRY only the mailbox_entries
 * row, size included (sent_day IMAP_NO_DAY, not indexed, no headers: the
 * fast one), INFO also sent_day and indexed from the info row, HEADERS
 * also headers. No page of the message row itself is read. */
enum store_imap_cols {
	STORE_IMAP_COLS_ENTRY,
	STORE_IMAP_COLS_INFO,
	STORE_IMAP_COLS_HEADERS,
};
/* Entries with lo <= uid <= hi in UID order, at most limit (0 = no limit).
 * Returns the callback's non-zero value, or the number of rows seen. */
int store_imap_entries_range(sqlite3 *db, int64_t mailbox_id, uint32_t lo, uint32_t hi,
                             size_t limit, enum store_imap_cols cols,
                             int (*cb)(void *ud, const struct store_imap_entry *e), void *ud);
/* One entry. 1 found, 0 not, negative. keywords are copied into kwbuf
 * (truncated to kwcap); headers are not read. */
int store_imap_entry_get(sqlite3 *db, int64_t mailbox_id, uint32_t uid,
                         struct store_imap_entry *out, char *kwbuf, size_t kwcap);

/* A prefix of the message (size bytes in all) that holds its whole
 * header, parsed: STORE_HEADER_PROBE bytes, four times more while the
 * parser finds no end of the header in it. *raw is realloc'd (the caller
 * frees it and *mm). For header sections and fields without reading (or
 * parsing) a large body. */
#define STORE_HEADER_PROBE (16u << 10)
struct mime_message;
int store_message_read_header(sqlite3 *db, int64_t message_id, size_t size, char **raw,
                              size_t *rawlen, struct mime_message **mm);
/* For a message without its info row yet (the background indexer has not
 * reached it): the top-level header text as the info row holds it, and the
 * day of its Date: field (IMAP_NO_DAY if none). *headers is malloc'd. */
int store_imap_header_info(sqlite3 *db, int64_t message_id, char **headers, int64_t *sent_day);

/* Where store_imap_fts_uids looks: the body text, headers or body, or the
 * header text alone (every header field of the message and of the
 * messages inside it, "Name: decoded value" lines). */
enum store_fts_scope { STORE_FTS_BODY, STORE_FTS_TEXT, STORE_FTS_HEADERS };
/* UIDs of the mailbox whose text matches needle (UTF-8), case-
 * insensitively, as a substring, in scope. *uids is malloc'd, ascending. */
int store_imap_fts_uids(sqlite3 *db, int64_t mailbox_id, const char *needle, size_t nlen,
                        enum store_fts_scope scope, uint32_t **uids, size_t *n);

/* UIDs expunged since modseq (QRESYNC VANISHED (EARLIER)), ascending,
 * restricted to lo..hi. *uids malloc'd. */
int store_imap_vanished_since(sqlite3 *db, int64_t mailbox_id, int64_t modseq, uint32_t lo,
                              uint32_t hi, uint32_t **uids, size_t *n);

/* ---- keyword lists (space-separated, case-insensitive) ---- */

bool store_imap_keyword_has(const char *list, const char *kw, size_t kwlen);

/* ---- write jobs ---- */

enum store_imap_flag_op { STORE_IMAP_SET = 0, STORE_IMAP_ADD, STORE_IMAP_REMOVE };

struct store_imap_flag_result {
	uint32_t uid;
	int status; /* 0 unchanged, 1 changed, 2 failed UNCHANGEDSINCE, -1 gone */
	uint32_t flags;
	int64_t modseq;
	char *keywords; /* malloc'd by the job */
};

struct store_imap_flags_req {
	int64_t mailbox_id;
	const uint32_t *uids; /* ascending */
	size_t n;
	enum store_imap_flag_op op;
	uint32_t flags;
	const char *keywords;               /* space-separated, distinct; "" for none */
	int64_t unchangedsince;             /* < 0: none */
	struct store_imap_flag_result *res; /* n entries, caller-allocated */
	int64_t highestmodseq;              /* result */
};
int store_imap_flags_job(sqlite3 *db, void *arg);
void store_imap_flags_req_clear(struct store_imap_flags_req *r);

struct store_imap_copy_req {
	int64_t account_id;
	int64_t src_mailbox_id, dst_mailbox_id;
	const uint32_t *uids; /* ascending */
	size_t n;
	bool move;
	uint64_t quota_bytes; /* 0: no quota check */
	/* results */
	uint32_t *new_uids; /* n entries, caller-allocated; 0 = source gone */
	int64_t *new_modseqs;
	uint32_t dst_uidvalidity;
	int64_t src_modseq; /* src highestmodseq after a MOVE */
	size_t copied;
};
/* -ENOENT: destination gone; -EDQUOT: over quota. */
int store_imap_copy_job(sqlite3 *db, void *arg);

struct store_imap_append_req {
	int64_t account_id;
	int64_t mailbox_id;
	const char *data;
	size_t len;
	int64_t internal_date; /* 0 = now */
	uint32_t flags;
	const char *keywords; /* "" none */
	uint64_t quota_bytes; /* 0: none */
	/* results */
	uint32_t uid;
	uint32_t uidvalidity;
	int64_t modseq;
};
int store_imap_append_job(sqlite3 *db, void *arg);

struct store_imap_expunge_req {
	int64_t mailbox_id;
	const uint32_t *uids; /* candidates, ascending; NULL = every \Deleted */
	size_t n;
	/* results */
	uint32_t *expunged; /* malloc'd by the job, ascending */
	size_t nexpunged;
	int64_t modseq;
};
int store_imap_expunge_job(sqlite3 *db, void *arg);

/* Bytes used by an account (sum of message sizes over its entries). */
int64_t store_imap_account_usage(sqlite3 *db, int64_t account_id);

#endif
