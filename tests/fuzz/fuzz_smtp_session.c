/* fuzz_smtp_session: the whole SMTP server session on arbitrary client bytes.
 *
 * Why this target exists: fuzz_smtp_address covers the pure parsers, but
 * SMTP servers break in their sequencing: a reply owed after an
 * asynchronous step, a mode switch (DATA, BDAT, BURL, STARTTLS) in the middle of
 * pipelined input, a session that closes while a store job or a password
 * check is still running. So this target runs the real thing: conn,
 * framing, the session state machine, SASL, the store writer thread and
 * the auth thread pool, on one libuv loop, exactly as `tern serve` wires
 * them, with no entry point added to tern.
 *
 * The loop, store, TLS server, listeners, client and watchdog are
 * session_harness.c's (shared with fuzz_imap_session and
 * fuzz_pop3_session). Set up once (first input): a store with a domain, an
 * account with a cheap sha512-crypt hash, aliases (local, forwarding,
 * looping, catch-all) and a disabled account, and one listening socket on
 * 127.0.0.1:0 per server variant (config, protocol), handing connections
 * to smtp_session_start.
 *
 * Per input: a TCP loopback client connects, writes a prelude (chosen by
 * the header) and the fuzz bytes in chunks whose sizes come from the
 * input, pumping the loop between chunks so the server sees the packet
 * boundaries, then half-closes. Replies are read and must be well-formed
 * SMTP reply lines (check_replies()). The input is done when the server
 * has closed, the conn is freed, and no handle or request of the session
 * is left on the loop; a session that does not finish within
 * HARNESS_WATCHDOG_MS of wall time is a hang: abort() so libFuzzer keeps
 * the input. ASan/UBSan/LSan do the rest.
 *
 * Input layout:
 *   byte 0  bits 0-2  server variant (see variants[])
 *           bits 3-5  prelude depth: 0 none, 1 EHLO, 2 +MAIL, 3 +RCPT,
 *                     4 +DATA, 5 +BDAT n, 6 +BDAT n LAST,
 *                     7 HELO/MAIL/RCPT/DATA with bare LF line ends
 *           bit 6     AUTH (PLAIN with initial response, PLAIN after a
 *                     334, or LOGIN) with the right password after EHLO
 *           bit 7     shut the server down (conn_shutdown_all(), as on
 *                     SIGTERM after the grace period) part-way through
 *   byte 1  bits 0-6  seed: BDAT size, AUTH mechanism, shutdown point
 *           bit 7     token mode: bytes 0x80-0xFF of the rest stand for
 *                     the words in tokens[] (commands, parameters, known
 *                     addresses, header lines, base64, an over-long line),
 *                     bytes 0x00-0x7F for themselves. This is the
 *                     dictionary that CI's short runs (no -dict, no
 *                     corpus) lack.
 *   byte 2  bits 0-6  chunking seed (0 = one write)
 *           bit 7     the store's next COMMIT fails (disk full): the 451
 *                     after DATA or BDAT LAST
 *   rest    the client's bytes, after the prelude.
 *
 * Set TERN_FUZZ_LOG=debug to see tern's log lines when reproducing.
 */
#include "tests/fuzz/session_harness.h"

#include "store/accounts.h"
#include "store/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DOMAIN HARNESS_DOMAIN
#define USER HARNESS_USER

enum variant_flags {
	V_SUBMISSION = 1 << 0,
	V_TLS = 1 << 1,          /* STARTTLS available */
	V_PLAIN_AUTH = 1 << 2,   /* AUTH allowed without TLS from loopback */
	V_NORMALIZE = 1 << 3,    /* bare_newline = normalize */
	V_VRFY = 1 << 4,         /* [smtp] vrfy = true */
	V_SMALL = 1 << 5,        /* small limits: line, message, recipients, errors, output */
	V_EARLY_TALKER = 1 << 6, /* greeting delay: the client always talks first */
};

