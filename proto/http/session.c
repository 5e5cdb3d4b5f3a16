/* session: an HTTP/1.1 connection (RFC 9112), from bytes to handlers.
 *
 * conn hands the session its input raw (conn_read_raw) and the request
 * parser (parser.c) frames it. Requests are answered strictly in order:
 * after each complete request the session routes it (routes.c), and the
 * handler answers at once, or holds the session (a store job) so that
 * nothing more is parsed until it has answered. A pipelining client's
 * next requests wait in conn's buffer, and while the output queue is over
 * its limit conn delivers nothing: memory per connection stays bounded by
 * the head buffer, the body limit and the output limit.
 *
 * Time limits (against slowloris): a request's head must arrive within
 * header_timeout of its first byte, whatever trickles in (conn's deadline,
 * armed when the first byte of a request is seen and cleared when the
 * head is complete); a connection idle between requests is closed after
 * keepalive_timeout without a word (RFC 9112 §9.8), one stuck inside a
 * request gets 408.
 *
 * Bad input gets its status (400, 413, 414, 431, 501, 505) with
 * "Connection: close", and the connection closes once that is sent.
 *
 * One answer never ends: JMAP's event stream (jmap_push.c). From then on
 * the session parses nothing more and drops what the client sends (its
 * close must still be seen), the idle timeout asks the stream whether to
 * keep the connection, and the close frees the stream. */
#include "proto/http/http_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "net/conn.h"
#include "proto/common/env.h"
#include "proto/common/session.h"

static void slog(struct http_session *s, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void slog(struct http_session *s, enum log_level level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_session(level, conn_id(s->c), conn_peer(s->c), "http", "%s", msg);
}

/* ---- requests ---- */

static void on_head(struct http_session *s)
{
	s->req = http_parser_request(s->parser);
	s->too_big = false;
	buf_reset(&s->body);
	conn_clear_deadline(s->c); /* the head is in; the body has the idle timer */
	const struct http_request *r = s->req;
	if (r->content_length > http_max_body(s, r)) {
		http_respond_too_big(s);
		conn_close(s->c);
		return;
	}
	/* RFC 9110 §10.1.1: a client waiting for 100 (Continue) sends the body
	 * only after it. Only when there is a body to send and we want it. */
	if (r->expect_continue && r->version_minor >= 1 && (r->content_length > 0 || r->chunked))
		conn_write(s->c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
}

static void on_body(struct http_session *s)
{
	const char *data;
	size_t len;
	http_parser_body(s->parser, &data, &len);
	if (s->too_big)
		return;
	if (s->body.len + len > (size_t)http_max_body(s, s->req)) {
		/* chunked: the size was not known at the head */
		s->too_big = true;
		http_respond_too_big(s);
		conn_close(s->c);
		return;
	}
	if (buf_add(&s->body, data, len) < 0) {
		http_respond_error(s, 500);
		conn_close(s->c);
	}
}

static void on_done(struct http_session *s)
{
	http_route(s);
	if (!s->waiting)
		s->req = NULL;
}

/* conn's RAW callback: parse and answer until the input is used up, or the
 * session must wait (a held handler, a full output queue, closing). */
static size_t on_raw(struct conn *c, const char *data, size_t len)
{
	struct http_session *s = conn_session(c);
	size_t used = 0;
	if (s->push)
		return len; /* an event stream reads nothing, but must see the close */
	if (!s->parser && !(s->parser = http_parser_new(&s->limits))) {
		conn_abort(c);
		return len;
	}
	while (used < len || !http_parser_idle(s->parser)) {
		if (s->waiting || s->push || conn_is_closing(c))
			break;
		if (conn_output_full(c))
			return used;
		bool was_idle = http_parser_idle(s->parser);
		enum http_parse_event ev;
		size_t n = http_parser_feed(s->parser, data + used, len - used, &ev);
		used += n;
		if (was_idle && !http_parser_idle(s->parser))
			conn_restart_deadline(c); /* a request began: its head has header_timeout */
		switch (ev) {
		case HTTP_PARSE_MORE:
			return used;
		case HTTP_PARSE_HEAD:
			on_head(s);
			break;
		case HTTP_PARSE_BODY:
			on_body(s);
			break;
		case HTTP_PARSE_DONE:
			on_done(s);
			break;
		case HTTP_PARSE_ERROR:
			slog(s, LOG_INFO, "event=bad_request status=%d err=\"%s\"",
			     http_parser_status(s->parser), http_parser_error(s->parser));
			s->req = NULL;
			http_respond_error(s, http_parser_status(s->parser));
			conn_close(c);
			return len;
		}
	}
	if (conn_is_closing(c))
		return len;
	/* Between requests with nothing buffered: an idle keep-alive
	 * connection holds no parser (its head buffer is most of its cost). */
	if (used == len && http_parser_idle(s->parser) && !s->waiting) {
		http_parser_free(s->parser);
		s->parser = NULL;
	}
	return used;
}

/* ---- conn callbacks ---- */

static void on_drained(struct conn *c)
{
	/* conn delivers the buffered input again by itself */
	struct http_session *s = conn_session(c);
	if (s->out)
		http_body_stream_drained(s);
}

static void on_timeout(struct conn *c)
{
	struct http_session *s = conn_session(c);
	if (s->push && http_push_keep(s))
		return;
	if (s->parser && !http_parser_idle(s->parser) && !s->waiting && !s->ctx->env->stopping) {
		slog(s, LOG_INFO, "event=request_timeout");
		s->req = NULL;
		http_respond_error(s, 408);
	}
	conn_close(c);
}

static void on_closed(struct conn *c)
{
	struct http_session *s = conn_session(c);
	s->closed = true;
	http_push_closed(s);
	http_body_stream_closed(s);
	http_session_release(s);
}

static const struct conn_callbacks http_callbacks = {
    .drained = on_drained,
    .timeout = on_timeout,
    .closed = on_closed,
    .raw = on_raw,
};

void http_session_start(struct conn *c, void *ctx)
{
	const struct http_ctx *x = ctx;
	const struct http_settings *cfg = x->settings;
	struct http_session *s =
	    proto_session_new(c, sizeof *s, &http_callbacks, (size_t)cfg->max_head);
	if (!s)
		return;
	s->limits = (struct http_limits){
	    .max_head = (size_t)cfg->max_head,
	    .max_target = (size_t)cfg->max_head / 2,
	    .max_headers = (unsigned)cfg->max_headers,
	};
	s->c = c;
	s->ctx = x;
	s->refs = 1;
	conn_read_raw(c); /* the parser is made when the first byte comes */
	if (x->env->stopping)
		conn_close(c);
}
