/* fuzz_pop3_session: the whole POP3 server session on arbitrary client
 * bytes.
 *
 * Why this target exists: fuzz_pop3 covers the command parser and the
 * dot-stuffing filter, but not the session: USER/PASS and SASL with the
 * auth pool, the maildrop lock and snapshot, RETR/TOP streaming under
 * backpressure, DELE/RSET marks applied by one store job at QUIT, STLS,
 * pipelined input behind an asynchronous step, a close while a job runs.
 * The loop, store, TLS server, listeners, client and watchdog are
 * session_harness.c's, shared with fuzz_smtp_session and
 * fuzz_imap_session; see session_harness.h.
 *
 * The maildrop: INBOX with the messages of session_mail.h (one has lines
 * that start with dots) and one whose last line has no CRLF. A QUIT that
 * deleted messages makes the next input start from a fresh store, so the
 * maildrop never runs dry.
 *
 * Checked on what the server sends (check_bytes()): every line ends in
 * CRLF; a response is "+OK" or "-ERR" (alone or followed by a space) or
 * a "+ " SASL continuation, at most 512 octets with no NUL or CR inside
 * (RFC 2449); the multi-line ones (CAPA, LIST and UIDL without argument,
 * RETR, TOP, AUTH without argument) end with ".\r\n", every line in them
 * that starts with "." is dot-stuffed, and the message of a RETR has the
 * announced size (or two more: the CRLF added to an unterminated last
 * line). After "+OK Begin TLS negotiation" the bytes are TLS (the first
 * must start a record). A violation abort()s.
 *
 * Input layout (struct harness_layout in session_harness.h), as used here:
 *   byte 0  bits 0-2  server variant (see variants[])
 *           bits 3-5  prelude: 0 none, 1 USER, 2 USER+PASS, 3 AUTH PLAIN
 *                     with initial response, 4 AUTH PLAIN after a "+ ",
 *                     5 AUTH LOGIN, 6 USER+PASS+STAT, 7 USER+PASS+DELE n
 *           bit 6     token mode: bytes 0x80-0xFF of the rest stand for
 *                     the words in tokens[], 0x00-0x7F for themselves
 *           bit 7     shut the server down (conn_shutdown_all(), as on
 *                     SIGTERM after the grace period) part-way through
 *   byte 1  bits 0-6  seed: shutdown point, DELE's message number
 *           bit 7     the store's next COMMIT fails (disk full): QUIT's
 *   byte 2  bits 0-6  chunking seed (0 = one write)
 *           bit 7     end with "QUIT\r\n" after the client's bytes
 *   rest    the client's bytes, after the prelude.
 *
 * Set TERN_FUZZ_LOG=debug to see tern's log lines when reproducing.
 */
#include "tests/fuzz/session_harness.h"
#include "tests/fuzz/session_mail.h"

#include "store/accounts.h"
#include "store/mail.h"
#include "store/store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define USER HARNESS_USER
#define AUTH_PLAIN_B64 "AHVzZXJAZXhhbXBsZS50ZXN0AHB3" /* "\0user@example.test\0pw" */
#define USER_B64 "dXNlckBleGFtcGxlLnRlc3Q="
#define PASSWORD_B64 "cHc="

enum variant_flags {
	V_TLS = 1 << 0,        /* STLS available */
	V_PLAIN_AUTH = 1 << 1, /* login allowed without TLS from loopback */
	V_SMALL = 1 << 2,      /* smallest max_line, few errors */
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
    V_PLAIN_AUTH,
};
#define NVARIANTS (sizeof variants / sizeof variants[0])

static const char msg_no_crlf[] = "From: x@remote.test\r\n"
                                  "Subject: no final CRLF\r\n"
                                  "\r\n"
                                  "first line\r\n"
                                  ".last line without CRLF";

