/* alpn: tls-alpn-01 challenge certificates (alpn.h).
 *
 * Why in memory: a challenge certificate lives seconds, is worthless after
 * its authorization and is never reloaded, so it is never written to disk.
 * Entries are heap blocks referenced from the table, so the pointers
 * handed to tls/ do not move when another entry is removed; tls/ uses them
 * only within the handshake step that asked, and an order removes an entry
 * only from a later loop turn. The SAN is encoded by hand (der.h), as for
 * the CSR: mbedTLS 2.28 has no SAN setter (this file is built there too,
 * although tls/ refuses the hook on 2.28). mbedTLS parses the result only
 * with a callback that accepts the critical acmeIdentifier extension. */
#include "acme/alpn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/ecp.h>
#include <mbedtls/oid.h>
#include <mbedtls/x509_crt.h>

#include "acme/challenge.h"
#include "tls/der.h"
#include "tls/rng.h"
#include "tls/tls_compat.h"

/* id-pe-acmeIdentifier, 1.3.6.1.5.5.7.1.31 (RFC 8737 §6.1) */
#define OID_ACME_IDENTIFIER "\x2b\x06\x01\x05\x05\x07\x01\x1f"

struct entry {
	char domain[256];
	mbedtls_x509_crt crt;
	mbedtls_pk_context key;
};

static struct entry *table[ACME_MAX_CHALLENGES];
static size_t used;

static void fmt_time(char out[16], time_t t)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 16, "%Y%m%d%H%M%S", &tm);
}

int acme_alpn_make_cert(const char *domain, const char *key_authorization, mbedtls_pk_context *key,
                        unsigned char *out, size_t outlen, size_t *len)
{
	size_t dl = strlen(domain);
	void *rng = tls_rng_ctx();
	if (dl == 0 || dl > 253 || !rng)
		return -1;
	/* SAN: SEQUENCE { [2] domain } */
	unsigned char san[270];
	size_t n = 0, inner = 1 + der_len(san, dl) + dl;
	san[n++] = 0x30;
	n += der_len(san + n, inner);
	san[n++] = 0x82;
	n += der_len(san + n, dl);
	memcpy(san + n, domain, dl);
	n += dl;
	/* acmeIdentifier: OCTET STRING (SHA-256 of the key authorization) */
	unsigned char ident[34] = {0x04, 0x20};
	if (tc_sha256((const unsigned char *)key_authorization, strlen(key_authorization),
	              ident + 2) != 0)
		return -1;
	char subject[300], nb[16], na[16];
	snprintf(subject, sizeof subject, "CN=%s", domain);
	time_t now = time(NULL);
	fmt_time(nb, now - 3600);
	fmt_time(na, now + 7 * 86400);
	unsigned char serial[16];
	if (tls_rng(rng, serial, sizeof serial) != 0)
		return -1;
	serial[0] = (unsigned char)((serial[0] & 0x7f) | 0x01);

	mbedtls_x509write_cert w;
	mbedtls_x509write_crt_init(&w);
	int rc;
	mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&w, key);
	mbedtls_x509write_crt_set_issuer_key(&w, key);
	if ((rc = tc_crt_set_serial(&w, serial, sizeof serial)) != 0 ||
	    (rc = mbedtls_x509write_crt_set_subject_name(&w, subject)) != 0 ||
	    (rc = mbedtls_x509write_crt_set_issuer_name(&w, subject)) != 0 ||
	    (rc = mbedtls_x509write_crt_set_validity(&w, nb, na)) != 0 ||
	    (rc = mbedtls_x509write_crt_set_extension(
	         &w, MBEDTLS_OID_SUBJECT_ALT_NAME, MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME),
	         0, san, n)) != 0 ||
	    (rc = mbedtls_x509write_crt_set_extension(&w, OID_ACME_IDENTIFIER,
	                                              MBEDTLS_OID_SIZE(OID_ACME_IDENTIFIER), 1,
	                                              ident, sizeof ident)) != 0)
		goto out;
	rc = mbedtls_x509write_crt_der(&w, out, outlen, tls_rng, rng);
	if (rc > 0) {
		/* written at the end of the buffer */
		memmove(out, out + outlen - (size_t)rc, (size_t)rc);
		*len = (size_t)rc;
		rc = 0;
	} else if (rc == 0) {
		rc = -1;
	}
out:
	mbedtls_x509write_crt_free(&w);
	return rc == 0 ? 0 : -1;
}

/* mbedTLS refuses a certificate with a critical extension it does not
 * know unless a callback accepts it: ours is acmeIdentifier. */
static int accept_acme_ext(void *ctx, mbedtls_x509_crt const *crt, mbedtls_x509_buf const *oid,
                           int critical, const unsigned char *p, const unsigned char *end)
{
	(void)ctx, (void)crt, (void)critical, (void)p, (void)end;
	return oid->len == MBEDTLS_OID_SIZE(OID_ACME_IDENTIFIER) &&
	               memcmp(oid->p, OID_ACME_IDENTIFIER, oid->len) == 0
	           ? 0
	           : -1;
}

static void entry_free(struct entry *e)
{
	mbedtls_x509_crt_free(&e->crt);
	mbedtls_pk_free(&e->key);
	free(e);
}

void acme_alpn_remove(const char *domain)
{
	for (size_t i = 0; i < used; i++)
		if (strcmp(table[i]->domain, domain) == 0) {
			entry_free(table[i]);
			table[i] = table[--used];
			return;
		}
}

int acme_alpn_add(const char *domain, const char *key_authorization)
{
	if (strlen(domain) >= sizeof table[0]->domain || !tls_rng_ctx())
		return -1;
	acme_alpn_remove(domain);
	if (used == ACME_MAX_CHALLENGES)
		return -1;
	struct entry *e = calloc(1, sizeof *e);
	unsigned char der[2048];
	size_t len = 0;
	if (!e)
		return -1;
	strcpy(e->domain, domain);
	mbedtls_x509_crt_init(&e->crt);
	mbedtls_pk_init(&e->key);
	if (mbedtls_pk_setup(&e->key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) != 0 ||
	    mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(e->key), tls_rng,
	                        tls_rng_ctx()) != 0 ||
	    acme_alpn_make_cert(domain, key_authorization, &e->key, der, sizeof der, &len) != 0 ||
	    mbedtls_x509_crt_parse_der_with_ext_cb(&e->crt, der, len, 1, accept_acme_ext, NULL) !=
	        0) {
		entry_free(e);
		return -1;
	}
	table[used++] = e;
	return 0;
}

int acme_alpn_lookup(void *ud, const char *sni, mbedtls_x509_crt **crt, mbedtls_pk_context **key)
{
	(void)ud;
	for (size_t i = 0; i < used; i++)
		if (strcmp(table[i]->domain, sni) == 0) {
			*crt = &table[i]->crt;
			*key = &table[i]->key;
			return 0;
		}
	return -1;
}

size_t acme_alpn_count(void)
{
	return used;
}

void acme_alpn_clear(void)
{
	while (used > 0)
		entry_free(table[--used]);
}
