/* deliver: from an SMTP envelope to rows in the store.
 *
 * Recipients are resolved at RCPT time, on the loop thread's read
 * connection, so a client learns about an unknown user (550 5.1.1) or a
 * relay attempt (554 5.7.1) at once, not after sending the body. An
 * account whose quota is used up already refuses with 452 4.2.2 (mailbox
 * full, RFC 3463): temporary, so the sender retries once mail is deleted
 * or the quota raised. The check costs a sum over the account's entries,
 * only for accounts with a quota; a message that fits at RCPT is taken
 * even if it ends over the limit (IMAP APPEND checks the exact size).
 *
 * At end of data one writer job stores everything, atomically: the message
 * with its trace headers, one mailbox entry per distinct local mailbox, one
 * queue row per remote recipient. The local copy starts with Return-Path:
 * (RFC 5321 4.4: added at final delivery); the copy queued for relay must
 * not carry it, so when a transaction has both kinds of recipient the job
 * stores two variants of the message, still inside one savepoint: either
 * both are committed or neither is. The 250 is sent from the completion,
 * after COMMIT, and only then are IMAP sessions notified. A submission
 * with remote recipients is DKIM-signed first (relay/dkim_signer.h, in the
 * thread pool): the job is submitted from the signer's completion, with
 * the signatures on top of the copy that goes out.
 *
 * The job owns copies of everything it touches (the session may be gone
 * before it completes): the message buffers, the recipient arrays and
 * strings. It knows nothing of the session's life: the session keeps
 * itself alive for the job (a reference) and hears of the commit through
 * the callback it passes to smtp_deliver_start(), so this file calls
 * nothing in session.c. */
#include "proto/smtp/session.h"
#include "lib/metrics.h"
#include "mailauth/junk_score.h"
#include "mime/header.h"
#include "mime/msgid.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "relay/dkim_signer.h"
#include "relay/dsn.h"
#include "net/conn.h"
#include "relay/scheduler.h"
#include "lib/log.h"
#include "store/notify.h"
#include "proto/common/env.h"
#include "store/accounts.h"
#include "store/entries.h"
#include "store/mail.h"
#include "store/store.h"
#include "store/threads.h"

static struct store_rd *reader(struct smtp_session *s)
{
	return s->env->store ? store_reader(s->env->store) : NULL;
}

void smtp_rcpt_free(struct smtp_rcpt *r)
{
	free(r->addr);
	free(r->notify);
	free(r->orcpt);
	memset(r, 0, sizeof *r);
}

/* Is the account's quota used up (a read error counts as no)? */
static bool over_quota(struct smtp_session *s, int64_t account_id)
{
	struct store_rd *rd = store_reader(s->env->store);
	struct store_account a;
	if (store_account_get(rd, account_id, &a) != 1 || a.quota_bytes <= 0)
		return false;
	int64_t used = store_account_usage(rd, account_id);
	return used >= 0 && used >= a.quota_bytes;
}

enum smtp_reply_id smtp_rcpt_resolve(struct smtp_session *s, const struct smtp_path *p,
                                     const struct smtp_rcpt_params *rp, struct smtp_rcpt *out)
{
	char addr[SMTP_PATH_MAX + 300];
	struct store_rcpt r;
	int rc;

	memset(out, 0, sizeof *out);
	if (!s->env->store)
		return SMTP_R_STORE_FAIL;
	if (p->postmaster)
		snprintf(addr, sizeof addr, "postmaster@%s", s->env->domain);
	else
		snprintf(addr, sizeof addr, "%s", p->addr);

	memset(&r, 0, sizeof r);
	rc = store_resolve_rcpt_cached(s->env->store, addr, &r);
	if (rc == STORE_RCPT_LOCAL) {
		if (over_quota(s, r.account_id))
			return SMTP_R_MAILBOX_FULL;
		out->account_id = r.account_id;
		out->mailbox_id = r.mailbox_id;
		out->addr = strdup(addr);
	} else if (rc == STORE_RCPT_REMOTE) {
		/* An alias the administrator pointed elsewhere: forwarding is
		 * allowed whoever sends. */
		out->remote = true;
		out->addr = strdup(r.address);
		const char *at = strrchr(addr, '@');
		if (at && !s->txn.forward_domain[0])
			snprintf(s->txn.forward_domain, sizeof s->txn.forward_domain, "%s", at + 1);
	} else if (rc == -ENOENT) {
		if (!s->authenticated)
			return SMTP_R_RELAY_DENIED;
		out->remote = true;
		out->addr = strdup(addr);
	} else if (rc == 0) {
		return SMTP_R_NO_SUCH_USER;
	} else if (rc == -ELOOP) {
		return SMTP_R_ALIAS_LOOP;
	} else if (rc == -EINVAL) {
		return SMTP_R_RCPT_SYNTAX;
	} else {
		return SMTP_R_STORE_FAIL;
	}
	/* Kept for every recipient: a remote one's go with its queue row, a
	 * local one's decide the "delivered" DSN (success_dsn()). */
	if (rp->notify)
		out->notify = strdup(rp->notify_str);
	if (rp->has_orcpt)
		out->orcpt = strdup(rp->orcpt);
	if (!out->addr || (rp->notify && !out->notify) || (rp->has_orcpt && !out->orcpt)) {
		smtp_rcpt_free(out);
		return SMTP_R_STORE_FAIL;
	}
	return SMTP_R_OK;
}

