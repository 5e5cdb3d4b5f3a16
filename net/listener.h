/* listener: listening sockets on the loop, each handing accepted streams
 * to conn with its TLS mode, limits and protocol entry point.
 *
 * A listener knows no configuration and no protocol: the app describes
 * each one in a struct listener_spec (address, TLS, limits, the protocol's
 * start function and its context) and opens it. */
#ifndef TERN_LISTENER_H
#define TERN_LISTENER_H

#include <stddef.h>
#include <sys/socket.h>
#include <uv.h>

#include "net/conn.h"

#define LISTENER_MAX 64

struct listener_spec {
	const char *name;    /* for logs and errors: "smtp", "imap", ... (static) */
	const char *address; /* "127.0.0.1:2525", "[::1]:2525", "0.0.0.0:25" */
	enum conn_tls_mode tls;
	struct tls_server *tls_server; /* NULL: no certificate */
	enum tls_profile tls_profile;  /* people's clients, or other mail servers */
	struct conn_limits limits;
	conn_start_fn start; /* called as start(c, ctx) for each connection */
	void *ctx;           /* must outlive the listener's connections */
};

/* Bind and listen (the spec is copied). bound, if not NULL, gets the
 * address the socket got (the port the kernel chose for port 0). Returns
 * 0, or -1 with err naming the address and the reason. Logs
 * "event=listen". */
int listener_open(uv_loop_t *loop, const struct listener_spec *spec, struct sockaddr_storage *bound,
                  char *err, size_t errlen);
/* Stop accepting: close every listening socket. */
void listeners_stop(void);

#endif
