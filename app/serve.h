/* serve: `tern serve`, and how it wires protocols to listeners.
 *
 * Each [[listen]] entry becomes a struct listener_spec (net/listener.h)
 * through a table in serve.c: protocol -> start function and a context
 * holding the protocol's settings (in struct config), the struct
 * proto_env every protocol shares and the entry's own options. */
#ifndef TERN_SERVE_H
#define TERN_SERVE_H

#include "app/config.h"
#include "net/listener.h"
#include "proto/common/env.h"
#include "proto/http/http.h"
#include "proto/imap/imap.h"
#include "proto/pop3/pop3.h"
#include "proto/sieve/managesieve.h"
#include "proto/smtp/smtp.h"

/* Run the server until SIGTERM/SIGINT. Returns the process exit code. */
int serve_run(struct config *cfg);

/* One [[listen]] entry wired to its protocol: spec.ctx points into ctx, so
 * a serve_listener is filled in place and never copied. */
struct serve_listener {
	union {
		struct smtp_ctx smtp;
		struct pop3_ctx pop3;
		struct imap_ctx imap;
		struct http_ctx http;
		struct msieve_ctx managesieve;
	} ctx;
	struct http_site http_site; /* an http listener's: the services it announces */
	struct listener_spec spec;
	char refusal[320]; /* spec.limits.refusal, when it names the host */
};

/* Fill w for the entry lc of cfg: the protocol's start function and
 * context (its settings in cfg, env, lc's options), the conn limits (the
 * protocol's line length and idle timeout, [tls] and [limits], lc's
 * overrides), lc's address and TLS mode with tls (NULL: no certificate).
 * serve_run() opens what this gives; the fuzz harness does the same. cfg
 * and env must outlive the listener's connections. */
void serve_wire_listener(struct serve_listener *w, const struct config *cfg,
                         const struct config_listen *lc, const struct proto_env *env,
                         struct tls_server *tls);

#endif
