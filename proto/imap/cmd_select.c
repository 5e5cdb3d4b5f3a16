/* cmd_select: CLOSE, UNSELECT, CHECK (RFC 9051 §6.4.1, §6.4.2; RFC 3691).
 *
 * CLOSE expunges \Deleted messages silently (no untagged EXPUNGE: the
 * client is leaving the mailbox) unless it was opened with EXAMINE; the
 * expunge itself belongs to the message side (imap_expunge_deleted), this
 * file only leaves the selected state once it committed. */
#include "proto/imap/core.h"

#include <stdlib.h>
#include <string.h>

void imap_unselect(struct imap_session *s)
{
	if (s->state != IMAP_SELECTED)
		return;
	imap_updates_unsubscribe(s);
	imap_pending_clear(s);
	free(s->sel.uids);
	free(s->sel.name);
	free(s->sel.keywords);
	free(s->sel.recent_more);
	memset(&s->sel, 0, sizeof s->sel);
	imap_enter_state(s, IMAP_AUTH);
}

static void close_done(void *ud, int status)
{
	struct imap_session *s = ud;
	if (s->cur && s->cur->ctx)
		*(int *)s->cur->ctx = status;
	imap_cmd_wake(s);
}

enum imap_cmd_result imap_cmd_close(struct imap_session *s, struct imap_cmd *cmd)
{
	if (cmd->step == 0) {
		if (cmd->nargs) {
			imap_tagged(s, cmd, "BAD", NULL, "CLOSE takes no arguments");
			return IMAP_DONE;
		}
		if (!s->sel.readonly) {
			cmd->ctx = imap_arena_alloc(&cmd->arena, sizeof(int));
			if (imap_expunge_deleted(s, close_done, s) == 0) {
				cmd->step = 1;
				return IMAP_ASYNC;
			}
		}
	}
	imap_unselect(s);
	imap_tagged(s, cmd, "OK", NULL, "CLOSE completed");
	return IMAP_DONE;
}

enum imap_cmd_result imap_cmd_unselect(struct imap_session *s, struct imap_cmd *cmd)
{
	if (cmd->nargs) {
		imap_tagged(s, cmd, "BAD", NULL, "UNSELECT takes no arguments");
		return IMAP_DONE;
	}
	imap_unselect(s);
	imap_tagged(s, cmd, "OK", NULL, "UNSELECT completed");
	return IMAP_DONE;
}

enum imap_cmd_result imap_cmd_check(struct imap_session *s, struct imap_cmd *cmd)
{
	imap_tagged(s, cmd, "OK", NULL, "CHECK completed");
	return IMAP_DONE;
}
