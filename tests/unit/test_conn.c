/* test_conn: conn over real loopback sockets, in one process.
 *
 * The main thread runs a uv loop with three listeners on ephemeral ports:
 * plain (with STARTTLS), implicit TLS, and plain with max_conn_per_ip = 2.
 * Each conn runs a tiny protocol: a greeting, then per line
 *   "TLS"        reply, then conn_starttls()
 *   "TLSINFO"    version, cipher and SNI
 *   "PAUSE"      pause, resume 50 ms later ("RESUMED")
 *   "FILTER"     pause; 50 ms later, outside any callback, install a filter
 *                that flips the case bit of every input byte, and resume
 *                ("FILTERED")
 *   "BIG"        16 MB of 1 KB lines written as output drains, then "END"
 *   "IDLE n"     idle timeout n ms ("TIMEOUT" when it fires)
 *   "BLK n"      read an n-byte block ("BLOCK <data>")
 *   "DATA"       read a dot body ("DOT <len> <flags> <data>")
 *   "RELOAD"     tls_server_reload()
 *   "QUIT"       "BYE" and a graceful close
 *   anything     "ECHO <line>" ("LONG <len>" when too long)
 * A client thread with blocking sockets (and mbedTLS as the TLS client)
 * checks the replies. Every socket has a receive timeout and the loop has a
 * global deadline, so the test always terminates.
 */
#include "net/conn.h"
#include "net/limits.h"
#include "tls/rng.h"
#include "tls/selfsigned.h"
#include "tls/tls.h"
#include "tls/tls_compat.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/error.h>
#include <mbedtls/x509_crt.h>

#define BIG_LINES 16384

/* Atomic: CHECK() runs on the loop thread (p_start) and the client thread. */
static _Atomic int passed, failed;
#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (cond)                                                                          \
			passed++;                                                                  \
		else {                                                                             \
			failed++;                                                                  \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                       \
			fprintf(stderr, __VA_ARGS__);                                              \
			fprintf(stderr, "\n");                                                     \
		}                                                                                  \
	} while (0)

static atomic_bool injected_seen, mark_seen, full_seen;
static atomic_int drained_count, started_count, closed_count;
static struct tls_server *g_tls;
static int port_plain, port_tls, port_limited;
static uv_async_t done_async;
static char dir_a[256], dir_b[256];

/* ---------------- server side ---------------- */

struct sess {
	struct conn *c;
	uv_timer_t timer;
	uint64_t bigleft;
	bool big_active, big_end;
};

static void big_pump(struct sess *s)
{
	static char zline[1024];
	if (!zline[0]) {
		memset(zline, 'z', sizeof zline - 2);
		zline[1022] = '\r';
		zline[1023] = '\n';
	}
	while (s->bigleft > 0 && !conn_output_full(s->c)) {
		conn_write(s->c, zline, sizeof zline);
		s->bigleft--;
	}
	if (conn_output_full(s->c))
		full_seen = true;
	if (s->big_active && s->bigleft == 0 && !s->big_end) {
		conn_write(s->c, "END\r\n", 5);
		s->big_end = true;
	}
}

static void on_resume_timer(uv_timer_t *t)
{
	struct sess *s = t->data;
	conn_write(s->c, "RESUMED\r\n", 9);
	conn_resume(s->c);
}

/* The "FILTER" filter: input bytes are XORed with 0x20 (so the client
 * sends '*' for LF and '-' for CR), output passes through unchanged. */
static int xor_decode(void *ud, const char *in, size_t inlen, size_t *consumed, char *out,
                      size_t outcap, size_t *produced)
{
	size_t n = inlen < outcap ? inlen : outcap;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)(in[i] ^ 0x20);
	*consumed = *produced = n;
	return 0;
}

static int pass_encode(void *ud, const void *data, size_t len, bool flush,
                       int (*emit)(void *ctx, const void *data, size_t len), void *ctx)
{
	return len ? emit(ctx, data, len) : 0;
}

