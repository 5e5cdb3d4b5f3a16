/* cache: verified credentials, so a password that was right is not hashed
 * with yescrypt again at every login.
 *
 * After a successful check the pool keeps, per account, a MAC of the
 * password — HMAC-SHA256(secret, account id ‖ password), the secret random
 * per process — and a SHA-256 digest of the account's stored password hash
 * at that time, until a TTL passes. A later login compares MACs (in
 * constant time) instead of hashing. The entry counts only while the
 * account's stored hash still has that digest: the caller reads the
 * account row at every check (also seeing a change made by the CLI in
 * another process) and passes the digest of what it read, so a password
 * change makes the entry useless at once; a disabled or deleted account
 * never reaches the cache (the caller forgets its entry). Only successes
 * enter; a different password is a miss (the caller then hashes, so a
 * wrong guess costs what it always cost). At most max_entries are kept;
 * when full, the least recently used goes. Entries leaving are wiped.
 *
 * Not thread-safe: the loop thread owns it. cred_cache_mac only reads the
 * secret, which is fixed at creation. */
#ifndef TERN_AUTH_CACHE_H
#define TERN_AUTH_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CRED_MAC_LEN 32

struct cred_cache;

enum cred_verdict {
	CRED_MISS = 0, /* nothing usable: hash */
	CRED_HIT,      /* same account, same stored hash, same password, in time */
};

/* A cache of at most max_entries, each valid ttl_ms. NULL on allocation
 * failure; a cache with max_entries or ttl_ms 0 keeps nothing. */
struct cred_cache *cred_cache_new(size_t max_entries, uint64_t ttl_ms);
/* Wipe and free; *cache = NULL. Safe on NULL. */
void cred_cache_free(struct cred_cache **cache);
bool cred_cache_enabled(const struct cred_cache *cache);

/* The MAC of a password for an account, and the digest of a stored hash. */
void cred_cache_mac(const struct cred_cache *cache, int64_t account_id, const char *password,
                    size_t len, unsigned char mac[CRED_MAC_LEN]);
void cred_cache_digest(const char *stored_hash, unsigned char digest[CRED_MAC_LEN]);

/* Whether mac is the one remembered for the account with this stored-hash
 * digest, within its TTL. An expired entry, or one made with another
 * stored hash, is dropped. */
enum cred_verdict cred_cache_check(struct cred_cache *cache, int64_t account_id,
                                   const unsigned char digest[CRED_MAC_LEN],
                                   const unsigned char mac[CRED_MAC_LEN], uint64_t now_ms);
/* Remember a verified password (replacing the account's entry); when
 * full, the least recently used entry goes. */
void cred_cache_put(struct cred_cache *cache, int64_t account_id,
                    const unsigned char digest[CRED_MAC_LEN], const unsigned char mac[CRED_MAC_LEN],
                    uint64_t now_ms);
/* Drop the account's entry (disabled, gone). */
void cred_cache_forget(struct cred_cache *cache, int64_t account_id);
size_t cred_cache_count(const struct cred_cache *cache);

#endif
