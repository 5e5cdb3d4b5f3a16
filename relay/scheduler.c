/* scheduler: the runner's scheduling and bookkeeping (contract in scheduler.h).
 *
 * Why it works this way:
 *
 * - Durability first. A row is only ever changed inside a writer
 *   transaction: claimed (claimed_until in the future) before any network
 *   work, and finished (deleted, rescheduled, or bounced with its DSN stored
 *   in the same transaction) after. A crash between the two leaves a claim
 *   that the next start clears, so the row is tried again: at-least-once,
 *   never lost.
 *
 * - Grouping. One scan reads up to SCAN_LIMIT due rows on the read
 *   connection and groups them by recipient domain, then by message inside
 *   a domain. A job is one domain: one connection carrying one transaction
 *   per message, each with all of its recipients for that domain. Rows that
 *   already belong to a live job are skipped through an in-memory set, since
 *   their claim may not be committed yet when the next scan runs.
 *
 * - Limits. At most max_connections jobs run at once, and at most
 *   max_per_domain per domain. A scan that had to leave due rows behind is
 *   repeated as soon as a job finishes.
 *
 * - Results. Per recipient: 2xx deletes the row (and drops its message
 *   reference); 4xx or any session failure reschedules it with
 *   retry_first * 2^(n-1), at most retry_max; 5xx, or a temporary failure
 *   past the row's lifetime, bounces it. Every outcome is logged with the
 *   queue id, the host and the remote reply, and becomes a webhook event
 *   (relay/webhook_event.h) for the sender's webhooks, written by the same
 *   transaction that changes the row.
 *
 * Everything here runs on the loop thread, except the bodies of the writer
 * jobs (claim_job, record_job), which touch only the job they are given.
 */
#include "relay/scheduler.h"
#include "lib/metrics.h"
#include "relay/scheduler_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "relay/backoff.h"
#include "relay/dkim_signer.h"
#include "relay/dsn.h"
#include "relay/smtp_body.h"
#include "relay/mta_sts.h"
#include "relay/tlsrpt.h"
#include "relay/webhook_event.h"
#include "relay/webhook_runner.h"
#include "net/dns.h"
#include "lib/log.h"
#include "store/accounts.h"
#include "store/mail.h"
#include "store/queue.h"
#include "store/store.h"
#include "tls/tls_client.h"

#define SCAN_LIMIT 2000
#define CLAIM_TTL (3600)     /* longer than any one delivery can take */
#define MAX_ENVS_PER_JOB 100 /* messages carried by one connection */
#define MAX_RCPTS_PER_ENV 100
#define MAX_JOB_BYTES (64 * 1024 * 1024) /* messages loaded per job */

static struct queue_runner queue_rt;

static uv_timer_t scan_timer;
static uv_idle_t kick_idle;
static bool kick_pending;
static uv_timer_t kick_timer;
#define KICK_COALESCE_MS 100
static struct qjob *jobs; /* live jobs */
static size_t njobs;
static bool scan_again;

/* ---- the set of row ids owned by live jobs ---- */

static int64_t *owned;
static size_t owned_cap, owned_n;

static size_t slot(int64_t id, size_t cap)
{
	return (size_t)((uint64_t)id * 0x9E3779B97F4A7C15ull >> 17) & (cap - 1);
}

static bool owned_has(int64_t id)
{
	if (!owned_cap)
		return false;
	for (size_t i = slot(id, owned_cap);; i = (i + 1) & (owned_cap - 1)) {
		if (owned[i] == 0)
			return false;
		if (owned[i] == id)
			return true;
	}
}

static void owned_put_raw(int64_t id)
{
	for (size_t i = slot(id, owned_cap);; i = (i + 1) & (owned_cap - 1)) {
		if (owned[i] == id)
			return;
		if (owned[i] == 0 || owned[i] == -1) {
			owned[i] = id;
			owned_n++;
			return;
		}
	}
}

static void owned_add(int64_t id)
{
	if ((owned_n + 1) * 2 > owned_cap) {
		size_t ocap = owned_cap;
		int64_t *old = owned;
		owned_cap = owned_cap ? owned_cap * 2 : 1024;
		owned = calloc(owned_cap, sizeof *owned);
		owned_n = 0;
		for (size_t i = 0; i < ocap; i++)
			if (old[i] > 0)
				owned_put_raw(old[i]);
		free(old);
	}
	owned_put_raw(id);
}

static void owned_del(int64_t id)
{
	if (!owned_cap)
		return;
	/* Rebuild-free deletion: tombstone (-1) keeps probe chains intact. */
	for (size_t i = slot(id, owned_cap);; i = (i + 1) & (owned_cap - 1)) {
		if (owned[i] == 0)
			return;
		if (owned[i] == id) {
			owned[i] = -1;
			return;
		}
	}
}

/* ---- helpers ---- */

