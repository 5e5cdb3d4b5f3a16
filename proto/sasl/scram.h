/* scram: SCRAM inside proto/sasl (sasl.c calls it for the SCRAM
 * mechanisms; see scram.c). Not for the protocols: they use sasl.h. */
#ifndef TERN_SASL_SCRAM_H
#define TERN_SASL_SCRAM_H

#include <stddef.h>

#include "auth/scram_keys.h"
#include "proto/sasl/sasl.h"

/* Longest decoded client message, and client nonce. */
#define SCRAM_MSG_MAX 1024
#define SCRAM_CNONCE_MAX 256

/* sasl_b64.c's strict base64 step decoding (the "*" and "=" of RFC 4954). */
enum sasl_status sasl_decode(const char *resp, size_t len, unsigned char *buf, size_t cap,
                             size_t *out);

int scram_begin(struct sasl *s, const struct sasl_peer *peer); /* 0, or -1 (no memory) */
enum sasl_status scram_feed(struct sasl *s, const char *resp, size_t len);
struct auth_req *scram_check(struct sasl *s, auth_done_fn done, void *ud);
void scram_free(struct scram *sc);

/* Test hooks (unit tests, fuzzers), NULL in the server: the server nonce
 * to use instead of a random one, and the keys of every user when the
 * exchange has no auth pool (else: fake keys, every proof fails). */
extern const char *sasl_scram_test_nonce;
extern int (*sasl_scram_test_keys)(const char *user, enum hmac_hash h, struct scram_keys *out);

#endif
