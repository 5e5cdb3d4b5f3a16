/* deliver: from an SMTP transaction to the submission path (deliver/).
 *
 * What every submitter shares (recipient resolution, sender ownership, the
 * atomic store job with its two variants, DKIM signing, Message-ID:/Date:,
 * notifications and the relay kick) lives in the deliver/ floor, so that
 * JMAP submits exactly as SMTP does. What stays here is SMTP's own: the
 * mapping of deliver/'s statuses to SMTP replies, <postmaster>, the alias
 * forward's domain for ARC, the Received: field with SMTP's TCP-info, and
 * the mx listener's spam decisions (the built-in score, rspamd's headers,
 * the judge's Authentication-Results), passed to the job as data.
 *
 * Recipients are resolved at RCPT time, so a client learns about an
 * unknown user (550 5.1.1), a relay attempt (554 5.7.1) or a full mailbox
 * (452 4.2.2) at once, not after sending the body. The 250 is sent from the
 * job's completion, after COMMIT.
 *
 * The session keeps itself alive for the job (a reference) and hears of
 * the commit through the callback it passes to smtp_deliver_start(), so
 * this file calls nothing in session.c. */
#include "proto/smtp/session.h"
#include "lib/metrics.h"
#include "mailauth/junk_score.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deliver/job.h"
#include "deliver/rcpt.h"
#include "deliver/sender.h"
#include "deliver/trace.h"
#include "lib/log.h"
#include "net/conn.h"
#include "proto/common/env.h"
#include "store/store.h"

/* deliver/'s verdict in SMTP's words: the replies SMTP always sent. */
static enum smtp_reply_id reply_of(enum deliver_status st)
{
	switch (st) {
	case DELIVER_OK:
		return SMTP_R_OK;
	case DELIVER_NO_SUCH_USER:
		return SMTP_R_NO_SUCH_USER;
	case DELIVER_ALIAS_LOOP:
		return SMTP_R_ALIAS_LOOP;
	case DELIVER_BAD_ADDRESS:
		return SMTP_R_RCPT_SYNTAX;
	case DELIVER_RELAY_DENIED:
		return SMTP_R_RELAY_DENIED;
	case DELIVER_MAILBOX_FULL:
		return SMTP_R_MAILBOX_FULL;
	case DELIVER_NOT_OWNED:
		return SMTP_R_NOT_OWNED;
	case DELIVER_TOO_MANY_RCPTS:
		return SMTP_R_TOO_MANY_RCPTS;
	case DELIVER_TOO_BIG:
		return SMTP_R_TOO_BIG;
	case DELIVER_BAD_MESSAGE:
		return SMTP_R_BAD_CONTENT;
	case DELIVER_NO_RCPTS:
	case DELIVER_STORE_FAIL:
		break;
	}
	return SMTP_R_STORE_FAIL;
}

enum smtp_reply_id smtp_rcpt_resolve(struct smtp_session *s, const struct smtp_path *p,
                                     const struct smtp_rcpt_params *rp, struct deliver_rcpt *out)
{
	char addr[SMTP_PATH_MAX + 300];

	memset(out, 0, sizeof *out);
	if (!s->env->store)
		return SMTP_R_STORE_FAIL;
	if (p->postmaster)
		snprintf(addr, sizeof addr, "postmaster@%s", s->env->domain);
	else
		snprintf(addr, sizeof addr, "%s", p->addr);
	enum deliver_status st = deliver_rcpt_resolve(s->env->store, addr, s->authenticated,
	                                              rp->notify ? rp->notify_str : NULL,
	                                              rp->has_orcpt ? rp->orcpt : NULL, out);
	if (st != DELIVER_OK)
		return reply_of(st);
	/* The first alias that forwards elsewhere names the domain that
	 * ARC-seals the forwarded copy. */
	const char *at = strrchr(addr, '@');
	if (out->forwarded && at && !s->txn.forward_domain[0])
		snprintf(s->txn.forward_domain, sizeof s->txn.forward_domain, "%s", at + 1);
	return SMTP_R_OK;
}

enum smtp_reply_id smtp_sender_owned(struct smtp_session *s, const char *addr, size_t len)
{
	return reply_of(deliver_sender_owned(s->env->store, s->acct.account_id, addr, len));
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
	char received[2048], extra[512];
	size_t nrecv, nextra = 0;
	time_t now = time(NULL);

	if (s->authenticated) {
		enum deliver_status st = deliver_header_from_check(
		    s->env->store, s->acct.account_id, t->msg.buf, t->msg.len, why);
		if (st != DELIVER_OK)
			return reply_of(st);
		uint64_t salt = ((uint64_t)conn_id(s->c) << 20) ^ s->ntxn;
		nextra = deliver_submission_headers(t->msg.buf, t->msg.len, s->env->hostname, t->id,
		                                    salt, now, extra, sizeof extra);
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

	/* judged mail: the chain status and results go with the job, for an
	 * alias's forward (arc_domain) and for a Sieve redirect's seal */
	bool judged = !s->authenticated && t->arc_chain && t->auth_fields && t->auth_fields->len;
	bool arc = judged && t->forward_domain[0];
	struct deliver_job_req q = {
	    .store = s->env->store,
	    .hostname = s->env->hostname,
	    .origin = conn_id(s->c),
	    .now = now,
	    .mail_from = t->from.null ? "" : t->from.addr,
	    .ret = t->params.ret == SMTP_RET_FULL   ? "FULL"
	           : t->params.ret == SMTP_RET_HDRS ? "HDRS"
	                                            : NULL,
	    .envid = t->params.has_envid ? t->params.envid : NULL,
	    .rcpts = t->rcpts,
	    .nrcpts = t->nrcpts,
	    .prefix = prefix.data,
	    .prefix_len = prefix.len,
	    .msg = t->msg.buf,
	    .len = t->msg.len,
	    .junk = t->junk || score_junk || t->spam_flag,
	    .dkim_sign = s->authenticated,
	    .arc_domain = arc ? t->forward_domain : NULL,
	    .arc_chain = (enum arc_status)t->arc_chain,
	    .arc_authres = judged ? t->auth_fields->data : NULL,
	    .arc_authres_len = judged ? t->auth_fields->len : 0,
	    .reject_reason = t->sieve_reason,
	    .reject_cap = sizeof t->sieve_reason,
	    .collect_account_id = s->authenticated ? s->acct.account_id : 0,
	};
	t->sieve_reason[0] = '\0';
	int rc = deliver_job_start(&q, done, ud);
	buf_free(&prefix);
	if (rc < 0)
		return SMTP_R_STORE_FAIL;
	/* The job has its copies: give the spool's memory back now. */
	size_t msg_len = t->msg.len;
	mime_spool_free(&t->msg);
	t->msg.len = msg_len; /* kept for the log line */
	return SMTP_R_OK;
}
