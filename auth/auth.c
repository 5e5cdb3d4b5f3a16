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
 *              uv_queue_work: crypt_r(password, hash or dummy setting)
 *                     │
 *                     ▼
 *              match? ──yes──► done(OK)
 *                     │no
 *                     ▼
 *              record failure ──► timer(growing delay) ──► done(FAIL)
 *
 * The password is copied into the request and wiped as soon as the hash
 * ran. A cancelled request still finishes its work item (libuv cannot
 * abort one) but never calls back. */
#include "auth/auth.h"

#include <crypt.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "lib/log.h"
#include "store/accounts.h"
#include "store/store.h"

/* ---- per-IP failure throttle ---- */

#define THROTTLE_SLOTS 4096

struct throttle_entry {
	char ip[48];
	uint32_t failures;
	uint64_t first_ms; /* start of the window */
};

struct auth_pool {
	uv_loop_t *loop;
	struct store *store;
	const struct auth_settings *settings;
	struct throttle_entry throttle[THROTTLE_SLOTS];
};

static uint32_t ip_hash(const char *ip)
{
	uint32_t h = 2166136261u;
	for (; *ip; ip++)
		h = (h ^ (unsigned char)*ip) * 16777619u;
	return h;
}

/* Open addressing with a short probe; when the probe finds no slot, the
 * oldest entry in it is reused (bounded memory whatever the attacker). */
static struct throttle_entry *throttle_find(struct auth_pool *pool, const char *ip, uint64_t now,
                                            uint64_t window_ms, bool create)
{
	uint32_t h = ip_hash(ip);
	struct throttle_entry *oldest = NULL;
	for (int probe = 0; probe < 8; probe++) {
		struct throttle_entry *e = &pool->throttle[(h + (uint32_t)probe) % THROTTLE_SLOTS];
		if (e->ip[0] && now - e->first_ms > window_ms)
			e->ip[0] = '\0'; /* expired */
		if (e->ip[0] && strcmp(e->ip, ip) == 0)
			return e;
		if (!oldest || !e->ip[0] || e->first_ms < oldest->first_ms)
			oldest = e;
	}
	if (!create)
		return NULL;
	memset(oldest, 0, sizeof *oldest);
	snprintf(oldest->ip, sizeof oldest->ip, "%s", ip);
	oldest->first_ms = now;
	return oldest;
}

/* ---- requests ---- */

struct auth_req {
	uv_work_t work;
	uv_timer_t timer;
	struct auth_pool *pool;
	auth_done_fn done;
	void *ud;
	bool cancelled;
	bool found;
	bool disabled;
	bool matched;
	enum auth_result result;
	char ip[48];
	char password[1024];
	char hash[STORE_HASH_MAX];
	struct auth_account acct;
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
	if (!req->cancelled)
		req->done(req->ud, req->result, req->result == AUTH_OK ? &req->acct : NULL);
	uv_close((uv_handle_t *)&req->timer, on_timer_closed);
}

static void answer_after(struct auth_req *req, enum auth_result result, uint64_t delay_ms)
{
	req->result = result;
	uv_timer_start(&req->timer, on_answer, delay_ms, 0);
}

static void work_hash(uv_work_t *w)
{
	struct auth_req *req = w->data;
	struct crypt_data *cd = calloc(1, sizeof *cd);
	if (!cd)
		return;
	const char *setting = req->found ? req->hash : dummy_setting;
	const char *out = crypt_r(req->password, setting, cd);
	req->matched = req->found && out && out[0] != '*' && strcmp(out, req->hash) == 0;
	explicit_bzero(req->password, sizeof req->password);
	explicit_bzero(cd, sizeof *cd);
	free(cd);
}

static void after_hash(uv_work_t *w, int status)
{
	struct auth_req *req = w->data;
	const struct auth_settings *set = req->pool->settings;
	if (status == 0 && req->matched && !req->disabled) {
		answer_after(req, AUTH_OK, 0);
		return;
	}
	uint64_t now = uv_now(req->pool->loop);
	struct throttle_entry *e =
	    throttle_find(req->pool, req->ip, now, (uint64_t)set->fail_window * 1000, true);
	e->failures++;
	uint64_t delay = (uint64_t)set->fail_delay_ms;
	for (uint32_t i = 1; i < e->failures && delay < (uint64_t)set->fail_max_delay_ms; i++)
		delay *= 2;
	if (delay > (uint64_t)set->fail_max_delay_ms)
		delay = (uint64_t)set->fail_max_delay_ms;
	answer_after(req, AUTH_FAIL, delay);
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
	return 0;
}

void auth_pool_free(struct auth_pool **pool)
{
	if (!*pool)
		return;
	explicit_bzero(*pool, sizeof **pool);
	free(*pool);
	*pool = NULL;
}

struct auth_req *auth_check(struct auth_pool *pool, const char *peer_ip, const char *user,
                            const char *password, auth_done_fn done, void *ud)
{
	struct auth_req *req = calloc(1, sizeof *req);
	if (!req)
		return NULL;
	req->pool = pool;
	req->done = done;
	req->ud = ud;
	req->work.data = req;
	req->timer.data = req;
	dummy_setting_init();
	uv_timer_init(pool->loop, &req->timer);
	snprintf(req->ip, sizeof req->ip, "%s", peer_ip ? peer_ip : "");

	const struct auth_settings *set = pool->settings;
	uint64_t now = uv_now(pool->loop);
	struct throttle_entry *e =
	    throttle_find(pool, req->ip, now, (uint64_t)set->fail_window * 1000, false);
	if (e && e->failures >= (uint64_t)set->fail_limit) {
		log_warn("event=auth_throttled ip=%s failures=%u", req->ip, e->failures);
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

	char address[STORE_ADDR_MAX];
	if (strchr(user, '@'))
		snprintf(address, sizeof address, "%s", user);
	else
		snprintf(address, sizeof address, "%s@%s", user, set->domain);

	struct store_account acct;
	int rc = store_account_lookup(store_reader(pool->store), address, &acct);
	if (rc < 0) {
		log_error("event=auth_lookup_failed err=%d", rc);
		explicit_bzero(req->password, sizeof req->password);
		answer_after(req, AUTH_TEMPFAIL, 0);
		return req;
	}
	if (rc == 1) {
		req->found = true;
		req->disabled = acct.disabled != 0;
		snprintf(req->hash, sizeof req->hash, "%s", acct.password_hash);
		req->acct.account_id = acct.id;
		snprintf(req->acct.address, sizeof req->acct.address, "%s", acct.address);
	}
	if (uv_queue_work(pool->loop, &req->work, work_hash, after_hash) < 0) {
		explicit_bzero(req->password, sizeof req->password);
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
