/* judge: the mail authentication of an mx session (judge.h), run on the
 * loop alongside the SMTP dialogue so that little is left to wait for at
 * the end of DATA:
 *
 *   EHLO/HELO  SPF for the HELO identity starts;
 *   MAIL       SPF for MAIL FROM starts (the HELO result stands for <>),
 *              a DKIM verifier and an ARC verifier are made;
 *   DATA       every piece the spool takes is fed to both verifiers;
 *              once the header section is complete the key lookups of
 *              both start;
 *   end        the verifiers end; when SPF and every key have answered,
 *              DMARC starts with the From: domain; when it answers, the
 *              verdict (deliver, Junk, 550, 451) and the
 *              Authentication-Results field go to the session. A DMARC
 *              failure is not enforced when a trusted ARC sealer vouches
 *              for the message (RFC 8617 §7.2).
 *
 * A timer bounds the wait: check_timeout seconds after the end of the
 * message whatever is still pending is cancelled and counts as
 * temperror, so a dead resolver gives 451, never a hang and never a pass.
 * Every check is cancelled with the transaction (RSET, MAIL, HELO, QUIT,
 * close): no callback arrives afterwards. */
#include "proto/smtp/judge.h"
#include "proto/smtp/session.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/log.h"
#include "lib/metrics.h"
#include "mailauth/arc.h"
#include "mailauth/auth_results.h"
#include "mailauth/dkim.h"
#include "mailauth/dmarc.h"
#include "mailauth/netlist.h"
#include "mailauth/spf.h"
#include "mime/header.h"
#include "net/conn.h"
#include "proto/common/env.h"

struct key_query {
	struct smtp_judge *j;
	bool arc; /* an ARC key (arc_verify_key), else a DKIM key */
	size_t index;
	void *handle;
	bool pending;
};

struct smtp_judge {
	struct smtp_session *s;
	const struct smtp_settings *cfg;
	struct spf_resolver res;
	struct spf_ip ip;
	bool forwarder_ip; /* the client is in dmarc_trusted_forwarders */
	const struct netlist *forwarders;
	char authserv_id[256];
	const char *sealers[ARC_MAX_SEALERS]; /* [auth] arc_trusted_sealers, into sealer_names */
	size_t nsealers;
	char sealer_names[sizeof((struct smtp_settings *)0)->arc_sealers];

	/* HELO identity, per HELO/EHLO */
	struct spf_check *helo_check;
	bool helo_pending, helo_done;
	struct spf_outcome helo;

	/* the transaction */
	bool in_txn;
	struct spf_check *mail_check;
	bool mail_pending, mail_done;
	struct spf_outcome mail;
	struct dkim_verify *dkim;
	bool keys_started;
	size_t keys_pending;
	struct key_query keys[DKIM_VERIFY_MAX_SIGS];
	struct arc_verify *arc;
	bool arc_keys_started;
	size_t narc_keys;
	struct key_query *arc_keys; /* [narc_keys] */
	struct dmarc_check *dmarc_check;
	bool dmarc_started, dmarc_pending, dmarc_done;
	struct dmarc_outcome dmarc;
	char from_domain[256];
	int nfrom_domains; /* distinct From: domains; -1 unparsable */

	bool ending, expired, finishing;
	bool kick; /* the timer's first run: end-of-message work, from the loop */
	smtp_judged_fn done;
	uv_timer_t timer;
	bool timer_open;
	struct smtp_verdict verdict;
};

#define LOGJ(j, level, ...)                                                                        \
	do {                                                                                       \
		if (!(j)->s->closed)                                                               \
			log_session(level, conn_id((j)->s->c), conn_peer((j)->s->c), "smtp",       \
			            __VA_ARGS__);                                                  \
	} while (0)

static void try_finish(struct smtp_judge *j);

/* ---- SPF ---------------------------------------------------------------- */

static void helo_done(void *ud, const struct spf_outcome *o)
{
	struct smtp_judge *j = ud;
	j->helo_check = NULL;
	j->helo_pending = false;
	j->helo_done = true;
	j->helo = *o;
	try_finish(j);
}

