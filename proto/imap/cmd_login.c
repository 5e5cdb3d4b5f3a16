/* cmd_login: the not-authenticated commands (RFC 9051 §6.2): STARTTLS,
 * AUTHENTICATE (PLAIN, LOGIN, SCRAM-SHA-1/256 and their -PLUS, with
 * SASL-IR; proto/sasl) and LOGIN.
 *
 * Login is asynchronous: the password check runs in the thread pool
 * (auth_check), the command returns IMAP_ASYNC and the check's completion
 * wakes it. AUTHENTICATE additionally reads continuation lines: the
 * session is put in IMAP_IN_AUTH so raw base64 lines go to
 * auth_line() instead of the parser; input stays flowing for those
 * lines and is paused only while the password is checked. What happens
 * after the STARTTLS handshake (the parser and SASL state forgotten) is
 * session.c's: it owns both.
 */
#include "proto/imap/imap_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "net/conn.h"
#include "proto/common/env.h"

enum imap_cmd_result imap_cmd_starttls(struct imap_session *s, struct imap_cmd *cmd)
{
	if (conn_is_tls(s->conn) || !conn_tls_available(s->conn)) {
		imap_tagged(s, cmd, "BAD", NULL, "STARTTLS not available");
		return IMAP_DONE;
	}
	imap_tagged(s, cmd, "OK", NULL, "Begin TLS negotiation now");
	if (conn_starttls(s->conn) != 0) {
		imap_untagged(s, "BYE [UNAVAILABLE] TLS failed");
		imap_close(s);
		return IMAP_DONE;
	}
	return IMAP_DONE;
}

/* ---- password check ---- */

struct login_ctx {
	enum auth_result result;
	struct auth_account acct;
	const char *mech;
};

static void on_auth_done(void *ud, enum auth_result result, const struct auth_account *acct)
{
	struct imap_session *s = ud;
	s->auth = NULL;
	struct login_ctx *lc = s->cur ? s->cur->ctx : NULL;
	if (lc) {
		lc->result = result;
		if (acct)
			lc->acct = *acct;
	}
	imap_cmd_wake(s);
}

/* Start the check (LOGIN's user and password, or the finished SASL
 * exchange's when user is NULL); the command goes ASYNC. */
static enum imap_cmd_result check_password(struct imap_session *s, struct imap_cmd *cmd,
                                           const char *user, const char *pass)
{
	char u[128];
	struct login_ctx *lc = cmd->ctx;
	const char *who = user ? user : s->sasl->user;
	imap_log(s, LOG_DEBUG, "event=auth_check mech=%s user=%s", lc->mech,
	         log_kv_escape(u, sizeof u, who, strlen(who)));
	if (user)
		s->auth =
		    auth_check(s->env->auth, conn_peer_ip(s->conn), user, pass, on_auth_done, s);
	else
		s->auth = sasl_auth_check(s->sasl, on_auth_done, s);
	imap_sasl_end(s);
	if (!s->auth) {
		imap_tagged(s, cmd, "NO", "UNAVAILABLE", "Out of memory, try again later");
		return IMAP_DONE;
	}
	cmd->step = 2;
	imap_pause_input(s);
	return IMAP_ASYNC;
}

static enum imap_cmd_result login_result(struct imap_session *s, struct imap_cmd *cmd)
{
	struct login_ctx *lc = cmd->ctx;
	char u[128];
	switch (lc->result) {
	case AUTH_OK: {
		s->account_id = lc->acct.account_id;
		snprintf(s->address, sizeof s->address, "%s", lc->acct.address);
		conn_clear_deadline(s->conn); /* logged in: only the idle timeout now */
		imap_enter_state(s, IMAP_AUTH);
		imap_log(s, LOG_INFO, "event=login mech=%s user=%s", lc->mech,
		         log_kv_escape(u, sizeof u, s->address, strlen(s->address)));
		char caps[1024];
		char *code = imap_arena_printf(&cmd->arena, "CAPABILITY %s",
		                               imap_capabilities(s, caps, sizeof caps));
		imap_tagged(s, cmd, "OK", code, "Logged in");
		break;
	}
	case AUTH_THROTTLED:
		imap_log(s, LOG_INFO, "event=login_throttled mech=%s", lc->mech);
		imap_tagged(s, cmd, "NO", "UNAVAILABLE", "Too many failures, try again later");
		break;
	case AUTH_TEMPFAIL:
		imap_tagged(s, cmd, "NO", "UNAVAILABLE", "Temporary failure, try again later");
		break;
	default:
		imap_log(s, LOG_INFO, "event=login_failed mech=%s", lc->mech);
		imap_tagged(s, cmd, "NO", "AUTHENTICATIONFAILED", "Authentication failed");
		break;
	}
	return IMAP_DONE;
}

