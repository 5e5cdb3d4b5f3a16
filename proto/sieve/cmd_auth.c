/* cmd_auth: CAPABILITY, STARTTLS, AUTHENTICATE (and each SASL response),
 * UNAUTHENTICATE, LOGOUT, NOOP.
 *
 * Why SASL is advertised empty before TLS: every mechanism but SCRAM sends
 * the password, and RFC 8314 wants TLS for reading and submitting mail.
 * RFC 5804 §1.7 lets a server list no mechanism ("SASL" "") until STARTTLS;
 * AUTHENTICATE is then refused with a hint, and the count of errors goes
 * up, as in IMAP and POP3. A loopback peer with [auth] plaintext_loopback
 * is the one exception (local tools, tests).
 *
 * SASL framing (§2.1): a challenge is a string on its own line, the
 * client's answer a string (quoted or literal), "*" cancels. SCRAM's
 * server-final message goes as one more challenge, answered with an empty
 * string (proto/sasl/sasl.h), which RFC 5804 allows besides the
 * OK (SASL ...) form. */
#include "proto/sieve/msieve_int.h"

#include <stdio.h>
#include <string.h>

#include "proto/common/env.h"
#include "net/conn.h"
#include "sieve/sieve.h"

static void write_pair(struct msieve_session *s, const char *key, const char *value)
{
	msieve_write_string(s, key, strlen(key));
	if (value) {
		msieve_write(s, " ", 1);
		msieve_write_string(s, value, strlen(value));
	}
	msieve_write(s, "\r\n", 2);
}

void msieve_write_capabilities(struct msieve_session *s)
{
	bool nonauth = s->state == MSIEVE_NONAUTH;
	char mechs[200] = "";
	if (nonauth && msieve_login_allowed(s)) {
		unsigned char cb[SASL_CB_MAX];
		size_t cblen = 0;
		bool plus = conn_channel_binding(s->conn, cb, sizeof cb, &cblen) != NULL;
		explicit_bzero(cb, sizeof cb);
		sasl_mech_list_sep(plus, " ", mechs, sizeof mechs);
	}
	struct sieve_limits lim;
	sieve_limits_default(&lim);
	char redirects[16];
	snprintf(redirects, sizeof redirects, "%u", lim.max_redirects);

	write_pair(s, "IMPLEMENTATION", "tern");
	write_pair(s, "SASL", mechs);
	write_pair(s, "SIEVE", sieve_extensions());
	if (nonauth && !conn_is_tls(s->conn) && conn_tls_available(s->conn))
		write_pair(s, "STARTTLS", NULL);
	write_pair(s, "MAXREDIRECTS", redirects);
	if (s->state == MSIEVE_AUTH)
		write_pair(s, "OWNER", s->address);
	write_pair(s, "UNAUTHENTICATE", NULL);
	write_pair(s, "VERSION", "1.0");
}

void msieve_cmd_capability(struct msieve_session *s, struct msieve_cmd *cmd)
{
	(void)cmd;
	msieve_write_capabilities(s);
	msieve_respond(s, "OK", NULL, "Capability completed");
}

void msieve_cmd_noop(struct msieve_session *s, struct msieve_cmd *cmd)
{
	if (cmd->nargs == 0) {
		msieve_respond(s, "OK", NULL, "Done");
		return;
	}
	/* RFC 5804 §2.11: the argument comes back in a TAG response code */
	msieve_write(s, "OK (TAG ", 8);
	msieve_write_string(s, cmd->args[0].str, cmd->args[0].len);
	msieve_write(s, ") \"Done\"\r\n", 10);
}

void msieve_cmd_logout(struct msieve_session *s, struct msieve_cmd *cmd)
{
	(void)cmd;
	msieve_log(s, LOG_INFO, "event=logout");
	msieve_respond(s, "OK", NULL, "Logout completed");
	msieve_close(s);
}

/* ---- STARTTLS (§2.2) ---- */

void msieve_cmd_starttls(struct msieve_session *s, struct msieve_cmd *cmd)
{
	(void)cmd;
	if (s->state != MSIEVE_NONAUTH) {
		msieve_fail(s, NULL, "STARTTLS is not allowed after authentication");
		return;
	}
	if (conn_is_tls(s->conn)) {
		msieve_fail(s, NULL, "TLS is already active");
		return;
	}
	if (!conn_tls_available(s->conn)) {
		msieve_fail(s, NULL, "TLS is not available");
		return;
	}
	msieve_respond(s, "OK", NULL, "Begin TLS negotiation now");
	sasl_clear(&s->sasl);
	if (conn_starttls(s->conn) < 0) {
		msieve_log(s, LOG_WARN, "event=starttls_failed");
		msieve_close(s);
		return;
	}
	s->tls_pending = true;
}

void msieve_tls_done(struct msieve_session *s, bool ok)
{
	s->tls_pending = false;
	if (!ok) {
		msieve_log(s, LOG_INFO, "event=tls_failed");
		return; /* the conn is closing */
	}
	sasl_clear(&s->sasl);
	msieve_enter_state(s, MSIEVE_NONAUTH);
	msieve_log(s, LOG_INFO, "event=tls version=%s cipher=%s",
	           conn_tls_version(s->conn) ? conn_tls_version(s->conn) : "?",
	           conn_tls_cipher(s->conn) ? conn_tls_cipher(s->conn) : "?");
	/* §2.2: the capabilities again, now that SASL may be offered */
	msieve_write_capabilities(s);
	msieve_respond(s, "OK", NULL, "TLS negotiation successful");
}

/* ---- AUTHENTICATE (§2.1) ---- */

