/* dane: TLSA records (RFC 6698) and matching a presented certificate
 * chain against them for SMTP (RFC 7672, RFC 7671).
 *
 * Only what SMTP may use is usable: usage 3 DANE-EE (the leaf, no name or
 * expiry check, RFC 7672 3.1.1) and usage 2 DANE-TA (a certificate of the
 * chain as presented, which the leaf must chain to; the name and validity
 * are checked, RFC 7672 3.1.2); usages 0/1 (PKIX-*) are unusable for SMTP
 * (RFC 7672 3.1.3). Selector 0 (whole certificate DER) or 1
 * (SubjectPublicKeyInfo DER); matching 0 (exact), 1 (SHA-256), 2 (SHA-512).
 * A record with other values, or a digest of the wrong length, is
 * unusable; an RRset with no usable record means "no DANE" (RFC 7672 2.2).
 *
 * Pure: no I/O, no DNS; the caller passes the RDATA it got. */
#ifndef TERN_TLS_DANE_H
#define TERN_TLS_DANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mbedtls/x509_crt.h>

/* Full-certificate association data (matching 0) longer than this is not
 * kept (the record is unusable); digests are at most 64 bytes. */
#define DANE_TLSA_DATA_MAX 2048

enum dane_usage { DANE_PKIX_TA = 0, DANE_PKIX_EE = 1, DANE_TA = 2, DANE_EE = 3 };
enum dane_selector { DANE_SEL_CERT = 0, DANE_SEL_SPKI = 1 };
enum dane_mtype { DANE_MT_FULL = 0, DANE_MT_SHA256 = 1, DANE_MT_SHA512 = 2 };

struct dane_tlsa {
	uint8_t usage, selector, mtype;
	size_t len;
	uint8_t data[DANE_TLSA_DATA_MAX];
};

/* Parse one TLSA RDATA. Returns 0, or -1 (with *why) when it is malformed
 * (shorter than 4 bytes, data too long to keep, a SHA-256/512 digest of the
 * wrong length). A parsed record may still be unusable. */
int dane_tlsa_parse(const uint8_t *rdata, size_t len, struct dane_tlsa *out, const char **why);

/* Usage 2 or 3, selector 0 or 1, matching 0, 1 or 2. */
bool dane_tlsa_usable(const struct dane_tlsa *t);

enum dane_result {
	DANE_MATCH = 0, /* a usable record matched (and, for DANE-TA, the chain verified) */
	DANE_NO_USABLE, /* none of the records is usable: DANE does not apply */
	DANE_NO_MATCH,  /* usable records, none matched: "tlsa-invalid" */
	DANE_NO_CERT,   /* the peer presented no certificate */
};

/* Match the chain as presented (leaf first, as mbedtls_ssl_get_peer_cert
 * gives it) against the records. host: the name the DANE-TA chain's leaf
 * must carry (the MX host name, RFC 7672 3.2.2); unused for DANE-EE.
 * *why (may be NULL) says what failed, for logs. */
enum dane_result dane_match_chain(const struct dane_tlsa *recs, size_t n,
                                  const mbedtls_x509_crt *chain, const char *host,
                                  const char **why);

#endif
