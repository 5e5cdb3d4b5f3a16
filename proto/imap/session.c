/* IMAP is the next protocol to be built (issue "IMAP server"). Until then
 * the IMAP listeners answer with an honest BYE, so a client configured
 * against the embedded default sees why it cannot log in, rather than a
 * connection that hangs. */
#include "server/conn.h"
#include "server/server.h"

static void imap_closed(struct conn *c)
{
}

static const struct conn_callbacks imap_placeholder_callbacks = {
	.closed = imap_closed,
};

void imap_session_start(struct conn *c)
{
	conn_set_callbacks(c, &imap_placeholder_callbacks, NULL);
	conn_printf(c, "* BYE IMAP is not implemented in this version of tern yet\r\n");
	conn_close(c);
}
