/* smtp_client: the outbound SMTP session (contract in smtp_client.h).
 *
 * Why it is a transport-free state machine: the queue runner drives it over
 * a real TCP/TLS connection, the unit tests drive it with scripted replies,
 * and both see exactly the same commands. Every state change goes through
 * enter(), which logs it.
 *
 *   GREETING --220--> EHLO --250--+--STARTTLS offered/usable--> STARTTLS
 *      |                |         |                              |220
 *      |                |4xx/5xx  |                              v
 *      |                v         |                             TLS --ok--> EHLO (again)
 *      |              HELO --250--+--auth configured--> AUTH(_USER/_PASS) --235--+
 *      |                          |                                              |
 *      |                          +------------------------------------------> READY
 *      |                                                                          |
 *      |                      send() -> TX: MAIL, RCPT.., DATA/BDAT, body --> READY
 *      |                                    (nothing accepted -> RSET -> READY)
 *      +-- anything unexpected, 421, timeout, close --> FAILED      quit() -> QUIT
 *
 * Pipelining (RFC 2920): with PIPELINING, MAIL, every RCPT and DATA go out
 * in one write and the replies are matched in order against a queue of
 * expectations. Without it the same queue holds one entry at a time. With
 * CHUNKING the body goes as one "BDAT n LAST" after the RCPT replies (so an
 * all-rejected transaction never sends the body).
 *
 * Recipient results: a RCPT 4xx/5xx is final for that recipient; a RCPT 2xx
 * is only provisional, the reply to the end of data decides. A session-level
 * failure (421, timeout, lost connection) makes every recipient without a
 * final result temporary.
 */
#include "relay/smtp_client.h"
#include "relay/smtp_body.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum expect { EXP_MAIL, EXP_RCPT, EXP_DATA, EXP_BODY };

struct smtp_client {
	enum smtp_client_state state;
	struct smtp_client_opts opts;
	struct smtp_client_io io;
	void *ud;
	struct smtp_reply reply; /* being assembled */
	unsigned ext;
	uint64_t max_size;
	bool tls_active;
	bool did_helo;

	/* current transaction */
	struct smtp_tx *tx;
	enum expect *exp;
	size_t *exp_idx;
	size_t exp_head, exp_tail, exp_cap;
	size_t next_rcpt; /* non-pipelined: next RCPT to send */
	size_t accepted;
	bool mail_failed;
	bool chunking;
	struct smtp_reply mail_reply;
};

static const char *const state_names[] = {
    "greeting",  "ehlo",  "helo", "starttls", "tls",  "auth",   "auth_user",
    "auth_pass", "ready", "tx",   "rset",     "quit", "failed",
};

const char *smtp_client_state_name(enum smtp_client_state s)
{
	return (unsigned)s < sizeof state_names / sizeof state_names[0] ? state_names[s] : "?";
}

static void cl_log(struct smtp_client *cl, const char *event, const char *detail)
{
	if (cl->io.log)
		cl->io.log(cl->ud, event, detail);
}

static void enter(struct smtp_client *cl, enum smtp_client_state to)
{
	char d[64];
	snprintf(d, sizeof d, "from=%s to=%s", smtp_client_state_name(cl->state),
	         smtp_client_state_name(to));
	cl_log(cl, "state", d);
	cl->state = to;
}

static void send_str(struct smtp_client *cl, const char *s)
{
	cl->io.write(cl->ud, s, strlen(s));
}

static void sendf(struct smtp_client *cl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sendf(struct smtp_client *cl, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof buf)
		n = sizeof buf - 1;
	cl->io.write(cl->ud, buf, (size_t)n);
}

static void arm(struct smtp_client *cl, uint64_t ms)
{
	if (cl->io.timeout)
		cl->io.timeout(cl->ud, ms);
}

struct smtp_client *smtp_client_new(const struct smtp_client_opts *opts,
                                    const struct smtp_client_io *io, void *ud)
{
	struct smtp_client *cl = calloc(1, sizeof *cl);
	if (!cl)
		return NULL;
	cl->opts = *opts;
	cl->io = *io;
	cl->ud = ud;
	cl->state = SC_GREETING;
	arm(cl, SMTP_TIMEOUT_GREETING);
	return cl;
}

