/* conn_client: outbound stream (contract in conn_client.h).
 *
 * Why not conn.c: conn is built around accepted connections (listeners,
 * per-IP limits, framing modes, implicit TLS, server-side STARTTLS). The
 * outbound side needs a connect, a line splitter and a client handshake;
 * sharing conn's machinery would mean teaching it a second role.
 *
 * Input path: uv_read -> (TLS: ciphertext buffer -> tls_client_read) ->
 * in[] -> lines. Lines are split on LF (CR stripped); a line longer than
 * the buffer is delivered truncated and the rest skipped.
 *
 * Output: every conn_client_write() is one uv_write of a private copy (with
 * TLS, one per record from the session's output callback). libuv keeps them
 * in order. The SMTP client writes whole commands and whole messages, so the
 * number of writes is small.
 *
 * Close: handles are closed with uv_close; the struct is freed when both
 * close callbacks have run, right after the owner's `closed`. A graceful
 * close goes through uv_shutdown, which libuv runs after pending writes.
 */
#include "net/conn_client.h"
#include "tls/dane.h"
#include "lib/log.h"
#include "tls/tls_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IN_CAP 8192
#define READ_CAP 16384
#define SHUTDOWN_DEADLINE_MS 10000

struct conn_client {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_connect_t creq;
	uv_shutdown_t sreq;
	int open_handles;
	const struct conn_client_callbacks *cb;
	void *ud;
	bool connected, closing, skipping, reading, closed_reported;
	char peer[80];

	struct tls_session *tls;
	bool handshaking;
	bool tls_switched; /* STARTTLS began inside a line callback */

	char in[IN_CAP];
	size_t in_len;
	char rbuf[READ_CAP];
};

struct wreq {
	uv_write_t req;
	size_t len;
	char data[];
};

static size_t live;
static const struct conn_client_callbacks no_callbacks;

size_t conn_client_live(void)
{
	return live;
}

void *conn_client_ud(const struct conn_client *cc)
{
	return cc->ud;
}

const char *conn_client_peer(const struct conn_client *cc)
{
	return cc->peer;
}

static void on_handle_closed(uv_handle_t *h)
{
	struct conn_client *cc = h->data;
	if (--cc->open_handles > 0)
		return;
	if (cc->cb->closed)
		cc->cb->closed(cc);
	tls_session_free(cc->tls);
	live--;
	free(cc);
}

