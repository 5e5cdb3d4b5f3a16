/* header_cache: what SEARCH matches header keys against (the decoded
 * header text and the Date: day of each message), kept in memory per
 * mailbox on the loop thread. See header_cache.c. */
#ifndef TERN_IMAP_HEADER_CACHE_H
#define TERN_IMAP_HEADER_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct store_rd;

struct imap_header_entry {
	int64_t sent_day;    /* IMAP_NO_DAY when the message has no Date: */
	const char *headers; /* "Name: decoded value" lines */
};

struct imap_header_cache;

/* The cache of the mailbox (mailbox_id, uidvalidity), holding every
 * message with a UID up to the newest in the store: what it lacked is read
 * now. NULL when the mailbox has more than IMAP_HEADER_CACHE_MAX messages,
 * or on error: the caller reads the store. The pointer is valid until the
 * next call (another mailbox's fill may evict this one). */
#define IMAP_HEADER_CACHE_MAX 5000
struct imap_header_cache *imap_header_cache_get(struct store_rd *rd, int64_t mailbox_id,
                                                uint32_t uidvalidity, uint32_t count);
/* The entry of uid, or NULL (expunged before it was cached). */
const struct imap_header_entry *imap_header_cache_find(const struct imap_header_cache *h,
                                                       uint32_t uid);
/* FETCH's header sections: the bytes of a message's top-level header (up
 * to where its body starts) by mailbox, UIDVALIDITY and UID, in a
 * direct-mapped table (IMAP_RAW_HEADER_SLOTS entries of at most
 * IMAP_RAW_HEADER_MAX bytes; a colliding entry replaces the older one).
 * get returns NULL on a miss, else bytes valid until the next put. */
#define IMAP_RAW_HEADER_SLOTS 16384
#define IMAP_RAW_HEADER_MAX 2048
const char *imap_raw_header_get(int64_t mailbox_id, uint32_t uidvalidity, uint32_t uid,
                                size_t *len);
void imap_raw_header_put(int64_t mailbox_id, uint32_t uidvalidity, uint32_t uid, const char *data,
                         size_t len);

#endif
