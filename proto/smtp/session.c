/* session: the SMTP server state machine (RFC 5321, 6409, 3207, 4954,
 * 3030, 2920, 1870, 6152, 6531, 3461, 2034).
 *
 * Why it is built this way
 * ------------------------
 * An SMTP server is attacked through its sequencing more than through its
 * parsing: commands pipelined behind STARTTLS (CVE-2011-0411), a body that
 * ends early on a bare LF (smuggling), replies that come back out of order
 * when one command waits on the disk, an early talker that fires a whole
 * transaction before it has heard the greeting. So the session is an
 * explicit `enum smtp_state`, changed only by smtp_enter_state() (which logs
 * every change), and every verb goes through one table, commands[], that
 * pairs it with the states it is valid in, a `check` step (parse and
 * policy: may only refuse, changes nothing) and a `proceed` step (acts and
 * replies). A verb outside its states gets 503 from the table, never from
 * scattered ifs. Replies come from the one table in replies.c.
 *
 * Ordering: input is delivered one line at a time by conn. Whenever the
 * session waits on something asynchronous (the password check, the store
 * commit) it pauses the conn, so the next pipelined command is not even
 * parsed until the reply it must follow has been queued. The 250 for a
 * message is sent only from the store completion, after COMMIT.
 *
 * Senders: an authenticated session relays, so it may only send as an
 * address its account owns (the envelope sender at MAIL, every header
 * From: at end of data, deliver.c). That rule follows authentication, not
 * the listener: were it tied to submission listeners, AUTH on an mx
 * listener would relay mail from anyone for anyone who has an account.
 * AUTH itself is offered on submission listeners, and on mx listeners
 * only with [smtp] mx_auth (off by default, as Postfix's
 * smtpd_sasl_auth_enable): people submit on 587/465, and port 25 gives a
 * password guesser nothing to try.
 *
 * Lifetime: the session is reference counted. The conn holds one reference
 * (dropped in its `closed` callback), a pending auth check one, a pending
 * store job one, the greeting timer one (dropped in its uv_close callback).
 * After `closed`, `s->closed` is set and nothing may touch s->c; a store
 * completion that arrives later still publishes its notifications (the
 * mail is delivered) but sends nothing.
 *
 * BURL (RFC 4468): on a submission listener an authenticated client may
 * send, in place of DATA or between BDAT chunks, the URLAUTH URL of a
 * message (or part) in its IMAP mailboxes. tern is the IMAP server too,
 * so the URL is checked and read here, from the same store
 * (mailurl/urlauth.h), never over a connection; only URLs that name this
 * server's host name are taken.
 *
 * States
 * ------
 *       (greeting delay, skipped by a greet pass; input here = early talker
 *        -> 554, close; the timer grants the address a pass)
 *   GREETING --timer--> CONNECTED --HELO/EHLO--> READY <-----------------+
 *                          ^                       |  \                  |
 *        STARTTLS ok       |            AUTH ---> AUTH --> AUTH_CHECK ---+
 *   TLS -------------------+              |                              |
 *    ^ STARTTLS (CONNECTED/READY)         MAIL                           |
 *                                          v                             |
 *                                        MAIL --RCPT--> RCPT --DATA--> DATA
 *                                                        |  \            |
 *                                                        |   BDAT --> BDAT_WAIT
 *                                                        |    ^  <--BDAT-/ |
 *                                                        v    last chunk   |
 *                                                      COMMIT <------------+
 *                                                        | store done: 250/451
 *                                                        +----> READY
 *   RSET / HELO / EHLO: back to READY (CONNECTED if no HELO yet).
 *   QUIT, 421 (timeout, shutdown, too many errors): CLOSING.
 */
#include "proto/smtp/session.h"
#include "lib/metrics.h"
#include "proto/smtp/greet_pass.h"
#include "proto/smtp/rspamd_check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "deliver/job.h"
#include "proto/common/env.h"
#include "proto/common/session.h"
#include "net/conn.h"
#include "lib/log.h"
#include "mailurl/url.h"
#include "mailurl/urlauth.h"
#include "store/accounts.h"
#include "store/store.h"
#include "mailauth/netlist.h"
#include "mailauth/spf.h"

/* Input before the greeting is an early talker. Real clients wait for the
 * 220; spam bots often do not. Only the MX listener pays this delay, and
 * only until its client has waited once: the addresses that did are
 * greeted at once for [smtp] greet_pass_ttl (greet_pass.h). One table
 * for the process, shared by every mx listener, made when the first pass
 * is earned. */
static struct smtp_greet_pass *greet_passes;

static const char *const state_names[SMTP_S_COUNT] = {
    [SMTP_S_GREETING] = "greeting", [SMTP_S_CONNECTED] = "connected",
    [SMTP_S_READY] = "ready",       [SMTP_S_MAIL] = "mail",
    [SMTP_S_RCPT] = "rcpt",         [SMTP_S_DATA] = "data",
    [SMTP_S_BDAT] = "bdat",         [SMTP_S_BDAT_WAIT] = "bdat_wait",
    [SMTP_S_AUTH] = "auth",         [SMTP_S_AUTH_CHECK] = "auth_check",
    [SMTP_S_JUDGE] = "judge",       [SMTP_S_COMMIT] = "commit",
    [SMTP_S_TLS] = "tls",           [SMTP_S_CLOSING] = "closing",
};

#define LOGS(s, level, ...)                                                                        \
	do {                                                                                       \
		if (!(s)->closed)                                                                  \
			log_session(level, conn_id((s)->c), conn_peer((s)->c), "smtp",             \
			            __VA_ARGS__);                                                  \
	} while (0)

static void smtp_enter_state(struct smtp_session *s, enum smtp_state to)
{
	if (s->state == to)
		return;
	LOGS(s, LOG_DEBUG, "event=state from=%s to=%s", state_names[s->state], state_names[to]);
	s->state = to;
}

static void smtp_txn_reset(struct smtp_session *s);

static void smtp_session_ref(struct smtp_session *s)
{
	s->refs++;
}

static void smtp_session_unref(struct smtp_session *s)
{
	if (--s->refs > 0)
		return;
	smtp_txn_reset(s);
	sasl_clear(&s->sasl);
	mx_reputation_cancel(s->rep);
	free(s->rep);
	free(s);
}

static void close_session(struct smtp_session *s)
{
	smtp_enter_state(s, SMTP_S_CLOSING);
	conn_close(s->c);
}

static void smtp_reply(struct smtp_session *s, enum smtp_reply_id id, const char *detail)
{
	char buf[1100];
	const struct smtp_reply_def *d = smtp_reply_def(id);

	if (s->closed || s->state == SMTP_S_CLOSING)
		return;
	size_t n = smtp_reply_format(buf, sizeof buf, id, detail);
	conn_write(s->c, buf, n);
	if (d->code >= 200 && d->code < 600)
		metric_add(MET_SMTP_REPLY_2 + d->code / 100 - 2, 1);
	if (d->code >= 500) {
		s->errors++;
		LOGS(s, LOG_INFO, "event=reply code=%d enh=%s errors=%d", d->code, d->enh,
		     s->errors);
	}
	if (d->code == 421 || id == SMTP_R_WRONG_PROTO || id == SMTP_R_EARLY_TALKER) {
		close_session(s);
		return;
	}
	if (d->code >= 500 && s->errors >= s->cfg->max_errors) {
		LOGS(s, LOG_WARN, "event=too_many_errors errors=%d", s->errors);
		n = smtp_reply_format(buf, sizeof buf, SMTP_R_TOO_MANY_ERRORS, NULL);
		conn_write(s->c, buf, n);
		close_session(s);
	}
}

/* Replies that carry the host name. */
static void reply_host(struct smtp_session *s, enum smtp_reply_id id, const char *text)
{
	char detail[600];
	snprintf(detail, sizeof detail, "%s %s",
	         s->env->hostname[0] ? s->env->hostname : "localhost", text);
	smtp_reply(s, id, detail);
}

static void smtp_txn_reset(struct smtp_session *s)
{
	struct smtp_txn *t = &s->txn;
	smtp_judge_txn_reset(s);
	for (size_t i = 0; i < t->nrcpts; i++)
		deliver_rcpt_free(&t->rcpts[i]);
	free(t->rcpts);
	mime_spool_free(&t->msg);
	memset(t, 0, sizeof *t);
}