static const char *domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');
	return at ? at + 1 : "";
}

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void queue_job_free(struct qjob *job)
{
	if (!job)
		return;
	for (size_t e = 0; e < job->nenvs; e++) {
		struct qenv *env = &job->envs[e];
		for (size_t i = 0; i < env->nrows; i++) {
			owned_del(env->rows[i].id);
			free(env->rows[i].rcpt);
			free(env->rows[i].notify);
			free(env->rows[i].orcpt);
			free(env->rows[i].last_error);
		}
		free(env->rows);
		free(env->mail_from);
		free(env->ret);
		free(env->envid);
		free(env->data);
		free(env->txr);
		free(env->txmap);
	}
	free(job->envs);
	free(job->targets);
	free(job->dane);
	free(job);
}

static void job_unlink(struct qjob *job)
{
	if (job->prev)
		job->prev->next = job->next;
	else if (jobs == job)
		jobs = job->next;
	if (job->next)
		job->next->prev = job->prev;
	job->prev = job->next = NULL;
	njobs--;
}

static size_t domain_jobs(const char *domain)
{
	size_t n = 0;
	for (struct qjob *j = jobs; j; j = j->next)
		if (strcasecmp(j->domain, domain) == 0)
			n++;
	return n;
}

/* ---- recording outcomes (writer job) ---- */

struct record_ctx {
	struct qjob *job;
	int64_t now;
	int64_t retry_first, retry_max, lifetime, delay_after;
	const char *hostname;
	const char *postmaster;
	char postmaster_buf[320];
	/* counts for the completion's log */
	unsigned ok, temp, perm, dsn;
	unsigned hooks; /* webhook events written */
};

/* Build and store one DSN for the rows of env with the given action. */
static int send_dsn(struct store_tx *tx, struct record_ctx *rc, struct qenv *env,
                    enum dsn_action act)
{
	struct dsn_rcpt rr[MAX_RCPTS_PER_ENV];
	char status[MAX_RCPTS_PER_ENV][16];
	size_t n = 0;
	for (size_t i = 0; i < env->nrows && n < MAX_RCPTS_PER_ENV; i++) {
		struct qrow *row = &env->rows[i];
		if (!row->claimed)
			continue;
		if ((act == DSN_FAILED && row->result != QR_PERM) ||
		    (act == DSN_DELAYED && row->result != QR_TEMP) ||
		    (act == DSN_RELAYED && (row->result != QR_OK || row->next_hop_dsn)))
			continue;
		if (!dsn_wanted(env->mail_from, row->notify, act))
			continue;
		if (act == DSN_DELAYED) {
			/* Once per row: the first attempt past the threshold. */
			if (rc->now - row->created < rc->delay_after || row->delay_dsn_sent)
				continue;
			int r = store_queue_delay_dsn_sent(tx, row->id);
			if (r < 0 && r != -ENOENT)
				return r;
		}
		if (act == DSN_RELAYED)
			snprintf(status[n], sizeof status[n], "2.0.0");
		else
			dsn_status_from_reply(row->code, row->enhanced, status[n]);
		rr[n] = (struct dsn_rcpt){
		    .rcpt = row->rcpt,
		    .orcpt = row->orcpt,
		    .action = act,
		    .status = status[n],
		    .remote_mta = row->mta[0] ? row->mta : NULL,
		    .diagnostic = row->reply,
		    .reason = row->reply,
		};
		n++;
	}
	if (n == 0)
		return 0;
	int64_t created = env->nrows ? env->rows[0].created : rc->now;
	struct dsn_info info = {
	    .reporting_mta = rc->hostname,
	    .postmaster = rc->postmaster,
	    .to = env->mail_from,
	    .envid = env->envid,
	    .ret_full = env->ret && strcasecmp(env->ret, "FULL") == 0,
	    .arrival = (time_t)created,
	    .retry_until = (time_t)(created + rc->lifetime),
	    .original = env->data ? env->data : "",
	    .original_len = env->data ? env->len : 0,
	    .rcpts = rr,
	    .nrcpts = n,
	};
	size_t len;
	char *msg = dsn_build(&info, &len);
	if (!msg)
		return -ENOMEM;
	int r = dsn_deliver(tx, env->mail_from, msg, len);
	free(msg);
	if (r < 0) {
		/* Nowhere to deliver the DSN: the failure is still recorded. */
		log_warn("queue event=dsn_undeliverable to=%s err=%d", env->mail_from, r);
		return 0;
	}
	rc->dsn++;
	return 0;
}

/* A recorded row's outcome, as its webhook event says it. The enhanced
 * status is the DSN's (derived from the reply code when the remote host
 * gave none); status is its buffer. */
static struct webhook_outcome row_outcome(const struct qenv *env, const struct qrow *row,
                                          const char *msgid, int64_t now, char status[16])
{
	if (row->enhanced[0])
		snprintf(status, 16, "%s", row->enhanced);
	else if (row->code >= 200 && row->code < 600)
		dsn_status_from_reply(row->code, "", status);
	else
		status[0] = '\0';
	return (struct webhook_outcome){
	    .event = row->result == QR_OK     ? "delivered"
	             : row->result == QR_PERM ? "bounced"
	                                      : "delayed",
	    .message_id = msgid,
	    .store_message_id = env->message_id,
	    .queue_id = row->id,
	    .recipient = row->rcpt,
	    .sender = env->mail_from,
	    .code = row->code,
	    .enhanced = status,
	    .reply = row->reply,
	    .mta = row->mta,
	    .timestamp = now,
	    .attempts = row->attempts + 1,
	};
}