void conn_client_abort(struct conn_client *cc)
{
	if (cc->closing && uv_is_closing((uv_handle_t *)&cc->tcp))
		return;
	cc->closing = true;
	uv_timer_stop(&cc->timer);
	if (!uv_is_closing((uv_handle_t *)&cc->timer))
		uv_close((uv_handle_t *)&cc->timer, on_handle_closed);
	if (!uv_is_closing((uv_handle_t *)&cc->tcp))
		uv_close((uv_handle_t *)&cc->tcp, on_handle_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	struct conn_client *cc = req->data;
	conn_client_abort(cc);
}

static void on_shutdown_deadline(uv_timer_t *t)
{
	conn_client_abort(t->data);
}

void conn_client_close(struct conn_client *cc)
{
	if (cc->closing)
		return;
	if (!cc->connected) {
		conn_client_abort(cc);
		return;
	}
	cc->closing = true;
	if (cc->tls && !cc->handshaking)
		tls_session_close_notify(cc->tls);
	cc->sreq.data = cc;
	if (uv_shutdown(&cc->sreq, (uv_stream_t *)&cc->tcp, on_shutdown) != 0) {
		cc->closing = false;
		conn_client_abort(cc);
		return;
	}
	uv_timer_start(&cc->timer, on_shutdown_deadline, SHUTDOWN_DEADLINE_MS, 0);
}

static void on_write(uv_write_t *req, int status)
{
	free(req);
}

static int raw_write(struct conn_client *cc, const void *data, size_t len)
{
	if (uv_is_closing((uv_handle_t *)&cc->tcp))
		return -1;
	struct wreq *w = malloc(sizeof *w + len);
	if (!w)
		return -1;
	memcpy(w->data, data, len);
	w->len = len;
	uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
	if (uv_write(&w->req, (uv_stream_t *)&cc->tcp, &b, 1, on_write) != 0) {
		free(w);
		return -1;
	}
	return 0;
}

static int tls_out(void *ctx, const unsigned char *data, size_t len)
{
	return raw_write(ctx, data, len);
}

int conn_client_write(struct conn_client *cc, const void *data, size_t len)
{
	if (cc->closing)
		return -1;
	if (cc->tls)
		return tls_session_write(cc->tls, data, len) == 0 ? 0 : -1;
	return raw_write(cc, data, len);
}

static void on_timer(uv_timer_t *t)
{
	struct conn_client *cc = t->data;
	if (cc->closing)
		return;
	if (cc->cb->timeout)
		cc->cb->timeout(cc);
	else
		conn_client_abort(cc);
}

void conn_client_set_timeout(struct conn_client *cc, uint64_t ms)
{
	if (cc->closing)
		return;
	uv_timer_stop(&cc->timer);
	if (ms)
		uv_timer_start(&cc->timer, on_timer, ms, 0);
}

/* Deliver the complete lines in in[]. */
static void split_lines(struct conn_client *cc)
{
	size_t start = 0;
	while (!cc->closing && start < cc->in_len) {
		char *nl = memchr(cc->in + start, '\n', cc->in_len - start);
		if (!nl)
			break;
		size_t end = (size_t)(nl - cc->in);
		size_t len = end - start;
		if (len && cc->in[start + len - 1] == '\r')
			len--;
		bool skip = cc->skipping;
		cc->skipping = false;
		if (!skip && cc->cb->line) {
			cc->in[start + len] = '\0';
			cc->cb->line(cc, cc->in + start, len);
		}
		start = end + 1;
		if (cc->tls_switched)
			return; /* in[] was emptied: the rest was plaintext after the 220 */
	}
	if (cc->closing)
		return;
	memmove(cc->in, cc->in + start, cc->in_len - start);
	cc->in_len -= start;
	if (cc->in_len == IN_CAP) {
		/* An absurdly long line: hand over what we have, skip the rest. */
		if (!cc->skipping && cc->cb->line) {
			cc->in[IN_CAP - 1] = '\0';
			cc->cb->line(cc, cc->in, IN_CAP - 1);
		}
		cc->skipping = true;
		cc->in_len = 0;
	}
}

static void add_plain(struct conn_client *cc, const char *p, size_t n)
{
	if (cc->cb->data) {
		cc->cb->data(cc, p, n);
		return;
	}
	cc->tls_switched = false;
	while (n > 0 && !cc->closing && !cc->tls_switched) {
		size_t room = IN_CAP - cc->in_len;
		size_t k = n < room ? n : room;
		memcpy(cc->in + cc->in_len, p, k);
		cc->in_len += k;
		p += k;
		n -= k;
		split_lines(cc);
	}
}

static void tls_fail(struct conn_client *cc, const char *err)
{
	bool hs = cc->handshaking;
	cc->handshaking = false;
	if (hs && cc->cb->tls_done)
		cc->cb->tls_done(cc, false, err);
	conn_client_abort(cc);
}

static void drive_tls(struct conn_client *cc)
{
	if (cc->handshaking) {
		int rc = tls_session_handshake(cc->tls);
		if (rc == TLS_AGAIN)
			return;
		if (rc < 0) {
			tls_fail(cc, tls_session_error(cc->tls));
			return;
		}
		cc->handshaking = false;
		if (cc->cb->tls_done)
			cc->cb->tls_done(cc, true, NULL);
	}
	char buf[4096];
	while (!cc->closing) {
		ssize_t n = tls_session_read(cc->tls, buf, sizeof buf);
		if (n == 0)
			return;
		if (n < 0) {
			conn_client_abort(cc);
			return;
		}
		add_plain(cc, buf, (size_t)n);
	}
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct conn_client *cc = h->data;
	*buf = uv_buf_init(cc->rbuf, sizeof cc->rbuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct conn_client *cc = s->data;
	if (nread == 0 || cc->closing)
		return;
	if (nread < 0) {
		conn_client_abort(cc);
		return;
	}
	if (!cc->tls) {
		add_plain(cc, buf->base, (size_t)nread);
		return;
	}
	const char *p = buf->base;
	size_t left = (size_t)nread;
	while (left > 0 && !cc->closing) {
		char *space;
		size_t room;
		tls_session_in_space(cc->tls, &space, &room);
		if (room == 0) {
			drive_tls(cc);
			tls_session_in_space(cc->tls, &space, &room);
			if (room == 0) {
				tls_fail(cc, "TLS input buffer overflow");
				return;
			}
		}
		size_t k = left < room ? left : room;
		memcpy(space, p, k);
		tls_session_in_commit(cc->tls, k);
		p += k;
		left -= k;
	}
	if (!cc->closing)
		drive_tls(cc);
}

int conn_client_starttls(struct conn_client *cc, struct tls_client_ctx *ctx, const char *host)
{
	if (cc->tls || cc->closing || !ctx)
		return -1;
	cc->in_len = 0; /* nothing may follow the 220 in plaintext */
	cc->tls_switched = true;
	cc->tls = tls_client_new(ctx, host, tls_out, cc);
	if (!cc->tls)
		return -1;
	cc->handshaking = true;
	int rc = tls_session_handshake(cc->tls); /* sends the ClientHello */
	if (rc < 0) {
		cc->handshaking = false;
		return -1;
	}
	return 0;
}

bool conn_client_is_tls(const struct conn_client *cc)
{
	return cc->tls && !cc->handshaking;
}

const char *conn_client_tls_version(const struct conn_client *cc)
{
	return conn_client_is_tls(cc) ? tls_session_version(cc->tls) : NULL;
}

const char *conn_client_tls_cipher(const struct conn_client *cc)
{
	return conn_client_is_tls(cc) ? tls_session_cipher(cc->tls) : NULL;
}

bool conn_client_tls_verified(const struct conn_client *cc)
{
	return conn_client_is_tls(cc) && tls_session_verified(cc->tls);
}

const char *conn_client_tls_verify_problem(const struct conn_client *cc)
{
	return conn_client_is_tls(cc) ? tls_session_verify_problem(cc->tls)
	                              : "starttls-not-supported";
}

int conn_client_dane_check(const struct conn_client *cc, const struct dane_tlsa *recs, size_t n,
                           const char *host, const char **why)
{
	if (!conn_client_is_tls(cc)) {
		*why = "no TLS";
		return DANE_NO_CERT;
	}
	return tls_session_dane_check(cc->tls, recs, n, host, why);
}

static void on_connect(uv_connect_t *req, int status)
{
	struct conn_client *cc = req->data;
	if (cc->closing)
		return;
	uv_timer_stop(&cc->timer);
	if (status == 0) {
		cc->connected = true;
		if (uv_read_start((uv_stream_t *)&cc->tcp, on_alloc, on_read) != 0)
			status = UV_EIO;
	}
	if (cc->cb->connected)
		cc->cb->connected(cc, status);
	if (status != 0)
		conn_client_abort(cc);
}

static void on_connect_timeout(uv_timer_t *t)
{
	struct conn_client *cc = t->data;
	if (cc->closing || cc->connected)
		return;
	if (cc->cb->connected)
		cc->cb->connected(cc, UV_ETIMEDOUT);
	conn_client_abort(cc);
}

struct conn_client *conn_client_connect(uv_loop_t *loop, const struct sockaddr *addr,
                                        uint64_t connect_timeout_ms,
                                        const struct conn_client_callbacks *cb, void *ud)
{
	struct conn_client *cc = calloc(1, sizeof *cc);
	if (!cc)
		return NULL;
	cc->cb = cb;
	cc->ud = ud;
	char ip[INET6_ADDRSTRLEN] = "?";
	int port = 0;
	if (addr->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)addr;
		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
		port = ntohs(a->sin_port);
		snprintf(cc->peer, sizeof cc->peer, "%s:%d", ip, port);
	} else if (addr->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)addr;
		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
		port = ntohs(a->sin6_port);
		snprintf(cc->peer, sizeof cc->peer, "[%s]:%d", ip, port);
	}
	if (uv_tcp_init(loop, &cc->tcp) != 0) {
		free(cc);
		return NULL;
	}
	uv_timer_init(loop, &cc->timer);
	cc->tcp.data = cc->timer.data = cc;
	cc->open_handles = 2;
	live++;
	cc->creq.data = cc;
	int rc = uv_tcp_connect(&cc->creq, &cc->tcp, addr, on_connect);
	if (rc != 0) {
		/* No callback for an immediate failure: close quietly. */
		cc->cb = &no_callbacks;
		conn_client_abort(cc);
		return NULL;
	}
	uv_tcp_nodelay(&cc->tcp, 1);
	uv_timer_start(&cc->timer, on_connect_timeout, connect_timeout_ms, 0);
	return cc;
}