static void mail_done(void *ud, const struct spf_outcome *o)
{
	struct smtp_judge *j = ud;
	j->mail_check = NULL;
	j->mail_pending = false;
	j->mail_done = true;
	j->mail = *o;
	try_finish(j);
}

static void timed_out_spf(struct spf_outcome *o)
{
	memset(o, 0, sizeof *o);
	o->result = SPF_TEMPERROR;
	snprintf(o->problem, sizeof o->problem, "DNS lookups did not end in time");
}

void smtp_judge_helo(struct smtp_session *s)
{
	struct smtp_judge *j = s->judge;
	if (!j)
		return;
	if (j->helo_check)
		spf_check_cancel(j->helo_check);
	j->helo_check = NULL;
	j->helo_pending = j->helo_done = false;
	if (!j->cfg->check_spf)
		return;
	struct spf_request req = {
	    .ip = j->ip, .mail_from = "", .helo = s->helo, .receiver = s->env->hostname};
	j->helo_pending = true;
	j->helo_check = spf_check_start(&j->res, &req, helo_done, j);
}

/* ---- DKIM keys ---------------------------------------------------------- */

static void key_answer(void *ud, const struct dns_answer *a)
{
	struct key_query *q = ud;
	struct smtp_judge *j = q->j;
	const char *txt[DKIM_KEY_TXT_MAX];
	size_t len[DKIM_KEY_TXT_MAX], n = 0;
	enum dkim_dns st = DKIM_DNS_TEMPFAIL;

	if (!q->pending)
		return;
	q->pending = false;
	q->handle = NULL;
	j->keys_pending--;
	if (a->status == DNS_Q_DATA) {
		st = DKIM_DNS_OK;
		for (size_t i = 0; i < a->nrrs && n < DKIM_KEY_TXT_MAX; i++) {
			txt[n] = a->rrs[i].text;
			len[n++] = a->rrs[i].len;
		}
	} else if (a->status == DNS_Q_NODATA || a->status == DNS_Q_NXDOMAIN) {
		st = DKIM_DNS_NOKEY;
	}
	if (q->arc)
		arc_verify_key(j->arc, q->index, st, txt, len, n);
	else
		dkim_verify_key(j->dkim, q->index, st, txt, len, n);
	try_finish(j);
}

static void start_keys(struct smtp_judge *j)
{
	j->keys_started = true;
	size_t n = dkim_verify_count(j->dkim);
	for (size_t i = 0; i < n && i < DKIM_VERIFY_MAX_SIGS; i++) {
		const char *name = dkim_verify_query(j->dkim, i);
		if (!name)
			continue;
		struct key_query *q = &j->keys[i];
		*q = (struct key_query){.j = j, .index = i, .pending = true};
		j->keys_pending++;
		void *h = j->res.query(j->res.ud, name, DNS_Q_TXT, key_answer, q);
		if (q->pending) {
			if (h) {
				q->handle = h;
			} else { /* could not start: a temporary failure */
				q->pending = false;
				j->keys_pending--;
				dkim_verify_key(j->dkim, i, DKIM_DNS_TEMPFAIL, NULL, NULL, 0);
			}
		}
	}
}

/* ARC's key lookups, once its verifier has the header section: the
 * same resolver and the same answer handler as DKIM's. */
static void start_arc_keys(struct smtp_judge *j)
{
	j->arc_keys_started = true;
	size_t n = arc_verify_query_count(j->arc);
	if (!n)
		return;
	j->arc_keys = calloc(n, sizeof *j->arc_keys);
	if (!j->arc_keys) {
		for (size_t i = 0; i < n; i++)
			arc_verify_key(j->arc, i, DKIM_DNS_TEMPFAIL, NULL, NULL, 0);
		return;
	}
	j->narc_keys = n;
	for (size_t i = 0; i < n; i++) {
		struct key_query *q = &j->arc_keys[i];
		*q = (struct key_query){.j = j, .arc = true, .index = i, .pending = true};
		j->keys_pending++;
		void *h =
		    j->res.query(j->res.ud, arc_verify_query(j->arc, i), DNS_Q_TXT, key_answer, q);
		if (q->pending) {
			if (h) {
				q->handle = h;
			} else {
				q->pending = false;
				j->keys_pending--;
				arc_verify_key(j->arc, i, DKIM_DNS_TEMPFAIL, NULL, NULL, 0);
			}
		}
	}
}

