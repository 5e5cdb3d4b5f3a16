/* auth: see auth.h for the contract.
 *
 * A check goes through these steps, all but the hash on the loop thread:
 *
 *   auth_check ──► throttled? ──yes──► timer(delay) ──► done(THROTTLED)
 *                     │no
 *                     ▼
 *              account lookup (indexed read on the loop's connection)
 *                     │
 *                     ▼
 *              cached? (auth/cache.h: same password, same stored hash,
 *                     │   within the TTL) ──yes──► success, as below
 *                     │no
 *                     ▼
 *              hash pool (auth/hashpool.h): crypt_r(password, hash or
 *                     │   dummy setting)
 *                     ▼
 *              match? ──yes──► remember in the cache ──► done(OK)
 *                     │no
 *                     ▼
 *              record failure ──► timer(growing delay) ──► done(FAIL)
 *
 * The password is copied into the request and wiped as soon as the hash
 * ran; its MAC for the cache is computed before. A cancelled request still
 * finishes its hash (a thread cannot abort one) but never calls back. */
#include "auth/auth.h"

#include <crypt.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "auth/cache.h"
#include "auth/hashpool.h"
#include "auth/scram_keys.h"
#include "auth/throttle.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "store/accounts.h"
#include "store/store.h"

struct auth_pool {
	uv_loop_t *loop;
	struct store *store;
	const struct auth_settings *settings;
	struct throttle *throttle; /* auth/throttle.h */
	struct cred_cache *cache;  /* auth/cache.h */
	struct hash_pool *hashers; /* auth/hashpool.h */
};

/* ---- requests ---- */

struct auth_req {
	struct hash_job work; /* first: the job is the request */
	uv_timer_t timer;
	struct auth_pool *pool;
	auth_done_fn done;
	void *ud;
	bool cancelled;
	bool found;
	bool disabled;
	bool matched;
	bool cacheable; /* the MAC and digest below are set */
	bool has_scram; /* the account has SCRAM keys already */
	enum auth_result result;
	char ip[48];
	char address[STORE_ADDR_MAX]; /* what the throttle charged */
	char password[1024];
	char hash[STORE_HASH_MAX];
	struct auth_account acct;
	unsigned char mac[CRED_MAC_LEN];    /* of account and password */
	unsigned char digest[CRED_MAC_LEN]; /* of hash */
};

/* A yescrypt setting with a random salt, made once: hashing an unknown
 * user's password against it costs what a real verification costs. */
static char dummy_setting[CRYPT_GENSALT_OUTPUT_SIZE];

static void dummy_setting_init(void)
{
	if (!dummy_setting[0] &&
	    !crypt_gensalt_rn("$y$", 0, NULL, 0, dummy_setting, sizeof dummy_setting))
		snprintf(dummy_setting, sizeof dummy_setting, "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$");
}

static void on_timer_closed(uv_handle_t *h)
{
	struct auth_req *req = h->data;
	explicit_bzero(req, sizeof *req);
	free(req);
}

static void on_answer(uv_timer_t *t)
{
	struct auth_req *req = t->data;
	metric_add(req->result == AUTH_OK          ? MET_LOGIN_OK
	           : req->result == AUTH_THROTTLED ? MET_LOGIN_THROTTLED
	                                           : MET_LOGIN_FAILED,
	           1);
	if (!req->cancelled)
		req->done(req->ud, req->result, req->result == AUTH_OK ? &req->acct : NULL);
	uv_close((uv_handle_t *)&req->timer, on_timer_closed);
}

static void answer_after(struct auth_req *req, enum auth_result result, uint64_t delay_ms)
{
	req->result = result;
	uv_timer_start(&req->timer, on_answer, delay_ms, 0);
}

static void work_hash(struct hash_job *w)
{
	struct auth_req *req = (struct auth_req *)w;
	metric_add(MET_AUTH_HASHES, 1);
	struct crypt_data *cd = calloc(1, sizeof *cd);
	if (!cd)
		return;
	const char *setting = req->found ? req->hash : dummy_setting;
	const char *out = crypt_r(req->password, setting, cd);
	req->matched = req->found && out && out[0] != '*' && strcmp(out, req->hash) == 0;
	if (req->matched && !req->disabled && !req->has_scram)
		auth_scram_upgrade(req->pool->store, req->acct.address, req->hash, req->password);
	explicit_bzero(req->password, sizeof req->password);
	explicit_bzero(cd, sizeof *cd);
	free(cd);
}

