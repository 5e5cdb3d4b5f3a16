/* test_imap_fetch_parse: FETCH attributes, sections, partials, macros and
 * modifiers (proto/imap/fetch_parse.c), from commands parsed by the
 * real IMAP parser one byte at a time; plus the IMAP date helpers. */
#include "imap_msg_testutil.h"

#include "proto/imap/fetch.h"
#include "proto/imap/dates.h"

#include <errno.h>

static int fetch(const char *line, struct imap_cmd **cmdp, struct imap_fetch_spec *f,
                 const char **err)
{
	struct imap_cmd *cmd = parse_cmd(line);
	*cmdp = cmd;
	if (!cmd)
		return -100;
	if (cmd->nargs < 2)
		return -101;
	return imap_fetch_parse(&cmd->args[1], cmd->nargs > 2 ? &cmd->args[2] : NULL, cmd->uid,
	                        &cmd->arena, f, err);
}

static void done(struct imap_cmd **c)
{
	if (*c)
		imap_cmd_free(c);
}

int main(void)
{
	struct imap_cmd *c;
	struct imap_fetch_spec f;
	const char *err;

	CHECK(fetch("a FETCH 1 FLAGS", &c, &f, &err) == 0 && f.n == 1 &&
	          f.atts[0].kind == IMAP_FA_FLAGS && !f.sets_seen,
	      "FLAGS");
	done(&c);
	CHECK(fetch("a FETCH 1:* ALL", &c, &f, &err) == 0 && f.n == 4 &&
	          f.atts[3].kind == IMAP_FA_ENVELOPE && f.needs_info,
	      "ALL");
	done(&c);
	CHECK(fetch("a FETCH 1 fast", &c, &f, &err) == 0 && f.n == 3, "FAST");
	done(&c);
	/* RFC 8474, 8514, 8970 */
	CHECK(fetch("a FETCH 1 (EMAILID THREADID SAVEDATE PREVIEW (LAZY) preview)", &c, &f, &err) ==
	              0 &&
	          f.n == 5 && f.atts[0].kind == IMAP_FA_EMAILID &&
	          f.atts[1].kind == IMAP_FA_THREADID && f.atts[2].kind == IMAP_FA_SAVEDATE &&
	          f.atts[3].kind == IMAP_FA_PREVIEW && f.atts[3].lazy &&
	          f.atts[4].kind == IMAP_FA_PREVIEW && !f.atts[4].lazy && f.needs_info &&
	          !f.header_only,
	      "object ids, save date, preview");
	done(&c);
	CHECK(fetch("a FETCH 1 PREVIEW (LAZY)", &c, &f, &err) == 0 && f.n == 1 && f.atts[0].lazy,
	      "PREVIEW (LAZY) alone");
	done(&c);
	CHECK(fetch("a FETCH 1 PREVIEW (CHANGEDSINCE 1)", &c, &f, &err) == 0 && !f.atts[0].lazy &&
	          f.changedsince == 1,
	      "PREVIEW and a FETCH modifier");
	done(&c);
	CHECK(fetch("a FETCH 1 (PREVIEW (LAZY X))", &c, &f, &err) < 0, "unknown preview mod");
	done(&c);
	CHECK(fetch("a FETCH 1 (FLAGS (LAZY))", &c, &f, &err) < 0, "LAZY on FLAGS");
	done(&c);
	CHECK(fetch("a FETCH 1 ((LAZY))", &c, &f, &err) < 0, "a list first");
	done(&c);
	CHECK(fetch("a FETCH 1 FULL", &c, &f, &err) == 0 && f.n == 5 &&
	          f.atts[4].kind == IMAP_FA_BODY,
	      "FULL");
	done(&c);
	CHECK(fetch("a UID FETCH 1:* (FLAGS)", &c, &f, &err) == 0 && f.n == 2 &&
	          f.atts[0].kind == IMAP_FA_UID,
	      "UID added first");
	done(&c);
	CHECK(fetch("a UID FETCH 1 (UID FLAGS)", &c, &f, &err) == 0 && f.n == 2, "UID not doubled");
	done(&c);
	CHECK(fetch("a FETCH 1 (BODY[])", &c, &f, &err) == 0 && f.n == 1 &&
	          f.atts[0].kind == IMAP_FA_SECTION && !f.atts[0].peek && f.sets_seen &&
	          !f.needs_message && strcmp(f.atts[0].name, "BODY[]") == 0,
	      "BODY[]");
	done(&c);
	CHECK(fetch("a FETCH 1 (BODY.PEEK[]<0.65536>)", &c, &f, &err) == 0 && f.atts[0].peek &&
	          f.atts[0].partial && f.atts[0].offset == 0 && f.atts[0].count == 65536 &&
	          strcmp(f.atts[0].name, "BODY[]<0>") == 0 && !f.sets_seen,
	      "BODY.PEEK[]<0.65536>: %s", f.atts[0].name);
	done(&c);
	CHECK(fetch("a UID FETCH 5 (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc "
	            "Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To "
	            "Content-Type Reply-To)])",
	            &c, &f, &err) == 0 &&
	          f.n == 4 && f.atts[3].kind == IMAP_FA_SECTION && f.needs_message &&
	          strncmp(f.atts[3].section, "HEADER.FIELDS (From", 19) == 0,
	      "Thunderbird header fetch");
	done(&c);
	CHECK(fetch("a FETCH 1 BODY[1.2.MIME]", &c, &f, &err) == 0, "1.2.MIME");
	done(&c);
	CHECK(fetch("a FETCH 1 BODY[2.1.HEADER]", &c, &f, &err) == 0, "2.1.HEADER");
	done(&c);
	CHECK(fetch("a FETCH 1 BODY[3.TEXT]<10.20>", &c, &f, &err) == 0 && f.atts[0].offset == 10 &&
	          strcmp(f.atts[0].name, "BODY[3.TEXT]<10>") == 0,
	      "3.TEXT partial");
	done(&c);
	CHECK(fetch("a FETCH 1 BODY[HEADER.FIELDS.NOT (Received \"X-Spam\")]", &c, &f, &err) == 0,
	      "FIELDS.NOT quoted");
	done(&c);
	CHECK(fetch("a FETCH 1 (BINARY[1] BINARY.SIZE[1] BINARY.PEEK[2]<0.10>)", &c, &f, &err) ==
	              0 &&
	          f.n == 3 && f.atts[0].kind == IMAP_FA_BINARY &&
	          f.atts[1].kind == IMAP_FA_BINARY_SIZE && f.atts[2].peek &&
	          strcmp(f.atts[1].name, "BINARY.SIZE[1]") == 0,
	      "BINARY");
	done(&c);
	CHECK(fetch("a FETCH 1 (RFC822 RFC822.HEADER RFC822.TEXT)", &c, &f, &err) == 0 &&
	          f.n == 3 && f.sets_seen && f.needs_message,
	      "RFC822*");
	done(&c);
	CHECK(fetch("a UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)", &c, &f, &err) == 0 &&
	          f.changedsince == 12345 && f.vanished && imap_fetch_has(&f, IMAP_FA_MODSEQ),
	      "CHANGEDSINCE VANISHED");
	done(&c);
	CHECK(fetch("a UID FETCH 1:* (FLAGS) (PARTIAL -1:-30 CHANGEDSINCE 98305)", &c, &f, &err) ==
	              0 &&
	          f.has_partial && f.partial.from_end && f.partial.lo == 1 && f.partial.hi == 30 &&
	          f.changedsince == 98305,
	      "PARTIAL CHANGEDSINCE (RFC 9394 3.4)");
	done(&c);

	/* errors */
	CHECK(fetch("a FETCH 1 (FLAGS BOGUS)", &c, &f, &err) == -EINVAL, "unknown att");
	done(&c);
	CHECK(fetch("a FETCH 1 ()", &c, &f, &err) == -EINVAL, "empty list");
	done(&c);
	CHECK(fetch("a FETCH 1 (ALL)", &c, &f, &err) == -EINVAL, "macro in list");
	done(&c);
	CHECK(fetch("a FETCH 1 BODY[0]", &c, &f, &err) == -EINVAL, "part 0");
	done(&c);
	CHECK(fetch("a FETCH 1 BODY[1.]", &c, &f, &err) == -EINVAL, "trailing dot");
	done(&c);
	CHECK(fetch("a FETCH 1 BODY[MIME]", &c, &f, &err) == -EINVAL, "MIME without part");
	done(&c);
	CHECK(fetch("a FETCH 1 BODY[HEADER.FIELDS ()]", &c, &f, &err) == -EINVAL, "empty fields");
	done(&c);
	CHECK(fetch("a FETCH 1 BODY[HEADER.FIELDS]", &c, &f, &err) == -EINVAL, "fields no list");
	done(&c);
	CHECK(fetch("a FETCH 1 BODY[]<5>", &c, &f, &err) == -EINVAL, "partial without count");
	done(&c);
	CHECK(fetch("a FETCH 1 BODY[]<0.0>", &c, &f, &err) == -EINVAL, "partial count 0");
	done(&c);
	CHECK(fetch("a FETCH 1 BINARY[HEADER]", &c, &f, &err) == -EINVAL, "BINARY[HEADER]");
	done(&c);
	CHECK(fetch("a FETCH 1 BINARY.SIZE[1]<0.5>", &c, &f, &err) == -EINVAL,
	      "BINARY.SIZE partial");
	done(&c);
	CHECK(fetch("a FETCH 1 (FLAGS) (VANISHED)", &c, &f, &err) == -EINVAL, "VANISHED alone");
	done(&c);
	CHECK(fetch("a FETCH 1 (FLAGS) (CHANGEDSINCE 5 VANISHED)", &c, &f, &err) == -EINVAL,
	      "VANISHED needs UID FETCH");
	done(&c);
	CHECK(fetch("a FETCH 1 (FLAGS) (CHANGEDSINCE x)", &c, &f, &err) == -EINVAL, "bad modseq");
	done(&c);
	CHECK(fetch("a FETCH 1:* (FLAGS) (PARTIAL 1:5)", &c, &f, &err) == -EINVAL,
	      "PARTIAL needs UID FETCH");
	done(&c);
	CHECK(fetch("a UID FETCH 1:* (FLAGS) (PARTIAL 1:5 PARTIAL 1:5)", &c, &f, &err) == -EINVAL,
	      "PARTIAL twice");
	done(&c);
	CHECK(fetch("a UID FETCH 1:* (FLAGS) (PARTIAL 0:5)", &c, &f, &err) == -EINVAL, "PARTIAL 0");
	done(&c);
	CHECK(fetch("a UID FETCH 1:* (FLAGS) (PARTIAL)", &c, &f, &err) == -EINVAL,
	      "PARTIAL without range");
	done(&c);

	/* section checker directly */
	CHECK(imap_fetch_section_check("", 0, false) == 0, "empty");
	CHECK(imap_fetch_section_check("TEXT", 4, false) == 0, "TEXT");
	CHECK(imap_fetch_section_check("1.2.3", 5, true) == 0, "binary part");
	CHECK(imap_fetch_section_check("1.TEXT", 6, true) == -EINVAL, "binary TEXT");
	CHECK(imap_fetch_section_check("HEADER.FIELDS (a b", 18, false) == -EINVAL, "unclosed");

	/* dates */
	int64_t d, t;
	CHECK(imap_parse_date("1-Feb-1994", 10, &d) == 0 && d == imap_days_from_civil(1994, 2, 1),
	      "date");
	CHECK(imap_parse_date("\"01-feb-1994\"", 13, &d) == 0 &&
	          d == imap_days_from_civil(1994, 2, 1),
	      "quoted date");
	CHECK(imap_parse_date("30-Feb-1994", 11, &d) < 0, "Feb 30");
	CHECK(imap_parse_date("1-Foo-1994", 10, &d) < 0, "bad month");
	CHECK(imap_parse_date_time("17-Jul-1996 02:44:25 -0700", 26, &t) == 0 && t == 837596665,
	      "date-time %lld", (long long)t);
	CHECK(imap_parse_date_time(" 7-Jul-1996 02:44:25 +0000", 26, &t) == 0, "space day");
	CHECK(imap_parse_date_time("17-Jul-1996 02:44:25", 20, &t) < 0, "no zone");
	char buf[32];
	imap_format_date_time(837596665, buf);
	CHECK(strcmp(buf, "17-Jul-1996 09:44:25 +0000") == 0, "format %s", buf);
	const char *rd = "Tue, 1 Jul 2003 10:52:37 +0200";
	CHECK(imap_parse_rfc5322_day(rd, strlen(rd), &d) == 0 &&
	          d == imap_days_from_civil(2003, 7, 1),
	      "rfc5322");
	rd = "(comment) 5 Nov 98 23:59 EST";
	CHECK(imap_parse_rfc5322_day(rd, strlen(rd), &d) == 0 &&
	          d == imap_days_from_civil(1998, 11, 5),
	      "obsolete year");
	rd = "garbage";
	CHECK(imap_parse_rfc5322_day(rd, strlen(rd), &d) < 0, "garbage date");
	int64_t y;
	unsigned m, dd;
	imap_civil_from_days(imap_days_from_civil(2024, 2, 29), &y, &m, &dd);
	CHECK(y == 2024 && m == 2 && dd == 29, "civil roundtrip");

	printf("test_imap_fetch_parse: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
