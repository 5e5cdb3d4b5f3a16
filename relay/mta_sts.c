/* mta_sts: the relay's MTA-STS policy lookup and in-memory cache
 * (mta_sts.h).
 *
 * One lookup walks TXT -> (cache hit: done) -> A of the policy host ->
 * HTTPS GET -> parse -> cache, one asynchronous step at a time; `step`
 * holds the one in flight so that cancel stops exactly it. The cache is a
 * small bounded table (loop thread only); when full, the entry closest to
 * expiry gives way. */
#include "relay/mta_sts.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/log.h"
#include "net/dns_query.h"
#include "net/http_client.h"
#include "store/mta_sts.h"
#include "store/store.h"

#define CACHE_SIZE 256

struct cache_entry {
	char domain[256];
	char id[MTA_STS_ID_MAX + 1];
	time_t expires;
	struct mta_sts_policy policy;
};

static struct cache_entry *cache;
static size_t ncache;
static struct store *cache_store;

struct mta_sts_lookup {
	struct mta_sts_env env;
	char domain[256];
	char id[MTA_STS_ID_MAX + 1];
	struct dns_query *q;
	struct http_client *http;
	mta_sts_cb cb;
	void *ud;
};

static struct cache_entry *cache_find(const char *domain)
{
	time_t now = time(NULL);
	for (size_t i = 0; i < ncache; i++)
		if (strcasecmp(cache[i].domain, domain) == 0) {
			if (cache[i].expires > now)
				return &cache[i];
			cache[i] = cache[--ncache]; /* expired: gone */
			return NULL;
		}
	return NULL;
}

static const struct mta_sts_policy *cache_put(const char *domain, const char *id,
                                              const struct mta_sts_policy *p, time_t expires)
{
	if (!cache && !(cache = calloc(CACHE_SIZE, sizeof *cache)))
		return NULL;
	struct cache_entry *e = cache_find(domain);
	if (!e) {
		if (ncache == CACHE_SIZE) {
			size_t soonest = 0;
			for (size_t i = 1; i < ncache; i++)
				if (cache[i].expires < cache[soonest].expires)
					soonest = i;
			cache[soonest] = cache[--ncache];
		}
		e = &cache[ncache++];
	}
	snprintf(e->domain, sizeof e->domain, "%s", domain);
	snprintf(e->id, sizeof e->id, "%s", id);
	e->policy = *p;
	e->expires = expires;
	return &e->policy;
}

/* ---- the stored copy ---- */

struct save_job {
	struct store_mta_sts_policy row;
	int64_t now;
	char text[];
};

static int save_run(struct store_tx *tx, void *arg)
{
	struct save_job *j = arg;
	return store_mta_sts_put(tx, &j->row, j->now);
}

static void save_done(void *arg, int status)
{
	struct save_job *j = arg;
	if (status < 0)
		log_warn("queue domain=%s event=mta_sts_policy_not_stored err=%d", j->row.domain,
		         status);
	free(j);
}

static void cache_save(const char *domain, const char *id, const char *text, size_t len,
                       time_t expires)
{
	if (!cache_store || len >= STORE_MTA_STS_TEXT_MAX || memchr(text, 0, len))
		return;
	struct save_job *j = calloc(1, sizeof *j + len + 1);
	if (!j)
		return;
	snprintf(j->row.domain, sizeof j->row.domain, "%s", domain);
	snprintf(j->row.id, sizeof j->row.id, "%s", id);
	memcpy(j->text, text, len);
	j->row.text = j->text;
	j->row.expires = expires;
	j->now = time(NULL);
	if (store_submit(cache_store, save_run, save_done, j) < 0)
		free(j);
}

static int load_one(void *ud, const struct store_mta_sts_policy *row)
{
	struct mta_sts_policy p;
	const char *why;
	if (mta_sts_parse_policy(row->text, strlen(row->text), &p, &why) == 0 &&
	    cache_put(row->domain, row->id, &p, (time_t)row->expires))
		(*(int *)ud)++;
	return 0;
}

void mta_sts_cache_attach(struct store *store)
{
	int n = 0;
	cache_store = store;
	if (store_mta_sts_list(store_reader(store), time(NULL), load_one, &n) < 0)
		log_warn("queue event=mta_sts_cache_load_failed");
	else if (n)
		log_info("queue event=mta_sts_cache_loaded policies=%d", n);
}

void mta_sts_cache_detach(void)
{
	cache_store = NULL;
}

void mta_sts_cache_clear(void)
{
	free(cache);
	cache = NULL;
	ncache = 0;
}

const struct mta_sts_policy *mta_sts_cached(const char *domain, const char **id)
{
	struct cache_entry *e = cache ? cache_find(domain) : NULL;
	if (!e || e->policy.mode == MTA_STS_NONE)
		return NULL;
	*id = e->id;
	return &e->policy;
}

/* Report once and free. */
static void finish(struct mta_sts_lookup *l, const struct mta_sts_policy *p, const char *failure)
{
	if (p && p->mode == MTA_STS_NONE)
		p = NULL;
	l->cb(l->ud, p, failure);
	free(l);
}

static void finish_cached(struct mta_sts_lookup *l, const char *failure)
{
	struct cache_entry *e = cache_find(l->domain);
	finish(l, e ? &e->policy : NULL, failure);
}

