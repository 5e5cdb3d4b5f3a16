/* session: the POP3 server session (RFC 1939, 2449, 5034, 2595, 8314).
 *
 * Why it looks like this. POP3 is a small protocol with one sharp edge: a
 * client that believes a message is deleted must never see it again, and a
 * client whose connection drops must lose nothing. RFC 1939 gets there with
 * three states. In AUTHORIZATION the client proves who it is; at login the
 * session locks the maildrop and takes a snapshot of INBOX, so message
 * numbers mean the same thing for the whole session (mail delivered later
 * shows up at the next login). In TRANSACTION, DELE only marks. QUIT enters
 * UPDATE, which applies every mark in ONE store job and answers +OK only
 * from that job's completion, i.e. after COMMIT. A dropped connection, an
 * idle timeout or too many errors never pass through UPDATE, so they delete
 * nothing.
 *
 * Everything asynchronous (the password check in the thread pool, the QUIT
 * job on the writer thread) pauses the conn, so pipelined commands wait in
 * the input buffer and the replies stay in order (RFC 2449 PIPELINING).
 * A pending job keeps a reference on the session; when the conn closes
 * first, `closed` is set and the completion only finishes the store side.
 *
 * RETR and TOP stream the message from the store in 64 KiB pieces: a
 * piece is read, stuffed and queued only while the conn's
 * output queue is under its limit, and the `drained` callback resumes the
 * stream. A 50 MB message never sits in memory whole.
 *
 * Login is refused before TLS ("-ERR [AUTH] ... use STLS") unless the
 * config allows plaintext from loopback; USER, SASL and STLS are advertised
 * in CAPA only when they can be used. After STLS the session is back in
 * AUTHORIZATION with nothing remembered from before the handshake.
 *
 * The idle timer is RFC 1939's autologout timer (10 minutes by default,
 * [pop3] timeout): on expiry the server "should close the TCP connection
 * without removing any messages or sending any response", so it does just
 * that. At shutdown the same callback says "-ERR [SYS/TEMP]" first.
 *
 *            connect / tls_done(ok)
 *                    |
 *                    v
 *   +------> AUTHORIZATION --AUTH mech--> SASL
 *   |          |   |    ^                 |  |
 *   | STLS ok  |   |    +--- fail/cancel -+  |
 *   +----------+   |                         |
 *                  +-- PASS / SASL ok, lock, snapshot
 *                  |                         |
 *                  v                         v
 *            QUIT: +OK                  TRANSACTION
 *                  |                         |
 *                  |                    QUIT (one store job)
 *                  |                         v
 *                  |                      UPDATE --commit done--> +OK / -ERR [SYS/TEMP]
 *                  v                                                  |
 *                LOGOUT <---------------------------------------------+
 *                  ^
 *                  +-- drop, timeout, too many errors (from any state;
 *                      nothing is deleted)
 */
#include "proto/pop3/pop3_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/common/env.h"
#include "proto/common/session.h"
#include "proto/pop3/lock.h"
#include "net/conn.h"

/* ---- conn callbacks ---- */

