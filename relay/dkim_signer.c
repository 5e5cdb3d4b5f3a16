/* dkim_signer: the signing service (dkim_signer.h).
 *
 * Why the thread pool: an RSA-2048 signature costs about 2 ms of CPU, a
 * dual signature a little more; on the loop that would stall every
 * session, on the writer thread every commit. libuv's pool runs it; the
 * loop only finds the keys and prepends the result.
 *
 * Threads: a key set is reference-counted on the loop only (taken before
 * the work is queued, given back in its completion), so a cache drop
 * while a signature is in flight frees the keys afterwards. The workers
 * only read a key, except that RSA blinding updates the context and draws
 * from the shared DRBG (tls/rng.c): mbedTLS guards both with its own
 * mutexes when built with MBEDTLS_THREADING_C (Debian's 2.28 and 3.6 are).
 * A build without it signs on the loop instead, correct but slower. The
 * DRBG is seeded on the loop (tls_rng_ctx()) before any key is loaded.
 *
 * Private keys: read from the store into a buffer wiped at once, parsed
 * into struct dkim_signing_key (freed with a wipe), never logged. */
#include "relay/dkim_signer.h"

#include <errno.h>
#include <mbedtls/ctr_drbg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/buf.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "mailauth/dkim.h"
#include "mime/header.h"
#include "store/dkim.h"
#include "store/store.h"
#include "tls/rng.h"

#define CACHE_MAX 256       /* domains remembered (with or without keys) */
#define RECHECK_MS 1000     /* how stale the cache may be, at most */
#define PARENT_LEVELS 4     /* parent domains tried for keys */
#define MSG_MAX (64u << 20) /* larger messages go unsigned */

struct keyset {
	int refs;
	char domain[256];
	size_t n; /* 0: the domain has no usable key */
	struct {
		char selector[STORE_DKIM_SELECTOR_MAX];
		struct dkim_signing_key *key;
	} k[STORE_DKIM_LIVE_MAX];
};

static struct {
	uv_loop_t *loop;
	struct store *store;
	struct keyset *cache[CACHE_MAX];
	size_t ncache;
	struct store_dkim_serial serial;
	bool serial_known;
	uint64_t checked_ms;
} S;

static void keyset_unref(struct keyset *ks)
{
	if (!ks || --ks->refs > 0)
		return;
	for (size_t i = 0; i < ks->n; i++)
		dkim_signing_key_free(&ks->k[i].key);
	free(ks);
}

static void cache_clear(void)
{
	for (size_t i = 0; i < S.ncache; i++)
		keyset_unref(S.cache[i]);
	S.ncache = 0;
}

void dkim_signer_start(uv_loop_t *loop, struct store *store)
{
	S.loop = loop;
	S.store = store;
	S.serial_known = false;
}

void dkim_signer_stop(void)
{
	cache_clear();
	S.loop = NULL;
	S.store = NULL;
}

/* Drop the cache when the keys may have changed since it was filled. */
static void cache_check(void)
{
	uint64_t now = uv_now(S.loop);
	if (S.serial_known && now - S.checked_ms < RECHECK_MS)
		return;
	struct store_dkim_serial cur;
	if (store_dkim_serial(store_reader(S.store), &cur) < 0) {
		cache_clear();
		S.serial_known = false;
		return;
	}
	if (!S.serial_known || memcmp(&cur, &S.serial, sizeof cur) != 0)
		cache_clear();
	S.serial = cur;
	S.serial_known = true;
	S.checked_ms = now;
}

static int load_key(void *ud, const struct store_dkim_private *p)
{
	struct keyset *ks = ud;
	char err[160];
	struct dkim_signing_key *k =
	    dkim_signing_key_load(p->algorithm, p->private_key, err, sizeof err);
	if (!k) {
		metric_add(MET_DKIM_SIGN_FAILED, 1);
		log_warn("dkim event=key_unusable domain=%s selector=%s err=\"%s\"", ks->domain,
		         p->selector, err);
		return 0;
	}
	snprintf(ks->k[ks->n].selector, sizeof ks->k[ks->n].selector, "%s", p->selector);
	ks->k[ks->n++].key = k;
	return ks->n == STORE_DKIM_LIVE_MAX;
}

/* The domain's keys, from the cache or the store; NULL on a store error
 * (not remembered). n == 0: no keys. */
static struct keyset *keys_of(const char *domain)
{
	for (size_t i = 0; i < S.ncache; i++)
		if (strcasecmp(S.cache[i]->domain, domain) == 0)
			return S.cache[i];
	struct keyset *ks = calloc(1, sizeof *ks);
	if (!ks)
		return NULL;
	ks->refs = 1;
	snprintf(ks->domain, sizeof ks->domain, "%s", domain);
	int rc = store_dkim_live_private(store_reader(S.store), domain, load_key, ks);
	if (rc < 0) {
		log_warn("dkim event=key_read_failed domain=%s err=%d", domain, rc);
		keyset_unref(ks);
		return NULL;
	}
	if (S.ncache == CACHE_MAX)
		cache_clear();
	S.cache[S.ncache++] = ks;
	return ks;
}

