/* life: the session's state and lifetime as the commands and the store
 * jobs use them: state changes, references, pausing and resuming input,
 * closing. Below the commands, so nothing calls up into session.c (the
 * same split as proto/pop3/life.c). */
#include "proto/sieve/msieve_int.h"

#include <stdlib.h>

#include "proto/common/env.h"
#include "net/conn.h"

static const char *const state_names[] = {
    [MSIEVE_NONAUTH] = "NONAUTH",
    [MSIEVE_SASL] = "SASL",
    [MSIEVE_AUTH] = "AUTH",
    [MSIEVE_LOGOUT] = "LOGOUT",
};

const char *msieve_state_name(enum msieve_state st)
{
	return state_names[st];
}

void msieve_enter_state(struct msieve_session *s, enum msieve_state to)
{
	if (s->state == to)
		return;
	msieve_log(s, LOG_DEBUG, "event=state from=%s to=%s", state_names[s->state],
	           state_names[to]);
	s->state = to;
}

void msieve_ref(struct msieve_session *s)
{
	s->refs++;
}

void msieve_unref(struct msieve_session *s)
{
	if (--s->refs > 0)
		return;
	sasl_clear(&s->sasl);
	free(s->cmd);
	free(s->out);
	free(s);
}

void msieve_pause(struct msieve_session *s)
{
	if (!s->closed)
		conn_pause(s->conn);
}

void msieve_resume(struct msieve_session *s)
{
	if (!s->closed)
		conn_resume(s->conn);
}

void msieve_close(struct msieve_session *s)
{
	msieve_enter_state(s, MSIEVE_LOGOUT);
	if (!s->closed)
		conn_close(s->conn);
}

bool msieve_login_allowed(const struct msieve_session *s)
{
	return proto_auth_allowed(s->env, s->conn);
}
