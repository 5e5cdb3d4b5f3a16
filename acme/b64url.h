/* b64url: base64url without padding (RFC 4648 §5, RFC 7515 §2), the
 * encoding of every binary field in ACME's JWS and JWK. */
#ifndef TERN_ACME_B64URL_H
#define TERN_ACME_B64URL_H

#include <stddef.h>

/* Encoded length of n bytes (no NUL). */
size_t b64url_len(size_t n);
/* Encode n bytes into out (room for b64url_len(n) + 1); returns the
 * length, or 0 if outlen is too small (out is then ""). */
size_t b64url_encode(const void *in, size_t n, char *out, size_t outlen);
/* A malloc'd encoding, or NULL. */
char *b64url_dup(const void *in, size_t n);

#endif
