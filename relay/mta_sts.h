/* mta_sts: find the MTA-STS policy (RFC 8461) of a destination domain,
 * on the loop, before a delivery attempt.
 *
 * Look up the `_mta-sts.DOMAIN` TXT record; when it names the id of the
 * policy already cached (and that is still fresh), use the cache; else
 * resolve `mta-sts.DOMAIN` (A, with the relay's resolver) and fetch
 * https://mta-sts.DOMAIN/.well-known/mta-sts.txt with the certificate
 * verified against the CA bundle, no redirect followed, the body bounded
 * (MTA_STS_MAX_POLICY), then parse it (mailauth/mta_sts_policy.h). A
 * policy is cached in memory by domain until max_age passes or the TXT id
 * changes; a cached, fresh policy also stands in when the TXT record is
 * gone or the fetch fails (RFC 8461 5.1). With a store attached, each
 * fetched policy is also written to it (store/mta_sts.h, one writer job
 * per fetch) and the cache is loaded from it at attach: a policy outlives
 * a restart for its max_age. */
#ifndef TERN_RELAY_MTA_STS_H
#define TERN_RELAY_MTA_STS_H

#include <uv.h>

#include "mailauth/mta_sts_policy.h"

struct dns_resolver;
struct store;
struct tls_client_ctx;

struct mta_sts_env {
	uv_loop_t *loop;
	struct dns_resolver *dns;
	struct tls_client_ctx *tls; /* verifying */
	int port;                   /* of the policy host: 443 */
	uint64_t timeout_ms;        /* of the fetch */
};

/* policy NULL: none applies. failure non-NULL: a TLS-RPT result-type to
 * count for the domain ("sts-policy-fetch-error", "sts-policy-invalid"),
 * with policy the cached one if any. policy points into the cache: copy
 * it during the call. */
typedef void (*mta_sts_cb)(void *ud, const struct mta_sts_policy *policy, const char *failure);

struct mta_sts_lookup;

/* NULL when nothing could start (no callback: deliver without a policy).
 * The callback never runs from inside this call. */
struct mta_sts_lookup *mta_sts_lookup_start(const struct mta_sts_env *env, const char *domain,
                                            mta_sts_cb cb, void *ud);
/* No callback after this. */
void mta_sts_lookup_cancel(struct mta_sts_lookup *l);
void mta_sts_cache_clear(void);
/* Load the stored policies that are still fresh into the cache and write
 * the fetched ones to store from now on (loop thread). */
void mta_sts_cache_attach(struct store *store);
/* No more writes (the runner stops). */
void mta_sts_cache_detach(void);
/* The domain's cached, fresh policy with its TXT id in *id, or NULL (also
 * for mode none): which policy a TLS-RPT count belongs to. Valid until the
 * next call into this module. */
const struct mta_sts_policy *mta_sts_cached(const char *domain, const char **id);

#endif
