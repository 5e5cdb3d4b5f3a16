/* msg_index: what is worked out once per message and kept, so that reads
 * never parse a message twice.
 *
 * Clients ask the same questions of a message again and again (IMAP's
 * ENVELOPE and BODYSTRUCTURE, "is the Date: before X", "does the body
 * contain Y"), so each message is parsed once, soon after it is stored,
 * and the answers go into two tables (schema migration 2):
 *
 *   imap_message_info(message_id, sent_day, envelope, body, bodystructure,
 *                     headers)   one row per message, cascade-deleted with
 *                                the message;
 *   imap_sort_keys(message_id, keys)  the sort record (schema 9)
 *   imap_fts(hdr, body)          FTS5 with the trigram tokenizer
 *                                (case-insensitive), rowid = messages.id;
 *                                a trigger on messages deletes its row.
 *
 * The store does not parse mail. The protocol that needs the data
 * registers an *indexer* (store_set_indexer()): a pure function from the
 * message's bytes to a struct store_index_data. The store calls it on the
 * writer thread, in idle time (a second after the last job, in short
 * slices; see store.c) and when asked (store_index_missing_job()), and
 * keeps its strings as they are: to the store, envelope, body and
 * bodystructure are opaque texts, headers is the decoded header text and
 * hdr_text/body_text are what text search looks in (entries.h,
 * store_search_text()).
 *
 * Why not columns of messages: an UPDATE of the messages row rewrites its
 * (possibly large) data BLOB; a side table costs nothing.
 *
 * A message not indexed yet has no row: readers compute what they need
 * themselves meanwhile.
 */
#ifndef TERN_STORE_MSG_INDEX_H
#define TERN_STORE_MSG_INDEX_H

#include <stddef.h>
#include <stdint.h>

struct store;
struct store_rd;
struct store_tx;

/* The day of a message (days since 1970-01-01) when it has none. */
#define STORE_NO_DAY INT64_MIN

struct store_index_data {
	int64_t sent_day; /* the day of its Date: field, STORE_NO_DAY if none */
	char *envelope;   /* malloc'd, NUL-terminated, opaque */
	char *body;
	char *bodystructure;
	char *headers;   /* the decoded top-level header, "Name: value\n" lines */
	char *hdr_text;  /* searchable text of every header (NULL: none) */
	char *body_text; /* searchable text of the body (NULL: none) */
	/* IMAP's sort record (SORT/THREAD keys), opaque bytes; NULL: none */
	char *sort_keys;
	size_t sort_keys_len;
	/* PREVIEW (RFC 8970): the text preview, opaque UTF-8 ("" for none;
	 * NULL from a row made before schema 10 had the column) */
	char *preview;
};
void store_index_data_free(struct store_index_data *d);

/* Parse data and fill *out (every string malloc'd). Called on the writer
 * thread, so it must not touch anything shared. 0 or a negative errno. */
typedef int (*store_indexer_fn)(const char *data, size_t len, struct store_index_data *out);
/* Register the indexer, right after store_open() and before the loop runs
 * (without one nothing is indexed). version says what it computes: when
 * it differs from the version the stored rows were made by, those rows are
 * dropped (in a transaction, now) and made again in idle time, so a fix in
 * the indexer reaches the mail stored before it. Returns 0, or a negative
 * errno when the old rows could not be dropped (they are kept then). */
int store_set_indexer(struct store *s, store_indexer_fn fn, int64_t version);

/* 1 and *out filled (hdr_text and body_text stay NULL), 0 if the message
 * has no row yet, negative on error. */
int store_index_get(struct store_rd *rd, int64_t message_id, struct store_index_data *out);
/* 1 if some message of the mailbox with above < uid <= upto has no row. */
int store_index_missing_in(struct store_rd *rd, int64_t mailbox_id, uint32_t above, uint32_t upto);

/* Job (arg: struct store_index_req): index up to `limit` messages of a
 * mailbox that have no row. Sets remaining = 1 if more are left. */
struct store_index_req {
	int64_t mailbox_id;
	int limit;
	int done;      /* result: messages indexed */
	int remaining; /* result: 1 if not all were done */
};
int store_index_missing_job(struct store_tx *tx, void *arg);

/* The sort record is opaque to the store but for its first byte, which
 * holds flags. This one is the indexer's answer to "has an attachment"
 * (mime/body_lists.h), which JMAP's Email/query reads per row from here;
 * proto/imap/sort_keys.h defines the record (IMAP_SORT_HAS_ATTACHMENT).
 * A row that has no record yet has no answer: the reader parses the
 * message. */
#define STORE_SORT_HAS_ATTACHMENT 0x04u

/* SORT's read (schema 9): the entries with lo <= uid <= hi in UID order,
 * at most limit (0: no limit), each with its size, internal date and its
 * sort record (imap_sort_keys, a table of its own so that reading it
 * walks no overflow page of the large info row); keys is NULL when the
 * message has no record yet. Returns the callback's non-zero value, or
 * the number of rows seen. */
struct store_sort_row {
	uint32_t uid;
	int64_t message_id;
	int64_t size;
	int64_t internal_date;
	const void *keys; /* valid during the callback */
	size_t keys_len;
};
int store_sort_rows(struct store_rd *rd, int64_t mailbox_id, uint32_t lo, uint32_t hi, size_t limit,
                    int (*cb)(void *ud, const struct store_sort_row *r), void *ud);

#endif
