/* job: the atomic store job of the submission path (job.h says what it
 * stores and when it answers). Moved from proto/smtp/deliver.c, where SMTP
 * built and ran it for itself, so that every submitter (SMTP, JMAP) stores
 * and queues mail the same way. */
#include "deliver/job.h"

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
#include "store/mail.h"
#include "store/accounts.h"
#include "store/mailboxes.h"
#include "store/notify.h"
#include "store/sieve.h"
#include "store/store.h"
#include "store/threads.h"

struct deliver_job {
	deliver_done_fn done; /* the caller's completion */
	void *ud;
	uint64_t origin; /* for notifications */
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
	bool junk;
	int64_t internal_date;
	/* local recipients whose NOTIFY asks for SUCCESS (RFC 3461 4.1) */
	struct dsn_rcpt *delivered;
	size_t ndelivered;
	const char *hostname;
	struct store *store;
	/* deliver_job_start() is still running (a signer built without
	 * threads completes inline): a failure is its return value then, so
	 * done never runs before it returns */
	bool starting;
	bool failed_early;
	/* Message-ID and references, read on the loop (store/threads.h) */
	struct mime_thread_ids *tids;
	struct store_thread_keys thread;
	size_t retpath_len; /* local_data starts with Return-Path: of this length */
	/* what happens after the Sieve runs, copied from the request */
	bool dkim_sign;
	char *arc_domain;
	enum arc_status arc_chain;
	char *arc_authres;
	size_t arc_authres_len;
	char *reject_reason; /* the caller's buffer, or NULL */
	size_t reject_cap;
	bool single_rcpt;
	/* Sieve (sieve_filter.h): the runs' outcomes live in the filter */
	struct sieve_filter *filter;
	char **rcpt_addrs; /* the local recipients' addresses, in local order */
	size_t nrcpt_addrs;
	struct entry_target *targets; /* per local entry, after the runs */
	struct redirect *redirects;
	size_t nredirects;
	const struct sieve_vacation_reply **vacations;
	int64_t *vacation_accounts;
	size_t nvacations;
	char *reject_dsn; /* the notice of a reject with several recipients */
	size_t reject_dsn_len;
	char **owned; /* strings made while applying the outcomes */
	size_t nowned;
};

/* Where a Sieve filing goes, resolved in the job: a mailbox by name. */
struct entry_target {
	const char *mailbox; /* NULL: the entry's mailbox_id as it is */
	bool create;
	bool created;     /* the job made it: announced after the commit */
	int64_t fallback; /* the recipient's own mailbox (implicit keep) */
};

struct redirect {
	int64_t account_id;
	const char *to;
	char from[STORE_ADDR_MAX]; /* the account's address: the envelope sender */
};

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
	free_strings(j->strings, j->nstrings);
	free(j->uids);
	free(j->modseqs);
	free(j->mbids);
	free(j->delivered);
	free(j->arc_domain);
	free(j->arc_authres);
	sieve_filter_free(j->filter);
	free_strings(j->rcpt_addrs, j->nrcpt_addrs);
	free(j->targets);
	free(j->redirects);
	free(j->vacations);
	free(j->vacation_accounts);
	free(j->reject_dsn);
	free_strings(j->owned, j->nowned);
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

/* A name :create may make: what an IMAP client could name and LIST back
 * (no wildcards, controls or empty levels, at most 255 bytes). */
static bool creatable(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 255 || name[0] == '/' || name[n - 1] == '/' || strstr(name, "//"))
		return false;
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '*' || *p == '%')
			return false;
	return true;
}

/* Writer thread: the mailboxes Sieve's fileinto named, found or (with
 * :create) made; a missing one is the implicit keep (RFC 5228 4.1 leaves
 * it to the implementation; keeping never loses mail). */
static int resolve_targets(struct store_tx *tx, struct deliver_job *j)
{
	for (size_t i = 0; j->targets && i < j->nlocal; i++) {
		struct entry_target *t = &j->targets[i];
		if (!t->mailbox)
			continue;
		int64_t id = 0;
		int64_t acct = j->local[i].account_id;
		int rc = store_mailbox_find(store_tx_reader(tx), acct, t->mailbox, &id);
		if (rc < 0)
			return rc;
		if (rc == 0 && t->create && creatable(t->mailbox)) {
			rc = store_mailbox_create(tx, acct, t->mailbox, NULL, &id);
			if (rc == 0) {
				t->created = true;
				rc = 1;
			} else if (rc != -EINVAL && rc != -EEXIST && rc != -ENAMETOOLONG)
				return rc;
		}
		if (rc == 1) {
			j->local[i].mailbox_id = id;
			continue;
		}
		log_info("sieve event=fileinto_missing account=%lld mailbox=\"%s\" "
		         "note=implicit_keep",
		         (long long)acct, t->mailbox);
		j->local[i].mailbox_id = t->fallback;
		j->local[i].not_junk = false;
	}
	return 0;
}

