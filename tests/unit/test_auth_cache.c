/* test_auth_cache: the verified-credentials cache (auth/cache.c) on an
 * explicit clock — a hit needs the same account, password and stored hash
 * within the TTL; stale entries go; the bound evicts the least recently
 * used — and the hashing threads (auth/hashpool.c): every job runs off the
 * loop thread, every after callback on it, and the loop ends when the
 * pool is idle. Under ThreadSanitizer in CI. */
#include "auth/cache.h"
#include "auth/hashpool.h"

#include <string.h>
#include <uv.h>

#include "check.h"

static void mac(struct cred_cache *c, int64_t id, const char *pw, unsigned char out[32])
{
	cred_cache_mac(c, id, pw, strlen(pw), out);
}

static void test_hit_and_miss(void)
{
	struct cred_cache *c = cred_cache_new(100, 1000);
	CHECK(c && cred_cache_enabled(c), "made");
	unsigned char d1[32], d2[32], m[32], other[32];
	cred_cache_digest("$y$hash-one", d1);
	cred_cache_digest("$y$hash-two", d2);
	mac(c, 7, "right password", m);
	CHECK(cred_cache_check(c, 7, d1, m, 0) == CRED_MISS, "empty: miss");
	cred_cache_put(c, 7, d1, m, 0);
	CHECK(cred_cache_count(c) == 1, "one entry");
	CHECK(cred_cache_check(c, 7, d1, m, 999) == CRED_HIT, "same password, in time");
	mac(c, 7, "wrong password", other);
	CHECK(cred_cache_check(c, 7, d1, other, 10) == CRED_MISS, "another password");
	CHECK(cred_cache_count(c) == 1, "a wrong password does not evict the right one");
	mac(c, 8, "right password", other);
	CHECK(memcmp(m, other, 32) != 0, "the MAC binds the account");
	CHECK(cred_cache_check(c, 8, d1, other, 10) == CRED_MISS, "another account");
	mac(c, 7, "right passwor", other);
	CHECK(memcmp(m, other, 32) != 0, "and every byte of the password");
	/* The stored hash changed (passwd, in any process): gone. */
	CHECK(cred_cache_check(c, 7, d2, m, 10) == CRED_MISS, "other stored hash");
	CHECK(cred_cache_count(c) == 0, "stale entry dropped");
	CHECK(cred_cache_check(c, 7, d1, m, 10) == CRED_MISS, "and does not come back");
	/* TTL. */
	cred_cache_put(c, 7, d1, m, 100);
	CHECK(cred_cache_check(c, 7, d1, m, 1099) == CRED_HIT, "just in time");
	CHECK(cred_cache_check(c, 7, d1, m, 1100) == CRED_MISS, "expired");
	CHECK(cred_cache_count(c) == 0, "expired entry dropped");
	/* forget (disabled, deleted). */
	cred_cache_put(c, 7, d1, m, 0);
	cred_cache_forget(c, 7);
	CHECK(cred_cache_check(c, 7, d1, m, 1) == CRED_MISS, "forgotten");
	cred_cache_forget(c, 12345); /* nothing there: harmless */
	cred_cache_free(&c);
	CHECK(c == NULL, "freed");
	cred_cache_free(&c);
}

static void test_secret_per_cache(void)
{
	struct cred_cache *a = cred_cache_new(10, 1000), *b = cred_cache_new(10, 1000);
	unsigned char ma[32], mb[32];
	mac(a, 1, "pw", ma);
	mac(b, 1, "pw", mb);
	CHECK(memcmp(ma, mb, 32) != 0, "each process has its own secret");
	cred_cache_free(&a);
	cred_cache_free(&b);
}

