/* fuzz_managesieve_session: the whole ManageSieve session (proto/sieve/)
 * on arbitrary client bytes.
 *
 * Why this target exists: fuzz_managesieve covers the command parser, not
 * the session around it: lines and literals collected across packets (and
 * a literal over the limit), SASL exchanges with the auth pool, STARTTLS,
 * the store jobs that pause the conn (PUTSCRIPT, SETACTIVE, DELETESCRIPT,
 * RENAMESCRIPT) with pipelined input behind them, a close or a shutdown
 * while one runs, a COMMIT that fails. The loop, store, TLS server,
 * listeners, client and watchdog are session_harness.c's; see
 * session_harness.h for the input layout (byte 0: variant, prelude, token
 * mode, shutdown; byte 1: seed, failing COMMIT; byte 2: chunking, finish).
 *
 * Checked on what the server sends (check_bytes()): every line ends in
 * CRLF; a literal "{N}" at a line's end is followed by N octets, then the
 * line goes on; a line starts with OK, NO or BYE (then a space or CRLF) or
 * is data (a capability, a script's name, a challenge, a script: it starts
 * with a quote or a literal); nothing follows BYE; after the STARTTLS
 * go-ahead the bytes are TLS. A violation abort()s.
 *
 * Set TERN_FUZZ_LOG=debug to see tern's log lines when reproducing. */
#include "tests/fuzz/session_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define USER HARNESS_USER
#define AUTH_PLAIN_B64 "AHVzZXJAZXhhbXBsZS50ZXN0AHB3" /* "\0user@example.test\0pw" */
#define USER_B64 "dXNlckBleGFtcGxlLnRlc3Q="
#define PASSWORD_B64 "cHc="

enum variant_flags {
	V_TLS = 1 << 0,        /* STARTTLS available */
	V_PLAIN_AUTH = 1 << 1, /* login allowed without TLS from loopback */
	V_SMALL = 1 << 2,      /* smallest limits, few errors */
	V_BACKPRESSURE = 1 << 3,
};

static const unsigned variants[8] = {
    V_TLS | V_PLAIN_AUTH,
    V_PLAIN_AUTH,
    V_TLS | V_PLAIN_AUTH | V_SMALL,
    V_PLAIN_AUTH | V_BACKPRESSURE,
    V_TLS,
    V_PLAIN_AUTH | V_SMALL | V_BACKPRESSURE,
    V_TLS | V_PLAIN_AUTH | V_BACKPRESSURE,
    V_PLAIN_AUTH | V_SMALL,
};
#define NVARIANTS (sizeof variants / sizeof variants[0])

static void configure(struct harness_variant *v, size_t i)
{
	unsigned f = variants[i];
	struct config *cfg = &v->cfg;
	cfg->auth.plaintext_loopback = (f & V_PLAIN_AUTH) != 0;
	cfg->managesieve.max_errors = 1000; /* the input decides when to stop */
	if (f & V_SMALL) {
		cfg->managesieve.max_line = 1024; /* the smallest the config allows */
		cfg->managesieve.max_literal = 65536;
		cfg->managesieve.max_scripts = 2;
		cfg->managesieve.max_errors = 5;
	}
	if (f & V_BACKPRESSURE)
		v->max_output = 64;
	struct config_listen *lc = &cfg->listen[0];
	lc->protocol = PROTO_SIEVE;
	lc->tls = f & V_TLS ? LISTEN_TLS_STARTTLS : LISTEN_TLS_NONE;
}

static int populate(struct store_tx *tx, const char *hash, int64_t account_id)
{
	(void)tx;
	(void)hash;
	(void)account_id;
	return 0;
}

static const struct harness_spec spec = {
    .name = "managesieve",
    .nvariants = NVARIANTS,
    .configure = configure,
    .populate = populate,
};

/* ---- the checker ------------------------------------------------------- */

