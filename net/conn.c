/* conn: TCP + optional TLS byte stream with framing, flow control and a
 * careful lifecycle. The contract is in conn.h; this is how it is kept.
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
 * framer. The framer consumes bytes only as it emits events, so whatever
 * the protocol has not been given yet is still in c->in: pausing, mode
 * switches and STARTTLS's "discard buffered plaintext" are all exact.
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
 * Output path. conn_write() copies into a queue of chunks; small writes
 * coalesce into the tail chunk. Flushing is deferred to the end of pump()
 * or to the tick, so a burst of small replies becomes one uv_write with
 * several buffers. One uv_write is in flight at a time. With TLS the
 * plaintext is encrypted at conn_write() time and the session's output
 * callback appends ciphertext to the same queue; plaintext written while a
 * handshake is pending waits in a second queue.
 *
 * STARTTLS (CVE-2011-0411): conn_starttls() drops everything buffered after
 * the STARTTLS line, stops reading, flushes the queued reply, and only
 * then creates the TLS session and starts reading again. Bytes that
 * arrive after our last read stay in the kernel and are read as TLS, where
 * injected plaintext can only fail the handshake.
 *
 * Graceful close: stop delivering input, send close_notify when TLS is up,
 * flush, shutdown(SHUT_WR), then wait briefly for the peer's EOF (reading
 * and discarding) before closing, so unread pipelined input does not turn
 * our last reply into a reset. A deadline bounds the whole thing.
 */
#include "net/conn.h"
#include "net/framing.h"
#include "net/limits.h"
#include "lib/log.h"
#include "tls/tls.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHUNK_SIZE 16384
#define MAX_WRITE_BUFS 32
#define READ_SLACK 16384
#define CLOSE_DEADLINE_MS 30000
#define LINGER_MS 2000
#define DEFAULT_MAX_LINE 8192
#define DEFAULT_MAX_OUTPUT (1024 * 1024)

struct out_chunk {
	struct out_chunk *next;
	size_t len, cap;
	char data[];
};

struct outq {
	struct out_chunk *head, *tail;
	size_t bytes;
};

enum tls_state {
	TS_OFF = 0,  /* plaintext */
	TS_FLUSHING, /* STARTTLS accepted: flushing the reply, reading stopped */
	TS_HANDSHAKE,
	TS_ON,
};

struct conn {
	uv_tcp_t tcp;
	uv_timer_t idle_timer;
	uv_timer_t aux_timer;
	uv_idle_t tick;
	uv_write_t wreq;
	uv_shutdown_t sreq;
	int open_handles;

	struct conn *prev, *next; /* live list */
	uint64_t id;
	uv_loop_t *loop;
	const struct listener *listener;
	struct conn_limits limits;
	conn_start_fn start;
	struct conn_callbacks cb;
	bool have_cb;
	void *session;

	struct framer framer;
	char *in;
	size_t in_r, in_w, in_cap;
	unsigned events; /* framer events delivered, to detect progress */

	struct outq out;    /* ready for the wire */
	struct outq flight; /* being written */
	struct outq pt;     /* plaintext waiting for the handshake */
	bool writing;
	bool was_full;

	enum conn_tls_mode tls_mode;
	enum tls_state tls_state;
	struct tls_server *tls_server;
	struct tls_session *tls;

	unsigned pauses;
	bool reading;
	bool in_dispatch;
	bool discard_input;
	bool closing;
	bool handles_closing;
	bool shut;
	bool peer_eof;
	bool limits_held;
	bool loopback;

	/* Byte filter (COMPRESS=DEFLATE) between TLS and the framer. Raw
	 * input from the wire (or from TLS) lands in raw[] and is decoded
	 * into in[]. filt_new: just installed inside a callback; the unread
	 * rest of in[] is moved to raw[] once the framer returns. */
	const struct conn_filter *filt;
	void *filt_ud;
	bool filt_dirty, filt_new;
	char *raw;
	size_t raw_r, raw_w, raw_cap;

	char peer[64];
	char peer_ip[48];
	char local_ip[48];
};

static struct conn *live_head;
static size_t live_count;
static char discard_buf[65536];

static void pump(struct conn *c);
static void flush(struct conn *c);
static void filter_flush(struct conn *c);
static void update_reading(struct conn *c);
static void close_all(struct conn *c);
static void begin_handshake(struct conn *c);
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

