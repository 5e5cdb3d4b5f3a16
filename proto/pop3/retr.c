/* retr: stream one message (RETR) or its top (TOP) to the client.
 *
 * Why streaming: a 50 MB message must not become a 50 MB buffer per
 * client. The stream reads POP3_READ_PIECE bytes at a time with
 * store_message_read() (on the loop's read view, never the whole message),
 * byte-stuffs them through pop3_dot into wbuf and queues that on the
 * conn, but only while conn_output_full() is false. When the queue is full
 * the pump returns and the conn's `drained` callback calls it again. The
 * conn stays paused for the whole response, so pipelined commands behind a
 * RETR wait their turn.
 *
 * The "+OK" line is sent only after the first piece has been read: if the
 * message vanished (an IMAP client expunged it after our snapshot), the
 * client gets a clean -ERR instead of a truncated response. A read error
 * later, in the middle of a response, cannot be reported in-band, so the
 * connection is closed (the client sees a short response, never a wrong
 * one).
 */
#include "proto/pop3/pop3_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "net/conn.h"
#include "proto/common/env.h"
#include "store/mail.h"
#include "store/store.h"

void pop3_stream_start(struct pop3_session *s, uint32_t msgno, int64_t top_lines)
{
	struct pop3_stream *st = &s->stream;
	const struct pop3_msg *m = &s->msgs[msgno - 1];
	memset(st, 0, sizeof *st);
	st->active = true;
	st->message_id = m->message_id;
	st->size = (uint64_t)m->size;
	st->msgno = msgno;
	st->set_seen = top_lines < 0;
	pop3_dot_init(&st->dot, top_lines);
	pop3_pause(s);

	/* The first piece decides between +OK and -ERR. */
	ssize_t n = 0;
	if (st->size > 0 && (n = pop3_ahead_read(s, msgno, s->rbuf)) == -EAGAIN)
		n = store_message_read(store_reader(s->env->store), st->message_id, 0, s->rbuf,
		                       POP3_READ_PIECE);
	if (n < 0) {
		st->active = false;
		pop3_log(s, n == -ENOENT ? LOG_INFO : LOG_ERROR, "event=retr_error msg=%u err=%zd",
		         msgno, n);
		pop3_reply(s,
		           n == -ENOENT ? "-ERR Message %u no longer exists"
		                        : "-ERR [SYS/TEMP] Cannot read message %u, try again later",
		           msgno);
		pop3_resume(s);
		return;
	}
	if (top_lines < 0)
		pop3_reply(s, "+OK %lld octets", (long long)m->size);
	else
		pop3_reply(s, "+OK Top of message follows");
	size_t out = pop3_dot_feed(&st->dot, s->rbuf, (size_t)n, s->wbuf);
	pop3_write(s, s->wbuf, out);
	st->offset = (uint64_t)n;
	pop3_stream_pump(s);
}

static void stream_finish(struct pop3_session *s)
{
	struct pop3_stream *st = &s->stream;
	char end[POP3_DOT_FINISH_MAX];
	size_t n = pop3_dot_finish(&st->dot, end);
	pop3_write(s, end, n);
	st->active = false;
	if (st->offset < st->size && !pop3_dot_done(&st->dot))
		pop3_log(s, LOG_WARN, "event=retr_short msg=%u", st->msgno);
	if (st->set_seen)
		pop3_maildrop_mark_seen(s, st->msgno);
	pop3_resume(s);
}

void pop3_stream_pump(struct pop3_session *s)
{
	struct pop3_stream *st = &s->stream;
	while (st->active && !s->closed) {
		if (st->offset >= st->size || pop3_dot_done(&st->dot)) {
			stream_finish(s);
			return;
		}
		if (conn_output_full(s->conn))
			return; /* `drained` calls us again */
		ssize_t n = store_message_read(store_reader(s->env->store), st->message_id,
		                               (size_t)st->offset, s->rbuf, POP3_READ_PIECE);
		if (n < 0) {
			pop3_log(s, LOG_ERROR, "event=retr_error msg=%u offset=%llu err=%zd",
			         st->msgno, (unsigned long long)st->offset, n);
			st->active = false;
			conn_abort(s->conn);
			return;
		}
		if (n == 0) {
			st->size = st->offset; /* shorter than the snapshot said */
			continue;
		}
		size_t out = pop3_dot_feed(&st->dot, s->rbuf, (size_t)n, s->wbuf);
		pop3_write(s, s->wbuf, out);
		st->offset += (uint64_t)n;
	}
}