void smtp_client_free(struct smtp_client **clp)
{
	struct smtp_client *cl = *clp;
	if (!cl)
		return;
	free(cl->exp);
	free(cl->exp_idx);
	free(cl);
	*clp = NULL;
}

enum smtp_client_state smtp_client_state(const struct smtp_client *cl)
{
	return cl->state;
}

unsigned smtp_client_extensions(const struct smtp_client *cl)
{
	return cl->ext;
}

bool smtp_client_tls_active(const struct smtp_client *cl)
{
	return cl->tls_active;
}

/* ---- ending things ---- */

static bool is_temp(int code)
{
	return code < 500;
}

static void set_result(struct smtp_tx_rcpt *r, const struct smtp_reply *rep)
{
	r->reply = *rep;
	if (rep->code >= 200 && rep->code < 300)
		r->status = SMTP_RCPT_OK;
	else
		r->status = is_temp(rep->code) ? SMTP_RCPT_TEMP : SMTP_RCPT_PERM;
}

static void finish_tx(struct smtp_client *cl)
{
	struct smtp_tx *tx = cl->tx;
	cl->tx = NULL;
	cl->exp_head = cl->exp_tail = 0;
	arm(cl, 0);
	if (tx && cl->io.tx_done)
		cl->io.tx_done(cl->ud, tx);
}

static void fail(struct smtp_client *cl, const struct smtp_reply *why)
{
	if (cl->state == SC_FAILED)
		return;
	char d[SMTP_REPLY_TEXT + 32];
	snprintf(d, sizeof d, "code=%d text=\"%s\"", why->code, why->text);
	cl_log(cl, "failed", d);
	struct smtp_reply temp = *why;
	if (temp.code < 400) /* a session that breaks is never a success */
		temp.code = 421;
	if (cl->tx) {
		for (size_t i = 0; i < cl->tx->nrcpts; i++)
			if (cl->tx->rcpts[i].status == SMTP_RCPT_PENDING)
				set_result(&cl->tx->rcpts[i], &temp);
		finish_tx(cl);
	}
	enter(cl, SC_FAILED);
	arm(cl, 0);
	if (cl->io.failed)
		cl->io.failed(cl->ud, &temp);
}

static void failf(struct smtp_client *cl, int code, const char *enh, const char *text)
{
	struct smtp_reply r;
	smtp_reply_set(&r, code, enh, "%s", text);
	fail(cl, &r);
}

static void become_ready(struct smtp_client *cl)
{
	enter(cl, SC_READY);
	arm(cl, 0);
	if (cl->io.ready)
		cl->io.ready(cl->ud);
}

/* ---- session setup ---- */

static void send_ehlo(struct smtp_client *cl)
{
	cl->ext = 0;
	cl->max_size = 0;
	sendf(cl, "EHLO %s\r\n", cl->opts.helo);
	enter(cl, SC_EHLO);
	arm(cl, SMTP_TIMEOUT_COMMAND);
}

static void b64(const unsigned char *in, size_t len, char *out, size_t outlen)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;
	for (size_t i = 0; i < len && o + 5 < outlen; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? tab[v & 63] : '=';
	}
	out[o] = '\0';
}

static void after_hello(struct smtp_client *cl)
{
	if (!cl->tls_active && (cl->ext & SMTP_EXT_STARTTLS) && cl->opts.tls_available) {
		send_str(cl, "STARTTLS\r\n");
		enter(cl, SC_STARTTLS);
		arm(cl, SMTP_TIMEOUT_COMMAND);
		return;
	}
	if (!cl->tls_active && cl->opts.require_tls) {
		failf(cl, 451, "4.7.10",
		      "TLS is required for this destination but the server "
		      "did not offer STARTTLS");
		return;
	}
	if (cl->opts.auth_user && *cl->opts.auth_user) {
		if (!cl->tls_active) {
			failf(cl, 451, "4.7.10",
			      "refusing to send the smarthost password without TLS");
			return;
		}
		const char *u = cl->opts.auth_user,
		           *p = cl->opts.auth_pass ? cl->opts.auth_pass : "";
		if (cl->ext & SMTP_EXT_AUTH_PLAIN) {
			unsigned char raw[1024];
			size_t ul = strlen(u), pl = strlen(p);
			if (ul + pl + 2 > sizeof raw) {
				failf(cl, 451, "4.7.0", "smarthost credentials too long");
				return;
			}
			raw[0] = 0;
			memcpy(raw + 1, u, ul);
			raw[1 + ul] = 0;
			memcpy(raw + 2 + ul, p, pl);
			char enc[1500];
			b64(raw, ul + pl + 2, enc, sizeof enc);
			explicit_bzero(raw, sizeof raw);
			sendf(cl, "AUTH PLAIN %s\r\n", enc);
			explicit_bzero(enc, sizeof enc);
			enter(cl, SC_AUTH);
		} else if (cl->ext & SMTP_EXT_AUTH_LOGIN) {
			send_str(cl, "AUTH LOGIN\r\n");
			enter(cl, SC_AUTH_USER);
		} else {
			failf(cl, 451, "4.7.0",
			      "the smarthost offers neither AUTH PLAIN nor LOGIN");
			return;
		}
		arm(cl, SMTP_TIMEOUT_COMMAND);
		return;
	}
	become_ready(cl);
}