/* Stop one key query: true when it was still waiting for its answer. */
static bool cancel_query(struct smtp_judge *j, struct key_query *q)
{
	if (!q->pending)
		return false;
	if (q->handle)
		j->res.cancel(j->res.ud, q->handle);
	q->pending = false;
	q->handle = NULL;
	return true;
}

static void cancel_keys(struct smtp_judge *j, bool as_tempfail)
{
	for (size_t i = 0; i < DKIM_VERIFY_MAX_SIGS; i++)
		if (cancel_query(j, &j->keys[i]) && as_tempfail && j->dkim)
			dkim_verify_key(j->dkim, i, DKIM_DNS_TEMPFAIL, NULL, NULL, 0);
	for (size_t i = 0; i < j->narc_keys; i++)
		if (cancel_query(j, &j->arc_keys[i]) && as_tempfail && j->arc)
			arc_verify_key(j->arc, i, DKIM_DNS_TEMPFAIL, NULL, NULL, 0);
	j->keys_pending = 0;
}

void smtp_judge_body(struct smtp_session *s, const char *data, size_t len)
{
	struct smtp_judge *j = s->judge;
	if (!j || !len)
		return;
	if (j->dkim) {
		dkim_verify_feed(j->dkim, data, len);
		if (!j->keys_started && dkim_verify_headers_done(j->dkim))
			start_keys(j);
	}
	if (j->arc) {
		arc_verify_feed(j->arc, data, len);
		if (!j->arc_keys_started && arc_verify_headers_done(j->arc))
			start_arc_keys(j);
	}
}

/* ---- the From: domain (RFC 9989 5.3.1) --------------------------------- */

struct from_scan {
	struct smtp_judge *j;
	int n; /* distinct domains */
};

static int from_addr(void *ud, const char *addr, size_t len)
{
	struct from_scan *fs = ud;
	const char *at = NULL;
	for (size_t i = len; i > 0; i--)
		if (addr[i - 1] == '@') {
			at = addr + i - 1;
			break;
		}
	if (!at || at + 1 >= addr + len)
		return 0;
	size_t dlen = (size_t)(addr + len - at - 1);
	if (dlen >= sizeof fs->j->from_domain)
		return 0;
	if (fs->n == 0) {
		memcpy(fs->j->from_domain, at + 1, dlen);
		fs->j->from_domain[dlen] = '\0';
		fs->n = 1;
	} else if (strlen(fs->j->from_domain) != dlen ||
	           strncasecmp(fs->j->from_domain, at + 1, dlen) != 0) {
		fs->n = 2;
	}
	return 0;
}

static void find_from_domain(struct smtp_judge *j)
{
	const struct mime_spool *m = &j->s->txn.msg;
	struct from_scan fs = {.j = j};
	struct mime_field f;
	size_t pos = 0;
	j->from_domain[0] = '\0';
	while (m->buf && mime_field_next(m->buf, m->len, &pos, &f) == 1) {
		if (f.name_len == 4 && strncasecmp(f.name, "From", 4) == 0)
			mime_addr_specs(f.value, f.value_len, from_addr, &fs);
	}
	size_t n = strlen(j->from_domain);
	if (n && j->from_domain[n - 1] == '.')
		j->from_domain[n - 1] = '\0';
	j->nfrom_domains = fs.n;
}

/* ---- DMARC -------------------------------------------------------------- */

static void dmarc_done(void *ud, const struct dmarc_outcome *o)
{
	struct smtp_judge *j = ud;
	j->dmarc_check = NULL;
	j->dmarc_pending = false;
	j->dmarc_done = true;
	j->dmarc = *o;
	try_finish(j);
}

