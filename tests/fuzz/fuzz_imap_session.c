/* fuzz_imap_session: the whole IMAP server session on arbitrary client
 * bytes.
 *
 * Why this target exists: fuzz_imap_parser and fuzz_imap_search cover the
 * parsers, but the command handlers (FETCH sections and partials, STORE,
 * COPY/MOVE, EXPUNGE, SEARCH (SAVE/$, PARTIAL, UPDATE contexts told by
 * other commands' flushes, CANCELUPDATE), SORT (and its UPDATE contexts,
 * CONTEXT=SORT), THREAD, APPEND literals
 * (MULTIAPPEND, CATENATE, REPLACE), IDLE, ENABLE
 * CONDSTORE/QRESYNC, SELECT with QRESYNC, RENAME/DELETE, STATUS, quotas,
 * COMPRESS) and their sequencing (AGAIN/ASYNC, store commits, pipelined
 * input behind a literal, a close while a job runs) only run in a session.
 * The loop, store, TLS server, listeners, client and watchdog are
 * session_harness.c's, shared with fuzz_smtp_session and
 * fuzz_pop3_session; see session_harness.h.
 *
 * The account: INBOX with the messages of session_mail.h (multipart/mixed
 * with an alternative, a base64 attachment and a message/rfc822 inside;
 * encoded words and folded headers; 8-bit; empty body), some flagged, and
 * a folder "Work" with two. A fresh store every HARNESS_STORE_RESET_EVERY
 * inputs; in between, what inputs did (APPEND, EXPUNGE, RENAME...) stays,
 * which is fine: each input's checks hold in any state.
 *
 * Checked on what the server sends (check_bytes()): every line ends in
 * CRLF with no NUL, CR or LF inside; each response starts with "* "
 * (something after it), "+ " or "+\r\n", or a valid tag followed by " OK",
 * " NO" or " BAD" (BYE only untagged); an untagged data response ending
 * in {n} or ~{n} is followed by exactly n bytes of literal, then the line
 * goes on. After "OK Begin TLS negotiation now" the bytes are TLS (the
 * first must start a record); after "OK DEFLATE active" they are inflated
 * and checked the same way. A violation abort()s.
 *
 * Input layout (struct harness_layout in session_harness.h), as used here:
 *   byte 0  bits 0-2  server variant (see variants[])
 *           bits 3-5  prelude: 0 none, 1 LOGIN, 2 +SELECT INBOX,
 *                     3 +ENABLE QRESYNC, SELECT INBOX (QRESYNC (...)),
 *                     4 +SELECT INBOX, IDLE, 5 AUTHENTICATE PLAIN (SASL-IR)
 *                     +SELECT INBOX, 6 +EXAMINE Work, 7 +ENABLE CONDSTORE,
 *                     SELECT INBOX (CONDSTORE)
 *           bit 6     token mode: bytes 0x80-0xFF of the rest stand for
 *                     the words in tokens[], 0x00-0x7F for themselves
 *           bit 7     shut the server down (conn_shutdown_all(), as on
 *                     SIGTERM after the grace period) part-way through
 *   byte 1  bits 0-6  seed: shutdown point, QRESYNC parameters
 *           bit 7     the store's next COMMIT fails (disk full)
 *   byte 2  bits 0-6  chunking seed (0 = one write)
 *           bit 7     end with "z LOGOUT\r\n" after the client's bytes
 *   rest    the client's bytes, after the prelude.
 *
 * Set TERN_FUZZ_LOG=debug to see tern's log lines when reproducing.
 */
#include "tests/fuzz/session_harness.h"
#include "tests/fuzz/session_mail.h"

#include "mime/spool.h"
#include "store/accounts.h"
#include "store/mail.h"
#include "store/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define USER HARNESS_USER
#define AUTH_PLAIN_B64 "AHVzZXJAZXhhbXBsZS50ZXN0AHB3" /* "\0user@example.test\0pw" */

