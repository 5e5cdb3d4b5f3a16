/* tlsrpt: TLS-RPT (RFC 8460) counters of the relay, per policy domain and
 * UTC day: successful sessions and failures by result-type.
 *
 * Kept in memory for now (lost at restart; report sending and the store
 * table come later): each count is also logged as one line
 * "tlsrpt domain=D day=YYYY-MM-DD result=R count=N", and
 * tlsrpt_get() reads a count for tests and a later `tern tlsrpt show`. */
#ifndef TERN_RELAY_TLSRPT_H
#define TERN_RELAY_TLSRPT_H

#include <stdint.h>

#define TLSRPT_SUCCESS "success"

/* result: TLSRPT_SUCCESS or a result-type ("starttls-not-supported",
 * "certificate-host-mismatch", "certificate-expired",
 * "certificate-not-trusted", "validation-failure",
 * "sts-policy-fetch-error", "sts-policy-invalid", "sts-webpki-invalid"). */
void tlsrpt_count(const char *policy_domain, const char *result);
/* Today's count (0 when none). */
uint64_t tlsrpt_get(const char *policy_domain, const char *result);
void tlsrpt_clear(void);

#endif
