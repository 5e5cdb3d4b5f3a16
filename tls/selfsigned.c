/* selfsigned: the certificate `tern serve` uses when none is configured.
 *
 * Why: a fresh install must speak TLS at once (STARTTLS, 993, 465) so that
 * a person can point a mail client at it; the client asks to trust the
 * certificate once. So the certificate must be stable across restarts
 * (generated once, reused) and acceptable to strict verifiers when the
 * user does trust it: X.509 v3, ECDSA P-256 with SHA-256, ten years,
 * basicConstraints CA:FALSE, no keyUsage (so it stays "self-signed" in
 * OpenSSL's sense and can be its own trust anchor), extendedKeyUsage
 * serverAuth, subject and authority key identifiers (Python 3.13 verifies
 * with X509_STRICT), and SANs for the hostname, "localhost", 127.0.0.1 and
 * ::1.
 *
 * Files are written to a temporary name and renamed, key first with mode
 * 0600, so a crash never leaves a half-written pair that the next start
 * would trust; if either file is missing both are regenerated.
 */
#include "tls/selfsigned.h"
#include "lib/file.h"
#include "tls/der.h"
#include "tls/rng.h"
#include "tls/tls_compat.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/ecp.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/x509_crt.h>

/* GeneralNames: dNSName host, dNSName localhost, iPAddress 127.0.0.1, ::1. */
static size_t build_san(unsigned char *out, const char *host)
{
	unsigned char body[700];
	size_t n = 0;
	const char *names[2] = {host, "localhost"};
	for (int i = 0; i < 2; i++) {
		if (i == 1 && strcmp(host, "localhost") == 0)
			break;
		size_t l = strlen(names[i]);
		body[n++] = 0x82;
		n += der_len(body + n, l);
		memcpy(body + n, names[i], l);
		n += l;
	}
	static const unsigned char ip4[] = {0x87, 4, 127, 0, 0, 1};
	static const unsigned char ip6[] = {0x87, 16, 0, 0, 0, 0, 0, 0, 0,
	                                    0,    0,  0, 0, 0, 0, 0, 0, 1};
	memcpy(body + n, ip4, sizeof ip4);
	n += sizeof ip4;
	memcpy(body + n, ip6, sizeof ip6);
	n += sizeof ip6;
	size_t o = 0;
	out[o++] = 0x30;
	o += der_len(out + o, n);
	memcpy(out + o, body, n);
	return o + n;
}

static bool host_ok(const char *h)
{
	size_t n = strlen(h);
	if (n == 0 || n > 253)
		return false;
	for (const char *p = h; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
			return false;
	return true;
}

static void fmt_time(char out[16], time_t t)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 16, "%Y%m%d%H%M%S", &tm);
}

static int generate(const char *crt_path, const char *key_path, const char *hostname, char *err,
                    size_t errlen)
{
	void *rng = tls_rng_ctx();
	if (!rng) {
		snprintf(err, errlen, "no random generator");
		return -1;
	}
	const char *host = hostname && host_ok(hostname) ? hostname : "localhost";
	mbedtls_pk_context key;
	mbedtls_x509write_cert crt;
	mbedtls_pk_init(&key);
	mbedtls_x509write_crt_init(&crt);
	unsigned char *pem = malloc(8192);
	int ret = -1, rc;
	const char *step = "allocating";
	if (!pem)
		goto out;

	step = "generating key";
	if ((rc = mbedtls_pk_setup(&key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY))) != 0 ||
	    (rc = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(key), tls_rng,
	                              rng)) != 0)
		goto mbed_fail;

	step = "building certificate";
	char subject[400];
	snprintf(subject, sizeof subject, "CN=%s,O=tern self-signed", host);
	unsigned char serial[16];
	if ((rc = tls_rng(rng, serial, sizeof serial)) != 0)
		goto mbed_fail;
	serial[0] &= 0x7f; /* positive */
	serial[0] |= 0x01; /* and full length */
	char nb[16], na[16];
	time_t now = time(NULL);
	fmt_time(nb, now - 86400);
	fmt_time(na, now + (time_t)3650 * 86400);
	static const unsigned char eku[] = {0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06,
	                                    0x01, 0x05, 0x05, 0x07, 0x03, 0x01};
	unsigned char san[800];
	size_t sanlen = build_san(san, host);

	mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&crt, &key);
	mbedtls_x509write_crt_set_issuer_key(&crt, &key);
	if ((rc = tc_crt_set_serial(&crt, serial, sizeof serial)) != 0 ||
	    (rc = mbedtls_x509write_crt_set_subject_name(&crt, subject)) != 0 ||
	    (rc = mbedtls_x509write_crt_set_issuer_name(&crt, subject)) != 0 ||
	    (rc = mbedtls_x509write_crt_set_validity(&crt, nb, na)) != 0 ||
	    (rc = mbedtls_x509write_crt_set_basic_constraints(&crt, 0, -1)) != 0 ||
	    (rc = mbedtls_x509write_crt_set_subject_key_identifier(&crt)) != 0 ||
	    (rc = mbedtls_x509write_crt_set_authority_key_identifier(&crt)) != 0 ||
	    (rc = mbedtls_x509write_crt_set_extension(
	         &crt, MBEDTLS_OID_SUBJECT_ALT_NAME, MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME),
	         0, san, sanlen)) != 0 ||
	    (rc = mbedtls_x509write_crt_set_extension(
	         &crt, MBEDTLS_OID_EXTENDED_KEY_USAGE,
	         MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE), 0, eku, sizeof eku)) != 0)
		goto mbed_fail;

	step = "writing key";
	if ((rc = mbedtls_pk_write_key_pem(&key, pem, 8192)) != 0)
		goto mbed_fail;
	if (file_write_atomic(key_path, pem, strlen((char *)pem), 0600, err, errlen) != 0)
		goto out_quiet;
	step = "writing certificate";
	if ((rc = mbedtls_x509write_crt_pem(&crt, pem, 8192, tls_rng, rng)) != 0)
		goto mbed_fail;
	if (file_write_atomic(crt_path, pem, strlen((char *)pem), 0644, err, errlen) != 0)
		goto out_quiet;
	ret = 0;
	goto out_quiet;
mbed_fail : {
	char e[128];
	mbedtls_strerror(rc, e, sizeof e);
	snprintf(err, errlen, "self-signed certificate: %s: %s", step, e);
	goto out_quiet;
}
out:
	snprintf(err, errlen, "self-signed certificate: %s failed", step);
out_quiet:
	if (pem)
		mbedtls_platform_zeroize(pem, 8192);
	free(pem);
	mbedtls_x509write_crt_free(&crt);
	mbedtls_pk_free(&key);
	return ret;
}

int tls_selfsigned_ensure(const char *dir, const char *hostname, char *err, size_t errlen)
{
	char crt[4096], key[4096];
	snprintf(crt, sizeof crt, "%s/selfsigned.crt", dir);
	snprintf(key, sizeof key, "%s/selfsigned.key", dir);
	if (access(crt, R_OK) == 0 && access(key, R_OK) == 0)
		return 0;
	return generate(crt, key, hostname, err, errlen);
}