static const unsigned variants[8] = {
    V_TLS | V_PLAIN_AUTH,
    V_SUBMISSION | V_TLS | V_PLAIN_AUTH | V_NORMALIZE | V_VRFY,
    V_TLS | V_NORMALIZE | V_VRFY | V_SMALL,
    V_SUBMISSION | V_PLAIN_AUTH | V_SMALL,
    V_TLS | V_PLAIN_AUTH | V_NORMALIZE | V_VRFY,
    V_EARLY_TALKER | V_TLS,
    V_PLAIN_AUTH | V_VRFY,
    V_SUBMISSION | V_TLS | V_PLAIN_AUTH,
};
#define NVARIANTS (sizeof variants / sizeof variants[0])

static int populate(struct store_tx *tx, const char *hash, int64_t account_id)
{
	int rc = 0;
	rc |= store_domain_add(tx, "catch.test");
	rc |= store_account_add(tx, "off@" DOMAIN, hash, NULL);
	rc |= store_account_set_disabled(tx, "off@" DOMAIN, 1);
	rc |= store_alias_add(tx, "alias@" DOMAIN, USER);
	rc |= store_alias_add(tx, "fwd@" DOMAIN, "someone@remote.test");
	rc |= store_alias_add(tx, "loop1@" DOMAIN, "loop2@" DOMAIN);
	rc |= store_alias_add(tx, "loop2@" DOMAIN, "loop1@" DOMAIN);
	rc |= store_alias_add(tx, "@catch.test", USER);
	return rc ? -EIO : 0;
}

static void configure(struct harness_variant *v, size_t i)
{
	unsigned f = variants[i];
	struct config *cfg = &v->cfg;
	cfg->auth.plaintext_loopback = (f & V_PLAIN_AUTH) != 0;
	cfg->smtp.bare_newline =
	    f & V_NORMALIZE ? SMTP_BARE_NEWLINE_NORMALIZE : SMTP_BARE_NEWLINE_REJECT;
	cfg->smtp.vrfy_enabled = (f & V_VRFY) != 0;
	cfg->smtp.greet_delay_ms = f & V_EARLY_TALKER ? 1000 : 0;
	cfg->smtp.max_errors = 1000; /* keep going: the input decides when to stop */
	cfg->smtp.max_message_size = 4096;
	if (f & V_SMALL) {
		cfg->smtp.max_line = 512;
		cfg->smtp.max_message_size = 1024;
		cfg->smtp.max_recipients = 2;
		cfg->smtp.max_errors = 10;
		/* Below any config bound: a reply or two fills the output
		 * queue until its write completes, so pipelined input runs
		 * into backpressure (stop, drained, resume) all the time. */
		v->max_output = 64;
	}
	struct config_listen *lc = &cfg->listen[0];
	lc->protocol = f & V_SUBMISSION ? PROTO_SUBMISSION : PROTO_SMTP;
	lc->tls = f & V_TLS ? LISTEN_TLS_STARTTLS : LISTEN_TLS_NONE;
}

static const struct harness_spec spec = {
    .name = "smtp",
    .nvariants = NVARIANTS,
    .configure = configure,
    .populate = populate,
};

/* What the client hears must be SMTP replies whatever it sent: lines of
 * "ddd", "ddd text" or "ddd-text" ending in CRLF, at most 512 octets
 * (RFC 5321 4.5.3.1.5), no bare CR, LF or NUL. Client bytes echoed into a
 * reply unescaped would show up here. After the second 220 (the STARTTLS
 * go-ahead; the first is the greeting) the bytes are TLS: the first one
 * must start a TLS record. */
struct reply_check {
	char line[520];
	size_t len;
	int n220;
	bool tls, tls_seen;
};

static void bad_reply(const struct reply_check *rc, const char *why)
{
	fprintf(stderr, "fuzz_smtp_session: bad reply line (%s): \"", why);
	harness_print_escaped(rc->line, rc->len);
	fprintf(stderr, "\"\n");
	abort();
}