/* env's Message-ID into buf, or NULL (the event then names the store's
 * message id). */
static const char *env_msgid(const struct qenv *env, char *buf, size_t len)
{
	return env->data && webhook_message_id(env->data, env->len, buf, len) == 0 ? buf : NULL;
}

/* The webhook event of a row whose outcome this transaction records (its
 * queue row was just finished or deferred), so both commit together. A
 * DSN (null sender) is nobody's. */
static int record_webhook_event(struct store_tx *tx, struct record_ctx *rc, const struct qenv *env,
                                const struct qrow *row, const char *msgid)
{
	if (!env->mail_from || !*env->mail_from)
		return 0;
	char status[16];
	struct webhook_outcome o = row_outcome(env, row, msgid, rc->now, status);
	int r = webhook_event_record(tx, &o);
	if (r > 0)
		rc->hooks += (unsigned)r;
	return r < 0 ? r : 0;
}

static int record_job(struct store_tx *tx, void *arg)
{
	struct record_ctx *rc = arg;
	struct qjob *job = rc->job;
	int r;
	for (size_t e = 0; e < job->nenvs; e++) {
		struct qenv *env = &job->envs[e];
		bool any_perm = false, any_temp = false;
		for (size_t i = 0; i < env->nrows; i++) {
			struct qrow *row = &env->rows[i];
			if (!row->claimed)
				continue;
			if (row->result == QR_PENDING) {
				row->result = QR_TEMP;
				row->code = 451;
				snprintf(row->reply, sizeof row->reply, "451 4.4.0 not attempted");
			}
			int64_t expires = row->expires;
			if (row->created + rc->lifetime < expires)
				expires = row->created + rc->lifetime;
			if (row->result == QR_TEMP && rc->now >= expires) {
				char old[sizeof row->reply];
				memcpy(old, row->reply, sizeof old);
				row->result = QR_PERM;
				snprintf(row->enhanced, sizeof row->enhanced, "4.4.7");
				snprintf(
				    row->reply, sizeof row->reply,
				    "delivery time expired after %lld attempts; last error: %.400s",
				    (long long)row->attempts + 1, old);
			}
			if (row->result == QR_PERM)
				any_perm = true;
			if (row->result == QR_TEMP)
				any_temp = true;
		}
		bool any_ok = false;
		for (size_t i = 0; i < env->nrows; i++)
			any_ok = any_ok || (env->rows[i].claimed && env->rows[i].result == QR_OK);
		if (any_perm && (r = send_dsn(tx, rc, env, DSN_FAILED)) < 0)
			return r;
		/* NOTIFY=SUCCESS through a hop without DSN: report "relayed"
		 * (RFC 3461 5.2.2); a hop with DSN takes the duty over. */
		if (any_ok && (r = send_dsn(tx, rc, env, DSN_RELAYED)) < 0)
			return r;
		if (any_temp && rc->delay_after > 0 && (r = send_dsn(tx, rc, env, DSN_DELAYED)) < 0)
			return r;
		char msgbuf[512];
		const char *msgid = env_msgid(env, msgbuf, sizeof msgbuf);
		for (size_t i = 0; i < env->nrows; i++) {
			struct qrow *row = &env->rows[i];
			if (!row->claimed)
				continue;
			switch (row->result) {
			case QR_OK:
			case QR_PERM:
				/* A finished row left the queue when its envelope
				 * ended, with its event (finish_delivered). */
				if (!row->finished) {
					r = store_queue_finish(tx, row->id);
					if (r < 0 && r != -ENOENT)
						return r;
					/* -ENOENT: `tern queue` removed it */
					if (r == 0 &&
					    (r = record_webhook_event(tx, rc, env, row, msgid)) < 0)
						return r;
				}
				if (row->result == QR_OK)
					rc->ok++;
				else
					rc->perm++;
				break;
			case QR_TEMP:
			case QR_PENDING: {
				int64_t next =
				    rc->now + retry_backoff(rc->retry_first, rc->retry_max,
				                            row->attempts + 1);
				r = store_queue_defer(tx, row->id, next, row->reply);
				if (r < 0 && r != -ENOENT)
					return r;
				if (r == 0 &&
				    (r = record_webhook_event(tx, rc, env, row, msgid)) < 0)
					return r;
				rc->temp++;
				break;
			}
			}
		}
	}
	return 0;
}

static void schedule_kick(void);