static void on_auth_reply(struct smtp_client *cl, const struct smtp_reply *r)
{
	char enc[1500];
	if (cl->state == SC_AUTH_USER && r->code == 334) {
		const char *u = cl->opts.auth_user;
		b64((const unsigned char *)u, strlen(u), enc, sizeof enc);
		sendf(cl, "%s\r\n", enc);
		enter(cl, SC_AUTH_PASS);
		arm(cl, SMTP_TIMEOUT_COMMAND);
		return;
	}
	if (cl->state == SC_AUTH_PASS && r->code == 334) {
		const char *p = cl->opts.auth_pass ? cl->opts.auth_pass : "";
		b64((const unsigned char *)p, strlen(p), enc, sizeof enc);
		sendf(cl, "%s\r\n", enc);
		explicit_bzero(enc, sizeof enc);
		enter(cl, SC_AUTH);
		arm(cl, SMTP_TIMEOUT_COMMAND);
		return;
	}
	if (r->code == 235) {
		become_ready(cl);
		return;
	}
	/* An authentication failure is a configuration problem on our side:
	 * keep the mail and retry (temporary), as other MTAs do. */
	struct smtp_reply t = *r;
	if (t.code >= 500)
		t.code = 454;
	fail(cl, &t);
}

/* ---- transactions ---- */

static void push(struct smtp_client *cl, enum expect e, size_t idx)
{
	if (cl->exp_tail == cl->exp_cap) {
		size_t cap = cl->exp_cap ? cl->exp_cap * 2 : 16;
		enum expect *ne = realloc(cl->exp, cap * sizeof *ne);
		if (ne)
			cl->exp = ne;
		size_t *ni = realloc(cl->exp_idx, cap * sizeof *ni);
		if (ni)
			cl->exp_idx = ni;
		if (!ne || !ni)
			return; /* cannot happen in practice; the reply is then unexpected */
		cl->exp_cap = cap;
	}
	cl->exp[cl->exp_tail] = e;
	cl->exp_idx[cl->exp_tail] = idx;
	cl->exp_tail++;
}

static void send_rcpt(struct smtp_client *cl, size_t i)
{
	struct smtp_tx_rcpt *r = &cl->tx->rcpts[i];
	char params[700] = "";
	if (cl->ext & SMTP_EXT_DSN) {
		size_t o = 0;
		if (r->notify && *r->notify)
			o += (size_t)snprintf(params + o, sizeof params - o, " NOTIFY=%s",
			                      r->notify);
		if (r->orcpt && *r->orcpt && o < sizeof params)
			snprintf(params + o, sizeof params - o, " ORCPT=%s", r->orcpt);
	}
	sendf(cl, "RCPT TO:<%s>%s\r\n", r->addr, params);
	push(cl, EXP_RCPT, i);
}

static void send_body(struct smtp_client *cl)
{
	struct smtp_tx *tx = cl->tx;
	if (cl->chunking) {
		sendf(cl, "BDAT %zu LAST\r\n", tx->len);
		cl->io.write(cl->ud, tx->data, tx->len);
	} else {
		size_t n;
		char *st = smtp_body_stuff(tx->data, tx->len, &n);
		if (!st) {
			failf(cl, 451, "4.3.0", "out of memory preparing the message");
			return;
		}
		cl->io.write(cl->ud, st, n);
		free(st);
	}
	push(cl, EXP_BODY, 0);
	arm(cl, SMTP_TIMEOUT_DATA_TERM);
}

