/* attempt: one job's network part — find the hosts, connect, speak
 * SMTP, and turn the replies into per-recipient results.
 *
 * Why it is separate from scheduler.c: scheduling and durability are about
 * rows and transactions; this file is about hosts and sessions. The job
 * enters in phase RESOLVE with its rows claimed and messages loaded, and
 * leaves through the completion the runner gave to queue_job_deliver(),
 * with a result on every row. Nothing here names the runner: what it needs
 * of it (settings, services, resolver, TLS context, counters) comes in as
 * job->rt.
 *
 * Host order: the MX hosts by preference (dns.c shuffles equal ones), each
 * with its addresses, or the smarthost, or the literal address of a
 * "user@[192.0.2.1]" recipient. A connection failure, or a session that
 * fails before any recipient got a result (greeting 4xx/5xx, TLS required
 * but missing, handshake failure), moves on to the next address; rows that
 * already have a result keep it. Addresses that are our own SMTP listeners
 * are skipped: that would be delivering to ourselves through MX (a loop).
 *
 * One connection carries the job's messages one transaction after another;
 * the SMTP client reports `ready` between them.
 *
 * DANE (RFC 7672): before connecting to an MX host, its TLSA records
 * (`_25._tcp.HOST`, net/dns_query). Only an authenticated answer (AD) with
 * usable records counts (tls/dane.h); then STARTTLS is mandatory, the
 * chain is checked against the records instead of the WebPKI (and instead
 * of MTA-STS, RFC 8461 2), and a failure is a TLS failure (4xx, next
 * host, no plaintext retry), counted for TLS-RPT as "tlsa-invalid". A
 * TLSA lookup that fails is "no TLSA" only when the host's zone is not
 * signed (its A answer's AD bit, on_zone_signed); in a signed zone the
 * host is skipped (RFC 7672 2.2).
 */
#include "relay/scheduler_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "relay/mta_sts.h"
#include "relay/smtp_client.h"
#include "relay/tlsrpt.h"
#include "net/conn_client.h"
#include "net/dns.h"
#include "net/dns_query.h"
#include "lib/log.h"
#include "tls/dane.h"
#include "tls/tls_client.h"

#define MAX_TARGETS 10

static void next_target(struct qjob *job);
static bool dane_active(const struct qjob *job);
static void on_zone_signed(void *ud, const struct dns_answer *a);

static const struct relay_settings *cfg(const struct qjob *job)
{
	return job->rt->cfg;
}

static void jlog(struct qjob *job, enum log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void jlog(struct qjob *job, enum log_level lvl, const char *fmt, ...)
{
	char buf[1200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	log_msg(lvl, "queue domain=%s %s", job->domain, buf);
}

/* ---- is this address one of our own SMTP listeners? ---- */

static bool is_self(const struct queue_runner *rt, const struct sockaddr_storage *ss)
{
	char ip[INET6_ADDRSTRLEN] = "";
	int port = 0;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)ss;
		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
		port = ntohs(a->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)ss;
		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
		port = ntohs(a->sin6_port);
	}
	for (size_t i = 0; i < rt->svc.nself_smtp; i++) {
		const char *address = rt->svc.self_smtp[i];
		const char *colon = strrchr(address, ':');
		if (!colon || atoi(colon + 1) != port)
			continue;
		char host[128];
		size_t hl = (size_t)(colon - address);
		if (hl >= sizeof host)
			continue;
		memcpy(host, address, hl);
		host[hl] = '\0';
		char *h = host;
		if (h[0] == '[') {
			h++;
			h[strcspn(h, "]")] = '\0';
		}
		if (strcmp(h, ip) == 0 || strcmp(h, "0.0.0.0") == 0 || strcmp(h, "::") == 0)
			return true;
	}
	return false;
}

static void set_port(struct sockaddr_storage *ss, int port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
}

