/* mta_sts: the relay's MTA-STS policy cache (table `mta_sts_policies`),
 * so that a policy outlives a restart for its max_age (RFC 8461 5.1).
 *
 * One row per policy domain: the TXT id, the policy text as fetched
 * (relay/mta_sts.c parses it again when it loads the cache) and when it
 * expires. Return convention as in store.h. */
#ifndef TERN_STORE_MTA_STS_H
#define TERN_STORE_MTA_STS_H

#include <stddef.h>
#include <stdint.h>

struct store_rd;
struct store_tx;

#define STORE_MTA_STS_TEXT_MAX 16384

struct store_mta_sts_policy {
	char domain[256];
	char id[40];
	const char *text; /* valid during the callback */
	int64_t expires;  /* unix seconds */
};

/* Insert or replace the domain's policy, and delete every policy expired
 * at now. 0, -EINVAL (a field empty or too long), or negative. */
int store_mta_sts_put(struct store_tx *tx, const struct store_mta_sts_policy *p, int64_t now);
/* The policies not expired at now, soonest expiry last. 0, the callback's
 * non-zero value, or negative. */
int store_mta_sts_list(struct store_rd *rd, int64_t now,
                       int (*cb)(void *ud, const struct store_mta_sts_policy *p), void *ud);

#endif