static void on_policy(void *ud, const char *err, struct http_resp *r)
{
	struct mta_sts_lookup *l = ud;
	l->http = NULL;
	if (err || r->status != 200) {
		char st[16];
		snprintf(st, sizeof st, "%d", r ? r->status : 0);
		log_info("queue domain=%s event=mta_sts_fetch_failed err=\"%s\"", l->domain,
		         err ? err : st);
		finish_cached(l, "sts-policy-fetch-error");
		return;
	}
	struct mta_sts_policy p;
	const char *why;
	if (strncasecmp(r->content_type, "text/plain", 10) != 0) {
		log_info("queue domain=%s event=mta_sts_policy_invalid err=\"content type %s\"",
		         l->domain, r->content_type);
		finish_cached(l, "sts-policy-invalid");
		return;
	}
	if (mta_sts_parse_policy(r->body ? r->body : "", r->body_len, &p, &why) != 0) {
		log_info("queue domain=%s event=mta_sts_policy_invalid err=\"%s\"", l->domain, why);
		finish_cached(l, "sts-policy-invalid");
		return;
	}
	log_info("queue domain=%s event=mta_sts_policy id=%s mode=%s mx=%zu max_age=%ld", l->domain,
	         l->id, mta_sts_mode_name(p.mode), p.nmx, p.max_age);
	time_t expires = time(NULL) + p.max_age;
	const struct mta_sts_policy *cached = cache_put(l->domain, l->id, &p, expires);
	cache_save(l->domain, l->id, r->body ? r->body : "", r->body_len, expires);
	finish(l, cached ? cached : &p, NULL);
}

static void on_host(void *ud, const struct dns_answer *a)
{
	struct mta_sts_lookup *l = ud;
	l->q = NULL;
	const struct dns_rr *rr = NULL;
	for (size_t i = 0; a->status == DNS_Q_DATA && i < a->nrrs && !rr; i++)
		if (a->rrs[i].family == AF_INET)
			rr = &a->rrs[i];
	if (!rr) {
		log_info("queue domain=%s event=mta_sts_fetch_failed err=\"mta-sts.%s: %s\"",
		         l->domain, l->domain, dns_qstatus_name(a->status));
		finish_cached(l, "sts-policy-fetch-error");
		return;
	}
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)l->env.port)};
	memcpy(&sin.sin_addr, rr->addr, 4);
	char url[400];
	snprintf(url, sizeof url, "https://mta-sts.%s/.well-known/mta-sts.txt", l->domain);
	struct http_client_req req = {
	    .method = "GET",
	    .url = url,
	    .max_body = MTA_STS_MAX_POLICY,
	    .timeout_ms = l->env.timeout_ms ? l->env.timeout_ms : 30000,
	    .connect_addr = (const struct sockaddr *)&sin,
	};
	l->http = http_client_start(l->env.loop, l->env.tls, &req, on_policy, l);
	if (!l->http)
		finish_cached(l, "sts-policy-fetch-error");
}

static void on_txt(void *ud, const struct dns_answer *a)
{
	struct mta_sts_lookup *l = ud;
	l->q = NULL;
	/* More than one STSv1 record is as good as none (RFC 8461 3.1). */
	int valid = 0;
	for (size_t i = 0; a->status == DNS_Q_DATA && i < a->nrrs; i++) {
		char id[MTA_STS_ID_MAX + 1];
		if (mta_sts_parse_txt(a->rrs[i].text, a->rrs[i].len, id) == 0 && valid++ == 0)
			memcpy(l->id, id, sizeof id);
	}
	struct cache_entry *e = cache_find(l->domain);
	if (valid != 1) {
		/* No (usable) record: a cached policy still applies. */
		char first[200] = "-";
		if (a->status == DNS_Q_DATA && a->nrrs > 0)
			log_kv_escape(first, sizeof first, a->rrs[0].text,
			              a->rrs[0].len < 150 ? a->rrs[0].len : 150);
		log_debug("queue domain=%s event=mta_sts_txt status=%s records=%zu valid=%d "
		          "first=%s%s",
		          l->domain, dns_qstatus_name(a->status), a->nrrs, valid, first,
		          e ? " cached=yes" : "");
		finish(l, e ? &e->policy : NULL, NULL);
		return;
	}
	if (e && strcmp(e->id, l->id) == 0) {
		finish(l, &e->policy, NULL);
		return;
	}
	char host[300];
	snprintf(host, sizeof host, "mta-sts.%s", l->domain);
	l->q = dns_query(l->env.dns, host, DNS_Q_A, on_host, l);
	if (!l->q)
		finish_cached(l, "sts-policy-fetch-error");
}

struct mta_sts_lookup *mta_sts_lookup_start(const struct mta_sts_env *env, const char *domain,
                                            mta_sts_cb cb, void *ud)
{
	if (!env->dns || !env->tls || strlen(domain) > 240)
		return NULL;
	struct mta_sts_lookup *l = calloc(1, sizeof *l);
	if (!l)
		return NULL;
	l->env = *env;
	snprintf(l->domain, sizeof l->domain, "%s", domain);
	l->cb = cb;
	l->ud = ud;
	char name[300];
	snprintf(name, sizeof name, "_mta-sts.%s", domain);
	l->q = dns_query(env->dns, name, DNS_Q_TXT, on_txt, l);
	if (!l->q) {
		free(l);
		return NULL;
	}
	return l;
}

void mta_sts_lookup_cancel(struct mta_sts_lookup *l)
{
	if (!l)
		return;
	if (l->q)
		dns_query_cancel(l->q);
	if (l->http)
		http_client_cancel(l->http);
	free(l);
}
