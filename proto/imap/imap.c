/* imap: the protocol's entry point (imap.h). imap_session_start() opens a
 * session with commands.c's table. It is the top of proto/imap: the table
 * names every handler and the session reaches them only through the table
 * it is given, so no file below calls up into a command. */
#include "proto/imap/imap.h"
#include "proto/imap/imap_int.h"

void imap_session_start(struct conn *c, void *ctx)
{
	imap_session_open(c, ctx, imap_commands, imap_ncommands);
}
