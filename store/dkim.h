/* dkim: DKIM keys (table `dkim_keys`), per domain and selector.
 *
 * The store keeps what admin/ generated: the private key (for the signer,
 * issue 16) and the public key as published in DNS (p=). Listing gives
 * the public side only; nothing here hands a private key to the admin
 * paths, so neither the CLI nor the API can show one. The signer
 * (relay/dkim_signer.c) alone reads the private side of live keys.
 *
 * Return convention as in store.h. */
#ifndef TERN_STORE_DKIM_H
#define TERN_STORE_DKIM_H

#include <stddef.h>
#include <stdint.h>

struct store_rd;
struct store_tx;

#define STORE_DKIM_SELECTOR_MAX 64
#define STORE_DKIM_ALG_MAX 32
#define STORE_DKIM_PUBLIC_MAX 1024 /* base64 of an RSA-4096 SubjectPublicKeyInfo fits */

/* A key as listed: everything but the private key. */
struct store_dkim_key {
	int64_t id;
	char domain[256];
	char selector[STORE_DKIM_SELECTOR_MAX];
	char algorithm[STORE_DKIM_ALG_MAX]; /* "rsa-sha256", "ed25519-sha256" */
	char public_key[STORE_DKIM_PUBLIC_MAX];
	int64_t created; /* unix seconds */
	int64_t retired; /* 0 = live */
};

/* A new key for a local domain: 0, -ENOENT (the domain is not local),
 * -EEXIST (the domain has that selector, live or retired), -EINVAL
 * (empty or too long a field). */
int store_dkim_add(struct store_tx *tx, const char *domain, const char *selector,
                   const char *algorithm, const char *private_key, const char *public_key);
/* Retire a live key at now: 0, or -ENOENT (no such live key). */
int store_dkim_retire(struct store_tx *tx, const char *domain, const char *selector, int64_t now);
/* The keys of domain (NULL: of every domain), by domain then id; retired
 * ones too. Callback as in accounts.h. */
int store_dkim_list(struct store_rd *rd, const char *domain,
                    int (*cb)(void *ud, const struct store_dkim_key *k), void *ud);

/* ---- for the signer only (relay/dkim_signer.c) ---------------------- */

#define STORE_DKIM_LIVE_MAX 8 /* live keys per domain a signer takes */

/* A live key's private side, as admin/dkim.c stored it. The callback gets
 * it in a buffer that is wiped as soon as it returns: parse it there,
 * never keep or log the text. */
struct store_dkim_private {
	char selector[STORE_DKIM_SELECTOR_MAX];
	char algorithm[STORE_DKIM_ALG_MAX];
	const char *private_key;
};

/* The live keys of domain (exact name), oldest first, at most
 * STORE_DKIM_LIVE_MAX. 0, the callback's non-zero value, or negative. */
int store_dkim_live_private(struct store_rd *rd, const char *domain,
                            int (*cb)(void *ud, const struct store_dkim_private *k), void *ud);

/* What a signer's cache compares to know the keys did not change since
 * it read them: the directory counter (domains deleted and added again
 * move it), the number of keys, the highest id and the sum of the ids of
 * retired keys (a key is added with a new id, and retired once, for good).
 * 0, or negative. */
struct store_dkim_serial {
	int64_t directory, count, max_id, retired_sum;
};
int store_dkim_serial(struct store_rd *rd, struct store_dkim_serial *out);

#endif