/* ---- the From domain ---- */

struct from_addr {
	char domain[256];
};

static int first_addr(void *ud, const char *addr, size_t alen)
{
	struct from_addr *f = ud;
	const char *at = memrchr(addr, '@', alen);
	if (!at)
		return 0;
	size_t n = alen - (size_t)(at + 1 - addr);
	if (n == 0 || n >= sizeof f->domain)
		return 0;
	memcpy(f->domain, at + 1, n);
	f->domain[n] = '\0';
	return 1;
}

/* The domain of the (first) From field's first address, or false. */
static bool from_domain(const char *msg, size_t len, char *out, size_t outlen)
{
	size_t pos = 0;
	struct mime_field h;
	while (mime_field_next(msg, len, &pos, &h) == 1) {
		if (h.name_len != 4 || strncasecmp(h.name, "From", 4) != 0)
			continue;
		struct from_addr f = {{0}};
		if (mime_addr_specs(h.value, h.value_len, first_addr, &f) <= 0 || !f.domain[0])
			return false;
		snprintf(out, outlen, "%s", f.domain);
		return true;
	}
	return false;
}

/* The keys for the From domain or its nearest parent with keys. */
static struct keyset *keys_for(const char *from)
{
	const char *d = from;
	for (int level = 0; d && level <= PARENT_LEVELS; level++) {
		struct keyset *ks = keys_of(d);
		if (!ks)
			return NULL;
		if (ks->n)
			return ks;
		const char *dot = strchr(d, '.');
		/* stop at a name of two labels: "example.com", not "com" */
		if (!dot || !strchr(dot + 1, '.'))
			break;
		d = dot + 1;
	}
	return NULL;
}

/* ---- the work ---- */

/* What a signing and a sealing job share: the domain's keys, held while
 * the job runs, the message, the fields made and whom to give them. */
struct key_job {
	uv_work_t w;
	struct keyset *ks;
	const char *msg;
	size_t len;
	int64_t now;
	dkim_signer_done_fn done;
	void *ud;
	struct buf out;
	char err[160];
};

static void job_init(struct key_job *j, void *owner, struct keyset *ks, const char *msg, size_t len,
                     dkim_signer_done_fn done, void *ud)
{
	j->w.data = owner;
	j->ks = ks;
	ks->refs++;
	j->msg = msg;
	j->len = len;
	j->now = (int64_t)time(NULL);
	j->done = done;
	j->ud = ud;
}

/* Runs work in a worker, then after on the loop. false (logged as
 * event_failed) when it could not be queued: the caller frees the job. */
static bool job_start(struct key_job *j, uv_work_cb work, uv_after_work_cb after,
                      const char *event_failed)
{
#if defined(MBEDTLS_THREADING_C)
	if (uv_queue_work(S.loop, &j->w, work, after) == 0)
		return true;
	log_warn("dkim event=%s domain=%s err=\"cannot queue the work\"", event_failed,
	         j->ks->domain);
	keyset_unref(j->ks);
	return false;
#else
	/* mbedTLS without its mutexes: the DRBG is not safe in a worker. */
	(void)event_failed;
	work(&j->w);
	after(&j->w, 0);
	return true;
#endif
}

/* The job is over: the caller gets the fields made (none on failure). */
static void job_end(struct key_job *j)
{
	j->done(j->ud, j->out.data ? j->out.data : "", j->out.len);
	buf_free(&j->out);
	keyset_unref(j->ks);
}

struct sign_work {
	struct key_job job;
	size_t ok_rsa, ok_ed, failed;
};

