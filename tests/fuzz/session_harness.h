/* session_harness: what the session-level fuzzers (fuzz_smtp_session,
 * fuzz_imap_session, fuzz_pop3_session) share.
 *
 * Not a fuzz target itself (the name does not start with fuzz_): CMake
 * builds it once and links it into the targets.
 *
 * Set up once (harness_setup(), on the first input): a loop; a store in a
 * temporary directory (tmpfs when there is one: every change is a COMMIT;
 * directories left by dead runs are removed) with the domain and the
 * account USER (a cheap sha512-crypt hash of PASSWORD), plus whatever the
 * target's populate() adds; the auth pool over it (failures answered at
 * once, 20 a second per address); a self-signed TLS server; and one listening
 * socket on 127.0.0.1:0 per server variant, configured by the target's
 * configure() and wired as `tern serve` wires its own: the variant's
 * struct proto_env, serve_wire_listener() and listener_open(). The only
 * difference is a start function of ours in front of the protocol's, which
 * counts the connections.
 *
 * Per input (harness_run()): a TCP loopback client connects, writes the
 * stream in chunks whose sizes come from a seed, pumping the loop between
 * chunks so the server sees the packet boundaries, then half-closes. What
 * the server sends goes to the target's checker as it arrives. The input
 * is done when the server has closed, the conn is freed, and no handle or
 * request of the session is left on the loop (auth timers, thread-pool
 * work, writes), so nothing of one input runs during the next. A session
 * that does not finish within HARNESS_WATCHDOG_MS of wall time is a hang:
 * abort() so libFuzzer keeps the input.
 *
 * Costs kept small: a fresh store every HARNESS_STORE_RESET_EVERY inputs
 * (harness_input_done()), unknown-user password checks made cheap (the
 * crypt_gensalt_rn() override in session_harness.c), auth failure delays
 * of 0 ms.
 */
#ifndef TERN_FUZZ_SESSION_HARNESS_H
#define TERN_FUZZ_SESSION_HARNESS_H

#include <netinet/in.h>
struct store_tx;
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/config.h"
#include "app/serve.h"
#include "proto/common/env.h"

#define HARNESS_DOMAIN "example.test"
#define HARNESS_USER "user@" HARNESS_DOMAIN
#define HARNESS_PASSWORD "pw"
#define HARNESS_WATCHDOG_MS 30000
/* Inputs between fresh stores: bounds the database (every accepted message
 * is a row) while costing one reopen every few seconds. */
#define HARNESS_STORE_RESET_EVERY 5000
/* Chunk sizes come from the seed up to here; past it, large writes. */
#define HARNESS_SMALL_CHUNKS_UPTO 8192

struct harness_variant {
	struct config cfg;
	struct proto_env env;
	struct serve_listener wired; /* the protocol's start function and context */
	struct sockaddr_in addr;     /* where the listener is */
	/* Set by configure(): replaces cfg.max_output as the conn's output
	 * limit when non-zero (below any config bound: backpressure). */
	size_t max_output;
};

struct harness_spec {
	/* "smtp", "imap", "pop3": names the temporary directory
	 * (tern-fuzz-<name>-<pid>-XXXXXX) and error messages. */
	const char *name;
	size_t nvariants;
	/* Called once per variant after config_defaults() and the common
	 * settings (hostname, domain, data_dir, one listener on
	 * 127.0.0.1:0): sets the protocol and TLS mode of
	 * cfg->listen[0] and whatever else the variant needs. The listener's
	 * limits, start function and context are then derived from the
	 * config by serve_wire_listener(), as `tern serve` does. */
	void (*configure)(struct harness_variant *v, size_t i);
	/* Called in the store's setup transaction after the domain and the
	 * account USER were created. hash: USER's password hash (to give
	 * other accounts the same password). Returns 0 or negative. */
	int (*populate)(struct store_tx *tx, const char *hash, int64_t account_id);
};

/* What one input does. */
struct harness_session {
	const char *stream; /* the client's bytes */
	size_t len;
	unsigned chunk_seed; /* 0: one write */
	bool stop;           /* conn_shutdown_all() when stop_at bytes are written
	                        (or when everything is written) */
	size_t stop_at;
	bool fail_commit;    /* the store's next COMMIT fails */
	const char *from_ip; /* client source address, NULL = 127.0.0.1 */
	/* Every byte the server sends, in order. */
	void (*on_bytes)(void *ud, const char *p, size_t n);
	void *ud;
};

/* Once: set up everything for spec (which must stay valid). Idempotent. */
void harness_setup(const struct harness_spec *spec);
struct harness_variant *harness_variant(size_t i);
struct store *harness_store(void);
/* Run one session to its end. Returns true if the server closed the
 * connection cleanly (EOF rather than a reset). */
bool harness_run(struct harness_variant *v, const struct harness_session *hs);
/* After each input: counts inputs, reopens a fresh store now and then. */
void harness_input_done(void);
/* A fresh store now (e.g. after an input deleted the messages). */
void harness_reset_store(void);
/* Building the client's bytes. */

/* Appends text to out[n..cap) and returns the new length; a text that
 * does not fit is the target's own mistake (harness_die()). */
size_t harness_add(char *out, size_t cap, size_t n, const char *text);

/* Token mode: a byte 0x80-0xff of the input stands for word b - 0x80 of
 * the target's dictionary (taken modulo nwords), a smaller byte for
 * itself. This is the dictionary that CI's short runs (no -dict, no
 * corpus) lack. Two words are markers, compared by address:
 * harness_tok_nul is one NUL byte, harness_tok_long an over-long line
 * (long_prefix, then 'a's, then CRLF: long_len bytes in all). */
extern const char harness_tok_nul[], harness_tok_long[];
struct harness_tokens {
	const char *const *words;
	size_t nwords;
	const char *long_prefix;
	size_t long_len;
};
/* Appends the input's bytes to out[n..cap), expanded through t in token
 * mode (t non-NULL) or as they are, as many as fit; returns the new
 * length. */
size_t harness_add_input(char *out, size_t cap, size_t n, const uint8_t *in, size_t len,
                         const struct harness_tokens *t);

/* The input layout fuzz_imap_session and fuzz_pop3_session share:
 *   byte 0  bits 0-2  server variant
 *           bits 3-5  prelude depth (a client that logs in, depth > 0,
 *                     connects from 127.0.0.2, so the failures of fuzzed
 *                     logins never throttle it)
 *           bit 6     token mode (dictionary)
 *           bit 7     shut the server down part-way through
 *   byte 1  bits 0-6  seed: the shutdown point and the prelude's choices
 *           bit 7     the store's next COMMIT fails
 *   byte 2  bits 0-6  chunking seed (0 = one write)
 *           bit 7     end with finish after the client's bytes
 *   rest    the client's bytes, after the prelude. */
struct harness_layout {
	size_t (*prelude)(char *out, size_t cap, unsigned depth, unsigned seed);
	const struct harness_tokens *dictionary;
	const char *finish;
	void (*on_bytes)(void *ud, const char *p, size_t n);
};
/* Builds the client's stream for an input (size >= 3) of that layout and
 * runs it like harness_run(), with ud for on_bytes. */
bool harness_run_input(const struct harness_layout *l, const uint8_t *data, size_t size, void *ud);

/* Print a message naming the target and abort(). */
_Noreturn void harness_die(const char *what, const char *detail);
/* Print bytes escaped to stderr (for checkers' messages). */
void harness_print_escaped(const char *p, size_t n);

#endif
