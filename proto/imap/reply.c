/* reply: how a command answers. imap_tagged() writes the tagged reply:
 * before the status line it flushes the untagged updates the command
 * table allows (updates.c), so it sits above the update queue, which
 * writes through output.c; a BAD counts towards the session's error
 * limit, which session.c enforces when the command ends. And
 * imap_arg_mailbox(), the mailbox-name argument of SELECT, STATUS and the
 * mailbox commands, which answers BAD or NO itself when it is no name. */
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
	imap_notify_flush_overflow(s);
	imap_notify_flush(s);
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

/* Decode argument i as a mailbox name into buf. Writes BAD/NO itself and
 * returns false on failure. */
bool imap_arg_mailbox(struct imap_session *s, struct imap_cmd *cmd, size_t i, char *buf, size_t cap,
                      bool strip)
{
	const char *name;
	size_t len;
	if (i >= cmd->nargs || !imap_arg_astring(&cmd->args[i], &name, &len)) {
		imap_tagged(s, cmd, "BAD", NULL, "Mailbox name expected");
		return false;
	}
	ssize_t n = imap_mailbox_name_decode(s, name, len, buf, cap, strip);
	if (n < 0) {
		imap_tagged(s, cmd, "NO", "CANNOT", "Invalid mailbox name");
		return false;
	}
	return true;
}