static void fail_all_now(struct smtp_client *cl, int code, const char *enh, const char *text)
{
	struct smtp_reply r;
	smtp_reply_set(&r, code, enh, "%s", text);
	for (size_t i = 0; i < cl->tx->nrcpts; i++)
		set_result(&cl->tx->rcpts[i], &r);
	char d[SMTP_REPLY_TEXT + 32];
	snprintf(d, sizeof d, "code=%d text=\"%s\"", code, text);
	cl_log(cl, "tx_refused_locally", d);
	finish_tx(cl);
	if (cl->state == SC_READY && cl->io.ready)
		cl->io.ready(cl->ud);
}

int smtp_client_send(struct smtp_client *cl, struct smtp_tx *tx)
{
	if (cl->state != SC_READY || cl->tx)
		return -EBUSY;
	cl->tx = tx;
	cl->exp_head = cl->exp_tail = 0;
	cl->accepted = 0;
	cl->mail_failed = false;
	cl->next_rcpt = 0;
	for (size_t i = 0; i < tx->nrcpts; i++) {
		tx->rcpts[i].status = SMTP_RCPT_PENDING;
		tx->rcpts[i].rcpt_accepted = false;
		smtp_reply_reset(&tx->rcpts[i].reply);
	}

	/* What the message needs from the next hop. */
	struct smtp_body_info bi;
	smtp_body_analyze(tx->data, tx->len, &bi);
	bool need_utf8 = smtp_is_8bit(tx->mail_from);
	for (size_t i = 0; i < tx->nrcpts; i++)
		need_utf8 = need_utf8 || smtp_is_8bit(tx->rcpts[i].addr);
	bool utf8_headers = bi.header_8bit;
	bool need_8bit = bi.header_8bit || bi.body_8bit;
	if (need_utf8 && !(cl->ext & SMTP_EXT_SMTPUTF8)) {
		fail_all_now(cl, 553, "5.6.7",
		             "the next hop does not support SMTPUTF8, and the message has "
		             "non-ASCII (UTF-8) envelope addresses");
		return 0;
	}
	if (need_8bit && !(cl->ext & SMTP_EXT_8BITMIME)) {
		fail_all_now(cl, 554, "5.6.3",
		             "the next hop does not support 8BITMIME, and the message has 8-bit "
		             "content that tern does not convert");
		return 0;
	}
	if ((cl->ext & SMTP_EXT_SIZE) && cl->max_size && tx->len > cl->max_size) {
		char t[160];
		snprintf(t, sizeof t, "message size %zu exceeds the next hop's limit %llu", tx->len,
		         (unsigned long long)cl->max_size);
		fail_all_now(cl, 552, "5.3.4", t);
		return 0;
	}

	char params[600] = "";
	size_t o = 0;
	if (cl->ext & SMTP_EXT_SIZE)
		o += (size_t)snprintf(params + o, sizeof params - o, " SIZE=%zu", tx->len);
	if (need_8bit)
		o += (size_t)snprintf(params + o, sizeof params - o, " BODY=8BITMIME");
	if ((need_utf8 || utf8_headers) && (cl->ext & SMTP_EXT_SMTPUTF8))
		o += (size_t)snprintf(params + o, sizeof params - o, " SMTPUTF8");
	if (cl->ext & SMTP_EXT_DSN) {
		if (tx->ret && *tx->ret)
			o += (size_t)snprintf(params + o, sizeof params - o, " RET=%s", tx->ret);
		if (tx->envid && *tx->envid && o < sizeof params)
			snprintf(params + o, sizeof params - o, " ENVID=%s", tx->envid);
	}
	cl->chunking = (cl->ext & SMTP_EXT_CHUNKING) != 0;
	enter(cl, SC_TX);
	sendf(cl, "MAIL FROM:<%s>%s\r\n", tx->mail_from, params);
	push(cl, EXP_MAIL, 0);
	if (cl->ext & SMTP_EXT_PIPELINING) {
		for (size_t i = 0; i < tx->nrcpts; i++)
			send_rcpt(cl, i);
		cl->next_rcpt = tx->nrcpts;
		if (!cl->chunking) {
			send_str(cl, "DATA\r\n");
			push(cl, EXP_DATA, 0);
		}
	}
	arm(cl, SMTP_TIMEOUT_COMMAND);
	return 0;
}

