/* alpn: the tls-alpn-01 challenges being validated now (RFC 8737), each
 * with its challenge certificate, for the TLS server to present to a
 * ClientHello that asks for ALPN "acme-tls/1" with that name as SNI.
 *
 * Like challenge.h for http-01: a small table on the loop thread; an
 * order adds a domain's entry before it tells the CA to validate and
 * removes it when the authorization is done, whatever the outcome.
 * acme_alpn_lookup() is the hook acme_init() hands to tls/
 * (tls_set_alpn_challenge). */
#ifndef TERN_ACME_ALPN_H
#define TERN_ACME_ALPN_H

#include <stddef.h>

struct mbedtls_x509_crt;
struct mbedtls_pk_context;

/* Make the challenge certificate for domain (a fresh P-256 key, SAN
 * dNSName domain, critical id-pe-acmeIdentifier = SHA-256 of the key
 * authorization) and serve it. 0, or -1 (table full, name too long,
 * mbedTLS failure). Replaces an entry for the same domain. */
int acme_alpn_add(const char *domain, const char *key_authorization);
void acme_alpn_remove(const char *domain);
/* The tls_alpn_challenge_fn: 0 with the pair for sni, or -1. */
int acme_alpn_lookup(void *ud, const char *sni, struct mbedtls_x509_crt **crt,
                     struct mbedtls_pk_context **key);
size_t acme_alpn_count(void);
void acme_alpn_clear(void);

/* The DER certificate acme_alpn_add() would serve (for tests): written at
 * out, its length in *len. 0 or -1. */
int acme_alpn_make_cert(const char *domain, const char *key_authorization,
                        struct mbedtls_pk_context *key, unsigned char *out, size_t outlen,
                        size_t *len);

#endif
