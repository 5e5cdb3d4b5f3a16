/* submit: a whole submission in one call, for JMAP (submit.h). Built from
 * the same pieces SMTP's session uses one command at a time, so both
 * protocols refuse, resolve, sign and store alike. */
#include "deliver/submit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "deliver/job.h"
#include "deliver/rcpt.h"
#include "deliver/sender.h"
#include "deliver/trace.h"
#include "lib/log.h"
#include "store/accounts.h"
#include "store/store.h"

void submit_result_free(struct submit_result *res)
{
	free(res->rcpts);
	memset(res, 0, sizeof *res);
}

/* NUL, or a CR or LF that is not part of a CRLF: not a message the store
 * may keep (IMAP would serve it broken). */
static bool bad_line_ends(const char *msg, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = msg[i];
		if (c == '\0')
			return true;
		if (c == '\r' && (i + 1 == len || msg[i + 1] != '\n'))
			return true;
		if (c == '\n' && (i == 0 || msg[i - 1] != '\r'))
			return true;
	}
	return false;
}

/* Is r the same destination as one of the n before it (SMTP's RCPT
 * de-duplication: the same mailbox, or the same remote address)? */
static bool duplicate(const struct deliver_rcpt *rs, size_t n, const struct deliver_rcpt *r)
{
	for (size_t i = 0; i < n; i++) {
		if (rs[i].remote != r->remote)
			continue;
		if (r->remote ? strcasecmp(rs[i].addr, r->addr) == 0
		              : rs[i].mailbox_id == r->mailbox_id)
			return true;
	}
	return false;
}

/* The checks that need no store: counts, size, bytes. */
static enum deliver_status check_shape(const struct submit_req *q, const char **why)
{
	if (q->nrcpts == 0)
		return DELIVER_NO_RCPTS;
	if (q->max_rcpts && q->nrcpts > q->max_rcpts)
		return DELIVER_TOO_MANY_RCPTS;
	if (q->max_size && q->len > q->max_size)
		return DELIVER_TOO_BIG;
	if (!q->msg || q->len == 0) {
		*why = "Empty message";
		return DELIVER_BAD_MESSAGE;
	}
	if (bad_line_ends(q->msg, q->len)) {
		*why = "Message has NUL or bare CR/LF";
		return DELIVER_BAD_MESSAGE;
	}
	return DELIVER_OK;
}

/* Resolve every recipient (all of them, so the result names every refused
 * one); rs gets the distinct accepted ones, *nrs their count. */
static enum deliver_status resolve_all(const struct submit_req *q, struct submit_result *res,
                                       struct deliver_rcpt *rs, size_t *nrs)
{
	enum deliver_status first = DELIVER_OK;
	*nrs = 0;
	for (size_t i = 0; i < q->nrcpts; i++) {
		struct deliver_rcpt r;
		const char *addr = q->rcpts[i] ? q->rcpts[i] : "";
		enum deliver_status st = deliver_rcpt_resolve(q->store, addr, true, NULL, NULL, &r);
		res->rcpts[i].status = st;
		if (st != DELIVER_OK) {
			if (first == DELIVER_OK)
				first = st;
			continue;
		}
		res->rcpts[i].remote = r.remote;
		if (duplicate(rs, *nrs, &r)) {
			res->rcpts[i].duplicate = true;
			deliver_rcpt_free(&r);
			continue;
		}
		rs[(*nrs)++] = r;
	}
	return first;
}

/* The fields on top of the message: our Received:, then Message-ID: and
 * Date: when it has none. 0 when they do not fit. */
static size_t trace_prefix(const struct submit_req *q, const char *id, time_t now, char *out,
                           size_t cap)
{
	struct deliver_trace tr = {
	    .from = q->login,
	    .peer_ip = q->peer_ip,
	    .hostname = q->hostname,
	    .with = q->with ? q->with : "HTTP",
	    .id = id,
	    .now = now,
	};
	size_t n = deliver_received_format(out, cap, &tr);
	if (!n)
		return 0;
	return n + deliver_submission_headers(q->msg, q->len, q->hostname, id,
	                                      (uint64_t)q->account_id, now, out + n, cap - n);
}

enum deliver_status submit_start(const struct submit_req *q, struct submit_result *res,
                                 submit_done_fn done, void *ud)
{
	static unsigned serial;
	struct deliver_rcpt *rs = NULL;
	size_t nrs = 0;
	char prefix[1024];
	time_t now = time(NULL);
	enum deliver_status st;

	memset(res, 0, sizeof *res);
	snprintf(res->id, sizeof res->id, "s%llx.%u", (unsigned long long)now, ++serial);
	st = check_shape(q, &res->why);
	if (st != DELIVER_OK)
		goto out;
	if (!q->store) {
		st = DELIVER_STORE_FAIL;
		goto out;
	}
	const char *from = q->mail_from ? q->mail_from : "";
	st = deliver_sender_owned(q->store, q->account_id, from, strlen(from));
	if (st != DELIVER_OK) {
		if (st == DELIVER_NOT_OWNED)
			res->why = "Envelope sender not owned by authenticated user";
		goto out;
	}
	st = deliver_header_from_check(q->store, q->account_id, q->msg, q->len, &res->why);
	if (st != DELIVER_OK)
		goto out;
	/* An alias added a moment ago by the CLI counts (as at SMTP's MAIL). */
	store_rcpt_cache_check(q->store);
	res->rcpts = calloc(q->nrcpts, sizeof *res->rcpts);
	rs = calloc(q->nrcpts, sizeof *rs);
	if (!res->rcpts || !rs) {
		st = DELIVER_STORE_FAIL;
		goto out;
	}
	res->nrcpts = q->nrcpts;
	st = resolve_all(q, res, rs, &nrs);
	if (st != DELIVER_OK)
		goto out;
	size_t nprefix = trace_prefix(q, res->id, now, prefix, sizeof prefix);
	if (!nprefix) {
		st = DELIVER_STORE_FAIL;
		goto out;
	}
	struct deliver_job_req job = {
	    .store = q->store,
	    .hostname = q->hostname,
	    .origin = q->origin,
	    .now = now,
	    .mail_from = from,
	    .rcpts = rs,
	    .nrcpts = nrs,
	    .prefix = prefix,
	    .prefix_len = nprefix,
	    .msg = q->msg,
	    .len = q->len,
	    .dkim_sign = true,
	    .in_tx = q->in_tx,
	    .in_tx_ud = q->in_tx_ud,
	    .collect_account_id = q->account_id,
	};
	if (deliver_job_start(&job, done, ud) < 0)
		st = DELIVER_STORE_FAIL;
out:
	for (size_t i = 0; i < nrs; i++)
		deliver_rcpt_free(&rs[i]);
	free(rs);
	log_info("deliver event=submit id=%s account=%lld rcpts=%zu size=%zu status=%s", res->id,
	         (long long)q->account_id, q->nrcpts, q->len, deliver_status_name(st));
	res->status = st;
	return st;
}