enum variant_flags {
	V_TLS = 1 << 0,        /* STARTTLS available */
	V_PLAIN_AUTH = 1 << 1, /* LOGIN allowed without TLS from loopback */
	V_SMALL = 1 << 2,      /* smallest max_line and max_literal, few errors */
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

/* INBOX's UIDVALIDITY in the current store (for SELECT ... QRESYNC). */
static uint32_t inbox_uidvalidity;

static int populate(struct store_tx *tx, const char *hash, int64_t account_id)
{
	int64_t inbox, work;
	int rc = store_mailbox_find(store_tx_reader(tx), account_id, "INBOX", &inbox);
	if (rc != 1)
		return rc < 0 ? rc : -ENOENT;
	rc = store_mailbox_create(tx, account_id, "Work", "", &work);
	if (rc == 0)
		rc = store_mailbox_create(tx, account_id, "Entw&APw-rfe", "", NULL);
	if (rc < 0)
		return rc;
	struct {
		int64_t mb;
		const char *msg;
		size_t len;
		uint32_t flags;
	} m[] = {
	    {inbox, fuzz_msg_mixed, sizeof fuzz_msg_mixed - 1, STORE_FLAG_SEEN},
	    {inbox, fuzz_msg_headers, sizeof fuzz_msg_headers - 1, 0},
	    {inbox, fuzz_msg_8bit, sizeof fuzz_msg_8bit - 1, STORE_FLAG_FLAGGED},
	    {inbox, fuzz_msg_empty, sizeof fuzz_msg_empty - 1, STORE_FLAG_DELETED},
	    {inbox, fuzz_msg_work1, sizeof fuzz_msg_work1 - 1, 0},
	    {work, fuzz_msg_work1, sizeof fuzz_msg_work1 - 1, STORE_FLAG_ANSWERED},
	    {work, fuzz_msg_work2, sizeof fuzz_msg_work2 - 1, 0},
	};
	for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
		rc = fuzz_deliver(tx, account_id, m[i].mb, m[i].msg, m[i].len, m[i].flags);
		if (rc < 0)
			return rc;
	}
	struct store_mailbox mb;
	if (store_mailbox_get(store_tx_reader(tx), inbox, &mb) != 1)
		return -EIO;
	inbox_uidvalidity = mb.uidvalidity;
	return 0;
}

static void configure(struct harness_variant *v, size_t i)
{
	unsigned f = variants[i];
	struct config *cfg = &v->cfg;
	cfg->auth.plaintext_loopback = (f & V_PLAIN_AUTH) != 0;
	cfg->imap.max_errors = 1000; /* keep going: the input decides when to stop */
	if (f & V_SMALL) {
		/* The smallest the config allows. */
		cfg->imap.max_line = 1024;
		cfg->imap.max_literal = 1024;
		cfg->imap.max_errors = 5;
		cfg->imap.metadata_max_size = 1024;
		cfg->imap.metadata_max_entries = 10;
		cfg->imap.metadata_max_account_entries = 10;
	}
	if (f & V_BACKPRESSURE)
		v->max_output = 64;
	struct config_listen *lc = &cfg->listen[0];
	lc->protocol = PROTO_IMAP;
	lc->tls = f & V_TLS ? LISTEN_TLS_STARTTLS : LISTEN_TLS_NONE;
}

static const struct harness_spec spec = {
    .name = "imap",
    .nvariants = NVARIANTS,
    .configure = configure,
    .populate = populate,
};

/* ---- the checker ------------------------------------------------------- */

enum rmode { R_START, R_LINE, R_LITERAL };

struct reply_check {
	char line[1 << 20]; /* the current line (a prefix of it when longer) */
	size_t len, total;
	enum rmode mode;
	bool data_resp; /* untagged data response: may carry literals */
	uint64_t literal_left;
	bool tls, tls_seen; /* after the STARTTLS go-ahead */
	bool deflate;       /* after "OK DEFLATE active" */
	z_stream z;
};

static _Noreturn void bad_reply(const struct reply_check *rc, const char *why)
{
	fprintf(stderr, "fuzz_imap_session: bad response (%s): \"", why);
	harness_print_escaped(rc->line, rc->len);
	fprintf(stderr, "\"%s\n", rc->total > rc->len ? " (truncated)" : "");
	abort();
}

static bool tag_char(unsigned char c)
{
	/* ASTRING-CHAR except "+": ATOM-CHAR or "]" */
	return c > 0x20 && c < 0x7f && !strchr("(){%*\"\\+", c);
}

static bool starts(const char *l, size_t len, const char *p)
{
	size_t n = strlen(p);
	return len >= n && memcmp(l, p, n) == 0;
}

