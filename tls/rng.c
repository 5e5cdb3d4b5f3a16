/* rng: the process-wide DRBG (see rng.h).
 *
 * Why a file of its own: the server side (tls.c), the client side
 * (tls_client.c) and the self-signed certificate (selfsigned.c) all need
 * random numbers, and the certificate is made while the server side is
 * being created. With the generator in tls.c, tls.c and selfsigned.c
 * called each other; here it sits below all three.
 *
 * The DRBG is process-wide, seeded once from the entropy collector. All
 * TLS runs on the loop thread; mbedTLS's own threading support guards the
 * DRBG for the rare caller elsewhere.
 */
#include "tls/rng.h"
#include "tls/tls_compat.h"

#include <stdbool.h>
#include <stdio.h>

#include <mbedtls/entropy.h>
#include <mbedtls/error.h>

static mbedtls_entropy_context entropy;
static mbedtls_ctr_drbg_context drbg;
static bool drbg_ready;

int tls_rng_init(char *err, size_t errlen)
{
	if (drbg_ready)
		return 0;
	if (tc_crypto_init() != 0) {
		snprintf(err, errlen, "psa_crypto_init failed");
		return -1;
	}
	mbedtls_entropy_init(&entropy);
	mbedtls_ctr_drbg_init(&drbg);
	static const unsigned char pers[] = "tern-tls";
	int rc =
	    mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, pers, sizeof pers - 1);
	if (rc != 0) {
		char e[100];
		mbedtls_strerror(rc, e, sizeof e);
		snprintf(err, errlen, "seeding the DRBG: %s", e);
		return -1;
	}
	drbg_ready = true;
	return 0;
}

int tls_rng(void *p_rng, unsigned char *out, size_t len)
{
	return mbedtls_ctr_drbg_random(p_rng, out, len);
}

void *tls_rng_ctx(void)
{
	char err[160];
	return tls_rng_init(err, sizeof err) == 0 ? &drbg : NULL;
}
