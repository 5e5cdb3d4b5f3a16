/* tlsrpt: TLS-RPT (RFC 8460) counters of the relay, per UTC day, policy
 * domain, policy and result: successful sessions and failures by
 * result-type.
 *
 * Counted on the loop, in memory; between tlsrpt_start() and
 * tlsrpt_stop() the new counts go to the store (store/tlsrpt.h) in one
 * writer job at most every TLSRPT_FLUSH_MS, and a last time at stop,
 * never one job per session. Each count is also logged as one line
 * "tlsrpt domain=D day=YYYY-MM-DD result=R count=N" (N: since start).
 * The policy of a count is the domain's cached MTA-STS policy
 * (relay/mta_sts.h): type "sts" with its id and lines, else
 * "no-policy-found" (an sts-* failure is always of type "sts"). Days
 * older than TLSRPT_KEEP_DAYS are pruned with a flush. */
#ifndef TERN_RELAY_TLSRPT_H
#define TERN_RELAY_TLSRPT_H

#include <stdint.h>
#include <uv.h>

struct store;

#define TLSRPT_SUCCESS "success"
#define TLSRPT_FLUSH_MS 5000
#define TLSRPT_KEEP_DAYS 30

/* result: TLSRPT_SUCCESS or a result-type ("starttls-not-supported",
 * "certificate-host-mismatch", "certificate-expired",
 * "certificate-not-trusted", "validation-failure",
 * "sts-policy-fetch-error", "sts-policy-invalid", "sts-webpki-invalid"). */
void tlsrpt_count(const char *policy_domain, const char *result);
/* Today's count since start, of every policy (0 when none). */
uint64_t tlsrpt_get(const char *policy_domain, const char *result);
void tlsrpt_clear(void);

/* Write counts through store's writer from now on (loop thread). */
void tlsrpt_start(uv_loop_t *loop, struct store *store);
/* Submit what is not written yet and stop the timer; store_close() then
 * runs the job. Run the loop afterwards so the timer closes. */
void tlsrpt_stop(void);
/* Submit what is not written yet now (tests). */
void tlsrpt_flush(void);

#endif