static uint64_t thread_cpu_us(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void work_sign(uv_work_t *w)
{
	struct sign_work *sw = w->data;
	struct key_job *j = &sw->job;
	uint64_t t0 = thread_cpu_us();
	for (size_t i = 0; i < j->ks->n; i++) {
		struct dkim_signing_key *k = j->ks->k[i].key;
		char err[120];
		if (dkim_sign(k, j->ks->domain, j->ks->k[i].selector, j->now, NULL, j->msg, j->len,
		              &j->out, err, sizeof err) < 0) {
			sw->failed++;
			snprintf(j->err, sizeof j->err, "%s: %s", j->ks->k[i].selector, err);
			continue;
		}
		if (dkim_signing_key_alg(k) == DKIM_ALG_RSA_SHA256)
			sw->ok_rsa++;
		else
			sw->ok_ed++;
	}
	metric_add(MET_DKIM_SIGN_CPU_US, (int64_t)(thread_cpu_us() - t0));
}

static void after_sign(uv_work_t *w, int status)
{
	struct sign_work *sw = w->data;
	struct key_job *j = &sw->job;
	if (status < 0) { /* cancelled: never ran */
		sw->failed = j->ks->n;
		snprintf(j->err, sizeof j->err, "cancelled");
		buf_reset(&j->out);
	}
	metric_add(MET_DKIM_SIGNED_RSA, (int64_t)sw->ok_rsa);
	metric_add(MET_DKIM_SIGNED_ED25519, (int64_t)sw->ok_ed);
	if (sw->failed) {
		metric_add(MET_DKIM_SIGN_FAILED, (int64_t)sw->failed);
		log_warn("dkim event=sign_failed domain=%s failed=%zu signed=%zu err=\"%s\"",
		         j->ks->domain, sw->failed, sw->ok_rsa + sw->ok_ed, j->err);
	}
	if (sw->ok_rsa + sw->ok_ed)
		log_debug("dkim event=signed domain=%s rsa=%zu ed25519=%zu", j->ks->domain,
		          sw->ok_rsa, sw->ok_ed);
	job_end(j);
	free(sw);
}

int dkim_signer_sign(const char *msg, size_t len, dkim_signer_done_fn done, void *ud)
{
	if (!S.loop || !S.store || !msg || len == 0 || len > MSG_MAX)
		return 0;
	char from[256];
	if (!from_domain(msg, len, from, sizeof from))
		return 0;
	cache_check();
	struct keyset *ks = keys_for(from);
	if (!ks)
		return 0;
	if (!tls_rng_ctx()) { /* seeded here, on the loop, before any worker */
		log_warn("dkim event=sign_failed domain=%s err=\"no random generator\"",
		         ks->domain);
		metric_add(MET_DKIM_SIGN_FAILED, (int64_t)ks->n);
		return 0;
	}
	struct sign_work *sw = calloc(1, sizeof *sw);
	if (!sw)
		return 0;
	job_init(&sw->job, sw, ks, msg, len, done, ud);
	if (job_start(&sw->job, work_sign, after_sign, "sign_failed"))
		return 1;
	free(sw);
	return 0;
}

/* ---- ARC sealing of forwarded mail ---- */

struct seal_work {
	struct key_job job;
	struct dkim_signing_key *key;
	const char *selector;
	enum arc_status chain;
	char *authres; /* the A-R value, unfolded */
	int rc;
};

static void work_seal(uv_work_t *w)
{
	struct seal_work *sw = w->data;
	struct key_job *j = &sw->job;
	sw->rc = arc_seal(sw->key, j->ks->domain, sw->selector, j->now, NULL, 0, sw->chain,
	                  sw->authres, j->msg, j->len, &j->out, j->err, sizeof j->err);
}

static void after_seal(uv_work_t *w, int status)
{
	struct seal_work *sw = w->data;
	struct key_job *j = &sw->job;
	if (status < 0) {
		sw->rc = -1;
		snprintf(j->err, sizeof j->err, "cancelled");
	}
	if (sw->rc != 0)
		buf_reset(&j->out);
	if (sw->rc < 0)
		log_warn("dkim event=arc_seal_failed domain=%s err=\"%s\"", j->ks->domain, j->err);
	else if (sw->rc == 0)
		log_debug("dkim event=arc_sealed domain=%s selector=%s", j->ks->domain,
		          sw->selector);
	job_end(j);
	free(sw->authres);
	free(sw);
}

/* "Authentication-Results: id;\r\n\tspf=..\r\n" -> "id; spf=..". */
static char *authres_value(const char *field, size_t len)
{
	const char *colon = memchr(field, ':', len);
	if (!colon)
		return NULL;
	size_t start = (size_t)(colon + 1 - field);
	char *out = malloc(len - start + 1);
	if (!out)
		return NULL;
	size_t n = 0;
	for (size_t i = start; i < len; i++) {
		char c = field[i];
		if (c == '\r' || c == '\n')
			continue;
		if (c == '\t')
			c = ' ';
		if (c == ' ' && (n == 0 || out[n - 1] == ' '))
			continue;
		out[n++] = c;
	}
	while (n && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
	return out;
}

int dkim_signer_arc_seal(const char *domain, enum arc_status chain, const char *authres,
                         size_t authres_len, const char *msg, size_t len, dkim_signer_done_fn done,
                         void *ud)
{
	if (!S.loop || !S.store || !msg || len == 0 || len > MSG_MAX || !domain[0])
		return 0;
	cache_check();
	struct keyset *ks = keys_for(domain);
	if (!ks)
		return 0;
	size_t k = 0;
	while (k < ks->n && dkim_signing_key_alg(ks->k[k].key) != DKIM_ALG_RSA_SHA256)
		k++;
	if (k == ks->n || !tls_rng_ctx())
		return 0;
	struct seal_work *sw = calloc(1, sizeof *sw);
	if (!sw)
		return 0;
	sw->authres = authres_value(authres, authres_len);
	if (!sw->authres) {
		free(sw);
		return 0;
	}
	job_init(&sw->job, sw, ks, msg, len, done, ud);
	sw->key = ks->k[k].key;
	sw->selector = ks->k[k].selector;
	sw->chain = chain;
	if (job_start(&sw->job, work_seal, after_seal, "arc_seal_failed"))
		return 1;
	free(sw->authres);
	free(sw);
	return 0;
}