struct reply_check {
	char line[4096]; /* the current line's start */
	size_t len, total;
	uint64_t literal_left; /* octets of a literal still to come */
	bool tls, tls_seen, bye;
};

static _Noreturn void bad_reply(const struct reply_check *rc, const char *why)
{
	fprintf(stderr, "fuzz_managesieve_session: bad response (%s): \"", why);
	harness_print_escaped(rc->line, rc->len);
	fprintf(stderr, "\"%s\n", rc->total > rc->len ? " (truncated)" : "");
	abort();
}

static bool starts(const char *l, size_t len, const char *p)
{
	size_t n = strlen(p);
	return len >= n && memcmp(l, p, n) == 0;
}

/* A line's end (CRLF) has come: a literal at its end, or a whole line. */
static void line_end(struct reply_check *rc)
{
	const char *l = rc->line;
	size_t len = rc->len;
	if (rc->total < 2 || (rc->len == rc->total && l[len - 2] != '\r'))
		bad_reply(rc, "bare LF");
	/* "...{N}\r\n": N octets follow, then the line goes on */
	if (len == rc->total && len >= 5 && l[len - 3] == '}') {
		size_t b = len - 4;
		while (b > 0 && l[b] >= '0' && l[b] <= '9')
			b--;
		if (l[b] == '{' && b < len - 4) {
			rc->literal_left = strtoull(l + b + 1, NULL, 10);
			return; /* the line is not over */
		}
	}
	bool status = starts(l, len, "OK ") || starts(l, len, "OK\r") || starts(l, len, "NO ") ||
	              starts(l, len, "NO\r") || starts(l, len, "BYE ") || starts(l, len, "BYE\r");
	if (!status && l[0] != '"' && l[0] != '{')
		bad_reply(rc, "neither OK, NO, BYE nor a string");
	if (memchr(l, '\0', len))
		bad_reply(rc, "NUL outside a literal");
	if (starts(l, len, "BYE"))
		rc->bye = true;
	if (starts(l, len, "OK \"Begin TLS negotiation now\"\r\n"))
		rc->tls = true;
	rc->len = rc->total = 0;
}

static void check_bytes(void *ud, const char *p, size_t n)
{
	struct reply_check *rc = ud;
	for (size_t i = 0; i < n; i++) {
		if (rc->tls) {
			if (!rc->tls_seen && (p[i] < 0x14 || p[i] > 0x17)) {
				rc->line[0] = p[i];
				rc->len = rc->total = 1;
				bad_reply(rc, "plaintext after the STARTTLS go-ahead");
			}
			rc->tls_seen = true;
			return;
		}
		if (rc->bye) {
			rc->line[0] = p[i];
			rc->len = rc->total = 1;
			bad_reply(rc, "bytes after BYE");
		}
		if (rc->literal_left > 0) {
			rc->literal_left--; /* a literal's octets: anything goes */
			continue;
		}
		if (rc->len < sizeof rc->line)
			rc->line[rc->len++] = p[i];
		rc->total++;
		if (p[i] == '\n')
			line_end(rc);
	}
}

/* ---- the client -------------------------------------------------------- */

static size_t prelude(char *out, size_t cap, unsigned depth, unsigned seed)
{
	size_t n = 0;
	char line[128];
	switch (depth) {
	case 0:
		break;
	case 1:
		n = harness_add(out, cap, n, "AUTHENTICATE \"PLAIN\" \"" AUTH_PLAIN_B64 "\"\r\n");
		break;
	case 2:
		n = harness_add(out, cap, n,
		                "AUTHENTICATE \"PLAIN\"\r\n{28+}\r\n" AUTH_PLAIN_B64 "\r\n");
		break;
	case 3:
		n = harness_add(out, cap, n,
		                "AUTHENTICATE \"LOGIN\"\r\n\"" USER_B64 "\"\r\n\"" PASSWORD_B64
		                "\"\r\n");
		break;
	default:
		n = harness_add(out, cap, n, "AUTHENTICATE \"PLAIN\" \"" AUTH_PLAIN_B64 "\"\r\n");
		snprintf(line, sizeof line, "PUTSCRIPT \"s%u\" {5+}\r\nkeep;\r\n", seed % 3);
		if (depth >= 5)
			n = harness_add(out, cap, n, line);
		if (depth >= 6)
			n = harness_add(out, cap, n, "SETACTIVE \"s0\"\r\n");
		if (depth == 7)
			n = harness_add(out, cap, n, "RENAMESCRIPT \"s1\" \"s2\"\r\n");
		break;
	}
	return n;
}

