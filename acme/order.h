/* order: one certificate from an ACME server, start to finish (RFC 8555
 * §7): directory, nonce, account, newOrder, each authorization's http-01
 * challenge (its token served through challenge.h) or tls-alpn-01
 * challenge (its certificate served through alpn.h), finalize with a CSR
 * for a fresh P-256 key, poll, download, check, store.
 *
 * An acme_account is what outlives one order: the directory's URLs, the
 * account URL (kid) once known, the last nonce, the key and the TLS
 * context. Every signed request takes the nonce the previous response
 * gave; a badNonce error is retried with the fresh one (§6.5). */
#ifndef TERN_ACME_ORDER_H
#define TERN_ACME_ORDER_H

#include <stddef.h>
#include <time.h>
#include <uv.h>

struct acme_key;
struct tls_client_ctx;

struct acme_account {
	char directory[512];
	char contact[256];
	struct acme_key *key;
	struct tls_client_ctx *tls;
	/* learnt */
	char new_nonce[512], new_account[512], new_order[512], revoke_cert[512];
	char kid[512];
	char nonce[256];
};

struct acme_order_params {
	char *const *domains; /* the first is the subject; all go in the SAN */
	size_t ndomains;
	const char *crt_path, *key_path; /* where the result is written */
	int challenge;                   /* enum acme_challenge_type (acme.h) */
	/* Set: revoke this certificate (DER) instead of ordering one
	 * (§7.6, signed with the account key, reason keyCompromise); the
	 * callback's nb/na are 0 and nothing is written. */
	const unsigned char *revoke_der;
	size_t revoke_len;
};

/* err NULL: the chain and key are on disk, valid from nb to na. */
typedef void (*acme_order_cb)(void *ud, const char *err, time_t nb, time_t na);

/* params (and what it points to) and acct must outlive the order. NULL if
 * it could not start (no callback). */
struct acme_order *acme_order_start(uv_loop_t *loop, struct acme_account *acct,
                                    const struct acme_order_params *params, acme_order_cb cb,
                                    void *ud);
/* No callback after this; tokens are withdrawn. */
void acme_order_cancel(struct acme_order *o);

#endif