static void dmarc_set(struct smtp_judge *j, enum dmarc_result r, const char *problem)
{
	memset(&j->dmarc, 0, sizeof j->dmarc);
	j->dmarc.result = r;
	snprintf(j->dmarc.from_domain, sizeof j->dmarc.from_domain, "%s", j->from_domain);
	snprintf(j->dmarc.problem, sizeof j->dmarc.problem, "%s", problem);
	j->dmarc_done = true;
}

/* The SPF outcome DMARC uses: MAIL FROM's, or HELO's for <>. */
static const struct spf_outcome *spf_for_dmarc(const struct smtp_judge *j)
{
	if (j->s->txn.from.null)
		return j->helo_done ? &j->helo : NULL;
	return j->mail_done ? &j->mail : NULL;
}

static void start_dmarc(struct smtp_judge *j)
{
	j->dmarc_started = true;
	find_from_domain(j);
	if (j->nfrom_domains == 0) {
		dmarc_set(j, DMARC_NONE, "no From: domain");
		return;
	}
	if (j->nfrom_domains > 1) {
		dmarc_set(j, DMARC_NONE, "several From: domains");
		return;
	}
	if (j->expired) {
		dmarc_set(j, DMARC_TEMPERROR, "no time left for the policy lookup");
		return;
	}
	struct dmarc_input in = {.from_domain = j->from_domain, .spf = SPF_NONE, .spf_domain = ""};
	const struct spf_outcome *spf = spf_for_dmarc(j);
	if (spf) {
		in.spf = spf->result;
		in.spf_domain = spf->domain;
	}
	size_t n = j->dkim ? dkim_verify_count(j->dkim) : 0;
	for (size_t i = 0; i < n && in.ndkim < DMARC_MAX_DKIM; i++) {
		const struct dkim_sig_result *r = dkim_verify_result(j->dkim, i);
		if (!r || !r->domain[0])
			continue;
		in.dkim[in.ndkim].result = r->result;
		in.dkim[in.ndkim].domain = r->domain;
		in.ndkim++;
	}
	j->dmarc_pending = true;
	j->dmarc_check = dmarc_check_start(&j->res, &in, dmarc_done, j);
}

/* ---- the verdict -------------------------------------------------------- */

static bool forwarder(const struct smtp_judge *j)
{
	const struct netlist *l = j->forwarders;
	/* A HELO name counts only when SPF vouches for it: anyone can say
	 * any name. */
	bool helo_ok = j->helo_done && j->helo.result == SPF_PASS;
	return j->forwarder_ip || (l && helo_ok && netlist_has_name(l, j->s->helo));
}

/* RFC 8617 §7.2: does a trusted sealer vouch for a message that fails
 * DMARC? When it does, comment gets RFC 8617 §7.2.1's words for the
 * override ("arc=pass as[i].d=D as[i].s=S"). */
static bool arc_vouches(const struct smtp_judge *j, char *comment, size_t len)
{
	unsigned inst = 0;
	const char *why = "";
	if (!j->arc || !j->nsealers ||
	    !arc_trusted_override(j->arc, j->sealers, j->nsealers, &inst, &why))
		return false;
	const struct arc_instance *in = arc_verify_instance(j->arc, inst);
	if (!in)
		return false;
	snprintf(comment, len, "arc=pass as[%u].d=%s as[%u].s=%s", inst, in->seal_domain, inst,
	         in->seal_selector);
	return true;
}

/* Append the strings to the log fields (NULL ends the list). */
static void log_add(struct smtp_verdict *v, ...)
{
	va_list ap;
	va_start(ap, v);
	for (const char *p; (p = va_arg(ap, const char *));) {
		size_t n = strlen(v->log), k = strlen(p);
		if (n + k >= sizeof v->log)
			break;
		memcpy(v->log + n, p, k + 1);
	}
	va_end(ap);
}

