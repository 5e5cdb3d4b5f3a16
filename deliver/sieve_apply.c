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
#include "deliver/srs_key.h"

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

/* Writer thread: a redirect (RFC 5228 4.2) to a remote address: a queue
 * row from the SRS sender, with the ARC set on top when it was sealed. (A
 * local target's copy is an entry of the job: its own script ran.) */
static int store_redirect(struct store_tx *tx, struct deliver_job *j, const struct redirect *r)
{
	struct store_remote_rcpt remote = {.rcpt = r->to};
	struct store_delivery d = {
	    .data = r->data ? r->data : j->local_data + j->retpath_len,
	    .len = r->data ? r->len : j->local_len - j->retpath_len,
	    .mail_from = r->from,
	    .internal_date = j->internal_date,
	    .remote = &remote,
	    .nremote = 1,
	};
	int rc = store_deliver(tx, &d);
	if (rc == 0)
		log_info("sieve event=redirected account=%lld to=%s from=%s sealed=%s",
		         (long long)r->account_id, r->to, r->from[0] ? r->from : "<>",
		         r->data ? "yes" : "no");
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
static int add_entry_slot(struct applied_entries *a, const struct store_local_rcpt *r,
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
static int apply_filings(struct deliver_job *j, struct applied_entries *a,
                         const struct store_local_rcpt *r, const struct sieve_outcome *o)
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

static bool has_run(const struct deliver_job *j, int64_t account_id)
{
	for (size_t i = 0; i < j->nran; i++)
		if (j->ran[i] == account_id)
			return true;
	return false;
}

static int note_run(struct deliver_job *j, int64_t account_id)
{
	if (has_run(j, account_id))
		return 0;
	int64_t *r = realloc(j->ran, (j->nran + 1) * sizeof *r);
	if (!r)
		return -ENOMEM;
	j->ran = r;
	j->ran[j->nran++] = account_id;
	return 0;
}

/* A local target: its own script runs in the next round, unless it ran
 * already for this message (a loop between accounts) or the rounds are
 * used up; then the copy goes straight into the mailbox it resolved to. */
static int local_redirect(struct deliver_job *j, int64_t from_account, const char *to,
                          const struct store_rcpt *t)
{
	struct store_local_rcpt e = {.account_id = t->account_id, .mailbox_id = t->mailbox_id};
	if (has_run(j, t->account_id) || j->round >= SIEVE_MAX_REDIRECT_DEPTH) {
		log_info("sieve event=redirect_local account=%lld to=%s round=%u note=%s",
		         (long long)from_account, to, j->round,
		         has_run(j, t->account_id) ? "loop_stored_without_script"
		                                   : "depth_stored_without_script");
		struct entry_target tg = {.fallback = t->mailbox_id};
		return add_entry_slot(&j->applied, &e, &tg);
	}
	for (size_t i = 0; i < j->nnext; i++)
		if (j->next_local[i].account_id == t->account_id)
			return 0; /* two redirects to one account: one copy */
	struct store_local_rcpt *l = realloc(j->next_local, (j->nnext + 1) * sizeof *l);
	if (l)
		j->next_local = l;
	char **a = realloc(j->next_addrs, (j->nnext + 1) * sizeof *a);
	if (a)
		j->next_addrs = a;
	if (!l || !a || !(a[j->nnext] = strdup(to)))
		return -ENOMEM;
	l[j->nnext++] = e;
	log_info("sieve event=redirect_local account=%lld to=%s round=%u note=target_script",
	         (long long)from_account, to, j->round + 1);
	return 0;
}

/* The envelope sender of a remote redirect: SRS at the account's domain,
 * <> for <>, the account's address without a secret. */
static void redirect_sender(const struct deliver_job *j, const char *account, struct redirect *d)
{
	const struct srs_key *k = srs_key_get();
	const char *at = strrchr(account, '@');
	snprintf(d->domain, sizeof d->domain, "%s", at ? at + 1 : "");
	if (!j->mail_from[0]) {
		d->from[0] = '\0';
		return;
	}
	if (k && d->domain[0] &&
	    srs_forward(k, j->mail_from, d->domain, j->internal_date, d->from, sizeof d->from) == 0)
		return;
	snprintf(d->from, sizeof d->from, "%s", account);
}

/* Resolved on the loop, as RCPT is: a local target (an account, or an
 * alias of one) is a further round; a remote one (or an alias that
 * forwards) a queue row. */
static int add_redirects(struct deliver_job *j, int64_t account_id, const struct sieve_outcome *o)
{
	if (!o->nredirects)
		return 0;
	struct store_account acct;
	bool known = store_account_get(store_reader(j->store), account_id, &acct) == 1;
	for (size_t k = 0; k < o->nredirects; k++) {
		struct store_rcpt t;
		memset(&t, 0, sizeof t);
		int rc = store_resolve_rcpt_cached(j->store, o->redirects[k], &t);
		if (rc == STORE_RCPT_LOCAL) {
			if ((rc = local_redirect(j, account_id, o->redirects[k], &t)) < 0)
				return rc;
			continue;
		}
		if (rc != STORE_RCPT_REMOTE && rc != -ENOENT) {
			log_warn("sieve event=redirect_undeliverable account=%lld to=%s err=%d",
			         (long long)account_id, o->redirects[k], rc);
			continue;
		}
		struct redirect *r = realloc(j->redirects, (j->nredirects + 1) * sizeof *r);
		if (!r)
			return -ENOMEM;
		j->redirects = r;
		struct redirect *d = &j->redirects[j->nredirects];
		memset(d, 0, sizeof *d);
		d->account_id = account_id;
		d->to =
		    rc == STORE_RCPT_REMOTE ? own_string(j, strdup(t.address)) : o->redirects[k];
		if (!d->to)
			return -ENOMEM;
		redirect_sender(j, known ? acct.address : "", d);
		j->nredirects++;
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
static int reject_notice(struct deliver_job *j, const struct sieve_outcome *outs, size_t n,
                         char **addrs)
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
		log_info("sieve event=rejected rcpt=%s reason=\"%.200s\"", addrs[i],
		         outs[i].reject);
		snprintf(diag[nr], sizeof diag[nr], "smtp; 550 5.7.1 %.500s", outs[i].reject);
		for (char *p = diag[nr]; *p; p++)
			if ((unsigned char)*p < 0x20)
				*p = ' ';
		r[nr] = (struct dsn_rcpt){
		    .rcpt = addrs[i],
		    .action = DSN_FAILED,
		    .status = "5.7.1",
		    .diagnostic = diag[nr],
		    .reason = outs[i].reject,
		};
		nr++;
	}
	if (!nr || !dsn_wanted(j->mail_from, NULL, DSN_FAILED))
		goto out;
	if (j->reject_dsn) {
		/* a redirect target rejecting too: one notice per message */
		log_info("sieve event=reject_notice_skipped note=one_per_message");
		goto out;
	}
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
	const struct store_local_rcpt *rl = j->round ? j->round_local : j->local;
	char **addrs = j->round ? j->round_addrs : j->rcpt_addrs;
	if (j->round == 0 && j->single_rcpt && n == 1 && outs && outs[0].ran && outs[0].reject &&
	    j->reject_reason) {
		snprintf(j->reject_reason, j->reject_cap, "%s", outs[0].reject);
		log_info("sieve event=rejected rcpt=%s reason=\"%.200s\" at=smtp", addrs[0],
		         outs[0].reject);
		return 1;
	}
	j->applying = true;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct sieve_outcome *o = outs ? &outs[i] : NULL;
		struct store_local_rcpt r = rl[i];
		if ((rc = note_run(j, r.account_id)) < 0)
			break;
		if (!o || !o->ran) {
			struct entry_target t = {.fallback = r.mailbox_id};
			rc = add_entry_slot(&j->applied, &r, &t);
			continue;
		}
		if ((rc = apply_filings(j, &j->applied, &r, o)) == 0 &&
		    (rc = add_redirects(j, r.account_id, o)) == 0)
			rc = add_vacation(j, r.account_id, o);
	}
	if (rc == 0 && outs)
		rc = reject_notice(j, outs, n, addrs);
	return rc;
}

static void free_round(struct store_local_rcpt *local, char **addrs, size_t n)
{
	for (size_t i = 0; addrs && i < n; i++)
		free(addrs[i]);
	free(addrs);
	free(local);
}

int sieve_apply_next_round(struct deliver_job *j)
{
	free_round(j->round_local, j->round_addrs, j->nround);
	j->round_local = j->next_local;
	j->round_addrs = j->next_addrs;
	j->nround = j->nnext;
	j->next_local = NULL;
	j->next_addrs = NULL;
	j->nnext = 0;
	if (!j->nround)
		return 0;
	j->round++;
	return (int)j->nround;
}

void sieve_apply_free(struct deliver_job *j)
{
	free_round(j->round_local, j->round_addrs, j->nround);
	free_round(j->next_local, j->next_addrs, j->nnext);
	free(j->ran);
	free(j->applied.local);
	free(j->applied.targets);
	for (size_t i = 0; i < j->nredirects; i++)
		free(j->redirects[i].data);
	free(j->redirects);
}

int sieve_apply_finish(struct deliver_job *j)
{
	if (!j->applying)
		return 0;
	struct applied_entries *a = &j->applied;
	/* the result arrays follow the entries */
	size_t m = a->n ? a->n : 1;
	uint32_t *uids = calloc(m, sizeof *uids);
	int64_t *modseqs = calloc(m, sizeof *modseqs);
	int64_t *mbids = calloc(m, sizeof *mbids);
	if (!uids || !modseqs || !mbids) {
		free(uids);
		free(modseqs);
		free(mbids);
		return -ENOMEM;
	}
	free(j->local);
	free(j->uids);
	free(j->modseqs);
	free(j->mbids);
	j->local = a->local;
	j->targets = a->targets;
	j->nlocal = a->n;
	j->uids = uids;
	j->modseqs = modseqs;
	j->mbids = mbids;
	*a = (struct applied_entries){0};
	j->applying = false;
	return 0;
}
