/* conn: TCP + optional TLS byte stream with framing, flow control and a
 * careful lifecycle. The contract is in conn.h; this is how it is kept.
 *
 * Files. This file is the connection's life: accept, callbacks, the input
 * buffer and framing, pause/resume, close, timers, limits. The output queue
 * is conn_output.c, the TLS glue (handshake, decryption, STARTTLS) is
 * conn_tls.c, and their shared struct is conn_int.h, which also says how
 * the three call each other without a cycle.
 *
 * Handles. A conn owns four libuv handles: the TCP stream, an idle timer,
 * an auxiliary timer (TLS handshake deadline, then the deadline for a
 * graceful close) and an idle handle used as a "tick" to run deferred
 * work on the next loop iteration. The struct is freed when the last of
 * the four close callbacks has run, and the protocol's `closed` callback
 * runs right there, so it is the very last call. Everything else
 * (conn_close(), conn_abort(), errors) only sets flags and calls uv_close(),
 * which makes any function safe to call from inside any callback: the
 * memory stays valid until libuv's closing phase.
 *
 * Input path.
 *
 *   uv_read ─plain─────────────────────────┐
 *           └TLS→ session ciphertext buffer │→ c->in ─→ framer ─→ protocol
 *                   └─ mbedtls_ssl_read ────┘
 *
 * Plain bytes are read straight into c->in; TLS ciphertext goes to the
 * session's buffer and is decrypted into c->in. So both reach the same
 * framer. (With a filter installed, both land in raw[] first and are
 * decoded into c->in, a slice per loop turn: FILTER_SLICE.) The framer
 * consumes bytes only as it emits events, so whatever the protocol has not
 * been given yet is still in c->in: pausing, mode switches and STARTTLS's
 * "discard buffered plaintext" are all exact.
 *
 * pump() is the one place that drives input: handshake, decryption,
 * delivery. It runs after a read, and from the tick when something that
 * blocked delivery goes away (resume, drain, handshake done, mode change
 * outside a callback). It never runs recursively: conn_resume() inside a
 * callback just schedules the tick.
 *
 * Delivery stops (the framer is told to stop after the current event) when
 * the protocol pauses, closes, starts TLS, or its output goes over
 * max_output. Reading from the socket stops when c->in (or the TLS
 * ciphertext buffer) is full, when output is over max_output, and while a
 * STARTTLS reply is being flushed, so a slow or hostile client costs at
 * most a few buffers.
 *
 * Output path (conn_output.c). conn_write() copies into a queue of chunks,
 * and the queue is flushed at the end of pump() or from the tick, so a
 * burst of small replies becomes one write. When the queue is empty,
 * output_empty() here decides what that means: a STARTTLS reply is out
 * (start the handshake), or a graceful close can shut the socket down.
 *
 * Graceful close: stop delivering input, send close_notify when TLS is up,
 * flush, shutdown(SHUT_WR), then wait briefly for the peer's EOF (reading
 * and discarding) before closing, so unread pipelined input does not turn
 * our last reply into a reset. A deadline bounds the whole thing.
 */
#include "lib/metrics.h"
#include "net/conn_int.h"
#include "net/limits.h"
#include "tls/tls.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define READ_SLACK 16384
#define CLOSE_DEADLINE_MS 30000
#define LINGER_MS 2000
#define DEFAULT_MAX_LINE 8192
#define DEFAULT_MAX_OUTPUT (1024 * 1024)
/* The most a filter (COMPRESS) may produce in one loop turn. A socket read
 * brings at most a buffer of input, and pump() returns to the loop when
 * the protocol has handled it. Inflated input has no such bound: a few
 * hundred KB of deflate hold tens of MB of "a NOOP" lines, which, handled
 * in one go, stopped every listener for half a minute. So decoding stops
 * after this many bytes (filt_wait), reads meanwhile only fill raw[], and
 * the rest waits for the tick, which runs once per loop turn, after the
 * other connections' events. */
#define FILTER_SLICE (64 * 1024)