static int populate(struct store_tx *tx, const char *hash, int64_t account_id)
{
	struct {
		const char *msg;
		size_t len;
	} m[] = {
	    {fuzz_msg_mixed, sizeof fuzz_msg_mixed - 1},
	    {fuzz_msg_headers, sizeof fuzz_msg_headers - 1},
	    {fuzz_msg_8bit, sizeof fuzz_msg_8bit - 1},
	    {fuzz_msg_empty, sizeof fuzz_msg_empty - 1},
	    {msg_no_crlf, sizeof msg_no_crlf - 1},
	};
	for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
		int rc = fuzz_deliver(tx, account_id, 0, m[i].msg, m[i].len, 0);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static void configure(struct harness_variant *v, size_t i)
{
	unsigned f = variants[i];
	struct config *cfg = &v->cfg;
	cfg->auth.plaintext_loopback = (f & V_PLAIN_AUTH) != 0;
	cfg->pop3.max_errors = 1000; /* keep going: the input decides when to stop */
	if (f & V_SMALL) {
		cfg->pop3.max_line = 255; /* the smallest the config allows */
		cfg->pop3.max_errors = 5;
	}
	if (f & V_BACKPRESSURE)
		v->max_output = 64;
	struct config_listen *lc = &cfg->listen[0];
	lc->protocol = PROTO_POP3;
	lc->tls = f & V_TLS ? LISTEN_TLS_STARTTLS : LISTEN_TLS_NONE;
}

static const struct harness_spec spec = {
    .name = "pop3",
    .nvariants = NVARIANTS,
    .configure = configure,
    .populate = populate,
};

/* ---- the checker ------------------------------------------------------- */

enum rstate {
	R_STATUS,    /* a response starts */
	R_AMBIGUOUS, /* after a bare "+OK": UIDL and AUTH listings, or RSET/NOOP */
	R_MULTI,     /* inside a multi-line response */
};

struct reply_check {
	char line[1 << 16]; /* the current line (a prefix of it when longer) */
	size_t len, total;
	enum rstate st;
	bool retr;          /* the multi-line response is a RETR */
	uint64_t announced; /* its size */
	uint64_t octets;    /* un-stuffed bytes so far */
	bool tls, tls_seen;
	bool deleted; /* a QUIT deleted messages */
};

static _Noreturn void bad_reply(const struct reply_check *rc, const char *why)
{
	fprintf(stderr, "fuzz_pop3_session: bad response (%s): \"", why);
	harness_print_escaped(rc->line, rc->len);
	fprintf(stderr, "\"%s\n", rc->total > rc->len ? " (truncated)" : "");
	abort();
}

static bool starts(const char *l, size_t len, const char *p)
{
	size_t n = strlen(p);
	return len >= n && memcmp(l, p, n) == 0;
}

static void status_line(struct reply_check *rc)
{
	const char *l = rc->line;
	size_t len = rc->total;
	if (len > 512)
		bad_reply(rc, "longer than 512 octets");
	if (memchr(l, '\0', len - 2) || memchr(l, '\r', len - 2))
		bad_reply(rc, "NUL or bare CR");
	rc->st = R_STATUS;
	if (starts(l, len, "+ "))
		return; /* SASL continuation */
	if (starts(l, len, "-ERR ") || starts(l, len, "-ERR\r\n"))
		return;
	if (!starts(l, len, "+OK ") && !starts(l, len, "+OK\r\n"))
		bad_reply(rc, "neither +OK nor -ERR");
	rc->retr = false;
	unsigned long long a, b;
	char c;
	if (len == 5) {
		rc->st = R_AMBIGUOUS;
	} else if (starts(l, len, "+OK Capability list follows\r\n") ||
	           starts(l, len, "+OK Top of message follows\r\n") ||
	           sscanf(l, "+OK %llu messages (%llu octets%c", &a, &b, &c) == 3) {
		rc->st = R_MULTI;
	} else if (sscanf(l, "+OK %llu octets%c", &a, &c) == 2 && c == '\r') {
		rc->st = R_MULTI;
		rc->retr = true;
		rc->announced = a;
		rc->octets = 0;
	} else if (starts(l, len, "+OK tern POP3 server signing off (") &&
	           !starts(l, len, "+OK tern POP3 server signing off (0 ")) {
		rc->deleted = true;
	} else if (starts(l, len, "+OK Begin TLS negotiation")) {
		rc->tls = true;
	}
}

static void multi_line(struct reply_check *rc)
{
	size_t len = rc->total; /* rc->line may hold only its start */
	if (rc->len >= 3 && memcmp(rc->line, ".\r\n", 3) == 0 && len == 3) {
		if (rc->retr && rc->octets != rc->announced && rc->octets != rc->announced + 2) {
			fprintf(stderr,
			        "fuzz_pop3_session: RETR announced %" PRIu64
			        " octets, sent %" PRIu64 "\n",
			        rc->announced, rc->octets);
			bad_reply(rc, "wrong RETR size");
		}
		rc->st = R_STATUS;
		return;
	}
	if (rc->line[0] == '.') {
		if (len < 2 || rc->line[1] != '.')
			bad_reply(rc, "line starting with a dot not stuffed");
		rc->octets += len - 1;
	} else {
		rc->octets += len;
	}
}

static void check_bytes(void *ud, const char *p, size_t n)
{
	struct reply_check *rc = ud;
	for (size_t i = 0; i < n; i++) {
		if (rc->tls) {
			/* Nothing pipelined behind STLS is answered in
			 * plaintext: what follows the go-ahead are TLS
			 * records. */
			if (!rc->tls_seen && (p[i] < 0x14 || p[i] > 0x17)) {
				rc->line[0] = p[i];
				rc->len = 1;
				bad_reply(rc, "plaintext after the STLS go-ahead");
			}
			rc->tls_seen = true;
			return;
		}
		if (rc->len < sizeof rc->line)
			rc->line[rc->len++] = p[i];
		rc->total++;
		if (p[i] != '\n')
			continue;
		if (rc->total < 2 || (rc->len == rc->total && rc->line[rc->len - 2] != '\r'))
			bad_reply(rc, "bare LF");
		if (rc->st == R_AMBIGUOUS) {
			/* A new response, or the listing after "+OK". */
			if (starts(rc->line, rc->len, "+OK") || starts(rc->line, rc->len, "-ERR") ||
			    starts(rc->line, rc->len, "+ "))
				rc->st = R_STATUS;
			else
				rc->st = R_MULTI;
		}
		if (rc->st == R_MULTI)
			multi_line(rc);
		else if (rc->len < rc->total)
			bad_reply(rc, "longer than 512 octets");
		else
			status_line(rc);
		rc->len = rc->total = 0;
	}
}

/* ---- the client -------------------------------------------------------- */

static size_t prelude(char *out, size_t cap, unsigned depth, unsigned seed)
{
	char line[64];
	size_t n = 0;
	switch (depth) {
	case 0:
		break;
	case 1:
		n = harness_add(out, cap, n, "USER " USER "\r\n");
		break;
	case 3:
		n = harness_add(out, cap, n, "AUTH PLAIN " AUTH_PLAIN_B64 "\r\n");
		break;
	case 4:
		n = harness_add(out, cap, n, "AUTH PLAIN\r\n" AUTH_PLAIN_B64 "\r\n");
		break;
	case 5:
		n = harness_add(out, cap, n, "AUTH LOGIN\r\n" USER_B64 "\r\n" PASSWORD_B64 "\r\n");
		break;
	default:
		n = harness_add(out, cap, n, "USER " USER "\r\nPASS " HARNESS_PASSWORD "\r\n");
		if (depth == 6)
			n = harness_add(out, cap, n, "STAT\r\n");
		if (depth == 7) {
			snprintf(line, sizeof line, "DELE %u\r\n", seed % 7);
			n = harness_add(out, cap, n, line);
		}
		break;
	}
	return n;
}

static const char *const tokens[] = {
    /* 0x80: commands */
    "USER ",
    "PASS ",
    "STAT",
    "LIST",
    "UIDL",
    "RETR ",
    "TOP ",
    "DELE ",
    "RSET",
    "NOOP",
    "QUIT",
    "CAPA",
    "STLS",
    "AUTH",
    "APOP ",
    "LAST",
    /* 0x90: whole commands */
    "USER " USER "\r\n",
    "PASS " HARNESS_PASSWORD "\r\n",
    "PASS wrong\r\n",
    "USER nobody@" HARNESS_DOMAIN "\r\n",
    "AUTH PLAIN " AUTH_PLAIN_B64 "\r\n",
    "AUTH PLAIN\r\n",
    "AUTH LOGIN\r\n",
    AUTH_PLAIN_B64 "\r\n",
    USER_B64 "\r\n",
    PASSWORD_B64 "\r\n",
    "*\r\n",
    "=\r\n",
    "AUTH PLAIN AHVzZXIAd3Jvbmc=\r\n",
    "AUTH CRAM-MD5\r\n",
    "AUTH\r\n",
    "STLS\r\n",
    /* 0xa0: more whole commands */
    "STAT\r\n",
    "LIST\r\n",
    "UIDL\r\n",
    "RETR 1\r\n",
    "RETR 2\r\n",
    "RETR 5\r\n",
    "TOP 1 0\r\n",
    "TOP 2 3\r\n",
    "TOP 5 100\r\n",
    "DELE 1\r\n",
    "DELE 2\r\n",
    "RSET\r\n",
    "QUIT\r\n",
    "CAPA\r\n",
    "NOOP\r\n",
    "LIST 3\r\n",
    /* 0xb0: arguments */
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
    "0",
    "-1",
    "4294967296",
    "99999999999999999999",
    " 0",
    " 1",
    " 10",
    "  ",
    "\t",
    USER,
    /* 0xc0: line ends and bytes */
    "\r\n",
    "\n",
    "\r",
    " ",
    ".",
    "\xff",
    "\xc3\xa9",
    harness_tok_nul,
    "UIDL 4\r\n",
    "TOP 3 1\r\n",
    "RETR 4\r\n",
    "RETR 3\r\n",
    "LIST 6\r\n",
    "DELE 5\r\n",
    "USER " USER "\r\nPASS " HARNESS_PASSWORD "\r\n",
    harness_tok_long,
};
static const struct harness_tokens dictionary = {
    .words = tokens,
    .nwords = sizeof tokens / sizeof tokens[0],
    .long_prefix = "",
    .long_len = 70000, /* over the default max_line */
};

static const struct harness_layout layout = {
    .prelude = prelude,
    .dictionary = &dictionary,
    .finish = "QUIT\r\n",
    .on_bytes = check_bytes,
};

static void run_session(const uint8_t *data, size_t size)
{
	static struct reply_check rc;
	memset(&rc, 0, sizeof rc);
	bool clean_eof = harness_run_input(&layout, data, size, &rc);
	if (clean_eof && !rc.tls && rc.total)
		bad_reply(&rc, "unterminated");
	if (rc.deleted)
		harness_reset_store();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	harness_setup(&spec);
	run_session(data, size);
	harness_input_done();
	return 0;
}
