/* dkim_sign_base: what the DKIM signer (dkim_sign.c) and the ARC sealer
 * (arc_seal.c) share. Both sign as one identity (key, d=, s=, t=), take
 * the message as it streams (header fields kept, the body hashed for bh=)
 * and turn a header hash into a b= value; they differ in the fields they
 * write and what those sign, which stays in their own files. */
#ifndef TERN_MAILAUTH_DKIM_SIGN_BASE_H
#define TERN_MAILAUTH_DKIM_SIGN_BASE_H

#include <sodium.h>
#include <stdint.h>

#include "mailauth/dkim_canon.h"
#include "mailauth/dkim_key.h"
#include "mailauth/dkim_msg.h"

/* base64 of the largest signature, with its NUL */
#define DKIM_SIGN_B64_MAX (DKIM_SIG_MAX * 4 / 3 + 8)

struct dkim_sign_base {
	struct dkim_signing_key *key;
	char domain[256], selector[256];
	int64_t now;
	struct dkim_msg msg;
	struct dkim_body body;
};

/* b zeroed before (calloc). -1 when domain or selector is too long. */
int dkim_sign_base_init(struct dkim_sign_base *b, struct dkim_signing_key *key, const char *domain,
                        const char *selector, int64_t now, enum dkim_canon body_canon);
void dkim_sign_base_feed(struct dkim_sign_base *b, const void *data, size_t len);
void dkim_sign_base_free(struct dkim_sign_base *b);

/* "rsa-sha256" or "ed25519-sha256", by the key. */
const char *dkim_sign_base_alg(const struct dkim_sign_base *b);
/* Ends the body: bh= in base64. */
void dkim_sign_base_body_hash(struct dkim_sign_base *b, char bh64[64]);
/* Finishes the header hash sha and signs it: b= in base64. -1: the key
 * could not sign. */
int dkim_sign_base_sign(struct dkim_sign_base *b, crypto_hash_sha256_state *sha,
                        char b64[DKIM_SIGN_B64_MAX]);

#endif
