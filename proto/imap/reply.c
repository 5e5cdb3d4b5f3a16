/* reply: a command's tagged reply. Before the status line it flushes the
 * untagged updates the command table allows (updates.c), so it sits above
 * the update queue, which writes through output.c; a BAD counts towards
 * the session's error limit, which session.c enforces when the command
 * ends. */
#include "proto/imap/imap_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void imap_tagged(struct imap_session *s, struct imap_cmd *cmd, const char *status, const char *code,
                 const char *fmt, ...)
{
	unsigned flags = cmd->def ? cmd->def->flags : 0;
	if (s->state == IMAP_SELECTED && !(flags & IMAP_CMD_NO_UPDATES)) {
		bool allow = !((flags & IMAP_CMD_NO_EXPUNGE) && !cmd->uid);
		imap_updates_flush(s, allow);
	}
	char prefix[1280];
	const char *tag = cmd->tag ? cmd->tag : "*";
	if (code && *code)
		snprintf(prefix, sizeof prefix, "%.150s %s [%.1000s] ", tag, status, code);
	else
		snprintf(prefix, sizeof prefix, "%.150s %s ", tag, status);
	va_list ap;
	va_start(ap, fmt);
	imap_vwritef(s, prefix, fmt, ap, true);
	va_end(ap);
	if (strcmp(status, "BAD") == 0)
		s->errors++;
	if (strcmp(status, "OK") != 0) {
		char t[64];
		imap_log(s, LOG_DEBUG, "event=reply cmd=%s status=%s code=%s",
		         cmd->name ? cmd->name : "-", status,
		         log_kv_escape(t, sizeof t, code ? code : "", code ? strlen(code) : 0));
	}
}