static const struct conn_filter xor_filter = {xor_decode, pass_encode};

static void on_filter_timer(uv_timer_t *t)
{
	struct sess *s = t->data;
	conn_set_filter(s->c, &xor_filter, NULL);
	conn_write(s->c, "FILTERED\r\n", 10);
	conn_resume(s->c);
}

static void p_line(struct conn *c, const char *line, size_t len, bool too_long)
{
	struct sess *s = conn_session(c);
	if (too_long) {
		conn_printf(c, "LONG %zu\r\n", len);
		return;
	}
	if (strcmp(line, "INJECTED") == 0)
		injected_seen = true;
	if (strcmp(line, "MARK") == 0)
		mark_seen = true;
	if (strcmp(line, "TLS") == 0) {
		conn_write(c, "OK starttls\r\n", 13);
		if (conn_starttls(c) != 0)
			conn_write(c, "NO\r\n", 4);
	} else if (strcmp(line, "TLSINFO") == 0) {
		const char *sni = conn_tls_sni(c);
		conn_printf(c, "INFO %s %s %s %d\r\n", conn_tls_version(c), conn_tls_cipher(c),
		            sni ? sni : "-", conn_is_tls(c));
	} else if (strcmp(line, "PAUSE") == 0) {
		conn_pause(c);
		conn_write(c, "PAUSED\r\n", 8);
		uv_timer_start(&s->timer, on_resume_timer, 50, 0);
	} else if (strcmp(line, "FILTER") == 0) {
		conn_pause(c);
		uv_timer_start(&s->timer, on_filter_timer, 50, 0);
	} else if (strcmp(line, "BIG") == 0) {
		s->bigleft = BIG_LINES;
		s->big_active = true;
		big_pump(s);
	} else if (strncmp(line, "IDLE ", 5) == 0) {
		conn_set_idle_timeout(c, strtoull(line + 5, NULL, 10));
		conn_write(c, "OK\r\n", 4);
	} else if (strncmp(line, "BLK ", 4) == 0) {
		conn_read_block(c, strtoull(line + 4, NULL, 10));
		conn_write(c, "BLOCK ", 6);
	} else if (strcmp(line, "DATA") == 0) {
		conn_read_dot(c);
	} else if (strcmp(line, "RELOAD") == 0) {
		char err[256];
		int rc = tls_server_reload(g_tls, err, sizeof err);
		conn_printf(c, "RELOADED %d\r\n", rc);
	} else if (strcmp(line, "QUIT") == 0) {
		conn_write(c, "BYE\r\n", 5);
		conn_close(c);
	} else {
		conn_printf(c, "ECHO %.*s\r\n", (int)len, line);
	}
}

static void p_block(struct conn *c, const char *data, size_t len, bool last)
{
	conn_write(c, data, len);
	if (last)
		conn_write(c, "\r\n", 2);
}

static void p_dot(struct conn *c, const char *data, size_t len, bool end, unsigned flags)
{
	if (!end)
		return; /* bodies in this test are small: one final piece */
	conn_printf(c, "DOT %zu %u ", len, flags);
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\r')
			conn_write(c, "\\r", 2);
		else if (data[i] == '\n')
			conn_write(c, "\\n", 2);
		else
			conn_write(c, data + i, 1);
	}
	conn_write(c, "\r\n", 2);
}

static void p_drained(struct conn *c)
{
	drained_count++;
	big_pump(conn_session(c));
}

static void p_timeout(struct conn *c)
{
	conn_write(c, "TIMEOUT\r\n", 9);
	conn_close(c);
}

static void free_sess(uv_handle_t *h)
{
	free(h->data);
}

static void p_closed(struct conn *c)
{
	struct sess *s = conn_session(c);
	closed_count++;
	uv_close((uv_handle_t *)&s->timer, free_sess);
}

static const struct conn_callbacks callbacks = {
    .line = p_line,
    .block = p_block,
    .dot = p_dot,
    .drained = p_drained,
    .timeout = p_timeout,
    .closed = p_closed,
};