/* Back to READY (or CONNECTED before any HELO) with no transaction. */
static void to_idle(struct smtp_session *s)
{
	smtp_txn_reset(s);
	smtp_enter_state(s, s->helo[0] ? SMTP_S_READY : SMTP_S_CONNECTED);
}

static uint64_t command_timeout_ms(const struct smtp_session *s)
{
	if (s->idle_timeout_ms)
		return s->idle_timeout_ms;
	return (uint64_t)s->cfg->timeout_command * 1000;
}

/* ---- commands ------------------------------------------------------- */

#define ST(x) (1u << SMTP_S_##x)
#define ST_LINE (ST(CONNECTED) | ST(READY) | ST(MAIL) | ST(RCPT) | ST(BDAT_WAIT))

/* The arguments a check step parsed, for its proceed step. */
struct cmd_ctx {
	const char *arg;
	size_t len;
	const char *detail; /* detail text for the check's error reply */
	struct smtp_path path;
	struct smtp_mail_params mp;
	struct smtp_rcpt_params rp;
	struct deliver_rcpt rcpt;
	enum sasl_mech mech;
	const char *initial;
	size_t initial_len;
	uint64_t bdat_size;
	bool bdat_last;
	struct mailurl *burl; /* BURL's URL, parsed */
};

struct smtp_command {
	const char *verb;
	unsigned states;     /* where the verb is in sequence */
	const char *seq_msg; /* the 503 text otherwise */
	enum smtp_reply_id (*check)(struct smtp_session *s, struct cmd_ctx *x);
	void (*proceed)(struct smtp_session *s, struct cmd_ctx *x);
};

static bool printable_token(const char *p, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] <= 32 || (unsigned char)p[i] >= 127)
			return false;
	return true;
}

static enum smtp_reply_id check_no_arg(struct smtp_session *s, struct cmd_ctx *x)
{
	return x->len ? SMTP_R_SYNTAX : SMTP_R_OK;
}

static enum smtp_reply_id check_any(struct smtp_session *s, struct cmd_ctx *x)
{
	return SMTP_R_OK;
}

/* HELO / EHLO */
static enum smtp_reply_id check_helo(struct smtp_session *s, struct cmd_ctx *x)
{
	if (!printable_token(x->arg, x->len) || x->len >= sizeof s->helo) {
		x->detail = "Syntax: EHLO hostname";
		return SMTP_R_SYNTAX;
	}
	return SMTP_R_OK;
}

static void set_helo(struct smtp_session *s, struct cmd_ctx *x, bool esmtp)
{
	char esc[300];
	smtp_txn_reset(s);
	memcpy(s->helo, x->arg, x->len);
	s->helo[x->len] = '\0';
	s->esmtp = esmtp;
	smtp_enter_state(s, SMTP_S_READY);
	smtp_judge_helo(s);
	LOGS(s, LOG_DEBUG, "event=%s name=%s", esmtp ? "ehlo" : "helo",
	     log_kv_escape(esc, sizeof esc, x->arg, x->len));
}

static void proceed_helo(struct smtp_session *s, struct cmd_ctx *x)
{
	set_helo(s, x, false);
	smtp_reply(s, SMTP_R_HELO, s->env->hostname[0] ? s->env->hostname : "localhost");
}

/* What EHLO lists, and HELP with it. */
static bool starttls_offered(const struct smtp_session *s)
{
	return !conn_is_tls(s->c) && conn_tls_available(s->c);
}

static bool auth_advertised(const struct smtp_session *s)
{
	return s->auth_offered && proto_auth_allowed(s->env, s->c) && !s->authenticated;
}

/* BURL: to authenticated sessions of a submission listener, whose URLs
 * this process can resolve (it has the store IMAP serves). */
static bool burl_offered(const struct smtp_session *s)
{
	return s->submission && s->authenticated && s->env->store;
}

static void proceed_ehlo(struct smtp_session *s, struct cmd_ctx *x)
{
	char buf[1024];
	size_t n = 0;
	const char *lines[16];
	char size_line[40], host_line[300];
	size_t nl = 0;

	set_helo(s, x, true);
	snprintf(host_line, sizeof host_line, "%s",
	         s->env->hostname[0] ? s->env->hostname : "localhost");
	snprintf(size_line, sizeof size_line, "SIZE %lld", (long long)s->cfg->max_message_size);
	lines[nl++] = host_line;
	lines[nl++] = size_line;
	lines[nl++] = "PIPELINING";
	lines[nl++] = "8BITMIME";
	lines[nl++] = "SMTPUTF8";
	lines[nl++] = "ENHANCEDSTATUSCODES";
	lines[nl++] = "CHUNKING";
	lines[nl++] = "DSN";
	if (starttls_offered(s))
		lines[nl++] = "STARTTLS";
	char auth_line_buf[200];
	if (auth_advertised(s)) {
		unsigned char cb[SASL_CB_MAX];
		size_t cblen = 0;
		bool plus = conn_channel_binding(s->c, cb, sizeof cb, &cblen) != NULL;
		explicit_bzero(cb, sizeof cb);
		memcpy(auth_line_buf, "AUTH ", 5);
		sasl_mech_list_sep(plus, " ", auth_line_buf + 5, sizeof auth_line_buf - 5);
		lines[nl++] = auth_line_buf;
	}
	if (burl_offered(s))
		lines[nl++] = "BURL imap";
	lines[nl++] = "HELP";
	for (size_t i = 0; i < nl; i++) {
		int w = snprintf(buf + n, sizeof buf - n, "250%c%s\r\n", i + 1 < nl ? '-' : ' ',
		                 lines[i]);
		if (w < 0 || (size_t)w >= sizeof buf - n)
			break;
		n += (size_t)w;
	}
	conn_write(s->c, buf, n);
}

/* MAIL FROM:<path> [params] */
static enum smtp_reply_id parse_path_arg(const char *prefix, struct cmd_ctx *x, unsigned flags,
                                         size_t *rest)
{
	size_t plen = strlen(prefix), i, end;
	int rc;

	if (x->len < plen || strncasecmp(x->arg, prefix, plen) != 0) {
		x->detail = plen == 5 ? "Syntax: MAIL FROM:<address>" : "Syntax: RCPT TO:<address>";
		return SMTP_R_SYNTAX;
	}
	i = plen;
	while (i < x->len && x->arg[i] == ' ') /* "MAIL FROM: <a@b>" is common */
		i++;
	rc = smtp_path_parse(x->arg + i, x->len - i, flags, &x->path, &end);
	bool sender = plen == 5;
	switch (rc) {
	case SMTP_ADDR_OK:
		break;
	case SMTP_ADDR_EUTF8:
		return SMTP_R_UTF8_REQUIRED;
	case SMTP_ADDR_ELOCAL:
	case SMTP_ADDR_EDOMAIN:
	case SMTP_ADDR_EPATH:
		x->detail = sender ? "Sender address too long" : "Recipient address too long";
		return sender ? SMTP_R_SENDER_SYNTAX : SMTP_R_RCPT_SYNTAX;
	default:
		return sender ? SMTP_R_SENDER_SYNTAX : SMTP_R_RCPT_SYNTAX;
	}
	i += end;
	if (i < x->len && x->arg[i] != ' ')
		return sender ? SMTP_R_SENDER_SYNTAX : SMTP_R_RCPT_SYNTAX;
	*rest = i;
	return SMTP_R_OK;
}

/* The reply for a MAIL/RCPT parameter parse result. */
static enum smtp_reply_id param_reply(int parse_result)
{
	switch (parse_result) {
	case SMTP_PARAM_OK:
		return SMTP_R_OK;
	case SMTP_PARAM_EUNKNOWN:
		return SMTP_R_PARAM_UNKNOWN;
	default:
		return SMTP_R_SYNTAX;
	}
}

static enum smtp_reply_id check_mail(struct smtp_session *s, struct cmd_ctx *x)
{
	size_t rest;
	const char *bad;
	enum smtp_reply_id r;