static void record_done(void *arg, int status)
{
	struct record_ctx *rc = arg;
	struct qjob *job = rc->job;
	if (status < 0)
		log_error("queue event=record_failed domain=%s err=%d "
		          "note=rows_stay_claimed_until_restart_or_claim_expiry",
		          job->domain, status);
	else {
		queue_rt.stats.delivered += rc->ok;
		queue_rt.stats.deferred += rc->temp;
		queue_rt.stats.bounced += rc->perm;
		metric_add(MET_MSG_RELAYED, (int64_t)rc->ok);
		metric_add(MET_MSG_DEFERRED, (int64_t)rc->temp);
		metric_add(MET_MSG_BOUNCED, (int64_t)rc->perm);
		queue_rt.stats.dsn_sent += rc->dsn;
		if (rc->hooks)
			webhook_runner_kick();
		for (size_t e = 0; e < job->nenvs; e++)
			for (size_t i = 0; i < job->envs[e].nrows; i++) {
				struct qrow *row = &job->envs[e].rows[i];
				if (!row->claimed)
					continue;
				char esc[700];
				log_kv_escape(esc, sizeof esc, row->reply, strlen(row->reply));
				log_info("queue event=%s qid=%lld rcpt=%s host=%s attempts=%lld "
				         "reply=%s",
				         row->result == QR_OK     ? "delivered"
				         : row->result == QR_PERM ? "bounced"
				                                  : "deferred",
				         (long long)row->id, row->rcpt,
				         row->mta[0] ? row->mta : "-", (long long)row->attempts + 1,
				         esc);
			}
	}
	if (!job->abandoned)
		job_unlink(job);
	queue_job_free(job);
	free(rc);
	if (queue_rt.running && scan_again)
		schedule_kick();
}

/* The job has results for every row: record them. */
static void queue_job_delivered(struct qjob *job)
{
	const struct relay_settings *cfg = queue_rt.cfg;
	queue_job_enter(job, QJ_RECORD);
	struct record_ctx *rc = calloc(1, sizeof *rc);
	if (!rc) {
		job_unlink(job);
		queue_job_free(job);
		return;
	}
	rc->job = job;
	rc->now = (int64_t)time(NULL);
	rc->retry_first = cfg->retry_first;
	rc->retry_max = cfg->retry_max;
	rc->lifetime = cfg->lifetime;
	rc->delay_after = cfg->delay_dsn_after;
	rc->hostname = queue_rt.svc.hostname;
	snprintf(rc->postmaster_buf, sizeof rc->postmaster_buf, "MAILER-DAEMON@%s",
	         queue_rt.svc.hostname);
	rc->postmaster = rc->postmaster_buf;
	if (store_submit(queue_rt.svc.store, record_job, record_done, rc) < 0) {
		log_error("queue event=record_submit_failed domain=%s", job->domain);
		free(rc);
		if (!job->abandoned)
			job_unlink(job);
		queue_job_free(job);
	}
}

/* ---- delivered rows, committed as each envelope ends (writer job) ---- */

/* A session delivers its job's envelopes one after another, and the job's
 * results are recorded when the session ends. A crash in between would
 * send every envelope delivered so far again at the next start. So the
 * rows the remote host accepted are removed from the queue as soon as
 * their envelope's transaction ends: a crash then repeats at most the
 * envelope in flight (an SMTP client cannot do better: the 250 and our
 * commit are never one event). Such a row is marked finished, and the
 * record at the job's end counts and logs it but does not remove it
 * again: a queue id is a rowid, which SQLite hands out again once the
 * largest is deleted, so by then the id may name a new message's row. If
 * this early job fails, the row stays claimed until the claim expires and
 * is sent again (at least once, never lost). Rows that still owe a
 * "relayed" DSN (NOTIFY=SUCCESS through a host without DSN) wait for the
 * record, which builds the DSN in the same transaction. */
struct delivered_rows {
	char *sender; /* the envelope's, for its webhooks */
	int64_t now;
	unsigned hooks; /* webhook events written */
	size_t n;
	struct delivered_row {
		int64_t id;
		char *event; /* its webhook event's JSON, built on the loop */
	} rows[];
};

static void delivered_rows_free(struct delivered_rows *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->rows[i].event);
	free(d->sender);
	free(d);
}

/* A row removed here gets its webhook event in the same transaction; the
 * record at the job's end skips it (finished). */
static int finish_delivered(struct store_tx *tx, void *arg)
{
	struct delivered_rows *d = arg;
	d->hooks = 0;
	for (size_t i = 0; i < d->n; i++) {
		int r = store_queue_finish(tx, d->rows[i].id);
		if (r < 0 && r != -ENOENT)
			return r;
		if (r == 0 && d->sender && *d->sender) {
			r = webhook_event_record_json(tx, d->sender, "delivered", d->rows[i].event,
			                              d->now);
			if (r < 0)
				return r;
			d->hooks += (unsigned)r;
		}
	}
	return 0;
}

static void finish_delivered_done(void *arg, int status)
{
	struct delivered_rows *d = arg;
	if (status < 0)
		log_warn(
		    "queue event=early_finish_failed err=%d note=sent_again_when_the_claim_expires",
		    status);
	else if (d->hooks)
		webhook_runner_kick();
	delivered_rows_free(d);
}

static bool owes_relayed_dsn(const struct qenv *env, const struct qrow *row)
{
	return !row->next_hop_dsn && dsn_wanted(env->mail_from, row->notify, DSN_RELAYED);
}

