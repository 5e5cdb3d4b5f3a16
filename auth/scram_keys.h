/* scram_keys: the SCRAM secrets of an account (RFC 5802 §3): what the
 * server keeps instead of a password so that SCRAM-SHA-1 and
 * SCRAM-SHA-256 can verify a client's proof, and that does not let whoever
 * reads it log in (StoredKey is a hash of ClientKey, which the proof needs).
 *
 * Kept beside the yescrypt hash in the accounts table, one text per hash
 * function, in Dovecot's layout: "iterations,salt,StoredKey,ServerKey",
 * the last three in base64, derived from the SASLprep'd password. Made
 * whenever a password is set (the CLI, the admin API) and, for accounts
 * made before, after their next successful PLAIN/LOGIN (auth_scram_upgrade,
 * on the auth thread pool). */
#ifndef TERN_AUTH_SCRAM_KEYS_H
#define TERN_AUTH_SCRAM_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "tls/hmac.h"

struct store;

#define SCRAM_ITERATIONS 4096        /* RFC 7677 §4: the minimum for SHA-256 */
#define SCRAM_ITERATIONS_MAX 1000000 /* what a stored row may ask of a client */
#define SCRAM_SALT_LEN 16
#define SCRAM_SALT_MAX 64
#define SCRAM_KEYS_TEXT_MAX 160 /* "1000000," + 88 + 2 * 44 + NUL fits */

struct scram_keys {
	enum hmac_hash hash;
	unsigned iterations;
	size_t salt_len;
	unsigned char salt[SCRAM_SALT_MAX];
	unsigned char stored_key[HMAC_MAX_LEN];
	unsigned char server_key[HMAC_MAX_LEN];
};

/* Derive the keys of password with salt and iterations. 0, or -1. The
 * password is used as it is: SASLprep it first (scram_keys_make does). */
int scram_keys_derive(enum hmac_hash h, const char *password, const unsigned char *salt,
                      size_t salt_len, unsigned iterations, struct scram_keys *out);
/* Keys of SASLprep(password) (a stored string, lib/saslprep.h) with a
 * fresh random salt and SCRAM_ITERATIONS, as text for the store: both
 * functions at once. 0, or -1. A password SASLprep refuses gets no keys:
 * 0 with sha1 and sha256 empty (what the store keeps for "none"), and a
 * line at info that says why (never the password). */
int scram_keys_make(const char *password, char sha1[SCRAM_KEYS_TEXT_MAX],
                    char sha256[SCRAM_KEYS_TEXT_MAX]);
/* Stored text -> keys. 0, or -1 (empty or malformed). */
int scram_keys_parse(enum hmac_hash h, const char *text, struct scram_keys *out);
int scram_keys_format(const struct scram_keys *k, char out[SCRAM_KEYS_TEXT_MAX]);

/* For a user without keys (unknown, or not upgraded yet): a salt that is
 * the same each time it is asked for (an HMAC of a secret drawn once per
 * process and the user name, without case), SCRAM_ITERATIONS, and keys no
 * proof matches. */
void scram_keys_fake(enum hmac_hash h, const char *user, struct scram_keys *out);

/* After a successful password check of an account without SCRAM keys, on
 * the auth thread pool: derive them and queue a lazy store job that saves
 * them only if the account's hash is still the one that was checked (a
 * password change meanwhile wins). Failures are only logged. */
void auth_scram_upgrade(struct store *store, const char *address, const char *checked_hash,
                        const char *password);

#endif
