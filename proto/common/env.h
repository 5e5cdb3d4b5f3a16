/* env: what the app hands every protocol (SMTP, POP3, IMAP).
 *
 * The app fills one struct proto_env and points each protocol's listener
 * context at it; nothing in proto/ reaches up for the app's own state.
 * Only what all the protocols share is here: each protocol's own settings
 * come in its own struct (proto/<p>/<p>.h). Read on the loop thread only. */
#ifndef TERN_PROTO_ENV_H
#define TERN_PROTO_ENV_H

#include <stdbool.h>

struct conn;
struct store;
struct auth_pool;

struct proto_env {
	struct store *store;
	struct auth_pool *auth;       /* password checks (auth/auth.h) */
	const char *hostname;         /* [server] hostname: greetings, Received: */
	const char *domain;           /* [server] domain: the primary domain */
	bool auth_plaintext_loopback; /* [auth] plaintext_loopback */
	bool stopping;                /* SIGTERM/SIGINT received: no new sessions, no new work */
};

/* May a password be sent on c: over TLS, or in plaintext from loopback
 * when [auth] plaintext_loopback allows it. */
bool proto_auth_allowed(const struct proto_env *env, const struct conn *c);

#endif
