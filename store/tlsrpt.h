/* tlsrpt: the TLS-RPT (RFC 8460) counters (table `tlsrpt_counts`), per
 * UTC day, policy domain, policy and result.
 *
 * The relay counts sessions on the loop (relay/tlsrpt.c) and adds its
 * counts here in one writer job every few seconds; `tern tlsrpt show`
 * lists them and builds the RFC 8460 report. A result is "success" or an
 * RFC 8460 4.3 result-type. Days older than the retention are pruned.
 *
 * Return convention as in store.h. */
#ifndef TERN_STORE_TLSRPT_H
#define TERN_STORE_TLSRPT_H

#include <stddef.h>
#include <stdint.h>

struct store_rd;
struct store_tx;

#define STORE_TLSRPT_POLICY_STRING_MAX 4096 /* lines joined by '\n' */

struct store_tlsrpt_count {
	char day[11]; /* YYYY-MM-DD (UTC) */
	char policy_domain[256];
	char policy_type[20]; /* "sts", "no-policy-found" */
	char policy_id[40];   /* the _mta-sts TXT id; "" without policy */
	char result[40];      /* "success" or an RFC 8460 4.3 result-type */
	char policy_string[STORE_TLSRPT_POLICY_STRING_MAX];
	uint64_t count;
};

/* Add the counts of n rows (count is added to what is stored). The policy
 * string of a row replaces the stored one. 0, -EINVAL (a field empty or
 * too long), or negative. */
int store_tlsrpt_add(struct store_tx *tx, const struct store_tlsrpt_count *rows, size_t n);
/* Delete the days before day (YYYY-MM-DD). Returns the rows deleted. */
int store_tlsrpt_prune(struct store_tx *tx, const char *before_day);
/* The counts of day and policy_domain (either NULL: all), by day, domain,
 * policy type, policy id, result. 0, the callback's non-zero value, or
 * negative. */
int store_tlsrpt_list(struct store_rd *rd, const char *day, const char *policy_domain,
                      int (*cb)(void *ud, const struct store_tlsrpt_count *c), void *ud);

#endif