/* Everything before the body has been answered: what now? */
static void after_envelope(struct smtp_client *cl)
{
	if (cl->accepted == 0) {
		/* MAIL may have succeeded: reset the transaction before the next. */
		if (!cl->mail_failed) {
			send_str(cl, "RSET\r\n");
			enter(cl, SC_RSET);
			arm(cl, SMTP_TIMEOUT_COMMAND);
			return;
		}
		finish_tx(cl);
		become_ready(cl);
		return;
	}
	send_body(cl);
}

static void tx_reply(struct smtp_client *cl, const struct smtp_reply *r)
{
	if (cl->exp_head == cl->exp_tail) {
		fail(cl, r);
		return;
	}
	enum expect e = cl->exp[cl->exp_head];
	size_t idx = cl->exp_idx[cl->exp_head];
	cl->exp_head++;
	bool pipelined = (cl->ext & SMTP_EXT_PIPELINING) != 0;
	struct smtp_tx *tx = cl->tx;

	if (r->code == 421) {
		cl->exp_head = cl->exp_tail;
		fail(cl, r);
		return;
	}
	switch (e) {
	case EXP_MAIL:
		if (r->code / 100 != 2) {
			cl->mail_failed = true;
			cl->mail_reply = *r;
			for (size_t i = 0; i < tx->nrcpts; i++)
				set_result(&tx->rcpts[i], r);
			if (!pipelined) {
				finish_tx(cl);
				become_ready(cl);
				return;
			}
		} else if (!pipelined) {
			send_rcpt(cl, cl->next_rcpt++);
		}
		break;
	case EXP_RCPT:
		if (!cl->mail_failed) {
			if (r->code / 100 == 2) {
				tx->rcpts[idx].rcpt_accepted = true;
				cl->accepted++;
			} else {
				set_result(&tx->rcpts[idx], r);
			}
		}
		if (!pipelined && cl->next_rcpt < tx->nrcpts) {
			send_rcpt(cl, cl->next_rcpt++);
		} else if (!pipelined || cl->chunking) {
			if (cl->exp_head == cl->exp_tail) {
				if (cl->accepted > 0 && !cl->chunking) {
					send_str(cl, "DATA\r\n");
					push(cl, EXP_DATA, 0);
					arm(cl, SMTP_TIMEOUT_DATA_INIT);
					return;
				}
				after_envelope(cl);
				return;
			}
		}
		break;
	case EXP_DATA:
		if (r->code == 354) {
			if (cl->accepted == 0) {
				/* A server that says 354 with no recipient: end it empty. */
				send_str(cl, ".\r\n");
				push(cl, EXP_BODY, 0);
				arm(cl, SMTP_TIMEOUT_DATA_TERM);
				return;
			}
			send_body(cl);
			return;
		}
		if (cl->accepted > 0) {
			for (size_t i = 0; i < tx->nrcpts; i++)
				if (tx->rcpts[i].rcpt_accepted)
					set_result(&tx->rcpts[i], r);
			cl->accepted = 0;
		}
		after_envelope(cl);
		return;
	case EXP_BODY:
		for (size_t i = 0; i < tx->nrcpts; i++)
			if (tx->rcpts[i].rcpt_accepted && tx->rcpts[i].status == SMTP_RCPT_PENDING)
				set_result(&tx->rcpts[i], r);
		finish_tx(cl);
		become_ready(cl);
		return;
	}
	arm(cl, SMTP_TIMEOUT_COMMAND);
}

/* ---- input ---- */