	if (s->env->stopping)
		return SMTP_R_SHUTDOWN;
	if (s->submission && !s->authenticated)
		return SMTP_R_AUTH_REQUIRED;
	r = parse_path_arg("FROM:", x, SMTP_PATH_NULL_OK | SMTP_PATH_LENIENT | SMTP_PATH_UTF8,
	                   &rest);
	if (r != SMTP_R_OK)
		return r;
	r = param_reply(smtp_mail_params_parse(x->arg + rest, x->len - rest, &x->mp, &bad));
	if (r != SMTP_R_OK)
		return r;
	if (x->path.utf8 && !x->mp.smtputf8)
		return SMTP_R_UTF8_REQUIRED;
	if (x->mp.has_size && x->mp.size > (uint64_t)s->cfg->max_message_size)
		return SMTP_R_TOO_BIG;
	/* Any authenticated session, whatever the listener (see the top). */
	if (s->authenticated) {
		if (x->path.null)
			return SMTP_R_NOT_OWNED;
		r = smtp_sender_owned(s, x->path.addr, strlen(x->path.addr));
		if (r != SMTP_R_OK)
			return r;
	}
	return SMTP_R_OK;
}

static void proceed_mail(struct smtp_session *s, struct cmd_ctx *x)
{
	char esc[600];
	smtp_txn_reset(s);
	s->txn.from = x->path;
	s->txn.params = x->mp;
	s->ntxn++;
	snprintf(s->txn.id, sizeof s->txn.id, "%llx.%llu", (unsigned long long)conn_id(s->c),
	         (unsigned long long)s->ntxn);
	smtp_enter_state(s, SMTP_S_MAIL);
	smtp_judge_mail(s);
	/* The transaction's recipients resolve against the directory as of
	 * now: an alias added a moment ago by the CLI counts. */
	if (s->env->store)
		store_rcpt_cache_check(s->env->store);
	LOGS(s, LOG_INFO, "event=mail id=%s from=%s size=%llu", s->txn.id,
	     log_kv_escape(esc, sizeof esc, x->path.addr, strlen(x->path.addr)),
	     (unsigned long long)x->mp.size);
	smtp_reply(s, SMTP_R_SENDER_OK, NULL);
}

static enum smtp_reply_id check_rcpt(struct smtp_session *s, struct cmd_ctx *x)
{
	size_t rest;
	const char *bad;
	enum smtp_reply_id r;

	r = parse_path_arg("TO:", x, SMTP_PATH_LENIENT | SMTP_PATH_UTF8 | SMTP_PATH_POSTMASTER,
	                   &rest);
	if (r != SMTP_R_OK)
		return r;
	r = param_reply(smtp_rcpt_params_parse(x->arg + rest, x->len - rest, &x->rp, &bad));
	if (r != SMTP_R_OK)
		return r;
	if (x->path.utf8 && !s->txn.params.smtputf8)
		return SMTP_R_UTF8_REQUIRED;
	if (s->txn.naccepted >= (size_t)s->cfg->max_recipients)
		return SMTP_R_TOO_MANY_RCPTS;
	/* A client a blocklist names is refused at RCPT, as Postfix's
	 * postscreen does: the sender's log then shows whom it could not
	 * reach, and the answers had the whole greeting to arrive. */
	if (!s->authenticated &&
	    mx_reputation_reject(s->rep, s->rep_detail, sizeof s->rep_detail)) {
		x->detail = s->rep_detail;
		return SMTP_R_LISTED;
	}
	return smtp_rcpt_resolve(s, &x->path, &x->rp, &x->rcpt);
}

static void proceed_rcpt(struct smtp_session *s, struct cmd_ctx *x)
{
	struct smtp_txn *t = &s->txn;
	char esc[600];
	bool dup = false;

	for (size_t i = 0; i < t->nrcpts && !dup; i++) {
		struct deliver_rcpt *o = &t->rcpts[i];
		if (o->remote != x->rcpt.remote)
			continue;
		if (o->remote)
			dup = strcasecmp(o->addr, x->rcpt.addr) == 0;
		else
			dup = o->mailbox_id == x->rcpt.mailbox_id;
	}
	if (!dup && t->nrcpts == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 4;
		struct deliver_rcpt *nr = realloc(t->rcpts, cap * sizeof *nr);
		if (!nr) {
			deliver_rcpt_free(&x->rcpt);
			smtp_reply(s, SMTP_R_STORE_FAIL, NULL);
			return;
		}
		t->rcpts = nr;
		t->cap = cap;
	}
	LOGS(s, LOG_INFO, "event=rcpt id=%s to=%s remote=%d dup=%d", t->id,
	     log_kv_escape(esc, sizeof esc, x->rcpt.addr, strlen(x->rcpt.addr)), x->rcpt.remote,
	     dup);
	if (dup)
		deliver_rcpt_free(&x->rcpt);
	else
		t->rcpts[t->nrcpts++] = x->rcpt;
	memset(&x->rcpt, 0, sizeof x->rcpt);
	t->naccepted++;
	smtp_enter_state(s, SMTP_S_RCPT);
	smtp_reply(s, SMTP_R_RCPT_OK, NULL);
}

static void start_body(struct smtp_session *s)
{
	if (!s->txn.msg_started) {
		mime_spool_init(&s->txn.msg, (size_t)s->cfg->max_message_size,
		                s->cfg->bare_newline == SMTP_BARE_NEWLINE_NORMALIZE);
		s->txn.msg_started = true;
	}
	conn_set_idle_timeout(s->c, (uint64_t)s->cfg->timeout_data * 1000);
}

static void proceed_data(struct smtp_session *s, struct cmd_ctx *x)
{
	start_body(s);
	smtp_enter_state(s, SMTP_S_DATA);
	smtp_reply(s, SMTP_R_DATA_GO, NULL);
	conn_read_dot(s->c);
}

/* BDAT <size> [LAST]. Whatever the verdict, the chunk's bytes follow the
 * command and must be read (RFC 3030 3): the check only parses; sequence
 * and transaction errors are answered after the chunk. */
static enum smtp_reply_id check_bdat(struct smtp_session *s, struct cmd_ctx *x)
{
	size_t i = 0;
	uint64_t n = 0;

	while (i < x->len && x->arg[i] >= '0' && x->arg[i] <= '9') {
		if (n > (UINT64_MAX - 9) / 10)
			return SMTP_R_SYNTAX;
		n = n * 10 + (uint64_t)(x->arg[i] - '0');
		i++;
	}
	if (i == 0 || i > 20)
		return SMTP_R_SYNTAX;
	x->bdat_size = n;
	x->bdat_last = false;
	if (i < x->len) {
		if (x->len - i == 5 && strncasecmp(x->arg + i, " LAST", 5) == 0)
			x->bdat_last = true;
		else
			return SMTP_R_SYNTAX;
	}
	return SMTP_R_OK;
}

static void proceed_bdat(struct smtp_session *s, struct cmd_ctx *x)
{
	s->bdat_error = SMTP_R_OK;
	s->bdat_error_detail = NULL;
	s->bdat_return = s->state;
	s->bdat_size = x->bdat_size;
	s->bdat_last = x->bdat_last;
	if (s->state == SMTP_S_CONNECTED) {
		s->bdat_error = SMTP_R_BAD_SEQUENCE;
		s->bdat_error_detail = "Send HELO/EHLO first";
	} else if (s->state == SMTP_S_READY || s->state == SMTP_S_MAIL) {
		s->bdat_error = SMTP_R_BAD_SEQUENCE;
		s->bdat_error_detail = "Need RCPT before BDAT";
	} else {
		s->txn.bdat = true;
		start_body(s);
	}
	smtp_enter_state(s, SMTP_S_BDAT);
	conn_read_block(s->c, x->bdat_size);
}

static void end_of_data(struct smtp_session *s);

/* BURL <imap-url> [LAST]: only where EHLO offers it (elsewhere it is an
 * unknown command). The URL is parsed here; sequence errors and the
 * URL's checks are proceed_burl's. */
