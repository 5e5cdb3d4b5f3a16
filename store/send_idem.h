/* send_idem: the sending API's Idempotency-Key memory (table
 * send_idempotency, schema 20).
 *
 * Per token and key: the SHA-256 of the request body first sent with it,
 * and the answer given (HTTP status and JSON body), so that a retry of the
 * same request is answered alike and sends nothing. A key lives a day:
 * older rows are invisible to a lookup and deleted by the next put.
 *
 * Return convention as in store.h. */
#ifndef TERN_STORE_SEND_IDEM_H
#define TERN_STORE_SEND_IDEM_H

#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

struct store_rd;
struct store_tx;

#define STORE_IDEM_HASH 32     /* SHA-256 of the body */
#define STORE_IDEM_KEY_MAX 255 /* bytes of a key */
#define STORE_IDEM_TTL 86400   /* seconds a key is remembered */

/* The answer kept for (token_id, key) if it was made after now -
 * STORE_IDEM_TTL: 1 (hash, *status and response filled), 0 none, or
 * negative. */
int store_idem_find(struct store_rd *rd, int64_t token_id, const char *key, int64_t now,
                    unsigned char hash[STORE_IDEM_HASH], int *status, struct buf *response);
/* Keep an answer for (token_id, key) made at now, replacing an expired
 * one, and delete every row older than a day. 0, -EEXIST (a live row has
 * the key), -ENOENT (no such token), or negative. */
int store_idem_put(struct store_tx *tx, int64_t token_id, const char *key, int64_t now,
                   const unsigned char hash[STORE_IDEM_HASH], int status, const char *response,
                   size_t len);

#endif
