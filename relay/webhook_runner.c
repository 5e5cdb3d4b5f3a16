/* webhook_runner: the loop side of webhooks (contract in webhook_runner.h).
 *
 * One struct hook_post per event in flight, through three asynchronous
 * steps: getaddrinfo (the thread pool), the HTTP client, the store job
 * that marks the row. The posts in flight are a short list (at most
 * max_concurrent), which a scan also uses to skip their rows. */
#include "relay/webhook_runner.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "net/http_client.h"
#include "relay/backoff.h"
#include "relay/webhook_addr.h"
#include "relay/webhook_sign.h"
#include "store/store.h"
#include "store/webhooks.h"
#include "tls/tls_client.h"

#define MAX_RESPONSE_BODY 65536 /* what a receiver answers is not read */

struct hook_post {
	struct hook_post *next;
	int64_t id, attempts, created;
	char *json, *url, *secret;
	uv_getaddrinfo_t gai;
	bool resolving;
	struct http_client *http;
	bool ok;
	char error[STORE_WEBHOOK_ERROR_MAX];
	int64_t now, next_attempt; /* for the mark */
};

static struct {
	const struct webhook_settings *cfg;
	struct webhook_services svc;
	struct tls_client_ctx *tls;
	uv_timer_t scan_timer, kick_timer;
	bool running, kick_armed;
	struct hook_post *posts;
	size_t nposts;
} rt;

static void post_free(struct hook_post *p)
{
	free(p->json);
	free(p->url);
	free(p->secret);
	free(p);
}

static void post_unlink(struct hook_post *p)
{
	for (struct hook_post **pp = &rt.posts; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			rt.nposts--;
			return;
		}
}

static void scan(void);

static int mark_job(struct store_tx *tx, void *arg)
{
	struct hook_post *p = arg;
	int r = p->ok ? store_webhook_event_delivered(tx, p->id, p->now)
	              : store_webhook_event_retry(tx, p->id, p->now, p->next_attempt, p->error);
	return r == -ENOENT ? 0 : r; /* deleted meanwhile (`tern webhook delete`) */
}

static void mark_done(void *arg, int status)
{
	struct hook_post *p = arg;
	if (status < 0)
		log_error("webhook event=mark_failed id=%lld err=%d note=sent_again_later",
		          (long long)p->id, status);
	post_unlink(p);
	post_free(p);
	if (rt.running)
		webhook_runner_kick();
}

/* The POST's outcome: mark the row (the post leaves the list when the
 * mark is committed, so no scan starts it twice). */
static void post_finish(struct hook_post *p, bool ok, const char *error)
{
	p->http = NULL;
	p->resolving = false;
	p->ok = ok;
	p->now = (int64_t)time(NULL);
	snprintf(p->error, sizeof p->error, "%s", error ? error : "");
	char esc[600];
	log_kv_escape(esc, sizeof esc, p->error, strlen(p->error));
	if (ok) {
		log_info("webhook event=delivered id=%lld attempts=%lld", (long long)p->id,
		         (long long)p->attempts + 1);
	} else {
		const struct webhook_settings *c = rt.cfg;
		p->next_attempt =
		    p->now - p->created >= c->lifetime
		        ? 0
		        : p->now + retry_backoff(c->retry_first, c->retry_max, p->attempts + 1);
		log_info("webhook event=%s id=%lld attempts=%lld error=%s",
		         p->next_attempt ? "deferred" : "failed", (long long)p->id,
		         (long long)p->attempts + 1, esc);
	}
	if (!rt.running || store_submit(rt.svc.store, mark_job, mark_done, p) < 0) {
		post_unlink(p);
		post_free(p);
	}
}

static void on_response(void *ud, const char *err, struct http_resp *resp)
{
	struct hook_post *p = ud;
	char why[STORE_WEBHOOK_ERROR_MAX];
	if (err) {
		snprintf(why, sizeof why, "%s", err);
		post_finish(p, false, why);
	} else if (resp->status >= 200 && resp->status < 300) {
		post_finish(p, true, NULL);
	} else {
		snprintf(why, sizeof why, "HTTP status %d", resp->status);
		post_finish(p, false, why);
	}
}

