/* tls_client: outbound TLS sessions (see tls_client.h).
 *
 * Why a separate file from tls.c: the server side is organised around
 * certificate generations, SNI and reload; a client needs none of that,
 * only a config in the client role, an optional CA chain and the same
 * memory-BIO plumbing. The plumbing is small enough that sharing it would
 * cost more coupling than the dozen duplicated lines.
 *
 * Verification: with verify off we still let mbedTLS run the handshake with
 * MBEDTLS_SSL_VERIFY_OPTIONAL so the result is known (and logged), but a
 * failed check does not stop the connection. With verify on it is
 * MBEDTLS_SSL_VERIFY_REQUIRED and the host name is checked.
 */
#include "tls/tls_client.h"
#include "tls/suites.h"
#include "tls/rng.h"
#include "tls/tls_compat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/error.h>

#define DEFAULT_CA_FILE "/etc/ssl/certs/ca-certificates.crt"

struct tls_client_ctx {
	mbedtls_ssl_config conf;
	mbedtls_x509_crt ca;
	bool verify;
};

int tls_client_ctx_new(struct tls_client_ctx **out, bool verify, const char *ca_file, char *err,
                       size_t errlen)
{
	*out = NULL;
	void *rng = tls_rng_ctx();
	if (!rng) {
		snprintf(err, errlen, "cannot seed the DRBG");
		return -1;
	}
	struct tls_client_ctx *c = calloc(1, sizeof *c);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	mbedtls_ssl_config_init(&c->conf);
	mbedtls_x509_crt_init(&c->ca);
	c->verify = verify;
	int rc =
	    mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_CLIENT,
	                                MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
	if (rc != 0) {
		snprintf(err, errlen, "ssl config failed (-0x%04x)", (unsigned)-rc);
		goto fail;
	}
	tc_conf_min_tls12(&c->conf);
	/* Opportunistic between servers: the wider list (tls/suites.h). */
	mbedtls_ssl_conf_ciphersuites(&c->conf, tls_suites(TLS_PROFILE_MTA));
	mbedtls_ssl_conf_rng(&c->conf, tls_rng, rng);
	const char *ca = ca_file && *ca_file ? ca_file : DEFAULT_CA_FILE;
	rc = mbedtls_x509_crt_parse_file(&c->ca, ca);
	if (rc < 0 && verify) {
		snprintf(err, errlen, "loading CA bundle %s failed (-0x%04x)", ca, (unsigned)-rc);
		goto fail;
	}
	mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, NULL);
	mbedtls_ssl_conf_authmode(&c->conf, verify ? MBEDTLS_SSL_VERIFY_REQUIRED
	                                           : MBEDTLS_SSL_VERIFY_OPTIONAL);
	*out = c;
	return 0;
fail:
	mbedtls_ssl_config_free(&c->conf);
	mbedtls_x509_crt_free(&c->ca);
	free(c);
	return -1;
}

void tls_client_ctx_free(struct tls_client_ctx **cp)
{
	struct tls_client_ctx *c = *cp;
	if (!c)
		return;
	mbedtls_ssl_config_free(&c->conf);
	mbedtls_x509_crt_free(&c->ca);
	free(c);
	*cp = NULL;
}

struct tls_session *tls_client_new(struct tls_client_ctx *ctx, const char *host, tls_out_fn out,
                                   void *out_ctx)
{
	return tls_session_new_client(&ctx->conf, host, out, out_ctx);
}