static bool ends(const char *l, size_t len, const char *p)
{
	size_t n = strlen(p);
	return len >= n && memcmp(l + len - n, p, n) == 0;
}

/* A whole line (CRLF included) of a response; first: whether it starts
 * the response (not the rest after a literal). */
static void check_line(struct reply_check *rc, bool first)
{
	const char *l = rc->line;
	size_t len = rc->len; /* == total: lines longer than the buffer are not parsed */
	if (rc->total < 2 || l[len - 2] != '\r')
		bad_reply(rc, "bare LF");
	if (memchr(l, '\0', len - 2) || memchr(l, '\r', len - 2))
		bad_reply(rc, "NUL or bare CR");
	if (first) {
		rc->data_resp = false;
		if (starts(l, len, "* ")) {
			if (len == 4)
				bad_reply(rc, "empty untagged response");
			const char *r = l + 2;
			size_t rl = len - 2;
			rc->data_resp =
			    !(starts(r, rl, "OK") || starts(r, rl, "NO") || starts(r, rl, "BAD") ||
			      starts(r, rl, "BYE") || starts(r, rl, "PREAUTH"));
		} else if (starts(l, len, "+ ") || starts(l, len, "+\r\n")) {
			/* continuation request */
		} else {
			size_t t = 0;
			while (t < len && tag_char((unsigned char)l[t]))
				t++;
			if (t == 0)
				bad_reply(rc, "no tag");
			const char *r = l + t;
			size_t rl = len - t;
			if (!(starts(r, rl, " OK ") || starts(r, rl, " OK\r") ||
			      starts(r, rl, " NO ") || starts(r, rl, " NO\r") ||
			      starts(r, rl, " BAD ") || starts(r, rl, " BAD\r")))
				bad_reply(rc, "tagged response without OK, NO or BAD");
			if (ends(l, len, " OK Begin TLS negotiation now\r\n"))
				rc->tls = true;
			if (ends(l, len, " OK DEFLATE active\r\n"))
				rc->deflate = true;
		}
	}
	/* A literal: "{n}" or "~{n}" at the end of a data response's line. */
	rc->mode = R_START;
	if (!rc->data_resp || len < 5 || l[len - 3] != '}')
		return;
	size_t i = len - 3;
	uint64_t n = 0, mul = 1;
	while (i > 0 && l[i - 1] >= '0' && l[i - 1] <= '9' && mul < 10000000000000ull) {
		n += (uint64_t)(l[i - 1] - '0') * mul;
		mul *= 10;
		i--;
	}
	if (i == len - 3 || i == 0 || l[i - 1] != '{')
		return;
	rc->literal_left = n;
	rc->mode = n ? R_LITERAL : R_LINE;
}

static void check_plain(struct reply_check *rc, const char *p, size_t n);

static void inflate_more(struct reply_check *rc, const char *p, size_t n)
{
	static char out[65536];
	rc->z.next_in = (Bytef *)(uintptr_t)p;
	rc->z.avail_in = (uInt)n;
	do {
		rc->z.next_out = (Bytef *)out;
		rc->z.avail_out = sizeof out;
		int zr = inflate(&rc->z, Z_SYNC_FLUSH);
		if (zr != Z_OK && zr != Z_BUF_ERROR && zr != Z_STREAM_END) {
			rc->len = 0;
			bad_reply(rc, "broken DEFLATE stream");
		}
		check_plain(rc, out, sizeof out - rc->z.avail_out);
		if (zr == Z_BUF_ERROR || zr == Z_STREAM_END)
			break;
	} while (rc->z.avail_in > 0 || rc->z.avail_out == 0);
}