static void add_target(struct qjob *job, const char *host, const struct sockaddr_storage *ss,
                       int port)
{
	if (job->ntargets >= MAX_TARGETS)
		return;
	struct qtarget *t = &job->targets[job->ntargets];
	snprintf(t->host, sizeof t->host, "%s", host);
	t->addr = *ss;
	set_port(&t->addr, port);
	if (is_self(job->rt, &t->addr)) {
		job->loop_detected = true;
		jlog(job, LOG_WARN, "event=mx_is_self host=%s note=skipped", host);
		return;
	}
	job->ntargets++;
}

static bool parse_ip(const char *s, int port, struct sockaddr_storage *out)
{
	memset(out, 0, sizeof *out);
	if (uv_ip4_addr(s, port, (struct sockaddr_in *)out) == 0)
		return true;
	memset(out, 0, sizeof *out);
	if (uv_ip6_addr(s, port, (struct sockaddr_in6 *)out) == 0)
		return true;
	return false;
}

static void targets_done(struct qjob *job)
{
	if (job->ntargets == 0) {
		if (job->loop_detected)
			queue_rows_set(
			    job, QR_PERM, 554, "5.4.6",
			    "554 5.4.6 mail for this domain loops back to myself (MX points "
			    "to this server)");
		else
			queue_rows_set(job, QR_TEMP, 451, "4.4.4",
			               "451 4.4.4 no host to deliver to");
		job->done(job);
		return;
	}
	queue_job_enter(job, QJ_CONNECT);
	job->cur = 0;
	next_target(job);
}

static void on_mx(void *ud, const struct dns_mx_result *res)
{
	struct qjob *job = ud;
	job->dns = NULL;
	if (res->status != DNS_OK) {
		bool perm = res->status == DNS_PERM || res->status == DNS_NULLMX;
		char text[600];
		snprintf(text, sizeof text, "%s %s %s", perm ? "550" : "451",
		         res->status == DNS_NULLMX ? "5.1.10"
		         : perm                    ? "5.1.2"
		                                   : "4.4.3",
		         res->error);
		jlog(job, LOG_INFO, "event=dns_failed result=%s err=\"%s\"", perm ? "perm" : "temp",
		     res->error);
		queue_rows_set(job, perm ? QR_PERM : QR_TEMP, perm ? 550 : 451,
		               res->status == DNS_NULLMX ? "5.1.10"
		               : perm                    ? "5.1.2"
		                                         : "4.4.3",
		               text);
		job->done(job);
		return;
	}
	bool sts_refused = false;
	job->mx_delivery = true;
	for (size_t h = 0; h < res->nhosts; h++) {
		const struct dns_mx_host *mx = &res->hosts[h];
		jlog(job, LOG_DEBUG, "event=mx host=%s pref=%u addrs=%zu%s", mx->name, mx->pref,
		     mx->naddrs, res->implicit ? " implicit=yes" : "");
		if (job->sts_mode != MTA_STS_NONE &&
		    !mta_sts_mx_matches(&job->sts_policy, mx->name)) {
			/* RFC 8461 4.1: an MX the policy does not name. */
			jlog(job, LOG_INFO, "event=mta_sts_mx_mismatch host=%s mode=%s", mx->name,
			     mta_sts_mode_name(job->sts_mode));
			tlsrpt_count(job->domain, "validation-failure");
			if (job->sts_mode == MTA_STS_ENFORCE) {
				sts_refused = true;
				continue;
			}
		}
		for (size_t a = 0; a < mx->naddrs; a++)
			add_target(job, mx->name, &mx->addrs[a], (int)cfg(job)->remote_port);
	}
	if (job->ntargets == 0 && sts_refused) {
		queue_rows_set(job, QR_TEMP, 451, "4.7.5",
		               "451 4.7.5 no MX host matches the domain's MTA-STS policy");
		job->done(job);
		return;
	}
	targets_done(job);
}

static void start_mx(struct qjob *job)
{
	job->dns = dns_resolve_mx(job->rt->dns, job->domain, on_mx, job);
	if (!job->dns) {
		queue_rows_set(job, QR_TEMP, 451, "4.4.3", "451 4.4.3 cannot start the MX lookup");
		job->done(job);
	}
}