enum smtp_reply_id smtp_sender_owned(struct smtp_session *s, const char *addr, size_t len)
{
	char buf[SMTP_PATH_MAX + 1];
	struct store_rd *rd = reader(s);
	int rc;

	if (!rd)
		return SMTP_R_STORE_FAIL;
	if (len == 0 || len >= sizeof buf)
		return SMTP_R_NOT_OWNED;
	memcpy(buf, addr, len);
	buf[len] = '\0';
	rc = store_address_owned_by(rd, s->acct.account_id, buf);
	if (rc < 0)
		return SMTP_R_STORE_FAIL;
	return rc == 1 ? SMTP_R_OK : SMTP_R_NOT_OWNED;
}

/* ---- the header From: ownership check (authenticated sessions) -------- */

struct from_check {
	struct smtp_session *s;
	enum smtp_reply_id verdict;
};

static int from_cb(void *ud, const char *addr, size_t alen)
{
	struct from_check *fc = ud;
	enum smtp_reply_id r = smtp_sender_owned(fc->s, addr, alen);
	if (r != SMTP_R_OK) {
		fc->verdict = r;
		return 1;
	}
	return 0;
}

static enum smtp_reply_id check_header_from(struct smtp_session *s, const char **why)
{
	const struct mime_spool *m = &s->txn.msg;
	size_t pos = 0;
	struct mime_field h;
	int nfrom = 0, rc;

	while ((rc = mime_field_next(m->buf, m->len, &pos, &h)) == 1) {
		if (h.name_len != 4 || strncasecmp(h.name, "From", 4) != 0)
			continue;
		nfrom++;
		struct from_check fc = {s, SMTP_R_OK};
		int n = mime_addr_specs(h.value, h.value_len, from_cb, &fc);
		if (fc.verdict != SMTP_R_OK) {
			*why = fc.verdict == SMTP_R_NOT_OWNED
			           ? "Header From: not owned by authenticated user"
			           : NULL;
			return fc.verdict;
		}
		if (n <= 0) {
			*why = "Header From: has no usable address";
			return SMTP_R_NOT_OWNED;
		}
	}
	if (nfrom != 1) {
		*why = nfrom ? "More than one From: header" : "Message has no From: header";
		return SMTP_R_NOT_OWNED;
	}
	return SMTP_R_OK;
}

/* ---- the store job ---------------------------------------------------- */

struct smtp_job {
	smtp_deliver_done_fn done; /* the session's completion */
	void *ud;
	uint64_t origin; /* conn id, for notifications */
	char *local_data;
	size_t local_len;
	char *remote_data;
	size_t remote_len;
	char *mail_from;
	const char *ret;
	char *envid;
	struct store_local_rcpt *local;
	size_t nlocal;
	struct store_remote_rcpt *remote;
	size_t nremote;
	char **strings; /* everything the remote array points to */
	size_t nstrings;
	uint32_t *uids;
	int64_t *modseqs;
	int64_t *mbids; /* the mailbox each local copy went into */
	bool junk;      /* DMARC quarantine (judge.h) */
	int64_t internal_date;
	/* local recipients whose NOTIFY asks for SUCCESS (RFC 3461 4.1) */
	struct dsn_rcpt *delivered;
	size_t ndelivered;
	const char *hostname;
	struct store *store;
	/* Message-ID and references, read on the loop (store/threads.h) */
	struct mime_thread_ids *tids;
	struct store_thread_keys thread;
};