static void after_hash(struct hash_job *w)
{
	struct auth_req *req = (struct auth_req *)w;
	bool ok = req->matched && !req->disabled;
	if (ok && req->cacheable)
		cred_cache_put(req->pool->cache, req->acct.account_id, req->digest, req->mac,
		               uv_now(req->pool->loop));
	uint64_t delay =
	    throttle_end(req->pool->throttle, req->ip, req->address, ok, uv_now(req->pool->loop));
	answer_after(req, ok ? AUTH_OK : AUTH_FAIL, delay);
}

int auth_pool_new(struct auth_pool **out, uv_loop_t *loop, struct store *store,
                  const struct auth_settings *settings)
{
	struct auth_pool *pool = calloc(1, sizeof *pool);
	*out = pool;
	if (!pool)
		return -ENOMEM;
	pool->loop = loop;
	pool->store = store;
	pool->settings = settings;
	pool->throttle = throttle_new(settings);
	uint64_t ttl_ms = settings->cache_ttl > 0 ? (uint64_t)settings->cache_ttl * 1000 : 0;
	pool->cache =
	    cred_cache_new(settings->cache_size > 0 ? (size_t)settings->cache_size : 0, ttl_ms);
	pool->hashers = hash_pool_new(loop, 0);
	if (!pool->throttle || !pool->cache || !pool->hashers) {
		auth_pool_free(out);
		return -ENOMEM;
	}
	return 0;
}

struct hash_pool *auth_pool_hashers(struct auth_pool *pool)
{
	return pool->hashers;
}

void auth_pool_free(struct auth_pool **pool)
{
	if (!*pool)
		return;
	throttle_free(&(*pool)->throttle);
	cred_cache_free(&(*pool)->cache);
	hash_pool_free(&(*pool)->hashers);
	explicit_bzero(*pool, sizeof **pool);
	free(*pool);
	*pool = NULL;
}

/* A password verified before for this account and this stored hash: the
 * check succeeds without hashing (the throttle charged it already, and
 * hears of the success as after a hash). Otherwise the request keeps the
 * MAC and digest, for the cache to remember if the hash matches. */
static bool known_cheaply(struct auth_pool *pool, struct auth_req *req, size_t plen)
{
	cred_cache_mac(pool->cache, req->acct.account_id, req->password, plen, req->mac);
	cred_cache_digest(req->hash, req->digest);
	req->cacheable = true;
	if (cred_cache_check(pool->cache, req->acct.account_id, req->digest, req->mac,
	                     uv_now(pool->loop)) != CRED_HIT)
		return false;
	metric_add(MET_AUTH_CACHE_HITS, 1);
	explicit_bzero(req->password, sizeof req->password);
	req->matched = true;
	uint64_t delay =
	    throttle_end(pool->throttle, req->ip, req->address, true, uv_now(pool->loop));
	answer_after(req, AUTH_OK, delay);
	return true;
}

/* A request whose answer goes to done(ud) through its own timer. */
static struct auth_req *req_new(struct auth_pool *pool, auth_done_fn done, void *ud)
{
	struct auth_req *req = calloc(1, sizeof *req);
	if (!req)
		return NULL;
	req->pool = pool;
	req->done = done;
	req->ud = ud;
	req->timer.data = req;
	uv_timer_init(pool->loop, &req->timer);
	return req;
}