static void on_sts(void *ud, const struct mta_sts_policy *policy, const char *failure)
{
	struct qjob *job = ud;
	job->sts = NULL;
	if (failure)
		tlsrpt_count(job->domain, failure);
	if (job->abandoned) {
		job->done(job);
		return;
	}
	if (policy) {
		job->sts_policy = *policy;
		job->sts_mode = policy->mode;
		/* enforce: STARTTLS required, no plaintext fallback, and the
		 * certificate checked in cc_tls_done. */
		if (policy->mode == MTA_STS_ENFORCE)
			job->require_tls = true;
		jlog(job, LOG_DEBUG, "event=mta_sts mode=%s", mta_sts_mode_name(policy->mode));
	}
	start_mx(job);
}

static void on_smarthost_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *ai)
{
	struct qjob *job = req->data;
	free(req);
	if (job->abandoned) {
		uv_freeaddrinfo(ai);
		job->done(job);
		return;
	}
	for (struct addrinfo *p = ai; status == 0 && p; p = p->ai_next) {
		struct sockaddr_storage ss;
		memset(&ss, 0, sizeof ss);
		memcpy(&ss, p->ai_addr, p->ai_addrlen);
		add_target(job, cfg(job)->smarthost, &ss, (int)cfg(job)->smarthost_port);
	}
	uv_freeaddrinfo(ai);
	targets_done(job);
}

void queue_job_deliver(struct qjob *job, struct queue_runner *rt, queue_env_done_fn env_done,
                       queue_job_done_fn done)
{
	job->rt = rt;
	job->env_done = env_done;
	job->done = done;
	const char *rcpt_tls = cfg(job)->require_tls_domains;
	job->require_tls = cfg(job)->require_tls;
	if (!job->require_tls && rcpt_tls[0]) {
		/* Comma-separated list, case-insensitive, whole names. */
		const char *p = rcpt_tls;
		size_t dl = strlen(job->domain);
		while (*p) {
			while (*p == ',' || *p == ' ')
				p++;
			size_t n = strcspn(p, ", ");
			if (n == dl && strncasecmp(p, job->domain, n) == 0)
				job->require_tls = true;
			p += n;
		}
	}
	job->targets = calloc(MAX_TARGETS, sizeof *job->targets);
	if (!job->targets) {
		queue_rows_set(job, QR_TEMP, 451, "4.3.0", "451 4.3.0 out of memory");
		job->done(job);
		return;
	}
	/* Smarthost: everything goes there. */
	if (cfg(job)->smarthost[0]) {
		struct sockaddr_storage ss;
		if (parse_ip(cfg(job)->smarthost, (int)cfg(job)->smarthost_port, &ss)) {
			add_target(job, cfg(job)->smarthost, &ss, (int)cfg(job)->smarthost_port);
			targets_done(job);
			return;
		}
		uv_getaddrinfo_t *req = calloc(1, sizeof *req);
		struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
		if (!req ||
		    (req->data = job, uv_getaddrinfo(job->rt->svc.loop, req, on_smarthost_resolved,
		                                     cfg(job)->smarthost, NULL, &hints) != 0)) {
			free(req);
			queue_rows_set(job, QR_TEMP, 451, "4.4.3",
			               "451 4.4.3 cannot resolve the smarthost");
			job->done(job);
		}
		return;
	}
	/* A domain literal: "user@[192.0.2.1]". */
	if (job->domain[0] == '[') {
		char lit[256];
		snprintf(lit, sizeof lit, "%s", job->domain + 1);
		lit[strcspn(lit, "]")] = '\0';
		const char *ip = strncasecmp(lit, "IPv6:", 5) == 0 ? lit + 5 : lit;
		struct sockaddr_storage ss;
		if (!parse_ip(ip, (int)cfg(job)->remote_port, &ss)) {
			queue_rows_set(job, QR_PERM, 550, "5.1.2", "550 5.1.2 bad address literal");
			job->done(job);
			return;
		}
		add_target(job, lit, &ss, (int)cfg(job)->remote_port);
		targets_done(job);
		return;
	}
	if (!job->rt->dns) {
		queue_rows_set(job, QR_TEMP, 451, "4.4.3", "451 4.4.3 no DNS resolver available");
		job->done(job);
		return;
	}
	job->sts_mode = MTA_STS_NONE;
	if (cfg(job)->mta_sts && job->rt->tls_verify) {
		struct mta_sts_env env = {
		    .loop = job->rt->svc.loop,
		    .dns = job->rt->dns,
		    .tls = job->rt->tls_verify,
		    .port = (int)cfg(job)->mta_sts_port,
		    .timeout_ms = (uint64_t)cfg(job)->connect_timeout * 1000,
		};
		job->sts = mta_sts_lookup_start(&env, job->domain, on_sts, job);
		if (job->sts)
			return;
		jlog(job, LOG_DEBUG, "event=mta_sts_not_started");
	}
	start_mx(job);
}

