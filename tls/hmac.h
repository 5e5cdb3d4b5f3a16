/* hmac: SHA-1 and SHA-256 digests, HMAC and PBKDF2 (RFC 8018), over
 * mbedTLS's generic message-digest API (the same in 2.28 and 3.x).
 *
 * What SCRAM (RFC 5802, RFC 7677) is built from: Hi() is PBKDF2 with one
 * output block, the keys are HMACs and digests. Below proto/sasl and auth/
 * so that both the exchange and the key derivation (password change,
 * first login) use one implementation. */
#ifndef TERN_TLS_HMAC_H
#define TERN_TLS_HMAC_H

#include <stddef.h>

enum hmac_hash { HMAC_SHA1 = 1, HMAC_SHA256 = 2 };

#define HMAC_MAX_LEN 32 /* the longest digest: SHA-256 */

/* 20 or 32. */
size_t hmac_len(enum hmac_hash h);
/* out = H(in). 0, or -1. */
int hmac_digest(enum hmac_hash h, const void *in, size_t len, unsigned char *out);
/* out = HMAC(key, in). 0, or -1. */
int hmac_sign(enum hmac_hash h, const void *key, size_t klen, const void *in, size_t len,
              unsigned char *out);
/* out = Hi(password, salt, iterations): the first PBKDF2-HMAC block,
 * hmac_len(h) bytes. 0, or -1 (iterations < 1). */
int hmac_pbkdf2(enum hmac_hash h, const void *password, size_t plen, const unsigned char *salt,
                size_t slen, unsigned iterations, unsigned char *out);

#endif