/* What the accept callbacks give conn_accept() for p_start. */
static int start_ctx;

static void p_start(struct conn *c, void *ctx)
{
	CHECK(ctx == &start_ctx, "the start function gets the context given to conn_accept");
	struct sess *s = calloc(1, sizeof *s);
	s->c = c;
	uv_timer_init(conn_loop(c), &s->timer);
	s->timer.data = s;
	conn_set_callbacks(c, &callbacks, s);
	started_count++;
	conn_printf(c, "HELLO %s %s\r\n", conn_is_tls(c) ? "tls" : "plain",
	            conn_peer_is_loopback(c) ? "lo" : "remote");
}

static struct conn_limits limits = {
    .max_line = 1024,
    .max_output = 65536,
    .idle_timeout_ms = 0,
    .handshake_timeout_ms = 5000,
};
static struct conn_limits limits2 = {
    .max_line = 1024,
    .max_output = 65536,
    .handshake_timeout_ms = 5000,
    .max_conn_per_ip = 2,
};

static void on_conn_plain(uv_stream_t *server, int status)
{
	conn_accept(server->loop, server, CONN_TLS_STARTTLS, g_tls, TLS_PROFILE_CLIENTS, &limits,
	            p_start, &start_ctx);
}

static void on_conn_tls(uv_stream_t *server, int status)
{
	conn_accept(server->loop, server, CONN_TLS_IMPLICIT, g_tls, TLS_PROFILE_CLIENTS, &limits,
	            p_start, &start_ctx);
}

static void on_conn_limited(uv_stream_t *server, int status)
{
	conn_accept(server->loop, server, CONN_TLS_NONE, NULL, TLS_PROFILE_CLIENTS, &limits2,
	            p_start, &start_ctx);
}

static uv_tcp_t lst[3];

static int listen_on(uv_loop_t *loop, uv_tcp_t *t, uv_connection_cb cb)
{
	struct sockaddr_in a;
	uv_ip4_addr("127.0.0.1", 0, &a);
	uv_tcp_init(loop, t);
	if (uv_tcp_bind(t, (struct sockaddr *)&a, 0) != 0 ||
	    uv_listen((uv_stream_t *)t, 64, cb) != 0)
		return -1;
	int len = sizeof a;
	uv_tcp_getsockname(t, (struct sockaddr *)&a, &len);
	return ntohs(a.sin_port);
}

static void on_done(uv_async_t *a)
{
	for (int i = 0; i < 3; i++)
		uv_close((uv_handle_t *)&lst[i], NULL);
	uv_close((uv_handle_t *)a, NULL);
}

static void on_deadline(uv_timer_t *t)
{
	fprintf(stderr, "FAIL: global deadline reached\n");
	printf("conn: %d passed, %d failed (deadline)\n", passed, failed + 1);
	exit(1);
}

/* ---------------- client side ---------------- */

struct cl {
	int fd;
	char buf[1 << 16];
	size_t len;
	bool tls;
	bool timed_out;
	mbedtls_ssl_context ssl;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt ca;
};