/* ---- the SMTP session ---- */

static int io_write(void *ud, const void *data, size_t len)
{
	struct qjob *job = ud;
	return job->cc ? conn_client_write(job->cc, data, len) : -1;
}

static int io_starttls(void *ud)
{
	struct qjob *job = ud;
	if (!job->rt->tls)
		return -1;
	struct tls_client_ctx *ctx =
	    dane_active(job) && job->rt->tls_dane ? job->rt->tls_dane : job->rt->tls;
	return conn_client_starttls(job->cc, ctx, job->targets[job->cur].host);
}

static void io_timeout(void *ud, uint64_t ms)
{
	struct qjob *job = ud;
	if (job->cc)
		conn_client_set_timeout(job->cc, ms);
}

static const char *cur_host(struct qjob *job)
{
	return job->cur < job->ntargets ? job->targets[job->cur].host : "-";
}

/* Does DANE apply to the session with the current target? */
static bool dane_active(const struct qjob *job)
{
	return job->mx_delivery && job->ndane > 0 && job->cur < job->ntargets &&
	       strcmp(job->dane_host, job->targets[job->cur].host) == 0;
}

/* Fill the next envelope that still has pending rows into a transaction. */
static struct qenv *next_env(struct qjob *job)
{
	while (job->cur_env < job->nenvs) {
		struct qenv *env = &job->envs[job->cur_env];
		size_t n = 0;
		for (size_t i = 0; i < env->nrows; i++)
			if (env->rows[i].claimed && env->rows[i].result == QR_PENDING)
				n++;
		if (n > 0 && env->data) {
			free(env->txr);
			free(env->txmap);
			env->txr = calloc(n, sizeof *env->txr);
			env->txmap = calloc(n, sizeof *env->txmap);
			if (!env->txr || !env->txmap)
				return NULL;
			size_t k = 0;
			for (size_t i = 0; i < env->nrows; i++) {
				struct qrow *row = &env->rows[i];
				if (!row->claimed || row->result != QR_PENDING)
					continue;
				env->txr[k].addr = row->rcpt;
				env->txr[k].notify = row->notify;
				env->txr[k].orcpt = row->orcpt;
				env->txmap[k] = i;
				k++;
			}
			env->tx = (struct smtp_tx){
			    .mail_from = env->mail_from,
			    .ret = env->ret,
			    .envid = env->envid,
			    .data = env->data,
			    .len = env->len,
			    .rcpts = env->txr,
			    .nrcpts = n,
			    .ud = env,
			};
			return env;
		}
		job->cur_env++;
	}
	return NULL;
}

static void io_ready(void *ud)
{
	struct qjob *job = ud;
	struct qenv *env = next_env(job);
	if (!env) {
		smtp_client_quit(job->cl);
		conn_client_close(job->cc);
		return;
	}
	if (job->sts_mode == MTA_STS_TESTING && !smtp_client_tls_active(job->cl) &&
	    !job->sts_plain_counted) {
		/* testing: delivered in clear anyway, counted */
		job->sts_plain_counted = true;
		tlsrpt_count(job->domain, "starttls-not-supported");
	}
	job->tx_running = true;
	job->rt->stats.attempts++;
	jlog(job, LOG_DEBUG, "event=tx_start host=%s message=%lld rcpts=%zu", cur_host(job),
	     (long long)env->message_id, env->tx.nrcpts);
	smtp_client_send(job->cl, &env->tx);
}

