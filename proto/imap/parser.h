/* parser: the incremental IMAP command parser (RFC 9051 §9 "command",
 * RFC 7888 LITERAL+, RFC 3516 literal8).
 *
 * Byte-driven and resumable: feed it any split of the input (one byte at a
 * time, a whole line, a literal in pieces) and it reports events. The
 * server feeds it lines from conn (with the CRLF put back) and literal
 * blocks from conn_read_block(); the unit test and the fuzzer feed raw
 * bytes. Both drive exactly the same state machine.
 *
 * Events (imap_parser_feed stops after each, returning how much it used):
 *   IMAP_PARSE_MORE     everything given was consumed, nothing to report.
 *   IMAP_PARSE_LITERAL  a literal header "{n}" "{n+}" "~{n}" ended its line
 *                       and passed the size checks. The next n bytes are
 *                       literal data. If imap_parser_literal_sync(), the
 *                       caller must send "+ ..." first (only now: the size
 *                       was checked). If imap_parser_literal_skip(), the
 *                       literal belongs to a command already rejected (a
 *                       non-synchronising literal the client sends anyway):
 *                       read and discard it, send nothing.
 *   IMAP_PARSE_COMMAND  a complete command: take it with imap_parser_take().
 *   IMAP_PARSE_ERROR    the current command is bad. imap_parser_error() says
 *                       why, imap_parser_tag() is its tag (or NULL if it was
 *                       not read yet), imap_parser_error_code() a response
 *                       code ("TOOBIG") or NULL. The parser then discards
 *                       input to the end of the line (and a trailing
 *                       non-synchronising literal, see LITERAL above) and
 *                       starts over with the next command.
 *   IMAP_PARSE_REFUSED  a literal of the command did not fit the spool budget
 *                       (charge_literals below), and the command is over:
 *                       answer it with a NO (imap_parser_tag() is its tag;
 *                       imap_parser_error_code() is "UNAVAILABLE"). For a
 *                       synchronising literal this comes at once, in place
 *                       of the LITERAL event (send no "+": the client sends
 *                       nothing more of the command). For a
 *                       non-synchronising one, LITERAL comes first with
 *                       imap_parser_literal_skip() true, the client's bytes
 *                       and the rest of its command are read and dropped,
 *                       and REFUSED comes at the command's end. Nothing of
 *                       the command is kept.
 *
 * Bounds: token length (quoted/atom), literal size, total literal bytes per
 * command, argument count (all levels), list depth. Memory held is
 * O(max_token + total literal), all in the command's arena; with
 * charge_literals, every literal over IMAP_LITERAL_UNCHARGED bytes holds
 * its size of the process's spool budget (mime/spool.h) until the command
 * is freed (imap_cmd_free) or dropped.
 */
#ifndef TERN_IMAP_PARSER_H
#define TERN_IMAP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct imap_cmd;
struct imap_parser;

enum imap_parse_event {
	IMAP_PARSE_MORE = 0,
	IMAP_PARSE_LITERAL,
	IMAP_PARSE_COMMAND,
	IMAP_PARSE_ERROR,
	IMAP_PARSE_REFUSED,
};

/* Literals up to this size cost no more than a line: they are not charged
 * to the spool budget. */
#define IMAP_LITERAL_UNCHARGED 65536

struct imap_parser_limits {
	uint64_t max_literal;       /* one literal */
	uint64_t max_total_literal; /* all literals of one command */
	size_t max_token;           /* atom / quoted string / tag bytes */
	size_t max_args;            /* arguments at all levels */
	unsigned max_depth;         /* nested parentheses */
	bool charge_literals;       /* big literals draw from the spool budget */
};

/* Limits for a session before authentication, and after. */
void imap_parser_limits_preauth(struct imap_parser_limits *l);
void imap_parser_limits_auth(struct imap_parser_limits *l, uint64_t max_literal, size_t max_line);

struct imap_parser *imap_parser_new(const struct imap_parser_limits *l);
void imap_parser_free(struct imap_parser **p);
/* Applies from the next literal/token on. */
void imap_parser_set_limits(struct imap_parser *p, const struct imap_parser_limits *l);

/* Consume up to len bytes; stops early after an event. Returns the bytes
 * used (all of them when *ev is IMAP_PARSE_MORE). */
size_t imap_parser_feed(struct imap_parser *p, const void *data, size_t len,
                        enum imap_parse_event *ev);

/* After IMAP_PARSE_COMMAND: the command (caller owns it; free with
 * imap_cmd_free). */
struct imap_cmd *imap_parser_take(struct imap_parser *p);
void imap_cmd_free(struct imap_cmd **cmd);

const char *imap_parser_error(const struct imap_parser *p);
const char *imap_parser_error_code(const struct imap_parser *p);
const char *imap_parser_tag(const struct imap_parser *p);

uint64_t imap_parser_literal_len(const struct imap_parser *p);
bool imap_parser_literal_sync(const struct imap_parser *p);
bool imap_parser_literal_skip(const struct imap_parser *p);
/* Inside literal data (the caller should be reading a block). */
bool imap_parser_in_literal(const struct imap_parser *p);

/* Forget the command in progress (the line was too long: the caller
 * already replied). Next input starts a new command. If the abandoned line
 * ended in a non-synchronising literal the caller cannot know it; that is
 * the price of a line over the limit. */
void imap_parser_reset(struct imap_parser *p);
/* True between commands (nothing of a command read yet). */
bool imap_parser_at_start(const struct imap_parser *p);

/* ---- character classes (RFC 9051 §9) ----
 * The one set the parser reads with and the session writes with. */

/* ATOM-CHAR: any CHAR except atom-specials, i.e. "(" ")" "{" SP CTL,
 * list-wildcards "%" "*", quoted-specials '"' "\" and resp-specials "]". */
static inline bool imap_is_atom_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return false;
	switch (c) {
	case '(':
	case ')':
	case '{':
	case '%':
	case '*':
	case '"':
	case '\\':
	case ']':
		return false;
	default:
		return true;
	}
}

/* ASTRING-CHAR: ATOM-CHAR or resp-specials "]". */
static inline bool imap_is_astring_char(unsigned char c)
{
	return c == ']' || imap_is_atom_char(c);
}

/* A tag: ASTRING-CHAR except "+". */
static inline bool imap_is_tag_char(unsigned char c)
{
	return c != '+' && imap_is_astring_char(c);
}

/* What the parser reads into an atom argument: ASTRING-CHAR plus the
 * list-wildcards (LIST patterns), "\" (flags) and 8-bit bytes, i.e.
 * anything but SP, CTL, "(", ")", "{" and '"'. Whoever interprets the
 * atom judges it further. */
static inline bool imap_is_token_char(unsigned char c)
{
	if (c < 0x20 || c == 0x7f)
		return false;
	switch (c) {
	case ' ':
	case '(':
	case ')':
	case '{':
	case '"':
		return false;
	default:
		return true;
	}
}

/* May c stand in a quoted string (escaped if it is '"' or "\")? Any
 * TEXT-CHAR, i.e. not NUL, CR or LF; an 8-bit byte only when utf8 (the
 * client enabled UTF8=ACCEPT, RFC 9755), otherwise it needs a literal. */
static inline bool imap_is_quoted_char(unsigned char c, bool utf8)
{
	if (c == '\0' || c == '\r' || c == '\n')
		return false;
	return c < 0x80 || utf8;
}

#endif