static enum smtp_reply_id check_burl(struct smtp_session *s, struct cmd_ctx *x)
{
	static struct mailurl u; /* the loop thread's: one command at a time */
	if (!s->submission || !s->env->store)
		return SMTP_R_UNKNOWN_CMD;
	if (!s->authenticated)
		return SMTP_R_AUTH_REQUIRED;
	size_t ulen = 0;
	while (ulen < x->len && x->arg[ulen] != ' ')
		ulen++;
	x->bdat_last = false;
	if (ulen < x->len) {
		if (x->len - ulen == 5 && strncasecmp(x->arg + ulen, " LAST", 5) == 0)
			x->bdat_last = true;
		else
			return SMTP_R_SYNTAX;
	}
	if (ulen == 0 || mailurl_parse(x->arg, ulen, &u) < 0) {
		x->detail = "Syntax: BURL imap-url [LAST]";
		return SMTP_R_SYNTAX;
	}
	x->len = ulen;
	x->burl = &u;
	return SMTP_R_OK;
}

static void proceed_burl(struct smtp_session *s, struct cmd_ctx *x)
{
	const struct mailurl *u = x->burl;
	if (s->state == SMTP_S_READY || s->state == SMTP_S_CONNECTED) {
		smtp_reply(s, SMTP_R_BAD_SEQUENCE, "Valid RCPT TO required before BURL");
		return;
	}
	if (s->state == SMTP_S_MAIL) { /* every RCPT failed: the URL is not read */
		to_idle(s);
		smtp_reply(s, SMTP_R_BURL_NO_RCPT, NULL);
		return;
	}
	enum smtp_reply_id r = SMTP_R_OK;
	const char *host = s->env->hostname[0] ? s->env->hostname : "localhost";
	struct buf data = {0};
	if (!u->has_server || strcasecmp(u->host, host) != 0) {
		r = SMTP_R_BURL_TRUST;
	} else {
		start_body(s);
		conn_set_idle_timeout(s->c, command_timeout_ms(s));
		struct mailurl_requester who = {.address = s->acct.address, .submit = true};
		size_t room =
		    s->txn.msg.max > s->txn.msg.seen ? s->txn.msg.max - s->txn.msg.seen : 0;
		int rc = mailurl_urlauth_fetch(store_reader(s->env->store), x->arg, x->len, u,
		                               (int64_t)time(NULL), &who, room, NULL, &data);
		if (rc == -EACCES)
			r = SMTP_R_BURL_AUTH;
		else if (rc == -E2BIG)
			r = SMTP_R_BURL_TOO_BIG;
		else if (rc < 0)
			r = SMTP_R_BURL_FAILED;
		else if (mime_spool_append(&s->txn.msg, data.data ? data.data : "", data.len) < 0 ||
		         s->txn.msg.no_space)
			r = SMTP_R_NO_SPACE;
		else if (mime_spool_too_big(&s->txn.msg))
			r = SMTP_R_BURL_TOO_BIG;
		LOGS(s, LOG_INFO, "event=burl id=%s bytes=%zu rc=%d", s->txn.id, data.len, rc);
	}
	buf_free(&data);
	if (r != SMTP_R_OK) { /* RFC 4468 3.2: the whole transaction fails */
		to_idle(s);
		smtp_reply(s, r, NULL);
		return;
	}
	s->txn.bdat = true;
	if (x->bdat_last) {
		end_of_data(s);
		return;
	}
	smtp_enter_state(s, SMTP_S_BDAT_WAIT);
	smtp_reply(s, SMTP_R_BURL_MORE, NULL);
}

static void proceed_rset(struct smtp_session *s, struct cmd_ctx *x)
{
	to_idle(s);
	smtp_reply(s, SMTP_R_OK, NULL);
}

static void proceed_noop(struct smtp_session *s, struct cmd_ctx *x)
{
	smtp_reply(s, SMTP_R_OK, NULL);
}

static void proceed_quit(struct smtp_session *s, struct cmd_ctx *x)
{
	smtp_reply(s, SMTP_R_BYE, NULL);
	close_session(s);
}

static enum smtp_reply_id check_vrfy(struct smtp_session *s, struct cmd_ctx *x)
{
	return x->len ? SMTP_R_OK : SMTP_R_SYNTAX;
}

/* VRFY never says whether an account exists (RFC 5321 3.5.3 allows 252),
 * unless [smtp] vrfy = true: then a local address that resolves gets 250
 * and an unknown one 550 5.1.1, as Postfix does with VRFY enabled. */
static void proceed_vrfy(struct smtp_session *s, struct cmd_ctx *x)
{
	if (!s->cfg->vrfy_enabled) {
		smtp_reply(s, SMTP_R_VRFY, NULL);
		return;
	}
	char addr[STORE_ADDR_MAX];
	const char *a = x->arg;
	size_t n = x->len;
	if (n >= 2 && a[0] == '<' && a[n - 1] == '>') {
		a++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof addr - 256 || memchr(a, ' ', n) || memchr(a, '<', n)) {
		smtp_reply(s, SMTP_R_SYNTAX, NULL);
		return;
	}
	if (memchr(a, '@', n))
		snprintf(addr, sizeof addr, "%.*s", (int)n, a);
	else
		snprintf(addr, sizeof addr, "%.*s@%s", (int)n, a, s->env->domain);
	struct store_rcpt r;
	int rc = store_resolve_rcpt(store_reader(s->env->store), addr, &r);
	if (rc == STORE_RCPT_LOCAL) {
		char detail[STORE_ADDR_MAX + 8];
		snprintf(detail, sizeof detail, "<%s>", r.address);
		smtp_reply(s, SMTP_R_VRFY_OK, detail);
	} else if (rc == 0) {
		smtp_reply(s, SMTP_R_NO_SUCH_USER, NULL);
	} else {
		smtp_reply(s, SMTP_R_VRFY, NULL);
	}
}

static void proceed_expn(struct smtp_session *s, struct cmd_ctx *x)
{
	smtp_reply(s, SMTP_R_EXPN, NULL);
}

static void proceed_help(struct smtp_session *s, struct cmd_ctx *x)
{
	char text[200];
	snprintf(text, sizeof text, "%s%s%s", smtp_reply_def(SMTP_R_HELP)->text,
	         starttls_offered(s) ? " STARTTLS" : "", auth_advertised(s) ? " AUTH" : "");
	smtp_reply(s, SMTP_R_HELP, text);
}

static enum smtp_reply_id check_starttls(struct smtp_session *s, struct cmd_ctx *x)
{
	if (x->len)
		return SMTP_R_SYNTAX;
	if (conn_is_tls(s->c)) {
		x->detail = "TLS already active";
		return SMTP_R_BAD_SEQUENCE;
	}
	if (!conn_tls_available(s->c))
		return SMTP_R_TLS_UNAVAIL;
	return SMTP_R_OK;
}

static void proceed_starttls(struct smtp_session *s, struct cmd_ctx *x)
{
	smtp_reply(s, SMTP_R_TLS_GO, NULL);
	smtp_enter_state(s, SMTP_S_TLS);
	/* conn discards any input already buffered behind this command, so
	 * nothing pipelined in plaintext survives into the TLS session. */
	if (conn_starttls(s->c) < 0) {
		LOGS(s, LOG_WARN, "event=starttls_failed");
		close_session(s);
	}
}

static void on_tls_done(struct conn *c, bool ok)
{
	struct smtp_session *s = conn_session(c);
	if (!ok) {
		LOGS(s, LOG_INFO, "event=tls_failed");
		smtp_enter_state(s, SMTP_S_CLOSING);
		return;
	}
	/* RFC 3207 4.2: forget everything learned before TLS. */
	smtp_txn_reset(s);
	s->helo[0] = '\0';
	s->esmtp = false;
	s->authenticated = false;
	memset(&s->acct, 0, sizeof s->acct);
	LOGS(s, LOG_INFO, "event=tls version=%s cipher=%s",
	     conn_tls_version(c) ? conn_tls_version(c) : "-",
	     conn_tls_cipher(c) ? conn_tls_cipher(c) : "-");
	smtp_enter_state(s, SMTP_S_CONNECTED);
}

