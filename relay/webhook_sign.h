/* webhook_sign: the Tern-Signature header of a webhook POST.
 *
 * Stripe's scheme: "t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>".
 * The timestamp is inside what is signed, so a receiver that refuses old
 * timestamps cannot be fed a recorded POST again. */
#ifndef TERN_RELAY_WEBHOOK_SIGN_H
#define TERN_RELAY_WEBHOOK_SIGN_H

#include <stddef.h>
#include <stdint.h>

#define WEBHOOK_SIGNATURE_MAX 96 /* "t=" 20 digits ",v1=" 64 hex, NUL */

/* out = the header's value. 0, or -1 (HMAC failed, out too small). */
int webhook_signature(const char *secret, int64_t t, const char *body, size_t len, char *out,
                      size_t outlen);

#endif
