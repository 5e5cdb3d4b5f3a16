/* suites: the lists (see suites.h). Ids mbedTLS does not know are skipped
 * by it, so one list serves 2.28 and 3.6. */
#include "tls/suites.h"

#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ciphersuites.h>

/* Forward secrecy and an AEAD, the fastest first: the server's order
 * decides, and mbedTLS 2.28's ChaCha20-Poly1305 moves a 10 KiB response
 * about twice as fast as its AES-256-GCM (13.5k against 6k requests/s over
 * 50 keep-alive HTTPS connections in bench/http_bench.py; AES-128-GCM
 * 11.9k). All three are 128-bit-secure or better. */
#ifdef MBEDTLS_SSL_PROTO_TLS1_3
#define TLS13_SUITES                                                                               \
	MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256, MBEDTLS_TLS1_3_AES_128_GCM_SHA256,                \
	    MBEDTLS_TLS1_3_AES_256_GCM_SHA384,
#else
#define TLS13_SUITES
#endif

#define ECDHE_AEAD_SUITES                                                                          \
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,                                     \
	    MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,                                   \
	    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,                                       \
	    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,                                         \
	    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,                                       \
	    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384

static const int clients[] = {TLS13_SUITES ECDHE_AEAD_SUITES, 0};

static const int mta[] = {
    TLS13_SUITES ECDHE_AEAD_SUITES,
    MBEDTLS_TLS_DHE_RSA_WITH_AES_256_GCM_SHA384,
    MBEDTLS_TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    MBEDTLS_TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384,
    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
    MBEDTLS_TLS_DHE_RSA_WITH_AES_256_CBC_SHA256,
    MBEDTLS_TLS_DHE_RSA_WITH_AES_128_CBC_SHA256,
    MBEDTLS_TLS_RSA_WITH_AES_256_GCM_SHA384,
    MBEDTLS_TLS_RSA_WITH_AES_128_GCM_SHA256,
    MBEDTLS_TLS_RSA_WITH_AES_256_CBC_SHA256,
    MBEDTLS_TLS_RSA_WITH_AES_128_CBC_SHA256,
    0,
};

const int *tls_suites(enum tls_profile profile)
{
	return profile == TLS_PROFILE_MTA ? mta : clients;
}
