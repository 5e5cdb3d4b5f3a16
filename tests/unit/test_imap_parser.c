/* test_imap_parser: the IMAP command parser fed every way a network can
 * split the input: whole, one byte at a time, and in chunks of 2..13 bytes.
 * Each split must produce the same events and the same command trees. */
#include "proto/imap/imap_int.h"
#include "proto/imap/parser.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mime/spool.h"

/* Render events and commands as text so splits can be compared. */
static void dump_arg(char *out, size_t cap, const struct imap_arg *a)
{
	size_t w = strlen(out);
	switch (a->type) {
	case IMAP_ARG_ATOM:
		snprintf(out + w, cap - w, "A:%s", a->str);
		break;
	case IMAP_ARG_NIL:
		snprintf(out + w, cap - w, "NIL");
		break;
	case IMAP_ARG_QUOTED:
		snprintf(out + w, cap - w, "Q:%s", a->str);
		break;
	case IMAP_ARG_LITERAL:
		snprintf(out + w, cap - w, "L%zu:%s", a->len, a->str);
		break;
	case IMAP_ARG_LITERAL8:
		snprintf(out + w, cap - w, "L8-%zu", a->len);
		break;
	case IMAP_ARG_LIST:
		snprintf(out + w, cap - w, "(");
		for (size_t i = 0; i < a->nlist; i++) {
			if (i)
				strncat(out, " ", cap - strlen(out) - 1);
			dump_arg(out, cap, &a->list[i]);
		}
		strncat(out, ")", cap - strlen(out) - 1);
		break;
	}
}

static size_t charged_seen;

static void run(const char *in, size_t len, size_t chunk, char *out, size_t cap,
                const struct imap_parser_limits *lim)
{
	struct imap_parser *p = imap_parser_new(lim);
	out[0] = '\0';
	size_t off = 0;
	while (off < len) {
		size_t n = chunk ? (len - off < chunk ? len - off : chunk) : len - off;
		const char *d = in + off;
		off += n;
		while (n) {
			enum imap_parse_event ev;
			size_t used = imap_parser_feed(p, d, n, &ev);
			d += used;
			n -= used;
			size_t w = strlen(out);
			if (ev == IMAP_PARSE_LITERAL) {
				snprintf(out + w, cap - w, "[+%s%llu]",
				         imap_parser_literal_skip(p)   ? "skip"
				         : imap_parser_literal_sync(p) ? "sync"
				                                       : "nonsync",
				         (unsigned long long)imap_parser_literal_len(p));
			} else if (ev == IMAP_PARSE_ERROR) {
				const char *t = imap_parser_tag(p);
				const char *c = imap_parser_error_code(p);
				snprintf(out + w, cap - w, "[ERR %s %s%s]", t ? t : "*", c ? c : "",
				         imap_parser_error(p));
			} else if (ev == IMAP_PARSE_REFUSED) {
				const char *t = imap_parser_tag(p);
				snprintf(out + w, cap - w, "[NO %s %s]", t ? t : "*",
				         imap_parser_error_code(p));
			} else if (ev == IMAP_PARSE_COMMAND) {
				struct imap_cmd *c = imap_parser_take(p);
				snprintf(out + w, cap - w, "{%s %s%s", c->tag, c->uid ? "UID " : "",
				         c->name);
				for (size_t i = 0; i < c->nargs; i++) {
					strncat(out, " ", cap - strlen(out) - 1);
					if (c->args[i].type == IMAP_ARG_LITERAL &&
					    c->args[i].len > 64) /* big ones: the size */
						snprintf(out + strlen(out), cap - strlen(out),
						         "L%zu", c->args[i].len);
					else
						dump_arg(out, cap, &c->args[i]);
				}
				strncat(out, "}", cap - strlen(out) - 1);
				/* what the command's literals hold of the budget */
				charged_seen = mime_spool_in_use();
				imap_cmd_free(&c);
			}
		}
	}
	imap_parser_free(&p);
}

static void expect_lim(const char *in, size_t len, const char *want,
                       const struct imap_parser_limits *lim, int line)
{
	static char out[65536];
	size_t chunks[] = {0, 1, 2, 3, 5, 7, 13};
	for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
		run(in, len, chunks[i], out, sizeof out, lim);
		CHECK(strcmp(out, want) == 0,
		      "(input line %d, chunk %zu)\n   got:  %s\n   want: %s", line, chunks[i], out,
		      want);
	}
}

static struct imap_parser_limits auth_lim;

/* in = the parts joined, where "#" stands for a 70000-byte literal body
 * (lines of "u NOOP", so that a body parsed as commands would show). */
static char *with_bodies(const char *const *parts, size_t n, size_t *len)
{
	static const char line[] = "u NOOP\r\n";
	size_t cap = 1;
	for (size_t i = 0; i < n; i++)
		cap += strcmp(parts[i], "#") == 0 ? 70000 : strlen(parts[i]);
	char *in = malloc(cap);
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(parts[i], "#") == 0) {
			for (size_t k = 0; k < 70000; k++)
				in[w++] = line[k % (sizeof line - 1)];
		} else {
			memcpy(in + w, parts[i], strlen(parts[i]));
			w += strlen(parts[i]);
		}
	}
	in[w] = '\0';
	*len = w;
	return in;
}