static void job_free(struct smtp_job *j)
{
	free(j->local_data);
	free(j->remote_data);
	free(j->tids);
	free(j->mail_from);
	free(j->envid);
	free(j->local);
	free(j->remote);
	for (size_t i = 0; i < j->nstrings; i++)
		free(j->strings[i]);
	free(j->strings);
	free(j->uids);
	free(j->modseqs);
	free(j->mbids);
	free(j->delivered);
	free(j);
}

/* Writer thread, after the local delivery: the "delivered" DSN of RFC 3461
 * 6.2.1 for the recipients that asked for one, in the same transaction. A
 * DSN that cannot be stored is logged and does not fail the delivery: it
 * is tried in a savepoint of its own (store_tx_try). */
struct success_dsn {
	struct smtp_job *j;
	const char *msg;
	size_t len;
};

static int deliver_success_dsn(struct store_tx *tx, void *arg)
{
	struct success_dsn *d = arg;
	return dsn_deliver(tx, d->j->mail_from, d->msg, d->len);
}

static void success_dsn(struct store_tx *tx, struct smtp_job *j)
{
	char postmaster[320];
	snprintf(postmaster, sizeof postmaster, "MAILER-DAEMON@%s", j->hostname);
	struct dsn_info info = {
	    .reporting_mta = j->hostname,
	    .postmaster = postmaster,
	    .to = j->mail_from,
	    .envid = j->envid,
	    .ret_full = j->ret && strcmp(j->ret, "FULL") == 0,
	    .arrival = (time_t)j->internal_date,
	    .original = j->local_data,
	    .original_len = j->local_len,
	    .rcpts = j->delivered,
	    .nrcpts = j->ndelivered,
	};
	struct success_dsn d = {.j = j};
	char *msg = dsn_build(&info, &d.len);
	int r = -ENOMEM;
	if (msg) {
		d.msg = msg;
		r = store_tx_try(tx, deliver_success_dsn, &d);
	}
	free(msg);
	if (r < 0)
		log_warn("smtp event=success_dsn_undeliverable to=%s err=%d", j->mail_from, r);
}

