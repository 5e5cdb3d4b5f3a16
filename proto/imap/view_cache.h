/* view_cache: what SELECT reads of a mailbox (its UIDs, which messages
 * are \Seen, the keywords in use), kept in memory on the loop thread per
 * recently selected mailbox and brought up to date from the store's
 * changes since, so that a SELECT of a big mailbox does not read every
 * entry again. See view_cache.c. */
#ifndef TERN_IMAP_VIEW_CACHE_H
#define TERN_IMAP_VIEW_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct store_rd;
struct imap_view_cache;

/* The index of (mailbox_id, uidvalidity) holding every change up to
 * modseq, the mailbox's HIGHESTMODSEQ, which the caller read from the
 * mailbox row in the same read transaction or before this call (it may
 * then hold later changes too: the next call reads them again). From
 * memory when nothing changed since the last call, else from the entries
 * changed and the UIDs expunged since then, else (first use, or evicted)
 * from every entry. Returns 0 and *out, valid until the next call of an
 * imap_view_cache function, or a negative errno (nothing is kept then). */
int imap_view_cache_get(struct store_rd *rd, int64_t mailbox_id, uint32_t uidvalidity,
                        int64_t modseq, struct imap_view_cache **out);

/* Its UIDs, ascending. */
const uint32_t *imap_view_cache_uids(const struct imap_view_cache *c, size_t *n);
/* The sequence number (1-based) of the first message without \Seen, 0
 * if none. */
uint32_t imap_view_cache_first_unseen(const struct imap_view_cache *c);
/* Calls cb with each keyword-list (space-separated, as stored) in use, in
 * the order of its first message: feeding each word of each list to a
 * set that keeps the first spelling gives the keywords in the order a
 * scan of the messages by UID meets them. */
void imap_view_cache_keywords(const struct imap_view_cache *c,
                              void (*cb)(void *ud, const char *list), void *ud);

/* The mailbox was deleted: free its index now rather than at eviction. */
void imap_view_cache_forget(int64_t mailbox_id);
/* Free every index: the store was replaced by another (a fuzz harness's
 * fresh database can reuse a mailbox id and UIDVALIDITY). */
void imap_view_cache_clear(void);

#endif