static void envelope_done(struct qjob *job, struct qenv *env)
{
	(void)job;
	size_t n = 0;
	for (size_t i = 0; i < env->nrows; i++)
		if (env->rows[i].claimed && env->rows[i].result == QR_OK &&
		    !owes_relayed_dsn(env, &env->rows[i]))
			n++;
	if (n == 0)
		return;
	struct delivered_rows *d = calloc(1, sizeof *d + n * sizeof d->rows[0]);
	if (!d)
		return; /* the record at the job's end does it */
	d->now = (int64_t)time(NULL);
	d->sender = xstrdup(env->mail_from ? env->mail_from : "");
	char msgbuf[512];
	const char *msgid = env_msgid(env, msgbuf, sizeof msgbuf);
	for (size_t i = 0; i < env->nrows; i++) {
		const struct qrow *row = &env->rows[i];
		if (!row->claimed || row->result != QR_OK || owes_relayed_dsn(env, row))
			continue;
		char status[16];
		struct webhook_outcome o = row_outcome(env, row, msgid, d->now, status);
		d->rows[d->n].id = row->id;
		d->rows[d->n].event = webhook_event_json(&o);
		if (!d->rows[d->n++].event || !d->sender) {
			delivered_rows_free(d); /* the record at the job's end does it */
			return;
		}
	}
	if (store_submit(queue_rt.svc.store, finish_delivered, finish_delivered_done, d) < 0) {
		delivered_rows_free(d);
		return; /* the record at the job's end does it */
	}
	for (size_t i = 0; i < env->nrows; i++)
		if (env->rows[i].claimed && env->rows[i].result == QR_OK &&
		    !owes_relayed_dsn(env, &env->rows[i]))
			env->rows[i].finished = true;
}

/* The attempt (attempt.c) gives the job back: record its results, or free
 * it if the runner stopped meanwhile (queue_runner_stop() abandoned it). */
static void attempt_done(struct qjob *job)
{
	if (job->abandoned) {
		queue_job_free(job);
		return;
	}
	queue_job_delivered(job);
}

/* ---- claiming (writer job) ---- */

struct claim_ctx {
	struct qjob *job;
	int64_t now;
};

static int claim_job(struct store_tx *tx, void *arg)
{
	struct claim_ctx *cc = arg;
	struct qjob *job = cc->job;
	for (size_t e = 0; e < job->nenvs; e++) {
		struct qenv *env = &job->envs[e];
		bool any = false;
		for (size_t i = 0; i < env->nrows; i++) {
			int r =
			    store_queue_claim(tx, env->rows[i].id, cc->now, cc->now + CLAIM_TTL);
			if (r < 0)
				return r;
			env->rows[i].claimed = r > 0;
			any = any || r > 0;
		}
		if (!any)
			continue;
		/* Read the message here, on the writer thread: a big message never
		 * blocks the loop. */
		int64_t size = store_message_size(store_tx_reader(tx), env->message_id);
		if (size < 0)
			return (int)size;
		env->data = malloc((size_t)size + 1);
		if (!env->data)
			return -ENOMEM;
		ssize_t got = store_message_read(store_tx_reader(tx), env->message_id, 0, env->data,
		                                 (size_t)size);
		if (got < 0)
			return (int)got;
		env->len = (size_t)got;
		env->data[env->len] = '\0';
	}
	return 0;
}

/* Checks that need no network: expiry, loops, local domains. */
static void precheck(struct qjob *job)
{
	const struct relay_settings *cfg = queue_rt.cfg;
	int64_t now = (int64_t)time(NULL);
	struct store_rd *rd = store_reader(queue_rt.svc.store);
	bool local = store_domain_exists(rd, job->domain) == 1;
	for (size_t e = 0; e < job->nenvs; e++) {
		struct qenv *env = &job->envs[e];
		struct smtp_body_info bi;
		smtp_body_analyze(env->data ? env->data : "", env->len, &bi);
		for (size_t i = 0; i < env->nrows; i++) {
			struct qrow *row = &env->rows[i];
			if (!row->claimed || row->result != QR_PENDING)
				continue;
			int64_t expires = row->expires;
			if (row->created + cfg->lifetime < expires)
				expires = row->created + cfg->lifetime;
			if (row->cancelled) {
				row->result = QR_PERM;
				row->code = 554;
				snprintf(row->enhanced, sizeof row->enhanced, "5.0.0");
				snprintf(row->reply, sizeof row->reply,
				         "delivery cancelled by the postmaster after %lld "
				         "attempts%s%.400s",
				         (long long)row->attempts,
				         row->last_error ? "; last error: " : "",
				         row->last_error ? row->last_error : "");
			} else if (now >= expires) {
				row->result = QR_PERM;
				row->code = 554;
				snprintf(row->enhanced, sizeof row->enhanced, "4.4.7");
				snprintf(row->reply, sizeof row->reply,
				         "delivery time expired after %lld attempts%s%.400s",
				         (long long)row->attempts,
				         row->last_error ? "; last error: " : "",
				         row->last_error ? row->last_error : "");
			} else if (bi.received > (unsigned)cfg->max_received_headers) {
				row->result = QR_PERM;
				row->code = 554;
				snprintf(row->enhanced, sizeof row->enhanced, "5.4.6");
				snprintf(row->reply, sizeof row->reply,
				         "554 5.4.6 routing loop detected: %u Received: headers "
				         "(limit %lld)",
				         bi.received, (long long)cfg->max_received_headers);
			} else if (local && !cfg->smarthost[0]) {
				row->result = QR_PERM;
				row->code = 554;
				snprintf(row->enhanced, sizeof row->enhanced, "5.4.6");
				snprintf(row->reply, sizeof row->reply,
				         "554 5.4.6 %s is a local domain: refusing to relay it to "
				         "myself",
				         job->domain);
			}
		}
	}
}

