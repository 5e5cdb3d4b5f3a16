/* counts: what the store holds, counted in one read snapshot, for
 * `tern stats` (and any later report: the admin API, metrics). A read on
 * a store_rd: it runs beside a serving `tern serve` without blocking it. */
#ifndef TERN_STORE_COUNTS_H
#define TERN_STORE_COUNTS_H

#include <stdint.h>

struct store_rd;

struct store_counts {
	int64_t domains, accounts, aliases, mailboxes;
	int64_t messages, bytes;               /* mailbox entries: what users see, quotas count */
	int64_t stored_messages, stored_bytes; /* message bodies kept once (deduplicated) */
	/* the queue by state at `now` */
	int64_t queue_queued;   /* not tried yet */
	int64_t queue_deferred; /* tried, waiting for the next attempt */
	int64_t queue_sending;  /* claimed by a runner now */
	int64_t queue_bouncing; /* `tern queue bounce`: a bounce is due */
};

/* Fills *out in one read transaction. 0 or a negative errno. */
int store_counts_read(struct store_rd *rd, int64_t now, struct store_counts *out);

#endif
