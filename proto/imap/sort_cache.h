/* sort_cache: the sort records (sort_keys.h) of a mailbox's messages,
 * with their sizes and internal dates, kept in memory on the loop thread
 * so that a SORT or THREAD reads the store only for mail that arrived
 * since the last one. See sort_cache.c. */
#ifndef TERN_IMAP_SORT_CACHE_H
#define TERN_IMAP_SORT_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct store_rd;
struct imap_sort_cache;

struct imap_sort_cached {
	int64_t arrival, size;
	const void *rec; /* the sort record, NULL if it could not be read */
	size_t len;
};

/* The cache of (mailbox_id, uidvalidity), brought up to UID upto: at most
 * slice rows are read from the store per call. Returns 1 when it holds
 * every message up to upto, 0 when the caller should call again (after
 * IMAP_AGAIN), -EFBIG when the mailbox is too big to cache (the caller
 * reads the store itself), another negative errno on error. *out is valid
 * until the next call of any sort_cache function. */
int imap_sort_cache_get(struct store_rd *rd, int64_t mailbox_id, uint32_t uidvalidity,
                        uint32_t upto, size_t slice, struct imap_sort_cache **out);
/* The entry of uid, or NULL (expunged before it was read). *pos is a
 * cursor: start it at 0 and pass it again for ascending UIDs, and each
 * lookup goes on from the last (a whole mailbox in one pass). */
const struct imap_sort_cached *imap_sort_cache_next(const struct imap_sort_cache *c, uint32_t uid,
                                                    size_t *pos, struct imap_sort_cached *tmp);
/* Where the records live: an entry's rec points into it, so a reader can
 * keep offsets (valid as long as *out of imap_sort_cache_get). */
const char *imap_sort_cache_data(const struct imap_sort_cache *c);

#endif