static void io_tx_done(void *ud, struct smtp_tx *tx)
{
	struct qjob *job = ud;
	struct qenv *env = tx->ud;
	job->tx_running = false;
	for (size_t k = 0; k < tx->nrcpts; k++) {
		struct qrow *row = &env->rows[env->txmap[k]];
		const struct smtp_tx_rcpt *r = &tx->rcpts[k];
		row->code = r->reply.code;
		snprintf(row->enhanced, sizeof row->enhanced, "%s", r->reply.enhanced);
		/* The reply text usually starts with the enhanced code already. */
		snprintf(row->reply, sizeof row->reply, "%d %s", r->reply.code, r->reply.text);
		snprintf(row->mta, sizeof row->mta, "%s", cur_host(job));
		row->next_hop_dsn = job->cl && (smtp_client_extensions(job->cl) & SMTP_EXT_DSN);
		row->result = r->status == SMTP_RCPT_OK     ? QR_OK
		              : r->status == SMTP_RCPT_PERM ? QR_PERM
		                                            : QR_TEMP;
		char esc[700];
		log_kv_escape(esc, sizeof esc, row->reply, strlen(row->reply));
		jlog(job, LOG_INFO,
		     "event=attempt qid=%lld rcpt=%s host=%s peer=%s tls=%s result=%s reply=%s",
		     (long long)row->id, row->rcpt, cur_host(job),
		     job->cc ? conn_client_peer(job->cc) : "-",
		     job->cc && conn_client_is_tls(job->cc) ? conn_client_tls_version(job->cc)
		                                            : "no",
		     row->result == QR_OK     ? "ok"
		     : row->result == QR_PERM ? "perm"
		                              : "temp",
		     esc);
	}
	job->cur_env++;
	if (job->env_done)
		job->env_done(job, env);
}

static void io_failed(void *ud, const struct smtp_reply *why)
{
	struct qjob *job = ud;
	job->last_code = why->code;
	snprintf(job->last_enhanced, sizeof job->last_enhanced, "%s", why->enhanced);
	snprintf(job->last_error, sizeof job->last_error, "%d %.400s (%.100s)", why->code,
	         why->text, cur_host(job));
	char esc[700];
	log_kv_escape(esc, sizeof esc, job->last_error, strlen(job->last_error));
	jlog(job, LOG_INFO, "event=session_failed host=%s reply=%s", cur_host(job), esc);
	if ((job->sts_mode == MTA_STS_ENFORCE || dane_active(job)) &&
	    strcmp(why->enhanced, "4.7.10") == 0 && job->cl && !smtp_client_tls_active(job->cl))
		tlsrpt_count(job->domain, "starttls-not-supported");
	/* Opportunistic TLS: a failed handshake is retried once in plaintext
	 * on the same host, unless TLS is required or certificates are verified
	 * (RFC 3207 leaves the choice to the client; this is what MTAs without
	 * a TLS policy do). */
	if (strcmp(why->enhanced, "4.7.5") == 0 && !job->require_tls && !dane_active(job) &&
	    !job->plaintext_retry && !cfg(job)->verify_tls &&
	    !(cfg(job)->smarthost[0] && cfg(job)->smarthost_user[0])) {
		job->retry_same = true;
		jlog(job, LOG_INFO, "event=tls_fallback host=%s note=retrying_without_tls",
		     cur_host(job));
	}
	if (job->cc)
		conn_client_abort(job->cc);
}

static void io_log(void *ud, const char *event, const char *detail)
{
	struct qjob *job = ud;
	if (log_get_level() <= LOG_DEBUG)
		jlog(job, LOG_DEBUG, "host=%s smtp_client=%s %s", cur_host(job), event, detail);
}