static void decide(struct smtp_judge *j)
{
	struct smtp_verdict *v = &j->verdict;
	const struct smtp_settings *cfg = j->cfg;
	const struct spf_outcome *spf = NULL;
	struct auth_results ar = {.authserv_id = j->authserv_id};

	v->action = SMTP_JUDGE_DELIVER;
	v->arc = ARC_PENDING;
	v->reply[0] = v->log[0] = '\0';
	v->auth = (struct junk_auth){0};
	buf_reset(&v->fields);

	if (cfg->check_spf) {
		spf = spf_for_dmarc(j);
		ar.spf_checked = spf != NULL;
		if (spf) {
			v->auth.spf_checked = true;
			v->auth.spf = spf->result;
			ar.spf = spf->result;
			ar.spf_mail_from = j->s->txn.from.null ? "" : spf->sender;
			ar.spf_helo = j->s->helo;
			metric_add(MET_SPF_NONE + (int)spf->result, 1);
			log_add(v, "spf=", spf_result_name(spf->result), NULL);
		}
	}
	if (j->dkim) {
		size_t n = dkim_verify_count(j->dkim);
		ar.dkim_checked = true;
		log_add(v, v->log[0] ? " " : "", "dkim=", n ? "" : "none", NULL);
		if (!n)
			metric_add(MET_DKIM_NONE, 1);
		for (size_t i = 0; i < n; i++) {
			const struct dkim_sig_result *r = dkim_verify_result(j->dkim, i);
			/* RFC 6376 3.6.1 t=y: a signer's test is not held against it */
			if (r && r->result == DKIM_PASS)
				v->auth.dkim_pass++;
			else if (r && r->result == DKIM_FAIL && !r->testing)
				v->auth.dkim_fail++;
		}
		for (size_t i = 0; i < n && i < AUTH_RESULTS_MAX_DKIM; i++) {
			const struct dkim_sig_result *r = dkim_verify_result(j->dkim, i);
			ar.dkim[ar.ndkim++] = r;
			metric_add(MET_DKIM_NONE + (int)r->result, 1);
			log_add(v, i ? "," : "", dkim_result_name(r->result), NULL);
		}
	}
	const struct arc_result *arc = j->arc ? arc_verify_result(j->arc) : NULL;
	if (arc) {
		enum arc_status st = arc->status == ARC_PENDING ? ARC_NONE : arc->status;
		ar.arc_checked = true;
		ar.arc = st;
		v->arc = st;
		ar.arc_oldest_pass = arc->oldest_pass;
		ar.arc_remote_ip = conn_peer_ip(j->s->c);
		metric_add(MET_ARC_NONE + (int)st - (int)ARC_NONE, 1);
		log_add(v, v->log[0] ? " " : "", "arc=",
		        st == ARC_PASS   ? "pass"
		        : st == ARC_FAIL ? "fail"
		                         : "none",
		        NULL);
		if (st == ARC_FAIL && arc->reason && arc->reason[0]) {
			char esc[200];
			log_kv_escape(esc, sizeof esc, arc->reason, strlen(arc->reason));
			log_add(v, " arc_reason=", esc, NULL);
		}
	}
	char arc_comment[DKIM_NAME_MAX * 2 + 64] = "";
	if (j->dmarc_done) {
		const struct dmarc_outcome *o = &j->dmarc;
		ar.dmarc_checked = true;
		ar.dmarc = o->result;
		v->auth.dmarc_checked = true;
		v->auth.dmarc = o->result;
		ar.dmarc_from = o->from_domain[0] ? o->from_domain : j->from_domain;
		ar.dmarc_policy = o->policy_text[0] ? o->policy_text : NULL;
		metric_add(MET_DMARC_NONE + (int)o->result, 1);
		char esc[300];
		log_kv_escape(esc, sizeof esc, ar.dmarc_from, strlen(ar.dmarc_from));
		log_add(v, v->log[0] ? " " : "", "dmarc=", dmarc_result_name(o->result),
		        " from=", ar.dmarc_from[0] ? esc : "-", NULL);
		if (o->result == DMARC_FAIL)
			log_add(v, " dmarc_disposition=", dmarc_disposition_name(o->disposition),
			        NULL);
		const char *dom = o->policy_domain[0] ? o->policy_domain : ar.dmarc_from;
		if (o->result == DMARC_FAIL && o->disposition != DMARC_DISP_NONE && forwarder(j)) {
			metric_add(MET_DMARC_OVERRIDDEN, 1);
			log_add(v, " override=trusted_forwarder", NULL);
			v->auth.dmarc_excused = true;
		} else if (o->result == DMARC_FAIL && o->disposition != DMARC_DISP_NONE &&
		           arc_vouches(j, arc_comment, sizeof arc_comment)) {
			metric_add(MET_DMARC_OVERRIDDEN, 1);
			log_add(v, " override=arc", NULL);
			ar.dmarc_comment = arc_comment;
			v->auth.dmarc_excused = true;
		} else if (o->result == DMARC_FAIL && o->disposition == DMARC_DISP_REJECT &&
		           cfg->dmarc_reject) {
			v->action = SMTP_JUDGE_REJECT;
			snprintf(v->reply, sizeof v->reply,
			         "Message rejected: it fails the DMARC policy of %s", dom);
		} else if (o->result == DMARC_FAIL && o->disposition != DMARC_DISP_NONE) {
			if (o->disposition == DMARC_DISP_REJECT) {
				metric_add(MET_DMARC_OVERRIDDEN, 1);
				log_add(v, " override=dmarc_reject_off", NULL);
			}
			v->action = SMTP_JUDGE_JUNK;
		} else if (j->nfrom_domains > 1) {
			/* RFC 9989 11.5: several author domains are how a forger
			 * slips past DMARC; such mail is mostly abuse. */
			log_add(v, " from_domains=several", NULL);
			v->action = SMTP_JUDGE_JUNK;
		} else if (o->result == DMARC_TEMPERROR) {
			v->action = SMTP_JUDGE_TEMPFAIL;
			snprintf(v->reply, sizeof v->reply,
			         "DMARC policy of %s could not be checked now, try again later",
			         dom);
		}
	}
	/* p=none acts on nothing, but its failure weighs in the spam score
	 * (deliver.c): not when those we trust to break DMARC vouch. */
	if (j->dmarc_done && j->dmarc.result == DMARC_FAIL &&
	    j->dmarc.disposition == DMARC_DISP_NONE) {
		char unused[sizeof arc_comment];
		v->auth.dmarc_excused = forwarder(j) || arc_vouches(j, unused, sizeof unused);
	}
	switch (v->action) {
	case SMTP_JUDGE_REJECT:
		metric_add(MET_DMARC_REJECTED, 1);
		log_add(v, " action=reject", NULL);
		break;
	case SMTP_JUDGE_JUNK:
		metric_add(MET_DMARC_QUARANTINED, 1);
		log_add(v, " action=junk", NULL);
		break;
	case SMTP_JUDGE_TEMPFAIL:
		metric_add(MET_DMARC_DEFERRED, 1);
		log_add(v, " action=defer", NULL);
		break;
	default:
		break;
	}
	if (auth_results_format(&ar, &v->fields) < 0)
		buf_reset(&v->fields);
}

