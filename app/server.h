/* server: the state one running `tern serve` shares between its parts.
 *
 * There is one struct server per process, owned by serve.c. Protocol
 * sessions reach it from their conn: conn_listener(c) -> listener_server().
 * Everything here is touched on the loop thread only, except `store`, whose
 * writer thread is internal to store/. */
#ifndef TERN_SERVER_H
#define TERN_SERVER_H

#include <stdbool.h>
#include <uv.h>

#include "app/config.h"

struct store;
struct auth_pool;
struct tls_server;
struct conn;

struct server {
	uv_loop_t *loop;
	struct config *cfg;
	struct store *store;
	struct auth_pool *auth;
	struct tls_server *tls;
	bool stopping; /* SIGTERM/SIGINT received: no new sessions, no new work */
};

/* Protocol entry points, called by conn when a connection is ready (after
 * the implicit TLS handshake, if any). Each calls conn_set_callbacks(). */
void smtp_session_start(struct conn *c);
void pop3_session_start(struct conn *c);
void imap_session_start(struct conn *c);

#endif