static void check_plain(struct reply_check *rc, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (rc->tls) {
			/* Nothing pipelined behind STARTTLS is answered in
			 * plaintext: what follows the go-ahead are TLS
			 * records. */
			if (!rc->tls_seen && (p[i] < 0x14 || p[i] > 0x17)) {
				rc->line[0] = p[i];
				rc->len = 1;
				bad_reply(rc, "plaintext after the STARTTLS go-ahead");
			}
			rc->tls_seen = true;
			return;
		}
		if (rc->deflate && !rc->z.state) {
			if (inflateInit2(&rc->z, -15) != Z_OK)
				harness_die("inflateInit2", "failed");
			inflate_more(rc, p + i, n - i);
			return;
		}
		if (rc->mode == R_LITERAL) {
			size_t k = n - i < rc->literal_left ? n - i : (size_t)rc->literal_left;
			rc->literal_left -= k;
			i += k - 1;
			if (rc->literal_left == 0) {
				rc->mode = R_LINE;
				rc->len = rc->total = 0;
			}
			continue;
		}
		if (rc->len < sizeof rc->line)
			rc->line[rc->len++] = p[i];
		rc->total++;
		if (p[i] != '\n')
			continue;
		if (rc->total > rc->len) {
			/* Too long to keep (a long FETCH line): check its end
			 * only. */
			if (rc->line[rc->len - 1] != '\n')
				rc->line[rc->len - 1] = '\n';
			rc->mode = R_START;
		} else {
			check_line(rc, rc->mode == R_START);
		}
		rc->len = rc->total = 0;
	}
}

static void check_bytes(void *ud, const char *p, size_t n)
{
	struct reply_check *rc = ud;
	if (rc->deflate && rc->z.state)
		inflate_more(rc, p, n);
	else
		check_plain(rc, p, n);
}

/* ---- the client -------------------------------------------------------- */

static size_t prelude(char *out, size_t cap, unsigned depth, unsigned seed)
{
	char line[256];
	size_t n = 0;
	if (depth == 0)
		return 0;
	if (depth == 5)
		n = harness_add(out, cap, n, "p1 AUTHENTICATE PLAIN " AUTH_PLAIN_B64 "\r\n");
	else
		n = harness_add(out, cap, n, "p1 LOGIN " USER " pw\r\n");
	switch (depth) {
	case 2:
	case 5:
		n = harness_add(out, cap, n, "p2 SELECT INBOX\r\n");
		break;
	case 3:
		/* Right or wrong UIDVALIDITY, a modseq from the seed, known
		 * UIDs and a sequence match. */
		snprintf(line, sizeof line,
		         "p2 ENABLE QRESYNC\r\np3 SELECT INBOX (QRESYNC (%u %u%s))\r\n",
		         inbox_uidvalidity + (seed & 1), 1 + (seed >> 1) % 8,
		         seed & 2 ? " 1:20 (1,3,5 1,3,5)" : (seed & 4 ? " 2:4" : ""));
		n = harness_add(out, cap, n, line);
		break;
	case 4:
		n = harness_add(out, cap, n, "p2 SELECT INBOX\r\np3 IDLE\r\n");
		break;
	case 6:
		n = harness_add(out, cap, n, "p2 EXAMINE Work\r\n");
		break;
	case 7:
		n = harness_add(out, cap, n,
		                "p2 ENABLE CONDSTORE\r\np3 SELECT INBOX (CONDSTORE)\r\n");
		break;
	}
	return n;
}

/* Token mode's words: tags and commands, whole commands that reach the
 * deep paths, FETCH items and sections, search keys, flags, sequence
 * sets, mailbox names (modified UTF-7 too), literals. Two are not C
 * strings: a NUL byte, and a line over the default max_line. */