static void login_succeeded(struct msieve_session *s, const struct auth_account *acct)
{
	char u[128];
	s->account_id = acct->account_id;
	snprintf(s->address, sizeof s->address, "%s", acct->address);
	msieve_log(s, LOG_INFO, "event=login user=%s mech=%s",
	           log_kv_escape(u, sizeof u, acct->address, strlen(acct->address)),
	           s->mech_name ? s->mech_name : "?");
	conn_clear_deadline(s->conn); /* logged in: only the idle timeout from now on */
	msieve_enter_state(s, MSIEVE_AUTH);
	msieve_respond(s, "OK", NULL, "Logged in");
}

static void on_auth_done(void *ud, enum auth_result result, const struct auth_account *acct)
{
	struct msieve_session *s = ud;
	s->auth = NULL;
	msieve_resume(s);
	if (s->closed || s->state == MSIEVE_LOGOUT)
		return;
	switch (result) {
	case AUTH_OK:
		login_succeeded(s, acct);
		break;
	case AUTH_FAIL:
		msieve_log(s, LOG_INFO, "event=login_failed mech=%s", s->mech_name);
		msieve_enter_state(s, MSIEVE_NONAUTH);
		msieve_fail(s, NULL, "Authentication failed");
		break;
	case AUTH_THROTTLED:
		msieve_log(s, LOG_INFO, "event=login_failed reason=throttled mech=%s",
		           s->mech_name);
		msieve_enter_state(s, MSIEVE_NONAUTH);
		msieve_fail(s, "TRYLATER", "Too many failed logins, try again later");
		break;
	case AUTH_TEMPFAIL:
	default:
		msieve_log(s, LOG_WARN, "event=login_failed reason=tempfail mech=%s", s->mech_name);
		msieve_enter_state(s, MSIEVE_NONAUTH);
		msieve_respond(s, "NO", "TRYLATER", "Temporary authentication failure");
		break;
	}
}

static void sasl_result(struct msieve_session *s, enum sasl_status st)
{
	switch (st) {
	case SASL_CHALLENGE:
		msieve_enter_state(s, MSIEVE_SASL);
		msieve_write_string(s, s->sasl.challenge, strlen(s->sasl.challenge));
		msieve_write(s, "\r\n", 2);
		return;
	case SASL_DONE:
		msieve_enter_state(s, MSIEVE_NONAUTH);
		s->auth = sasl_auth_check(&s->sasl, on_auth_done, s);
		sasl_clear(&s->sasl);
		if (!s->auth) {
			msieve_respond(s, "NO", "TRYLATER", "Out of memory, try again later");
			return;
		}
		msieve_pause(s);
		return;
	case SASL_CANCELLED:
		msieve_enter_state(s, MSIEVE_NONAUTH);
		sasl_clear(&s->sasl);
		msieve_log(s, LOG_INFO, "event=auth_cancelled mech=%s", s->mech_name);
		msieve_fail(s, NULL, "Authentication cancelled");
		return;
	default:
		msieve_enter_state(s, MSIEVE_NONAUTH);
		sasl_clear(&s->sasl);
		msieve_log(s, LOG_INFO, "event=auth_malformed mech=%s", s->mech_name);
		msieve_fail(s, NULL,
		            st == SASL_EAUTHZID ? "Authorization identity refused"
		                                : "Malformed SASL response");
		return;
	}
}

void msieve_cmd_authenticate(struct msieve_session *s, struct msieve_cmd *cmd)
{
	if (!msieve_login_allowed(s)) {
		msieve_log(s, LOG_INFO, "event=login_refused reason=no_tls");
		msieve_fail(s, "ENCRYPT-NEEDED",
		            "Authentication is not allowed without TLS: use STARTTLS");
		return;
	}
	const char *name = msieve_arg_text(&cmd->args[0]);
	enum sasl_mech mech = name ? sasl_mech_parse(name, strlen(name)) : SASL_MECH_NONE;
	if (mech == SASL_MECH_NONE) {
		msieve_fail(s, NULL, "Unsupported SASL mechanism");
		return;
	}
	sasl_clear(&s->sasl);
	s->mech_name = sasl_mech_log_name(mech);
	const char *ir = NULL;
	size_t irlen = 0;
	if (cmd->nargs > 1) {
		/* sasl.h takes "=" for an empty initial response; here it is "" */
		ir = cmd->args[1].len ? cmd->args[1].str : "=";
		irlen = cmd->args[1].len ? cmd->args[1].len : 1;
	}
	unsigned char cb[SASL_CB_MAX];
	struct sasl_peer peer = {.pool = s->env->auth, .ip = conn_peer_ip(s->conn), .cb = cb};
	peer.cb_type = conn_channel_binding(s->conn, cb, sizeof cb, &peer.cb_len);
	sasl_result(s, sasl_start_peer(&s->sasl, mech, ir, irlen, &peer));
	explicit_bzero(cb, sizeof cb);
}

void msieve_sasl_response(struct msieve_session *s, const struct msieve_arg *resp)
{
	sasl_result(s, sasl_step(&s->sasl, resp->str, resp->len));
}

void msieve_cmd_unauthenticate(struct msieve_session *s, struct msieve_cmd *cmd)
{
	(void)cmd;
	msieve_log(s, LOG_INFO, "event=unauthenticate");
	s->account_id = 0;
	s->address[0] = '\0';
	conn_restart_deadline(s->conn); /* the next login has the time the first had */
	msieve_enter_state(s, MSIEVE_NONAUTH);
	msieve_respond(s, "OK", NULL, "Unauthenticate completed");
}