/* Writer thread. */
static int job_run(struct store_tx *tx, void *arg)
{
	struct smtp_job *j = arg;
	int rc;

	if (j->nlocal) {
		struct store_delivery d = {
		    .data = j->local_data,
		    .len = j->local_len,
		    .mail_from = j->mail_from,
		    .ret = j->ret,
		    .envid = j->envid,
		    .internal_date = j->internal_date,
		    .local = j->local,
		    .nlocal = j->nlocal,
		    .uids = j->uids,
		    .modseqs = j->modseqs,
		    .mailbox_ids = j->mbids,
		    .junk = j->junk,
		    .thread = j->tids ? &j->thread : NULL,
		};
		rc = store_deliver(tx, &d);
		if (rc < 0)
			return rc;
		if (j->ndelivered)
			success_dsn(tx, j);
	}
	if (j->nremote) {
		struct store_delivery d = {
		    .data = j->remote_data,
		    .len = j->remote_len,
		    .mail_from = j->mail_from,
		    .ret = j->ret,
		    .envid = j->envid,
		    .internal_date = j->internal_date,
		    .remote = j->remote,
		    .nremote = j->nremote,
		};
		rc = store_deliver(tx, &d);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Loop thread, after COMMIT (or failure). */
static void job_done(void *arg, int status)
{
	struct smtp_job *j = arg;

	if (status >= 0) {
		metric_add(MET_MSG_ACCEPTED, 1);
		metric_add(MET_MSG_STORED, (int64_t)j->nlocal);
		metric_add(MET_MSG_QUEUED, (int64_t)j->nremote);
		for (size_t i = 0; i < j->nlocal; i++) {
			/* the same mailbox twice has one entry: notify once */
			bool seen = false;
			for (size_t k = 0; k < i && !seen; k++)
				seen = j->mbids[k] == j->mbids[i];
			if (seen)
				continue;
			struct notify_event ev = {
			    .mailbox_id = j->mbids[i],
			    .account_id = j->local[i].account_id,
			    .kind = NOTIFY_EXISTS,
			    .uid = j->uids[i],
			    .modseq = j->modseqs[i],
			    .origin = j->origin,
			};
			notify_publish(&ev);
		}
		if (j->nremote)
			queue_runner_kick(); /* deliver now, not at the next scan */
	}
	j->done(j->ud, status);
	job_free(j);
}

/* Loop thread, once the thread pool signed the copy that goes out: the
 * DKIM-Signature fields go on top of it, then the store job runs as it
 * would have. Signed before the queue row is written, so the 250 still
 * means committed and a retry sends the same signed bytes. */
static void submit_signed(void *ud, const char *fields, size_t len)
{
	struct smtp_job *j = ud;
	if (len) {
		char *signed_data = malloc(len + j->remote_len + 1);
		if (signed_data) {
			memcpy(signed_data, fields, len);
			memcpy(signed_data + len, j->remote_data, j->remote_len);
			signed_data[len + j->remote_len] = '\0';
			free(j->remote_data);
			j->remote_data = signed_data;
			j->remote_len += len;
		} else {
			log_warn("smtp event=dkim_unsigned err=%d", -ENOMEM);
		}
	}
	if (store_submit(j->store, job_run, job_done, j) < 0) {
		j->done(j->ud, -EIO);
		job_free(j);
	}
}

static char *join3(const char *a, size_t alen, const char *b, size_t blen, const char *c,
                   size_t clen, size_t *out_len)
{
	char *p = malloc(alen + blen + clen + 1);
	if (!p)
		return NULL;
	memcpy(p, a, alen);
	memcpy(p + alen, b, blen);
	memcpy(p + alen + blen, c, clen);
	p[alen + blen + clen] = '\0';
	*out_len = alen + blen + clen;
	return p;
}

/* Headers added to a submitted message (an authenticated session's, on
 * whatever listener) when the client left them out (RFC 6409 8). */
static size_t submission_headers(struct smtp_session *s, char *out, size_t cap, time_t now)
{
	const struct mime_spool *m = &s->txn.msg;
	size_t n = 0;
	int w;

	if (mime_header_count(m->buf, m->len, "Message-ID") == 0) {
		uint64_t rnd = 0;
		if (getrandom(&rnd, sizeof rnd, 0) != sizeof rnd)
			rnd = (uint64_t)now ^ ((uint64_t)conn_id(s->c) << 20) ^ s->ntxn;
		w = snprintf(out + n, cap - n, "Message-ID: <%llx.%016llx.%s@%s>\r\n",
		             (long long)now, (unsigned long long)rnd, s->txn.id,
		             s->env->hostname[0] ? s->env->hostname : "localhost");
		if (w > 0 && (size_t)w < cap - n)
			n += (size_t)w;
	}
	if (mime_header_count(m->buf, m->len, "Date") == 0) {
		char date[64];
		smtp_date_format(date, sizeof date, now);
		w = snprintf(out + n, cap - n, "Date: %s\r\n", date);
		if (w > 0 && (size_t)w < cap - n)
			n += (size_t)w;
	}
	return n;
}

/* The built-in spam score (mailauth/junk_score.h) of an mx message: the
 * client's DNSBL sum plus the judge's authentication results, weighed by
 * [spam]. false: not scored: submission listeners, authenticated sessions,
 * and messages rspamd answered for (its action decides; the score stands
 * in when rspamd is not configured or failed). trusted_networks clients
 * are scored with nothing (neither DNSBL nor the judge ran): never junk. */
static bool spam_score(const struct smtp_session *s, struct junk_score *out)
{
	if (s->submission || s->authenticated || s->txn.rspamd_checked || !s->spam)
		return false;
	struct junk_input in = {.auth = s->txn.auth};
	mx_reputation_score_input(s->rep, &in);
	junk_score_sum(&in, &s->spam->weights, out);
	return true;
}

/* X-Spam-Flag/X-Spam-Score for a message going to Junk on a spam verdict:
 * rspamd's "add header" with its score, or the built-in score. */
static size_t spam_headers(const struct smtp_session *s, const struct junk_score *score,
                           bool score_junk, char *out, size_t cap)
{
	int n;
	if (s->txn.spam_flag) /* rspamd's "add header" decides, with its score */
		n = snprintf(out, cap, "X-Spam-Flag: YES\r\nX-Spam-Score: %.2f\r\n",
		             s->txn.spam_score);
	else if (score_junk)
		n = snprintf(out, cap, "X-Spam-Flag: YES\r\nX-Spam-Score: %lld\r\n",
		             (long long)score->total);
	else
		return 0;
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

/* " score=6 reasons=spf_fail:3,dkim_fail:2,dmarc_fail:1 spam=junk" after
 * the judge's fields, for the delivered line. */
static void log_score(struct smtp_txn *t, const struct junk_score *score, bool junk)
{
	char reasons[200];
	junk_score_reasons(score, reasons, sizeof reasons);
	size_t o = strlen(t->auth_log);
	snprintf(t->auth_log + o, sizeof t->auth_log - o, "%sscore=%lld%s%s%s", o ? " " : "",
	         (long long)score->total, reasons[0] ? " reasons=" : "", reasons,
	         junk ? " spam=junk" : "");
}

enum smtp_reply_id smtp_deliver_start(struct smtp_session *s, smtp_deliver_done_fn done, void *ud,
                                      const char **why)
{
	struct smtp_txn *t = &s->txn;
	enum smtp_reply_id r;
	char received[2048], extra[512], retpath[SMTP_PATH_MAX + 32];
	size_t nrecv, nextra = 0;
	time_t now = time(NULL);

	if (s->authenticated) {
		r = check_header_from(s, why);
		if (r != SMTP_R_OK)
			return r;
		nextra = submission_headers(s, extra, sizeof extra, now);
	}
	if (!s->env->store)
		return SMTP_R_STORE_FAIL;

	struct smtp_trace tr = {
	    .helo = s->helo,
	    .peer_ip = conn_peer_ip(s->c),
	    .peer_name = mx_reputation_name(s->rep),
	    .peer_checked = s->rep && s->spam && s->spam->fcrdns,
	    .hostname = s->env->hostname,
	    .esmtp = s->esmtp,
	    .tls = conn_is_tls(s->c),
	    .auth = s->authenticated,
	    .utf8 = t->params.smtputf8,
	    .tls_version = conn_tls_version(s->c),
	    .tls_cipher = conn_tls_cipher(s->c),
	    .id = t->id,
	    .for_rcpt = t->nrcpts == 1 ? t->rcpts[0].addr : NULL,
	    .now = now,
	};
	nrecv = smtp_received_format(received, sizeof received, &tr);
	if (!nrecv)
		return SMTP_R_STORE_FAIL;
	/* trace + added headers, as one prefix */
	if (nrecv + nextra >= sizeof received)
		return SMTP_R_STORE_FAIL;
	memcpy(received + nrecv, extra, nextra);
	nrecv += nextra;
	struct junk_score score = {0};
	bool scored = spam_score(s, &score);
	bool score_junk = scored && junk_score_is_junk(&score, s->spam->junk_score);
	if (scored) {
		log_score(t, &score, score_junk);
		metric_add(score_junk ? MET_SCORE_JUNK : MET_SCORE_CLEAN, 1);
	}
	nrecv += spam_headers(s, &score, score_junk, received + nrecv, sizeof received - nrecv);
	/* Authentication-Results above the message, under our Received:
	 * (RFC 8601 5: prepended, so it is ours and not the sender's). */
	struct buf prefix = {0};
	if (buf_add(&prefix, received, nrecv) < 0 ||
	    (t->auth_fields && t->auth_fields->len &&
	     buf_add(&prefix, t->auth_fields->data, t->auth_fields->len) < 0)) {
		buf_free(&prefix);
		return SMTP_R_STORE_FAIL;
	}

	struct smtp_job *j = calloc(1, sizeof *j);
	if (!j) {
		buf_free(&prefix);
		return SMTP_R_STORE_FAIL;
	}
	j->done = done;
	j->ud = ud;
	j->origin = conn_id(s->c);
	j->internal_date = (int64_t)now;
	j->mail_from = strdup(t->from.null ? "" : t->from.addr);
	j->ret = t->params.ret == SMTP_RET_FULL   ? "FULL"
	         : t->params.ret == SMTP_RET_HDRS ? "HDRS"
	                                          : NULL;
	if (t->params.has_envid)
		j->envid = strdup(t->params.envid);
	for (size_t i = 0; i < t->nrcpts; i++) {
		if (t->rcpts[i].remote)
			j->nremote++;
		else
			j->nlocal++;
	}
	j->local = calloc(j->nlocal ? j->nlocal : 1, sizeof *j->local);
	j->uids = calloc(j->nlocal ? j->nlocal : 1, sizeof *j->uids);
	j->modseqs = calloc(j->nlocal ? j->nlocal : 1, sizeof *j->modseqs);
	j->mbids = calloc(j->nlocal ? j->nlocal : 1, sizeof *j->mbids);
	j->junk = t->junk || score_junk || t->spam_flag;
	j->remote = calloc(j->nremote ? j->nremote : 1, sizeof *j->remote);
	j->strings = calloc(t->nrcpts * 3 + 1, sizeof *j->strings);
	j->delivered = calloc(j->nlocal ? j->nlocal : 1, sizeof *j->delivered);
	j->hostname = s->env->hostname[0] ? s->env->hostname : "localhost";
	if (!j->mail_from || (t->params.has_envid && !j->envid) || !j->local || !j->uids ||
	    !j->modseqs || !j->mbids || !j->remote || !j->strings || !j->delivered)
		goto oom;
	size_t li = 0, ri = 0;
	for (size_t i = 0; i < t->nrcpts; i++) {
		struct smtp_rcpt *rc = &t->rcpts[i];
		if (!rc->remote) {
			j->local[li].account_id = rc->account_id;
			j->local[li].mailbox_id = rc->mailbox_id;
			li++;
			if (dsn_wanted(j->mail_from, rc->notify, DSN_DELIVERED)) {
				char *a = strdup(rc->addr);
				char *oc = rc->orcpt ? strdup(rc->orcpt) : NULL;
				if (a)
					j->strings[j->nstrings++] = a;
				if (oc)
					j->strings[j->nstrings++] = oc;
				if (!a || (rc->orcpt && !oc))
					goto oom;
				j->delivered[j->ndelivered++] = (struct dsn_rcpt){
				    .rcpt = a,
				    .orcpt = oc,
				    .action = DSN_DELIVERED,
				    .status = "2.0.0",
				    .reason = "delivered to the recipient's mailbox",
				};
			}
			continue;
		}
		char *a = strdup(rc->addr);
		char *nt = rc->notify ? strdup(rc->notify) : NULL;
		char *oc = rc->orcpt ? strdup(rc->orcpt) : NULL;
		if (a)
			j->strings[j->nstrings++] = a;
		if (nt)
			j->strings[j->nstrings++] = nt;
		if (oc)
			j->strings[j->nstrings++] = oc;
		if (!a || (rc->notify && !nt) || (rc->orcpt && !oc))
			goto oom;
		j->remote[ri].rcpt = a;
		j->remote[ri].notify = nt;
		j->remote[ri].orcpt = oc;
		ri++;
	}
	if (j->nlocal) {
		int n = snprintf(retpath, sizeof retpath, "Return-Path: <%s>\r\n", j->mail_from);
		if (n < 0 || (size_t)n >= sizeof retpath)
			goto oom;
		j->local_data = join3(retpath, (size_t)n, prefix.data, prefix.len,
		                      t->msg.buf ? t->msg.buf : "", t->msg.len, &j->local_len);
		if (!j->local_data)
			goto oom;
		if (!(j->tids = malloc(sizeof *j->tids)))
			goto oom;
		mime_thread_ids_read(j->local_data, j->local_len, j->tids);
		j->thread = (struct store_thread_keys){
		    .message_id = j->tids->message_id,
		    .parents = j->tids->parents,
		    .nparents = j->tids->nparents,
		};
	}
	if (j->nremote) {
		j->remote_data = join3("", 0, prefix.data, prefix.len, t->msg.buf ? t->msg.buf : "",
		                       t->msg.len, &j->remote_len);
		if (!j->remote_data)
			goto oom;
	}
	buf_free(&prefix);
	/* The spool is not needed any more: give the memory back now. */
	size_t msg_len = t->msg.len;
	mime_spool_free(&t->msg);
	t->msg.len = msg_len; /* kept for the log line */

	j->store = s->env->store;
	/* A submission going out is DKIM-signed first (submit_signed). */
	if (s->authenticated && j->nremote &&
	    dkim_signer_sign(j->remote_data, j->remote_len, submit_signed, j) == 1)
		return SMTP_R_OK;
	/* mx mail an alias forwards: ARC-sealed by the alias's domain
	 * (RFC 8617 5.1) with the judge's chain status and results. */
	if (!s->authenticated && j->nremote && t->arc_chain && t->forward_domain[0] &&
	    t->auth_fields && t->auth_fields->len &&
	    dkim_signer_arc_seal(t->forward_domain, (enum arc_status)t->arc_chain,
	                         t->auth_fields->data, t->auth_fields->len, j->remote_data,
	                         j->remote_len, submit_signed, j) == 1)
		return SMTP_R_OK;
	if (store_submit(j->store, job_run, job_done, j) < 0) {
		job_free(j);
		return SMTP_R_STORE_FAIL;
	}
	return SMTP_R_OK;
oom:
	buf_free(&prefix);
	job_free(j);
	return SMTP_R_STORE_FAIL;
}