static void stop_timer(struct smtp_judge *j)
{
	if (j->timer_open)
		uv_timer_stop(&j->timer);
}

static void try_finish(struct smtp_judge *j)
{
	if (!j->ending || j->finishing)
		return;
	bool spf_wait =
	    j->cfg->check_spf && (j->s->txn.from.null ? j->helo_pending : j->mail_pending);
	if (spf_wait || j->keys_pending)
		return;
	if (j->cfg->check_dmarc && !j->dmarc_started) {
		start_dmarc(j);
		if (j->dmarc_pending)
			return;
	}
	if (j->dmarc_pending)
		return;
	j->finishing = true;
	stop_timer(j);
	decide(j);
	j->ending = false;
	smtp_judged_fn done = j->done;
	j->done = NULL;
	j->finishing = false;
	done(j->s, &j->verdict);
}

static void on_deadline(uv_timer_t *t)
{
	struct smtp_judge *j = t->data;
	if (j->kick) {
		j->kick = false;
		if (j->dkim) {
			dkim_verify_end(j->dkim);
			if (!j->keys_started)
				start_keys(j);
		}
		if (j->arc) {
			arc_verify_end(j->arc);
			if (!j->arc_keys_started)
				start_arc_keys(j);
		}
		j->ending = true;
		uv_timer_start(&j->timer, on_deadline, (uint64_t)j->cfg->check_timeout * 1000, 0);
		try_finish(j);
		return;
	}
	if (!j->ending)
		return;
	LOGJ(j, LOG_INFO,
	     "event=auth_timeout id=%s spf_pending=%d keys_pending=%zu dmarc_pending=%d",
	     j->s->txn.id, j->mail_pending || j->helo_pending, j->keys_pending, j->dmarc_pending);
	j->expired = true;
	j->finishing = true; /* no finish from the cancellations below */
	if (j->mail_pending) {
		spf_check_cancel(j->mail_check);
		j->mail_check = NULL;
		j->mail_pending = false;
		j->mail_done = true;
		timed_out_spf(&j->mail);
	}
	if (j->helo_pending && j->s->txn.from.null) {
		spf_check_cancel(j->helo_check);
		j->helo_check = NULL;
		j->helo_pending = false;
		j->helo_done = true;
		timed_out_spf(&j->helo);
	}
	cancel_keys(j, true);
	if (j->dmarc_pending) {
		dmarc_check_cancel(j->dmarc_check);
		j->dmarc_check = NULL;
		j->dmarc_pending = false;
		dmarc_set(j, DMARC_TEMPERROR, "DNS lookups did not end in time");
	}
	j->finishing = false;
	try_finish(j);
}