static const struct smtp_client_io client_io = {
    .write = io_write,
    .starttls = io_starttls,
    .timeout = io_timeout,
    .ready = io_ready,
    .tx_done = io_tx_done,
    .failed = io_failed,
    .log = io_log,
};

static void cc_connected(struct conn_client *cc, int status)
{
	struct qjob *job = conn_client_ud(cc);
	if (status != 0) {
		snprintf(job->last_error, sizeof job->last_error,
		         "451 4.4.1 connect to %s (%s): %s", cur_host(job), conn_client_peer(cc),
		         uv_strerror(status));
		job->last_code = 451;
		snprintf(job->last_enhanced, sizeof job->last_enhanced, "4.4.1");
		jlog(job, LOG_INFO, "event=connect_failed host=%s peer=%s err=%s", cur_host(job),
		     conn_client_peer(cc), uv_strerror(status));
		return; /* closed follows */
	}
	job->rt->stats.connections++;
	job->sts_plain_counted = false;
	queue_job_enter(job, QJ_SESSION);
	jlog(job, LOG_DEBUG, "event=connected host=%s peer=%s", cur_host(job),
	     conn_client_peer(cc));
	struct smtp_client_opts o = {
	    .helo = job->rt->svc.hostname,
	    .peer_name = cur_host(job),
	    .tls_available = job->rt->tls != NULL && !job->plaintext_retry,
	    .require_tls = job->require_tls || dane_active(job),
	};
	if (cfg(job)->smarthost[0] && cfg(job)->smarthost_user[0]) {
		o.auth_user = cfg(job)->smarthost_user;
		o.auth_pass = job->rt->smarthost_password;
		o.require_tls = true;
	}
	job->cl = smtp_client_new(&o, &client_io, job);
	if (!job->cl)
		conn_client_abort(cc);
}

static void cc_line(struct conn_client *cc, const char *line, size_t len)
{
	struct qjob *job = conn_client_ud(cc);
	if (job->cl)
		smtp_client_line(job->cl, line, len);
}

static void cc_tls_done(struct conn_client *cc, bool ok, const char *err)
{
	struct qjob *job = conn_client_ud(cc);
	if (ok)
		jlog(job, LOG_DEBUG, "event=tls host=%s version=%s cipher=%s verified=%s",
		     cur_host(job), conn_client_tls_version(cc), conn_client_tls_cipher(cc),
		     conn_client_tls_verified(cc) ? "yes" : "no");
	if (ok && dane_active(job)) {
		/* RFC 7672 3: the TLSA records decide, not the WebPKI or MTA-STS. */
		const char *why = NULL;
		int r = conn_client_dane_check(cc, job->dane, job->ndane, cur_host(job), &why);
		tlsrpt_count(job->domain, r == DANE_MATCH ? TLSRPT_SUCCESS : "tlsa-invalid");
		jlog(job, r == DANE_MATCH ? LOG_DEBUG : LOG_INFO,
		     "event=dane host=%s result=%s%s%s%s", cur_host(job),
		     r == DANE_MATCH ? "match" : "fail", why ? " why=\"" : "", why ? why : "",
		     why ? "\"" : "");
		if (r != DANE_MATCH) {
			ok = false;
			err = "certificate does not match the MX host's TLSA records (DANE)";
		}
	} else if (ok && job->sts_mode != MTA_STS_NONE) {
		/* RFC 8461 4.2: a certificate valid for the MX host name. */
		const char *problem = conn_client_tls_verify_problem(cc);
		tlsrpt_count(job->domain, problem ? problem : TLSRPT_SUCCESS);
		if (problem) {
			jlog(job, LOG_INFO, "event=mta_sts_tls_failed host=%s mode=%s result=%s",
			     cur_host(job), mta_sts_mode_name(job->sts_mode), problem);
			if (job->sts_mode == MTA_STS_ENFORCE) {
				ok = false;
				err = "certificate not valid for the MX host (MTA-STS enforce)";
			}
		}
	}
	if (job->cl)
		smtp_client_tls_done(job->cl, ok, err);
}