static const char *const tokens[] = {
    /* 0x80: commands */
    "CAPABILITY",
    "STARTTLS",
    "AUTHENTICATE ",
    "UNAUTHENTICATE",
    "LOGOUT",
    "NOOP ",
    "HAVESPACE ",
    "PUTSCRIPT ",
    "CHECKSCRIPT ",
    "LISTSCRIPTS",
    "GETSCRIPT ",
    "SETACTIVE ",
    "DELETESCRIPT ",
    "RENAMESCRIPT ",
    "\"PLAIN\"",
    "\"SCRAM-SHA-256\"",
    /* 0x90: whole commands */
    "AUTHENTICATE \"PLAIN\" \"" AUTH_PLAIN_B64 "\"\r\n",
    "AUTHENTICATE \"PLAIN\"\r\n",
    "\"" AUTH_PLAIN_B64 "\"\r\n",
    "\"*\"\r\n",
    "\"\"\r\n",
    "PUTSCRIPT \"a\" \"keep;\"\r\n",
    "PUTSCRIPT \"b\" {24+}\r\nrequire \"fileinto\";\r\nstop;\r\n",
    "PUTSCRIPT \"c\" \"frobnicate;\"\r\n",
    "SETACTIVE \"a\"\r\n",
    "SETACTIVE \"\"\r\n",
    "DELETESCRIPT \"a\"\r\n",
    "RENAMESCRIPT \"a\" \"b\"\r\n",
    "GETSCRIPT \"a\"\r\n",
    "LISTSCRIPTS\r\n",
    "HAVESPACE \"a\" 100\r\n",
    "STARTTLS\r\n",
    /* 0xa0: arguments and syntax */
    "\"a\"",
    "\"b\"",
    "\"\"",
    "{0+}\r\n",
    "{1+}\r\n",
    "{5}\r\n",
    "{70000+}\r\n",
    "{2000000+}\r\n",
    "4294967295",
    "4294967296",
    "\\\"",
    "\\\\",
    "keep;",
    " ",
    "\r\n",
    "\n",
    /* 0xb0: bytes */
    "\r",
    "\t",
    "\xff",
    "\xc3\xa9",
    "/",
    harness_tok_nul,
    "CHECKSCRIPT \"keep;\"\r\n",
    "UNAUTHENTICATE\r\n",
    "NOOP \"t\"\r\n",
    "LOGOUT\r\n",
    "CAPABILITY\r\n",
    harness_tok_long,
};
static const struct harness_tokens dictionary = {
    .words = tokens,
    .nwords = sizeof tokens / sizeof tokens[0],
    .long_prefix = "NOOP \"",
    .long_len = 20000, /* over the default max_line */
};

static const struct harness_layout layout = {
    .prelude = prelude,
    .dictionary = &dictionary,
    .finish = "LOGOUT\r\n",
    .on_bytes = check_bytes,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	harness_setup(&spec);
	static struct reply_check rc;
	memset(&rc, 0, sizeof rc);
	bool clean_eof = harness_run_input(&layout, data, size, &rc);
	if (clean_eof && !rc.tls && (rc.total || rc.literal_left))
		bad_reply(&rc, "unterminated");
	/* an account's scripts stay between inputs, at most max_scripts of
	 * them; the store is made afresh now and then (harness_input_done) */
	harness_input_done();
	return 0;
}