/* ---- the transaction ---------------------------------------------------- */

void smtp_judge_txn_reset(struct smtp_session *s)
{
	struct smtp_judge *j = s->judge;
	if (!j || !j->in_txn)
		return;
	if (j->mail_check)
		spf_check_cancel(j->mail_check);
	j->mail_check = NULL;
	j->mail_pending = j->mail_done = false;
	cancel_keys(j, false);
	dkim_verify_free(&j->dkim);
	j->keys_started = false;
	arc_verify_free(&j->arc);
	free(j->arc_keys);
	j->arc_keys = NULL;
	j->narc_keys = 0;
	j->arc_keys_started = false;
	if (j->dmarc_check)
		dmarc_check_cancel(j->dmarc_check);
	j->dmarc_check = NULL;
	j->dmarc_started = j->dmarc_pending = j->dmarc_done = false;
	j->ending = j->expired = j->finishing = j->kick = false;
	j->done = NULL;
	stop_timer(j);
	buf_free(&j->verdict.fields);
	j->in_txn = false;
}

void smtp_judge_mail(struct smtp_session *s)
{
	struct smtp_judge *j = s->judge;
	if (!j)
		return;
	smtp_judge_txn_reset(s);
	if (s->authenticated) /* mx_auth: the sender's own mail, not judged */
		return;
	j->in_txn = true;
	if (j->cfg->check_dkim) {
		j->dkim = dkim_verify_new((int64_t)time(NULL), DKIM_VERIFY_MAX_SIGS);
		j->arc = arc_verify_new((int64_t)time(NULL));
	}
	if (!j->cfg->check_spf || s->txn.from.null)
		return; /* <>: the HELO identity stands for it (RFC 7208 2.4) */
	struct spf_request req = {.ip = j->ip,
	                          .mail_from = s->txn.from.addr,
	                          .helo = s->helo,
	                          .receiver = s->env->hostname};
	j->mail_pending = true;
	j->mail_check = spf_check_start(&j->res, &req, mail_done, j);
}

bool smtp_judge_end(struct smtp_session *s, smtp_judged_fn done)
{
	struct smtp_judge *j = s->judge;
	if (!j || !j->in_txn)
		return false;
	if (!j->timer_open) {
		if (uv_timer_init(conn_loop(s->c), &j->timer) < 0)
			return false;
		j->timer.data = j;
		j->timer_open = true;
	}
	j->done = done;
	/* The rest runs from the loop: the answer never comes from inside
	 * the caller, even when every result is known already. */
	j->kick = true;
	uv_timer_start(&j->timer, on_deadline, 0, 0);
	return true;
}