static void cev(struct conn *c, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void cev(struct conn *c, enum log_level level, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	log_session(level, c->id, c->peer, "conn", "%s", buf);
}

static size_t queued(const struct conn *c)
{
	return c->out.bytes + c->flight.bytes + c->pt.bytes;
}

bool conn_output_full(const struct conn *c)
{
	return c->limits.max_output && queued(c) > c->limits.max_output;
}

size_t conn_output_queued(const struct conn *c)
{
	return queued(c);
}

/* Input waits while output is over max_output, and after that until the
 * queue has gone to the socket (was_full is cleared by note_written()). */
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
	pump(c);
}

static void schedule_tick(struct conn *c)
{
	if (!c->handles_closing)
		uv_idle_start(&c->tick, on_tick);
}

/* ---- output queue ---- */

static void outq_free(struct outq *q)
{
	struct out_chunk *ch = q->head;
	while (ch) {
		struct out_chunk *n = ch->next;
		free(ch);
		ch = n;
	}
	q->head = q->tail = NULL;
	q->bytes = 0;
}

static int outq_append(struct outq *q, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		struct out_chunk *t = q->tail;
		if (!t || t->len == t->cap) {
			size_t cap = len > CHUNK_SIZE ? len : CHUNK_SIZE;
			t = malloc(sizeof *t + cap);
			if (!t)
				return -1;
			t->next = NULL;
			t->len = 0;
			t->cap = cap;
			if (q->tail)
				q->tail->next = t;
			else
				q->head = t;
			q->tail = t;
		}
		size_t n = t->cap - t->len;
		if (n > len)
			n = len;
		memcpy(t->data + t->len, p, n);
		t->len += n;
		q->bytes += n;
		p += n;
		len -= n;
	}
	return 0;
}

static void note_full(struct conn *c)
{
	if (conn_output_full(c))
		c->was_full = true;
}

/* Ciphertext from the TLS session. */
static int tls_out(void *ctx, const unsigned char *data, size_t len)
{
	struct conn *c = ctx;
	if (c->handles_closing)
		return -1;
	if (outq_append(&c->out, data, len) != 0)
		return -1;
	note_full(c);
	if (!c->in_dispatch)
		schedule_tick(c);
	return 0;
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

/* Nothing queued and nothing in flight. */
static void on_output_empty(struct conn *c)
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
		begin_handshake(c);
}

/* Output went out: tell a producer that waited for room. */
static void note_written(struct conn *c)
{
	if (c->was_full && !conn_output_full(c)) {
		c->was_full = false;
		if (c->have_cb && !c->closing && c->cb.drained)
			c->cb.drained(c);
		schedule_tick(c); /* delivery may have been held back by the full queue */
	}
}

static void on_write(uv_write_t *req, int status)
{
	struct conn *c = req->data;
	c->writing = false;
	outq_free(&c->flight);
	if (c->handles_closing)
		return;
	if (status < 0) {
		if (!c->closing)
			cev(c, LOG_DEBUG, "event=write_error err=%s", uv_err_name(status));
		close_all(c);
		return;
	}
	note_written(c);
	flush(c);
	update_reading(c);
}

/* Write what the socket takes right now (uv_try_write) and drop it from the
 * queue. Most replies fit the socket buffer whole, and then no write
 * request, no completion callback on the next iteration and no epoll change
 * are needed: one write(2). Returns whether anything was written. */
static bool write_now(struct conn *c)
{
	uv_buf_t bufs[MAX_WRITE_BUFS];
	unsigned n = 0;
	for (struct out_chunk *ch = c->out.head; ch && n < MAX_WRITE_BUFS; ch = ch->next)
		bufs[n++] = uv_buf_init(ch->data, (unsigned)ch->len);
	int w = uv_try_write((uv_stream_t *)&c->tcp, bufs, n);
	if (w <= 0)
		return false; /* EAGAIN, or an error uv_write will report */
	size_t left = (size_t)w;
	c->out.bytes -= left;
	while (left > 0) {
		struct out_chunk *ch = c->out.head;
		if (left < ch->len) {
			memmove(ch->data, ch->data + left, ch->len - left);
			ch->len -= left;
			break;
		}
		left -= ch->len;
		c->out.head = ch->next;
		if (!c->out.head)
			c->out.tail = NULL;
		free(ch);
	}
	return true;
}