/* ---- DKIM-signing our own DSNs, at relay time ----
 *
 * A DSN is built inside the writer's job that records the failure (it
 * depends on what that transaction decides), and signing belongs neither
 * on the writer thread nor on the loop. So the DSNs tern wrote are signed
 * here, in the thread pool, each time they are sent: between the claim
 * and the MX lookup. A DSN that has to be retried is signed again (a few
 * milliseconds, for the rare bounce that is itself deferred), and the
 * signature's t= is the time it was sent. The job stays in QJ_CLAIM
 * meanwhile: queue_runner_stop() leaves it to this completion. */

struct dsn_sign {
	struct qjob *job;
	struct qenv *env;
};

static void sign_release(struct qjob *job)
{
	if (--job->signing > 0)
		return;
	if (job->abandoned) {
		queue_job_free(job);
		return;
	}
	queue_job_enter(job, QJ_RESOLVE);
	queue_job_deliver(job, &queue_rt, envelope_done, attempt_done);
}

static void dsn_signed(void *ud, const char *fields, size_t len)
{
	struct dsn_sign *ds = ud;
	struct qenv *env = ds->env;
	struct qjob *job = ds->job;
	free(ds);
	char *data = len ? malloc(len + env->len + 1) : NULL;
	if (data) {
		memcpy(data, fields, len);
		memcpy(data + len, env->data, env->len + 1); /* with its NUL */
		free(env->data);
		env->data = data;
		env->len += len;
	}
	sign_release(job);
}

static bool env_pending(const struct qenv *env)
{
	for (size_t i = 0; i < env->nrows; i++)
		if (env->rows[i].claimed && env->rows[i].result == QR_PENDING)
			return true;
	return false;
}

static void sign_dsns(struct qjob *job)
{
	job->signing = 1; /* held until every signature has started */
	for (size_t e = 0; e < job->nenvs; e++) {
		struct qenv *env = &job->envs[e];
		if (!env->data || (env->mail_from && env->mail_from[0]) || !env_pending(env) ||
		    !dsn_is_ours(env->data, env->len))
			continue;
		struct dsn_sign *ds = malloc(sizeof *ds);
		if (!ds)
			continue;
		*ds = (struct dsn_sign){job, env};
		job->signing++;
		if (dkim_signer_sign(env->data, env->len, dsn_signed, ds) != 1) {
			job->signing--;
			free(ds);
		}
	}
	sign_release(job);
}

static bool job_has_claimed(struct qjob *job)
{
	for (size_t e = 0; e < job->nenvs; e++)
		for (size_t i = 0; i < job->envs[e].nrows; i++)
			if (job->envs[e].rows[i].claimed)
				return true;
	return false;
}

static void claim_done(void *arg, int status)
{
	struct claim_ctx *cc = arg;
	struct qjob *job = cc->job;
	free(cc);
	if (job->abandoned) {
		queue_job_free(job);
		return;
	}
	if (status < 0) {
		log_error("queue event=claim_failed domain=%s err=%d", job->domain, status);
		job_unlink(job);
		queue_job_free(job);
		return;
	}
	if (!job_has_claimed(job)) {
		job_unlink(job);
		queue_job_free(job);
		return;
	}
	precheck(job);
	if (!queue_job_has_pending(job)) {
		queue_job_delivered(job);
		return;
	}
	sign_dsns(job);
}

/* ---- scanning ---- */

struct scan_ctx {
	struct qjob **new_jobs;
	size_t n, cap;
	size_t skipped;
	size_t seen;
	size_t max_new;
	int64_t per_domain;
};

static struct qjob *find_new_job(struct scan_ctx *sc, const char *domain)
{
	for (size_t i = 0; i < sc->n; i++)
		if (strcasecmp(sc->new_jobs[i]->domain, domain) == 0 &&
		    sc->new_jobs[i]->nenvs < MAX_ENVS_PER_JOB &&
		    sc->new_jobs[i]->bytes < MAX_JOB_BYTES)
			return sc->new_jobs[i];
	return NULL;
}

