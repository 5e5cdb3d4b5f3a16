/* rng: the process-wide random generator every TLS context draws from.
 *
 * One CTR-DRBG, seeded once from mbedTLS's entropy collector. The server
 * configurations (tls.c), the client configuration (tls_client.c) and the
 * self-signed certificate (selfsigned.c) all use it. */
#ifndef TERN_TLS_RNG_H
#define TERN_TLS_RNG_H

#include <stddef.h>

/* Seed the DRBG if it is not seeded yet. Returns 0, or -1 with err. */
int tls_rng_init(char *err, size_t errlen);

/* The DRBG as an mbedTLS f_rng/p_rng pair. tls_rng_ctx() seeds it first
 * if needed, and returns NULL when that fails. */
int tls_rng(void *p_rng, unsigned char *out, size_t len);
void *tls_rng_ctx(void);

#endif