static int cl_connect(struct cl *k, int port, int rcvbuf)
{
	memset(k, 0, sizeof *k);
	k->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (rcvbuf)
		setsockopt(k->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	struct timeval tv = {5, 0};
	setsockopt(k->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	return connect(k->fd, (struct sockaddr *)&a, sizeof a);
}

static int bio_send(void *ctx, const unsigned char *b, size_t n)
{
	ssize_t r = send(*(int *)ctx, b, n, MSG_NOSIGNAL);
	return r < 0 ? MBEDTLS_ERR_SSL_INTERNAL_ERROR : (int)r;
}

static int bio_recv(void *ctx, unsigned char *b, size_t n)
{
	ssize_t r = recv(*(int *)ctx, b, n, 0);
	if (r == 0)
		return MBEDTLS_ERR_SSL_CONN_EOF;
	return r < 0 ? MBEDTLS_ERR_SSL_TIMEOUT : (int)r;
}

/* Returns 0 after a verified handshake. */
static int cl_tls(struct cl *k, const char *ca_file, const char *host, bool force12)
{
	mbedtls_ssl_init(&k->ssl);
	mbedtls_ssl_config_init(&k->conf);
	mbedtls_x509_crt_init(&k->ca);
	if (mbedtls_x509_crt_parse_file(&k->ca, ca_file) != 0)
		return -1;
	mbedtls_ssl_config_defaults(&k->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
	                            MBEDTLS_SSL_PRESET_DEFAULT);
	mbedtls_ssl_conf_authmode(&k->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_ca_chain(&k->conf, &k->ca, NULL);
	mbedtls_ssl_conf_rng(&k->conf, tls_rng, tls_rng_ctx());
	if (force12) {
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
		mbedtls_ssl_conf_max_tls_version(&k->conf, MBEDTLS_SSL_VERSION_TLS1_2);
#else
		mbedtls_ssl_conf_max_version(&k->conf, 3, 3);
#endif
	}
	mbedtls_ssl_setup(&k->ssl, &k->conf);
	mbedtls_ssl_set_hostname(&k->ssl, host);
	mbedtls_ssl_set_bio(&k->ssl, &k->fd, bio_send, bio_recv, NULL);
	int rc;
	while ((rc = mbedtls_ssl_handshake(&k->ssl)) != 0) {
		if (rc != MBEDTLS_ERR_SSL_WANT_READ && rc != MBEDTLS_ERR_SSL_WANT_WRITE) {
			char e[128];
			mbedtls_strerror(rc, e, sizeof e);
			fprintf(stderr, "client handshake: %s\n", e);
			return -1;
		}
	}
	k->tls = true;
	return 0;
}

static void cl_close(struct cl *k)
{
	if (k->tls) {
		mbedtls_ssl_close_notify(&k->ssl);
		mbedtls_ssl_free(&k->ssl);
		mbedtls_ssl_config_free(&k->conf);
		mbedtls_x509_crt_free(&k->ca);
	}
	close(k->fd);
}

static void cl_send(struct cl *k, const char *s)
{
	size_t n = strlen(s);
	if (k->tls) {
		while (n > 0) {
			int r = mbedtls_ssl_write(&k->ssl, (const unsigned char *)s, n);
			if (r <= 0)
				return;
			s += r;
			n -= (size_t)r;
		}
	} else {
		send(k->fd, s, n, MSG_NOSIGNAL);
	}
}

/* Read one line (without CRLF) into out; returns length, or -1 on EOF,
 * timeout or error. */
static ssize_t cl_line(struct cl *k, char *out, size_t outlen)
{
	for (;;) {
		char *lf = memchr(k->buf, '\n', k->len);
		if (lf) {
			size_t n = (size_t)(lf - k->buf);
			size_t m = n > 0 && k->buf[n - 1] == '\r' ? n - 1 : n;
			if (m >= outlen)
				m = outlen - 1;
			memcpy(out, k->buf, m);
			out[m] = '\0';
			memmove(k->buf, lf + 1, k->len - n - 1);
			k->len -= n + 1;
			return (ssize_t)m;
		}
		if (k->len == sizeof k->buf)
			return -1;
		ssize_t r;
		if (k->tls) {
			do
				r = mbedtls_ssl_read(&k->ssl, (unsigned char *)k->buf + k->len,
				                     sizeof k->buf - k->len);
			while (r == MBEDTLS_ERR_SSL_WANT_READ
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
			       || r == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET
#endif
			);
		} else
			r = recv(k->fd, k->buf + k->len, sizeof k->buf - k->len, 0);
		if (r <= 0) {
			k->timed_out = r < 0 && (r == MBEDTLS_ERR_SSL_TIMEOUT || errno == EAGAIN);
			return -1;
		}
		k->len += (size_t)r;
	}
}

static void expect(struct cl *k, const char *want, const char *what)
{
	char line[4096];
	ssize_t n = cl_line(k, line, sizeof line);
	CHECK(n >= 0 && strcmp(line, want) == 0, "%s: want '%s' got '%s'", what, want,
	      n >= 0 ? line : "<eof/timeout>");
}

static void expect_prefix(struct cl *k, const char *want, const char *what, char *got, size_t gl)
{
	char line[4096];
	ssize_t n = cl_line(k, line, sizeof line);
	CHECK(n >= 0 && strncmp(line, want, strlen(want)) == 0, "%s: want '%s...' got '%s'", what,
	      want, n >= 0 ? line : "<eof/timeout>");
	if (got && gl > 0) {
		size_t len = n >= 0 ? strnlen(line, gl - 1) : 0;
		memcpy(got, line, len);
		got[len] = '\0';
	}
}

static void expect_eof(struct cl *k, const char *what)
{
	char line[4096];
	ssize_t n = cl_line(k, line, sizeof line);
	CHECK(n < 0, "%s: want EOF, got '%s'", what, line);
}

static void test_echo_pipeline(void)
{
	struct cl k;
	CHECK(cl_connect(&k, port_plain, 0) == 0, "connect");
	expect(&k, "HELLO plain lo", "greeting");
	cl_send(&k, "hello\r\n");
	expect(&k, "ECHO hello", "echo");
	/* Pipelined, with a pause in the middle and a bare LF line. */
	cl_send(&k, "a\r\nPAUSE\r\nb\nc\r\n");
	expect(&k, "ECHO a", "pipeline 1");
	expect(&k, "PAUSED", "pipeline pause");
	expect(&k, "RESUMED", "pipeline resumed");
	expect(&k, "ECHO b", "pipeline 2");
	expect(&k, "ECHO c", "pipeline 3");
	/* Over-long line, then a normal one. */
	char big[5010];
	memset(big, 'x', 5000);
	memcpy(big + 5000, "\r\nok\r\n", 7);
	cl_send(&k, big);
	expect(&k, "LONG 1023", "too long");
	expect(&k, "ECHO ok", "after too long");
	/* Line split over several packets. */
	cl_send(&k, "spl");
	usleep(20000);
	cl_send(&k, "it\r");
	usleep(20000);
	cl_send(&k, "\n");
	expect(&k, "ECHO split", "split line");
	/* Block and dot bodies, including smuggling attempts. */
	cl_send(&k, "BLK 5\r\nab\r\ncafter\r\n");
	expect(&k, "BLOCK ab", "block");
	expect(&k, "c", "block tail");
	expect(&k, "ECHO after", "after block");
	cl_send(&k, "DATA\r\nhi\r\n..dot\r\nx\n.\nMAIL FROM:<a>\r\n.\r\nQUIT\r\n");
	expect(&k, "DOT 29 1 hi\\r\\n.dot\\r\\nx\\n.\\nMAIL FROM:<a>\\r\\n", "dot body");
	expect(&k, "BYE", "quit");
	expect_eof(&k, "close after quit");
	cl_close(&k);

	/* Half-close after pipelined commands: replies still arrive. */
	CHECK(cl_connect(&k, port_plain, 0) == 0, "connect");
	expect(&k, "HELLO plain lo", "greeting");
	cl_send(&k, "x\r\nPAUSE\r\ny\r\n");
	shutdown(k.fd, SHUT_WR);
	expect(&k, "ECHO x", "half-close 1");
	expect(&k, "PAUSED", "half-close pause");
	expect(&k, "RESUMED", "half-close resumed");
	expect(&k, "ECHO y", "half-close 2");
	expect_eof(&k, "half-close eof");
	cl_close(&k);
}

/* A filter installed outside any callback (here from a timer, while input
 * was paused) applies to the input already buffered: "X\nY-*" is the
 * encoded "x*y\r\n", which must not be framed as the line "X". */
static void test_filter_outside_callback(void)
{
	struct cl k;
	CHECK(cl_connect(&k, port_plain, 0) == 0, "connect");
	expect(&k, "HELLO plain lo", "greeting");
	cl_send(&k, "FILTER\r\nX\nY-*");
	expect(&k, "FILTERED", "filter installed");
	expect(&k, "ECHO x*y", "buffered input decoded by the new filter");
	cl_send(&k, "quit-*");
	expect(&k, "BYE", "filtered quit");
	expect_eof(&k, "close after filtered quit");
	cl_close(&k);
}

static void test_backpressure(void)
{
	struct cl k;
	CHECK(cl_connect(&k, port_plain, 4096) == 0, "connect");
	expect(&k, "HELLO plain lo", "greeting");
	cl_send(&k, "BIG\r\nMARK\r\n");
	usleep(500000);
	CHECK(full_seen, "output queue became full");
	CHECK(!mark_seen, "input held back while output is full");
	char line[2048];
	size_t z = 0;
	ssize_t n;
	while ((n = cl_line(&k, line, sizeof line)) == 1022 && line[0] == 'z')
		z++;
	CHECK(z == BIG_LINES, "all big lines arrived (%zu)", z);
	CHECK(n >= 0 && strcmp(line, "END") == 0, "END after big output, got '%s'", line);
	expect(&k, "ECHO MARK", "held line delivered after drain");
	CHECK(drained_count > 0, "drained fired (%d)", (int)drained_count);
	CHECK(mark_seen, "mark seen");
	cl_close(&k);
}

static void test_idle(void)
{
	struct cl k;
	CHECK(cl_connect(&k, port_plain, 0) == 0, "connect");
	expect(&k, "HELLO plain lo", "greeting");
	cl_send(&k, "IDLE 200\r\n");
	expect(&k, "OK", "idle set");
	expect(&k, "TIMEOUT", "idle timeout fired");
	expect_eof(&k, "closed after timeout");
	cl_close(&k);
}

static void test_starttls(const char *ca_a, bool force12)
{
	struct cl k;
	CHECK(cl_connect(&k, port_plain, 0) == 0, "connect");
	expect(&k, "HELLO plain lo", "greeting");
	cl_send(&k, "TLSINFO\r\n");
	expect(&k, "INFO (null) (null) - 0", "no tls yet");
	/* The injection: a command in the same packet as STARTTLS. */
	cl_send(&k, "TLS\r\nINJECTED\r\n");
	expect(&k, "OK starttls", "starttls reply");
	CHECK(cl_tls(&k, ca_a, "localhost", force12) == 0, "starttls handshake verified");
	cl_send(&k, "TLSINFO\r\n");
	char info[256];
	expect_prefix(&k, force12 ? "INFO TLSv1.2 TLS_" : "INFO TLSv1.", "tls info", info,
	              sizeof info);
	CHECK(strstr(info, " localhost 1") != NULL, "sni recorded: %s", info);
	printf("starttls: %s\n", info);
	cl_send(&k, "TLS\r\n");
	expect(&k, "OK starttls", "second starttls");
	expect(&k, "NO", "second starttls refused");
	cl_send(&k, "RELOAD\r\n");
	expect(&k, "RELOADED 0", "reload ok");
	cl_send(&k, "after reload\r\n");
	expect(&k, "ECHO after reload", "old session survives reload");
	cl_send(&k, "QUIT\r\n");
	expect(&k, "BYE", "tls quit");
	expect_eof(&k, "tls close");
	cl_close(&k);
	CHECK(!injected_seen, "injected plaintext never delivered");
}

static void test_implicit(const char *ca_a, const char *ca_b)
{
	struct cl k;
	CHECK(cl_connect(&k, port_tls, 0) == 0, "connect");
	CHECK(cl_tls(&k, ca_a, "localhost", false) == 0, "implicit handshake");
	expect(&k, "HELLO tls lo", "greeting after handshake");
	cl_send(&k, "a\r\nb\r\n");
	expect(&k, "ECHO a", "tls echo 1");
	expect(&k, "ECHO b", "tls echo 2");
	cl_close(&k);

	/* SNI picks the second certificate; the client trusts only it. With
	 * 3.6 this runs once over TLS 1.3 and once over 1.2. */
	for (int force12 = 0; force12 < 2; force12++) {
		CHECK(cl_connect(&k, port_tls, 0) == 0, "connect");
		CHECK(cl_tls(&k, ca_b, "mail.example.com", force12) == 0, "sni handshake verified");
		expect(&k, "HELLO tls lo", "sni greeting");
		cl_send(&k, "TLSINFO\r\n");
		char info[256];
		expect_prefix(&k, "INFO TLSv1.", "sni info", info, sizeof info);
		CHECK(strstr(info, " mail.example.com 1") != NULL, "sni name: %s", info);
		printf("sni: %s\n", info);
		cl_close(&k);
	}

	/* Garbage instead of a ClientHello: the conn goes away. */
	CHECK(cl_connect(&k, port_tls, 0) == 0, "connect");
	cl_send(&k, "EHLO not tls\r\n\r\n\r\n\r\n\r\n\r\n");
	char line[256];
	ssize_t n;
	do
		n = cl_line(&k, line, sizeof line);
	while (n >= 0);
	CHECK(!k.timed_out, "server closed on garbage handshake");
	cl_close(&k);
}

static void test_limits(void)
{
	struct cl a, b, c;
	CHECK(cl_connect(&a, port_limited, 0) == 0, "connect 1");
	expect(&a, "HELLO plain lo", "limited 1");
	CHECK(cl_connect(&b, port_limited, 0) == 0, "connect 2");
	expect(&b, "HELLO plain lo", "limited 2");
	CHECK(cl_connect(&c, port_limited, 0) == 0, "connect 3");
	expect_eof(&c, "third conn from one IP refused");
	cl_close(&c);
	cl_send(&a, "QUIT\r\n");
	expect(&a, "BYE", "quit 1");
	expect_eof(&a, "eof 1");
	cl_close(&a);
	usleep(100000);
	CHECK(cl_connect(&c, port_limited, 0) == 0, "connect 4");
	expect(&c, "HELLO plain lo", "slot freed after close");
	cl_close(&c);
	cl_close(&b);
}

static void *client_main(void *arg)
{
	char ca_a[512], ca_b[512];
	snprintf(ca_a, sizeof ca_a, "%s/tls/selfsigned.crt", dir_a);
	snprintf(ca_b, sizeof ca_b, "%s/selfsigned.crt", dir_b);
	test_echo_pipeline();
	test_filter_outside_callback();
	test_backpressure();
	test_idle();
	test_starttls(ca_a, false);
	injected_seen = false;
	test_starttls(ca_a, true);
	test_implicit(ca_a, ca_b);
	test_limits();
	uv_async_send(&done_async);
	return NULL;
}

static void test_selfsigned(void)
{
	char err[256];
	struct tls_server *t = NULL;
	int rc = tls_server_create(&t, NULL, 0, dir_a, "localhost", err, sizeof err);
	CHECK(rc == 0, "self-signed create: %s", err);
	if (rc != 0)
		exit(1);
	char key[512];
	snprintf(key, sizeof key, "%s/tls/selfsigned.key", dir_a);
	struct stat st;
	CHECK(stat(key, &st) == 0 && (st.st_mode & 0777) == 0600, "key mode 0600 (%o)",
	      st.st_mode & 0777);
	char fp1[1][96], fp2[1][96];
	CHECK(tls_server_fingerprints(t, fp1, 1) == 1 && strlen(fp1[0]) == 95, "fingerprint");
	printf("selfsigned sha256=%s\n", fp1[0]);
	tls_server_free(&t);
	CHECK(t == NULL, "free clears");
	rc = tls_server_create(&t, NULL, 0, dir_a, "localhost", err, sizeof err);
	CHECK(rc == 0 && tls_server_fingerprints(t, fp2, 1) == 1 && strcmp(fp1[0], fp2[0]) == 0,
	      "self-signed reused on second start");
	CHECK(tls_server_reload(t, err, sizeof err) == 0, "reload: %s", err);
	tls_server_free(&t);

	/* A second certificate for SNI. */
	CHECK(tls_selfsigned_ensure(dir_b, "mail.example.com", err, sizeof err) == 0, "gen b: %s",
	      err);
	char ca[512], ka[512], cb[512], kb[512];
	snprintf(ca, sizeof ca, "%s/tls/selfsigned.crt", dir_a);
	snprintf(ka, sizeof ka, "%s/tls/selfsigned.key", dir_a);
	snprintf(cb, sizeof cb, "%s/selfsigned.crt", dir_b);
	snprintf(kb, sizeof kb, "%s/selfsigned.key", dir_b);
	struct tls_cert_spec specs[2] = {{ca, ka}, {cb, kb}};
	struct tls_cert_spec bad[1] = {{ca, kb}};
	CHECK(tls_server_create(&t, bad, 1, NULL, NULL, err, sizeof err) != 0 && t == NULL,
	      "mismatched key refused");
	printf("mismatch: %s\n", err);
	rc = tls_server_create(&g_tls, specs, 2, NULL, NULL, err, sizeof err);
	CHECK(rc == 0 && tls_server_cert_count(g_tls) == 2, "two certs: %s", err);
	if (rc != 0)
		exit(1);
}

static void test_limits_table(void)
{
	CHECK(limits_conn_acquire("10.0.0.1", 2, 0) == 0, "acq 1");
	CHECK(limits_conn_acquire("10.0.0.1", 2, 0) == 0, "acq 2");
	CHECK(limits_conn_acquire("10.0.0.1", 2, 0) == -1, "acq 3 refused");
	CHECK(limits_conn_acquire("10.0.0.2", 2, 3) == 0, "other ip");
	CHECK(limits_conn_acquire("10.0.0.3", 0, 3) == -1, "total refused");
	CHECK(limits_conn_count("10.0.0.1") == 2 && limits_conn_total() == 3, "counts");
	limits_conn_release("10.0.0.1");
	limits_conn_release("10.0.0.1");
	limits_conn_release("10.0.0.2");
	CHECK(limits_conn_count("10.0.0.1") == 0 && limits_conn_total() == 0, "released");
}

int main(void)
{
	snprintf(dir_a, sizeof dir_a, "/tmp/tern-test-conn-XXXXXX");
	snprintf(dir_b, sizeof dir_b, "/tmp/tern-test-conn-XXXXXX");
	if (!mkdtemp(dir_a) || !mkdtemp(dir_b))
		return 1;
	test_limits_table();
	test_selfsigned();

	uv_loop_t *loop = uv_default_loop();
	port_plain = listen_on(loop, &lst[0], on_conn_plain);
	port_tls = listen_on(loop, &lst[1], on_conn_tls);
	port_limited = listen_on(loop, &lst[2], on_conn_limited);
	CHECK(port_plain > 0 && port_tls > 0 && port_limited > 0, "listen");
	uv_async_init(loop, &done_async, on_done);
	uv_timer_t deadline;
	uv_timer_init(loop, &deadline);
	uv_timer_start(&deadline, on_deadline, 120000, 0);
	uv_unref((uv_handle_t *)&deadline);

	pthread_t th;
	pthread_create(&th, NULL, client_main, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
	pthread_join(th, NULL);

	CHECK(conn_live_count() == 0, "no live conns at the end (%zu)", conn_live_count());
	CHECK(closed_count == started_count, "closed once per conn (%d/%d)", (int)closed_count,
	      (int)started_count);
	CHECK(limits_conn_total() == 0, "limits released (%zu)", limits_conn_total());
	uv_close((uv_handle_t *)&deadline, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
	tls_server_free(&g_tls);
	uv_loop_close(loop);
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", dir_a, dir_b);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup failed\n");
	printf("conn: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
