/* cmd_auth: the AUTHORIZATION state: CAPA, USER, PASS, AUTH, APOP,
 * STLS, and what happens when a password check comes back.
 *
 * Why login is refused before TLS: USER/PASS and SASL PLAIN/LOGIN send the
 * password in the clear. RFC 8314 says submit-and-read protocols should use
 * TLS, so without TLS tern answers "-ERR [AUTH]" with a hint to use STLS or
 * the implicit-TLS port, and does not advertise USER or SASL. The only
 * exception is a loopback client when [auth] plaintext_loopback is on
 * (local fetchers, tests).
 *
 * Why the IN-USE check comes after the password check: telling an
 * unauthenticated client that a maildrop is busy would confirm that the
 * account exists.
 */
#include "proto/pop3/pop3_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "proto/pop3/lock.h"
#include "net/conn.h"
#include "proto/common/env.h"

void pop3_auth_reset(struct pop3_session *s)
{
	sasl_clear(&s->sasl);
	memset(s->user, 0, sizeof s->user);
	s->have_user = false;
	s->mech_name = NULL;
}

/* The SASL mechanisms this connection offers, separated by sep. */
static const char *mech_list(struct pop3_session *s, const char *sep, char *buf, size_t len)
{
	unsigned char cb[SASL_CB_MAX];
	size_t cblen = 0;
	bool plus = conn_channel_binding(s->conn, cb, sizeof cb, &cblen) != NULL;
	explicit_bzero(cb, sizeof cb);
	return sasl_mech_list_sep(plus, sep, buf, len);
}

void pop3_cmd_capa(struct pop3_session *s, struct pop3_cmd *cmd)
{
	bool authz = s->state == POP3_AUTHORIZATION;
	bool login = authz && pop3_login_allowed(s);
	bool stls = authz && !conn_is_tls(s->conn) && conn_tls_available(s->conn);
	char mechs[200];
	char buf[512];
	int n = snprintf(buf, sizeof buf,
	                 "+OK Capability list follows\r\n"
	                 "TOP\r\n"
	                 "UIDL\r\n"
	                 "RESP-CODES\r\n"
	                 "AUTH-RESP-CODE\r\n"
	                 "PIPELINING\r\n"
	                 "%s%s%s%s%s"
	                 "IMPLEMENTATION tern\r\n"
	                 ".\r\n",
	                 login ? "USER\r\n" : "", login ? "SASL " : "",
	                 login ? mech_list(s, " ", mechs, sizeof mechs) : "", login ? "\r\n" : "",
	                 stls ? "STLS\r\n" : "");
	if (n > 0 && (size_t)n < sizeof buf)
		pop3_write(s, buf, (size_t)n);
}

/* The refusal names what this server has: STLS where the listener offers
 * it, and the port of the implicit-TLS listener if there is one (the
 * configured one: 995 is only the usual number). */
static void reply_need_tls(struct pop3_session *s)
{
	char how[80];
	bool stls = conn_tls_available(s->conn);

	if (stls && s->tls_port > 0)
		snprintf(how, sizeof how, "STLS first, or the POP3S port (%d)", s->tls_port);
	else if (s->tls_port > 0)
		snprintf(how, sizeof how, "the POP3S port (%d)", s->tls_port);
	else
		snprintf(how, sizeof how, "%s", stls ? "STLS first" : "TLS");
	pop3_reply(s, "-ERR [AUTH] Plaintext authentication is not allowed without TLS: use %s",
	           how);
}

static bool refuse_plaintext(struct pop3_session *s, const char *what)
{
	if (pop3_login_allowed(s))
		return false;
	pop3_log(s, LOG_INFO, "event=login_refused reason=no_tls cmd=%s", what);
	reply_need_tls(s);
	pop3_error(s);
	return true;
}

void pop3_cmd_user(struct pop3_session *s, struct pop3_cmd *cmd)
{
	if (refuse_plaintext(s, "USER"))
		return;
	if (cmd->nargs != 1 || strlen(cmd->args[0]) > SASL_USER_MAX) {
		pop3_reply(s, "-ERR usage: USER name");
		pop3_error(s);
		return;
	}
	pop3_auth_reset(s);
	snprintf(s->user, sizeof s->user, "%s", cmd->args[0]);
	s->have_user = true;
	pop3_reply(s, "+OK send PASS");
}

/* ---- the password check ---- */

