/* serve: `tern serve` — open the store, load TLS, bind listeners, run the
 * loop, and stop cleanly.
 *
 * The parts below the app are handed what they use, never reach up for
 * it: the auth pool gets the loop, the store and [auth]; the relay gets
 * [queue] and its services (struct relay_services); each protocol gets,
 * through its listener, a context made by the protocols[] table: its own
 * settings struct, the struct proto_env all protocols share (store, auth
 * pool, names, the stopping flag) and the [[listen]] entry's options.
 *
 * Shutdown (SIGTERM/SIGINT) happens in three steps:
 *   1. stop accepting and mark the server stopping;
 *   2. give live sessions up to server.shutdown_grace seconds to finish
 *      by themselves (a client in the middle of DATA completes its
 *      message);
 *   3. then every remaining session gets its protocol's farewell (SMTP 421,
 *      IMAP BYE, POP3 -ERR) through conn_shutdown_all(), the loop stops,
 *      and the store writer drains its queue before the process exits.
 * A second signal skips the grace period. SIGHUP reloads certificates;
 * sessions already running keep their TLS state. A service manager that
 * set $NOTIFY_SOCKET hears READY=1 once every listener is bound,
 * RELOADING=1 then READY=1 around a SIGHUP, STOPPING=1 at step 1
 * (lib/sd_notify.h). Certificates from ACME
 * (acme/) come first in the TLS server's list; when acme/ stores a new
 * one, the list is handed to the TLS server again (tls_server_set_certs),
 * which swaps it in the same way. */
#include "app/serve.h"

#include "app/config_env.h"
#include "app/fd_limit.h"
#include "app/first_start.h"
#include "app/log_control.h"
#include "mime/spool.h"

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "acme/acme.h"
#include "auth/auth.h"
#include "net/conn.h"
#include "net/listener.h"
#include "lib/metrics.h"
#include "lib/log.h"
#include "lib/sd_notify.h"
#include "mailauth/netlist.h"
#include "net/dns.h"
#include "deliver/sieve_cache.h"
#include "deliver/sieve_filter.h"
#include "deliver/srs_key.h"
#include "relay/dkim_signer.h"
#include "relay/scheduler.h"
#include "relay/webhook_runner.h"
#include "proto/imap/index.h"
#include "store/accounts.h"
#include "store/fault.h"
#include "store/store.h"
#include "tls/tls.h"

/* The state of the one running `tern serve`, on the loop thread only
 * (except the store, whose writer thread is internal to store/). */
struct server {
	uv_loop_t *loop;
	struct config *cfg;
	struct store *store;
	struct auth_pool *auth;
	struct tls_server *tls;
	struct proto_env env; /* what every protocol gets; env.stopping is the shutdown flag */
};

static struct server the_server;

/* Mail authentication of mx listeners: a resolver of their own (the
 * relay's is the queue runner's), and the [auth] lists, parsed once. */
static struct dns_resolver *mx_dns;
static struct netlist mx_trusted, mx_forwarders;
static uv_signal_t sig_term, sig_int, sig_hup;
static uv_timer_t shutdown_timer;
static uint64_t shutdown_deadline;
static int signals_seen;

static void stop_loop_now(void)
{
	uv_timer_stop(&shutdown_timer);
	uv_stop(the_server.loop);
}

/* Polls every 100 ms: done when no session is left or the grace is over. */
static void on_shutdown_tick(uv_timer_t *t)
{
	size_t live = conn_live_count();
	if (live == 0) {
		stop_loop_now();
		return;
	}
	if (uv_now(the_server.loop) >= shutdown_deadline) {
		log_info("event=shutdown_grace_over sessions=%zu", live);
		conn_shutdown_all();
		/* One more second for the farewells to flush. */
		shutdown_deadline = uv_now(the_server.loop) + 1000;
		if (signals_seen < 100)
			signals_seen = 100;
		else
			stop_loop_now();
	}
}

