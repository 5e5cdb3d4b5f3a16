/* conn_output: the output queue of a conn (conn.h has the contract,
 * conn_int.h the layering).
 *
 * Why a queue of chunks, and not a uv_write per conn_write(). A protocol
 * writes a reply in many small pieces (an IMAP FETCH writes a line per
 * message), and a pipelining client gets many replies per read. Each
 * conn_write() copies into the queue, coalescing into the tail chunk; the
 * queue is flushed at the end of pump() or from the tick, so a burst of
 * small replies becomes one write with several buffers. A flush first
 * tries uv_try_write: most replies fit the socket buffer whole, and then
 * there is no write request, no callback and no epoll change. Only what
 * the socket did not take goes into one uv_write; one is in flight at a
 * time (`flight`), and its completion flushes again.
 *
 * Backpressure. Everything queued counts against limits.max_output. Over
 * it, conn_output_full() tells producers (FETCH, RETR) to stop, and conn.c
 * stops reading and delivering input. `was_full` remembers that the limit
 * was crossed until the queue has gone to the socket; then `drained` tells
 * the producer to go on, and the tick resumes delivery.
 *
 * What is queued is what goes on the wire. With TLS on, conn_write()
 * encrypts at once and the session's output (conn_out_wire(), through
 * conn_tls.c) lands in the same queue. Plaintext written while a handshake
 * is pending (a reply after STARTTLS) waits in `pt` and is encrypted when
 * the handshake is done.
 *
 * The encode side of a filter (COMPRESS=DEFLATE) runs here, before TLS:
 * conn_write() feeds it, and every flush first makes it emit what it holds
 * (encode with flush = true), so a batch compresses as one block and no
 * reply is stuck in zlib.
 *
 * Upward calls (run pump() later, close, update reading, the queue went
 * empty) go through c->up: conn.c decides what they mean.
 */
#include "net/conn_int.h"
#include "tls/tls.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_SIZE 16384
#define MAX_WRITE_BUFS 32

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

void conn_out_drop_pending(struct conn *c)
{
	outq_free(&c->pt);
}

void conn_out_free(struct conn *c)
{
	outq_free(&c->out);
	outq_free(&c->flight);
	outq_free(&c->pt);
}

static void note_full(struct conn *c)
{
	if (conn_output_full(c))
		c->was_full = true;
}

int conn_out_wire(struct conn *c, const void *data, size_t len)
{
	if (c->handles_closing)
		return -1;
	if (outq_append(&c->out, data, len) != 0)
		return -1;
	note_full(c);
	if (!c->in_dispatch)
		c->up->schedule_tick(c);
	return 0;
}

int conn_out_encrypt_pending(struct conn *c)
{
	for (struct out_chunk *ch = c->pt.head; ch; ch = ch->next)
		if (tls_session_write(c->tls, ch->data, ch->len) != 0)
			return -1;
	outq_free(&c->pt);
	return 0;
}

/* Output went out: tell a producer that waited for room. */
static void note_written(struct conn *c)
{
	if (c->was_full && !conn_output_full(c)) {
		c->was_full = false;
		if (c->have_cb && !c->closing && c->cb.drained)
			c->cb.drained(c);
		c->up->schedule_tick(c); /* delivery may have been held back by the full queue */
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
		c->up->close_all(c);
		return;
	}
	note_written(c);
	conn_out_flush(c);
	c->up->update_reading(c);
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

void conn_out_flush(struct conn *c)
{
	conn_out_filter_flush(c);
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
		conn_out_filter_flush(c);
	}
	if (!c->out.head) {
		c->up->output_empty(c);
		if (wrote)
			c->up->update_reading(c);
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
		c->up->close_all(c);
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
		c->up->close_all(c);
		return -1;
	}
	note_full(c);
	if (!c->in_dispatch)
		c->up->schedule_tick(c);
	return 0;
}

static int filter_emit(void *ctx, const void *data, size_t len)
{
	return write_bytes(ctx, data, len);
}

void conn_out_filter_flush(struct conn *c)
{
	if (!c->filt || !c->filt_dirty || c->handles_closing)
		return;
	c->filt_dirty = false;
	if (c->filt->encode(c->filt_ud, NULL, 0, true, filter_emit, c) != 0) {
		cev(c, LOG_WARN, "event=filter_failed dir=out");
		c->up->close_all(c);
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
		c->up->close_all(c);
		return -1;
	}
	if (!c->in_dispatch)
		c->up->schedule_tick(c);
	return 0;
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
