/* progress: INPROGRESS (RFC 9585), "* OK [INPROGRESS (tag done goal)]"
 * while a long command runs.
 *
 * Only a command that runs in slices on the loop can report: FETCH (at
 * the start of a message's response, after those made so far are
 * flushed) and SEARCH (between its slices of 5000 entries, and between
 * the store jobs that index new mail first, with GOAL NIL: how much is
 * left is not known). STORE, COPY, MOVE and EXPUNGE are one store job
 * each, run whole on the writer thread: the loop hears of them only when
 * they are done, so they send none. Reporting for them would need the
 * job split in bounded pieces (as SEARCH's indexing is), each its own
 * transaction, which would give up their all-or-nothing commit.
 *
 * The rate is bounded: nothing in the first second of a command, then at
 * most one a second; never PROGRESS == GOAL (§4: the tagged reply says
 * that). */
#include "proto/imap/imap_int.h"

#include <string.h>
#include <uv.h>

#include "net/conn.h"

bool imap_progress_due(const struct imap_session *s, const struct imap_cmd *cmd)
{
	if (s->closed || cmd->started_ms == 0)
		return false;
	uint64_t now = uv_now(conn_loop(s->conn));
	return now - cmd->started_ms >= IMAP_PROGRESS_FIRST_MS &&
	       (!cmd->progress_ms || now - cmd->progress_ms >= IMAP_PROGRESS_EVERY_MS);
}

void imap_progress(struct imap_session *s, struct imap_cmd *cmd, uint64_t done, uint64_t goal)
{
	if ((goal && done >= goal) || !imap_progress_due(s, cmd))
		return;
	cmd->progress_ms = uv_now(conn_loop(s->conn));
	/* §4: a tag with "]" is given as NIL; a tag never needs escaping
	 * (no quoted-specials in an atom) */
	bool nil = strchr(cmd->tag, ']') != NULL;
	if (goal)
		imap_untagged(s, "OK [INPROGRESS (%s%s%s %llu %llu)] Processed %llu of %llu",
		              nil ? "" : "\"", nil ? "NIL" : cmd->tag, nil ? "" : "\"",
		              (unsigned long long)done, (unsigned long long)goal,
		              (unsigned long long)done, (unsigned long long)goal);
	else /* GOAL unknown: NIL (§4) */
		imap_untagged(s, "OK [INPROGRESS (%s%s%s %llu NIL)] Processed %llu so far",
		              nil ? "" : "\"", nil ? "NIL" : cmd->tag, nil ? "" : "\"",
		              (unsigned long long)done, (unsigned long long)done);
}
