/* dane: TLSA parsing and certificate-chain matching (contract in dane.h).
 *
 * Why in tls/ and not mailauth/: it is certificate work on mbedTLS
 * structures (DER of the certificate and of its SubjectPublicKeyInfo,
 * chain verification against a trust anchor), used by the relay's TLS
 * client; nothing in it is about mail. tls/ is the floor both net/ and
 * relay/ may include.
 *
 * DANE-TA: the trust anchor is a certificate of the presented chain whose
 * data matches; the chain is then verified by mbedTLS with that one
 * certificate as the only trusted CA and the MX host as the expected
 * name. DANE-EE: the leaf's data must match, nothing else is checked. */
#include "tls/dane.h"
#include "tls/tls_compat.h"

#include <string.h>

int dane_tlsa_parse(const uint8_t *rdata, size_t len, struct dane_tlsa *out, const char **why)
{
	const char *dummy;
	if (!why)
		why = &dummy;
	if (!rdata || len < 4) {
		*why = "TLSA RDATA shorter than 4 bytes";
		return -1;
	}
	out->usage = rdata[0];
	out->selector = rdata[1];
	out->mtype = rdata[2];
	out->len = len - 3;
	if (out->len > DANE_TLSA_DATA_MAX) {
		*why = "TLSA association data too long";
		return -1;
	}
	if ((out->mtype == DANE_MT_SHA256 && out->len != 32) ||
	    (out->mtype == DANE_MT_SHA512 && out->len != 64)) {
		*why = "TLSA digest of the wrong length";
		return -1;
	}
	memcpy(out->data, rdata + 3, out->len);
	return 0;
}

bool dane_tlsa_usable(const struct dane_tlsa *t)
{
	return (t->usage == DANE_TA || t->usage == DANE_EE) &&
	       (t->selector == DANE_SEL_CERT || t->selector == DANE_SEL_SPKI) &&
	       t->mtype <= DANE_MT_SHA512;
}

/* Does the record's data match this certificate? */
static bool cert_matches(const struct dane_tlsa *t, const mbedtls_x509_crt *crt)
{
	const unsigned char *der;
	size_t len;
	if (t->selector == DANE_SEL_CERT) {
		der = crt->raw.p;
		len = crt->raw.len;
	} else {
		der = crt->pk_raw.p;
		len = crt->pk_raw.len;
	}
	if (!der || len == 0)
		return false;
	unsigned char digest[64];
	switch (t->mtype) {
	case DANE_MT_FULL:
		return t->len == len && memcmp(t->data, der, len) == 0;
	case DANE_MT_SHA256:
		return tc_sha256(der, len, digest) == 0 && memcmp(t->data, digest, 32) == 0;
	case DANE_MT_SHA512:
		return tc_sha512(der, len, digest) == 0 && memcmp(t->data, digest, 64) == 0;
	}
	return false;
}

/* Verify the presented chain with anchor as the only trusted certificate
 * and host as the leaf's name. */
static bool chain_verifies(const mbedtls_x509_crt *chain, const mbedtls_x509_crt *anchor,
                           const char *host)
{
	mbedtls_x509_crt ta;
	mbedtls_x509_crt_init(&ta);
	bool ok = false;
	if (mbedtls_x509_crt_parse_der(&ta, anchor->raw.p, anchor->raw.len) == 0) {
		uint32_t flags = 0;
		ok =
		    mbedtls_x509_crt_verify((mbedtls_x509_crt *)chain, &ta, NULL,
		                            host && *host ? host : NULL, &flags, NULL, NULL) == 0 &&
		    flags == 0;
	}
	mbedtls_x509_crt_free(&ta);
	return ok;
}

enum dane_result dane_match_chain(const struct dane_tlsa *recs, size_t n,
                                  const mbedtls_x509_crt *chain, const char *host, const char **why)
{
	const char *dummy;
	if (!why)
		why = &dummy;
	size_t usable = 0;
	for (size_t i = 0; i < n; i++)
		usable += dane_tlsa_usable(&recs[i]);
	if (usable == 0) {
		*why = "no usable TLSA record";
		return DANE_NO_USABLE;
	}
	if (!chain || !chain->raw.p) {
		*why = "no peer certificate";
		return DANE_NO_CERT;
	}
	*why = "no TLSA record matches the certificate chain";
	/* DANE-EE first: the cheap and the common case. */
	for (size_t i = 0; i < n; i++)
		if (dane_tlsa_usable(&recs[i]) && recs[i].usage == DANE_EE &&
		    cert_matches(&recs[i], chain))
			return DANE_MATCH;
	/* DANE-TA: a certificate above the leaf (bounded by the chain mbedTLS
	 * accepted from the peer). */
	int depth = 0;
	for (const mbedtls_x509_crt *c = chain->next; c && c->raw.p && depth < 16;
	     c = c->next, depth++)
		for (size_t i = 0; i < n; i++) {
			if (!dane_tlsa_usable(&recs[i]) || recs[i].usage != DANE_TA ||
			    !cert_matches(&recs[i], c))
				continue;
			if (chain_verifies(chain, c, host))
				return DANE_MATCH;
			*why =
			    "the DANE-TA trust anchor matches but the chain does not verify to it "
			    "for the MX name";
		}
	return DANE_NO_MATCH;
}
