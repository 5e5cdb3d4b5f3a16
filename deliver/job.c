/* job: the atomic store job of the submission path (job.h says what it
 * stores and when it answers). Moved from proto/smtp/deliver.c, where SMTP
 * built and ran it for itself, so that every submitter (SMTP, JMAP) stores
 * and queues mail the same way. What Sieve makes of the entries is
 * sieve_apply.c's. */
#include "deliver/collect.h"
#include "deliver/incoming_events.h"
#include "deliver/job.h"
#include "deliver/job_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deliver/sieve_filter.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "mime/msgid.h"
#include "relay/dkim_signer.h"
#include "relay/dsn.h"
#include "relay/scheduler.h"
#include "relay/webhook_runner.h"
#include "store/mail.h"
#include "store/notify.h"
#include "store/store.h"
#include "store/threads.h"

static void free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void job_free(struct deliver_job *j)
{
	free(j->local_data);
	free(j->remote_data);
	free(j->tids);
	free(j->mail_from);
	free(j->envid);
	free(j->local);
	free(j->remote);
	free(j->queue_ids);
	free(j->queue_rcpts);
	free_strings(j->strings, j->nstrings);
	free(j->uids);
	free(j->modseqs);
	free(j->mbids);
	free(j->delivered);
	free(j->arc_domain);
	free(j->arc_authres);
	sieve_filter_free(j->filter);
	for (size_t i = 0; i < j->nmore_filters; i++)
		sieve_filter_free(j->more_filters[i]);
	free(j->more_filters);
	free_strings(j->rcpt_addrs, j->nrcpt_addrs);
	free(j->targets);
	sieve_apply_free(j);
	free(j->vacations);
	free(j->vacation_accounts);
	free(j->reject_dsn);
	free_strings(j->owned, j->nowned);
	deliver_collect_free(j->collect);
	free(j);
}

/* Writer thread, after the local delivery: the "delivered" DSN of RFC 3461
 * 6.2.1 for the recipients that asked for one, in the same transaction. A
 * DSN that cannot be stored is logged and does not fail the delivery: it
 * is tried in a savepoint of its own (store_tx_try). */
struct success_dsn {
	struct deliver_job *j;
	const char *msg;
	size_t len;
};

static int deliver_success_dsn(struct store_tx *tx, void *arg)
{
	struct success_dsn *d = arg;
	return dsn_deliver(tx, d->j->mail_from, d->msg, d->len);
}

static void success_dsn(struct store_tx *tx, struct deliver_job *j)
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
		log_warn("deliver event=success_dsn_undeliverable to=%s err=%d", j->mail_from, r);
}

/* Writer thread. */
static int job_run(struct store_tx *tx, void *arg)
{
	struct deliver_job *j = arg;
	int rc;

	if ((rc = sieve_apply_in_tx(tx, j)) < 0)
		return rc;
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
		/* the webhooks' "incoming" events commit with the entries */
		if ((rc = deliver_incoming_events(tx, j)) < 0)
			return rc;
		j->incoming_events = (size_t)rc;
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
		    .queue_ids = j->queue_ids,
		};
		rc = store_deliver(tx, &d);
		if (rc < 0)
			return rc;
	}
	/* never fails: an address that cannot be collected is logged */
	deliver_collect_run(tx, j->collect);
	if (j->in_tx) {
		for (size_t i = 0; i < j->nremote; i++)
			j->queue_rcpts[i] = j->remote[i].rcpt;
		return j->in_tx(tx, j->in_tx_ud, j->queue_rcpts, j->queue_ids, j->nremote);
	}
	return 0;
}

/* Loop thread, after COMMIT (or failure). */
static void job_done(void *arg, int status)
{
	struct deliver_job *j = arg;

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
		/* a mailbox fileinto :create made: IMAP's LIST watchers, JMAP's push */
		for (size_t i = 0; j->targets && i < j->nlocal; i++) {
			if (!j->targets[i].created)
				continue;
			struct notify_event ev = {.mailbox_id = j->mbids[i],
			                          .kind = NOTIFY_MAILBOX_CREATED,
			                          .origin = j->origin,
			                          .account_id = j->local[i].account_id,
			                          .name = j->targets[i].mailbox};
			notify_publish(&ev);
		}
		if (j->nremote)
			queue_runner_kick(); /* deliver now, not at the next scan */
		if (j->incoming_events)
			webhook_runner_kick(); /* POST them now */
	}
	j->done(j->ud, status);
	job_free(j);
}

/* Loop thread, once the thread pool signed the copy that goes out: the
 * DKIM-Signature fields go on top of it, then the store job runs as it
 * would have. */