static struct conn *live_head;
static size_t live_count;
static char discard_buf[65536];

static void pump(struct conn *c);
static void update_reading(struct conn *c);
static void close_all(struct conn *c);
static void on_close_deadline(uv_timer_t *t);
static void arm_idle(struct conn *c);

/* ---- small helpers ---- */

static void (*input_hook)(void *);
static void *input_hook_ud;

void conn_set_input_hook(void (*fn)(void *ud), void *ud)
{
	input_hook = fn;
	input_hook_ud = ud;
}

static uint64_t next_id(void)
{
	static uint64_t counter;
	if (counter == 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		counter = ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec;
	}
	/* splitmix64 of a counter: unique (a bijection) and unpredictable-ish. */
	uint64_t z = (counter += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Input waits while output is over max_output, and after that until the
 * queue has gone to the socket (conn_output.c clears was_full). */
static bool can_deliver(const struct conn *c)
{
	return !c->closing && c->have_cb && c->pauses == 0 && !conn_output_full(c) &&
	       !c->was_full && (c->tls_state == TS_OFF || c->tls_state == TS_ON);
}

static void schedule_tick(struct conn *c);

static void on_tick(uv_idle_t *h)
{
	struct conn *c = h->data;
	uv_idle_stop(h);
	c->filt_wait = false; /* a new loop turn: a new slice */
	pump(c);
}

static void schedule_tick(struct conn *c)
{
	if (!c->handles_closing)
		uv_idle_start(&c->tick, on_tick);
}

/* ---- closing ---- */

static void on_handle_closed(uv_handle_t *h)
{
	struct conn *c = h->data;
	if (--c->open_handles > 0)
		return;
	if (c->have_cb && c->cb.closed)
		c->cb.closed(c);
	if (c->limits_held) {
		limits_conn_release(c->peer_ip);
		if (c->limits.metrics_slot)
			metric_add(MET_OPEN_SMTP + c->limits.metrics_slot - 1, -1);
		if (c->limits.metrics_slot && c->tls_state == TS_ON)
			metric_add(MET_TLS_OPEN_SMTP + c->limits.metrics_slot - 1, -1);
	}
	if (c->prev)
		c->prev->next = c->next;
	else if (live_head == c)
		live_head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	live_count--;
	tls_session_free(c->tls);
	framer_free(&c->framer);
	conn_out_free(c);
	free(c->in);
	free(c->raw);
	free(c);
}

static void close_all(struct conn *c)
{
	if (c->handles_closing)
		return;
	c->handles_closing = true;
	c->closing = true;
	c->open_handles = 5;
	uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
	uv_close((uv_handle_t *)&c->idle_timer, on_handle_closed);
	uv_close((uv_handle_t *)&c->deadline_timer, on_handle_closed);
	uv_close((uv_handle_t *)&c->aux_timer, on_handle_closed);
	uv_close((uv_handle_t *)&c->tick, on_handle_closed);
}

static void on_close_deadline(uv_timer_t *t)
{
	close_all(t->data);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	struct conn *c = req->data;
	if (c->handles_closing)
		return;
	if (status < 0 || c->peer_eof) {
		close_all(c);
		return;
	}
	/* Wait a little for the peer's EOF, discarding what it still sends. */
	uv_timer_start(&c->aux_timer, on_close_deadline, LINGER_MS, 0);
}

/* Nothing queued and nothing in flight (an upcall from conn_output.c): a
 * graceful close shuts the socket down, a STARTTLS reply has gone out. */
static void output_empty(struct conn *c)
{
	if (c->closing) {
		if (!c->shut) {
			c->shut = true;
			c->sreq.data = c;
			if (uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, on_shutdown) != 0)
				close_all(c);
		}
		return;
	}
	if (c->tls_state == TS_FLUSHING)
		conn_handshake_begin(c);
}

void conn_close(struct conn *c)
{
	if (c->closing)
		return;
	conn_out_filter_flush(c);
	c->closing = true;
	uv_timer_stop(&c->idle_timer);
	uv_timer_stop(&c->deadline_timer);
	if (c->tls_state == TS_ON)
		tls_session_close_notify(c->tls);
	conn_out_drop_pending(c);
	uv_timer_start(&c->aux_timer, on_close_deadline, CLOSE_DEADLINE_MS, 0);
	if (c->in_dispatch)
		framer_stop(&c->framer);
	else
		schedule_tick(c);
}

void conn_abort(struct conn *c)
{
	c->closing = true;
	close_all(c);
}

bool conn_is_closing(const struct conn *c)
{
	return c->closing;
}

/* Run the protocol's start function: at accept, or for implicit TLS once
 * the handshake is done. */
static void start_protocol(struct conn *c)
{
	c->start(c, c->start_ctx);
	if (c->handles_closing)
		return;
	if (!c->have_cb) {
		cev(c, LOG_ERROR, "event=conn_error err=no_callbacks");
		conn_abort(c);
		return;
	}
	arm_idle(c);
}

/* ---- input ---- */

static void fr_line(void *ud, char *line, size_t len, bool too_long)
{
	struct conn *c = ud;
	c->events++;
	if (c->cb.line)
		c->cb.line(c, line, len, too_long);
	if (!can_deliver(c))
		framer_stop(&c->framer);
}

static void fr_block(void *ud, const char *data, size_t len, bool last)
{
	struct conn *c = ud;
	c->events++;
	if (c->cb.block)
		c->cb.block(c, data, len, last);
	if (!can_deliver(c))
		framer_stop(&c->framer);
}

static void fr_dot(void *ud, const char *data, size_t len, bool end, unsigned flags)
{
	struct conn *c = ud;
	c->events++;
	if (c->cb.dot)
		c->cb.dot(c, data, len, end, flags);
	if (!can_deliver(c))
		framer_stop(&c->framer);
}

static size_t fr_raw(void *ud, const char *data, size_t len)
{
	struct conn *c = ud;
	c->events++;
	size_t used = c->cb.raw ? c->cb.raw(c, data, len) : len;
	if (!can_deliver(c))
		framer_stop(&c->framer);
	return used;
}

static const struct framer_ops framer_ops = {fr_line, fr_block, fr_dot, fr_raw};

/* Everything read has been handled: give the input buffer (a line's worth
 * plus READ_SLACK, ~24 KiB) back until the next read. Most connections are
 * idle most of the time (IMAP IDLE), and that buffer is most of what an
 * idle connection costs. */
static void release_idle_input(struct conn *c)
{
	if (c->in && !c->filt && c->in_r == c->in_w && !framer_has_pending(&c->framer)) {
		free(c->in);
		c->in = NULL;
		c->in_cap = c->in_r = c->in_w = 0;
	}
	if (c->tls && c->tls_state == TS_ON)
		tls_session_release_input(c->tls);
}

/* Make c->in big enough for the current max_line and move unread bytes to
 * the front. Never called while the framer holds pointers into c->in. */
static int prepare_in(struct conn *c)
{
	size_t need = framer_min_buffer(&c->framer) + READ_SLACK;
	if (c->in_cap < need) {
		char *n = realloc(c->in, need);
		if (!n)
			return -1;
		c->in = n;
		c->in_cap = need;
	}
	if (c->in_r > 0) {
		memmove(c->in, c->in + c->in_r, c->in_w - c->in_r);
		c->in_w -= c->in_r;
		c->in_r = 0;
	}
	return 0;
}

/* ---- the input side of a filter (COMPRESS) ---- */

void conn_set_filter(struct conn *c, const struct conn_filter *f, void *ud)
{
	c->filt = f;
	c->filt_ud = ud;
	c->filt_dirty = false;
	if (c->in_dispatch) {
		c->filt_new = true;
		framer_stop(&c->framer);
	} else if (c->in_w > c->in_r) {
		c->filt_new = true;
		schedule_tick(c);
	}
}

/* Move the unread rest of in[] (bytes that arrived after the command that
 * installed the filter: already filtered on the wire) in front of raw[]. */
static int filter_adopt(struct conn *c)
{
	c->filt_new = false;
	size_t n = c->in_w - c->in_r;
	if (n == 0)
		return 0;
	size_t have = c->raw_w - c->raw_r;
	if (c->raw_cap < n + have + READ_SLACK) {
		char *r = malloc(n + have + READ_SLACK);
		if (!r)
			return -1;
		memcpy(r, c->in + c->in_r, n);
		if (have)
			memcpy(r + n, c->raw + c->raw_r, have);
		free(c->raw);
		c->raw = r;
		c->raw_cap = n + have + READ_SLACK;
	} else {
		memmove(c->raw + n, c->raw + c->raw_r, have);
		memcpy(c->raw, c->in + c->in_r, n);
	}
	c->raw_r = 0;
	c->raw_w = n + have;
	c->in_r = c->in_w = 0;
	return 0;
}

static int prepare_raw(struct conn *c)
{
	if (!c->raw) {
		c->raw = malloc(2 * READ_SLACK);
		if (!c->raw)
			return -1;
		c->raw_cap = 2 * READ_SLACK;
	}
	if (c->raw_r > 0) {
		memmove(c->raw, c->raw + c->raw_r, c->raw_w - c->raw_r);
		c->raw_w -= c->raw_r;
		c->raw_r = 0;
	}
	return 0;
}

/* Decode raw[] into in[]. Returns bytes added to in[], or -1. */
static ssize_t filter_in(struct conn *c)
{
	if (prepare_in(c) != 0)
		return -1;
	size_t consumed = 0, produced = 0;
	/* raw is still NULL when nothing arrived since the filter was set:
	 * no pointer arithmetic on it (the decoder may still have output). */
	if (c->filt->decode(c->filt_ud, c->raw ? c->raw + c->raw_r : "", c->raw_w - c->raw_r,
	                    &consumed, c->in + c->in_w, c->in_cap - c->in_w, &produced) != 0) {
		cev(c, LOG_INFO, "event=filter_failed dir=in");
		return -1;
	}
	c->raw_r += consumed;
	c->in_w += produced;
	if (c->raw_r == c->raw_w)
		c->raw_r = c->raw_w = 0;
	return (ssize_t)produced;
}

/* Decrypt what fits into c->in (raw[] under a filter): conn supplies the
 * room, TLS fills it. Returns bytes added, or -1 (conn closing). */
static ssize_t decrypt(struct conn *c)
{
	char **buf = c->filt ? &c->raw : &c->in;
	size_t *w = c->filt ? &c->raw_w : &c->in_w;
	size_t *cap = c->filt ? &c->raw_cap : &c->in_cap;
	if ((c->filt ? prepare_raw(c) : prepare_in(c)) != 0) {
		conn_abort(c);
		return -1;
	}
	ssize_t added = conn_decrypt(c, *buf + *w, *cap - *w);
	if (added < 0) {
		conn_abort(c);
		return -1;
	}
	*w += (size_t)added;
	return added;
}

static void pump(struct conn *c)
{
	if (c->in_dispatch || c->handles_closing)
		return;
	c->in_dispatch = true;
	size_t inflated = 0; /* bytes the filter produced in this call */
	bool more = false;   /* the slice ran out with filtered input left */
	while (!c->closing) {
		if (c->tls_state == TS_HANDSHAKE) {
			int rc = conn_handshake_step(c);
			if (rc == TLS_AGAIN) {
				if (c->peer_eof) {
					cev(c, LOG_INFO, "event=tls_fail err=eof_in_handshake");
					conn_abort(c);
				}
				break;
			}
			if (rc < 0) {
				/* Graceful: the alert mbedTLS queued still goes out
				 * (nothing happens if the conn is already closing). */
				conn_close(c);
				break;
			}
			/* TLS is on. An implicit-TLS conn starts its protocol now. */
			if (c->tls_mode == CONN_TLS_IMPLICIT && !c->have_cb)
				start_protocol(c);
			continue;
		}
		/* A filter installed since the last feed (inside a callback, or
		 * outside any, with input buffered) takes over the unread rest of
		 * in[] before anything more is framed. */
		if (c->filt_new && filter_adopt(c) != 0) {
			conn_abort(c);
			break;
		}
		ssize_t added = 0;
		if (c->tls_state == TS_ON && (added = decrypt(c)) < 0)
			break;
		/* Decode only while the protocol may take input, and at most
		 * a slice per loop turn (FILTER_SLICE). */
		if (c->filt && !c->filt_new && can_deliver(c)) {
			if (c->filt_wait || inflated >= FILTER_SLICE) {
				more = true;
			} else {
				ssize_t f = filter_in(c);
				if (f < 0) {
					conn_abort(c);
					break;
				}
				inflated += (size_t)f;
				added += f;
			}
		}
		if (!can_deliver(c))
			break;
		if (c->in_r == c->in_w && !framer_has_pending(&c->framer))
			break;
		unsigned events = c->events;
		size_t n = framer_feed(&c->framer, c->in ? c->in + c->in_r : "", c->in_w - c->in_r);
		if (n == (size_t)-1) {
			conn_abort(c);
			break;
		}
		c->in_r += n;
		if (c->discard_input) {
			c->discard_input = false;
			c->in_r = c->in_w = 0;
		}
		if (c->in_r == c->in_w)
			c->in_r = c->in_w = 0;
		if (n == 0 && events == c->events && added == 0) {
			/* An incomplete line: wait for more input. */
			if (prepare_in(c) != 0)
				conn_abort(c);
			break;
		}
	}
	c->in_dispatch = false;
	if (c->handles_closing)
		return;
	release_idle_input(c);
	/* The peer finished sending and everything it sent has been handled:
	 * close once our replies are out. */
	if (c->peer_eof && !c->closing && !more && can_deliver(c))
		conn_close(c);
	conn_out_flush(c);
	update_reading(c);
	/* The rest of the filtered input waits for the next loop turn, after
	 * every other connection has had its turn. */
	if (more && !c->closing && !c->handles_closing) {
		c->filt_wait = true;
		schedule_tick(c);
	}
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct conn *c = h->data;
	if (c->closing) {
		*buf = uv_buf_init(discard_buf, sizeof discard_buf);
		return;
	}
	if (c->tls) {
		char *p;
		size_t len;
		tls_session_in_space(c->tls, &p, &len);
		*buf = uv_buf_init(p, (unsigned)len);
		return;
	}
	if (c->filt) {
		if (prepare_raw(c) != 0) {
			*buf = uv_buf_init(NULL, 0);
			return;
		}
		*buf = uv_buf_init(c->raw + c->raw_w, (unsigned)(c->raw_cap - c->raw_w));
		return;
	}
	if (prepare_in(c) != 0) {
		*buf = uv_buf_init(NULL, 0);
		return;
	}
	*buf = uv_buf_init(c->in + c->in_w, (unsigned)(c->in_cap - c->in_w));
}

static void on_idle(uv_timer_t *t);

static void arm_idle(struct conn *c)
{
	if (c->have_cb && !c->closing && c->limits.idle_timeout_ms)
		uv_timer_start(&c->idle_timer, on_idle, c->limits.idle_timeout_ms, 0);
}

static void on_idle(uv_timer_t *t)
{
	struct conn *c = t->data;
	if (c->closing)
		return;
	if (c->pauses > 0) {
		arm_idle(c); /* the client is waiting on us, not idle */
		return;
	}
	cev(c, LOG_DEBUG, "event=idle_timeout");
	if (c->have_cb && c->cb.timeout)
		c->cb.timeout(c);
	else
		conn_close(c);
	if (!c->closing)
		arm_idle(c);
}

/* The deadline passed: the same farewell as for an idle client. A client
 * waiting on us (a password check, a commit) gets a second more. */
static void on_deadline(uv_timer_t *t)
{
	struct conn *c = t->data;
	if (c->closing)
		return;
	if (c->pauses > 0) {
		uv_timer_start(&c->deadline_timer, on_deadline, 1000, 0);
		return;
	}
	cev(c, LOG_INFO, "event=deadline ms=%llu", (unsigned long long)c->limits.deadline_ms);
	if (c->have_cb && c->cb.timeout)
		c->cb.timeout(c);
	else
		conn_close(c);
	if (!c->closing)
		conn_close(c); /* the protocol did not: a deadline is final */
}

void conn_clear_deadline(struct conn *c)
{
	uv_timer_stop(&c->deadline_timer);
}

void conn_restart_deadline(struct conn *c)
{
	if (c->limits.deadline_ms && !c->closing)
		uv_timer_start(&c->deadline_timer, on_deadline, c->limits.deadline_ms, 0);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = s->data;
	if (c->handles_closing)
		return;
	if (nread == UV_ENOBUFS) {
		c->reading = false; /* buffer full: pump restarts reading when it drains */
		uv_read_stop(s);
		return;
	}
	if (nread < 0) {
		c->reading = false;
		uv_read_stop(s);
		if (nread != UV_EOF) {
			cev(c, LOG_DEBUG, "event=read_error err=%s", uv_err_name((int)nread));
			close_all(c);
			return;
		}
		c->peer_eof = true;
		if (c->shut) {
			close_all(c);
			return;
		}
		pump(c);
		return;
	}
	if (nread == 0)
		return;
	if (c->closing)
		return; /* discarding while a graceful close completes */
	c->last_input_ms = uv_now(c->loop);
	c->tls_trimmed = false;
	arm_idle(c);
	if (input_hook)
		input_hook(input_hook_ud);
	if (c->tls)
		tls_session_in_commit(c->tls, (size_t)nread);
	else if (c->filt)
		c->raw_w += (size_t)nread;
	else
		c->in_w += (size_t)nread;
	pump(c);
}

static void update_reading(struct conn *c)
{
	if (c->handles_closing)
		return;
	bool want;
	if (c->peer_eof)
		want = false;
	else if (c->closing)
		want = true; /* discard until EOF */
	else if (c->tls_state == TS_FLUSHING || conn_output_full(c))
		want = false;
	else if (c->tls) {
		char *p;
		size_t len;
		tls_session_in_space(c->tls, &p, &len);
		want = len > 0;
	} else if (c->filt)
		want = !c->raw || c->raw_w - c->raw_r < c->raw_cap;
	else
		want = !c->in || c->in_w - c->in_r < c->in_cap; /* no buffer: one on read */
	if (want == c->reading)
		return;
	if (want) {
		if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
			c->reading = true;
	} else {
		uv_read_stop((uv_stream_t *)&c->tcp);
		c->reading = false;
	}
}

/* ---- public API ---- */

void conn_set_callbacks(struct conn *c, const struct conn_callbacks *cb, void *session)
{
	c->cb = *cb;
	c->session = session;
	c->have_cb = true;
}

void *conn_session(const struct conn *c)
{
	return c->session;
}

static void mode_changed(struct conn *c)
{
	if (!c->in_dispatch)
		schedule_tick(c);
}

void conn_read_line(struct conn *c)
{
	framer_set_line(&c->framer);
	mode_changed(c);
}

void conn_read_block(struct conn *c, uint64_t n)
{
	framer_set_block(&c->framer, n);
	mode_changed(c);
}

void conn_read_raw(struct conn *c)
{
	framer_set_raw(&c->framer);
	mode_changed(c);
}

void conn_read_dot(struct conn *c)
{
	framer_set_dot(&c->framer);
	mode_changed(c);
}

void conn_set_max_line(struct conn *c, size_t max_line)
{
	c->limits.max_line = max_line;
	framer_set_max_line(&c->framer, max_line);
	mode_changed(c); /* pump grows c->in between framer calls */
}

void conn_pause(struct conn *c)
{
	c->pauses++;
	if (c->in_dispatch)
		framer_stop(&c->framer);
}

void conn_resume(struct conn *c)
{
	if (c->pauses == 0)
		return;
	if (--c->pauses == 0)
		schedule_tick(c);
}

uint64_t conn_id(const struct conn *c)
{
	return c->id;
}

const char *conn_peer(const struct conn *c)
{
	return c->peer;
}

const char *conn_peer_ip(const struct conn *c)
{
	return c->peer_ip;
}

const char *conn_local_ip(const struct conn *c)
{
	return c->local_ip;
}

bool conn_peer_is_loopback(const struct conn *c)
{
	return c->loopback;
}

uv_loop_t *conn_loop(const struct conn *c)
{
	return c->loop;
}

void conn_set_idle_timeout(struct conn *c, uint64_t ms)
{
	c->limits.idle_timeout_ms = ms;
	if (ms == 0)
		uv_timer_stop(&c->idle_timer);
	else
		arm_idle(c);
}

void conn_trim_idle(uint64_t now_ms, uint64_t quiet_ms)
{
	for (struct conn *c = live_head; c; c = c->next) {
		if (!c->tls || c->tls_state != TS_ON || c->tls_trimmed || c->closing ||
		    now_ms - c->last_input_ms < quiet_ms)
			continue;
		c->tls_trimmed = tls_session_trim_idle(c->tls);
	}
}

size_t conn_live_count(void)
{
	return live_count;
}

void conn_shutdown_all(void)
{
	for (struct conn *c = live_head; c; c = c->next) {
		if (c->closing)
			continue;
		if (c->have_cb && c->cb.timeout)
			c->cb.timeout(c);
		if (!c->closing)
			conn_close(c);
	}
}

/* What conn_output.c and conn_tls.c may ask of conn.c (conn_int.h says why
 * these go through a table). */
static const struct conn_upcalls upcalls = {
    .schedule_tick = schedule_tick,
    .close_all = close_all,
    .update_reading = update_reading,
    .output_empty = output_empty,
};

/* "1.2.3.4" for IPv4 and IPv4-mapped IPv6, "::1" otherwise; port out. */
static void addr_string(const struct sockaddr_storage *ss, char *ip, size_t iplen, int *port,
                        bool *v6, bool *loopback)
{
	*port = 0;
	*v6 = false;
	*loopback = false;
	snprintf(ip, iplen, "?");
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &a->sin_addr, ip, (socklen_t)iplen);
		*port = ntohs(a->sin_port);
		*loopback = (ntohl(a->sin_addr.s_addr) >> 24) == 127;
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
		*port = ntohs(a->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
			inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], ip, (socklen_t)iplen);
			*loopback = a->sin6_addr.s6_addr[12] == 127;
		} else {
			inet_ntop(AF_INET6, &a->sin6_addr, ip, (socklen_t)iplen);
			*v6 = true;
			*loopback = IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
		}
	}
}

