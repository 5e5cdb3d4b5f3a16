/* index: IMAP's per-message precomputed data, as the store's indexer and
 * on demand. See index.c. */
#ifndef TERN_IMAP_INDEX_H
#define TERN_IMAP_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;
struct store_rd;
struct store_index_data;
struct mime_message;

/* Decoded text kept per message for SEARCH (each of headers and body). */
#define IMAP_INDEX_TEXT_MAX (1u << 20)

/* What the indexer computes, by version: raise it when its output for a
 * message changes, and the store makes every row again in idle time.
 * 2: ENVELOPE of group syntax without invented entries (issue 14).
 * 3: PREVIEW (RFC 8970) text.
 * 4: the sort record of SORT and THREAD (sort_keys.h, issue 15).
 * 5: the sort record's IMAP_SORT_HAS_ATTACHMENT bit (JMAP's hasAttachment
 *    filter, issue 18). */
#define IMAP_INDEX_VERSION 5

/* Makes imap_index_compute(..., with_text = true) the store's indexer. */
void imap_index_register(struct store *store);

/* Parse data and fill *out: ENVELOPE, BODY, BODYSTRUCTURE, the decoded
 * top-level header, the Date: day and the PREVIEW text, and with with_text the searchable
 * header and body text. Pure: any thread. 0 or a negative errno (*out is
 * empty then). */
int imap_index_compute(const char *data, size_t len, bool with_text, struct store_index_data *out);

/* A prefix of the message (size bytes in all) that holds its whole
 * header, parsed: IMAP_HEADER_PROBE bytes, four times more while the
 * parser finds no end of the header in it. *raw is realloc'd (the caller
 * frees it and *mm). For header sections and fields without reading (or
 * parsing) a large body. */
#define IMAP_HEADER_PROBE (16u << 10)
int imap_message_read_header(struct store_rd *rd, int64_t message_id, size_t size, char **raw,
                             size_t *rawlen, struct mime_message **mm);
/* For a message without its index row yet: the top-level header text as
 * the row would hold it, and the day of its Date: field (IMAP_NO_DAY if
 * none). *headers is malloc'd. */
int imap_header_info(struct store_rd *rd, int64_t message_id, char **headers, int64_t *sent_day);
/* For a message without its index row yet: its sort record (sort_keys.h)
 * from its header, appended to out (IMAP_SORT_HAS_ATTACHMENT never set:
 * SORT and THREAD do not look at it). */
struct buf;
int imap_sort_record_read(struct store_rd *rd, int64_t message_id, struct buf *out);

#endif
