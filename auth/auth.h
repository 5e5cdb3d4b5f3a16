/* auth: password hashing and verification, off the loop, with throttling.
 *
 * Hashes are crypt(3) strings from libxcrypt: new ones are yescrypt ($y$);
 * existing $y$, $2b$ (bcrypt) and $6$ (sha512-crypt) verify too, so Dovecot
 * password files can be imported. Verification runs on the pool's own
 * hashing threads (auth/hashpool.h), one per core. A password verified
 * before is recognised without hashing (auth/cache.h, [auth] cache_ttl and
 * cache_size) as long as the account's stored hash is unchanged. An
 * unknown user is checked against a dummy hash of the same kind,
 * so it costs the same time as a wrong password and reveals nothing.
 *
 * The checks go through a struct auth_pool, which the app creates once with
 * the loop, the store and the [auth] settings, and hands to the protocols.
 * Guesses are throttled per client network and per account
 * (auth/throttle.h): every failure adds a growing delay before the answer;
 * past fail_limit failures within the window a network is refused outright
 * (AUTH_THROTTLED, a temporary error) until the window passes; past
 * account_fail_limit failures an account takes one guess per
 * account_fail_interval_ms from networks it never logged in from. Attempts
 * count when they start. A success does not clear earlier failures. */
#ifndef TERN_AUTH_H
#define TERN_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct store;
struct auth_pool;
struct auth_req;

enum auth_result {
	AUTH_OK = 0,
	AUTH_FAIL,      /* unknown user, wrong password, or disabled account */
	AUTH_THROTTLED, /* too many failures from this network, or against this account: later */
	AUTH_TEMPFAIL,  /* store trouble: try later */
};

/* [auth] */
struct auth_settings {
	bool plaintext_loopback; /* allow AUTH/LOGIN without TLS from loopback */
	int64_t fail_delay_ms;   /* first failure delay, doubles per failure */
	int64_t fail_max_delay_ms;
	int64_t fail_limit;         /* failures per network (IPv4 /32, IPv6 /64) before refusal */
	int64_t fail_window;        /* seconds a failure counts */
	int64_t account_fail_limit; /* failures per account before slowing */
	int64_t account_fail_interval_ms; /* then: one guess per interval from elsewhere */
	int64_t cache_ttl;                /* seconds a verified password is remembered; 0: never */
	int64_t cache_size;               /* accounts remembered at most */
	/* The primary domain ([server] domain), in which a bare user name
	 * is taken. Not an [auth] key: whoever creates the pool sets it. */
	const char *domain;
};

struct auth_account {
	int64_t account_id;
	char address[320]; /* canonical address of the account */
};

typedef void (*auth_done_fn)(void *ud, enum auth_result result, const struct auth_account *acct);

/* A pool checking passwords against store's accounts, with settings (kept
 * by pointer: they must outlive the pool). Returns 0, or -ENOMEM. */
int auth_pool_new(struct auth_pool **out, uv_loop_t *loop, struct store *store,
                  const struct auth_settings *settings);
/* Free the pool and set *pool to NULL; safe on NULL. Only once no check
 * is pending (after the loop has run its handles to the end); run the
 * loop once more afterwards, to close the hashing threads' handle. */
void auth_pool_free(struct auth_pool **pool);

/* Start a check. user is an address ("alice@example.com"); a bare local
 * part is taken in the settings' primary domain. The done callback runs
 * later on the loop, never from inside this call, unless the returned
 * request is cancelled first. Returns NULL only on allocation failure. */
struct auth_req *auth_check(struct auth_pool *pool, const char *peer_ip, const char *user,
                            const char *password, auth_done_fn done, void *ud);
/* The session is going away: done will not be called. Safe on NULL. */
void auth_cancel(struct auth_req *req);

/* The pool's hashing threads (auth/hashpool.h), for other yescrypt work
 * (a password set over the admin API). */
struct hash_pool *auth_pool_hashers(struct auth_pool *pool);
/* For checks that are not a password against a hash (SCRAM,
 * auth/scram_login.c): the pool's parts, and the end of auth_check's path.
 * auth_answer finishes an attempt whose throttle charge the caller took
 * (throttle_begin said go; not for AUTH_THROTTLED, answered after the
 * first failure delay): AUTH_OK/AUTH_FAIL settle it with throttle_end and
 * answer after its delay, AUTH_TEMPFAIL refunds it. done runs later on the
 * loop, as for auth_check; auth_cancel applies. NULL on allocation failure. */
struct throttle;
struct auth_pool_parts {
	uv_loop_t *loop;
	struct store *store;
	const struct auth_settings *settings;
	struct throttle *throttle;
};
struct auth_pool_parts auth_pool_parts(struct auth_pool *pool);
struct auth_req *auth_answer(struct auth_pool *pool, const char *ip, const char *address,
                             enum auth_result result, const struct auth_account *acct,
                             auth_done_fn done, void *ud);

/* Hash a new password with yescrypt. Returns 0, or -1 (err set). */
int auth_hash_password(const char *password, char *out, size_t outlen, char *err, size_t errlen);
/* Synchronous verify (CLI, tests): 1 match, 0 no match. */
int auth_verify_hash(const char *password, const char *hash);

#endif
