/* msieve_int: what the ManageSieve files share. Not for use outside
 * proto/sieve.
 *
 *   session.c      conn callbacks, collecting a command (lines and
 *                  literals), dispatch through the table, the start
 *   commands.c     the commands[] table
 *   cmd_auth.c     CAPABILITY STARTTLS AUTHENTICATE UNAUTHENTICATE LOGOUT NOOP
 *   cmd_scripts.c  HAVESPACE PUTSCRIPT CHECKSCRIPT LISTSCRIPTS GETSCRIPT
 *                  SETACTIVE DELETESCRIPT RENAMESCRIPT, and their store jobs
 *   reply.c        responses, strings, the error count
 *   life.c         states, references, pause/resume, close
 *   parse.c        the command grammar (pure)
 *
 * The list runs top to bottom: a file calls only files listed below it.
 */
#ifndef TERN_MSIEVE_INT_H
#define TERN_MSIEVE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/sasl/sasl.h"
#include "proto/sieve/managesieve.h"
#include "proto/sieve/parse.h"
#include "auth/auth.h"
#include "lib/log.h"

struct conn;
struct proto_env;

/* See the diagram in session.c. */
enum msieve_state {
	MSIEVE_NONAUTH = 0,
	MSIEVE_SASL, /* AUTHENTICATE: waiting for the client's next response */
	MSIEVE_AUTH,
	MSIEVE_LOGOUT, /* BYE or LOGOUT sent, or the conn is gone */
};

#define MSIEVE_ST(s) (1u << (s))

struct msieve_session {
	struct conn *conn;
	const struct proto_env *env;
	const struct msieve_settings *cfg;
	unsigned refs;
	bool closed; /* the conn is gone (closed callback ran) */
	enum msieve_state state;
	uint64_t sid;
	char peer[64];
	int64_t errors;

	/* NONAUTH / SASL */
	const char *mech_name;
	struct sasl sasl;
	struct auth_req *auth;
	bool tls_pending;

	/* AUTH */
	int64_t account_id;
	char address[320];

	/* The command being collected: its lines (with CRLF) and literals. */
	char *cmd;
	size_t cmd_len, cmd_cap;
	char *out; /* the parser's strings: cmd_cap + MSIEVE_MAX_ARGS bytes */
	size_t literal_left;
};

typedef void (*msieve_handler)(struct msieve_session *s, struct msieve_cmd *cmd);

struct msieve_command {
	const char *verb;
	unsigned states; /* MSIEVE_ST() mask */
	size_t min_args; /* string arguments, except HAVESPACE's number */
	size_t max_args;
	bool number_last; /* the last argument is a number (HAVESPACE's size) */
	msieve_handler handler;
};

#define msieve_log(s, lvl, ...) log_session((lvl), (s)->sid, (s)->peer, "sieve", __VA_ARGS__)

/* commands.c */
const struct msieve_command *msieve_command_find(const char *verb);

/* cmd_auth.c */
void msieve_cmd_capability(struct msieve_session *s, struct msieve_cmd *cmd);
void msieve_cmd_starttls(struct msieve_session *s, struct msieve_cmd *cmd);
void msieve_cmd_authenticate(struct msieve_session *s, struct msieve_cmd *cmd);
void msieve_cmd_unauthenticate(struct msieve_session *s, struct msieve_cmd *cmd);
void msieve_cmd_logout(struct msieve_session *s, struct msieve_cmd *cmd);
void msieve_cmd_noop(struct msieve_session *s, struct msieve_cmd *cmd);
/* A SASL response (already parsed as one string). */
void msieve_sasl_response(struct msieve_session *s, const struct msieve_arg *resp);
void msieve_tls_done(struct msieve_session *s, bool ok);
/* The capability lines (RFC 5804 §1.7), without the final OK. */
void msieve_write_capabilities(struct msieve_session *s);

/* cmd_scripts.c */
void msieve_cmd_havespace(struct msieve_session *s, struct msieve_cmd *cmd);
void msieve_cmd_putscript(struct msieve_session *s, struct msieve_cmd *cmd);
void msieve_cmd_checkscript(struct msieve_session *s, struct msieve_cmd *cmd);
void msieve_cmd_listscripts(struct msieve_session *s, struct msieve_cmd *cmd);
void msieve_cmd_getscript(struct msieve_session *s, struct msieve_cmd *cmd);
void msieve_cmd_setactive(struct msieve_session *s, struct msieve_cmd *cmd);
void msieve_cmd_deletescript(struct msieve_session *s, struct msieve_cmd *cmd);
void msieve_cmd_renamescript(struct msieve_session *s, struct msieve_cmd *cmd);

/* reply.c */
void msieve_write(struct msieve_session *s, const void *data, size_t len);
/* "OK", "NO" or "BYE", an optional response code (without its
 * parentheses; may hold a quoted string), an optional human text (sent
 * as a quoted string or a literal, whichever it needs), CRLF. */
void msieve_respond(struct msieve_session *s, const char *kind, const char *code, const char *text);
void msieve_respondf(struct msieve_session *s, const char *kind, const char *code, const char *fmt,
                     ...) __attribute__((format(printf, 4, 5)));
/* A string as ManageSieve sends it: quoted when it can be, else {N}. */
void msieve_write_string(struct msieve_session *s, const char *str, size_t len);
/* NO with text, counted; after max_errors, BYE and close. true: closing. */
bool msieve_fail(struct msieve_session *s, const char *code, const char *text);

/* life.c */
void msieve_enter_state(struct msieve_session *s, enum msieve_state to);
const char *msieve_state_name(enum msieve_state st);
void msieve_ref(struct msieve_session *s);
void msieve_unref(struct msieve_session *s);
void msieve_pause(struct msieve_session *s);
void msieve_resume(struct msieve_session *s);
void msieve_close(struct msieve_session *s);
bool msieve_login_allowed(const struct msieve_session *s);

#endif
