/* conn_int.h: what the three files of conn share. Not an API: only
 * net/conn.c, net/conn_output.c and net/conn_tls.c include it; everyone
 * else uses net/conn.h.
 *
 * One job per file, in layers; a file calls only the files below it:
 *
 *   conn.c         the connection's life: accept, callbacks, the input
 *                  buffer and framing (pump()), pause/resume, close,
 *                  timers, limits.
 *   conn_tls.c     the TLS glue: handshake, decryption into a buffer
 *                  conn.c supplies, STARTTLS, the TLS accessors.
 *   conn_output.c  the output queue: chunks, backpressure, write batching
 *                  onto the socket, the encode side of a filter.
 *
 * Why the upcall table. Each lower file has events that must reach the
 * connection's life: a write completes or fails (libuv calls conn_output.c),
 * the handshake deadline fires or a protocol asks for STARTTLS (conn_tls.c).
 * The reaction (run pump() again, close the handles, start or stop reading,
 * shut the socket down once the queue is empty) is conn.c's job, and conn.c
 * also calls down into both files. Calling up directly would tie the three
 * files into one cycle, so that none could be read without the other two.
 * Instead conn.c puts a table of its four reactions in every conn (c->up)
 * at accept, and the lower files call through it: the dependency on conn.c
 * is those four named entry points, nothing else. conn.c pulls plaintext
 * from TLS into its own buffer (conn_decrypt()), so TLS never needs to know
 * about conn's input.
 */
#ifndef TERN_NET_CONN_INT_H
#define TERN_NET_CONN_INT_H

#include "net/conn.h"
#include "net/framing.h"
#include "lib/log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <uv.h>

struct tls_session;

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

/* conn.c's reactions to events in the lower files (see above). */
struct conn_upcalls {
	/* Run pump() on the next loop iteration (it flushes output at its
	 * end). Lower files call it for work done outside pump(). */
	void (*schedule_tick)(struct conn *c);
	/* Close the handles now: conn_abort(). */
	void (*close_all)(struct conn *c);
	/* Start or stop reading from the socket as the state now asks. */
	void (*update_reading)(struct conn *c);
	/* The output queue is empty and no write is in flight. */
	void (*output_empty)(struct conn *c);
};

struct conn {
	/* Handles and life (conn.c). */
	uv_tcp_t tcp;
	uv_timer_t idle_timer;
	uv_timer_t deadline_timer; /* limits.deadline_ms, not moved by input */
	uv_timer_t aux_timer;      /* handshake deadline (conn_tls.c), then the close deadline */
	uv_idle_t tick;
	uv_write_t wreq; /* conn_output.c */
	uv_shutdown_t sreq;
	int open_handles;
	const struct conn_upcalls *up;

	struct conn *prev, *next; /* live list */
	uint64_t id;
	uv_loop_t *loop;
	struct conn_limits limits;
	conn_start_fn start;
	void *start_ctx; /* handed to start: the protocol's settings and services */
	struct conn_callbacks cb;
	bool have_cb;
	void *session;

	/* Input (conn.c). */
	struct framer framer;
	char *in;
	size_t in_r, in_w, in_cap;
	unsigned events; /* framer events delivered, to detect progress */

	/* Output (conn_output.c). */
	struct outq out;    /* ready for the wire */
	struct outq flight; /* being written */
	struct outq pt;     /* plaintext waiting for the handshake */
	bool writing;
	bool was_full;

	/* TLS (conn_tls.c). */
	enum conn_tls_mode tls_mode;
	enum tls_state tls_state;
	struct tls_server *tls_server;
	enum tls_profile tls_profile; /* its cipher suites */
	struct tls_session *tls;

	/* Flow and closing (conn.c). */
	unsigned pauses;
	bool reading;
	bool in_dispatch; /* inside pump(): callbacks may be running */
	bool discard_input;
	bool closing;
	bool handles_closing;
	bool shut;
	bool peer_eof;
	uint64_t last_input_ms; /* loop time of the last read that brought bytes */
	bool tls_trimmed;       /* conn_trim_idle() gave the TLS buffers' pages back */
	bool limits_held;
	bool loopback;

	/* Byte filter (COMPRESS=DEFLATE) between TLS and the framer. Raw
	 * input from the wire (or from TLS) lands in raw[] and is decoded
	 * into in[] (conn.c); output is encoded in conn_write()
	 * (conn_output.c). filt_new: just installed; the unread rest of in[]
	 * is moved to raw[] before the framer runs again. */
	const struct conn_filter *filt;
	void *filt_ud;
	bool filt_dirty, filt_new;
	/* A slice of filtered input was used up: no more is decoded until
	 * the tick (the next loop turn), reads in between only buffer. */
	bool filt_wait;
	char *raw;
	size_t raw_r, raw_w, raw_cap;

	char peer[64];
	char peer_ip[48];
	char local_ip[48];
};

/* One log line for this conn: "sid=.. peer=.. conn <fmt>". */
static inline void cev(struct conn *c, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline void cev(struct conn *c, enum log_level level, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	log_session(level, c->id, c->peer, "conn", "%s", buf);
}

/* ---- conn_output.c ---- */

/* End of a write batch: encode-flush the filter, write what the socket
 * takes now, start a uv_write for the rest. Calls up output_empty when
 * nothing is left. */
void conn_out_flush(struct conn *c);
/* Make the filter emit everything it holds (before a graceful close). */
void conn_out_filter_flush(struct conn *c);
/* Bytes ready for the wire (ciphertext from the TLS session): append to
 * the queue. Returns 0, or -1 (out of memory, or the conn is closed). */
int conn_out_wire(struct conn *c, const void *data, size_t len);
/* The handshake finished: encrypt the plaintext written while it ran.
 * Returns 0, or -1 (the caller aborts). */
int conn_out_encrypt_pending(struct conn *c);
/* Drop the plaintext waiting for a handshake (the conn is closing). */
void conn_out_drop_pending(struct conn *c);
/* Free every queue (the conn is being freed). */
void conn_out_free(struct conn *c);

/* ---- conn_tls.c ---- */

/* Create the session and start the handshake (implicit TLS at accept, or
 * STARTTLS once its reply is out). On failure the conn is aborted. */
void conn_handshake_begin(struct conn *c);
/* One step of the handshake, from pump(): 0 when TLS is now on (the
 * STARTTLS protocol has had tls_done(true)), TLS_AGAIN when it needs more
 * input, or -1 when it failed (logged, tls_done(false) called, the conn
 * possibly aborted already): the caller closes the conn gracefully, so
 * that the alert mbedTLS queued still goes out. */
int conn_handshake_step(struct conn *c);
/* Decrypt into dst[0..room): returns the bytes written, or -1 on a TLS
 * error (logged; the caller aborts). A close_notify from the peer sets
 * peer_eof. */
ssize_t conn_decrypt(struct conn *c, char *dst, size_t room);

#endif