enum imap_cmd_result imap_cmd_login(struct imap_session *s, struct imap_cmd *cmd)
{
	if (cmd->step == 2)
		return login_result(s, cmd);
	const char *user, *pass;
	size_t ulen, plen;
	if (cmd->nargs != 2 || !imap_arg_astring(&cmd->args[0], &user, &ulen) ||
	    !imap_arg_astring(&cmd->args[1], &pass, &plen)) {
		imap_tagged(s, cmd, "BAD", NULL, "Usage: LOGIN user password");
		return IMAP_DONE;
	}
	if (!imap_login_allowed(s)) {
		imap_tagged(s, cmd, "NO", "PRIVACYREQUIRED", "Use STARTTLS first");
		return IMAP_DONE;
	}
	if (ulen > SASL_USER_MAX || plen > SASL_PASS_MAX || memchr(user, 0, ulen) ||
	    memchr(pass, 0, plen)) {
		imap_tagged(s, cmd, "NO", "AUTHENTICATIONFAILED", "Authentication failed");
		return IMAP_DONE;
	}
	struct login_ctx *lc = imap_arena_alloc(&cmd->arena, sizeof *lc);
	lc->mech = "login";
	cmd->ctx = lc;
	return check_password(s, cmd, user, pass);
}

/* An AUTHENTICATE continuation line: one SASL step, then wake the
 * command with the status. */
static void auth_line(struct imap_session *s, const char *line, size_t len)
{
	if (!s->cur || s->cur->step != 1) {
		imap_set_input(s, IMAP_IN_COMMAND, NULL);
		return;
	}
	struct login_ctx *lc = s->cur->ctx;
	/* The status travels to the handler through the context. */
	lc->acct.account_id = s->sasl ? (int64_t)sasl_step(s->sasl, line, len) : SASL_EPROTO;
	imap_set_input(s, IMAP_IN_COMMAND, NULL);
	imap_cmd_wake(s);
}

/* AUTHENTICATE: step 0 start, 1 waiting for a continuation line, 2 checking. */
static enum imap_cmd_result sasl_next(struct imap_session *s, struct imap_cmd *cmd,
                                      enum sasl_status st)
{
	switch (st) {
	case SASL_CHALLENGE:
		imap_printf(s, "+ %s\r\n", s->sasl->challenge);
		cmd->step = 1;
		imap_set_input(s, IMAP_IN_AUTH, auth_line);
		return IMAP_ASYNC;
	case SASL_DONE:
		imap_set_input(s, IMAP_IN_COMMAND, NULL);
		return check_password(s, cmd, NULL, NULL);
	case SASL_CANCELLED:
		imap_set_input(s, IMAP_IN_COMMAND, NULL);
		imap_sasl_end(s);
		imap_tagged(s, cmd, "BAD", NULL, "AUTHENTICATE cancelled");
		return IMAP_DONE;
	case SASL_EBASE64:
		imap_set_input(s, IMAP_IN_COMMAND, NULL);
		imap_sasl_end(s);
		imap_tagged(s, cmd, "BAD", NULL, "Invalid base64");
		return IMAP_DONE;
	default:
		imap_set_input(s, IMAP_IN_COMMAND, NULL);
		imap_sasl_end(s);
		imap_tagged(s, cmd, "NO", "AUTHENTICATIONFAILED", "Authentication failed");
		return IMAP_DONE;
	}
}

enum imap_cmd_result imap_cmd_authenticate(struct imap_session *s, struct imap_cmd *cmd)
{
	struct login_ctx *lc = cmd->ctx;
	if (cmd->step == 2)
		return login_result(s, cmd);
	if (cmd->step == 1) {
		/* woken by auth_line with a status in lc->result */
		enum sasl_status st = (enum sasl_status)lc->acct.account_id;
		if (s->closed)
			return IMAP_DONE;
		return sasl_next(s, cmd, st);
	}
	const char *mech;
	size_t mlen;
	if (cmd->nargs < 1 || cmd->nargs > 2 || cmd->args[0].type != IMAP_ARG_ATOM) {
		imap_tagged(s, cmd, "BAD", NULL,
		            "Usage: AUTHENTICATE mechanism [initial-response]");
		return IMAP_DONE;
	}
	mech = cmd->args[0].str;
	mlen = cmd->args[0].len;
	enum sasl_mech m = sasl_mech_parse(mech, mlen);
	if (m == SASL_MECH_NONE) {
		imap_tagged(s, cmd, "NO", "CANNOT", "Unsupported authentication mechanism");
		return IMAP_DONE;
	}
	if (!imap_login_allowed(s)) {
		imap_tagged(s, cmd, "NO", "PRIVACYREQUIRED", "Use STARTTLS first");
		return IMAP_DONE;
	}
	const char *ir = NULL;
	size_t irlen = 0;
	if (cmd->nargs == 2 && !imap_arg_astring(&cmd->args[1], &ir, &irlen)) {
		imap_tagged(s, cmd, "BAD", NULL, "Invalid initial response");
		return IMAP_DONE;
	}
	lc = imap_arena_alloc(&cmd->arena, sizeof *lc);
	lc->mech = sasl_mech_log_name(m);
	cmd->ctx = lc;
	imap_sasl_end(s);
	if (!(s->sasl = calloc(1, sizeof *s->sasl))) {
		imap_tagged(s, cmd, "NO", "UNAVAILABLE", "Out of memory, try again later");
		return IMAP_DONE;
	}
	unsigned char cb[SASL_CB_MAX];
	struct sasl_peer peer = {.pool = s->env->auth, .ip = conn_peer_ip(s->conn), .cb = cb};
	peer.cb_type = conn_channel_binding(s->conn, cb, sizeof cb, &peer.cb_len);
	enum sasl_status st = sasl_start_peer(s->sasl, m, ir, irlen, &peer);
	explicit_bzero(cb, sizeof cb);
	return sasl_next(s, cmd, st);
}
