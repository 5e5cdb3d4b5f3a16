/* queue: the outbound queue rows (table `queue`, one row per remote
 * recipient of a message), as the queue runner and `tern queue` use them.
 *
 * Claiming: a runner that starts working on a row sets claimed_until to a
 * time in the future, in a writer transaction, and only rows whose claim has
 * run out are claimable. A crash leaves the claim behind; the next start
 * clears every claim (store_queue_recover) since only one server runs on a
 * database. A row leaves the queue only in the same transaction that
 * records its outcome (delivered: deleted; bounced: the DSN stored and the
 * row deleted), so a message is never lost between attempts: at worst an
 * attempt whose success was not yet recorded is repeated (at-least-once).
 *
 * Writers take a transaction. Return convention as in store.h. */
#ifndef TERN_STORE_QUEUE_H
#define TERN_STORE_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store_rd;
struct store_tx;

struct store_queue_row {
	int64_t id;
	int64_t message_id;
	const char *mail_from; /* "" = null sender */
	const char *rcpt;
	const char *notify; /* NULL when not given */
	const char *orcpt;
	const char *ret;
	const char *envid;
	int64_t next_attempt;
	int64_t attempts;
	const char *last_error;
	int64_t expires;
	int64_t claimed_until;
	int64_t created;
	int64_t size;        /* of the message */
	bool delay_dsn_sent; /* its delay DSN went out already */
	bool cancelled;      /* `tern queue bounce`: bounce it, do not deliver */
};

typedef int (*store_queue_cb)(void *ud, const struct store_queue_row *row);

/* Rows due at `now` and not claimed, oldest next_attempt first, at most
 * limit. Strings are valid during the callback only. */
int store_queue_due(struct store_rd *rd, int64_t now, size_t limit, store_queue_cb cb, void *ud);
/* Every row, by id (CLI). */
int store_queue_list(struct store_rd *rd, store_queue_cb cb, void *ud);
/* One row: 1 found (cb called), 0 not found, negative on error. */
int store_queue_get(struct store_rd *rd, int64_t id, store_queue_cb cb, void *ud);
/* Rows in the queue, or negative. */
int64_t store_queue_count(struct store_rd *rd);
/* When the oldest row was queued (unix seconds), 0 if none, or negative. */
int64_t store_queue_oldest(struct store_rd *rd);

/* Claim row id until `until` if it is unclaimed at `now`: 1 claimed, 0 not
 * (gone or claimed by someone else), negative on error. */
int store_queue_claim(struct store_tx *tx, int64_t id, int64_t now, int64_t until);
/* Clear every claim (server start). Returns how many were cleared. */
int store_queue_recover(struct store_tx *tx);
/* A temporary failure: attempts + 1, next attempt, last error, unclaimed. */
int store_queue_defer(struct store_tx *tx, int64_t id, int64_t next_attempt, const char *error);
/* The row is done (delivered, bounced or deleted): delete it and drop its
 * message reference. -ENOENT if no such row. */
int store_queue_finish(struct store_tx *tx, int64_t id);
/* Make a row (id > 0) or every row (id == 0) due now and unclaimed.
 * Returns the number of rows changed. */
int store_queue_retry(struct store_tx *tx, int64_t id, int64_t now);
/* Cancel a row (`tern queue bounce`): due now, and the runner bounces it
 * without an attempt. Returns the number of rows changed. */
int store_queue_cancel(struct store_tx *tx, int64_t id, int64_t now);
/* Remember that the row's delay DSN was sent. */
int store_queue_delay_dsn_sent(struct store_tx *tx, int64_t id);

#endif
