/* email_query_cache: the last few Email/query results, so that paging
 * and scrolling through a big mailbox (the same query at other
 * positions) do not read and sort it again.
 *
 * A result is kept under the account, the query's filter, sort and
 * collapseThreads (as canonical JSON) and the Email state it was made
 * in. Any change to the account's mail changes the state (store/emails.h),
 * so a result is only ever found for the mail it was made from: there is
 * nothing to invalidate. A result of an older state stays until it is
 * the least recently used: Email/queryChanges works out what changed
 * since then from it. Queries whose result also depends on the
 * message index (text conditions, sorts by header fields), which the
 * writer fills in idle time without changing the state, are not kept.
 *
 * Loop thread only. At most JMAP_QUERY_CACHE_SLOTS results, least
 * recently used dropped first, and none larger than
 * JMAP_QUERY_CACHE_MAX_IDS. */
#ifndef TERN_JMAP_EMAIL_QUERY_CACHE_H
#define TERN_JMAP_EMAIL_QUERY_CACHE_H

#include <stddef.h>
#include <stdint.h>

#define JMAP_QUERY_CACHE_SLOTS 8
#define JMAP_QUERY_CACHE_MAX_IDS 2000000

/* The message ids of a kept result, in order, valid until the next put
 * or clear; NULL when there is none. */
const int64_t *jmap_query_cache_get(int64_t account_id, const char *key, const char *state,
                                    size_t *n);
/* Keeps ids (malloc'd; the cache owns them from now on, also when it
 * does not keep them). */
void jmap_query_cache_put(int64_t account_id, const char *key, const char *state, int64_t *ids,
                          size_t n);
/* What a result of a query over one mailbox needs to be brought up to a
 * later state without reading the mailbox again (email_query.c): where
 * the mailbox stood (its UIDNEXT and HIGHESTMODSEQ under that
 * UIDVALIDITY) and, per id, the sort key it was ordered by and its UID
 * there. keys and uids are malloc'd, n entries each. */
struct jmap_query_basis {
	int64_t mailbox_id;
	uint32_t uidvalidity;
	uint32_t uidnext;
	int64_t highestmodseq;
	int64_t *keys;
	uint32_t *uids;
};
/* jmap_query_cache_put, with a basis kept beside the ids (the cache owns
 * its arrays from now on, also when it does not keep them). */
void jmap_query_cache_put_basis(int64_t account_id, const char *key, const char *state,
                                int64_t *ids, size_t n, struct jmap_query_basis *basis);
/* The most recently used kept result of key, in whatever state, that has
 * a basis: its ids (*n of them) and *basis (arrays the cache's, valid
 * until the next put or clear); NULL when there is none. */
const int64_t *jmap_query_cache_latest(int64_t account_id, const char *key, size_t *n,
                                       const struct jmap_query_basis **basis);
/* How many results were brought up to date from a kept one rather than
 * worked out afresh (email_query.c counts; tests read it). */
extern uint64_t jmap_query_advanced;
/* How many were worked out afresh from the store's arrival-order index
 * (a mailbox sorted by receivedAt) rather than read and sorted. */
extern uint64_t jmap_query_by_date;
/* Drops every result (tests, shutdown). */
void jmap_query_cache_clear(void);

#endif