/* Writer thread: a redirect (RFC 5228 4.2): to a local address, an entry
 * in its mailbox; else a queue row from the account's address. */
static int store_redirect(struct store_tx *tx, struct deliver_job *j, const struct redirect *r)
{
	struct store_rcpt to;
	memset(&to, 0, sizeof to);
	int rc = store_resolve_rcpt(store_tx_reader(tx), r->to, &to);
	struct store_local_rcpt local = {.account_id = to.account_id, .mailbox_id = to.mailbox_id};
	struct store_remote_rcpt remote = {.rcpt = rc == STORE_RCPT_REMOTE ? to.address : r->to};
	struct store_delivery d = {
	    .data = j->local_data + j->retpath_len,
	    .len = j->local_len - j->retpath_len,
	    .mail_from = r->from,
	    .internal_date = j->internal_date,
	};
	if (rc == STORE_RCPT_LOCAL) {
		d.data = j->local_data;
		d.len = j->local_len;
		d.local = &local;
		d.nlocal = 1;
	} else if (rc == STORE_RCPT_REMOTE || rc == -ENOENT) {
		d.remote = &remote;
		d.nremote = 1;
	} else {
		log_warn("sieve event=redirect_undeliverable account=%lld to=%s err=%d",
		         (long long)r->account_id, r->to, rc);
		return 0;
	}
	rc = store_deliver(tx, &d);
	if (rc == 0)
		log_info("sieve event=redirected account=%lld to=%s from=%s",
		         (long long)r->account_id, r->to, r->from);
	return rc;
}

struct tx_message {
	const char *to, *msg;
	size_t len;
};

static int deliver_tx_message(struct store_tx *tx, void *arg)
{
	struct tx_message *m = arg;
	return dsn_deliver(tx, m->to, m->msg, m->len);
}

/* Writer thread: a vacation reply, unless this (handle, sender) was
 * answered within :days (RFC 5230 4.2); sent and remembered in the
 * delivery's transaction. One that cannot be stored is logged only. */
static int store_vacation(struct store_tx *tx, struct deliver_job *j, int64_t account_id,
                          const struct sieve_vacation_reply *v)
{
	int64_t since = j->internal_date - (int64_t)v->days * 86400;
	int rc =
	    store_sieve_vacation_seen(store_tx_reader(tx), account_id, v->handle, v->to, since);
	if (rc < 0)
		return rc;
	if (rc == 1) {
		log_info("sieve event=vacation_already_sent account=%lld to=%s",
		         (long long)account_id, v->to);
		return 0;
	}
	struct tx_message m = {v->to, v->msg, v->len};
	rc = store_tx_try(tx, deliver_tx_message, &m);
	if (rc < 0) {
		log_warn("sieve event=vacation_undeliverable account=%lld to=%s err=%d",
		         (long long)account_id, v->to, rc);
		return 0;
	}
	log_info("sieve event=vacation_sent account=%lld to=%s", (long long)account_id, v->to);
	return store_sieve_vacation_note(tx, account_id, v->handle, v->to, j->internal_date);
}

/* Writer thread: what the Sieve runs asked for beyond the entries. */
static int sieve_extras(struct store_tx *tx, struct deliver_job *j)
{
	int rc;
	for (size_t i = 0; i < j->nredirects; i++)
		if ((rc = store_redirect(tx, j, &j->redirects[i])) < 0)
			return rc;
	for (size_t i = 0; i < j->nvacations; i++)
		if ((rc = store_vacation(tx, j, j->vacation_accounts[i], j->vacations[i])) < 0)
			return rc;
	if (j->reject_dsn) {
		struct tx_message m = {j->mail_from, j->reject_dsn, j->reject_dsn_len};
		if ((rc = store_tx_try(tx, deliver_tx_message, &m)) < 0)
			log_warn("sieve event=reject_notice_undeliverable to=%s err=%d",
			         j->mail_from, rc);
	}
	return 0;
}