static void begin_shutdown(const char *why)
{
	signals_seen++;
	if (the_server.env.stopping) {
		log_info("event=shutdown_now reason=%s", why);
		shutdown_deadline = 0;
		return;
	}
	the_server.env.stopping = true;
	sd_notify_sendf("STOPPING=1\nSTATUS=stopping (%s): %zu sessions, grace %llds", why,
	                conn_live_count(), (long long)the_server.cfg->shutdown_grace);
	log_info("event=shutdown reason=%s sessions=%zu grace=%llds", why, conn_live_count(),
	         (long long)the_server.cfg->shutdown_grace);
	listeners_stop();
	shutdown_deadline =
	    uv_now(the_server.loop) + (uint64_t)the_server.cfg->shutdown_grace * 1000;
	uv_timer_start(&shutdown_timer, on_shutdown_tick, 0, 100);
}

static size_t cert_specs(const struct config *cfg, struct tls_cert_spec *specs);

/* SIGHUP: the certificates again (and ACME's that are gone). */
static void reload_tls(void)
{
	char err[512];
	/* ACME files gone (tern acme revoke): stop serving them and
	 * order anew; the rest is re-read as usual. */
	struct tls_cert_spec specs[CONFIG_MAX_CERTS + CONFIG_MAX_ACME];
	size_t gone = acme_recheck();
	size_t n = gone ? cert_specs(the_server.cfg, specs) : 0;
	if (gone && n == 0) {
		/* nothing else to serve: the old one stays until the new
		 * one is installed */
		log_warn("event=tls_reload_skipped reason=acme_certificate_gone "
		         "note=old_certificates_kept_until_reordered");
		return;
	}
	if (n > 0 ? tls_server_set_certs(the_server.tls, specs, n, err, sizeof err) < 0
	          : tls_server_reload(the_server.tls, err, sizeof err) < 0)
		log_error("event=tls_reload_failed err=\"%s\" note=old_certificates_kept", err);
	else
		log_info("event=tls_reloaded");
}

