/* imap: what the app needs to serve IMAP.
 *
 * The app loads struct imap_settings from [imap] (it is part of struct
 * config), fills a struct imap_ctx and gives the listener imap_session_start()
 * with it; nothing in proto/imap reads the config. */
#ifndef TERN_IMAP_H
#define TERN_IMAP_H

#include <stdint.h>

struct conn;
struct proto_env;

/* [imap] */
struct imap_settings {
	int64_t max_errors;
	int64_t max_line;
	int64_t max_literal;
	int64_t timeout; /* seconds: the autologout timer, 30 minutes */
	/* METADATA (RFC 5464): the largest value, the entries of one mailbox
	 * (or of the server), the entries of an account in all */
	int64_t metadata_max_size;
	int64_t metadata_max_entries;
	int64_t metadata_max_account_entries;
	/* NOTIFY (RFC 5465): responses a session may have waiting */
	int64_t notify_max_pending;
};

/* A listener's context: what imap_session_start() gets as ctx. */
struct imap_ctx {
	const struct imap_settings *settings;
	const struct proto_env *env;
};

/* A conn_start_fn (net/conn.h); ctx is a struct imap_ctx. */
void imap_session_start(struct conn *c, void *ctx);

#endif
