/* sort_context: the ordered result of a CONTEXT=SORT update context
 * (RFC 5267 §4.3), and where a change puts its messages.
 *
 * A SORT RETURN (UPDATE) context keeps, beside search_context.c's set of
 * matching UIDs, the result in the requested order with each message's
 * sort keys (the fields its criteria read). The keys of a message never
 * change (RFC 5256's criteria are about its header, size and arrival), so
 * the order of the messages already in the result never changes either:
 * an update only inserts or removes. Ties are broken by UID, which within
 * a view orders as the sequence number does (cmd_sort.c's "implicit sort
 * criterion").
 *
 * Positions are 1-based. Removal of several messages is told in ascending
 * position, each pair's position valid after the pairs before it were
 * processed; insertions likewise, at the final positions. One pair per
 * run of adjacent positions (§4.3.3: "ADDTO (1 2731:2733)").
 *
 * The pure part (result, insert, remove) has unit tests; loading
 * the keys of new members at a flush reads the store on the loop's read
 * connection, as cmd_sort.c does for mail the indexer has not reached.
 */
#ifndef TERN_IMAP_SORT_CONTEXT_H
#define TERN_IMAP_SORT_CONTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/imap/sort_keys.h"

struct imap_session;

enum imap_sort_by {
	IMAP_SORT_BY_ARRIVAL,
	IMAP_SORT_BY_DATE,
	IMAP_SORT_BY_SIZE,
	IMAP_SORT_BY_FIELD, /* a string of the sort record (field) */
};

#define IMAP_SORT_SPEC_MAX 16

struct imap_sort_spec {
	struct {
		enum imap_sort_by by;
		int field; /* enum imap_sort_field, for IMAP_SORT_BY_FIELD */
		bool reverse;
	} crit[IMAP_SORT_SPEC_MAX];
	size_t ncrit;
};

/* One message's keys, as given to the result (the strings are copied). */
struct imap_sort_rec {
	uint32_t uid;
	int64_t arrival, date, size;
	const char *str[IMAP_SF_COUNT]; /* only the fields the spec uses are read */
	size_t len[IMAP_SF_COUNT];
};

struct imap_sort_result;

struct imap_sort_result *imap_sort_result_new(const struct imap_sort_spec *spec);
void imap_sort_result_free(struct imap_sort_result *r);
size_t imap_sort_result_count(const struct imap_sort_result *r);
/* Bytes of memory the result holds (for the session's bound). */
size_t imap_sort_result_bytes(const struct imap_sort_result *r);
/* The UID at position pos (1-based), 0 if none. */
uint32_t imap_sort_result_uid_at(const struct imap_sort_result *r, size_t pos);
/* Room for the first n records with key_bytes of strings in all, in one
 * block (before the first append). 0 or -ENOMEM. */
int imap_sort_result_reserve(struct imap_sort_result *r, size_t n, size_t key_bytes);
/* Append rec, which sorts after everything already there (building the
 * result of the SORT in its order). 0 or -ENOMEM. */
int imap_sort_result_append(struct imap_sort_result *r, const struct imap_sort_rec *rec);
/* Insert recs[0..n) (none of them present): pos[i] and uids[i] (n each,
 * by ascending position) say where each went, as ADDTO tells it. 0 or
 * -ENOMEM (nothing inserted). */
int imap_sort_result_insert(struct imap_sort_result *r, const struct imap_sort_rec *recs, size_t n,
                            uint32_t *pos, uint32_t *uids);
/* Remove the messages of gone[0..n) (ascending UIDs) that are present:
 * pos[i] and uids[i] as REMOVEFROM tells them, ascending. Returns how
 * many were removed. */
size_t imap_sort_result_remove(struct imap_sort_result *r, const uint32_t *gone, size_t n,
                               uint32_t *pos, uint32_t *uids);

/* The session's part: read the keys of add[0..n) (ascending UIDs in the
 * view, none in r) from the store, insert them and write the ADDTO of the
 * context tag; REMOVEFROM for those of gone[0..n) present. */
void imap_sort_context_add(struct imap_session *s, struct imap_sort_result *r, const char *tag,
                           bool uid, const uint32_t *add, size_t n);
void imap_sort_context_remove(struct imap_session *s, struct imap_sort_result *r, const char *tag,
                              bool uid, const uint32_t *gone, size_t n);

#endif