static void check_replies(void *ud, const char *p, size_t n)
{
	struct reply_check *rc = ud;
	for (size_t i = 0; i < n && !rc->tls_seen; i++) {
		if (rc->tls) {
			/* CVE-2011-0411: nothing pipelined behind STARTTLS
			 * is answered in plaintext; what follows the
			 * go-ahead are TLS records (an alert). */
			if (p[i] < 0x14 || p[i] > 0x17) {
				rc->line[0] = p[i];
				rc->len = 1;
				bad_reply(rc, "plaintext after the STARTTLS go-ahead");
			}
			rc->tls_seen = true;
			return;
		}
		if (rc->len == sizeof rc->line)
			bad_reply(rc, "longer than 512 octets");
		rc->line[rc->len++] = p[i];
		if (p[i] != '\n')
			continue;
		const char *l = rc->line;
		size_t len = rc->len;
		if (len < 5 || l[len - 2] != '\r')
			bad_reply(rc, "bare LF or short line");
		if (len > 512)
			bad_reply(rc, "longer than 512 octets");
		for (size_t k = 0; k < 3; k++)
			if (l[k] < '0' || l[k] > '9')
				bad_reply(rc, "no code");
		if (len > 5 && l[3] != ' ' && l[3] != '-')
			bad_reply(rc, "no separator");
		if (memchr(l, '\0', len) || memchr(l, '\r', len - 2))
			bad_reply(rc, "NUL or bare CR");
		if (memcmp(l, "220 ", 4) == 0 && ++rc->n220 == 2)
			rc->tls = true;
		rc->len = 0;
	}
}

#define AUTH_PLAIN_B64 "AHVzZXJAZXhhbXBsZS50ZXN0AHB3" /* "\0user@example.test\0pw" */
#define USER_B64 "dXNlckBleGFtcGxlLnRlc3Q="
#define PASSWORD_B64 "cHc="

/* The commands that take the session to the state the header asks for, so
 * that a few seconds of fuzzing already explore DATA, BDAT and AUTH. */
static size_t prelude(char *out, size_t cap, unsigned depth, bool auth, unsigned seed)
{
	const char *nl = depth == 7 ? "\n" : "\r\n";
	char line[64];
	size_t n = 0;

	if (depth == 0 && !auth)
		return 0;
	n = harness_add(out, cap, n, depth == 7 ? "HELO fuzz.test" : "EHLO fuzz.test");
	n = harness_add(out, cap, n, nl);
	if (auth) {
		switch (seed % 3) {
		case 0:
			n = harness_add(out, cap, n, "AUTH PLAIN " AUTH_PLAIN_B64);
			break;
		case 1:
			n = harness_add(out, cap, n, "AUTH PLAIN");
			n = harness_add(out, cap, n, nl);
			n = harness_add(out, cap, n, AUTH_PLAIN_B64);
			break;
		default:
			n = harness_add(out, cap, n, "AUTH LOGIN " USER_B64);
			n = harness_add(out, cap, n, nl);
			n = harness_add(out, cap, n, PASSWORD_B64);
			break;
		}
		n = harness_add(out, cap, n, nl);
	}
	if (depth >= 2) {
		n = harness_add(out, cap, n, depth == 7 ? "MAIL FROM:<>" : "MAIL FROM:<" USER ">");
		n = harness_add(out, cap, n, nl);
	}
	if (depth >= 3) {
		n = harness_add(out, cap, n,
		                depth == 7 ? "RCPT TO:<alias@" DOMAIN ">" : "RCPT TO:<" USER ">");
		n = harness_add(out, cap, n, nl);
	}
	if (depth == 4 || depth == 7) {
		n = harness_add(out, cap, n, "DATA");
		n = harness_add(out, cap, n, nl);
	} else if (depth == 5 || depth == 6) {
		snprintf(line, sizeof line, "BDAT %u%s\r\n", seed % 48, depth == 6 ? " LAST" : "");
		n = harness_add(out, cap, n, line);
	}
	return n;
}

/* Token mode's words: what a client says, whole commands and pieces of
 * them, and what reaches the deep paths: the addresses the store knows
 * (account, alias, forward, loop, catch-all, +tag, disabled, unknown),
 * every MAIL/RCPT parameter, the header lines the submission checks read,
 * valid and broken SASL responses, chunk sizes that match the long line.
 * Two words are not C strings: a NUL byte, and a 5000-byte line. */

