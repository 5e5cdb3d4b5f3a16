/* dkim_sign_base: the signing identity and message intake shared by the
 * DKIM signer and the ARC sealer (dkim_sign_base.h). */
#include "mailauth/dkim_sign_base.h"

#include <string.h>

int dkim_sign_base_init(struct dkim_sign_base *b, struct dkim_signing_key *key, const char *domain,
                        const char *selector, int64_t now, enum dkim_canon body_canon)
{
	if (strlen(domain) >= sizeof b->domain || strlen(selector) >= sizeof b->selector)
		return -1;
	b->key = key;
	strcpy(b->domain, domain);
	strcpy(b->selector, selector);
	b->now = now;
	dkim_body_init(&b->body, body_canon, DKIM_BODY_NO_LIMIT);
	return 0;
}

void dkim_sign_base_feed(struct dkim_sign_base *b, const void *data, size_t len)
{
	dkim_msg_take(&b->msg, &data, &len);
	if (len)
		dkim_body_feed(&b->body, data, len);
}

void dkim_sign_base_free(struct dkim_sign_base *b)
{
	dkim_msg_free(&b->msg);
}

const char *dkim_sign_base_alg(const struct dkim_sign_base *b)
{
	return dkim_signing_key_alg(b->key) == DKIM_ALG_RSA_SHA256 ? "rsa-sha256"
	                                                           : "ed25519-sha256";
}

void dkim_sign_base_body_hash(struct dkim_sign_base *b, char bh64[64])
{
	unsigned char bh[32];
	dkim_body_final(&b->body, bh);
	sodium_bin2base64(bh64, 64, bh, sizeof bh, sodium_base64_VARIANT_ORIGINAL);
}

int dkim_sign_base_sign(struct dkim_sign_base *b, crypto_hash_sha256_state *sha,
                        char b64[DKIM_SIGN_B64_MAX])
{
	unsigned char hash[32], sig[DKIM_SIG_MAX];
	size_t sig_len = 0;
	crypto_hash_sha256_final(sha, hash);
	if (dkim_signing_key_sign(b->key, hash, sig, sizeof sig, &sig_len) < 0)
		return -1;
	sodium_bin2base64(b64, DKIM_SIGN_B64_MAX, sig, sig_len, sodium_base64_VARIANT_ORIGINAL);
	return 0;
}
