/* jws: account key, JWK, thumbprint and ES256 signing (jws.h).
 *
 * Why the detour through DER: mbedTLS signs ECDSA into an ASN.1 SEQUENCE
 * of two INTEGERs (minimal, maybe with a leading zero), JWS wants the two
 * numbers as 32 big-endian bytes each. The public point is read from the
 * SubjectPublicKeyInfo that mbedTLS writes, whose last 65 bytes are the
 * uncompressed point 04 || X || Y: the same code on mbedTLS 2.28 and 3.x,
 * whose key structs differ. JSON is built and printed by jansson; sorted
 * compact output is exactly RFC 7638's canonical form. */
#include "lib/file.h"
#include "acme/jws.h"
#include "acme/b64url.h"
#include "acme/files.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <mbedtls/ecp.h>
#include <mbedtls/error.h>

#include "tls/rng.h"
#include "tls/tls_compat.h"

int acme_key_generate(mbedtls_pk_context *pk)
{
	int rc = mbedtls_pk_setup(pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
	if (rc == 0)
		rc = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(*pk), tls_rng,
		                         tls_rng_ctx());
	return rc;
}

int acme_jwk_thumbprint(const char *jwk_json, char out[48])
{
	json_t *j = json_loads(jwk_json, 0, NULL);
	if (!j)
		return -1;
	char *canon = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	if (!canon)
		return -1;
	unsigned char h[32];
	tc_sha256((const unsigned char *)canon, strlen(canon), h);
	free(canon);
	return b64url_encode(h, sizeof h, out, 48) ? 0 : -1;
}

int acme_key_describe(struct acme_key *k)
{
	if (mbedtls_pk_get_type(&k->pk) != MBEDTLS_PK_ECKEY)
		return -1;
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
	if (mbedtls_pk_ec(k->pk)->MBEDTLS_PRIVATE(grp).id != MBEDTLS_ECP_DP_SECP256R1)
		return -1;
#else
	if (mbedtls_pk_ec(k->pk)->grp.id != MBEDTLS_ECP_DP_SECP256R1)
		return -1;
#endif
	unsigned char der[200];
	int n = mbedtls_pk_write_pubkey_der(&k->pk, der, sizeof der);
	if (n < 65)
		return -1;
	const unsigned char *pt = der + sizeof der - 65;
	if (pt[0] != 0x04)
		return -1;
	char x[48], y[48];
	b64url_encode(pt + 1, 32, x, sizeof x);
	b64url_encode(pt + 33, 32, y, sizeof y);
	json_t *j = json_pack("{s:s, s:s, s:s, s:s}", "crv", "P-256", "kty", "EC", "x", x, "y", y);
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(j);
	if (!s || strlen(s) >= sizeof k->jwk) {
		free(s);
		return -1;
	}
	strcpy(k->jwk, s);
	free(s);
	return acme_jwk_thumbprint(k->jwk, k->thumbprint);
}

int acme_key_load_or_create(struct acme_key *k, const char *path, char *err, size_t errlen)
{
	mbedtls_pk_init(&k->pk);
	struct stat st;
	int rc;
	if (stat(path, &st) == 0) {
		if ((rc = tc_pk_parse_keyfile(&k->pk, path, tls_rng_ctx())) != 0) {
			char e[128];
			mbedtls_strerror(rc, e, sizeof e);
			snprintf(err, errlen, "loading %s: %s", path, e);
			return -1;
		}
	} else {
		unsigned char pem[800];
		if ((rc = acme_key_generate(&k->pk)) != 0 ||
		    (rc = mbedtls_pk_write_key_pem(&k->pk, pem, sizeof pem)) != 0) {
			snprintf(err, errlen, "making the account key: -0x%04x", (unsigned)-rc);
			return -1;
		}
		rc = file_write_atomic(path, pem, strlen((char *)pem), 0600, err, errlen);
		memset(pem, 0, sizeof pem);
		if (rc != 0)
			return -1;
	}
	if (acme_key_describe(k) != 0) {
		snprintf(err, errlen, "%s: not a P-256 key", path);
		return -1;
	}
	return 0;
}

void acme_key_free(struct acme_key *k)
{
	mbedtls_pk_free(&k->pk);
}

/* DER INTEGER at *p (end e) into 32 bytes, right-aligned. */
static int der_int(const unsigned char **p, const unsigned char *e, unsigned char out[32])
{
	if (e - *p < 2 || (*p)[0] != 0x02)
		return -1;
	size_t n = (*p)[1];
	*p += 2;
	if (n == 0 || n > 33 || (size_t)(e - *p) < n)
		return -1;
	const unsigned char *v = *p;
	*p += n;
	while (n > 32) {
		if (*v != 0)
			return -1;
		v++;
		n--;
	}
	memset(out, 0, 32);
	memcpy(out + 32 - n, v, n);
	return 0;
}

int acme_ecdsa_der_to_raw(const unsigned char *der, size_t len, unsigned char out[64])
{
	/* P-256: the SEQUENCE is at most 72 bytes, so its length is one byte. */
	if (len < 8 || der[0] != 0x30 || der[1] != len - 2)
		return -1;
	const unsigned char *p = der + 2, *e = der + len;
	if (der_int(&p, e, out) != 0 || der_int(&p, e, out + 32) != 0 || p != e)
		return -1;
	return 0;
}

char *acme_jws(struct acme_key *k, const char *url, const char *nonce, const char *kid,
               const char *payload)
{
	json_t *prot = json_pack("{s:s, s:s, s:s}", "alg", "ES256", "nonce", nonce, "url", url);
	if (!prot)
		return NULL;
	if (kid) {
		json_object_set_new(prot, "kid", json_string(kid));
	} else {
		json_t *jwk = json_loads(k->jwk, 0, NULL);
		if (!jwk) {
			json_decref(prot);
			return NULL;
		}
		json_object_set_new(prot, "jwk", jwk);
	}
	char *prot_s = json_dumps(prot, JSON_COMPACT);
	json_decref(prot);
	char *prot_b = prot_s ? b64url_dup(prot_s, strlen(prot_s)) : NULL;
	char *pay_b = b64url_dup(payload, strlen(payload));
	free(prot_s);
	char *out = NULL, *input = NULL;
	if (!prot_b || !pay_b)
		goto done;
	size_t ilen = strlen(prot_b) + 1 + strlen(pay_b);
	if (!(input = malloc(ilen + 1)))
		goto done;
	snprintf(input, ilen + 1, "%s.%s", prot_b, pay_b);
	unsigned char h[32], der[MBEDTLS_PK_SIGNATURE_MAX_SIZE + 128], raw[64];
	size_t dlen = 0;
	tc_sha256((const unsigned char *)input, ilen, h);
	if (tc_pk_sign(&k->pk, h, der, sizeof der, &dlen, tls_rng_ctx()) != 0 ||
	    acme_ecdsa_der_to_raw(der, dlen, raw) != 0)
		goto done;
	char sig[100];
	b64url_encode(raw, sizeof raw, sig, sizeof sig);
	json_t *jws =
	    json_pack("{s:s, s:s, s:s}", "protected", prot_b, "payload", pay_b, "signature", sig);
	if (jws) {
		out = json_dumps(jws, JSON_COMPACT);
		json_decref(jws);
	}
done:
	free(input);
	free(prot_b);
	free(pay_b);
	return out;
}