static const char *const tokens[] = {
    /* 0x80: verbs and pieces */
    "EHLO fuzz.test\r\n",
    "HELO fuzz.test\r\n",
    "MAIL FROM:<",
    "RCPT TO:<",
    ">\r\n",
    "DATA\r\n",
    "BDAT ",
    " LAST\r\n",
    "\r\n.\r\n",
    "RSET\r\n",
    "NOOP\r\n",
    "QUIT\r\n",
    "VRFY ",
    "EXPN ",
    "HELP\r\n",
    "STARTTLS\r\n",
    /* 0x90: SASL */
    "AUTH PLAIN ",
    "AUTH LOGIN ",
    "AUTH PLAIN\r\n",
    "AUTH LOGIN\r\n",
    AUTH_PLAIN_B64,
    USER_B64,
    PASSWORD_B64,
    "AHVzZXIAd3Jvbmc=", /* "\0user\0wrong" */
    "*\r\n",
    "=\r\n",
    "AUTH PLAIN " AUTH_PLAIN_B64 "\r\n",
    "AUTH LOGIN\r\n" USER_B64 "\r\n" PASSWORD_B64 "\r\n",
    /* authzid other than the user */
    "AUTH PLAIN b3RoZXJAZXhhbXBsZS50ZXN0AHVzZXJAZXhhbXBsZS50ZXN0AHB3\r\n",
    "AUTH PLAIN AG5vYm9keUBleGFtcGxlLnRlc3QAcHc=\r\n", /* unknown user */
    "AUTH PLAIN AG9mZkBleGFtcGxlLnRlc3QAcHc=\r\n",     /* disabled account */
    "AUTH CRAM-MD5\r\n",
    /* 0xa0: addresses */
    USER,
    "alias@" DOMAIN,
    "fwd@" DOMAIN,
    "loop1@" DOMAIN,
    "off@" DOMAIN,
    "nobody@" DOMAIN,
    "x@catch.test",
    "user+Sent@" DOMAIN,
    "someone@remote.test",
    "Postmaster",
    "<>",
    "\"quoted local\"@" DOMAIN,
    "@relay.test,@b.test:",
    "[127.0.0.1]",
    "\xc3\xa9",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 65 */
    /* 0xb0: parameters */
    " SIZE=",
    " BODY=8BITMIME",
    " BODY=BINARYMIME",
    " SMTPUTF8",
    " RET=HDRS",
    " ENVID=x+2Bid",
    " AUTH=<>",
    " NOTIFY=SUCCESS,FAILURE,DELAY",
    " NOTIFY=NEVER",
    " ORCPT=rfc822;x+40y",
    " FOO=bar",
    " RET=FULL",
    "4294967296",
    "18446744073709551616",
    "1024",
    "0",
    /* 0xc0: whole MAIL and RCPT commands */
    "MAIL FROM:<" USER ">\r\n",
    "MAIL FROM:<>\r\n",
    "MAIL FROM:<someone@remote.test> BODY=8BITMIME RET=FULL ENVID=e1\r\n",
    "MAIL FROM:<someone@remote.test> SIZE=100000000\r\n",
    "MAIL FROM:<\xc3\xa9@remote.test> SMTPUTF8\r\n",
    "MAIL FROM:<alias@" DOMAIN "> AUTH=<" USER ">\r\n",
    "RCPT TO:<" USER ">\r\n",
    "RCPT TO:<alias@" DOMAIN ">\r\n",
    "RCPT TO:<fwd@" DOMAIN "> NOTIFY=SUCCESS ORCPT=rfc822;fwd@" DOMAIN "\r\n",
    "RCPT TO:<loop1@" DOMAIN ">\r\n",
    "RCPT TO:<nobody@" DOMAIN ">\r\n",
    "RCPT TO:<someone@remote.test> NOTIFY=FAILURE,DELAY\r\n",
    "RCPT TO:<x@catch.test>\r\n",
    "RCPT TO:<user+Sent@" DOMAIN ">\r\n",
    "RCPT TO:<Postmaster>\r\n",
    "RCPT TO:<off@" DOMAIN ">\r\n",
    /* 0xd0: more commands */
    "RCPT TO:<\xc3\xa9@" DOMAIN ">\r\n",
    "RCPT TO:<" USER "> FOO=bar\r\n",
    "VRFY user\r\n",
    "VRFY <alias@" DOMAIN ">\r\n",
    "BDAT 5000\r\n", /* the long line's length */
    "BDAT 0 LAST\r\n",
    "BDAT 3\r\nabc",
    "BDAT 99999999999999999999\r\n",
    "EHLO [127.0.0.1]\r\n",
    "HELO\r\n",
    "BURL imap://user%40" DOMAIN "@localhost/INBOX;uidvalidity=1/;uid=1/;section=1;urlauth="
    "submit+user%40" DOMAIN ":internal:0123456789abcdef0123456789abcdef01234567 LAST\r\n",
    "BURL ",
    "GET / HTTP/1.1\r\n",
    "\r\n.\r\nQUIT\r\n",
    "DATA\r\nFrom: " USER "\r\nSubject: x\r\n\r\nbody\r\n.\r\n",
    "DATA\r\nFrom: a@b.test, c@d.test\r\n\r\nx\r\n.\r\n",
    /* 0xe0: header lines */
    "From: " USER "\r\n",
    "From: Someone <someone@remote.test>\r\n",
    "From: \"Name, with comma\" <alias@" DOMAIN "> (comment)\r\n",
    "From: group: " USER ";\r\n",
    "From: undisclosed:;\r\n",
    "Subject: fuzz\r\nMessage-ID: <x@y>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n",
    "Received: from x by y; Mon, 1 Jan 2024 00:00:00 +0000\r\n",
    "Content-Type: text/plain; charset=utf-8\r\n",
    " \tfolded continuation\r\n",
    "To: " USER "\r\n",
    "no colon header line\r\n",
    "\xe2\x82\xac",
    "\xff",
    "\x80",
    "\t",
    " ",
    /* 0xf0: line ends and dots */
    "\r\n",
    "\n",
    "\r",
    ".\r\n",
    "..",
    harness_tok_nul,
    "\r\n\r\n",
    "\n.\n",
    "\r.\r",
    "\n.\r\n",
    "\r\n.\n",
    ":",
    "<",
    ">",
    "@",
    harness_tok_long,
};
_Static_assert(sizeof tokens / sizeof tokens[0] == 128, "one token per byte 0x80-0xff");
static const struct harness_tokens dictionary = {
    .words = tokens,
    .nwords = 128,
    .long_prefix = "",
    .long_len = 5000, /* over max_line and max_message_size */
};

