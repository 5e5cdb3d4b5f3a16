/* conn: the one byte stream every protocol talks through.
 *
 * A conn owns a TCP handle, an optional TLS session, an input buffer and an
 * output queue. Protocol code never touches a socket: it receives framed
 * input through callbacks and writes replies with conn_write(). Whether TLS
 * is on is invisible to it, except to advertise and require it
 * (conn_is_tls()).
 *
 * Input framing has three modes (see framing.h for the pure state machine):
 *   LINE   one callback per CRLF- (or LF-) terminated line, hard max length;
 *   BLOCK  exactly n bytes (IMAP literal, BDAT chunk) in pieces;
 *   DOT    an SMTP DATA body until <CRLF>.<CRLF>, un-stuffed, streamed in
 *          pieces, reporting bare LF / bare CR.
 *   RAW    all buffered bytes, for a protocol with its own parser (HTTP);
 *          its callback returns how many it used, and uses them all
 *          unless it paused the conn or closed it.
 * After a BLOCK or DOT completes, the mode returns to LINE by itself.
 *
 * Lifecycle (libuv rules): a conn is freed only in its uv_close callback.
 * conn_close() may be called from inside any callback; it sets a flag, and
 * the `closed` callback runs later, exactly once, as the very last call. The
 * protocol frees its session there, never earlier.
 *
 * Backpressure: while the output queue holds more than limits.max_output
 * bytes, conn stops reading from the socket and stops delivering input;
 * conn_output_full() tells a producer (FETCH, RETR) to wait for `drained`.
 *
 * Pausing: a protocol waiting for something asynchronous (a store commit,
 * a password check) calls conn_pause(); buffered input stays buffered and
 * nothing more is delivered until conn_resume(). This keeps pipelined
 * replies in order.
 */
#ifndef TERN_CONN_H
#define TERN_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "tls/suites.h"

struct conn;
struct tls_server;

/* Flags reported at the end of a DOT body. */
#define CONN_DOT_BARE_LF 0x1u /* an LF not preceded by CR was seen */
#define CONN_DOT_BARE_CR 0x2u /* a CR not followed by LF was seen */
#define CONN_DOT_NUL 0x4u     /* a NUL byte was seen */

enum conn_tls_mode { CONN_TLS_NONE = 0, CONN_TLS_STARTTLS, CONN_TLS_IMPLICIT };

struct conn_limits {
	size_t max_line;               /* bytes, including the CRLF */
	size_t max_output;             /* queued output bytes before backpressure */
	uint64_t idle_timeout_ms;      /* no input for this long -> timeout callback */
	uint64_t handshake_timeout_ms; /* TLS handshake must finish within this */
	unsigned max_conn_per_ip;      /* open conns per client IP (0 = unlimited) */
	unsigned max_conn_total;       /* open conns on this process (0 = unlimited) */
	/* A deadline that activity does not move (against clients that send
	 * a byte every few seconds to hold a connection): armed at accept,
	 * it calls the timeout callback when it passes, unless the protocol
	 * cleared or restarted it (conn_clear_deadline, after a login;
	 * conn_restart_deadline, after a transaction). 0 = none. */
	uint64_t deadline_ms;
	/* Said, on a plaintext or STARTTLS listener, to a client that a
	 * connection limit refuses ("421 ...\r\n", "* BYE ...\r\n"); an
	 * implicit-TLS client is closed without a word (it would take a
	 * handshake to say it). NULL: close silently. */
	const char *refusal;
	/* Counted in lib/metrics.h: 1 + the protocol's offset from
	 * MET_OPEN_SMTP (and MET_ACCEPTED_SMTP); 0 = not counted. */
	int metrics_slot;
};

struct conn_callbacks {
	/* A complete line without its line terminator. If the line was longer
	 * than max_line, too_long is true, `line` holds its first bytes, and
	 * the rest up to the next LF has been discarded. */
	void (*line)(struct conn *c, const char *line, size_t len, bool too_long);
	/* A piece of a counted block; last is true on the final piece. */
	void (*block)(struct conn *c, const char *data, size_t len, bool last);
	/* A piece of a dot-terminated body: un-stuffed, line endings as sent.
	 * The final call has end = true (data may be empty) and the
	 * CONN_DOT_* flags seen over the whole body. */
	void (*dot)(struct conn *c, const char *data, size_t len, bool end, unsigned flags);
	/* The output queue dropped below max_output (optional). */
	void (*drained)(struct conn *c);
	/* A STARTTLS handshake finished: ok false means it failed and the
	 * conn is closing (optional). */
	void (*tls_done)(struct conn *c, bool ok);
	/* No input for idle_timeout_ms. The protocol writes its farewell
	 * and calls conn_close(); if NULL, conn closes silently. */
	void (*timeout)(struct conn *c);
	/* Last call ever for this conn: free the session here. */
	void (*closed)(struct conn *c);
	/* RAW mode input (conn_read_raw): returns the bytes used. Fewer than
	 * len only after conn_pause() or conn_close(), or while
	 * conn_output_full(); the rest is delivered again after
	 * conn_resume() or once the output drained. */
	size_t (*raw)(struct conn *c, const char *data, size_t len);
};

/* Attach a protocol. Called by the protocol's start function. */
/* fn(ud) runs on every read that brought bytes, on any connection (the
 * server tells the store that clients are active). */
void conn_set_input_hook(void (*fn)(void *ud), void *ud);
void conn_set_callbacks(struct conn *c, const struct conn_callbacks *cb, void *session);
void *conn_session(const struct conn *c);

