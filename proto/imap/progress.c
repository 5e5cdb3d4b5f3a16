/* progress: INPROGRESS (RFC 9585), "* OK [INPROGRESS (tag done goal)]"
 * while a long command runs.
 *
 * A command that runs in slices on the loop reports between them: FETCH
 * (at the start of a message's response, after those made so far are
 * flushed) and SEARCH (between its slices of 5000 entries, and between
 * the store jobs that index new mail first, with GOAL NIL: how much is
 * left is not known).
 *
 * STORE, COPY, MOVE and EXPUNGE are one store job each, run whole on the
 * writer thread in one transaction (all or nothing). The job counts the
 * messages it has done in a struct store_progress (store/entries.h:
 * relaxed atomic stores, the only state the two threads share before
 * the completion); while the command waits (IMAP_ASYNC) a timer of the
 * session reads it and writes the same line (imap_progress_watch). The
 * job's goal is its own count (a MOVE counts copy and expunge, 2n; an
 * EXPUNGE the \Deleted messages, NIL until it has found them).
 *
 * The rate is bounded: nothing in the first second of a command, then at
 * most one a second; never PROGRESS == GOAL (§4: the tagged reply says
 * that). TERN_TEST_PROGRESS_MS (tests only) sets both intervals, so a
 * test need not make a command that runs for seconds. */
#include "proto/imap/imap_int.h"

#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "net/conn.h"
#include "store/entries.h"

static uint64_t interval_ms(uint64_t dflt)
{
	static long env = -2;
	if (env == -2) {
		const char *v = getenv("TERN_TEST_PROGRESS_MS");
		env = v && *v ? atol(v) : -1;
	}
	return env >= 0 ? (uint64_t)env : dflt;
}

bool imap_progress_due(const struct imap_session *s, const struct imap_cmd *cmd)
{
	if (s->closed || cmd->started_ms == 0)
		return false;
	uint64_t now = uv_now(conn_loop(s->conn));
	return now - cmd->started_ms >= interval_ms(IMAP_PROGRESS_FIRST_MS) &&
	       (!cmd->progress_ms || now - cmd->progress_ms >= interval_ms(IMAP_PROGRESS_EVERY_MS));
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

/* ---- a store job's progress, read while the command waits ---- */

static void on_progress_timer(uv_timer_t *t)
{
	struct imap_session *s = t->data;
	if (!s->progress || !s->cur || !s->async || s->closed || conn_output_full(s->conn))
		return; /* a client that does not read gets no more of them */
	uint64_t done = atomic_load_explicit(&s->progress->done, memory_order_relaxed);
	uint64_t goal = atomic_load_explicit(&s->progress->goal, memory_order_relaxed);
	imap_progress(s, s->cur, done, goal);
}

void imap_progress_watch(struct imap_session *s, struct store_progress *p)
{
	if (s->closed || !s->cur)
		return;
	if (!s->progress_timer) {
		uv_timer_t *t = malloc(sizeof *t);
		if (!t || uv_timer_init(conn_loop(s->conn), t) != 0) {
			free(t);
			return; /* no progress lines: the command still runs */
		}
		t->data = s;
		s->progress_timer = t;
	}
	s->progress = p;
	/* the first due time counts from the command's start, as for FETCH */
	uint64_t now = uv_now(conn_loop(s->conn)), first = interval_ms(IMAP_PROGRESS_FIRST_MS);
	uint64_t ran = now - s->cur->started_ms;
	uint64_t every = interval_ms(IMAP_PROGRESS_EVERY_MS);
	uv_timer_start(s->progress_timer, on_progress_timer, ran < first ? first - ran : 0,
	               every ? every : 1);
}

void imap_progress_unwatch(struct imap_session *s)
{
	s->progress = NULL;
	if (s->progress_timer)
		uv_timer_stop(s->progress_timer);
}
