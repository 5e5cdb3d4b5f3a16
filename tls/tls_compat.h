/* tls_compat: the few mbedTLS calls whose signatures differ between 2.28
 * and 3.x, behind one name each. Everything else in tls/ is written against
 * the API common to both. 3.x added an RNG argument to private-key parsing
 * and pair checking, renamed the SHA-256/512 one-shots, replaced the
 * major/minor version setters and took an MPI-free serial setter; signing
 * got a buffer size and CSR extensions a criticality flag (acme/). */
#ifndef TERN_TLS_COMPAT_H
#define TERN_TLS_COMPAT_H

#include <mbedtls/version.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>
#include <mbedtls/sha512.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <mbedtls/x509_csr.h>
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#include <psa/crypto.h>
#else
#include <mbedtls/bignum.h>
#endif

/* A field of an mbedTLS struct: 3.x renames the ones it calls private
 * (MBEDTLS_PRIVATE), 2.28 does not. Only for what no function exposes. */
#ifndef MBEDTLS_PRIVATE
#define MBEDTLS_PRIVATE(member) member
#endif
#define TC_FIELD(ptr, member) ((ptr)->MBEDTLS_PRIVATE(member))

#if MBEDTLS_VERSION_NUMBER >= 0x03000000

static inline int tc_pk_parse_keyfile(mbedtls_pk_context *pk, const char *path,
                                      mbedtls_ctr_drbg_context *drbg)
{
	return mbedtls_pk_parse_keyfile(pk, path, NULL, mbedtls_ctr_drbg_random, drbg);
}
static inline int tc_pk_check_pair(const mbedtls_pk_context *pub, const mbedtls_pk_context *prv,
                                   mbedtls_ctr_drbg_context *drbg)
{
	return mbedtls_pk_check_pair(pub, prv, mbedtls_ctr_drbg_random, drbg);
}
static inline int tc_pk_parse_key(mbedtls_pk_context *pk, const unsigned char *key, size_t len,
                                  mbedtls_ctr_drbg_context *drbg)
{
	return mbedtls_pk_parse_key(pk, key, len, NULL, 0, mbedtls_ctr_drbg_random, drbg);
}
static inline int tc_sha256(const unsigned char *in, size_t len, unsigned char out[32])
{
	return mbedtls_sha256(in, len, out, 0);
}
static inline int tc_sha512(const unsigned char *in, size_t len, unsigned char out[64])
{
	return mbedtls_sha512(in, len, out, 0);
}
static inline void tc_conf_min_tls12(mbedtls_ssl_config *conf)
{
	mbedtls_ssl_conf_min_tls_version(conf, MBEDTLS_SSL_VERSION_TLS1_2);
}
static inline int tc_crypto_init(void)
{
	return psa_crypto_init() == PSA_SUCCESS ? 0 : -1;
}
static inline int tc_crt_set_serial(mbedtls_x509write_cert *crt, unsigned char *serial, size_t len)
{
	return mbedtls_x509write_crt_set_serial_raw(crt, serial, len);
}
static inline int tc_pk_sign(mbedtls_pk_context *pk, const unsigned char hash[32],
                             unsigned char *sig, size_t sig_size, size_t *sig_len,
                             mbedtls_ctr_drbg_context *drbg)
{
	return mbedtls_pk_sign(pk, MBEDTLS_MD_SHA256, hash, 32, sig, sig_size, sig_len,
	                       mbedtls_ctr_drbg_random, drbg);
}
static inline int tc_csr_set_extension(mbedtls_x509write_csr *csr, const char *oid, size_t oid_len,
                                       const unsigned char *val, size_t val_len)
{
	return mbedtls_x509write_csr_set_extension(csr, oid, oid_len, 0, val, val_len);
}

#else /* 2.28 */

static inline int tc_pk_parse_keyfile(mbedtls_pk_context *pk, const char *path,
                                      mbedtls_ctr_drbg_context *drbg)
{
	(void)drbg;
	return mbedtls_pk_parse_keyfile(pk, path, NULL);
}
static inline int tc_pk_check_pair(const mbedtls_pk_context *pub, const mbedtls_pk_context *prv,
                                   mbedtls_ctr_drbg_context *drbg)
{
	(void)drbg;
	return mbedtls_pk_check_pair(pub, prv);
}
static inline int tc_pk_parse_key(mbedtls_pk_context *pk, const unsigned char *key, size_t len,
                                  mbedtls_ctr_drbg_context *drbg)
{
	(void)drbg;
	return mbedtls_pk_parse_key(pk, key, len, NULL, 0);
}
static inline int tc_sha256(const unsigned char *in, size_t len, unsigned char out[32])
{
	return mbedtls_sha256_ret(in, len, out, 0);
}
static inline int tc_sha512(const unsigned char *in, size_t len, unsigned char out[64])
{
	return mbedtls_sha512_ret(in, len, out, 0);
}
static inline void tc_conf_min_tls12(mbedtls_ssl_config *conf)
{
	mbedtls_ssl_conf_min_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3,
	                             MBEDTLS_SSL_MINOR_VERSION_3);
}
static inline int tc_crypto_init(void)
{
	return 0;
}
static inline int tc_crt_set_serial(mbedtls_x509write_cert *crt, unsigned char *serial, size_t len)
{
	mbedtls_mpi mpi;
	mbedtls_mpi_init(&mpi);
	int rc = mbedtls_mpi_read_binary(&mpi, serial, len);
	if (rc == 0)
		rc = mbedtls_x509write_crt_set_serial(crt, &mpi);
	mbedtls_mpi_free(&mpi);
	return rc;
}
static inline int tc_pk_sign(mbedtls_pk_context *pk, const unsigned char hash[32],
                             unsigned char *sig, size_t sig_size, size_t *sig_len,
                             mbedtls_ctr_drbg_context *drbg)
{
	if (sig_size < MBEDTLS_PK_SIGNATURE_MAX_SIZE)
		return -1;
	return mbedtls_pk_sign(pk, MBEDTLS_MD_SHA256, hash, 32, sig, sig_len,
	                       mbedtls_ctr_drbg_random, drbg);
}
static inline int tc_csr_set_extension(mbedtls_x509write_csr *csr, const char *oid, size_t oid_len,
                                       const unsigned char *val, size_t val_len)
{
	return mbedtls_x509write_csr_set_extension(csr, oid, oid_len, val, val_len);
}

#endif

#endif