static void cc_timeout(struct conn_client *cc)
{
	struct qjob *job = conn_client_ud(cc);
	if (job->cl)
		smtp_client_timed_out(job->cl);
	else
		conn_client_abort(cc);
}

static void cc_closed(struct conn_client *cc)
{
	struct qjob *job = conn_client_ud(cc);
	if (job->cl) {
		smtp_client_closed(job->cl); /* reports a failure if it was mid-session */
		smtp_client_free(&job->cl);
	}
	job->cc = NULL;
	if (job->abandoned) {
		job->done(job);
		return;
	}
	if (queue_job_has_pending(job) && job->retry_same) {
		job->retry_same = false;
		job->plaintext_retry = true;
		job->cur_env = 0;
		next_target(job);
		return;
	}
	if (queue_job_has_pending(job) && job->cur + 1 < job->ntargets) {
		job->cur++;
		job->plaintext_retry = false;
		job->cur_env = 0;
		next_target(job);
		return;
	}
	if (queue_job_has_pending(job)) {
		enum qrow_result r = job->last_code >= 500 ? QR_PERM : QR_TEMP;
		queue_rows_set(job, r, job->last_code ? job->last_code : 451,
		               job->last_enhanced[0] ? job->last_enhanced : "4.4.1",
		               job->last_error[0] ? job->last_error : "451 4.4.1 delivery failed");
		for (size_t e = 0; e < job->nenvs; e++)
			for (size_t i = 0; i < job->envs[e].nrows; i++)
				if (!job->envs[e].rows[i].mta[0])
					snprintf(job->envs[e].rows[i].mta,
					         sizeof job->envs[e].rows[i].mta, "%s",
					         cur_host(job));
	}
	job->done(job);
}

static const struct conn_client_callbacks cc_cbs = {
    .connected = cc_connected,
    .line = cc_line,
    .tls_done = cc_tls_done,
    .timeout = cc_timeout,
    .closed = cc_closed,
};

/* The TLSA answer for the current target's host: keep the usable records
 * of an authenticated answer, then connect. */
/* A DANE query of the job answered: false if the job was abandoned
 * meanwhile (then it is handed back, and the answer is not wanted). */
static bool dane_answer_wanted(struct qjob *job)
{
	job->tlsa_q = NULL;
	if (!job->abandoned)
		return true;
	job->done(job);
	return false;
}

static void on_tlsa(void *ud, const struct dns_answer *a)
{
	struct qjob *job = ud;
	if (!dane_answer_wanted(job))
		return;
	const char *host = cur_host(job);
	snprintf(job->dane_host, sizeof job->dane_host, "%s", host);
	job->ndane = 0;
	job->dane_unusable = false;
	size_t malformed = 0;
	if (a->status == DNS_Q_DATA && a->authenticated) {
		for (size_t i = 0; i < a->nrrs && job->ndane < QJOB_DANE_MAX; i++) {
			struct dane_tlsa *t = &job->dane[job->ndane];
			if (dane_tlsa_parse((const uint8_t *)a->rrs[i].text, a->rrs[i].len, t,
			                    NULL) != 0) {
				malformed++;
				continue;
			}
			if (dane_tlsa_usable(t))
				job->ndane++;
		}
		jlog(job, LOG_INFO, "event=dane_tlsa host=%s records=%zu usable=%zu malformed=%zu",
		     host, a->nrrs, job->ndane, malformed);
	} else if (a->status == DNS_Q_DATA) {
		jlog(job, LOG_DEBUG, "event=dane_tlsa host=%s note=not_authenticated_ignored",
		     host);
	} else if (a->status == DNS_Q_TEMP) {
		/* RFC 7672 2.2: a failed TLSA lookup is "no TLSA" only for a
		 * host in an unsigned zone; ask the resolver whether the
		 * host's zone is signed (the AD bit of its A answer). */
		job->tlsa_q = dns_query(job->rt->dns, host, DNS_Q_A_DNSSEC, on_zone_signed, job);
		if (job->tlsa_q)
			return;
		jlog(job, LOG_INFO, "event=dane_tlsa host=%s result=temporary_failure note=ignored",
		     host);
	}
	next_target(job);
}