static void addr_text(const struct sockaddr *sa, char *out, size_t len)
{
	const void *a = sa->sa_family == AF_INET6
	                    ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
	                    : (const void *)&((const struct sockaddr_in *)sa)->sin_addr;
	if (!inet_ntop(sa->sa_family, a, out, (socklen_t)len))
		snprintf(out, len, "?");
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct hook_post *p = req->data;
	p->resolving = false;
	if (!rt.running || status == UV_ECANCELED) {
		uv_freeaddrinfo(res);
		post_unlink(p);
		post_free(p);
		return;
	}
	char why[STORE_WEBHOOK_ERROR_MAX];
	if (status < 0 || !res) {
		snprintf(why, sizeof why, "cannot resolve the host: %s", uv_strerror(status));
		uv_freeaddrinfo(res);
		post_finish(p, false, why);
		return;
	}
	/* Every address is judged: a name with one public and one private
	 * address could otherwise be steered to the private one. */
	const struct addrinfo *use = NULL;
	for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		if (!rt.cfg->allow_private && webhook_addr_refused(ai->ai_addr)) {
			char txt[64];
			addr_text(ai->ai_addr, txt, sizeof txt);
			snprintf(why, sizeof why,
			         "the host resolves to %s, a private or local address "
			         "([webhooks] allow_private is off)",
			         txt);
			uv_freeaddrinfo(res);
			post_finish(p, false, why);
			return;
		}
		if (!use)
			use = ai;
	}
	if (!use) {
		uv_freeaddrinfo(res);
		post_finish(p, false, "the host has no IPv4 or IPv6 address");
		return;
	}
	struct sockaddr_storage addr;
	memcpy(&addr, use->ai_addr, use->ai_addrlen);
	uv_freeaddrinfo(res);

	int64_t t = (int64_t)time(NULL);
	char sig[WEBHOOK_SIGNATURE_MAX], headers[256];
	if (webhook_signature(p->secret, t, p->json, strlen(p->json), sig, sizeof sig) < 0) {
		post_finish(p, false, "cannot sign");
		return;
	}
	snprintf(headers, sizeof headers, "Tern-Signature: %s\r\nTern-Event-Id: %lld\r\n", sig,
	         (long long)p->id);
	struct http_client_req hreq = {
	    .method = "POST",
	    .url = p->url,
	    .content_type = "application/json",
	    .body = p->json,
	    .body_len = strlen(p->json),
	    .headers = headers,
	    .max_body = MAX_RESPONSE_BODY,
	    .connect_addr = (const struct sockaddr *)&addr,
	    .timeout_ms = (uint64_t)rt.cfg->timeout * 1000,
	};
	p->http = http_client_start(rt.svc.loop, rt.tls, &hreq, on_response, p);
	if (!p->http)
		post_finish(p, false, "cannot start the request (URL or TLS)");
}

static void post_start(struct hook_post *p)
{
	char host[256], port[16];
	int portn;
	bool https;
	/* The path is not needed here (http_client splits the URL again). */
	char *path = malloc(STORE_WEBHOOK_URL_MAX);
	int r = path ? http_url_split(p->url, host, sizeof host, &portn, path,
	                              STORE_WEBHOOK_URL_MAX, &https)
	             : -1;
	free(path);
	if (r < 0) {
		post_finish(p, false, "not an http or https URL");
		return;
	}
	snprintf(port, sizeof port, "%d", portn);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC};
	p->gai.data = p;
	p->resolving = true;
	if (uv_getaddrinfo(rt.svc.loop, &p->gai, on_resolved, host, port, &hints) < 0) {
		p->resolving = false;
		post_finish(p, false, "cannot start the host lookup");
	}
}