static int scan_row(void *ud, const struct store_queue_row *r)
{
	struct scan_ctx *sc = ud;
	sc->seen++;
	if (owned_has(r->id))
		return 0;
	const char *dom = domain_of(r->rcpt);
	struct qjob *job = find_new_job(sc, dom);
	if (!job) {
		size_t count = domain_jobs(dom);
		for (size_t i = 0; i < sc->n; i++)
			if (strcasecmp(sc->new_jobs[i]->domain, dom) == 0)
				count++;
		if (sc->n >= sc->max_new || (int64_t)count >= sc->per_domain) {
			sc->skipped++;
			return 0;
		}
		job = calloc(1, sizeof *job);
		if (!job)
			return -ENOMEM;
		snprintf(job->domain, sizeof job->domain, "%s", dom);
		if (sc->n == sc->cap) {
			size_t cap = sc->cap ? sc->cap * 2 : 16;
			struct qjob **nj = realloc(sc->new_jobs, cap * sizeof *nj);
			if (!nj) {
				free(job);
				return -ENOMEM;
			}
			sc->new_jobs = nj;
			sc->cap = cap;
		}
		sc->new_jobs[sc->n++] = job;
	}
	/* The envelope for this message (same sender and DSN parameters). */
	struct qenv *env = NULL;
	for (size_t e = 0; e < job->nenvs; e++) {
		struct qenv *x = &job->envs[e];
		if (x->message_id == r->message_id && strcmp(x->mail_from, r->mail_from) == 0 &&
		    !strcmp(x->ret ? x->ret : "", r->ret ? r->ret : "") &&
		    !strcmp(x->envid ? x->envid : "", r->envid ? r->envid : "") &&
		    x->nrows < MAX_RCPTS_PER_ENV) {
			env = x;
			break;
		}
	}
	if (!env) {
		if (job->nenvs >= MAX_ENVS_PER_JOB ||
		    (job->nenvs > 0 && job->bytes + r->size > MAX_JOB_BYTES)) {
			sc->skipped++;
			return 0;
		}
		if (job->nenvs == job->capenvs) {
			size_t cap = job->capenvs ? job->capenvs * 2 : 4;
			struct qenv *ne = realloc(job->envs, cap * sizeof *ne);
			if (!ne)
				return -ENOMEM;
			job->envs = ne;
			job->capenvs = cap;
		}
		env = &job->envs[job->nenvs++];
		memset(env, 0, sizeof *env);
		env->message_id = r->message_id;
		job->bytes += r->size;
		env->mail_from = xstrdup(r->mail_from);
		env->ret = xstrdup(r->ret);
		env->envid = xstrdup(r->envid);
	}
	if (env->nrows == env->caprows) {
		size_t cap = env->caprows ? env->caprows * 2 : 4;
		struct qrow *nr = realloc(env->rows, cap * sizeof *nr);
		if (!nr)
			return -ENOMEM;
		env->rows = nr;
		env->caprows = cap;
	}
	struct qrow *row = &env->rows[env->nrows++];
	memset(row, 0, sizeof *row);
	row->id = r->id;
	row->rcpt = xstrdup(r->rcpt);
	row->notify = xstrdup(r->notify);
	row->orcpt = xstrdup(r->orcpt);
	row->last_error = xstrdup(r->last_error);
	row->attempts = r->attempts;
	row->next_attempt = r->next_attempt;
	row->expires = r->expires;
	row->created = r->created;
	row->delay_dsn_sent = r->delay_dsn_sent;
	row->cancelled = r->cancelled;
	owned_add(r->id);
	return 0;
}

static void scan(void)
{
	const struct relay_settings *cfg = queue_rt.cfg;
	if (!queue_rt.running || *queue_rt.svc.stopping)
		return;
	scan_again = false;
	struct store_rd *rd = store_reader(queue_rt.svc.store);
	queue_rt.stats.queued = store_queue_count(rd);
	if ((int64_t)njobs >= cfg->max_connections) {
		scan_again = true;
		return;
	}
	struct scan_ctx sc = {
	    .max_new = (size_t)cfg->max_connections - njobs,
	    .per_domain = cfg->max_per_domain,
	};
	int64_t now = (int64_t)time(NULL);
	int rc = store_queue_due(rd, now, SCAN_LIMIT, scan_row, &sc);
	if (rc < 0)
		log_error("queue event=scan_failed err=%d", rc);
	if (sc.skipped || sc.seen >= SCAN_LIMIT)
		scan_again = true; /* more is due: look again when a job ends */
	for (size_t i = 0; i < sc.n; i++) {
		struct qjob *job = sc.new_jobs[i];
		job->next = jobs;
		if (jobs)
			jobs->prev = job;
		jobs = job;
		njobs++;
		struct claim_ctx *cc = calloc(1, sizeof *cc);
		if (cc) {
			cc->job = job;
			cc->now = now;
		}
		if (!cc || store_submit(queue_rt.svc.store, claim_job, claim_done, cc) < 0) {
			free(cc);
			job_unlink(job);
			queue_job_free(job);
		}
	}
	free(sc.new_jobs);
	if (sc.n || sc.skipped)
		log_debug("queue event=scan jobs=%zu running=%zu queued=%lld", sc.n, njobs,
		          (long long)queue_rt.stats.queued);
}

static void on_scan_timer(uv_timer_t *t)
{
	scan();
}

static void on_kick(uv_idle_t *h)
{
	uv_idle_stop(h);
	kick_pending = false;
	scan();
}

static void schedule_kick(void)
{
	if (kick_pending || !queue_rt.running)
		return;
	kick_pending = true;
	uv_idle_start(&kick_idle, on_kick);
}

static void on_kick_timer(uv_timer_t *t)
{
	schedule_kick();
}

