/* challenge: the http-01 tokens being validated now, and their key
 * authorizations (RFC 8555 §8.3), for proto/http to answer
 * GET /.well-known/acme-challenge/<token>.
 *
 * A small fixed table, on the loop thread only: an order adds its tokens
 * before it tells the CA to validate and removes them when the order is
 * done, whatever the outcome. */
#ifndef TERN_ACME_CHALLENGE_H
#define TERN_ACME_CHALLENGE_H

#include <stddef.h>

#define ACME_MAX_CHALLENGES 64

/* 0, or -1 when the table is full or the token is not base64url. */
int acme_challenge_add(const char *token, const char *key_authorization);
void acme_challenge_remove(const char *token);
/* The key authorization for token (len bytes, not NUL-terminated), or
 * NULL. */
const char *acme_challenge_lookup(const char *token, size_t len);
size_t acme_challenge_count(void);

#endif
