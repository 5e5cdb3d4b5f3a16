/* dkim_key: DKIM keys, both sides. The key record in DNS (RFC 6376
 * §3.6.1) parsed and checked, its public key verifying a signature; and a
 * private key from the store (admin/dkim.c's format) signing one.
 *
 * Algorithms: rsa-sha256 (RFC 8301: at least 1024 bits, SHA-1 refused)
 * with mbedTLS, and ed25519-sha256 (RFC 8463) with libsodium. Both sign
 * the SHA-256 of the canonicalized header fields. */
#ifndef TERN_MAILAUTH_DKIM_KEY_H
#define TERN_MAILAUTH_DKIM_KEY_H

#include <stdbool.h>
#include <stddef.h>

enum dkim_alg { DKIM_ALG_RSA_SHA256 = 1, DKIM_ALG_ED25519_SHA256 = 2 };

#define DKIM_RSA_MIN_BITS 1024 /* RFC 8301 §3.2 */
#define DKIM_RSA_MAX_BITS 8192
#define DKIM_SIG_MAX 1024 /* an RSA-8192 signature */
#define DKIM_KEY_RECORD_MAX 4096

/* A key record, parsed and checked (the public key not yet). */
struct dkim_key_record {
	enum dkim_alg key_type; /* k=: rsa or ed25519 */
	bool revoked;           /* empty p= */
	bool strict;            /* t=s: i= must be d= exactly */
	bool testing;           /* t=y */
	bool sha256_ok;         /* h= absent or lists sha256 */
	unsigned char pub[2048];
	size_t pub_len;
};

/* Parses one TXT record (its strings joined). 0, or -1 with *why: a
 * syntax error, v= not DKIM1 or not first, an unknown k=, s= without
 * email or *, a p= that is not base64. */
int dkim_key_record_parse(const char *txt, size_t len, struct dkim_key_record *out,
                          const char **why);

/* Verifies sig over hash with the record's public key. 0 (good), -1 (bad
 * signature) or -2 with *why (an unusable key: not parsable, RSA too
 * short or too long). */
int dkim_key_verify(const struct dkim_key_record *k, const unsigned char hash[32],
                    const unsigned char *sig, size_t sig_len, const char **why);

/* Verifies sig over hash with the first of the n TXT records (a key's
 * answer from DNS) that parses, is for alg, not revoked and allows
 * sha256. 0 (good), -1 (bad signature) or -2 with *why (no usable key).
 * For ARC, whose keys
 * are DKIM keys without DKIM's i=/t=s checks (RFC 8617 §4.1.3). */
int dkim_key_verify_txt(const char *const *txt, const size_t *txt_len, size_t n, enum dkim_alg alg,
                        const unsigned char hash[32], const unsigned char *sig, size_t sig_len,
                        const char **why);

/* A private key, loaded once, signing many messages. */
struct dkim_signing_key;

/* algorithm: "rsa-sha256" or "ed25519-sha256" (store/dkim.h); private_text:
 * PEM (RSA) or the base64 of the 32-byte seed (Ed25519). NULL on error. */
struct dkim_signing_key *dkim_signing_key_load(const char *algorithm, const char *private_text,
                                               char *err, size_t errlen);
void dkim_signing_key_free(struct dkim_signing_key **k);
enum dkim_alg dkim_signing_key_alg(const struct dkim_signing_key *k);
/* Signs hash; 0 with sig/sig_len, or -1. RSA draws on tls/rng.h (seed it
 * on the loop before signing in a worker). */
int dkim_signing_key_sign(struct dkim_signing_key *k, const unsigned char hash[32],
                          unsigned char *sig, size_t sig_size, size_t *sig_len);

#endif