/* AUTH <mech> [initial-response] */
static enum smtp_reply_id check_auth(struct smtp_session *s, struct cmd_ctx *x)
{
	if (!s->auth_offered)
		return SMTP_R_AUTH_DISABLED;
	if (s->authenticated)
		return SMTP_R_ALREADY_AUTH;
	if (!proto_auth_allowed(s->env, s->c))
		return SMTP_R_AUTH_NEED_TLS;
	const char *sp = memchr(x->arg, ' ', x->len);
	size_t mlen = sp ? (size_t)(sp - x->arg) : x->len;
	if (mlen == 0)
		return SMTP_R_SYNTAX;
	x->mech = sasl_mech_parse(x->arg, mlen);
	if (x->mech == SASL_MECH_NONE)
		return SMTP_R_AUTH_MECH;
	x->initial = NULL;
	if (sp) {
		x->initial = sp + 1;
		x->initial_len = x->len - mlen - 1;
		if (x->initial_len == 0)
			return SMTP_R_SYNTAX;
	}
	return SMTP_R_OK;
}

static void auth_result(void *ud, enum auth_result result, const struct auth_account *acct);

static void auth_status(struct smtp_session *s, enum sasl_status st)
{
	char esc[400];
	switch (st) {
	case SASL_CHALLENGE:
		smtp_enter_state(s, SMTP_S_AUTH);
		smtp_reply(s, SMTP_R_AUTH_CHALLENGE, s->sasl.challenge);
		return;
	case SASL_DONE:
		LOGS(s, LOG_DEBUG, "event=auth_check mech=%s user=%s",
		     sasl_mech_log_name(s->auth_mech),
		     log_kv_escape(esc, sizeof esc, s->sasl.user, strlen(s->sasl.user)));
		smtp_enter_state(s, SMTP_S_AUTH_CHECK);
		smtp_session_ref(s);
		conn_pause(s->c);
		s->auth_req = sasl_auth_check(&s->sasl, auth_result, s);
		if (!s->auth_req) {
			sasl_clear(&s->sasl);
			conn_resume(s->c);
			smtp_session_unref(s);
			smtp_enter_state(s, SMTP_S_READY);
			smtp_reply(s, SMTP_R_AUTH_TEMPFAIL, NULL);
			return;
		}
		/* The user name is kept for the log line of the result; the
		 * password is gone now (auth copied it). */
		explicit_bzero(s->sasl.pass, sizeof s->sasl.pass);
		return;
	case SASL_CANCELLED:
		sasl_clear(&s->sasl);
		smtp_enter_state(s, SMTP_S_READY);
		smtp_reply(s, SMTP_R_AUTH_CANCELLED, NULL);
		return;
	case SASL_EBASE64:
		sasl_clear(&s->sasl);
		smtp_enter_state(s, SMTP_S_READY);
		smtp_reply(s, SMTP_R_BASE64, NULL);
		return;
	case SASL_EAUTHZID:
		sasl_clear(&s->sasl);
		smtp_enter_state(s, SMTP_S_READY);
		smtp_reply(s, SMTP_R_AUTH_FAILED, NULL);
		return;
	case SASL_EPROTO:
	default:
		sasl_clear(&s->sasl);
		smtp_enter_state(s, SMTP_S_READY);
		smtp_reply(s, SMTP_R_SYNTAX, "Malformed authentication response");
		return;
	}
}

static void proceed_auth(struct smtp_session *s, struct cmd_ctx *x)
{
	s->auth_mech = x->mech;
	unsigned char cb[SASL_CB_MAX];
	struct sasl_peer peer = {.pool = s->env->auth, .ip = conn_peer_ip(s->c), .cb = cb};
	peer.cb_type = conn_channel_binding(s->c, cb, sizeof cb, &peer.cb_len);
	enum sasl_status st = sasl_start_peer(&s->sasl, x->mech, x->initial, x->initial_len, &peer);
	explicit_bzero(cb, sizeof cb);
	auth_status(s, st);
}

static void auth_result(void *ud, enum auth_result result, const struct auth_account *acct)
{
	struct smtp_session *s = ud;
	char esc[400];

	s->auth_req = NULL;
	if (s->closed) {
		sasl_clear(&s->sasl);
		smtp_session_unref(s);
		return;
	}
	log_kv_escape(esc, sizeof esc, s->sasl.user, strlen(s->sasl.user));
	sasl_clear(&s->sasl);
	smtp_enter_state(s, SMTP_S_READY);
	switch (result) {
	case AUTH_OK:
		s->authenticated = true;
		mx_reputation_exempt(s->rep);
		s->acct = *acct;
		conn_clear_deadline(s->c); /* logged in: only the idle timeout now */
		LOGS(s, LOG_INFO, "event=auth result=ok mech=%s user=%s",
		     sasl_mech_log_name(s->auth_mech), esc);
		smtp_reply(s, SMTP_R_AUTH_OK, NULL);
		break;
	case AUTH_FAIL:
		LOGS(s, LOG_INFO, "event=auth result=fail user=%s", esc);
		smtp_reply(s, SMTP_R_AUTH_FAILED, NULL);
		break;
	case AUTH_THROTTLED:
	case AUTH_TEMPFAIL:
	default:
		LOGS(s, LOG_INFO, "event=auth result=%s user=%s",
		     result == AUTH_THROTTLED ? "throttled" : "tempfail", esc);
		smtp_reply(s, SMTP_R_AUTH_TEMPFAIL, NULL);
		break;
	}
	conn_resume(s->c);
	if (s->close_after)
		smtp_reply(s, s->env->stopping ? SMTP_R_SHUTDOWN : SMTP_R_TIMEOUT, NULL);
	smtp_session_unref(s);
}

/* Lines in the AUTH state are SASL responses, not commands. */
static void auth_line(struct smtp_session *s, const char *line, size_t len)
{
	auth_status(s, sasl_step(&s->sasl, line, len));
}

static enum smtp_reply_id check_wrong_proto(struct smtp_session *s, struct cmd_ctx *x)
{
	LOGS(s, LOG_INFO, "event=wrong_protocol");
	return SMTP_R_WRONG_PROTO;
}

static const struct smtp_command commands[] = {
    {"HELO", ST_LINE, NULL, check_helo, proceed_helo},
    {"EHLO", ST_LINE, NULL, check_helo, proceed_ehlo},
    {"MAIL", ST(READY), NULL, check_mail, proceed_mail},
    {"RCPT", ST(MAIL) | ST(RCPT), "Need MAIL before RCPT", check_rcpt, proceed_rcpt},
    {"DATA", ST(RCPT), "Need RCPT before DATA", check_no_arg, proceed_data},
    {"BDAT", ST_LINE, NULL, check_bdat, proceed_bdat},
    {"BURL", ST_LINE, NULL, check_burl, proceed_burl},
    {"RSET", ST_LINE, NULL, check_no_arg, proceed_rset},
    {"NOOP", ST_LINE, NULL, check_any, proceed_noop},
    {"QUIT", ST_LINE, NULL, check_no_arg, proceed_quit},
    {"VRFY", ST_LINE, NULL, check_vrfy, proceed_vrfy},
    {"EXPN", ST_LINE, NULL, check_any, proceed_expn},
    {"HELP", ST_LINE, NULL, check_any, proceed_help},
    {"STARTTLS", ST(CONNECTED) | ST(READY), "STARTTLS not allowed in a mail transaction",
     check_starttls, proceed_starttls},
    {"AUTH", ST(READY), NULL, check_auth, proceed_auth},
    /* Another protocol spoken at us (cross-protocol attacks through
     * browsers and proxies): refuse and hang up. */
    {"GET", ST_LINE, NULL, check_wrong_proto, NULL},
    {"POST", ST_LINE, NULL, check_wrong_proto, NULL},
    {"HEAD", ST_LINE, NULL, check_wrong_proto, NULL},
    {"PUT", ST_LINE, NULL, check_wrong_proto, NULL},
    {"CONNECT", ST_LINE, NULL, check_wrong_proto, NULL},
    {"OPTIONS", ST_LINE, NULL, check_wrong_proto, NULL},
};

/* The 503 text when a verb arrives outside its states. */
static const char *sequence_text(const struct smtp_session *s, const struct smtp_command *cmd)
{
	if (s->state == SMTP_S_CONNECTED)
		return "Send HELO/EHLO first";
	if (s->state == SMTP_S_BDAT_WAIT)
		return "Only BDAT, BURL, RSET, NOOP or QUIT during BDAT";
	if (!strcmp(cmd->verb, "MAIL"))
		return "Nested MAIL command";
	if (!strcmp(cmd->verb, "AUTH"))
		return "AUTH not allowed during a mail transaction";
	if (cmd->seq_msg)
		return cmd->seq_msg;
	return NULL;
}