static void run_session(const uint8_t *data, size_t size)
{
	struct harness_variant *v = harness_variant(data[0] & 7);
	unsigned depth = (data[0] >> 3) & 7;
	bool auth = (data[0] & 0x40) != 0;
	bool stop = (data[0] & 0x80) != 0;
	unsigned seed = data[1] & 0x7f;
	bool token_mode = (data[1] & 0x80) != 0;
	unsigned chunk_seed = data[2] & 0x7f;
	bool fail_commit = (data[2] & 0x80) != 0;

	static char stream[1 << 20];
	size_t len = prelude(stream, sizeof stream, depth, auth, seed);
	len = harness_add_input(stream, sizeof stream, len, data + 3, size - 3,
	                        token_mode ? &dictionary : NULL);

	struct reply_check rc = {.len = 0};
	struct harness_session hs = {
	    .stream = stream,
	    .len = len,
	    .chunk_seed = chunk_seed,
	    .stop = stop,
	    .stop_at = stop ? (seed * 131u) % (len + 1) : SIZE_MAX,
	    .fail_commit = fail_commit,
	    /* A client that authenticates has an address of its own, so the
	     * failures of fuzzed AUTH commands never throttle it. */
	    .from_ip = auth ? "127.0.0.2" : "127.0.0.1",
	    .on_bytes = check_replies,
	    .ud = &rc,
	};
	bool clean_eof = harness_run(v, &hs);
	if (rc.len && !rc.tls && clean_eof)
		bad_reply(&rc, "unterminated");
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