static bool in_flight(int64_t id)
{
	for (struct hook_post *p = rt.posts; p; p = p->next)
		if (p->id == id)
			return true;
	return false;
}

struct scan_ctx {
	struct hook_post *started[64];
	size_t n, room;
};

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

static int scan_row(void *ud, const struct store_webhook_event *e)
{
	struct scan_ctx *sc = ud;
	if (sc->n >= sc->room)
		return 1;
	if (in_flight(e->id))
		return 0;
	struct hook_post *p = calloc(1, sizeof *p);
	if (!p)
		return 1;
	p->id = e->id;
	p->attempts = e->attempts;
	p->created = e->created;
	p->json = xstrdup(e->json);
	p->url = xstrdup(e->url);
	p->secret = xstrdup(e->secret);
	if (!p->json || !p->url || !p->secret) {
		post_free(p);
		return 1;
	}
	p->next = rt.posts;
	rt.posts = p;
	rt.nposts++;
	sc->started[sc->n++] = p;
	return 0;
}

static void scan(void)
{
	if (!rt.running || (rt.svc.stopping && *rt.svc.stopping))
		return;
	size_t max = (size_t)rt.cfg->max_concurrent;
	if (rt.nposts >= max)
		return;
	struct scan_ctx sc = {.room = max - rt.nposts};
	if (sc.room > 64)
		sc.room = 64;
	int r = store_webhook_due(store_reader(rt.svc.store), (int64_t)time(NULL),
	                          (int)(rt.nposts + sc.room), scan_row, &sc);
	if (r < 0)
		log_error("webhook event=scan_failed err=%d", r);
	/* Started after the read: a start may finish (and unlink) at once. */
	for (size_t i = 0; i < sc.n; i++)
		post_start(sc.started[i]);
}

static void on_scan_timer(uv_timer_t *t)
{
	(void)t;
	scan();
}

static void on_kick_timer(uv_timer_t *t)
{
	(void)t;
	rt.kick_armed = false;
	scan();
}

void webhook_runner_kick(void)
{
	if (!rt.running || rt.kick_armed)
		return;
	rt.kick_armed = true;
	uv_timer_start(&rt.kick_timer, on_kick_timer, 100, 0);
}

void webhook_runner_start(const struct webhook_settings *settings,
                          const struct webhook_services *svc)
{
	rt.cfg = settings;
	rt.svc = *svc;
	char err[256];
	if (tls_client_ctx_new(&rt.tls, true, NULL, err, sizeof err) < 0) {
		log_warn("webhook event=no_tls err=%s note=https_webhooks_fail", err);
		rt.tls = NULL;
	}
	uv_timer_init(svc->loop, &rt.scan_timer);
	uv_timer_init(svc->loop, &rt.kick_timer);
	uint64_t every = (uint64_t)settings->scan_interval * 1000;
	rt.running = true;
	uv_timer_start(&rt.scan_timer, on_scan_timer, 200, every);
	if (settings->allow_private)
		log_warn("webhook event=allow_private note=webhooks_may_post_to_local_addresses");
}

void webhook_runner_stop(void)
{
	if (!rt.running)
		return;
	rt.running = false;
	uv_close((uv_handle_t *)&rt.scan_timer, NULL);
	uv_close((uv_handle_t *)&rt.kick_timer, NULL);
	for (struct hook_post *p = rt.posts, *next; p; p = next) {
		next = p->next;
		if (p->resolving) {
			uv_cancel((uv_req_t *)&p->gai); /* on_resolved frees it */
		} else if (p->http) {
			http_client_cancel(p->http);
			p->http = NULL;
			post_unlink(p);
			post_free(p);
		}
		/* else its mark is in the store: mark_done frees it */
	}
	/* A cancelled request lets go of its TLS session only when its
	 * connection closes: the context stays for them (one per process). */
	if (!rt.posts)
		tls_client_ctx_free(&rt.tls);
}