void queue_runner_kick(void)
{
	/* New rows from SMTP: scan soon, but at most once per KICK_COALESCE_MS
	 * however many commits arrive (a scan walks the due rows). */
	if (queue_rt.running && !uv_is_active((uv_handle_t *)&kick_timer))
		uv_timer_start(&kick_timer, on_kick_timer, KICK_COALESCE_MS, 0);
}

/* ---- start / stop ---- */

static int recover_job(struct store_tx *tx, void *arg)
{
	int n = store_queue_recover(tx);
	if (n > 0)
		*(int *)arg = n;
	return n < 0 ? n : 0;
}

static void read_password_file(const char *path, char *out, size_t len)
{
	out[0] = '\0';
	FILE *f = fopen(path, "r");
	if (!f) {
		log_error("queue event=smarthost_password_unreadable file=%s", path);
		return;
	}
	if (fgets(out, (int)len, f))
		out[strcspn(out, "\r\n")] = '\0';
	fclose(f);
}

void queue_runner_start(const struct relay_settings *cfg, const struct relay_services *svc)
{
	memset(&queue_rt, 0, sizeof queue_rt);
	queue_rt.cfg = cfg;
	queue_rt.svc = *svc;
	char err[512];
	int recovered = 0;
	int rc = store_exec(svc->store, recover_job, &recovered);
	if (rc < 0)
		log_error("queue event=recover_failed err=%d", rc);
	else if (recovered)
		log_info("queue event=stale_claims_recovered rows=%d", recovered);
	if (dns_resolver_new(&queue_rt.dns, svc->loop, cfg->dns_servers,
	                     (unsigned)cfg->dns_timeout * 1000, err, sizeof err) < 0)
		log_error("queue event=dns_init_failed err=\"%s\" note=mx_delivery_disabled", err);
	if (tls_client_ctx_new(&queue_rt.tls, cfg->verify_tls, cfg->ca_file, err, sizeof err) < 0)
		log_error("queue event=tls_client_init_failed err=\"%s\" note=no_starttls", err);
	/* DANE replaces the WebPKI check: with verify_tls on, the DANE
	 * sessions need a context that lets the handshake finish. */
	if (cfg->verify_tls &&
	    tls_client_ctx_new(&queue_rt.tls_dane, false, cfg->ca_file, err, sizeof err) < 0)
		log_error("queue event=tls_client_init_failed err=\"%s\" note=no_dane", err);
	if (cfg->mta_sts &&
	    tls_client_ctx_new(&queue_rt.tls_verify, true, cfg->ca_file, err, sizeof err) < 0)
		log_error("queue event=tls_client_init_failed err=\"%s\" note=no_mta_sts", err);
	if (cfg->smarthost_password_file[0])
		read_password_file(cfg->smarthost_password_file, queue_rt.smarthost_password,
		                   sizeof queue_rt.smarthost_password);
	uv_timer_init(svc->loop, &scan_timer);
	uv_idle_init(svc->loop, &kick_idle);
	uv_timer_init(svc->loop, &kick_timer);
	uint64_t every = (uint64_t)cfg->scan_interval * 1000;
	uv_timer_start(&scan_timer, on_scan_timer, 200, every);
	tlsrpt_start(svc->loop, svc->store);
	if (cfg->mta_sts)
		mta_sts_cache_attach(svc->store);
	queue_rt.running = true;
	log_info("queue event=runner_started scan_interval=%llds mode=%s dns=%s",
	         (long long)cfg->scan_interval, cfg->smarthost[0] ? "smarthost" : "mx",
	         cfg->dns_servers[0] ? cfg->dns_servers : "resolv.conf");
}

void queue_runner_stop(void)
{
	if (!queue_rt.running)
		return;
	queue_rt.running = false;
	uv_timer_stop(&scan_timer);
	uv_close((uv_handle_t *)&scan_timer, NULL);
	uv_idle_stop(&kick_idle);
	uv_close((uv_handle_t *)&kick_idle, NULL);
	uv_timer_stop(&kick_timer);
	uv_close((uv_handle_t *)&kick_timer, NULL);
	while (jobs) {
		struct qjob *job = jobs;
		job_unlink(job);
		job->abandoned = true;
		queue_job_abandon(job);
	}
	njobs = 0;
	tlsrpt_stop(); /* after the jobs: an abandoned one may still count */
	mta_sts_cache_detach();
	dns_resolver_free(&queue_rt.dns);
	tls_client_ctx_free(&queue_rt.tls);
	tls_client_ctx_free(&queue_rt.tls_verify);
	tls_client_ctx_free(&queue_rt.tls_dane);
	explicit_bzero(queue_rt.smarthost_password, sizeof queue_rt.smarthost_password);
	log_info("queue event=runner_stopped attempts=%llu delivered=%llu deferred=%llu "
	         "bounced=%llu dsn=%llu",
	         (unsigned long long)queue_rt.stats.attempts,
	         (unsigned long long)queue_rt.stats.delivered,
	         (unsigned long long)queue_rt.stats.deferred,
	         (unsigned long long)queue_rt.stats.bounced,
	         (unsigned long long)queue_rt.stats.dsn_sent);
}

void queue_runner_stats(struct queue_stats *out)
{
	*out = queue_rt.stats;
}