static void fill_addresses(struct conn *c)
{
	struct sockaddr_storage ss;
	int len = sizeof ss;
	int port;
	bool v6, lo;
	snprintf(c->peer, sizeof c->peer, "?");
	snprintf(c->peer_ip, sizeof c->peer_ip, "?");
	snprintf(c->local_ip, sizeof c->local_ip, "?");
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
		addr_string(&ss, c->peer_ip, sizeof c->peer_ip, &port, &v6, &lo);
		c->loopback = lo;
		snprintf(c->peer, sizeof c->peer, v6 ? "[%s]:%d" : "%s:%d", c->peer_ip, port);
	}
	len = sizeof ss;
	if (uv_tcp_getsockname(&c->tcp, (struct sockaddr *)&ss, &len) == 0)
		addr_string(&ss, c->local_ip, sizeof c->local_ip, &port, &v6, &lo);
}

static void free_raw(uv_handle_t *h)
{
	free(h);
}

/* A client a connection limit refused is told why, in its protocol's
 * words, on a plaintext socket: one short line that fits in the socket's
 * buffer (a try-write; if it does not go at once, it is not said). */
static void say_refusal(struct conn *c)
{
	if (!c->limits.refusal || c->tls_mode == CONN_TLS_IMPLICIT)
		return;
	uv_buf_t b = uv_buf_init((char *)c->limits.refusal, (unsigned)strlen(c->limits.refusal));
	(void)uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
}

