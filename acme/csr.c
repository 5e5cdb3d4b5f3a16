/* csr: CSR with a SAN extension (csr.h). mbedTLS 2.28 has no SAN setter
 * for requests, so the GeneralNames are encoded here. */
#include "acme/csr.h"

#include <stdio.h>
#include <string.h>

#include <mbedtls/oid.h>
#include <mbedtls/x509_csr.h>

#include "tls/der.h"
#include "tls/rng.h"
#include "tls/tls_compat.h"

int acme_csr_make(mbedtls_pk_context *key, char *const *domains, size_t ndomains,
                  unsigned char *out, size_t outlen, size_t *len)
{
	if (ndomains == 0 || ndomains > ACME_MAX_DOMAINS)
		return -1;
	unsigned char body[ACME_MAX_DOMAINS * 260], san[sizeof body + 8];
	size_t n = 0;
	for (size_t i = 0; i < ndomains; i++) {
		size_t l = strlen(domains[i]);
		if (l == 0 || l > 253)
			return -1;
		body[n++] = 0x82; /* [2] dNSName */
		n += der_len(body + n, l);
		memcpy(body + n, domains[i], l);
		n += l;
	}
	size_t s = 0;
	san[s++] = 0x30;
	s += der_len(san + s, n);
	memcpy(san + s, body, n);
	s += n;

	char subject[300];
	if (snprintf(subject, sizeof subject, "CN=%s", domains[0]) >= (int)sizeof subject)
		return -1;
	mbedtls_x509write_csr csr;
	mbedtls_x509write_csr_init(&csr);
	mbedtls_x509write_csr_set_md_alg(&csr, MBEDTLS_MD_SHA256);
	mbedtls_x509write_csr_set_key(&csr, key);
	int rc = mbedtls_x509write_csr_set_subject_name(&csr, subject);
	if (rc == 0)
		rc = tc_csr_set_extension(&csr, MBEDTLS_OID_SUBJECT_ALT_NAME,
		                          MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), san, s);
	if (rc == 0)
		rc = mbedtls_x509write_csr_der(&csr, out, outlen, tls_rng, tls_rng_ctx());
	mbedtls_x509write_csr_free(&csr);
	if (rc <= 0)
		return -1;
	/* mbedTLS writes at the end of the buffer. */
	memmove(out, out + outlen - (size_t)rc, (size_t)rc);
	*len = (size_t)rc;
	return 0;
}
