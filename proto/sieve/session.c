/* session: the ManageSieve server session (RFC 5804).
 *
 * Why it looks like this. ManageSieve is IMAP's syntax with a handful of
 * commands: a client logs in (SASL, after STARTTLS), then lists, uploads,
 * checks, activates, fetches, renames and deletes its Sieve scripts. There
 * are no tags: every command gets exactly one response, in order. So the
 * session is three states and a command table, like POP3's:
 *
 *    connect: capabilities + OK
 *          |
 *          v
 *   +--> NONAUTH --AUTHENTICATE--> SASL --(response)*--+
 *   |     |  ^  ^                   |                  |
 *   |     |  |  +-- NO (failed, ----+                  |
 *   |     |  |      cancelled)                         |
 *   |     |  +-------------- UNAUTHENTICATE --+        |
 *   |     |                                   |        v
 *   +-----+ STARTTLS: OK, handshake,          +------ AUTH --(script commands)
 *         capabilities again + OK
 *
 *   LOGOUT, too many errors, the idle timeout, a literal over the limit:
 *   BYE or OK, then the conn closes (from any state).
 *
 * A command may span several lines: an argument can be a literal ("{N+}"
 * CRLF and N octets), after which the command line goes on. The session
 * collects lines and literals in one buffer and asks parse.c after each
 * line whether the command is complete or a literal comes next; a literal
 * is read with the conn's BLOCK mode into the same buffer. Bounds: a line
 * is at most max_line, a literal at most max_literal once logged in and
 * max_line before, when a SASL response is all it can be (one over it gets
 * BYE before a byte of it is read: the client sends a non-synchronizing
 * literal anyway, and reading megabytes only to refuse them is what an
 * attacker wants), the whole command at most one literal's bound plus two
 * lines.
 *
 * Everything asynchronous (the password check, a store write) pauses the
 * conn, so pipelined commands wait in the input buffer; a pending job holds
 * a reference on the session, and its completion only finishes the store
 * side when the conn has gone meanwhile.
 *
 * Login is refused before TLS, and SASL is advertised empty, unless the
 * listener is implicit TLS or [auth] plaintext_loopback allows a loopback
 * peer (the same rule as IMAP's LOGINDISABLED and POP3's). */
#include "proto/sieve/msieve_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/common/env.h"
#include "proto/common/session.h"
#include "net/conn.h"

/* ---- collecting a command ---- */

#define MSIEVE_KEEP_BUFFER (16 * 1024)

/* A literal's bound: a script's worth once logged in; before, no more
 * than a line (a SASL response), so an unknown client holds little. */
static size_t literal_limit(const struct msieve_session *s)
{
	return (size_t)(s->state == MSIEVE_AUTH ? s->cfg->max_literal : s->cfg->max_line);
}

static size_t command_limit(const struct msieve_session *s)
{
	return (size_t)s->cfg->max_line * 2 + literal_limit(s);
}

/* Room for n more bytes in the command buffer (and the parser's). */
static bool reserve(struct msieve_session *s, size_t n)
{
	if (s->cmd_len + n <= s->cmd_cap)
		return true;
	size_t cap = s->cmd_cap ? s->cmd_cap : 256;
	while (cap < s->cmd_len + n)
		cap *= 2;
	char *cmd = realloc(s->cmd, cap);
	if (!cmd)
		return false;
	s->cmd = cmd;
	char *out = realloc(s->out, cap + MSIEVE_MAX_ARGS);
	if (!out)
		return false;
	s->out = out;
	s->cmd_cap = cap;
	return true;
}

static void forget_command(struct msieve_session *s)
{
	/* a SASL response or a script may be in there */
	if (s->cmd)
		explicit_bzero(s->cmd, s->cmd_len);
	if (s->out)
		explicit_bzero(s->out, s->cmd_len + MSIEVE_MAX_ARGS);
	s->cmd_len = 0;
	s->literal_left = 0;
	/* an idle session keeps no script-sized buffers */
	if (s->cmd_cap > MSIEVE_KEEP_BUFFER) {
		free(s->cmd);
		free(s->out);
		s->cmd = s->out = NULL;
		s->cmd_cap = 0;
	}
}

static void abandon_sasl(struct msieve_session *s)
{
	if (s->state != MSIEVE_SASL)
		return;
	sasl_clear(&s->sasl);
	msieve_enter_state(s, MSIEVE_NONAUTH);
}

static void dispatch(struct msieve_session *s, struct msieve_cmd *cmd)
{
	if (s->state == MSIEVE_SASL) {
		msieve_sasl_response(s, &cmd->args[0]);
		return;
	}
	const struct msieve_command *def = msieve_command_find(cmd->verb);
	if (!def) {
		char v[32];
		msieve_log(s, LOG_DEBUG, "event=unknown_command verb=%s",
		           log_kv_escape(v, sizeof v, cmd->verb, strlen(cmd->verb)));
		msieve_fail(s, NULL, "Unknown command");
		return;
	}
	if (!(def->states & MSIEVE_ST(s->state))) {
		msieve_fail(s, NULL,
		            s->state == MSIEVE_NONAUTH ? "Authenticate first"
		                                       : "Already authenticated");
		return;
	}
	if (cmd->nargs < def->min_args || cmd->nargs > def->max_args) {
		msieve_fail(s, NULL, "Wrong number of arguments");
		return;
	}
	for (size_t i = 0; i < cmd->nargs; i++) {
		bool number_ok = def->number_last && i + 1 == cmd->nargs;
		if ((cmd->args[i].kind == MSIEVE_ARG_NUMBER) != number_ok) {
			msieve_fail(s, NULL, number_ok ? "Expected a number" : "Expected a string");
			return;
		}
	}
	msieve_log(s, LOG_DEBUG, "event=command verb=%s", def->verb);
	def->handler(s, cmd);
}

