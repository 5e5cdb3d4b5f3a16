/* dkim_key: key records, verifying and signing (dkim_key.h).
 *
 * RSA public keys are published as a SubjectPublicKeyInfo (what every
 * signer writes, RFC 6376 §3.6.1 in practice); a bare PKCS#1
 * RSAPublicKey, which the RFC's text allows, is wrapped into one before
 * mbedTLS parses it. The key is parsed per verification: a TXT answer is
 * used once. A signing key is parsed once and kept by its caller. */
#include "mailauth/dkim_key.h"

#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailauth/dkim_tags.h"
#include "tls/der.h"
#include "tls/rng.h"
#include "tls/tls_compat.h"

/* Calls fn for each item of a colon-separated list, trimmed of FWS. */
static bool list_has(const struct dkim_tag *t, const char *want)
{
	const char *p = t->value, *end = p + t->value_len;
	size_t wl = strlen(want);
	while (p <= end) {
		const char *c = memchr(p, ':', (size_t)(end - p));
		const char *e = c ? c : end;
		const char *a = p, *b = e;
		while (a < b && (*a == ' ' || *a == '\t' || *a == '\r' || *a == '\n'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r' || b[-1] == '\n'))
			b--;
		if ((size_t)(b - a) == wl && memcmp(a, want, wl) == 0)
			return true;
		if (!c)
			break;
		p = c + 1;
	}
	return false;
}

int dkim_key_record_parse(const char *txt, size_t len, struct dkim_key_record *out,
                          const char **why)
{
	memset(out, 0, sizeof *out);
	struct dkim_tags tags;
	if (len > DKIM_KEY_RECORD_MAX || dkim_tags_parse(txt, len, &tags) < 0) {
		*why = "key record syntax error";
		return -1;
	}
	const struct dkim_tag *v = dkim_tags_get(&tags, "v");
	if (v && (v != &tags.tag[0] || !dkim_tag_is(v, "DKIM1"))) {
		*why = "key record version is not DKIM1";
		return -1;
	}
	const struct dkim_tag *k = dkim_tags_get(&tags, "k");
	if (!k || dkim_tag_is(k, "rsa"))
		out->key_type = DKIM_ALG_RSA_SHA256;
	else if (dkim_tag_is(k, "ed25519"))
		out->key_type = DKIM_ALG_ED25519_SHA256;
	else {
		*why = "unknown key type (k=)";
		return -1;
	}
	const struct dkim_tag *h = dkim_tags_get(&tags, "h");
	out->sha256_ok = !h || list_has(h, "sha256");
	const struct dkim_tag *s = dkim_tags_get(&tags, "s");
	if (s && !list_has(s, "*") && !list_has(s, "email")) {
		*why = "key is not for email (s=)";
		return -1;
	}
	const struct dkim_tag *t = dkim_tags_get(&tags, "t");
	if (t) {
		out->strict = list_has(t, "s");
		out->testing = list_has(t, "y");
	}
	const struct dkim_tag *p = dkim_tags_get(&tags, "p");
	if (!p) {
		*why = "key record has no p=";
		return -1;
	}
	if (p->value_len == 0) {
		out->revoked = true;
		return 0;
	}
	if (sodium_base642bin(out->pub, sizeof out->pub, p->value, p->value_len, " \t\r\n",
	                      &out->pub_len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    out->pub_len == 0) {
		*why = "key record p= is not base64";
		return -1;
	}
	return 0;
}

/* SubjectPublicKeyInfo { rsaEncryption, BIT STRING { RSAPublicKey } } */
static size_t wrap_pkcs1(const unsigned char *rsa, size_t n, unsigned char *out, size_t cap)
{
	static const unsigned char alg[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
	                                    0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};
	unsigned char bl[4], sl[4];
	size_t bln = der_len(bl, n + 1);
	size_t inner = sizeof alg + 1 + bln + 1 + n;
	size_t sln = der_len(sl, inner);
	if (1 + sln + inner > cap)
		return 0;
	size_t o = 0;
	out[o++] = 0x30;
	memcpy(out + o, sl, sln), o += sln;
	memcpy(out + o, alg, sizeof alg), o += sizeof alg;
	out[o++] = 0x03;
	memcpy(out + o, bl, bln), o += bln;
	out[o++] = 0x00;
	memcpy(out + o, rsa, n), o += n;
	return o;
}

static int verify_rsa(const struct dkim_key_record *k, const unsigned char hash[32],
                      const unsigned char *sig, size_t sig_len, const char **why)
{
	mbedtls_pk_context pk;
	mbedtls_pk_init(&pk);
	int rc = mbedtls_pk_parse_public_key(&pk, k->pub, k->pub_len);
	if (rc != 0) {
		unsigned char spki[2100];
		size_t n = wrap_pkcs1(k->pub, k->pub_len, spki, sizeof spki);
		mbedtls_pk_free(&pk);
		mbedtls_pk_init(&pk);
		rc = n ? mbedtls_pk_parse_public_key(&pk, spki, n) : -1;
	}
	int ret = -2;
	if (rc != 0 || mbedtls_pk_get_type(&pk) != MBEDTLS_PK_RSA)
		*why = "key record p= is not an RSA public key";
	else if (mbedtls_pk_get_bitlen(&pk) < DKIM_RSA_MIN_BITS)
		*why = "RSA key shorter than 1024 bits (RFC 8301)";
	else if (mbedtls_pk_get_bitlen(&pk) > DKIM_RSA_MAX_BITS)
		*why = "RSA key longer than 8192 bits";
	else
		ret =
		    mbedtls_pk_verify(&pk, MBEDTLS_MD_SHA256, hash, 32, sig, sig_len) == 0 ? 0 : -1;
	mbedtls_pk_free(&pk);
	return ret;
}

int dkim_key_verify(const struct dkim_key_record *k, const unsigned char hash[32],
                    const unsigned char *sig, size_t sig_len, const char **why)
{
	if (k->key_type == DKIM_ALG_RSA_SHA256)
		return verify_rsa(k, hash, sig, sig_len, why);
	if (k->pub_len != crypto_sign_PUBLICKEYBYTES) {
		*why = "key record p= is not an Ed25519 public key";
		return -2;
	}
	if (sig_len != crypto_sign_BYTES)
		return -1;
	return crypto_sign_verify_detached(sig, hash, 32, k->pub) == 0 ? 0 : -1;
}

struct dkim_signing_key {
	enum dkim_alg alg;
	mbedtls_pk_context pk;                        /* RSA */
	unsigned char sk[crypto_sign_SECRETKEYBYTES]; /* Ed25519 */
};

struct dkim_signing_key *dkim_signing_key_load(const char *algorithm, const char *private_text,
                                               char *err, size_t errlen)
{
	struct dkim_signing_key *k = calloc(1, sizeof *k);
	if (!k) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	mbedtls_pk_init(&k->pk);
	if (strcmp(algorithm, "rsa-sha256") == 0) {
		k->alg = DKIM_ALG_RSA_SHA256;
		int rc = tc_pk_parse_key(&k->pk, (const unsigned char *)private_text,
		                         strlen(private_text) + 1, tls_rng_ctx());
		if (rc != 0 || mbedtls_pk_get_type(&k->pk) != MBEDTLS_PK_RSA ||
		    mbedtls_pk_get_bitlen(&k->pk) < DKIM_RSA_MIN_BITS) {
			snprintf(err, errlen, "not an RSA private key of 1024 bits or more");
			goto fail;
		}
	} else if (strcmp(algorithm, "ed25519-sha256") == 0) {
		k->alg = DKIM_ALG_ED25519_SHA256;
		unsigned char seed[crypto_sign_SEEDBYTES], pk[crypto_sign_PUBLICKEYBYTES];
		size_t n = 0;
		int rc = sodium_base642bin(seed, sizeof seed, private_text, strlen(private_text),
		                           " \t\r\n", &n, NULL, sodium_base64_VARIANT_ORIGINAL);
		if (rc != 0 || n != sizeof seed || crypto_sign_seed_keypair(pk, k->sk, seed) != 0) {
			sodium_memzero(seed, sizeof seed);
			snprintf(err, errlen, "not the base64 of a 32-byte Ed25519 seed");
			goto fail;
		}
		sodium_memzero(seed, sizeof seed);
	} else {
		snprintf(err, errlen, "unknown algorithm '%s'", algorithm);
		goto fail;
	}
	return k;
fail:
	dkim_signing_key_free(&k);
	return NULL;
}

void dkim_signing_key_free(struct dkim_signing_key **kp)
{
	struct dkim_signing_key *k = *kp;
	if (!k)
		return;
	mbedtls_pk_free(&k->pk);
	sodium_memzero(k, sizeof *k);
	free(k);
	*kp = NULL;
}

enum dkim_alg dkim_signing_key_alg(const struct dkim_signing_key *k)
{
	return k->alg;
}

int dkim_signing_key_sign(struct dkim_signing_key *k, const unsigned char hash[32],
                          unsigned char *sig, size_t sig_size, size_t *sig_len)
{
	if (k->alg == DKIM_ALG_ED25519_SHA256) {
		unsigned long long n = 0;
		if (sig_size < crypto_sign_BYTES ||
		    crypto_sign_detached(sig, &n, hash, 32, k->sk) != 0)
			return -1;
		*sig_len = (size_t)n;
		return 0;
	}
	void *rng = tls_rng_ctx();
	if (!rng)
		return -1;
	return tc_pk_sign(&k->pk, hash, sig, sig_size, sig_len, rng) == 0 ? 0 : -1;
}

int dkim_key_verify_txt(const char *const *txt, const size_t *txt_len, size_t n, enum dkim_alg alg,
                        const unsigned char hash[32], const unsigned char *sig, size_t sig_len,
                        const char **why)
{
	struct dkim_key_record *k = malloc(sizeof *k);
	if (!k) {
		*why = "out of memory";
		return -2;
	}
	const char *first = NULL;
	int rc = -2;
	for (size_t i = 0; i < n && rc == -2; i++) {
		const char *w = NULL;
		if (dkim_key_record_parse(txt[i], txt_len[i], k, &w) < 0)
			;
		else if (k->key_type != alg)
			w = "inappropriate key algorithm";
		else if (k->revoked)
			w = "key revoked";
		else if (!k->sha256_ok)
			w = "inappropriate hash algorithm (key h=)";
		else
			rc = dkim_key_verify(k, hash, sig, sig_len, &w);
		if (rc == -1)
			w = "signature did not verify";
		if (!first)
			first = w;
	}
	free(k);
	*why = rc == 0 ? "" : first ? first : "no key for signature";
	return rc;
}