static void on_reply(struct smtp_client *cl, const struct smtp_reply *r)
{
	char d[SMTP_REPLY_TEXT + 64];
	snprintf(d, sizeof d, "state=%s code=%d text=\"%s\"", smtp_client_state_name(cl->state),
	         r->code, r->text);
	cl_log(cl, "reply", d);
	if (r->error) {
		fail(cl, r);
		return;
	}
	switch (cl->state) {
	case SC_GREETING:
		if (r->code == 220)
			send_ehlo(cl);
		else
			fail(cl, r);
		return;
	case SC_EHLO:
		if (r->code == 250) {
			after_hello(cl);
		} else if (r->code != 421 && !cl->tls_active && !cl->did_helo) {
			cl->did_helo = true;
			cl->ext = 0;
			sendf(cl, "HELO %s\r\n", cl->opts.helo);
			enter(cl, SC_HELO);
			arm(cl, SMTP_TIMEOUT_COMMAND);
		} else {
			fail(cl, r);
		}
		return;
	case SC_HELO:
		if (r->code == 250)
			after_hello(cl);
		else
			fail(cl, r);
		return;
	case SC_STARTTLS:
		if (r->code == 220) {
			enter(cl, SC_TLS);
			arm(cl, SMTP_TIMEOUT_COMMAND);
			if (cl->io.starttls(cl->ud) != 0)
				failf(cl, 451, "4.7.5", "cannot start TLS");
			return;
		}
		if (r->code == 421) {
			fail(cl, r);
			return;
		}
		/* Refused: go on in plaintext unless TLS is required. */
		cl->ext &= ~(unsigned)SMTP_EXT_STARTTLS;
		after_hello(cl);
		return;
	case SC_TLS:
		failf(cl, 421, "4.7.5", "unexpected reply during the TLS handshake");
		return;
	case SC_AUTH:
	case SC_AUTH_USER:
	case SC_AUTH_PASS:
		on_auth_reply(cl, r);
		return;
	case SC_TX:
		tx_reply(cl, r);
		return;
	case SC_RSET:
		if (r->code / 100 != 2 && r->code != 421) {
			/* The server cannot reset: this session is done for. */
			finish_tx(cl);
			fail(cl, r);
			return;
		}
		if (r->code == 421) {
			finish_tx(cl);
			fail(cl, r);
			return;
		}
		finish_tx(cl);
		become_ready(cl);
		return;
	case SC_READY:
	case SC_QUIT:
		if (cl->state == SC_QUIT)
			return;
		fail(cl, r); /* e.g. an idle-timeout 421 */
		return;
	case SC_FAILED:
		return;
	}
}

void smtp_client_line(struct smtp_client *cl, const char *line, size_t len)
{
	if (cl->state == SC_FAILED)
		return;
	if (cl->state == SC_EHLO && len > 4 && line[0] == '2' && line[1] == '5' && line[2] == '0' &&
	    cl->reply.nlines >= 1)
		smtp_ehlo_keyword(line + 4, len - 4, &cl->ext, &cl->max_size);
	int rc = smtp_reply_feed(&cl->reply, line, len);
	if (rc == 0)
		return;
	struct smtp_reply r = cl->reply;
	smtp_reply_reset(&cl->reply);
	on_reply(cl, &r);
}

void smtp_client_tls_done(struct smtp_client *cl, bool ok, const char *err)
{
	if (cl->state != SC_TLS)
		return;
	if (!ok) {
		char t[256];
		snprintf(t, sizeof t, "TLS handshake with the next hop failed: %s",
		         err ? err : "?");
		failf(cl, 421, "4.7.5", t);
		return;
	}
	cl->tls_active = true;
	cl_log(cl, "tls", "active=yes");
	send_ehlo(cl);
}

void smtp_client_timed_out(struct smtp_client *cl)
{
	if (cl->state == SC_FAILED || cl->state == SC_QUIT || cl->state == SC_READY)
		return;
	char t[128];
	snprintf(t, sizeof t, "timeout waiting for the server (state %s)",
	         smtp_client_state_name(cl->state));
	failf(cl, 421, "4.4.2", t);
}

void smtp_client_closed(struct smtp_client *cl)
{
	if (cl->state == SC_FAILED || cl->state == SC_QUIT)
		return;
	char t[128];
	snprintf(t, sizeof t, "connection lost (state %s)", smtp_client_state_name(cl->state));
	failf(cl, 421, "4.4.2", t);
}

void smtp_client_quit(struct smtp_client *cl)
{
	if (cl->state == SC_FAILED || cl->state == SC_QUIT)
		return;
	if (cl->state != SC_GREETING && cl->state != SC_TLS)
		send_str(cl, "QUIT\r\n");
	enter(cl, SC_QUIT);
	arm(cl, 0);
}