static void expect_budget(size_t budget, const char *const *parts, size_t n, const char *want,
                          size_t want_charged, int line)
{
	size_t len;
	char *in = with_bodies(parts, n, &len);
	static struct imap_parser_limits big;
	imap_parser_limits_auth(&big, 1 << 20, 65536);
	mime_spool_set_budget(budget);
	charged_seen = 0;
	expect_lim(in, len, want, &big, line);
	CHECK(charged_seen == want_charged, "(input line %d) a command held %zu bytes, want %zu",
	      line, charged_seen, want_charged);
	CHECK(mime_spool_in_use() == 0, "(input line %d) %zu bytes of the budget still held", line,
	      mime_spool_in_use());
	mime_spool_set_budget(0);
	free(in);
}

#define EXPECT_BUDGET(budget, want, charged, ...)                                                  \
	do {                                                                                       \
		const char *const parts_[] = {__VA_ARGS__};                                        \
		expect_budget((budget), parts_, sizeof parts_ / sizeof parts_[0], (want),          \
		              (charged), __LINE__);                                                \
	} while (0)

/* Literals over IMAP_LITERAL_UNCHARGED draw from the spool budget; one that
 * does not fit gets a NO (IMAP_PARSE_REFUSED), at once when synchronising,
 * after its bytes and the rest of its command when not; the command's
 * share of the budget is back when it is freed or dropped. */
static void test_spool_budget(void)
{
	/* fits: charged while the command lives */
	EXPECT_BUDGET(100000, "[+sync70000]{t APPEND A:x L70000}", 70000, "t APPEND x {70000}\r\n",
	              "#", "\r\n");
	/* small literals are not charged, even with the budget spent */
	EXPECT_BUDGET(1, "[+sync5]{t LOGIN L5:alice A:x}", 0, "t LOGIN {5}\r\nalice x\r\n");
	/* a synchronising literal: NO instead of "+", the next line is a command */
	EXPECT_BUDGET(60000, "[NO t UNAVAILABLE]{u NOOP}", 0, "t APPEND x {70000}\r\n",
	              "u NOOP\r\n");
	/* a non-synchronising one: its bytes are skipped, NO at the command's end */
	EXPECT_BUDGET(60000, "[+skip70000][NO t UNAVAILABLE]{v NOOP}", 0, "t APPEND x {70000+}\r\n",
	              "#", " (\\Seen) y\r\nv NOOP\r\n");
	/* several messages: the second does not fit, the first is let go too */
	EXPECT_BUDGET(100000, "[+nonsync70000][+skip70000][NO t UNAVAILABLE]{v NOOP}", 0,
	              "t APPEND x {70000+}\r\n", "#", " {70000+}\r\n", "#", "\r\nv NOOP\r\n");
	/* ... and a refused command's trailing literals are skipped as well */
	EXPECT_BUDGET(60000, "[+skip70000][+skip5][NO t UNAVAILABLE]{v NOOP}", 0,
	              "t APPEND x {70000+}\r\n", "#", " {5+}\r\nabcde\r\nv NOOP\r\n");
	/* a synchronising second message refused: NO at once */
	EXPECT_BUDGET(100000, "[+nonsync70000][NO t UNAVAILABLE]{v NOOP}", 0,
	              "t APPEND x {70000+}\r\n", "#", " {70000}\r\nv NOOP\r\n");
	/* both fit */
	EXPECT_BUDGET(140000, "[+nonsync70000][+sync70000]{t APPEND A:x L70000 L70000}", 140000,
	              "t APPEND x {70000+}\r\n", "#", " {70000}\r\n", "#", "\r\n");
	/* a bad command's charge is given back too */
	EXPECT_BUDGET(100000, "[+sync70000][ERR t unbalanced parentheses]{v NOOP}", 0,
	              "t APPEND x ({70000}\r\n", "#", "\r\nv NOOP\r\n");
}

#define EXPECT(in, want) expect_lim((in), sizeof(in) - 1, (want), &auth_lim, __LINE__)

