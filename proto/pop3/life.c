/* life: the session's state and lifetime, as the commands and the store
 * jobs use them: state changes, references, pausing and resuming input,
 * closing.
 *
 * Why a file of its own: these lived in session.c, so every command file
 * and store job called back up into the file that dispatches to them
 * (session.c -> commands.c -> cmd_*.c -> session.c, one cycle of six
 * files). Here they sit below the commands, with the replies (reply.c)
 * just above; session.c keeps the conn callbacks, the start and the
 * dispatch through the command table, and nothing calls up into it.
 */
#include "proto/pop3/pop3_int.h"

#include <stdlib.h>

#include "proto/common/env.h"
#include "proto/pop3/lock.h"
#include "net/conn.h"

static const char *const state_names[] = {
    [POP3_AUTHORIZATION] = "AUTHORIZATION",
    [POP3_SASL] = "SASL",
    [POP3_TRANSACTION] = "TRANSACTION",
    [POP3_UPDATE] = "UPDATE",
    [POP3_LOGOUT] = "LOGOUT",
};

const char *pop3_state_name(enum pop3_state st)
{
	return state_names[st];
}

void pop3_enter_state(struct pop3_session *s, enum pop3_state to)
{
	if (s->state == to)
		return;
	pop3_log(s, LOG_DEBUG, "event=state from=%s to=%s", state_names[s->state], state_names[to]);
	s->state = to;
}

/* ---- references ---- */

void pop3_ref(struct pop3_session *s)
{
	s->refs++;
}

static void session_free(struct pop3_session *s)
{
	sasl_clear(&s->sasl);
	pop3_snapshot_free(s);
	free(s->rbuf);
	free(s->wbuf);
	free(s->linebuf);
	free(s->seen_uids);
	free(s->seen_modseqs);
	free(s);
}

void pop3_unref(struct pop3_session *s)
{
	if (--s->refs == 0)
		session_free(s);
}

/* ---- input and the connection ---- */

void pop3_pause(struct pop3_session *s)
{
	if (!s->closed)
		conn_pause(s->conn);
}

void pop3_resume(struct pop3_session *s)
{
	if (!s->closed)
		conn_resume(s->conn);
}

void pop3_close(struct pop3_session *s)
{
	pop3_enter_state(s, POP3_LOGOUT);
	if (s->locked) {
		pop3_lock_release(s->account_id);
		s->locked = false;
	}
	if (!s->closed)
		conn_close(s->conn);
}

bool pop3_login_allowed(const struct pop3_session *s)
{
	return proto_auth_allowed(s->env, s->conn);
}
