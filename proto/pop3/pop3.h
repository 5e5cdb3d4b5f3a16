/* pop3: what the app needs to serve POP3.
 *
 * The app loads struct pop3_settings from [pop3] (it is part of struct
 * config), fills a struct pop3_ctx and gives the listener pop3_session_start()
 * with it; nothing in proto/pop3 reads the config. */
#ifndef TERN_POP3_H
#define TERN_POP3_H

#include <stdint.h>

struct conn;
struct proto_env;

/* [pop3] */
struct pop3_settings {
	int64_t max_errors;
	int64_t max_line;
	int64_t timeout; /* seconds: the autologout timer, 10 minutes */
};

/* A listener's context: what pop3_session_start() gets as ctx. */
struct pop3_ctx {
	const struct pop3_settings *settings;
	const struct proto_env *env;
	int tls_port; /* an implicit-TLS POP3 listener's port, for hints; 0 = none */
};

/* A conn_start_fn (net/conn.h); ctx is a struct pop3_ctx. */
void pop3_session_start(struct conn *c, void *ctx);

#endif
