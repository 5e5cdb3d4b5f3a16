/* cmd_idle: IDLE (RFC 2177, RFC 9051 §6.3.13).
 *
 * "+ idling" goes out, queued updates are flushed at once, and from then on
 * every notification is written the moment it arrives (updates.c flushes
 * when s->input is IMAP_IN_IDLE). The command is ASYNC; lines go to
 * idle_line() instead of the parser until the client sends DONE. */
#include "proto/imap/imap_int.h"

#include <strings.h>

enum { IDLE_START = 0, IDLE_WAIT, IDLE_DONE, IDLE_BAD };

/* A line while idling: DONE ends the command, anything else is BAD. */
static void idle_line(struct imap_session *s, const char *line, size_t len)
{
	imap_set_input(s, IMAP_IN_COMMAND, NULL);
	if (!s->cur || s->cur->step != IDLE_WAIT)
		return;
	s->cur->step = (len == 4 && strncasecmp(line, "DONE", 4) == 0) ? IDLE_DONE : IDLE_BAD;
	imap_cmd_wake(s);
}

enum imap_cmd_result imap_cmd_idle(struct imap_session *s, struct imap_cmd *cmd)
{
	switch (cmd->step) {
	case IDLE_START:
		if (cmd->nargs) {
			imap_tagged(s, cmd, "BAD", NULL, "IDLE takes no arguments");
			return IMAP_DONE;
		}
		imap_write(s, "+ idling\r\n", 10);
		imap_set_input(s, IMAP_IN_IDLE, idle_line);
		imap_updates_flush(s, true);
		imap_notify_flush_overflow(s);
		imap_notify_flush(s);
		cmd->step = IDLE_WAIT;
		return IMAP_ASYNC;
	case IDLE_DONE:
		imap_tagged(s, cmd, "OK", NULL, "IDLE terminated");
		return IMAP_DONE;
	default:
		imap_tagged(s, cmd, "BAD", NULL, "Expected DONE");
		return IMAP_DONE;
	}
}