static void dispatch(struct smtp_session *s, const char *line, size_t len)
{
	size_t vlen = 0;
	const struct smtp_command *cmd = NULL;
	struct cmd_ctx x;

	while (vlen < len && line[vlen] != ' ')
		vlen++;
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		if (strlen(commands[i].verb) == vlen &&
		    strncasecmp(commands[i].verb, line, vlen) == 0) {
			cmd = &commands[i];
			break;
		}
	}
	if (!cmd) {
		char esc[64];
		LOGS(s, LOG_DEBUG, "event=unknown_command verb=%s",
		     log_kv_escape(esc, sizeof esc, line, vlen > 16 ? 16 : vlen));
		smtp_reply(s, SMTP_R_UNKNOWN_CMD, NULL);
		return;
	}
	memset(&x, 0, sizeof x);
	x.arg = vlen < len ? line + vlen + 1 : line + len;
	x.len = vlen < len ? len - vlen - 1 : 0;
	while (x.len && x.arg[x.len - 1] == ' ') /* trailing blanks are harmless */
		x.len--;
	if (!(cmd->states & (1u << s->state))) {
		smtp_reply(s, SMTP_R_BAD_SEQUENCE, sequence_text(s, cmd));
		return;
	}
	/* The BDAT_WAIT state only admits BDAT, BURL, RSET, NOOP and QUIT. */
	if (s->state == SMTP_S_BDAT_WAIT && strcmp(cmd->verb, "BDAT") &&
	    strcmp(cmd->verb, "BURL") && strcmp(cmd->verb, "RSET") && strcmp(cmd->verb, "NOOP") &&
	    strcmp(cmd->verb, "QUIT")) {
		smtp_reply(s, SMTP_R_BAD_SEQUENCE, sequence_text(s, cmd));
		return;
	}
	enum smtp_reply_id r = cmd->check(s, &x);
	if (r != SMTP_R_OK) {
		deliver_rcpt_free(&x.rcpt);
		smtp_reply(s, r, x.detail);
		return;
	}
	cmd->proceed(s, &x);
}

/* ---- conn callbacks --------------------------------------------------- */

static void on_line(struct conn *c, const char *line, size_t len, bool too_long)
{
	struct smtp_session *s = conn_session(c);

	switch (s->state) {
	case SMTP_S_GREETING:
		/* Talked before the greeting: refuse and hang up, and the
		 * address loses its pass if another connection had earned one. */
		LOGS(s, LOG_INFO, "event=early_talker");
		smtp_greet_pass_revoke(greet_passes, conn_peer_ip(c));
		if (s->timer_open)
			uv_timer_stop(&s->greet_timer);
		smtp_reply(s, SMTP_R_EARLY_TALKER, NULL);
		return;
	case SMTP_S_TLS:
	case SMTP_S_CLOSING:
	case SMTP_S_DATA:
	case SMTP_S_BDAT:
	case SMTP_S_JUDGE:
	case SMTP_S_COMMIT:
	case SMTP_S_AUTH_CHECK:
		/* conn does not deliver lines here (paused, other mode, or
		 * discarded at STARTTLS); if it ever did, they are dropped. */
		LOGS(s, LOG_DEBUG, "event=line_dropped state=%s", state_names[s->state]);
		return;
	case SMTP_S_AUTH:
		if (too_long) {
			sasl_clear(&s->sasl);
			smtp_enter_state(s, SMTP_S_READY);
			smtp_reply(s, SMTP_R_LINE_TOO_LONG, NULL);
			return;
		}
		auth_line(s, line, len);
		return;
	default:
		break;
	}
	if (too_long) {
		smtp_reply(s, SMTP_R_LINE_TOO_LONG, NULL);
		return;
	}
	if (memchr(line, '\0', len)) {
		smtp_reply(s, SMTP_R_SYNTAX, "NUL byte in command");
		return;
	}
	dispatch(s, line, len);
}

static void on_committed(void *ud, int status);

static void reject_message(struct smtp_session *s, enum smtp_reply_id r, const char *why)
{
	LOGS(s, LOG_INFO, "event=rejected id=%s code=%d size=%llu", s->txn.id,
	     smtp_reply_def(r)->code, (unsigned long long)s->txn.msg.seen);
	to_idle(s);
	smtp_reply(s, r, why);
}

/* The checks are done: the store job. paused: the conn is already paused
 * for an earlier step (rspamd), which this pause takes over. */
static void deliver_message(struct smtp_session *s, bool paused)
{
	const char *why = NULL;
	struct smtp_txn *t = &s->txn;
	if (!s->authenticated && !s->submission) {
		/* RFC 8601 5: only we speak for our authserv-id. DKIM has seen
		 * the message as it came; this is the copy that is stored. */
		size_t n = smtp_judge_strip_ours(&t->msg, s->authserv_id);
		if (n) {
			metric_add(MET_AR_REMOVED, (int64_t)n);
			LOGS(s, LOG_INFO, "event=auth_results_removed id=%s count=%zu", t->id, n);
		}
		/* Only our verdict speaks of spam here (rspamd has seen them);
		 * a trusted network's (an upstream filter's) verdict stands. */
		n = s->trusted_client ? 0 : smtp_judge_strip_spam_fields(&t->msg);
		if (n)
			LOGS(s, LOG_INFO, "event=spam_fields_removed id=%s count=%zu", t->id, n);
	}
	smtp_session_ref(s); /* the store job's, dropped in on_committed() */
	enum smtp_reply_id r = smtp_deliver_start(s, on_committed, s, &why);
	if (r == SMTP_R_OK) {
		smtp_enter_state(s, SMTP_S_COMMIT);
		if (!paused)
			conn_pause(s->c);
		return; /* COMMIT: on_committed() answers */
	}
	smtp_session_unref(s);
	if (paused)
		conn_resume(s->c);
	reject_message(s, r, why);
}

/* rspamd's answer, or its failure (fail open: delivered, counted). */
static void on_rspamd(void *ud, bool ok, const char *why, const struct rspamd_result *res)
{
	struct smtp_session *s = ud;
	s->rspamd = NULL;
	if (s->closed) {
		smtp_session_unref(s);
		return;
	}
	if (!ok) {
		metric_add(MET_RSPAMD_FAILED, 1);
		LOGS(s, LOG_WARN, "event=rspamd_failed id=%s err=\"%s\" note=delivered_unchecked",
		     s->txn.id, why ? why : "");
		deliver_message(s, true);
		smtp_session_unref(s);
		return;
	}
	metric_add(MET_RSPAMD_CHECKED, 1);
	s->txn.rspamd_checked = true;
	LOGS(s, LOG_INFO, "event=rspamd id=%s action=\"%s\" score=%.2f required=%.2f", s->txn.id,
	     rspamd_action_name(res->action), res->score, res->required_score);
	enum smtp_reply_id r = SMTP_R_OK;
	switch (res->action) {
	case RSPAMD_REJECT:
		r = SMTP_R_SPAM_REJECT;
		break;
	case RSPAMD_SOFT_REJECT:
	case RSPAMD_GREYLIST:
		r = SMTP_R_SPAM_DEFER;
		break;
	case RSPAMD_ADD_HEADER:
	case RSPAMD_REWRITE_SUBJECT:
		s->txn.spam_flag = true;
		s->txn.spam_score = res->score;
		break;
	default:
		break;
	}
	if (r == SMTP_R_OK) {
		deliver_message(s, true);
	} else {
		conn_resume(s->c);
		reject_message(s, r, NULL);
		if (s->close_after)
			smtp_reply(s, s->env->stopping ? SMTP_R_SHUTDOWN : SMTP_R_TIMEOUT, NULL);
	}
	smtp_session_unref(s);
}

/* mx, not authenticated, [spam] rspamd_url set: post the message to
 * rspamd first. true when it is on its way (on_rspamd() goes on). */