/* Writer thread. */
static int job_run(struct store_tx *tx, void *arg)
{
	struct deliver_job *j = arg;
	int rc;

	if ((rc = resolve_targets(tx, j)) < 0 || (rc = sieve_extras(tx, j)) < 0)
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
	j->strings = calloc(q->nrcpts * 3 + 1, sizeof *j->strings);
	j->delivered = calloc(j->nlocal ? j->nlocal : 1, sizeof *j->delivered);
	if (!j->mail_from || (q->envid && !j->envid) || !j->local || !j->uids || !j->modseqs ||
	    !j->mbids || !j->remote || !j->strings || !j->delivered)
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

/* A string made while applying the outcomes, freed with the job. */
static char *own_string(struct deliver_job *j, char *str)
{
	if (!str)
		return NULL;
	char **o = realloc(j->owned, (j->nowned + 1) * sizeof *o);
	if (!o) {
		free(str);
		return NULL;
	}
	j->owned = o;
	o[j->nowned++] = str;
	return str;
}

/* The entries of the local copy once the scripts ran: per recipient its
 * filings (none when it discarded or rejected), or its one entry as
 * before when it had no script. */
struct applied {
	struct store_local_rcpt *local;
	struct entry_target *targets;
	size_t n, cap;
};

static int add_entry_slot(struct applied *a, const struct store_local_rcpt *r,
                          const struct entry_target *t)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 8;
		struct store_local_rcpt *l = realloc(a->local, cap * sizeof *l);
		if (l)
			a->local = l;
		struct entry_target *tg = realloc(a->targets, cap * sizeof *tg);
		if (tg)
			a->targets = tg;
		if (!l || !tg)
			return -ENOMEM;
		a->cap = cap;
	}
	a->local[a->n] = *r;
	a->targets[a->n] = *t;
	a->n++;
	return 0;
}