static void flush(struct conn *c)
{
	filter_flush(c);
	if (c->handles_closing || c->writing)
		return;
	bool wrote = false;
	while (c->out.head && write_now(c)) {
		wrote = true;
		if (c->out.head)
			break;   /* the socket is full: wait for it below */
		note_written(c); /* may queue more (RETR, FETCH): write that too */
		if (c->handles_closing)
			return;
		filter_flush(c);
	}
	if (!c->out.head) {
		on_output_empty(c);
		if (wrote)
			update_reading(c);
		return;
	}
	uv_buf_t bufs[MAX_WRITE_BUFS];
	unsigned n = 0;
	while (c->out.head && n < MAX_WRITE_BUFS) {
		struct out_chunk *ch = c->out.head;
		c->out.head = ch->next;
		if (!c->out.head)
			c->out.tail = NULL;
		c->out.bytes -= ch->len;
		ch->next = NULL;
		if (c->flight.tail)
			c->flight.tail->next = ch;
		else
			c->flight.head = ch;
		c->flight.tail = ch;
		c->flight.bytes += ch->len;
		bufs[n++] = uv_buf_init(ch->data, (unsigned)ch->len);
	}
	c->wreq.data = c;
	int rc = uv_write(&c->wreq, (uv_stream_t *)&c->tcp, bufs, n, on_write);
	if (rc != 0) {
		outq_free(&c->flight);
		close_all(c);
		return;
	}
	c->writing = true;
}

/* Bytes for the wire (after the filter, before TLS). */
static int write_bytes(struct conn *c, const void *data, size_t len)
{
	if (c->handles_closing)
		return -1;
	if (len == 0)
		return 0;
	int rc;
	if (c->tls_state == TS_ON)
		rc = tls_session_write(c->tls, data, len);
	else if (c->tls_state == TS_OFF)
		rc = outq_append(&c->out, data, len);
	else
		rc = outq_append(&c->pt, data, len);
	if (rc != 0) {
		cev(c, LOG_WARN, "event=write_failed err=%s",
		    c->tls_state == TS_ON ? tls_session_error(c->tls) : "out of memory");
		conn_abort(c);
		return -1;
	}
	note_full(c);
	if (!c->in_dispatch)
		schedule_tick(c);
	return 0;
}

static int filter_emit(void *ctx, const void *data, size_t len)
{
	return write_bytes(ctx, data, len);
}

/* End of a write batch: make the filter emit everything it holds. */
static void filter_flush(struct conn *c)
{
	if (!c->filt || !c->filt_dirty || c->handles_closing)
		return;
	c->filt_dirty = false;
	if (c->filt->encode(c->filt_ud, NULL, 0, true, filter_emit, c) != 0) {
		cev(c, LOG_WARN, "event=filter_failed dir=out");
		conn_abort(c);
	}
}

int conn_write(struct conn *c, const void *data, size_t len)
{
	if (c->closing)
		return -1;
	if (len == 0)
		return 0;
	if (!c->filt)
		return write_bytes(c, data, len);
	c->filt_dirty = true;
	if (c->filt->encode(c->filt_ud, data, len, false, filter_emit, c) != 0) {
		cev(c, LOG_WARN, "event=filter_failed dir=out");
		conn_abort(c);
		return -1;
	}
	if (!c->in_dispatch)
		schedule_tick(c);
	return 0;
}

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

static int prepare_in(struct conn *c);

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

int conn_printf(struct conn *c, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n < sizeof buf)
		return conn_write(c, buf, (size_t)n);
	char *big = malloc((size_t)n + 1);
	if (!big)
		return -1;
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	int rc = conn_write(c, big, (size_t)n);
	free(big);
	return rc;
}

/* ---- closing ---- */

static void on_handle_closed(uv_handle_t *h)
{
	struct conn *c = h->data;
	if (--c->open_handles > 0)
		return;
	if (c->have_cb && c->cb.closed)
		c->cb.closed(c);
	if (c->limits_held)
		limits_conn_release(c->peer_ip);
	if (c->prev)
		c->prev->next = c->next;
	else if (live_head == c)
		live_head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	live_count--;
	tls_session_free(c->tls);
	framer_free(&c->framer);
	outq_free(&c->out);
	outq_free(&c->flight);
	outq_free(&c->pt);
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
	c->open_handles = 4;
	uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
	uv_close((uv_handle_t *)&c->idle_timer, on_handle_closed);
	uv_close((uv_handle_t *)&c->aux_timer, on_handle_closed);
	uv_close((uv_handle_t *)&c->tick, on_handle_closed);
}

