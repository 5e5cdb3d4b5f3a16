/* sieve_apply: what the local recipients' Sieve runs (sieve_filter.h)
 * make of a submission job (job_int.h): on the loop, each recipient's
 * filings become entries (with their flags, keywords and junk rescue),
 * plus redirects, vacation replies and a reject notice; in the job's
 * transaction, fileinto's mailboxes are found or made and those extra
 * messages stored, so that a 250 still means all of it is committed. */
#include "deliver/job_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "relay/dsn.h"
#include "store/accounts.h"
#include "store/mailboxes.h"
#include "store/sieve.h"
#include "store/store.h"

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

int sieve_apply_in_tx(struct store_tx *tx, struct deliver_job *j)
{
	int rc = resolve_targets(tx, j);
	return rc < 0 ? rc : sieve_extras(tx, j);
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

/* Loop thread (job_int.h). */
int sieve_apply_outcomes(struct deliver_job *j, const struct sieve_outcome *outs, size_t n)
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