/* One recipient's filings as entries. */
static int apply_filings(struct deliver_job *j, struct applied *a, const struct store_local_rcpt *r,
                         const struct sieve_outcome *o)
{
	for (size_t k = 0; k < o->nfilings; k++) {
		const struct sieve_filing *fl = &o->filings[k];
		struct store_local_rcpt e = *r;
		e.flags = fl->flags;
		e.keywords = fl->keywords;
		e.not_junk = fl->explicit_keep;
		/* the implicit keep of junk: to Junk with $Junk and the flags */
		if (j->junk && !fl->explicit_keep && fl->keywords) {
			size_t n = strlen(fl->keywords) + 7;
			char *kw = own_string(j, malloc(n));
			if (!kw)
				return -ENOMEM;
			snprintf(kw, n, "$Junk %s", fl->keywords);
			e.keywords = kw;
		}
		struct entry_target t = {
		    .mailbox = fl->mailbox, .create = fl->create, .fallback = r->mailbox_id};
		if (add_entry_slot(a, &e, &t) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int add_redirects(struct deliver_job *j, int64_t account_id, const struct sieve_outcome *o)
{
	if (!o->nredirects)
		return 0;
	struct redirect *r = realloc(j->redirects, (j->nredirects + o->nredirects) * sizeof *r);
	if (!r)
		return -ENOMEM;
	j->redirects = r;
	struct store_account acct;
	bool known = store_account_get(store_reader(j->store), account_id, &acct) == 1;
	for (size_t k = 0; k < o->nredirects; k++) {
		struct redirect *d = &j->redirects[j->nredirects++];
		d->account_id = account_id;
		d->to = o->redirects[k];
		snprintf(d->from, sizeof d->from, "%s", known ? acct.address : "");
	}
	return 0;
}

static int add_vacation(struct deliver_job *j, int64_t account_id, const struct sieve_outcome *o)
{
	if (!o->vacation)
		return 0;
	const struct sieve_vacation_reply **v =
	    realloc(j->vacations, (j->nvacations + 1) * sizeof *v);
	if (v)
		j->vacations = v;
	int64_t *a = realloc(j->vacation_accounts, (j->nvacations + 1) * sizeof *a);
	if (a)
		j->vacation_accounts = a;
	if (!v || !a)
		return -ENOMEM;
	j->vacations[j->nvacations] = o->vacation;
	j->vacation_accounts[j->nvacations++] = account_id;
	return 0;
}

/* A reject with several recipients (RFC 5429 2.1): the message is
 * accepted for the others, and the sender gets a failure notice for this
 * one (never for <>). */
static int reject_notice(struct deliver_job *j, const struct sieve_outcome *outs, size_t n)
{
	struct dsn_rcpt *r = calloc(n, sizeof *r);
	char(*diag)[600] = calloc(n, sizeof *diag);
	size_t nr = 0;
	int rc = 0;
	if (!r || !diag) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (!outs[i].reject)
			continue;
		log_info("sieve event=rejected rcpt=%s reason=\"%.200s\"", j->rcpt_addrs[i],
		         outs[i].reject);
		snprintf(diag[nr], sizeof diag[nr], "smtp; 550 5.7.1 %.500s", outs[i].reject);
		for (char *p = diag[nr]; *p; p++)
			if ((unsigned char)*p < 0x20)
				*p = ' ';
		r[nr] = (struct dsn_rcpt){
		    .rcpt = j->rcpt_addrs[i],
		    .action = DSN_FAILED,
		    .status = "5.7.1",
		    .diagnostic = diag[nr],
		    .reason = outs[i].reject,
		};
		nr++;
	}
	if (!nr || !dsn_wanted(j->mail_from, NULL, DSN_FAILED))
		goto out;
	char postmaster[320];
	snprintf(postmaster, sizeof postmaster, "MAILER-DAEMON@%s", j->hostname);
	struct dsn_info info = {
	    .reporting_mta = j->hostname,
	    .postmaster = postmaster,
	    .to = j->mail_from,
	    .envid = j->envid,
	    .ret_full = false,
	    .arrival = (time_t)j->internal_date,
	    .original = j->local_data,
	    .original_len = j->local_len,
	    .rcpts = r,
	    .nrcpts = nr,
	};
	if (!(j->reject_dsn = dsn_build(&info, &j->reject_dsn_len)))
		rc = -ENOMEM;
out:
	free(r);
	free(diag);
	return rc;
}

/* Loop thread: the runs' outcomes become the job's entries, redirects,
 * vacation replies and reject notice. 1: the one recipient rejected the
 * message at SMTP time (the reason is in the caller's buffer); 0, or
 * -ENOMEM. */
static int apply_outcomes(struct deliver_job *j, const struct sieve_outcome *outs, size_t n)
{
	if (j->single_rcpt && n == 1 && outs[0].ran && outs[0].reject && j->reject_reason) {
		snprintf(j->reject_reason, j->reject_cap, "%s", outs[0].reject);
		log_info("sieve event=rejected rcpt=%s reason=\"%.200s\" at=smtp", j->rcpt_addrs[0],
		         outs[0].reject);
		return 1;
	}
	struct applied a = {0};
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct sieve_outcome *o = &outs[i];
		struct store_local_rcpt r = j->local[i];
		if (!o->ran) {
			struct entry_target t = {.fallback = r.mailbox_id};
			rc = add_entry_slot(&a, &r, &t);
			continue;
		}
		if ((rc = apply_filings(j, &a, &r, o)) == 0 &&
		    (rc = add_redirects(j, r.account_id, o)) == 0)
			rc = add_vacation(j, r.account_id, o);
	}
	if (rc == 0)
		rc = reject_notice(j, outs, n);
	if (rc < 0) {
		free(a.local);
		free(a.targets);
		return rc;
	}
	/* the result arrays follow the entries */
	size_t m = a.n ? a.n : 1;
	uint32_t *uids = calloc(m, sizeof *uids);
	int64_t *modseqs = calloc(m, sizeof *modseqs);
	int64_t *mbids = calloc(m, sizeof *mbids);
	if (!uids || !modseqs || !mbids) {
		free(uids);
		free(modseqs);
		free(mbids);
		free(a.local);
		free(a.targets);
		return -ENOMEM;
	}
	free(j->local);
	free(j->uids);
	free(j->modseqs);
	free(j->mbids);
	j->local = a.local;
	j->targets = a.targets;
	j->nlocal = a.n;
	j->uids = uids;
	j->modseqs = modseqs;
	j->mbids = mbids;
	return 0;
}

/* Loop thread: the runs are over. */
static void filtered(void *ud, struct sieve_filter *f, const struct sieve_outcome *outs, size_t n)
{
	struct deliver_job *j = ud;
	(void)f;
	int rc = apply_outcomes(j, outs, n);
	if (rc == 1) {
		j->done(j->ud, DELIVER_JOB_REJECTED);
		job_free(j);
		return;
	}
	if (rc < 0 || job_go(j) < 0) {
		j->done(j->ud, rc < 0 ? rc : -EIO);
		job_free(j);
	}
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
	j->arc_chain = q->arc_chain;
	j->reject_reason = q->reject_reason;
	j->reject_cap = q->reject_reason ? q->reject_cap : 0;
	j->single_rcpt = q->nrcpts == 1;
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