/* ---- the session -------------------------------------------------------- */

int smtp_judge_start(struct smtp_session *s, const struct smtp_ctx *ctx)
{
	const struct smtp_settings *cfg = ctx->settings;
	if (ctx->submission || !ctx->dns ||
	    !(cfg->check_spf || cfg->check_dkim || cfg->check_dmarc))
		return 0;
	struct spf_ip ip;
	if (spf_ip_parse(conn_peer_ip(s->c), &ip) < 0)
		return 0;
	if (s->trusted_client) {
		log_session(LOG_DEBUG, conn_id(s->c), conn_peer(s->c), "smtp",
		            "event=auth_skipped reason=trusted_network");
		return 0;
	}
	struct smtp_judge *j = calloc(1, sizeof *j);
	if (!j)
		return -1;
	j->s = s;
	j->cfg = cfg;
	j->ip = ip;
	j->res = spf_resolver_dns(ctx->dns);
	j->forwarders = ctx->dmarc_forwarders;
	j->forwarder_ip = ctx->dmarc_forwarders && netlist_has_ip(ctx->dmarc_forwarders, &ip);
	char why[100];
	snprintf(j->sealer_names, sizeof j->sealer_names, "%s", cfg->arc_sealers);
	int nsealers =
	    arc_sealers_parse(j->sealer_names, j->sealers, ARC_MAX_SEALERS, why, sizeof why);
	j->nsealers = nsealers > 0 ? (size_t)nsealers : 0; /* config_validate() checked it */
	snprintf(j->authserv_id, sizeof j->authserv_id, "%s",
	         cfg->authserv_id[0] ? cfg->authserv_id
	                             : (s->env->hostname[0] ? s->env->hostname : "localhost"));
	s->judge = j;
	return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
	free(h->data);
}

void smtp_judge_free(struct smtp_session *s)
{
	struct smtp_judge *j = s->judge;
	if (!j)
		return;
	smtp_judge_txn_reset(s);
	if (j->helo_check)
		spf_check_cancel(j->helo_check);
	s->judge = NULL;
	if (j->timer_open) {
		uv_close((uv_handle_t *)&j->timer, on_timer_closed);
		return;
	}
	free(j);
}

/* ---- forged Authentication-Results -------------------------------------- */

/* Remove every header field of the spool that drop(f, ud) says to. */
static size_t strip_fields(struct mime_spool *m, bool (*drop)(const struct mime_field *, void *),
                           void *ud)
{
	size_t pos = 0, removed = 0;
	struct mime_field f;
	while (m->buf && pos < m->len) {
		size_t start = pos;
		if (mime_field_next(m->buf, m->len, &pos, &f) != 1)
			break;
		if (!drop(&f, ud))
			continue;
		memmove(m->buf + start, m->buf + pos, m->len - pos);
		m->len -= pos - start;
		pos = start;
		removed++;
	}
	return removed;
}

static bool named(const struct mime_field *f, const char *name)
{
	size_t n = strlen(name);
	return f->name_len == n && strncasecmp(f->name, name, n) == 0;
}

static bool ours(const struct mime_field *f, void *id)
{
	return named(f, "Authentication-Results") &&
	       auth_results_is_ours(f->value, f->value_len, id);
}

size_t smtp_judge_strip_ours(struct mime_spool *m, const char *id)
{
	return strip_fields(m, ours, (void *)id);
}

/* ---- forged spam verdicts ----------------------------------------------- */

static bool spam_field(const struct mime_field *f, void *ud)
{
	(void)ud;
	static const char *const names[] = {"X-Spam-Flag", "X-Spam-Score", "X-Spam-Status",
	                                    "X-Spam-Level", "X-Spam-Report"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (named(f, names[i]))
			return true;
	return false;
}

size_t smtp_judge_strip_spam_fields(struct mime_spool *m)
{
	return strip_fields(m, spam_field, NULL);
}
