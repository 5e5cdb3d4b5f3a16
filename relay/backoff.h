/* backoff: how long to wait before the n-th retry, for the relay queue
 * and the webhook deliveries alike. */
#ifndef TERN_RELAY_BACKOFF_H
#define TERN_RELAY_BACKOFF_H

#include <stdint.h>

/* Backoff for the n-th retry (n >= 1): first * 2^(n-1), at most max. */
int64_t retry_backoff(int64_t first, int64_t max, int64_t n);

#endif
