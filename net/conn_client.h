/* conn_client: an outbound TCP (+ client STARTTLS) byte stream for the
 * SMTP client (and net/http_client), the counterpart of conn.h's
 * accepted connections.
 *
 * It connects, splits input into lines, writes, upgrades to TLS on request
 * and runs one timer that the protocol re-arms for every wait. Much smaller
 * than conn: one outbound session reads short replies and writes whole
 * messages, so there is no framing beyond lines, no backpressure on input
 * (replies are tiny) and output goes straight to uv_write.
 *
 * Lifecycle (libuv rules, as in conn): conn_client_close()/abort() may be
 * called from inside any callback; `closed` runs exactly once, last, from
 * the close callbacks, and the owner frees its state there. A failed
 * connect reports connected(status < 0) and then closed. */
#ifndef TERN_CONN_CLIENT_H
#define TERN_CONN_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

struct conn_client;
struct tls_client_ctx;

struct conn_client_callbacks {
	void (*connected)(struct conn_client *cc, int status); /* 0 or a uv error */
	void (*line)(struct conn_client *cc, const char *line, size_t len);
	/* Set instead of line: input as it comes, unsplit (a protocol with
	 * its own parser: net/http_client). */
	void (*data)(struct conn_client *cc, const char *p, size_t len);
	void (*tls_done)(struct conn_client *cc, bool ok, const char *err);
	void (*timeout)(struct conn_client *cc);
	void (*closed)(struct conn_client *cc);
};

/* Starts connecting to addr; returns NULL (no callback) on immediate
 * failure. connect_timeout_ms bounds the TCP connect. */
struct conn_client *conn_client_connect(uv_loop_t *loop, const struct sockaddr *addr,
                                        uint64_t connect_timeout_ms,
                                        const struct conn_client_callbacks *cb, void *ud);
void *conn_client_ud(const struct conn_client *cc);
/* Returns 0 or -1 if closing. With TLS active the data is encrypted. */
int conn_client_write(struct conn_client *cc, const void *data, size_t len);
/* Start the client handshake now (after the server's 220 to STARTTLS):
 * buffered plaintext is dropped. tls_done reports. 0 or -1. */
int conn_client_starttls(struct conn_client *cc, struct tls_client_ctx *ctx, const char *host);
bool conn_client_is_tls(const struct conn_client *cc);
const char *conn_client_tls_version(const struct conn_client *cc);
const char *conn_client_tls_cipher(const struct conn_client *cc);
bool conn_client_tls_verified(const struct conn_client *cc);
/* tls_session_verify_problem() of the session; "starttls-not-supported"
 * without TLS. */
const char *conn_client_tls_verify_problem(const struct conn_client *cc);
/* tls_session_dane_check() of the session (DANE_NO_CERT without TLS). */
struct dane_tlsa;
int conn_client_dane_check(const struct conn_client *cc, const struct dane_tlsa *recs, size_t n,
                           const char *host, const char **why);
/* (Re)arm the timer: `timeout` fires after ms of waiting (0 = disarm). */
void conn_client_set_timeout(struct conn_client *cc, uint64_t ms);
/* Graceful: queued output is written, TLS close_notify, FIN, close. */
void conn_client_close(struct conn_client *cc);
void conn_client_abort(struct conn_client *cc);
const char *conn_client_peer(const struct conn_client *cc); /* "1.2.3.4:25" */
/* Outbound connections open right now. */
size_t conn_client_live(void);

#endif