static void login_succeeded(struct pop3_session *s, const struct auth_account *acct)
{
	char u[128];
	log_kv_escape(u, sizeof u, acct->address, strlen(acct->address));
	if (!pop3_lock_acquire(acct->account_id)) {
		pop3_log(s, LOG_INFO, "event=login_refused reason=in_use user=%s", u);
		pop3_reply(s, "-ERR [IN-USE] Maildrop is locked by another POP3 session");
		pop3_enter_state(s, POP3_AUTHORIZATION);
		pop3_error(s);
		return;
	}
	s->locked = true;
	s->account_id = acct->account_id;
	snprintf(s->address, sizeof s->address, "%s", acct->address);
	int rc = pop3_snapshot_open(s);
	if (rc < 0) {
		pop3_log(s, LOG_ERROR, "event=maildrop_error user=%s err=%d", u, rc);
		pop3_lock_release(s->account_id);
		s->locked = false;
		pop3_reply(s, rc == -ENOENT
		                  ? "-ERR [SYS/PERM] The maildrop does not exist"
		                  : "-ERR [SYS/TEMP] Cannot open the maildrop, try later");
		pop3_enter_state(s, POP3_AUTHORIZATION);
		return;
	}
	int64_t total = 0;
	for (uint32_t i = 0; i < s->nmsgs; i++)
		total += s->msgs[i].size;
	pop3_log(s, LOG_INFO, "event=login user=%s mech=%s messages=%u octets=%lld", u,
	         s->mech_name ? s->mech_name : "?", s->nmsgs, (long long)total);
	conn_clear_deadline(s->conn); /* logged in: only the idle timeout from now on */
	pop3_enter_state(s, POP3_TRANSACTION);
	pop3_reply(s, "+OK Logged in, %u messages (%lld octets)", s->nmsgs, (long long)total);
}

static void on_auth_done(void *ud, enum auth_result result, const struct auth_account *acct)
{
	struct pop3_session *s = ud;
	s->auth = NULL;
	pop3_resume(s);
	if (s->closed || s->state == POP3_LOGOUT)
		return;
	switch (result) {
	case AUTH_OK:
		login_succeeded(s, acct);
		break;
	case AUTH_FAIL:
		pop3_log(s, LOG_INFO, "event=login_failed mech=%s", s->mech_name);
		pop3_reply(s, "-ERR [AUTH] Invalid user name or password");
		pop3_enter_state(s, POP3_AUTHORIZATION);
		pop3_error(s);
		break;
	case AUTH_THROTTLED:
		pop3_log(s, LOG_INFO, "event=login_failed reason=throttled mech=%s", s->mech_name);
		pop3_reply(s, "-ERR [LOGIN-DELAY] Too many failed logins, try again later");
		pop3_enter_state(s, POP3_AUTHORIZATION);
		pop3_error(s);
		break;
	case AUTH_TEMPFAIL:
	default:
		pop3_log(s, LOG_WARN, "event=login_failed reason=tempfail mech=%s", s->mech_name);
		pop3_reply(s, "-ERR [SYS/TEMP] Temporary authentication failure, try again later");
		pop3_enter_state(s, POP3_AUTHORIZATION);
		break;
	}
}

/* Start the asynchronous check (USER/PASS, or the finished SASL exchange's
 * when user is NULL); the conn is paused until it answers. */
static void check_password(struct pop3_session *s, const char *user, const char *pass)
{
	char u[128];
	const char *who = user ? user : s->sasl.user;
	pop3_log(s, LOG_DEBUG, "event=auth_check mech=%s user=%s", s->mech_name,
	         log_kv_escape(u, sizeof u, who, strlen(who)));
	if (user)
		s->auth =
		    auth_check(s->env->auth, conn_peer_ip(s->conn), user, pass, on_auth_done, s);
	else
		s->auth = sasl_auth_check(&s->sasl, on_auth_done, s);
	if (!s->auth) {
		pop3_reply(s, "-ERR [SYS/TEMP] Out of memory, try again later");
		pop3_enter_state(s, POP3_AUTHORIZATION);
		return;
	}
	pop3_pause(s);
}

void pop3_cmd_pass(struct pop3_session *s, struct pop3_cmd *cmd)
{
	if (refuse_plaintext(s, "PASS"))
		return;
	if (!s->have_user) {
		pop3_reply(s, "-ERR USER first");
		pop3_error(s);
		return;
	}
	s->have_user = false;
	/* RFC 1939: PASS has exactly one argument, so spaces are part of it. */
	size_t off = cmd->rest_off;
	if (off >= s->raw_len || s->raw_len - off > SASL_PASS_MAX) {
		pop3_reply(s, "-ERR usage: PASS password");
		pop3_error(s);
		return;
	}
	char pass[SASL_PASS_MAX + 1];
	memcpy(pass, s->raw_line + off, s->raw_len - off);
	pass[s->raw_len - off] = '\0';
	s->mech_name = "user";
	check_password(s, s->user, pass);
	memset(pass, 0, sizeof pass);
	memset(s->linebuf, 0, s->linecap);
}

/* ---- SASL (RFC 5034) ---- */