static void on_close_deadline(uv_timer_t *t)
{
	close_all(t->data);
}

void conn_close(struct conn *c)
{
	if (c->closing)
		return;
	filter_flush(c);
	c->closing = true;
	uv_timer_stop(&c->idle_timer);
	if (c->tls_state == TS_ON)
		tls_session_close_notify(c->tls);
	outq_free(&c->pt);
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

/* ---- TLS ---- */

static void on_handshake_timeout(uv_timer_t *t)
{
	struct conn *c = t->data;
	if (c->tls_state != TS_HANDSHAKE)
		return;
	cev(c, LOG_INFO, "event=tls_fail err=handshake_timeout");
	if (c->tls_mode == CONN_TLS_STARTTLS && c->have_cb && c->cb.tls_done)
		c->cb.tls_done(c, false);
	conn_abort(c);
}

static void begin_handshake(struct conn *c)
{
	c->tls = tls_session_new(c->tls_server, tls_out, c);
	if (!c->tls) {
		cev(c, LOG_WARN, "event=tls_fail err=session_setup");
		if (c->tls_mode == CONN_TLS_STARTTLS && c->have_cb && c->cb.tls_done)
			c->cb.tls_done(c, false);
		conn_abort(c);
		return;
	}
	c->tls_state = TS_HANDSHAKE;
	framer_reset(&c->framer);
	c->in_r = c->in_w = 0;
	if (c->limits.handshake_timeout_ms)
		uv_timer_start(&c->aux_timer, on_handshake_timeout, c->limits.handshake_timeout_ms,
		               0);
	update_reading(c);
	schedule_tick(c);
}

static void start_protocol(struct conn *c)
{
	c->start(c);
	if (c->handles_closing)
		return;
	if (!c->have_cb) {
		cev(c, LOG_ERROR, "event=conn_error err=no_callbacks");
		conn_abort(c);
		return;
	}
	arm_idle(c);
}

static void handshake_done(struct conn *c)
{
	uv_timer_stop(&c->aux_timer);
	c->tls_state = TS_ON;
	cev(c, LOG_DEBUG, "event=tls version=%s cipher=%s sni=%s", tls_session_version(c->tls),
	    tls_session_cipher(c->tls), tls_session_sni(c->tls) ? tls_session_sni(c->tls) : "-");
	/* Plaintext written while the handshake ran goes out now, encrypted. */
	for (struct out_chunk *ch = c->pt.head; ch; ch = ch->next)
		if (tls_session_write(c->tls, ch->data, ch->len) != 0) {
			conn_abort(c);
			return;
		}
	outq_free(&c->pt);
	if (c->tls_mode == CONN_TLS_IMPLICIT && !c->have_cb)
		start_protocol(c);
	else if (c->have_cb && c->cb.tls_done)
		c->cb.tls_done(c, true);
}

static void handshake_failed(struct conn *c)
{
	char e[200];
	log_kv_escape(e, sizeof e, tls_session_error(c->tls), strlen(tls_session_error(c->tls)));
	cev(c, LOG_INFO, "event=tls_fail err=%s", e);
	if (c->tls_mode == CONN_TLS_STARTTLS && c->have_cb && c->cb.tls_done)
		c->cb.tls_done(c, false);
	conn_close(c); /* graceful: the alert mbedTLS queued still goes out */
}

int conn_starttls(struct conn *c)
{
	if (!c->tls_server || c->tls_state != TS_OFF || c->closing || c->filt)
		return -1;
	c->tls_mode = CONN_TLS_STARTTLS;
	c->tls_state = TS_FLUSHING;
	framer_reset(&c->framer);
	if (c->in_dispatch) {
		c->discard_input = true; /* pump drops it once the framer returns */
		framer_stop(&c->framer);
	} else {
		c->in_r = c->in_w = 0;
		schedule_tick(c);
	}
	update_reading(c);
	return 0;
}

bool conn_tls_available(const struct conn *c)
{
	return c->tls_server != NULL;
}

bool conn_is_tls(const struct conn *c)
{
	return c->tls_state == TS_ON;
}

const char *conn_tls_version(const struct conn *c)
{
	return c->tls_state == TS_ON ? tls_session_version(c->tls) : NULL;
}

const char *conn_tls_cipher(const struct conn *c)
{
	return c->tls_state == TS_ON ? tls_session_cipher(c->tls) : NULL;
}

const char *conn_tls_sni(const struct conn *c)
{
	return c->tls ? tls_session_sni(c->tls) : NULL;
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

static const struct framer_ops framer_ops = {fr_line, fr_block, fr_dot};

/* Make c->in big enough for the current max_line and move unread bytes to
 * the front. Never called while the framer holds pointers into c->in. */
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
}

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

/* Decrypt what fits into c->in. Returns bytes added, or -1 (conn closing). */
static ssize_t decrypt(struct conn *c)
{
	char **buf = c->filt ? &c->raw : &c->in;
	size_t *w = c->filt ? &c->raw_w : &c->in_w;
	size_t *cap = c->filt ? &c->raw_cap : &c->in_cap;
	if ((c->filt ? prepare_raw(c) : prepare_in(c)) != 0) {
		conn_abort(c);
		return -1;
	}
	size_t added = 0;
	while (*w < *cap) {
		ssize_t n = tls_session_read(c->tls, *buf + *w, *cap - *w);
		if (n > 0) {
			*w += (size_t)n;
			added += (size_t)n;
			continue;
		}
		if (n == 0)
			break;
		if (n == TLS_ERR_CLOSED) {
			c->peer_eof = true;
			break;
		}
		char e[200];
		const char *m = tls_session_error(c->tls);
		cev(c, LOG_INFO, "event=tls_error err=%s",
		    log_kv_escape(e, sizeof e, m, strlen(m)));
		conn_abort(c);
		return -1;
	}
	return (ssize_t)added;
}

static void pump(struct conn *c)
{
	if (c->in_dispatch || c->handles_closing)
		return;
	c->in_dispatch = true;
	while (!c->closing) {
		if (c->tls_state == TS_HANDSHAKE) {
			int rc = tls_session_handshake(c->tls);
			if (rc == TLS_AGAIN) {
				if (c->peer_eof) {
					cev(c, LOG_INFO, "event=tls_fail err=eof_in_handshake");
					conn_abort(c);
				}
				break;
			}
			if (rc < 0) {
				handshake_failed(c);
				break;
			}
			handshake_done(c);
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
		if (c->filt && !c->filt_new) {
			ssize_t f = filter_in(c);
			if (f < 0) {
				conn_abort(c);
				break;
			}
			added += f;
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
	if (c->peer_eof && !c->closing && can_deliver(c))
		conn_close(c);
	flush(c);
	update_reading(c);
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

const struct listener *conn_listener(const struct conn *c)
{
	return c->listener;
}

void conn_set_idle_timeout(struct conn *c, uint64_t ms)
{
	c->limits.idle_timeout_ms = ms;
	if (ms == 0)
		uv_timer_stop(&c->idle_timer);
	else
		arm_idle(c);
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

struct conn *conn_accept(uv_loop_t *loop, uv_stream_t *server, const struct listener *listener,
                         enum conn_tls_mode tls_mode, struct tls_server *tls,
                         const struct conn_limits *limits, conn_start_fn start)
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
	c->id = next_id();
	c->loop = loop;
	c->listener = listener;
	c->tls_mode = tls_mode;
	c->tls_server = tls;
	c->start = start;
	if (limits)
		c->limits = *limits;
	if (c->limits.max_line == 0)
		c->limits.max_line = DEFAULT_MAX_LINE;
	if (c->limits.max_output == 0)
		c->limits.max_output = DEFAULT_MAX_OUTPUT;
	uv_tcp_init(loop, &c->tcp);
	uv_timer_init(loop, &c->idle_timer);
	uv_timer_init(loop, &c->aux_timer);
	uv_idle_init(loop, &c->tick);
	c->tcp.data = c->idle_timer.data = c->aux_timer.data = c->tick.data = c;
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
		close_all(c);
		return NULL;
	}
	c->limits_held = true;
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
		begin_handshake(c);
	} else {
		start_protocol(c);
	}
	if (!c->handles_closing) {
		update_reading(c);
		schedule_tick(c);
	}
	return c;
}