int main(void)
{
	imap_parser_limits_auth(&auth_lim, 1000, 65536);
	auth_lim.max_depth = 4;
	auth_lim.max_args = 50;

	EXPECT("a1 NOOP\r\n", "{a1 NOOP}");
	EXPECT("a1 noop\n", "{a1 NOOP}");
	EXPECT("\r\n\r\na1 NOOP\r\n", "{a1 NOOP}");
	EXPECT("t LOGIN alice \"pa ss\\\"w\\\\\"\r\n", "{t LOGIN A:alice Q:pa ss\"w\\}");
	EXPECT("t uid fetch 1:* (FLAGS)\r\n", "{t UID FETCH A:1:* (A:FLAGS)}");
	EXPECT("t SELECT nil\r\n", "{t SELECT NIL}");
	EXPECT("t X (a (b (c)) \"d\") e\r\n", "{t X (A:a (A:b (A:c)) Q:d) A:e}");
	EXPECT("t X ()\r\n", "{t X ()}");
	EXPECT("t FETCH 1 (BODY.PEEK[HEADER.FIELDS (From \"To\")]<0.100> UID)\r\n",
	       "{t FETCH A:1 (A:BODY.PEEK[HEADER.FIELDS (From \"To\")]<0.100> A:UID)}");
	EXPECT("t FETCH 1 BODY[]\r\n", "{t FETCH A:1 A:BODY[]}");
	EXPECT("t CREATE [Gmail]/Sent\r\n", "{t CREATE A:[Gmail]/Sent}");
	/* literals */
	EXPECT("t LOGIN {5}\r\nalice {3+}\r\npw!\r\n",
	       "[+sync5][+nonsync3]{t LOGIN L5:alice L3:pw!}");
	EXPECT("t APPEND x {0}\r\n\r\n", "[+sync0]{t APPEND A:x L0:}");
	EXPECT("t APPEND x ~{3}\r\na\0b\r\n", "[+sync3]{t APPEND A:x L8-3}");
	EXPECT("t X {4}\r\n\r\n\r\n\r\n", "[+sync4]{t X L4:\r\n\r\n}");
	/* "~" not followed by "{" is an ATOM-CHAR (RFC 9051 §9), at the start
	 * of an atom as anywhere else */
	EXPECT("t LIST \"\" ~foo\r\n", "{t LIST Q: A:~foo}");
	EXPECT("t LIST ~/Mail/ %\r\n", "{t LIST A:~/Mail/ A:%}");
	EXPECT("t X ~ (~a ~)\r\n", "{t X A:~ (A:~a A:~)}");
	EXPECT("t X ~\r\n", "{t X A:~}");
	EXPECT("t X ~\n", "{t X A:~}");
	EXPECT("t X a~{3}\r\nu NOOP\r\n", "[ERR t invalid character in atom]{u NOOP}");
	EXPECT("t X ~{x}\r\nu NOOP\r\n", "[ERR t invalid literal]{u NOOP}");
	/* errors, and recovery at the next line */
	EXPECT("t X \"abc\r\nu NOOP\r\n", "[ERR t unterminated quoted string]{u NOOP}");
	EXPECT("t X (a\r\nu NOOP\r\n", "[ERR t unbalanced parentheses]{u NOOP}");
	EXPECT("t X a)\r\nu NOOP\r\n", "[ERR t unbalanced parentheses]{u NOOP}");
	EXPECT("t\r\nu NOOP\r\n", "[ERR t missing command]{u NOOP}");
	EXPECT("+t NOOP\r\nu NOOP\r\n", "[ERR * invalid tag]{u NOOP}");
	EXPECT("t X \"a\\b\"\r\nu NOOP\r\n", "[ERR t invalid escape in quoted string]{u NOOP}");
	EXPECT("t X {1001}\r\nu NOOP\r\n", "[ERR t TOOBIGliteral too big]{u NOOP}");
	/* a refused non-synchronising literal is skipped, not parsed */
	EXPECT("t X {1001+}\r\n", "[ERR t TOOBIGliteral too big][+skip1001]");
	/* the literal holds "u N"; the line then ends inside the list */
	EXPECT("t X ( {3+}\r\nu N\r\nv NOOP\r\n",
	       "[+nonsync3][ERR t unbalanced parentheses]{v NOOP}");
	EXPECT("t X a\"b {4+}\r\nu NO\r\nv NOOP\r\n",
	       "[ERR t invalid character in atom][+skip4]{v NOOP}");
	EXPECT("t X {3}\r\na\0b\r\nu NOOP\r\n",
	       "[+sync3][ERR t NUL in literal (use literal8)]{u NOOP}");
	EXPECT("t X {3}x\r\nu NOOP\r\n", "[ERR t literal must end the line]{u NOOP}");
	EXPECT("t X ((((((a))))))\r\nu NOOP\r\n", "[ERR t lists nested too deep]{u NOOP}");
	EXPECT("t UID\r\n", "[ERR t missing command]");
	EXPECT("t X BODY[abc\r\nu NOOP\r\n", "[ERR t unterminated section]{u NOOP}");
	EXPECT("t X BODY[{3}]\r\nu NOOP\r\n", "[ERR t literal inside a section]{u NOOP}");

	/* argument limit */
	{
		char buf[512] = "t X";
		for (int i = 0; i < 60; i++)
			strcat(buf, " a");
		strcat(buf, "\r\nu NOOP\r\n");
		expect_lim(buf, strlen(buf), "[ERR t too many arguments]{u NOOP}", &auth_lim,
		           __LINE__);
	}
	/* before authentication: literals over 8 KiB and depth 3 refused */
	{
		struct imap_parser_limits pre;
		imap_parser_limits_preauth(&pre);
		const char *in = "t LOGIN {9000}\r\nu ID (((a)))\r\nv NOOP\r\n";
		expect_lim(in, strlen(in),
		           "[ERR t TOOBIGliteral too big][ERR u lists nested too deep]{v NOOP}",
		           &pre, __LINE__);
	}

	test_spool_budget();

	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