static bool start_rspamd(struct smtp_session *s)
{
	struct smtp_txn *t = &s->txn;
	if (s->submission || s->authenticated || !s->spam || !s->spam->rspamd_url[0])
		return false;
	const char *rcpts[256];
	size_t n = 0;
	for (size_t i = 0; i < t->nrcpts && n < 256; i++)
		rcpts[n++] = t->rcpts[i].addr;
	struct rspamd_envelope env = {
	    .ip = conn_peer_ip(s->c),
	    .helo = s->helo,
	    .hostname = mx_reputation_name(s->rep),
	    .mail_from = t->from.null ? "" : t->from.addr,
	    .rcpts = rcpts,
	    .nrcpts = n,
	    .queue_id = t->id,
	};
	s->rspamd = rspamd_check_start(conn_loop(s->c), s->spam->rspamd_url,
	                               (uint64_t)s->spam->rspamd_timeout_ms, &env,
	                               t->msg.buf ? t->msg.buf : "", t->msg.len, on_rspamd, s);
	if (!s->rspamd) {
		metric_add(MET_RSPAMD_FAILED, 1);
		LOGS(s, LOG_WARN, "event=rspamd_failed id=%s err=\"cannot start\"", t->id);
		return false;
	}
	smtp_session_ref(s); /* dropped in on_rspamd(), or in on_closed() */
	smtp_enter_state(s, SMTP_S_COMMIT);
	conn_pause(s->c);
	return true;
}

/* The judge's verdict (judge.h), on the loop; the judge's reference. */
static void on_judged(struct smtp_session *s, struct smtp_verdict *v)
{
	struct smtp_txn *t = &s->txn;
	snprintf(t->auth_log, sizeof t->auth_log, "%s", v->log);
	if (v->action == SMTP_JUDGE_REJECT || v->action == SMTP_JUDGE_TEMPFAIL) {
		enum smtp_reply_id r =
		    v->action == SMTP_JUDGE_REJECT ? SMTP_R_DMARC_REJECT : SMTP_R_DMARC_TEMPFAIL;
		LOGS(s, LOG_INFO, "event=rejected id=%s code=%d size=%llu %s", t->id,
		     smtp_reply_def(r)->code, (unsigned long long)t->msg.seen, v->log);
		char reply[sizeof v->reply];
		snprintf(reply, sizeof reply, "%s", v->reply);
		to_idle(s);
		conn_resume(s->c);
		smtp_reply(s, r, reply);
		if (s->close_after)
			smtp_reply(s, s->env->stopping ? SMTP_R_SHUTDOWN : SMTP_R_TIMEOUT, NULL);
		smtp_session_unref(s);
		return;
	}
	t->auth_fields = &v->fields;
	t->arc_chain = (int)v->arc;
	t->auth = v->auth;
	t->junk = v->action == SMTP_JUDGE_JUNK;
	conn_resume(s->c);
	if (!start_rspamd(s))
		deliver_message(s, false);
	if (s->state != SMTP_S_COMMIT && s->close_after)
		smtp_reply(s, s->env->stopping ? SMTP_R_SHUTDOWN : SMTP_R_TIMEOUT, NULL);
	smtp_session_unref(s);
}

/* End of a message (DATA or last BDAT chunk): check it, judge it (mx),
 * ask rspamd, then commit. */
static void end_of_data(struct smtp_session *s)
{
	const char *why = NULL;
	struct smtp_txn *t = &s->txn;
	enum smtp_reply_id r;

	conn_set_idle_timeout(s->c, command_timeout_ms(s));
	if (mime_spool_end(&t->msg) < 0) {
		r = SMTP_R_STORE_FAIL;
	} else {
		r = smtp_msg_check(&t->msg, &why);
	}
	if (r != SMTP_R_OK) {
		reject_message(s, r, why);
		return;
	}
	if (!s->authenticated && smtp_judge_end(s, on_judged)) {
		smtp_session_ref(s); /* the judge's, dropped in on_judged() */
		smtp_enter_state(s, SMTP_S_JUDGE);
		conn_pause(s->c);
		return;
	}
	if (start_rspamd(s))
		return;
	deliver_message(s, false);
}

static void on_dot(struct conn *c, const char *data, size_t len, bool end, unsigned flags)
{
	struct smtp_session *s = conn_session(c);
	if (s->state != SMTP_S_DATA)
		return;
	size_t before = s->txn.msg.len;
	if (smtp_body_append(&s->txn.msg, &s->txn.body, data, len) < 0)
		s->txn.msg.seen = UINT64_MAX; /* out of memory: answered as too big */
	if (s->txn.msg.len > before)
		smtp_judge_body(s, s->txn.msg.buf + before, s->txn.msg.len - before);
	if (end)
		end_of_data(s);
}

static void on_block(struct conn *c, const char *data, size_t len, bool last)
{
	struct smtp_session *s = conn_session(c);
	char text[80];

	if (s->state != SMTP_S_BDAT)
		return;
	size_t before = s->txn.msg.len;
	if (s->bdat_error == SMTP_R_OK && len && mime_spool_append(&s->txn.msg, data, len) < 0)
		s->txn.msg.seen = UINT64_MAX;
	if (s->txn.msg.len > before)
		smtp_judge_body(s, s->txn.msg.buf + before, s->txn.msg.len - before);
	if (!last)
		return;
	if (s->bdat_error != SMTP_R_OK) {
		smtp_enter_state(s, s->bdat_return);
		smtp_reply(s, s->bdat_error, s->bdat_error_detail);
		return;
	}
	if (mime_spool_too_big(&s->txn.msg) || s->txn.msg.no_space) {
		/* RFC 3030: a failed chunk fails the transaction. */
		enum smtp_reply_id r =
		    mime_spool_too_big(&s->txn.msg) ? SMTP_R_TOO_BIG : SMTP_R_NO_SPACE;
		conn_set_idle_timeout(s->c, command_timeout_ms(s));
		to_idle(s);
		smtp_reply(s, r, NULL);
		return;
	}
	if (s->bdat_last) {
		end_of_data(s);
		return;
	}
	smtp_enter_state(s, SMTP_S_BDAT_WAIT);
	snprintf(text, sizeof text, "%llu octets received", (unsigned long long)s->bdat_size);
	smtp_reply(s, SMTP_R_CHUNK_OK, text);
}