static const char *const tokens[] = {
    /* 0x80: tags and commands */
    "a ",
    "\r\n",
    "UID ",
    "FETCH ",
    "STORE ",
    "SEARCH ",
    "COPY ",
    "MOVE ",
    "EXPUNGE",
    "SELECT ",
    "EXAMINE ",
    "STATUS ",
    "APPEND ",
    "IDLE\r\n",
    "DONE\r\n",
    "NOOP",
    /* 0x90 */
    "CREATE ",
    "DELETE ",
    "RENAME ",
    /* CONTEXT=SORT: contexts told by own STORE/APPEND/MOVE flushes, tag
     * reuse, CANCELUPDATE (SUBSCRIBE, which this replaced, is plain bytes) */
    "a UID SORT RETURN (UPDATE PARTIAL 1:2) (REVERSE ARRIVAL SUBJECT) UTF-8 UNSEEN\r\n"
    "a SORT RETURN (UPDATE MIN) (DATE) UTF-8 OR FLAGGED NOT SEEN\r\n"
    "b SORT RETURN (UPDATE COUNT) (REVERSE SIZE FROM) UTF-8 UNSEEN\r\n"
    "c STORE 1:3 -FLAGS (\\Seen)\r\nc STORE 2 +FLAGS (\\Seen)\r\nc UID MOVE 1 Work\r\n"
    "c APPEND INBOX {21+}\r\nSubject: a\r\n\r\nhello\r\nc CANCELUPDATE \"a\"\r\n"
    "c SORT RETURN (UPDATE) (CC) UTF-8 ",
    "LIST ",
    "SORT (REVERSE SUBJECT DISPLAYFROM DATE) UTF-8 ",
    "RETURN (PARTIAL -1:-2 SAVE) ",
    "ENABLE ",
    /* CATENATE, then a REPLACE for what follows */
    "a APPEND INBOX CATENATE (URL \"/INBOX/;UID=1/;SECTION=1.MIME\" TEXT {2+}\r\nhi "
    "URL \"/INBOX;UIDVALIDITY=1/;UID=2/;PARTIAL=3.9\")\r\na REPLACE 1 INBOX ",
    "THREAD REFERENCES UTF-8 ",
    /* ACL (read-only) and CREATE (USE ...) (RFC 4314, 6154), quotas,
     * METADATA and NOTIFY (RFC 5465) */
    "MYRIGHTS INBOX\r\na GETACL Work\r\na LISTRIGHTS INBOX x\r\na SETACL Work x +lr\r\n"
    "a DELETEACL Work x\r\na CREATE Spam (USE (\\Junk \\All))\r\na CREATE S2 (USE ())\r\n"
    "a GETQUOTAROOT INBOX\r\na GETMETADATA (DEPTH infinity MAXSIZE 5) \"\" (/shared "
    "/private/vendor/x/y)\r\na SETMETADATA INBOX (/private/comment x)\r\n"
    "a NOTIFY SET STATUS (selected-delayed (MessageNew MessageExpunge FlagChange)) "
    "(subtree (Work INBOX) (MailboxName SubscriptionChange MessageNew MessageExpunge)) "
    "(personal (ServerMetadataChange Foo))\r\na NOTIFY SET (inboxes NONE)\r\n"
    "a NOTIFY NONE\r\na SETMETADATA INBOX (/private/comment ",
    "CANCELUPDATE \"a\"\r\na UNSELECT",
    "UNAUTHENTICATE",
    "RETURN (UPDATE COUNT) ",
    "(UID) (PARTIAL 1:2)",
    "LOGOUT",
    /* 0xa0: login and session */
    "a LOGIN " USER " pw\r\n",
    "a LOGIN " USER " wrong\r\n",
    "a AUTHENTICATE PLAIN " AUTH_PLAIN_B64 "\r\n",
    "a AUTHENTICATE PLAIN\r\n",
    AUTH_PLAIN_B64 "\r\n",
    "a AUTHENTICATE LOGIN\r\n",
    "*\r\n",
    "a STARTTLS\r\n",
    "a COMPRESS DEFLATE\r\n",
    "a ID (\"name\" \"fuzz\" \"version\" NIL)\r\n",
    "CONDSTORE",
    "QRESYNC",
    "UTF8=ACCEPT",
    "a SELECT INBOX\r\n",
    "a SELECT Work (CONDSTORE)\r\n",
    "a ENABLE QRESYNC\r\n",
    /* 0xb0: sequence sets and mailboxes */
    "1",
    "1:*",
    "*",
    "$",
    "2,4:5",
    "3:1,*",
    "4294967295",
    "0",
    "INBOX",
    "Work",
    "\"Entw&APw-rfe\"",
    "Entw&APw-rfe/Sub",
    "&AGE-",
    "\"a\\\"b\"",
    "NIL",
    "\"\"",
    /* 0xc0: FETCH items */
    "(FLAGS UID)",
    "BODY.PEEK[1.2.MIME]<0.10>",
    "BINARY[]",
    "BINARY.PEEK[2]",
    "BINARY.SIZE[1.1]",
    "BODYSTRUCTURE",
    "ENVELOPE",
    "BODY[HEADER.FIELDS (Subject From)]",
    "BODY.PEEK[HEADER.FIELDS.NOT (To Date)]",
    "BODY[TEXT]<5.20>",
    "BODY.PEEK[3.1]",
    "BODY[3.HEADER]",
    "(RFC822.SIZE INTERNALDATE RFC822.HEADER BODY EMAILID THREADID SAVEDATE PREVIEW (LAZY))",
    "FULL",
    "(MODSEQ) (CHANGEDSINCE 1)",
    "(FLAGS) (CHANGEDSINCE 1 VANISHED)",
    /* 0xd0: search keys */
    "ALL",
    "SEEN",
    "UNSEEN DELETED",
    "OR FLAGGED NEW",
    "NOT ",
    "SUBJECT caf\xc3\xa9",
    "FROM \"j\xc3\xbcrgen\"",
    "BODY hello",
    "TEXT world",
    "HEADER Content-Type multipart",
    "SINCE 1-Jan-2020 BEFORE 1-Feb-2030 YOUNGER 99999 OLDER 1",
    "LARGER 100 SMALLER 10000",
    "MODSEQ 1",
    "CHARSET UTF-8 ",
    "RETURN (MIN MAX COUNT ALL SAVE) ",
    "(OR KEYWORD $Fuzz SENTON 1-Jan-2024 SAVEDON 1-Jan-2024 EMAILID M1 THREADID T2)",
    /* 0xe0: flags, STORE, STATUS, LIST */
    "+FLAGS (\\Seen)",
    "-FLAGS.SILENT (\\Deleted)",
    "FLAGS (\\Deleted \\Flagged $Fuzz)",
    "(UNCHANGEDSINCE 1) ",
    "\\Seen",
    "\\Deleted",
    "(\\Answered \\Draft) ",
    "\"1-Jan-2024 00:00:00 +0000\" ",
    "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE HIGHESTMODSEQ RECENT MAILBOXID)",
    "\"\" \"*\"",
    "\"\" %",
    "(SPECIAL-USE) \"\" *",
    "\"\" * RETURN (CHILDREN MYRIGHTS STATUS (MESSAGES UNSEEN MAILBOXID))",
    "(QRESYNC (1 1 1:5 (1:3 1:3)))",
    "a UID FETCH 1:* (BODY.PEEK[] BINARY.PEEK[1.1] BODYSTRUCTURE ENVELOPE)\r\n",
    "a FETCH 1:* (BODY[1.2] BINARY[2] BINARY[3.2] BODY[3.TEXT]<0.7> UID)\r\n",
    /* 0xf0: literals and line pieces */
    "{5}\r\n",
    "{5+}\r\n",
    "{0}\r\n",
    "~{5}\r\n",
    "{99999999999}\r\n",
    "{21+}\r\nSubject: a\r\n\r\nhello\r\n",
    "hello",
    " ",
    "(",
    ")",
    "\"",
    "\n",
    "a UID STORE 1:* +FLAGS (\\Deleted)\r\na UID EXPUNGE 2:3\r\n",
    "a APPEND INBOX (\\Seen) \"1-Jan-2024 00:00:00 +0000\" {21+}\r\nSubject: a\r\n\r\nhello\r\n",
    harness_tok_nul,
    harness_tok_long,
};
_Static_assert(sizeof tokens / sizeof tokens[0] == 128, "one token per byte 0x80-0xff");