/* The buffer ends with a whole line: is the command complete? */
static void collected(struct msieve_session *s)
{
	struct msieve_cmd cmd;
	uint64_t literal = 0;
	const char *why = NULL;
	enum msieve_parse_status st =
	    msieve_parse(s->cmd, s->cmd_len, s->state != MSIEVE_SASL, &cmd, s->out, &literal, &why);
	if (st == MSIEVE_PARSE_LITERAL) {
		if (literal > literal_limit(s) || s->cmd_len + literal > command_limit(s) ||
		    !reserve(s, (size_t)literal)) {
			msieve_log(s, LOG_INFO, "event=literal_too_big size=%llu",
			           (unsigned long long)literal);
			forget_command(s);
			msieve_respondf(s, "BYE", "QUOTA/MAXSIZE",
			                "Literal of %llu octets is over the limit of %lld",
			                (unsigned long long)literal, (long long)literal_limit(s));
			msieve_close(s);
			return;
		}
		s->literal_left = (size_t)literal;
		if (literal > 0)
			conn_read_block(s->conn, literal);
		return; /* a zero-length literal: the line goes on at once */
	}
	if (st == MSIEVE_PARSE_ERROR) {
		forget_command(s);
		if (s->state == MSIEVE_SASL) {
			abandon_sasl(s);
			msieve_fail(s, NULL, "Malformed SASL response");
			return;
		}
		msieve_fail(s, NULL, why);
		return;
	}
	dispatch(s, &cmd);
	forget_command(s);
}

/* ---- conn callbacks ---- */

static void on_line(struct conn *c, const char *line, size_t len, bool too_long)
{
	struct msieve_session *s = conn_session(c);
	if (s->state == MSIEVE_LOGOUT)
		return;
	if (too_long || s->cmd_len + len + 2 > command_limit(s)) {
		msieve_log(s, LOG_INFO, "event=line_too_long");
		forget_command(s);
		abandon_sasl(s);
		msieve_fail(s, NULL, "Line too long");
		return;
	}
	if (!reserve(s, len + 2)) {
		msieve_respond(s, "BYE", "TRYLATER", "Out of memory");
		msieve_close(s);
		return;
	}
	memcpy(s->cmd + s->cmd_len, line, len);
	memcpy(s->cmd + s->cmd_len + len, "\r\n", 2);
	s->cmd_len += len + 2;
	collected(s);
}

static void on_block(struct conn *c, const char *data, size_t len, bool last)
{
	struct msieve_session *s = conn_session(c);
	if (s->state == MSIEVE_LOGOUT)
		return;
	if (len > s->literal_left)
		len = s->literal_left;          /* cannot happen: conn counts the block */
	memcpy(s->cmd + s->cmd_len, data, len); /* reserved when the literal began */
	s->cmd_len += len;
	s->literal_left -= len;
	(void)last; /* the rest of the command line comes as the next line */
}

static void on_tls_done(struct conn *c, bool ok)
{
	msieve_tls_done(conn_session(c), ok);
}

static void on_timeout(struct conn *c)
{
	struct msieve_session *s = conn_session(c);
	if (s->env->stopping) {
		msieve_log(s, LOG_INFO, "event=shutdown state=%s", msieve_state_name(s->state));
		msieve_respond(s, "BYE", "TRYLATER", "Server shutting down");
	} else {
		msieve_log(s, LOG_INFO, "event=timeout state=%s", msieve_state_name(s->state));
		msieve_respond(s, "BYE", NULL, "Idle timeout, closing");
	}
	msieve_close(s);
}

static void on_closed(struct conn *c)
{
	struct msieve_session *s = conn_session(c);
	msieve_log(s, LOG_INFO, "event=close state=%s errors=%lld", msieve_state_name(s->state),
	           (long long)s->errors);
	s->closed = true;
	s->conn = NULL;
	msieve_enter_state(s, MSIEVE_LOGOUT);
	auth_cancel(s->auth);
	s->auth = NULL;
	sasl_clear(&s->sasl);
	forget_command(s);
	msieve_unref(s);
}

static const struct conn_callbacks msieve_callbacks = {
    .line = on_line,
    .block = on_block,
    .tls_done = on_tls_done,
    .timeout = on_timeout,
    .closed = on_closed,
};

void msieve_session_start(struct conn *c, void *ctx)
{
	const struct msieve_ctx *x = ctx;
	struct msieve_session *s =
	    proto_session_new(c, sizeof *s, &msieve_callbacks, (size_t)x->settings->max_line);
	if (!s)
		return;
	s->conn = c;
	s->env = x->env;
	s->cfg = x->settings;
	s->refs = 1;
	s->sid = conn_id(c);
	snprintf(s->peer, sizeof s->peer, "%s", conn_peer(c));
	s->state = MSIEVE_NONAUTH;

	msieve_log(s, LOG_INFO, "event=connect tls=%s", conn_is_tls(c) ? "yes" : "no");
	if (s->env->stopping) {
		msieve_respond(s, "BYE", "TRYLATER", "Server shutting down");
		msieve_close(s);
		return;
	}
	msieve_write_capabilities(s);
	msieve_respond(s, "OK", NULL, "tern ManageSieve ready");
}