static void test_bound(void)
{
	enum { CAP = 50 };
	struct cred_cache *c = cred_cache_new(CAP, 1000000);
	unsigned char d[32], m[CAP * 2][32];
	cred_cache_digest("$y$h", d);
	for (int64_t id = 0; id < CAP; id++) {
		mac(c, id, "pw", m[id]);
		cred_cache_put(c, id, d, m[id], (uint64_t)id);
	}
	CHECK(cred_cache_count(c) == CAP, "full: %zu", cred_cache_count(c));
	/* Use account 0: now the least recently used is 1. */
	CHECK(cred_cache_check(c, 0, d, m[0], 100) == CRED_HIT, "0 cached");
	for (int64_t id = CAP; id < CAP + 10; id++) {
		mac(c, id, "pw", m[id]);
		cred_cache_put(c, id, d, m[id], 200);
	}
	CHECK(cred_cache_count(c) == CAP, "never above the bound: %zu", cred_cache_count(c));
	CHECK(cred_cache_check(c, 0, d, m[0], 300) == CRED_HIT, "recently used stays");
	for (int64_t id = 1; id <= 10; id++)
		CHECK(cred_cache_check(c, id, d, m[id], 300) == CRED_MISS, "oldest %d went",
		      (int)id);
	for (int64_t id = 11; id < CAP + 10; id++)
		CHECK(cred_cache_check(c, id, d, m[id], 300) == CRED_HIT, "%d stays", (int)id);
	/* Replacing an entry does not count twice. */
	cred_cache_put(c, 20, d, m[20], 400);
	CHECK(cred_cache_count(c) == CAP, "replace: %zu", cred_cache_count(c));
	cred_cache_free(&c);
}

static void test_disabled(void)
{
	struct cred_cache *off[2] = {cred_cache_new(0, 1000), cred_cache_new(100, 0)};
	for (int i = 0; i < 2; i++) {
		unsigned char d[32], m[32];
		cred_cache_digest("$y$h", d);
		mac(off[i], 1, "pw", m);
		CHECK(!cred_cache_enabled(off[i]), "off %d", i);
		cred_cache_put(off[i], 1, d, m, 0);
		CHECK(cred_cache_count(off[i]) == 0, "keeps nothing %d", i);
		CHECK(cred_cache_check(off[i], 1, d, m, 0) == CRED_MISS, "never hits %d", i);
		cred_cache_free(&off[i]);
	}
}

/* ---- the hashing threads ---- */

enum { NJOBS = 200 };

struct job {
	struct hash_job base;
	uv_thread_t ran_on;
	unsigned long sum;
	int index;
};

static uv_thread_t loop_thread;
static int afters, afters_off_loop, works_on_loop, second_wave;
static struct hash_pool *pool;
static struct job jobs[NJOBS + 1];

static void work(struct hash_job *j)
{
	struct job *job = (struct job *)j;
	job->ran_on = uv_thread_self();
	unsigned long s = 0;
	for (int i = 0; i < 20000; i++)
		s = s * 31 + (unsigned long)i + (unsigned long)job->index;
	job->sum = s;
}

static void after(struct hash_job *j)
{
	struct job *job = (struct job *)j;
	uv_thread_t self = uv_thread_self();
	if (!uv_thread_equal(&self, &loop_thread))
		afters_off_loop++;
	if (uv_thread_equal(&job->ran_on, &loop_thread))
		works_on_loop++;
	afters++;
	/* An after callback may queue more work (as a login may). */
	if (job->index == 0) {
		jobs[NJOBS].index = NJOBS;
		CHECK(hash_pool_submit(pool, &jobs[NJOBS].base, work, after) == 0, "resubmit");
		second_wave = 1;
	}
}

static void test_pool(void)
{
	uv_loop_t loop;
	uv_loop_init(&loop);
	loop_thread = uv_thread_self();
	pool = hash_pool_new(&loop, 0);
	CHECK(pool != NULL, "pool");
	CHECK(hash_pool_threads(pool) >= 1 && hash_pool_threads(pool) <= 64, "threads %u",
	      hash_pool_threads(pool));
	/* Idle, the pool does not keep the loop alive. */
	CHECK(uv_run(&loop, UV_RUN_NOWAIT) == 0, "idle loop ends");
	for (int i = 0; i < NJOBS; i++) {
		jobs[i].index = i;
		CHECK(hash_pool_submit(pool, &jobs[i].base, work, after) == 0, "submit %d", i);
	}
	uv_run(&loop, UV_RUN_DEFAULT); /* returns when every job is back */
	CHECK(afters == NJOBS + 1, "every job came back: %d", afters);
	CHECK(second_wave, "submitted from an after callback");
	CHECK(afters_off_loop == 0, "after callbacks run on the loop thread");
	CHECK(works_on_loop == 0, "work never runs on the loop thread");
	hash_pool_free(&pool);
	CHECK(pool == NULL, "freed");
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK(uv_loop_close(&loop) == 0, "no handle left");
	hash_pool_free(&pool); /* NULL: harmless */
}

int main(void)
{
	test_hit_and_miss();
	test_secret_per_cache();
	test_bound();
	test_disabled();
	test_pool();
	return check_report("test_auth_cache");
}