static void submit_signed(void *ud, const char *fields, size_t len)
{
	struct deliver_job *j = ud;
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
			log_warn("deliver event=dkim_unsigned err=%d", -ENOMEM);
		}
	}
	if (store_submit(j->store, job_run, job_done, j) < 0) {
		if (j->starting) {
			j->failed_early = true;
			return;
		}
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

/* The job's copy of a local recipient that asked for a "delivered" DSN. */
static int add_delivered(struct deliver_job *j, const struct deliver_rcpt *rc)
{
	char *a = strdup(rc->addr);
	char *oc = rc->orcpt ? strdup(rc->orcpt) : NULL;
	if (a)
		j->strings[j->nstrings++] = a;
	if (oc)
		j->strings[j->nstrings++] = oc;
	if (!a || (rc->orcpt && !oc))
		return -ENOMEM;
	j->delivered[j->ndelivered++] = (struct dsn_rcpt){
	    .rcpt = a,
	    .orcpt = oc,
	    .action = DSN_DELIVERED,
	    .status = "2.0.0",
	    .reason = "delivered to the recipient's mailbox",
	};
	return 0;
}

/* The job's copy of a remote recipient: its queue row. */
static int add_remote(struct deliver_job *j, const struct deliver_rcpt *rc, size_t ri)
{
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
		return -ENOMEM;
	j->remote[ri].rcpt = a;
	j->remote[ri].notify = nt;
	j->remote[ri].orcpt = oc;
	return 0;
}

/* Everything but the signing: the recipients and both copies. */
static int job_build(struct deliver_job *j, const struct deliver_job_req *q)
{
	char retpath[400];
	const char *msg = q->msg ? q->msg : "";

	for (size_t i = 0; i < q->nrcpts; i++) {
		if (q->rcpts[i].remote)
			j->nremote++;
		else
			j->nlocal++;
	}
	j->local = calloc(j->nlocal ? j->nlocal : 1, sizeof *j->local);
	j->uids = calloc(j->nlocal ? j->nlocal : 1, sizeof *j->uids);
	j->modseqs = calloc(j->nlocal ? j->nlocal : 1, sizeof *j->modseqs);
	j->mbids = calloc(j->nlocal ? j->nlocal : 1, sizeof *j->mbids);
	j->remote = calloc(j->nremote ? j->nremote : 1, sizeof *j->remote);
	j->queue_ids = calloc(j->nremote ? j->nremote : 1, sizeof *j->queue_ids);
	j->queue_rcpts = calloc(j->nremote ? j->nremote : 1, sizeof *j->queue_rcpts);
	j->strings = calloc(q->nrcpts * 3 + 1, sizeof *j->strings);
	j->delivered = calloc(j->nlocal ? j->nlocal : 1, sizeof *j->delivered);
	if (!j->mail_from || (q->envid && !j->envid) || !j->local || !j->uids || !j->modseqs ||
	    !j->mbids || !j->remote || !j->queue_ids || !j->queue_rcpts || !j->strings ||
	    !j->delivered)
		return -ENOMEM;
	size_t li = 0, ri = 0;
	for (size_t i = 0; i < q->nrcpts; i++) {
		const struct deliver_rcpt *rc = &q->rcpts[i];
		if (!rc->remote) {
			j->local[li].account_id = rc->account_id;
			j->local[li].mailbox_id = rc->mailbox_id;
			li++;
			if (dsn_wanted(j->mail_from, rc->notify, DSN_DELIVERED) &&
			    add_delivered(j, rc) < 0)
				return -ENOMEM;
			continue;
		}
		if (add_remote(j, rc, ri++) < 0)
			return -ENOMEM;
	}
	if (j->nlocal) {
		int n = snprintf(retpath, sizeof retpath, "Return-Path: <%s>\r\n", j->mail_from);
		if (n < 0 || (size_t)n >= sizeof retpath)
			return -ENOMEM;
		j->retpath_len = (size_t)n;
		j->prefix_len = q->prefix_len;
		j->local_data =
		    join3(retpath, (size_t)n, q->prefix, q->prefix_len, msg, q->len, &j->local_len);
		if (!j->local_data)
			return -ENOMEM;
		if (!(j->tids = malloc(sizeof *j->tids)))
			return -ENOMEM;
		mime_thread_ids_read(j->local_data, j->local_len, j->tids);
		j->thread = (struct store_thread_keys){
		    .message_id = j->tids->message_id,
		    .parents = j->tids->parents,
		    .nparents = j->tids->nparents,
		};
	}
	if (j->nremote) {
		j->remote_data =
		    join3("", 0, q->prefix, q->prefix_len, msg, q->len, &j->remote_len);
		if (!j->remote_data)
			return -ENOMEM;
	}
	return 0;
}

/* Sign or seal the copy that goes out, then submit the store job. 0: under
 * way (done will run); -EIO: nothing submitted, j is still the caller's to
 * free, done will not run. */
static int job_go(struct deliver_job *j)
{
	/* A submission going out is DKIM-signed first (submit_signed). */
	j->starting = true;
	if (j->dkim_sign && j->nremote &&
	    dkim_signer_sign(j->remote_data, j->remote_len, submit_signed, j) == 1) {
		j->starting = false;
		return j->failed_early ? -EIO : 0;
	}
	/* mail an alias forwards: ARC-sealed by the alias's domain
	 * (RFC 8617 5.1) with the judge's chain status and results. */
	if (!j->dkim_sign && j->nremote && j->arc_domain && j->arc_domain[0] &&
	    j->arc_chain != ARC_PENDING && j->arc_authres && j->arc_authres_len &&
	    dkim_signer_arc_seal(j->arc_domain, j->arc_chain, j->arc_authres, j->arc_authres_len,
	                         j->remote_data, j->remote_len, submit_signed, j) == 1) {
		j->starting = false;
		return j->failed_early ? -EIO : 0;
	}
	j->starting = false;
	return store_submit(j->store, job_run, job_done, j) < 0 ? -EIO : 0;
}

/* Loop thread: a remote redirect's ARC set is made (fields, len 0: not
 * sealed); the sealed copy goes on top of the message. */
static void seal_next(struct deliver_job *j);

static void redirect_sealed(void *ud, const char *fields, size_t len)
{
	struct deliver_job *j = ud;
	struct redirect *r = &j->redirects[j->sealing++];
	const char *body = j->local_data + j->retpath_len;
	size_t blen = j->local_len - j->retpath_len;
	if (len && (r->data = malloc(len + blen + 1))) {
		memcpy(r->data, fields, len);
		memcpy(r->data + len, body, blen);
		r->data[len + blen] = '\0';
		r->len = len + blen;
	} else {
		log_warn("sieve event=redirect_unsealed account=%lld to=%s domain=%s",
		         (long long)r->account_id, r->to, r->domain);
	}
	if (j->seal_inline) {
		j->seal_inline_done = true;
		return;
	}
	seal_next(j);
}

/* The remote redirects ARC-sealed one after the other (RFC 8617 5.1: by
 * the redirecting account's domain, with the judge's chain status and
 * Authentication-Results, as an alias's forward is), then the store job.
 * Mail nobody judged (a submission, JMAP) goes unsealed. */
static void seal_next(struct deliver_job *j)
{
	bool judged = j->arc_chain != ARC_PENDING && j->arc_authres && j->arc_authres_len;
	while (judged && j->sealing < j->nredirects) {
		struct redirect *r = &j->redirects[j->sealing];
		j->seal_inline = true;
		j->seal_inline_done = false;
		int rc =
		    r->domain[0]
		        ? dkim_signer_arc_seal(r->domain, j->arc_chain, j->arc_authres,
		                               j->arc_authres_len, j->local_data + j->retpath_len,
		                               j->local_len - j->retpath_len, redirect_sealed, j)
		        : 0;
		j->seal_inline = false;
		if (rc == 1 && !j->seal_inline_done)
			return; /* redirect_sealed() goes on */
		if (rc != 1) {
			log_info("sieve event=redirect_unsealed account=%lld to=%s domain=%s "
			         "note=no_arc_key",
			         (long long)r->account_id, r->to, r->domain);
			j->sealing++;
		}
	}
	if (job_go(j) < 0) {
		j->done(j->ud, -EIO);
		job_free(j);
	}
}

static void filtered(void *ud, struct sieve_filter *f, const struct sieve_outcome *outs, size_t n);

/* Loop thread: the next round of Sieve runs, for the local targets of the
 * last round's redirects (job_int.h). 1: under way (filtered() goes on),
 * 0: no round left, or negative. */
static int next_round(struct deliver_job *j)
{
	for (;;) {
		int n = sieve_apply_next_round(j);
		if (n <= 0)
			return n;
		struct sieve_filter_rcpt *rcpts = calloc((size_t)n, sizeof *rcpts);
		struct sieve_filter **mf =
		    realloc(j->more_filters, (j->nmore_filters + 1) * sizeof *mf);
		if (mf)
			j->more_filters = mf;
		if (!rcpts || !mf) {
			free(rcpts);
			return -ENOMEM;
		}
		for (size_t i = 0; i < (size_t)n; i++) {
			rcpts[i].account_id = j->round_local[i].account_id;
			rcpts[i].envelope_to = j->round_addrs[i];
		}
		int rc;
		struct sieve_filter *nf = sieve_filter_prepare(
		    store_reader(j->store), j->hostname, j->mail_from, j->local_data, j->local_len,
		    j->local_len - j->retpath_len, rcpts, (size_t)n, &rc);
		free(rcpts);
		if (nf) {
			j->more_filters[j->nmore_filters++] = nf;
			sieve_filter_start(nf, filtered, j);
			return 1;
		}
		if (rc < 0)
			return rc;
		/* none of the targets has a script: their INBOXes */
		if ((rc = sieve_apply_outcomes(j, NULL, (size_t)n)) < 0)
			return rc;
	}
}

/* Loop thread: a round of runs is over. */
static void filtered(void *ud, struct sieve_filter *f, const struct sieve_outcome *outs, size_t n)
{
	struct deliver_job *j = ud;
	(void)f;
	int rc = sieve_apply_outcomes(j, outs, n);
	if (rc == 1) {
		j->done(j->ud, DELIVER_JOB_REJECTED);
		job_free(j);
		return;
	}
	if (rc == 0 && (rc = next_round(j)) == 1)
		return; /* the targets' scripts run; filtered() again */
	if (rc == 0)
		rc = sieve_apply_finish(j);
	if (rc < 0) {
		j->done(j->ud, rc);
		job_free(j);
		return;
	}
	j->sealing = 0;
	seal_next(j);
}

/* Loop thread: the local recipients' scripts, when any has one. 1: the
 * runs are under way (filtered() goes on), 0: none has a script, or
 * negative. */
static int start_sieve(struct deliver_job *j, const struct deliver_job_req *q)
{
	if (!j->nlocal)
		return 0;
	struct sieve_filter_rcpt *rcpts = calloc(j->nlocal, sizeof *rcpts);
	if (!rcpts || !(j->rcpt_addrs = calloc(j->nlocal, sizeof *j->rcpt_addrs))) {
		free(rcpts);
		return -ENOMEM;
	}
	size_t li = 0;
	for (size_t i = 0; i < q->nrcpts; i++) {
		if (q->rcpts[i].remote)
			continue;
		if (!(j->rcpt_addrs[li] = strdup(q->rcpts[i].addr))) {
			free(rcpts);
			return -ENOMEM;
		}
		j->nrcpt_addrs++;
		rcpts[li].account_id = q->rcpts[i].account_id;
		rcpts[li].envelope_to = j->rcpt_addrs[li];
		li++;
	}
	int rc;
	j->filter = sieve_filter_prepare(store_reader(j->store), j->hostname, j->mail_from,
	                                 j->local_data, j->local_len, q->len, rcpts, li, &rc);
	free(rcpts);
	if (!j->filter)
		return rc;
	sieve_filter_start(j->filter, filtered, j);
	return 1;
}

int deliver_job_start(const struct deliver_job_req *q, deliver_done_fn done, void *ud)
{
	if (!q->store)
		return -EIO;
	struct deliver_job *j = calloc(1, sizeof *j);
	if (!j)
		return -ENOMEM;
	j->done = done;
	j->ud = ud;
	j->origin = q->origin;
	j->internal_date = (int64_t)q->now;
	j->mail_from = strdup(q->mail_from ? q->mail_from : "");
	j->ret = q->ret;
	if (q->envid)
		j->envid = strdup(q->envid);
	j->junk = q->junk;
	j->hostname = q->hostname && q->hostname[0] ? q->hostname : "localhost";
	j->store = q->store;
	j->dkim_sign = q->dkim_sign;
	j->in_tx = q->in_tx;
	j->in_tx_ud = q->in_tx_ud;
	j->arc_chain = q->arc_chain;
	j->reject_reason = q->reject_reason;
	j->reject_cap = q->reject_reason ? q->reject_cap : 0;
	j->single_rcpt = q->nrcpts == 1;
	if (q->collect_account_id) /* NULL when none or no memory (logged) */
		j->collect = deliver_collect_prepare(q->collect_account_id, q->mail_from, q->msg,
		                                     q->len, q->rcpts, q->nrcpts);
	if (q->arc_domain)
		j->arc_domain = strdup(q->arc_domain);
	if (q->arc_authres && q->arc_authres_len &&
	    (j->arc_authres = malloc(q->arc_authres_len + 1))) {
		memcpy(j->arc_authres, q->arc_authres, q->arc_authres_len);
		j->arc_authres[q->arc_authres_len] = '\0';
		j->arc_authres_len = q->arc_authres_len;
	}
	if (job_build(j, q) < 0 || (q->arc_domain && !j->arc_domain) ||
	    (q->arc_authres && q->arc_authres_len && !j->arc_authres)) {
		job_free(j);
		return -ENOMEM;
	}
	int rc = start_sieve(j, q);
	if (rc == 1)
		return 0; /* filtered() goes on */
	if (rc < 0) {
		log_warn("deliver event=sieve_unavailable err=%d", rc);
		job_free(j);
		return rc == -ENOMEM ? -ENOMEM : -EIO;
	}
	if (job_go(j) < 0) {
		job_free(j);
		return -EIO;
	}
	return 0;
}