/* The store job finished (deliver.c): reply, resume input. */
static void committed(struct smtp_session *s, int status)
{
	char text[120];

	if (s->closed)
		return;
	if (status >= 0) {
		LOGS(s, LOG_INFO, "event=delivered id=%s size=%zu rcpts=%zu%s%s", s->txn.id,
		     s->txn.msg.len, s->txn.nrcpts, s->txn.auth_log[0] ? " " : "", s->txn.auth_log);
		snprintf(text, sizeof text, "Ok: queued as %s", s->txn.id);
		to_idle(s);
		smtp_reply(s, SMTP_R_QUEUED, text);
		if (!s->authenticated)
			conn_restart_deadline(s->c); /* mx: the next transaction's time */
	} else if (status == DELIVER_JOB_REJECTED) {
		/* RFC 5429 2.1/2.2: the recipient's script refused it; its
		 * reason, one line of printable ASCII, is the reply's text */
		char why[sizeof s->txn.sieve_reason]; /* to_idle() clears the txn */
		memcpy(why, s->txn.sieve_reason, sizeof why);
		why[sizeof why - 1] = '\0';
		for (char *p = why; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
				*p = (unsigned char)*p == '\n' || *p == '\r' || *p == '\t' ? ' '
				                                                           : '?';
		LOGS(s, LOG_INFO, "event=rejected id=%s code=550 by=sieve", s->txn.id);
		to_idle(s);
		smtp_reply(s, SMTP_R_SIEVE_REJECT, why[0] ? why : NULL);
	} else {
		LOGS(s, LOG_WARN, "event=store_failed id=%s status=%d", s->txn.id, status);
		to_idle(s);
		/* A full disk is RFC 3463's 4.3.1, "mail system full". */
		smtp_reply(s, status == -ENOSPC ? SMTP_R_NO_SPACE : SMTP_R_STORE_FAIL, NULL);
	}
	conn_resume(s->c);
	if (s->close_after)
		smtp_reply(s, s->env->stopping ? SMTP_R_SHUTDOWN : SMTP_R_TIMEOUT, NULL);
}

/* smtp_deliver_start()'s completion. */
static void on_committed(void *ud, int status)
{
	struct smtp_session *s = ud;
	committed(s, status);
	smtp_session_unref(s);
}

static void on_timeout(struct conn *c)
{
	struct smtp_session *s = conn_session(c);
	if (s->state == SMTP_S_COMMIT || s->state == SMTP_S_AUTH_CHECK ||
	    s->state == SMTP_S_JUDGE) {
		/* The answer to the pending command goes first. */
		s->close_after = true;
		return;
	}
	LOGS(s, LOG_INFO, "event=%s state=%s", s->env->stopping ? "shutdown" : "timeout",
	     state_names[s->state]);
	if (s->state == SMTP_S_GREETING && s->timer_open)
		uv_timer_stop(&s->greet_timer);
	if (s->state == SMTP_S_CLOSING) {
		conn_close(c);
		return;
	}
	reply_host(s, s->env->stopping ? SMTP_R_SHUTDOWN : SMTP_R_TIMEOUT,
	           smtp_reply_def(s->env->stopping ? SMTP_R_SHUTDOWN : SMTP_R_TIMEOUT)->text);
	conn_close(c);
}

static void on_timer_closed(uv_handle_t *h)
{
	struct smtp_session *s = h->data;
	smtp_session_unref(s);
}

static void on_closed(struct conn *c)
{
	struct smtp_session *s = conn_session(c);

	log_session(LOG_DEBUG, conn_id(c), conn_peer(c), "smtp", "event=closed state=%s errors=%d",
	            state_names[s->state], s->errors);
	s->closed = true;
	bool judging = s->state == SMTP_S_JUDGE;
	smtp_judge_free(s); /* no verdict comes any more */
	s->c = NULL;
	mx_reputation_cancel(s->rep);
	if (s->rspamd) {
		/* on_rspamd will never run: drop its reference here. */
		rspamd_check_cancel(s->rspamd);
		s->rspamd = NULL;
		smtp_session_unref(s);
	}
	if (judging)
		smtp_session_unref(s); /* the judge's */
	if (s->auth_req) {
		/* done will never run: drop its reference here. */
		auth_cancel(s->auth_req);
		s->auth_req = NULL;
		sasl_clear(&s->sasl);
		smtp_session_unref(s);
	}
	if (s->timer_open) {
		s->timer_open = false;
		uv_close((uv_handle_t *)&s->greet_timer, on_timer_closed);
	}
	smtp_session_unref(s);
}

static void send_greeting(struct smtp_session *s)
{
	if (s->timer_open)
		uv_timer_stop(&s->greet_timer);
	if (s->rep)
		mx_reputation_log(s->rep, conn_id(s->c), conn_peer(s->c));
	if (s->env->stopping) {
		reply_host(s, SMTP_R_SHUTDOWN, smtp_reply_def(SMTP_R_SHUTDOWN)->text);
		return;
	}
	smtp_enter_state(s, SMTP_S_CONNECTED);
	reply_host(s, SMTP_R_GREETING, "ESMTP tern");
}

static void greet_when_ready(struct smtp_session *s);
static void on_rep_deadline(uv_timer_t *t);

static void on_greet_timer(uv_timer_t *t)
{
	struct smtp_session *s = t->data;
	if (s->closed || s->state != SMTP_S_GREETING)
		return;
	s->greet_delay_over = true;
	/* It waited: its address passes. */
	if (s->cfg->greet_pass_ttl > 0) {
		if (!greet_passes)
			greet_passes = smtp_greet_pass_new((size_t)s->cfg->greet_pass_max);
		smtp_greet_pass_grant(greet_passes, conn_peer_ip(s->c), uv_now(t->loop),
		                      (uint64_t)s->cfg->greet_pass_ttl * 1000);
		LOGS(s, LOG_DEBUG, "event=greet_pass_granted ttl=%lld",
		     (long long)s->cfg->greet_pass_ttl);
	}
	greet_when_ready(s);
}

/* The greeting goes out once the early-talker delay is over and the
 * reputation answers are in, or their deadline has passed. */
static void greet_when_ready(struct smtp_session *s)
{
	if (s->closed || s->state != SMTP_S_GREETING || !s->greet_delay_over)
		return;
	uint64_t now = uv_now(conn_loop(s->c));
	if (s->rep && !s->rep->done && now < s->rep_deadline && s->timer_open) {
		uv_timer_start(&s->greet_timer, on_rep_deadline, s->rep_deadline - now, 0);
		return;
	}
	send_greeting(s);
}

static void on_rep_deadline(uv_timer_t *t)
{
	struct smtp_session *s = t->data;
	if (s->closed || s->state != SMTP_S_GREETING)
		return;
	send_greeting(s);
}

static void on_rep_done(void *ud)
{
	greet_when_ready(ud);
}

/* mx listeners only: ask DNS about the client. true when the greeting is
 * to wait for the answers. */
static bool start_reputation(struct smtp_session *s)
{
	const struct smtp_spam_settings *sp = s->spam;
	if (s->submission || !sp || !s->dns || (sp->ndnsbl == 0 && !sp->fcrdns))
		return false;
	s->rep = calloc(1, sizeof *s->rep);
	if (!s->rep)
		return false;
	bool wait =
	    mx_reputation_start(s->rep, s->dns, sp, s->trusted, conn_peer_ip(s->c), on_rep_done, s);
	s->rep_deadline = uv_now(conn_loop(s->c)) + (uint64_t)sp->check_timeout_ms;
	return wait && sp->check_timeout_ms > 0;
}

static const struct conn_callbacks smtp_callbacks = {
    .line = on_line,
    .block = on_block,
    .dot = on_dot,
    .drained = NULL,
    .tls_done = on_tls_done,
    .timeout = on_timeout,
    .closed = on_closed,
};

void smtp_session_start(struct conn *c, void *ctx)
{
	const struct smtp_ctx *x = ctx;
	struct smtp_session *s =
	    proto_session_new(c, sizeof *s, &smtp_callbacks, (size_t)x->settings->max_line);

	if (!s)
		return;
	s->c = c;
	s->env = x->env;
	s->cfg = x->settings;
	s->idle_timeout_ms = x->idle_timeout_ms;
	s->submission = x->submission;
	s->spam = x->spam;
	s->dns = x->dns;
	s->trusted = x->trusted_networks;
	struct spf_ip peer_ip;
	s->trusted_client = x->trusted_networks && spf_ip_parse(conn_peer_ip(c), &peer_ip) == 0 &&
	                    netlist_has_ip(x->trusted_networks, &peer_ip);
	s->auth_offered = x->submission || x->settings->mx_auth;
	s->refs = 1;
	s->state = SMTP_S_GREETING;
	s->authserv_id = x->settings->authserv_id[0] ? x->settings->authserv_id
	                 : x->env->hostname[0]       ? x->env->hostname
	                                             : "localhost";
	if (smtp_judge_start(s, x) < 0)
		log_session(LOG_WARN, conn_id(c), conn_peer(c), "smtp", "event=auth_unavailable");
	log_session(LOG_INFO, conn_id(c), conn_peer(c), "smtp", "event=connect mode=%s tls=%d",
	            s->submission ? "submission" : "mx", conn_is_tls(c));

	bool delay = !s->submission && !conn_is_tls(c) && s->cfg->greet_delay_ms > 0;
	if (delay && smtp_greet_pass_check(greet_passes, conn_peer_ip(c), uv_now(conn_loop(c)))) {
		LOGS(s, LOG_DEBUG, "event=greet_pass");
		delay = false;
	}
	bool wait_rep = start_reputation(s);
	if ((delay || wait_rep) && uv_timer_init(conn_loop(c), &s->greet_timer) == 0) {
		s->greet_timer.data = s;
		s->timer_open = true;
		smtp_session_ref(s); /* dropped in on_timer_closed */
		if (delay) {
			uv_timer_start(&s->greet_timer, on_greet_timer,
			               (uint64_t)s->cfg->greet_delay_ms, 0);
			return;
		}
		s->greet_delay_over = true;
		greet_when_ready(s);
		return;
	}
	s->greet_delay_over = true;
	send_greeting(s);
}