static void on_signal(uv_signal_t *h, int signum)
{
	if (signum == SIGHUP) {
		sd_notify_reloading("reloading certificates");
		reload_tls();
		sd_notify_sendf("READY=1\nSTATUS=%s", "serving (reloaded)");
		return;
	}
	begin_shutdown(signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

static void log_fingerprints(void)
{
	char fps[CONFIG_MAX_CERTS + CONFIG_MAX_ACME + 1][96];
	size_t n = tls_server_fingerprints(the_server.tls, fps, sizeof fps / sizeof fps[0]);
	for (size_t i = 0; i < n; i++)
		log_info("event=tls_cert file=%s sha256=%s",
		         tls_server_cert_file(the_server.tls, i), fps[i]);
}

/* The certificates to serve: ACME's that are usable now, then the
 * configured ones. Returns the count (0: the self-signed one). */
static size_t cert_specs(const struct config *cfg, struct tls_cert_spec *specs)
{
	size_t n = acme_certs(specs, CONFIG_MAX_ACME);
	for (size_t i = 0; i < cfg->ncerts; i++)
		specs[n++] = (struct tls_cert_spec){cfg->certs[i].cert, cfg->certs[i].key};
	return n;
}

static void on_acme_installed(void *ud)
{
	struct server *srv = ud;
	struct tls_cert_spec specs[CONFIG_MAX_CERTS + CONFIG_MAX_ACME];
	size_t n = cert_specs(srv->cfg, specs);
	char err[512];
	if (n == 0 || tls_server_set_certs(srv->tls, specs, n, err, sizeof err) < 0) {
		log_error(
		    "event=tls_reload_failed reason=acme err=\"%s\" note=old_certificates_kept",
		    n ? err : "no certificate");
		return;
	}
	log_info("event=tls_reloaded reason=acme certificates=%zu", n);
	log_fingerprints();
}

/* Memory back to the system after a burst. Connections that log in
 * together leave their transient buffers (replies, literals, parse state)
 * as free holes in the heap, which glibc keeps resident; once clients have
 * been quiet for a second, malloc_trim() returns those pages. And each TLS
 * connection quiet for a second gives back its record buffers' pages
 * (conn_trim_idle()), whatever the others do. */
#define TRIM_QUIET_MS 1000
#define TRIM_TICK_MS 500
static uv_timer_t trim_timer;
static uint64_t last_input_ms;
static bool input_since_trim;

static void on_trim_tick(uv_timer_t *t)
{
	conn_trim_idle(uv_now(t->loop), TRIM_QUIET_MS);
	if (input_since_trim && uv_now(t->loop) - last_input_ms >= TRIM_QUIET_MS) {
		input_since_trim = false;
#ifdef __GLIBC__
		malloc_trim(0);
#endif
	}
}

/* ---- protocols and listeners ---- */

/* Each protocol's part of the wiring: its context in w, and the line limit
 * and idle timeout of its conns. Returns the context. */
typedef void *(*wire_fn)(struct serve_listener *w, const struct config *cfg,
                         const struct config_listen *lc, const struct proto_env *env);

static void *wire_smtp(struct serve_listener *w, const struct config *cfg,
                       const struct config_listen *lc, const struct proto_env *env)
{
	w->ctx.smtp = (struct smtp_ctx){
	    .settings = &cfg->smtp,
	    .spam = &cfg->spam,
	    .env = env,
	    .submission = lc->protocol == PROTO_SUBMISSION,
	    .idle_timeout_ms = (uint64_t)lc->idle_timeout * 1000,
	    .dns = mx_dns,
	    .trusted_networks = &mx_trusted,
	    .dmarc_forwarders = &mx_forwarders,
	};
	w->spec.limits.max_line = (size_t)cfg->smtp.max_line;
	w->spec.limits.idle_timeout_ms = (uint64_t)cfg->smtp.timeout_command * 1000;
	/* mx: each transaction must end within the deadline; submission: the
	 * login (smtp/session.c clears or restarts it). */
	w->spec.limits.deadline_ms =
	    (uint64_t)(lc->protocol == PROTO_SUBMISSION ? cfg->login_deadline
	                                                : cfg->smtp.transaction_deadline) *
	    1000;
	snprintf(w->refusal, sizeof w->refusal,
	         "421 4.7.0 %s Too many connections, try again later\r\n", cfg->hostname);
	w->spec.limits.refusal = w->refusal;
	return &w->ctx.smtp;
}

/* The port of the first implicit-TLS POP3 listener, which POP3 names to a
 * client that tries to log in without TLS; 0 if there is none. */
static int pop3_tls_port(const struct config *cfg)
{
	for (size_t i = 0; i < cfg->nlisten; i++) {
		const struct config_listen *l = &cfg->listen[i];
		const char *colon = strrchr(l->address, ':');
		if (l->protocol == PROTO_POP3 && l->tls == LISTEN_TLS_IMPLICIT && colon)
			return atoi(colon + 1);
	}
	return 0;
}

static void *wire_pop3(struct serve_listener *w, const struct config *cfg,
                       const struct config_listen *lc, const struct proto_env *env)
{
	w->ctx.pop3 =
	    (struct pop3_ctx){.settings = &cfg->pop3, .env = env, .tls_port = pop3_tls_port(cfg)};
	w->spec.limits.max_line = (size_t)cfg->pop3.max_line;
	w->spec.limits.idle_timeout_ms = (uint64_t)cfg->pop3.timeout * 1000;
	w->spec.limits.deadline_ms = (uint64_t)cfg->login_deadline * 1000;
	w->spec.limits.refusal = "-ERR [SYS/TEMP] Too many connections, try again later\r\n";
	return &w->ctx.pop3;
}

static void *wire_sieve(struct serve_listener *w, const struct config *cfg,
                        const struct config_listen *lc, const struct proto_env *env)
{
	(void)lc;
	w->ctx.managesieve = (struct msieve_ctx){.settings = &cfg->managesieve, .env = env};
	w->spec.limits.max_line = (size_t)cfg->managesieve.max_line;
	w->spec.limits.idle_timeout_ms = (uint64_t)cfg->managesieve.timeout * 1000;
	w->spec.limits.deadline_ms = (uint64_t)cfg->login_deadline * 1000;
	w->spec.limits.refusal = "BYE (TRYLATER) \"Too many connections, try again later\"\r\n";
	return &w->ctx.managesieve;
}

static void *wire_imap(struct serve_listener *w, const struct config *cfg,
                       const struct config_listen *lc, const struct proto_env *env)
{
	w->ctx.imap = (struct imap_ctx){.settings = &cfg->imap, .env = env};
	w->spec.limits.max_line = (size_t)cfg->imap.max_line;
	w->spec.limits.idle_timeout_ms = (uint64_t)cfg->imap.timeout * 1000;
	w->spec.limits.deadline_ms = (uint64_t)cfg->login_deadline * 1000;
	w->spec.limits.refusal = "* BYE [UNAVAILABLE] Too many connections, try again later\r\n";
	return &w->ctx.imap;
}

static int listen_port(const struct config_listen *l)
{
	const char *colon = strrchr(l->address, ':');
	return colon ? atoi(colon + 1) : 0;
}

/* What the autoconfiguration endpoints announce: the mail listeners, IMAP
 * before POP3 before submission, and of each implicit TLS first (RFC 8314
 * §3.3 prefers it); and the first HTTPS listener, where plain HTTP
 * redirects to. */
static void http_site_from(struct http_site *site, const struct config *cfg)
{
	memset(site, 0, sizeof *site);
	static const struct {
		enum listen_protocol protocol;
		enum http_service_kind kind;
	} kinds[] = {{PROTO_IMAP, HTTP_SVC_IMAP},
	             {PROTO_POP3, HTTP_SVC_POP3},
	             {PROTO_SUBMISSION, HTTP_SVC_SUBMISSION}};
	static const struct {
		enum listen_tls listen;
		enum http_service_tls svc;
	} tls[] = {{LISTEN_TLS_IMPLICIT, HTTP_SVC_TLS},
	           {LISTEN_TLS_STARTTLS, HTTP_SVC_STARTTLS},
	           {LISTEN_TLS_NONE, HTTP_SVC_PLAIN}};
	for (size_t k = 0; k < 3; k++)
		for (size_t o = 0; o < 3; o++)
			for (size_t i = 0; i < cfg->nlisten && site->nservices < HTTP_MAX_SERVICES;
			     i++) {
				const struct config_listen *l = &cfg->listen[i];
				if (l->protocol == kinds[k].protocol && l->tls == tls[o].listen)
					site->services[site->nservices++] = (struct http_service){
					    kinds[k].kind, tls[o].svc, listen_port(l)};
			}
	for (size_t i = 0; i < cfg->nlisten && !site->https_port; i++)
		if (cfg->listen[i].protocol == PROTO_HTTP &&
		    cfg->listen[i].tls == LISTEN_TLS_IMPLICIT)
			site->https_port = listen_port(&cfg->listen[i]);
}

static void *wire_http(struct serve_listener *w, const struct config *cfg,
                       const struct config_listen *lc, const struct proto_env *env)
{
	http_site_from(&w->http_site, cfg);
	w->ctx.http = (struct http_ctx){
	    .settings = &cfg->http,
	    .env = env,
	    .site = &w->http_site,
	    .jmap = &cfg->jmap,
	    .https = lc->tls == LISTEN_TLS_IMPLICIT,
	    .send_max_size = cfg->smtp.max_message_size,
	    .send_max_rcpts = cfg->smtp.max_recipients,
	};
	/* conn's buffer must hold what the parser may leave unconsumed: a
	 * pipelined request behind a held one, up to a whole head. */
	w->spec.limits.max_line = (size_t)cfg->http.max_head;
	w->spec.limits.idle_timeout_ms = (uint64_t)cfg->http.keepalive_timeout * 1000;
	w->spec.limits.deadline_ms = (uint64_t)cfg->http.header_timeout * 1000;
	w->spec.limits.refusal = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
	                         "Connection: close\r\nRetry-After: 5\r\n\r\n";
	return &w->ctx.http;
}

/* Protocol -> its entry point and its wiring. */
static const struct {
	conn_start_fn start;
	wire_fn wire;
} protocols[] = {
    [PROTO_SMTP] = {smtp_session_start, wire_smtp},
    [PROTO_SUBMISSION] = {smtp_session_start, wire_smtp},
    [PROTO_POP3] = {pop3_session_start, wire_pop3},
    [PROTO_IMAP] = {imap_session_start, wire_imap},
    [PROTO_HTTP] = {http_session_start, wire_http},
    [PROTO_SIEVE] = {msieve_session_start, wire_sieve},
};

_Static_assert(MET_OPEN_HTTP - MET_OPEN_SMTP == PROTO_HTTP &&
                   MET_ACCEPTED_HTTP - MET_ACCEPTED_SMTP == PROTO_HTTP,
               "lib/metrics.h counts connections in [[listen]]'s protocol order");
_Static_assert((int)LISTEN_TLS_NONE == (int)CONN_TLS_NONE &&
                   (int)LISTEN_TLS_STARTTLS == (int)CONN_TLS_STARTTLS &&
                   (int)LISTEN_TLS_IMPLICIT == (int)CONN_TLS_IMPLICIT,
               "[[listen]] tls is a conn TLS mode");

void serve_wire_listener(struct serve_listener *w, const struct config *cfg,
                         const struct config_listen *lc, const struct proto_env *env,
                         struct tls_server *tls)
{
	memset(w, 0, sizeof *w);
	struct listener_spec *spec = &w->spec;
	spec->name = config_protocol_name(lc->protocol);
	spec->address = lc->address;
	spec->tls = (enum conn_tls_mode)lc->tls;
	spec->tls_server = tls;
	/* mx: TLS is opportunistic, a refused suite means plaintext */
	spec->tls_profile = lc->protocol == PROTO_SMTP ? TLS_PROFILE_MTA : TLS_PROFILE_CLIENTS;
	spec->start = protocols[lc->protocol].start;
	spec->ctx = protocols[lc->protocol].wire(w, cfg, lc, env);
	/* lib/metrics.h's order; ManageSieve's connections are not counted there */
	spec->limits.metrics_slot = lc->protocol <= PROTO_HTTP ? 1 + (int)lc->protocol : 0;
	struct conn_limits *lim = &spec->limits;
	if (lc->idle_timeout > 0)
		lim->idle_timeout_ms = (uint64_t)lc->idle_timeout * 1000;
	lim->handshake_timeout_ms = (uint64_t)cfg->tls_handshake_timeout * 1000;
	lim->max_output = (size_t)cfg->max_output;
	lim->max_conn_total =
	    (unsigned)(lc->max_connections > 0 ? lc->max_connections : cfg->max_connections);
	lim->max_conn_per_ip =
	    (unsigned)(lc->max_connections_per_ip > 0 ? lc->max_connections_per_ip
	                                              : cfg->max_connections_per_ip);
}

/* Before the loop blocks, the lines its callbacks logged go out (log.c). */
static uv_prepare_t log_flusher;

static void on_loop_idle_soon(uv_prepare_t *h)
{
	(void)h;
	log_flush();
}

/* conn's input hook: clients are active, the store's idle work and the
 * heap trim wait. */
static void note_client(void *store)
{
	store_note_client(store);
	last_input_ms = uv_now(the_server.loop);
	input_since_trim = true;
}

/* The resolver of the mx listeners' checks: SPF, DKIM, DMARC ([auth]),
 * DNSBL and FCrDNS ([spam]), with the queue's servers and timeout on its
 * own c-ares channel. None when nothing is checked. */
static void start_mx_dns(struct server *srv)
{
	const struct config *cfg = srv->cfg;
	if (!cfg->smtp.check_spf && !cfg->smtp.check_dkim && !cfg->smtp.check_dmarc &&
	    cfg->spam.ndnsbl == 0 && !cfg->spam.fcrdns)
		return;
	char err[512];
	if (dns_resolver_new(&mx_dns, srv->loop, cfg->queue.dns_servers,
	                     (unsigned)cfg->queue.dns_timeout * 1000, err, sizeof err) < 0)
		log_warn("event=mailauth_unavailable error=\"%s\"", err);
}

int serve_run(struct config *cfg)
{
	struct server *srv = &the_server;
	memset(srv, 0, sizeof *srv);
	srv->cfg = cfg;
	srv->loop = uv_default_loop();
	signal(SIGPIPE, SIG_IGN);

	config_env_log(cfg);
	fd_limit_raise(cfg);
	char err[1024];
	if (mkdir(cfg->data_dir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "tern: cannot create data directory %s: %s\n", cfg->data_dir,
		        strerror(errno));
		return 1;
	}
	if (store_open(&srv->store, cfg->data_dir, srv->loop, err, sizeof err) < 0) {
		fprintf(stderr, "tern: cannot open the store in %s: %s\n", cfg->data_dir, err);
		return 1;
	}
	imap_index_register(srv->store); /* what IMAP precomputes, in idle time */
	if (srs_key_load(cfg->srs_secret, cfg->data_dir, err, sizeof err) < 0)
		log_warn("event=srs_unavailable error=\"%s\" note=redirects_keep_account_sender",
		         err);
	if (store_set_disk_reserve(srv->store, cfg->data_dir, (uint64_t)cfg->disk_reserve) < 0)
		log_warn("event=no_disk_reserve dir=%s", cfg->data_dir);
	conn_set_input_hook(note_client, srv->store);
	if (first_start(cfg, srv->store) < 0)
		return 1;
	cfg->auth.domain = cfg->domain; /* bare user names are in the primary domain */
	if (auth_pool_new(&srv->auth, srv->loop, srv->store, &cfg->auth) < 0) {
		fprintf(stderr, "tern: out of memory\n");
		return 1;
	}
	mime_spool_set_budget((size_t)cfg->smtp.spool_memory);

	struct acme_services acme = {
	    .loop = srv->loop,
	    .data_dir = cfg->data_dir,
	    .installed = on_acme_installed,
	    .ud = srv,
	};
	if (acme_init(cfg->acme, cfg->nacme, &acme, err, sizeof err) < 0) {
		fprintf(stderr, "tern: ACME setup failed: %s\n", err);
		return 1;
	}
	struct tls_cert_spec specs[CONFIG_MAX_CERTS + CONFIG_MAX_ACME];
	size_t nspecs = cert_specs(cfg, specs);
	if (tls_server_create(&srv->tls, specs, nspecs, cfg->data_dir, cfg->hostname, err,
	                      sizeof err) < 0) {
		fprintf(stderr, "tern: TLS setup failed: %s\n", err);
		return 1;
	}
	log_fingerprints();

	/* Signals first: a client (or a test) that sees a port open may
	 * signal at once, and SIGTERM must never find the default action. */
	uv_timer_init(srv->loop, &shutdown_timer);
	uv_timer_init(srv->loop, &trim_timer);
	uv_timer_start(&trim_timer, on_trim_tick, TRIM_TICK_MS, TRIM_TICK_MS);
#ifdef __GLIBC__
	/* While clients are busy, big transient buffers stay in the heap for
	 * the next command instead of going back to the system and being
	 * page-faulted in again: a SORT or THREAD of 100,000 messages makes
	 * ~35 MB of them, and glibc's own thresholds (a block mapped of its
	 * own, a heap top trimmed past twice the biggest freed block) made
	 * page faults most of its time (THREAD=REFERENCES ~4x faster without
	 * them). on_trim_tick's malloc_trim() returns it all after a quiet
	 * second, as before. Not 32 MiB: a big APPEND's buffer (up to the
	 * message size limit) is mapped of its own and unmapped when freed,
	 * so concurrent APPENDs stay within the spool budget's bound. */
	mallopt(M_MMAP_THRESHOLD, 16 << 20);
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
	uv_unref((uv_handle_t *)&trim_timer);
	uv_signal_init(srv->loop, &sig_term);
	uv_signal_init(srv->loop, &sig_int);
	uv_signal_init(srv->loop, &sig_hup);
	uv_signal_start(&sig_term, on_signal, SIGTERM);
	uv_signal_start(&sig_int, on_signal, SIGINT);
	uv_signal_start(&sig_hup, on_signal, SIGHUP);
	/* before the ports open: a stale `tern log level` request is gone by then */
	log_control_start(srv->loop, cfg->data_dir);

	srv->env = (struct proto_env){
	    .store = srv->store,
	    .auth = srv->auth,
	    .hostname = cfg->hostname,
	    .domain = cfg->domain,
	    .auth_plaintext_loopback = cfg->auth.plaintext_loopback,
	};
	{
		char why[200];
		/* config_validate() has parsed both lists already */
		netlist_parse(&mx_trusted, cfg->smtp.trusted_networks, false, why, sizeof why);
		netlist_parse(&mx_forwarders, cfg->smtp.dmarc_forwarders, true, why, sizeof why);
	}
	start_mx_dns(srv);
	static struct serve_listener wired[CONFIG_MAX_LISTEN];
	for (size_t i = 0; i < cfg->nlisten; i++) {
		serve_wire_listener(&wired[i], cfg, &cfg->listen[i], &srv->env, srv->tls);
		if (listener_open(srv->loop, &wired[i].spec, NULL, err, sizeof err) < 0) {
			fprintf(stderr, "tern: %s\n", err);
			return 1;
		}
	}

	static const char *self_smtp[CONFIG_MAX_LISTEN];
	size_t nself_smtp = 0;
	for (size_t i = 0; i < cfg->nlisten; i++)
		if (cfg->listen[i].protocol == PROTO_SMTP)
			self_smtp[nself_smtp++] = cfg->listen[i].address;
	struct relay_services relay = {
	    .loop = srv->loop,
	    .store = srv->store,
	    .hostname = cfg->hostname,
	    .stopping = &srv->env.stopping,
	    .self_smtp = self_smtp,
	    .nself_smtp = nself_smtp,
	};
	dkim_signer_start(srv->loop, srv->store);
	sieve_filter_set_loop(srv->loop); /* Sieve runs in the thread pool */
	queue_runner_start(&cfg->queue, &relay);
	struct webhook_services hooks = {
	    .loop = srv->loop,
	    .store = srv->store,
	    .stopping = &srv->env.stopping,
	};
	webhook_runner_start(&cfg->webhooks, &hooks);
	acme_start();
	store_fault_arm(); /* a fault-injection run counts from here (store/fault.h) */

	log_info("event=ready version=%s data_dir=%s domain=%s listeners=%zu", TERN_VERSION,
	         cfg->data_dir, cfg->domain, cfg->nlisten);
	/* Every listener is bound and the store open: a service manager
	 * ($NOTIFY_SOCKET, Type=notify) may send clients now. */
	sd_notify_sendf("READY=1\nSTATUS=serving: %zu listeners, domain %s", cfg->nlisten,
	                cfg->domain);
	uv_prepare_init(srv->loop, &log_flusher);
	uv_prepare_start(&log_flusher, on_loop_idle_soon);
	uv_unref((uv_handle_t *)&log_flusher);
	log_buffer_this_thread(true);
	uv_run(srv->loop, UV_RUN_DEFAULT);

	/* Stopped: close our handles, drain the store, let close callbacks run. */
	uv_close((uv_handle_t *)&sig_term, NULL);
	uv_close((uv_handle_t *)&sig_int, NULL);
	uv_close((uv_handle_t *)&sig_hup, NULL);
	uv_close((uv_handle_t *)&shutdown_timer, NULL);
	uv_close((uv_handle_t *)&trim_timer, NULL);
	log_control_stop();
	log_buffer_this_thread(false);
	uv_close((uv_handle_t *)&log_flusher, NULL);
	listeners_stop();
	queue_runner_stop();
	webhook_runner_stop();
	dkim_signer_stop();
	acme_stop();
	conn_shutdown_all();
	uv_run(srv->loop, UV_RUN_NOWAIT);
	sieve_filter_set_loop(NULL);
	sieve_cache_clear();
	struct store_stats st;
	store_get_stats(srv->store, &st);
	log_info("event=store_stats jobs=%llu commits=%llu max_batch=%llu failed=%llu",
	         (unsigned long long)st.jobs, (unsigned long long)st.commits,
	         (unsigned long long)st.max_batch, (unsigned long long)st.failed);
	conn_set_input_hook(NULL, NULL);
	store_fault_summary();
	store_close(&srv->store);
	dns_resolver_free(&mx_dns);
	uv_run(srv->loop, UV_RUN_DEFAULT);
	auth_pool_free(&srv->auth);
	uv_run(srv->loop, UV_RUN_NOWAIT); /* its hashing threads' wake-up handle closes */
	acme_free();
	tls_server_free(&srv->tls);
	log_info("event=stopped");
	return 0;
}