static const struct harness_tokens dictionary = {
    .words = tokens,
    .nwords = sizeof tokens / sizeof tokens[0],
    .long_prefix = "a ", /* a tag: the BAD names it */
    .long_len = 70000,   /* over the default max_line (65536) */
};

static const struct harness_layout layout = {
    .prelude = prelude,
    .dictionary = &dictionary,
    .finish = "z LOGOUT\r\n",
    .on_bytes = check_bytes,
};

static void run_session(const uint8_t *data, size_t size)
{
	static struct reply_check rc;
	memset(&rc, 0, sizeof rc);
	bool clean_eof = harness_run_input(&layout, data, size, &rc);
	if (clean_eof && !rc.tls && (rc.len || rc.total || rc.mode == R_LITERAL))
		bad_reply(&rc, "unterminated");
	if (rc.z.state)
		inflateEnd(&rc.z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	harness_setup(&spec);
	/* A literal over 64 KiB draws from the spool budget; a small budget
	 * makes the refusal reachable ("{2000000}" gets NO [UNAVAILABLE]). */
	mime_spool_set_budget(1 << 20);
	run_session(data, size);
	/* Every command is gone with its session: so is its share. */
	if (mime_spool_in_use() != 0) {
		fprintf(stderr, "spool budget: %zu bytes still held after the session\n",
		        mime_spool_in_use());
		abort();
	}
	harness_input_done();
	return 0;
}
