/* SMTP and POP3 sessions land in the next commits; until then their
 * listeners close with a one-line notice. */
#include "server/conn.h"
#include "server/server.h"

static void pending_closed(struct conn *c)
{
}
static const struct conn_callbacks pending_callbacks = {.closed = pending_closed};

static void pending(struct conn *c, const char *line)
{
	conn_set_callbacks(c, &pending_callbacks, NULL);
	conn_printf(c, "%s\r\n", line);
	conn_close(c);
}
void smtp_session_start(struct conn *c)
{
	pending(c, "421 4.3.0 SMTP is not implemented in this build yet");
}
void pop3_session_start(struct conn *c)
{
	pending(c, "-ERR POP3 is not implemented in this build yet");
}
