/* status: the operator's endpoints: /healthz, /readyz and /metrics.
 *
 * /healthz answers from the loop itself: if it answers, the loop runs.
 * /readyz sends a no-op job through the store's writer and answers when it
 * has committed, so "ready" means a delivery could commit now; while the
 * server is stopping it is 503. /metrics renders lib/metrics' table with
 * what is read at scrape time (the store's counters, the queue's depth and
 * age). It is for loopback clients only unless [http] metrics_token is
 * set, and then for a client with that bearer token (compared in constant
 * time) from anywhere. */
#include "proto/http/http_int.h"

#include <string.h>
#include <strings.h>
#include <time.h>

#include "acme/acme.h"
#include "lib/metrics.h"
#include "net/conn.h"
#include "proto/common/env.h"
#include "store/queue.h"
#include "store/store.h"

void http_healthz(struct http_session *s)
{
	static const char body[] = "ok\n";
	http_respond(s, 200, "text/plain; charset=utf-8", NULL, body, sizeof body - 1,
	             HTTP_R_NOSTORE);
}

static int noop_job(struct store_tx *tx, void *arg)
{
	(void)tx;
	(void)arg;
	return 0;
}

static void ready_done(void *arg, int status)
{
	struct http_session *s = arg;
	if (!s->closed) {
		bool ok = status >= 0 && !s->ctx->env->stopping;
		const char *body = ok ? "ready\n" : "store not writable\n";
		http_respond(s, ok ? 200 : 503, "text/plain; charset=utf-8", NULL, body,
		             strlen(body), HTTP_R_NOSTORE);
	}
	http_session_resume(s);
}

void http_readyz(struct http_session *s)
{
	if (s->ctx->env->stopping) {
		static const char body[] = "stopping\n";
		http_respond(s, 503, "text/plain; charset=utf-8", NULL, body, sizeof body - 1,
		             HTTP_R_NOSTORE);
		return;
	}
	http_session_hold(s);
	if (store_submit(s->ctx->env->store, noop_job, ready_done, s) < 0)
		ready_done(s, -1);
}

/* Equal strings, in time that depends on the length of b only. */
static bool secret_equal(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);
	unsigned char d = (unsigned char)(alen != blen);
	for (size_t i = 0; i < blen; i++)
		d |= (unsigned char)(b[i] ^ (i < alen ? a[i] : 0));
	return d == 0;
}

static bool metrics_allowed(struct http_session *s, int *status)
{
	const char *token = s->ctx->settings->metrics_token;
	if (!token[0]) {
		*status = 403;
		return conn_peer_is_loopback(s->c);
	}
	*status = 401;
	const char *given;
	size_t len;
	return http_bearer(s->req, &given, &len) && secret_equal(given, len, token);
}

static int store_figures(struct http_session *s, struct buf *b)
{
	struct store *st = s->ctx->env->store;
	struct store_stats ss;
	store_get_stats(st, &ss);
	int r = 0;
	r |= metrics_render_one(b, "tern_store_jobs_total", "counter",
	                        "Store jobs run by the writer.", (double)ss.jobs);
	r |= metrics_render_one(b, "tern_store_commits_total", "counter",
	                        "Batches the writer committed.", (double)ss.commits);
	r |= metrics_render_one(b, "tern_store_failed_jobs_total", "counter",
	                        "Store jobs that failed.", (double)ss.failed);
	r |= metrics_render_one(b, "tern_store_fsyncs_total", "counter",
	                        "fdatasync()s of the WAL (a batch of commits shares one).",
	                        (double)ss.wal_syncs);
	r |= metrics_render_one(b, "tern_store_checkpoints_total", "counter",
	                        "Passes of the checkpointer.", (double)ss.checkpoints);
	r |= metrics_render_one(b, "tern_store_cache_bytes", "gauge",
	                        "Page caches of the store's reader and writer (each bounded by "
	                        "its cache_size).",
	                        (double)store_cache_bytes(st));
	r |=
	    metrics_render_one(b, "tern_store_writes_stopped", "gauge",
	                       "1 after a failed sync of the WAL: writes fail until tern restarts.",
	                       (double)ss.writes_stopped);
	struct store_rd *rd = store_reader(st);
	bool begun = store_read_begin(rd);
	int64_t depth = store_queue_count(rd);
	int64_t oldest = store_queue_oldest(rd);
	store_read_end(rd, begun);
	int64_t age = oldest > 0 ? (int64_t)time(NULL) - oldest : 0;
	r |= metrics_render_one(b, "tern_queue_messages", "gauge",
	                        "Recipients waiting in the relay queue.",
	                        depth < 0 ? 0 : (double)depth);
	r |= metrics_render_one(b, "tern_queue_oldest_age_seconds", "gauge",
	                        "Age of the oldest entry in the relay queue.",
	                        age < 0 ? 0 : (double)age);
	r |= metrics_render_one(b, "tern_acme_cert_expiry_timestamp_seconds", "gauge",
	                        "When the first ACME certificate to expire does (0: none).",
	                        (double)acme_earliest_expiry());
	return r;
}

void http_metrics(struct http_session *s)
{
	int status;
	if (!metrics_allowed(s, &status)) {
		http_respond(s, status, "text/plain; charset=utf-8",
		             status == 401 ? "WWW-Authenticate: Bearer realm=\"metrics\"\r\n"
		                           : NULL,
		             status == 401 ? "401 Unauthorized\n" : "403 Forbidden\n",
		             status == 401 ? 17 : 14, 0);
		return;
	}
	struct buf b = {0};
	if (metrics_render(&b) < 0 || store_figures(s, &b) != 0) {
		buf_free(&b);
		http_respond_error(s, 500);
		return;
	}
	http_respond(s, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, b.data, b.len,
	             HTTP_R_NOSTORE | HTTP_R_GZIP);
	buf_free(&b);
}