struct auth_req *auth_check(struct auth_pool *pool, const char *peer_ip, const char *user,
                            const char *password, auth_done_fn done, void *ud)
{
	struct auth_req *req = req_new(pool, done, ud);
	if (!req)
		return NULL;
	dummy_setting_init();
	snprintf(req->ip, sizeof req->ip, "%s", peer_ip ? peer_ip : "");

	const struct auth_settings *set = pool->settings;
	if (strchr(user, '@'))
		snprintf(req->address, sizeof req->address, "%s", user);
	else
		snprintf(req->address, sizeof req->address, "%s@%s", user, set->domain);
	/* Charged now, before the hash runs: parallel guesses count at once. */
	enum throttle_verdict v =
	    throttle_begin(pool->throttle, req->ip, req->address, uv_now(pool->loop));
	if (v != THROTTLE_GO) {
		log_warn("event=auth_throttled ip=%s by=%s", req->ip,
		         v == THROTTLE_NETWORK ? "network" : "account");
		answer_after(req, AUTH_THROTTLED, (uint64_t)set->fail_delay_ms);
		return req;
	}

	size_t plen = strlen(password);
	if (plen >= sizeof req->password || strchr(user, '\n') || strlen(user) >= 300) {
		/* Too long to be a real password or user: a failure, same path. */
		plen = 0;
	}
	memcpy(req->password, password, plen);
	req->password[plen] = '\0';

	struct store_account acct;
	int rc = store_account_lookup(store_reader(pool->store), req->address, &acct);
	if (rc < 0) {
		log_error("event=auth_lookup_failed err=%d", rc);
		explicit_bzero(req->password, sizeof req->password);
		throttle_cancel(pool->throttle, req->ip, req->address, uv_now(pool->loop));
		answer_after(req, AUTH_TEMPFAIL, 0);
		return req;
	}
	if (rc == 1) {
		req->found = true;
		req->disabled = acct.disabled != 0;
		req->has_scram = acct.scram_sha1[0] && acct.scram_sha256[0];
		snprintf(req->hash, sizeof req->hash, "%s", acct.password_hash);
		req->acct.account_id = acct.id;
		snprintf(req->acct.address, sizeof req->acct.address, "%s", acct.address);
		if (req->disabled)
			cred_cache_forget(pool->cache, acct.id);
		else if (cred_cache_enabled(pool->cache) && known_cheaply(pool, req, plen))
			return req;
	}
	if (hash_pool_submit(pool->hashers, &req->work, work_hash, after_hash) < 0) {
		explicit_bzero(req->password, sizeof req->password);
		throttle_cancel(pool->throttle, req->ip, req->address, uv_now(pool->loop));
		answer_after(req, AUTH_TEMPFAIL, 0);
	}
	return req;
}

void auth_cancel(struct auth_req *req)
{
	if (req)
		req->cancelled = true;
}

int auth_hash_password(const char *password, char *out, size_t outlen, char *err, size_t errlen)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	if (!crypt_gensalt_rn("$y$", 0, NULL, 0, setting, sizeof setting)) {
		snprintf(err, errlen, "yescrypt is not available in this libcrypt");
		return -1;
	}
	struct crypt_data *cd = calloc(1, sizeof *cd);
	if (!cd) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	const char *h = crypt_r(password, setting, cd);
	int rc = 0;
	if (!h || h[0] == '*' || strlen(h) >= outlen) {
		snprintf(err, errlen, "password hashing failed");
		rc = -1;
	} else {
		memcpy(out, h, strlen(h) + 1);
	}
	explicit_bzero(cd, sizeof *cd);
	free(cd);
	return rc;
}

int auth_verify_hash(const char *password, const char *hash)
{
	struct crypt_data *cd = calloc(1, sizeof *cd);
	if (!cd)
		return 0;
	const char *out = crypt_r(password, hash, cd);
	int ok = out && out[0] != '*' && strcmp(out, hash) == 0;
	explicit_bzero(cd, sizeof *cd);
	free(cd);
	return ok;
}

/* ---- checks made elsewhere (auth/scram_login.c) ---- */

struct auth_pool_parts auth_pool_parts(struct auth_pool *pool)
{
	return (struct auth_pool_parts){pool->loop, pool->store, pool->settings, pool->throttle};
}

struct auth_req *auth_answer(struct auth_pool *pool, const char *ip, const char *address,
                             enum auth_result result, const struct auth_account *acct,
                             auth_done_fn done, void *ud)
{
	struct auth_req *req = req_new(pool, done, ud);
	if (!req)
		return NULL;
	if (acct)
		req->acct = *acct;
	uint64_t now = uv_now(pool->loop), delay = 0;
	if (result == AUTH_THROTTLED)
		delay = (uint64_t)pool->settings->fail_delay_ms;
	else if (result == AUTH_TEMPFAIL)
		throttle_cancel(pool->throttle, ip, address, now);
	else
		delay = throttle_end(pool->throttle, ip, address, result == AUTH_OK, now);
	answer_after(req, result, delay);
	return req;
}
