/* body_stream: a response body written slice by slice as the socket
 * drains (http_respond_stream in http_int.h). Why: a download of a 50 MB
 * message read whole would hold it twice (the read and the conn's copy)
 * on the loop; here at most the conn's output limit plus one slice is
 * ever held, as POP3 RETR and IMAP FETCH do for their big messages.
 *
 * A body that fits the conn's output queue goes out at once, inside the
 * request's dispatch. A bigger one holds the session (no further request
 * is parsed, pipelined input waits) from the first full queue to the last
 * slice; then it resumes, or the connection closes when the head said
 * so. A client that takes nothing for [http] keepalive_timeout is cut
 * off (the paused conn's own idle timer leaves that to us). */
#include "proto/http/http_int.h"

#include <stdlib.h>

#include "lib/log.h"
#include "net/conn.h"

struct http_body_stream {
	struct http_body_source src;
	struct http_session *s;
	uv_timer_t stall; /* no room in the queue for keepalive_timeout: the client stopped */
	uint64_t off, len;
	bool held; /* the session was held: the body did not go out at once */
	char slice[HTTP_STREAM_SLICE];
};

static void stream_free(uv_handle_t *h)
{
	free(h->data);
}

/* Lets go of the source and the session: the body is out, or it never
 * will be. */
static void finish(struct http_session *s, bool complete)
{
	struct http_body_stream *b = s->out;
	bool held = b->held;
	s->out = NULL;
	b->src.free(b->src.ud);
	uv_timer_stop(&b->stall);
	uv_close((uv_handle_t *)&b->stall, stream_free);
	if (!s->closed && (!complete || s->close_after_body)) {
		if (complete)
			conn_close(s->c);
		else
			conn_abort(s->c);
	}
	/* Not held: still inside the request's dispatch, which goes on. */
	if (held)
		http_session_resume(s);
}

static void pump(struct http_session *s);

/* A held session's conn is paused, and a paused conn's idle timer waits
 * for us; so a client that stopped reading is ended here instead. */
static void on_stall(uv_timer_t *t)
{
	struct http_body_stream *b = t->data;
	struct http_session *s = b->s;
	log_session(LOG_INFO, conn_id(s->c), conn_peer(s->c), "http",
	            "event=body_stream_stalled offset=%llu of=%llu", (unsigned long long)b->off,
	            (unsigned long long)b->len);
	finish(s, false);
}

static void pump(struct http_session *s)
{
	struct http_body_stream *b = s->out;
	while (b->off < b->len) {
		if (s->closed || conn_is_closing(s->c)) {
			finish(s, false);
			return;
		}
		if (conn_output_full(s->c)) {
			if (!b->held) {
				b->held = true;
				http_session_hold(s);
			}
			/* restarted whenever the client took some */
			uv_timer_start(&b->stall, on_stall,
			               (uint64_t)s->ctx->settings->keepalive_timeout * 1000, 0);
			return; /* on_drained calls again */
		}
		uint64_t left = b->len - b->off;
		size_t want = left < sizeof b->slice ? (size_t)left : sizeof b->slice;
		long got = b->src.read(b->src.ud, b->off, b->slice, want);
		if (got <= 0 || (size_t)got > want) {
			log_session(LOG_WARN, conn_id(s->c), conn_peer(s->c), "http",
			            "event=body_stream_failed offset=%llu err=%ld",
			            (unsigned long long)b->off, got);
			finish(s, false);
			return;
		}
		if (conn_write(s->c, b->slice, (size_t)got) < 0) {
			finish(s, false);
			return;
		}
		b->off += (uint64_t)got;
	}
	finish(s, true);
}

void http_respond_stream(struct http_session *s, int status, const struct http_entity *e,
                         const struct http_body_source *src)
{
	struct http_entity head = *e;
	head.body = NULL;
	head.gz = NULL;
	head.flags |= HTTP_R_BODY_LATER;
	s->body_pending = false;
	http_respond_entity(s, status, &head);
	if (!s->body_pending) { /* HEAD, 304, an empty body, or a closing conn */
		src->free(src->ud);
		return;
	}
	s->body_pending = false;
	struct http_body_stream *b = malloc(sizeof *b);
	if (!b) {
		src->free(src->ud);
		conn_abort(s->c);
		return;
	}
	b->src = *src;
	b->s = s;
	uv_timer_init(conn_loop(s->c), &b->stall);
	b->stall.data = b;
	b->off = 0;
	b->len = e->len;
	b->held = false;
	s->out = b;
	pump(s);
}

void http_body_stream_drained(struct http_session *s)
{
	if (s->out)
		pump(s);
}

void http_body_stream_closed(struct http_session *s)
{
	if (s->out)
		finish(s, false);
}