/* Accept and drop a connection we cannot even allocate a conn for, so the
 * listening socket does not stay readable forever. */
static void reject_stream(uv_loop_t *loop, uv_stream_t *server)
{
	uv_tcp_t *t = malloc(sizeof *t);
	if (!t)
		return;
	uv_tcp_init(loop, t);
	uv_accept(server, (uv_stream_t *)t);
	uv_close((uv_handle_t *)t, free_raw);
}

struct conn *conn_accept(uv_loop_t *loop, uv_stream_t *server, enum conn_tls_mode tls_mode,
                         struct tls_server *tls, enum tls_profile tls_profile,
                         const struct conn_limits *limits, conn_start_fn start, void *start_ctx)
{
	/* libuv writes with write(2): a peer that vanished must be an EPIPE
	 * for one conn, never a signal that kills the server. */
	static bool sigpipe_ignored;
	if (!sigpipe_ignored) {
		signal(SIGPIPE, SIG_IGN);
		sigpipe_ignored = true;
	}
	struct conn *c = calloc(1, sizeof *c);
	if (!c) {
		reject_stream(loop, server);
		return NULL;
	}
	c->up = &upcalls;
	c->id = next_id();
	c->loop = loop;
	c->tls_mode = tls_mode;
	c->tls_server = tls;
	c->tls_profile = tls_profile;
	c->start = start;
	c->start_ctx = start_ctx;
	if (limits)
		c->limits = *limits;
	if (c->limits.max_line == 0)
		c->limits.max_line = DEFAULT_MAX_LINE;
	if (c->limits.max_output == 0)
		c->limits.max_output = DEFAULT_MAX_OUTPUT;
	uv_tcp_init(loop, &c->tcp);
	uv_timer_init(loop, &c->idle_timer);
	uv_timer_init(loop, &c->deadline_timer);
	uv_timer_init(loop, &c->aux_timer);
	uv_idle_init(loop, &c->tick);
	c->tcp.data = c->idle_timer.data = c->deadline_timer.data = c->aux_timer.data =
	    c->tick.data = c;
	framer_init(&c->framer, c->limits.max_line, &framer_ops, c);
	c->prev = NULL;
	c->next = live_head;
	if (live_head)
		live_head->prev = c;
	live_head = c;
	live_count++;

	if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
		close_all(c);
		return NULL;
	}
	fill_addresses(c);
	if (limits_conn_acquire(c->peer_ip, c->limits.max_conn_per_ip, c->limits.max_conn_total) !=
	    0) {
		bool total =
		    c->limits.max_conn_total && limits_conn_total() >= c->limits.max_conn_total;
		cev(c, LOG_INFO, "event=conn_refused reason=%s",
		    total ? "total_limit" : "per_ip_limit");
		say_refusal(c);
		close_all(c);
		metric_add(MET_CONN_REFUSED, 1);
		return NULL;
	}
	c->limits_held = true;
	if (c->limits.metrics_slot) {
		metric_add(MET_OPEN_SMTP + c->limits.metrics_slot - 1, 1);
		metric_add(MET_ACCEPTED_SMTP + c->limits.metrics_slot - 1, 1);
	}
	conn_restart_deadline(c);
	if (prepare_in(c) != 0) {
		close_all(c);
		return NULL;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	if (tls_mode == CONN_TLS_IMPLICIT) {
		if (!tls) {
			cev(c, LOG_ERROR, "event=tls_fail err=no_certificate");
			close_all(c);
			return NULL;
		}
		conn_handshake_begin(c);
	} else {
		start_protocol(c);
	}
	if (!c->handles_closing) {
		update_reading(c);
		schedule_tick(c);
	}
	return c;
}