static void on_line(struct conn *c, const char *line, size_t len, bool too_long)
{
	struct pop3_session *s = conn_session(c);
	if (s->state == POP3_LOGOUT || s->state == POP3_UPDATE)
		return;
	if (too_long) {
		pop3_log(s, LOG_INFO, "event=line_too_long");
		if (s->state == POP3_SASL) {
			sasl_clear(&s->sasl);
			pop3_enter_state(s, POP3_AUTHORIZATION);
		}
		pop3_reply(s, "-ERR line too long");
		pop3_error(s);
		return;
	}
	if (s->state == POP3_SASL) {
		pop3_sasl_line(s, line, len);
		return;
	}
	if (len + 1 > s->linecap) {
		char *p = realloc(s->linebuf, len + 1);
		if (!p) {
			pop3_reply(s, "-ERR [SYS/TEMP] out of memory");
			pop3_close(s);
			return;
		}
		s->linebuf = p;
		s->linecap = len + 1;
	}
	memcpy(s->linebuf, line, len);

	struct pop3_cmd cmd;
	int rc = pop3_parse(s->linebuf, len, &cmd);
	if (rc < 0) {
		pop3_reply(s, "-ERR syntax error");
		pop3_error(s);
		return;
	}
	const struct pop3_command *def = pop3_command_find(cmd.verb);
	if (!def) {
		char v[16];
		pop3_log(s, LOG_DEBUG, "event=unknown_command verb=%s",
		         log_kv_escape(v, sizeof v, cmd.verb, strlen(cmd.verb)));
		pop3_reply(s, "-ERR unknown command");
		pop3_error(s);
		return;
	}
	if (!(def->states & POP3_ST(s->state))) {
		pop3_reply(s, "-ERR %s is not valid in the %s state", def->verb,
		           pop3_state_name(s->state));
		pop3_error(s);
		return;
	}
	if (cmd.too_many && !(def->flags & POP3_CMD_RAW_ARG)) {
		pop3_reply(s, "-ERR too many arguments");
		pop3_error(s);
		return;
	}
	pop3_log(s, LOG_DEBUG, "event=command verb=%s", def->verb);
	s->raw_line = line;
	s->raw_len = len;
	def->handler(s, &cmd);
	s->raw_line = NULL;
}

static void on_drained(struct conn *c)
{
	struct pop3_session *s = conn_session(c);
	if (s->stream.active)
		pop3_stream_pump(s);
}

static void on_tls_done(struct conn *c, bool ok)
{
	pop3_tls_done(conn_session(c), ok);
}

static void on_timeout(struct conn *c)
{
	struct pop3_session *s = conn_session(c);
	if (s->env->stopping) {
		pop3_log(s, LOG_INFO, "event=shutdown state=%s", pop3_state_name(s->state));
		/* In the middle of a RETR or TOP a reply would be a line of the
		 * message: close without one, and the missing "." tells the
		 * client the message is incomplete. */
		if (!s->stream.active)
			pop3_reply(s, "-ERR [SYS/TEMP] server shutting down, try again later");
	} else {
		/* RFC 1939 section 3: the autologout timer closes without a
		 * response and without entering UPDATE. */
		pop3_log(s, LOG_INFO, "event=timeout state=%s", pop3_state_name(s->state));
	}
	pop3_close(s);
}

static void on_closed(struct conn *c)
{
	struct pop3_session *s = conn_session(c);
	pop3_log(s, LOG_INFO, "event=close state=%s errors=%lld", pop3_state_name(s->state),
	         (long long)s->errors);
	s->closed = true;
	s->conn = NULL;
	s->stream.active = false;
	pop3_enter_state(s, POP3_LOGOUT);
	auth_cancel(s->auth);
	s->auth = NULL;
	sasl_clear(&s->sasl);
	if (s->locked) {
		pop3_lock_release(s->account_id);
		s->locked = false;
	}
	/* Messages retrieved were seen, whether or not the client said QUIT. */
	pop3_maildrop_flush_seen(s);
	pop3_unref(s);
}

static const struct conn_callbacks pop3_callbacks = {
    .line = on_line,
    .drained = on_drained,
    .tls_done = on_tls_done,
    .timeout = on_timeout,
    .closed = on_closed,
};

void pop3_session_start(struct conn *c, void *ctx)
{
	const struct pop3_ctx *x = ctx;
	struct pop3_session *s =
	    proto_session_new(c, sizeof *s, &pop3_callbacks, (size_t)x->settings->max_line);
	if (!s)
		return;
	s->conn = c;
	s->env = x->env;
	s->cfg = x->settings;
	s->tls_port = x->tls_port;
	s->refs = 1;
	s->sid = conn_id(c);
	snprintf(s->peer, sizeof s->peer, "%s", conn_peer(c));
	s->state = POP3_AUTHORIZATION;

	pop3_log(s, LOG_INFO, "event=connect tls=%s", conn_is_tls(c) ? "yes" : "no");
	if (s->env->stopping) {
		pop3_reply(s, "-ERR [SYS/TEMP] server shutting down");
		pop3_close(s);
		return;
	}
	pop3_reply(s, "+OK tern POP3 ready");
}