static void sasl_result(struct pop3_session *s, enum sasl_status st)
{
	switch (st) {
	case SASL_CHALLENGE:
		pop3_enter_state(s, POP3_SASL);
		pop3_reply(s, "+ %s", s->sasl.challenge);
		return;
	case SASL_DONE:
		pop3_enter_state(s, POP3_AUTHORIZATION);
		check_password(s, NULL, NULL);
		sasl_clear(&s->sasl);
		return;
	case SASL_CANCELLED:
		pop3_enter_state(s, POP3_AUTHORIZATION);
		sasl_clear(&s->sasl);
		pop3_log(s, LOG_INFO, "event=auth_cancelled mech=%s", s->mech_name);
		pop3_reply(s, "-ERR Authentication cancelled");
		pop3_error(s);
		return;
	case SASL_EBASE64:
	case SASL_EPROTO:
	case SASL_EAUTHZID:
	default:
		pop3_enter_state(s, POP3_AUTHORIZATION);
		sasl_clear(&s->sasl);
		pop3_log(s, LOG_INFO, "event=auth_malformed mech=%s", s->mech_name);
		pop3_reply(s, st == SASL_EAUTHZID ? "-ERR [AUTH] Authorization identity refused"
		                                  : "-ERR Malformed SASL response");
		pop3_error(s);
		return;
	}
}

void pop3_cmd_auth(struct pop3_session *s, struct pop3_cmd *cmd)
{
	if (cmd->nargs == 0) {
		/* Not in RFC 5034, but clients (and Dovecot) use it to list
		 * mechanisms: answer it like CAPA's SASL line. */
		if (!pop3_login_allowed(s)) {
			reply_need_tls(s);
			return;
		}
		char mechs[200];
		pop3_reply(s, "+OK\r\n%s\r\n.", mech_list(s, "\r\n", mechs, sizeof mechs));
		return;
	}
	if (refuse_plaintext(s, "AUTH"))
		return;
	enum sasl_mech mech = sasl_mech_parse(cmd->args[0], strlen(cmd->args[0]));
	if (mech == SASL_MECH_NONE) {
		pop3_reply(s, "-ERR Unsupported SASL mechanism");
		pop3_error(s);
		return;
	}
	pop3_auth_reset(s);
	s->mech_name = sasl_mech_log_name(mech);
	const char *ir = cmd->nargs > 1 ? cmd->args[1] : NULL;
	unsigned char cb[SASL_CB_MAX];
	struct sasl_peer peer = {.pool = s->env->auth, .ip = conn_peer_ip(s->conn), .cb = cb};
	peer.cb_type = conn_channel_binding(s->conn, cb, sizeof cb, &peer.cb_len);
	sasl_result(s, sasl_start_peer(&s->sasl, mech, ir, ir ? strlen(ir) : 0, &peer));
	explicit_bzero(cb, sizeof cb);
	if (ir)
		memset(cmd->args[1], 0, strlen(cmd->args[1]));
}

void pop3_sasl_line(struct pop3_session *s, const char *line, size_t len)
{
	sasl_result(s, sasl_step(&s->sasl, line, len));
}

void pop3_cmd_apop(struct pop3_session *s, struct pop3_cmd *cmd)
{
	/* APOP needs the plaintext password on the server; tern keeps only
	 * crypt(3) hashes, so it is neither advertised (no timestamp in the
	 * greeting) nor accepted. */
	pop3_log(s, LOG_INFO, "event=login_refused reason=apop");
	pop3_reply(s, "-ERR [AUTH] APOP is not supported: use USER/PASS or AUTH over TLS");
	pop3_error(s);
}

/* ---- STLS (RFC 2595) ---- */

void pop3_cmd_stls(struct pop3_session *s, struct pop3_cmd *cmd)
{
	if (cmd->nargs != 0) {
		pop3_reply(s, "-ERR STLS takes no arguments");
		pop3_error(s);
		return;
	}
	if (conn_is_tls(s->conn)) {
		pop3_reply(s, "-ERR Command not permitted when TLS active");
		pop3_error(s);
		return;
	}
	if (!conn_tls_available(s->conn)) {
		pop3_reply(s, "-ERR TLS is not available");
		pop3_error(s);
		return;
	}
	pop3_reply(s, "+OK Begin TLS negotiation");
	pop3_auth_reset(s);
	if (conn_starttls(s->conn) < 0) {
		pop3_log(s, LOG_WARN, "event=stls_failed");
		pop3_close(s);
		return;
	}
	s->tls_pending = true;
}

void pop3_tls_done(struct pop3_session *s, bool ok)
{
	s->tls_pending = false;
	if (!ok) {
		pop3_log(s, LOG_INFO, "event=tls_failed");
		return; /* conn is closing */
	}
	/* RFC 2595 section 4: forget everything learned before TLS. */
	pop3_auth_reset(s);
	pop3_enter_state(s, POP3_AUTHORIZATION);
	pop3_log(s, LOG_INFO, "event=tls version=%s cipher=%s",
	         conn_tls_version(s->conn) ? conn_tls_version(s->conn) : "?",
	         conn_tls_cipher(s->conn) ? conn_tls_cipher(s->conn) : "?");
}
