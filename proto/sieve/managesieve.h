/* managesieve: what the app needs to serve ManageSieve (RFC 5804), the
 * protocol clients use to upload and activate their Sieve scripts.
 *
 * The app loads struct msieve_settings from [managesieve] (part of struct
 * config), fills a struct msieve_ctx and gives a `protocol = "sieve"`
 * listener msieve_session_start() with it; nothing in proto/sieve reads
 * the config. */
#ifndef TERN_MANAGESIEVE_H
#define TERN_MANAGESIEVE_H

#include <stdint.h>

struct conn;
struct proto_env;

/* [managesieve] */
struct msieve_settings {
	int64_t max_errors;  /* bad commands before BYE */
	int64_t max_line;    /* a command line, without its literals */
	int64_t max_literal; /* one literal; bigger ones get BYE unread */
	int64_t max_scripts; /* scripts per account */
	int64_t timeout;     /* seconds of silence before BYE */
};

/* A listener's context: what msieve_session_start() gets as ctx. */
struct msieve_ctx {
	const struct msieve_settings *settings;
	const struct proto_env *env;
};

/* A conn_start_fn (net/conn.h); ctx is a struct msieve_ctx. */
void msieve_session_start(struct conn *c, void *ctx);

#endif