/* Input modes. */
void conn_read_line(struct conn *c); /* the default */
void conn_read_block(struct conn *c, uint64_t n);
void conn_read_dot(struct conn *c);
void conn_read_raw(struct conn *c);
void conn_set_max_line(struct conn *c, size_t max_line);

/* Output. Data is copied; returns 0, or -1 if the conn is closing. */
int conn_write(struct conn *c, const void *data, size_t len);
int conn_printf(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool conn_output_full(const struct conn *c);
size_t conn_output_queued(const struct conn *c);

/* Flow control for asynchronous work. Pauses nest (a counter). */
void conn_pause(struct conn *c);
void conn_resume(struct conn *c);

/* STARTTLS: call right after queueing the "go ahead" reply. Any plaintext
 * input already buffered is discarded (CVE-2011-0411), the reply is
 * flushed, then the server handshake runs. tls_done reports the result.
 * Returns -1 if TLS is not available on this conn or already active. */
int conn_starttls(struct conn *c);
bool conn_tls_available(const struct conn *c); /* a certificate is configured */
bool conn_is_tls(const struct conn *c);
const char *conn_tls_version(const struct conn *c); /* "TLSv1.3", or NULL */
/* SCRAM-*-PLUS's channel binding: its type and data, or NULL (no TLS, or
 * none this TLS can give; tls_session_channel_binding). */
const char *conn_channel_binding(const struct conn *c, unsigned char *out, size_t cap, size_t *len);
const char *conn_tls_cipher(const struct conn *c); /* IANA suite name, or NULL */
const char *conn_tls_sni(const struct conn *c);    /* server name the client asked for */

/* A byte filter between the wire (after TLS) and the protocol, for IMAP
 * COMPRESS=DEFLATE (RFC 4978). Installed from inside a callback, it applies
 * to every byte written after the call and to every byte the client sent
 * after the input event being handled (the rest of the buffered input is
 * decoded too). The protocol owns ud and keeps it alive until `closed`.
 *
 * decode: consume from in (inlen may be 0: emit what is pending), produce
 *         into out; return 0, or -1 for corrupt input (the conn aborts).
 * encode: transform data (data may be NULL with len 0); with flush true,
 *         also emit everything buffered (end of a write batch, or close).
 *         Output goes through emit(ctx, bytes, n), which returns 0 or -1.
 * conn calls encode(flush = true) once per write batch (before it hands
 * bytes to the socket) and before a graceful close. STARTTLS is refused
 * while a filter is installed.
 * Decoded input is throttled like plain input: nothing is decoded while
 * delivery is held (paused, output over max_output), and at most a slice
 * (64 KiB) per loop turn, however much the decoder could still produce. */
struct conn_filter {
	int (*decode)(void *ud, const char *in, size_t inlen, size_t *consumed, char *out,
	              size_t outcap, size_t *produced);
	int (*encode)(void *ud, const void *data, size_t len, bool flush,
	              int (*emit)(void *ctx, const void *data, size_t len), void *ctx);
};
void conn_set_filter(struct conn *c, const struct conn_filter *f, void *ud);

/* Close after the output queue is flushed (graceful) or at once. */
void conn_close(struct conn *c);
void conn_abort(struct conn *c);
bool conn_is_closing(const struct conn *c);

/* Identity, for logs and policy. */
uint64_t conn_id(const struct conn *c);
const char *conn_peer(const struct conn *c);     /* "127.0.0.1:51234" / "[::1]:51234" */
const char *conn_peer_ip(const struct conn *c);  /* "127.0.0.1" / "::1" */
const char *conn_local_ip(const struct conn *c); /* address the client connected to */
bool conn_peer_is_loopback(const struct conn *c);
uv_loop_t *conn_loop(const struct conn *c);

/* Timers. The idle timer is re-armed on every input; the deadline
 * (limits.deadline_ms) is not. */
void conn_set_idle_timeout(struct conn *c, uint64_t ms);
void conn_clear_deadline(struct conn *c);
void conn_restart_deadline(struct conn *c);

/* A protocol's entry point: start(c, ctx) must call conn_set_callbacks().
 * ctx is what the listener was given for it (the protocol's settings and
 * services), passed through untouched. */
typedef void (*conn_start_fn)(struct conn *c, void *ctx);

/* Called by the listener for an accepted stream. tls may be NULL (no
 * certificate); tls_profile picks its cipher suites (tls/suites.h). For
 * CONN_TLS_IMPLICIT the handshake starts at once and
 * start(c, start_ctx) runs when it completes; otherwise it runs at once.
 * Returns NULL on failure (the stream is closed). */
struct conn *conn_accept(uv_loop_t *loop, uv_stream_t *server, enum conn_tls_mode tls_mode,
                         struct tls_server *tls, enum tls_profile tls_profile,
                         const struct conn_limits *limits, conn_start_fn start, void *start_ctx);

/* Every TLS conn that has read nothing for quiet_ms gives back the
 * resident pages of its record buffers (tls_session_trim_idle()), once per
 * quiet spell. The app calls it from a periodic timer: an idle HTTPS or
 * IMAPS connection then costs about what a plaintext one does plus the
 * TLS state. */
void conn_trim_idle(uint64_t now_ms, uint64_t quiet_ms);

/* Count of live conns (for shutdown and limits). */
size_t conn_live_count(void);
/* Close every idle conn at shutdown: calls the timeout callback of each
 * conn (the protocol says goodbye) and closes it. */
void conn_shutdown_all(void);

#endif