/* The TLSA lookup of the current host failed: is its zone signed? Then the
 * host cannot be used now (its TLSA records may exist), and its other
 * addresses neither; else the failure is taken for "no TLSA". */
static void on_zone_signed(void *ud, const struct dns_answer *a)
{
	struct qjob *job = ud;
	if (!dane_answer_wanted(job))
		return;
	const char *host = cur_host(job);
	if (a->authenticated && a->status != DNS_Q_TEMP) {
		jlog(
		    job, LOG_WARN,
		    "event=dane_tlsa host=%s result=temporary_failure zone=signed action=skip_host",
		    host);
		job->dane_unusable = true;
		snprintf(job->last_error, sizeof job->last_error,
		         "451 4.7.5 TLSA lookup failed for %s, whose zone is DNSSEC-signed", host);
		job->last_code = 451;
	} else {
		jlog(job, LOG_INFO,
		     "event=dane_tlsa host=%s result=temporary_failure zone=%s note=ignored", host,
		     a->status == DNS_Q_TEMP ? "unknown" : "unsigned");
	}
	next_target(job);
}

/* Start the TLSA lookup for the current target's host if it has not been
 * looked up yet. true: started, on_tlsa continues. */
static bool start_tlsa(struct qjob *job)
{
	const struct qtarget *t = &job->targets[job->cur];
	if (!job->mx_delivery || !job->rt->dns || strcmp(job->dane_host, t->host) == 0)
		return false;
	if (!job->dane && !(job->dane = calloc(QJOB_DANE_MAX, sizeof *job->dane)))
		return false;
	char name[300];
	snprintf(name, sizeof name, "_25._tcp.%s", t->host);
	job->tlsa_q = dns_query(job->rt->dns, name, DNS_Q_TLSA, on_tlsa, job);
	if (job->tlsa_q)
		return true;
	snprintf(job->dane_host, sizeof job->dane_host, "%s", t->host);
	job->ndane = 0;
	job->dane_unusable = false;
	return false;
}

static void next_target(struct qjob *job)
{
	while (job->cur < job->ntargets) {
		struct qtarget *t = &job->targets[job->cur];
		queue_job_enter(job, QJ_CONNECT);
		if (start_tlsa(job))
			return;
		if (job->dane_unusable && strcmp(job->dane_host, t->host) == 0) {
			job->cur++; /* on_zone_signed: not this host, at no address */
			continue;
		}
		job->cc =
		    conn_client_connect(job->rt->svc.loop, (const struct sockaddr *)&t->addr,
		                        (uint64_t)cfg(job)->connect_timeout * 1000, &cc_cbs, job);
		if (job->cc)
			return;
		snprintf(job->last_error, sizeof job->last_error, "451 4.4.1 cannot connect to %s",
		         t->host);
		job->last_code = 451;
		job->cur++;
	}
	queue_rows_set(job, QR_TEMP, job->last_code ? job->last_code : 451, "4.4.1",
	               job->last_error[0] ? job->last_error : "451 4.4.1 no host reachable");
	job->done(job);
}

void queue_job_abandon(struct qjob *job)
{
	switch (job->phase) {
	case QJ_RESOLVE:
		if (job->sts) {
			mta_sts_lookup_cancel(job->sts);
			job->sts = NULL;
			job->done(job);
			return;
		}
		if (job->dns) {
			dns_cancel(job->dns);
			job->dns = NULL;
			job->done(job);
		}
		/* else: a smarthost getaddrinfo is pending; its callback hands
		 * the job back */
		return;
	case QJ_CONNECT:
	case QJ_SESSION:
		if (job->tlsa_q) {
			dns_query_cancel(job->tlsa_q);
			job->tlsa_q = NULL;
			job->done(job);
			return;
		}
		if (job->cc) {
			conn_client_abort(job->cc); /* cc_closed hands the job back */
			return;
		}
		job->done(job);
		return;
	case QJ_CLAIM:
	case QJ_RECORD:
		return; /* the runner's store completion frees it */
	}
}
