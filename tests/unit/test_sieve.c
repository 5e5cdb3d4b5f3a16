/* test_sieve: the Sieve engine (sieve/sieve.h). Every full example script
 * of RFC 5228, 5229, 5230, 5232, 3894 and 5429 compiles (they are the fuzz
 * seed corpus, tests/fuzz/corpus/fuzz_sieve/); a table of scripts x messages
 * gives exact action lists; a table of bad scripts gives the exact first
 * error "LINE:COL: message"; run-time limits and conflicting actions make
 * the run "failed" with an implicit keep, quickly. */
#include "lib/buf.h"
#include "sieve/sieve.h"
#include "check.h"

#include <dirent.h>
#include <pthread.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* RFC 5228 §1.2's messages A and B, and a few of our own. */
static const char msg_a[] = "Date: Tue, 1 Apr 1997 09:06:31 -0800 (PST)\r\n"
                            "From: coyote@desert.example.org\r\n"
                            "To: roadrunner@acme.example.com\r\n"
                            "Subject: I have a present for you\r\n"
                            "\r\n";
static const char msg_b[] = "X-Caffeine: C8H10N4O2\n"
                            "From: youcouldberich!@reply-by-postal-mail.invalid\n"
                            "Sender: b1ff@de.res.example.com\n"
                            "To: rube@landru.example.com\n"
                            "Date: Mon, 31 Mar 1997 18:26:10 -0800\n"
                            "Subject: $$$ YOU, TOO, CAN BE A MILLIONAIRE! $$$\n"
                            "\n";
static const char msg_list[] = "From: Wile <wile@acme.example.com>\n"
                               "To: coyote@ACME.Example.COM\n"
                               "List-ID: Acme users <acme-users@lists.example.com>\n"
                               "Subject: [acme-users] [fwd] version 1.0 is out\n"
                               "\n";
static const char msg_2047[] = "From: =?UTF-8?B?w4lsw6huZQ==?= <elene@example.net>\n"
                               "To: Me <me@example.com>\n"
                               "Subject: =?UTF-8?Q?caf=C3=A9?= =?ISO-8859-1?Q?_cr=E8me?=\n"
                               "X-Folded: one\n two\n"
                               "\n";
static const char msg_body[] = "From: a@example.net\r\n"
                               "To: me@example.com\r\n"
                               "\r\n"
                               "X-Body: this is the body\r\n"
                               "Subject: not a header\r\n";
static const char msg_q[] = "From: a@example.net\n"
                            "To: me@example.com\n"
                            "Subject: why*?\n"
                            "\n";

struct msgdef {
	const char *name;
	const char *header;
	const char *from;
	uint64_t size;
};

static const struct msgdef msgs[] = {
    {"A", msg_a, "coyote@desert.example.org", 1000},
    {"B", msg_b, "b1ff@de.res.example.com", 200000},
    {"list", msg_list, "owner-acme@lists.example.com", 3000},
    {"2047", msg_2047, "elene@example.net", 500},
    {"q", msg_q, "", 100},
    {"body", msg_body, "a@example.net", 100},
};

static bool exists_cb(void *ud, const char *name)
{
	(void)ud;
	return strcmp(name, "Lists") == 0 || strcmp(name, "INBOX") == 0;
}

static const char *const own[] = {"me@example.com", "roadrunner@acme.example.com"};

static void message(const struct msgdef *m, struct sieve_message *out)
{
	memset(out, 0, sizeof *out);
	out->header = m->header;
	out->header_len = strlen(m->header);
	out->size = m->size;
	out->envelope_from = m->from;
	out->envelope_to = "me@example.com";
	out->own_addresses = own;
	out->n_own_addresses = 2;
	out->mailbox_exists = exists_cb;
}

/* The actions as one line: "fileinto:Box:create{F1 F2}; implicit-keep". */
static void render(const struct sieve_result *r, struct buf *out)
{
	buf_reset(out);
	buf_add(out, "", 0);
	if (r->failed)
		buf_printf(out, "FAILED(%s) ", r->error);
	for (size_t i = 0; i < r->n_actions; i++) {
		const struct sieve_action *a = &r->actions[i];
		if (i)
			buf_adds(out, "; ");
		switch (a->kind) {
		case SIEVE_KEEP:
			buf_adds(out, a->implicit ? "implicit-keep" : "keep");
			break;
		case SIEVE_FILEINTO:
			buf_printf(out, "fileinto:%s", a->mailbox);
			break;
		case SIEVE_REDIRECT:
			buf_printf(out, "redirect:%s", a->address);
			break;
		case SIEVE_DISCARD:
			buf_adds(out, "discard");
			break;
		case SIEVE_REJECT:
			buf_printf(out, "reject:%s", a->reason);
			break;
		case SIEVE_EREJECT:
			buf_printf(out, "ereject:%s", a->reason);
			break;
		case SIEVE_VACATION:
			buf_printf(out, "vacation(to=%s,days=%u,subject=%s,from=%s%s):%s",
			           a->vacation_to, a->vacation_days, a->vacation_subject,
			           a->vacation_from ? a->vacation_from : "-",
			           a->vacation_mime ? ",mime" : "", a->reason);
			break;
		}
		if (a->create)
			buf_adds(out, ":create");
		if (a->copy)
			buf_adds(out, ":copy");
		if (a->n_flags) {
			buf_adds(out, "{");
			for (size_t f = 0; f < a->n_flags; f++)
				buf_printf(out, "%s%s", f ? " " : "", a->flags[f]);
			buf_adds(out, "}");
		}
	}
}

/* Compile and run script over message m; the rendered actions, or the
 * compile error prefixed with "ERROR ". */
static void run_one(const char *script, const struct msgdef *m, const struct sieve_limits *lim,
                    struct buf *out, struct sieve_result *keep_res)
{
	char err[256];
	struct sieve_script *s;
	buf_reset(out);
	if (sieve_compile(script, strlen(script), lim, &s, err, sizeof err) < 0) {
		buf_printf(out, "ERROR %s", err);
		return;
	}
	struct sieve_message msg;
	message(m, &msg);
	struct sieve_result res;
	CHECK(sieve_run(s, &msg, &res) == 0, "run %s", script);
	render(&res, out);
	if (keep_res)
		*keep_res = res;
	else
		sieve_result_free(&res);
	sieve_script_free(&s);
}

struct run_case {
	const char *script;
	const char *msg;
	const char *want;
};

static const struct run_case run_cases[] = {
    /* RFC 5228 §3.1: both A and B are discarded, the rest filed. */
    {"require \"fileinto\";\nif header :contains \"from\" \"coyote\" { discard; }\n"
     "elsif header :contains [\"subject\"] [\"$$$\"] { discard; }\nelse { fileinto \"INBOX\"; }",
     "A", "discard"},
    {"require \"fileinto\";\nif header :contains \"from\" \"coyote\" { discard; }\n"
     "elsif header :contains [\"subject\"] [\"$$$\"] { discard; }\nelse { fileinto \"INBOX\"; }",
     "B", "discard"},
    {"require \"fileinto\";\nif header :contains \"from\" \"coyote\" { discard; }\n"
     "elsif header :contains [\"subject\"] [\"$$$\"] { discard; }\nelse { fileinto \"INBOX\"; }",
     "list", "fileinto:INBOX"},
    {"if header :contains [\"From\"] [\"coyote\"] { redirect \"acm@example.com\"; }\n"
     "elsif header :contains \"Subject\" \"$$$\" { redirect \"postmaster@example.com\"; }\n"
     "else { redirect \"field@example.com\"; }",
     "B", "redirect:postmaster@example.com"},
    /* Nothing done: the implicit keep. */
    {"if false { discard; }", "A", "implicit-keep"},
    {"", "A", "implicit-keep"},
    {"keep; discard;", "A", "keep; discard"},
    {"stop; discard;", "A", "implicit-keep"},
    /* Address parts, case-insensitive by default. */
    {"if address :localpart \"from\" \"COYOTE\" { discard; }", "A", "discard"},
    {"if address :domain :is \"from\" \"desert.EXAMPLE.org\" { discard; }", "A", "discard"},
    {"if address :all :is \"from\" \"coyote@desert.example.org\" { discard; }", "A", "discard"},
    {"if address :all :contains \"to\" \"desert\" { discard; }", "A", "implicit-keep"},
    {"if address :is :all \"from\" \"elene@example.net\" { discard; }", "2047", "discard"},
    {"if address :contains \"subject\" \"present\" { discard; }", "A", "implicit-keep"},
    {"if address :is \"To\" \"ROADRUNNER@acme.example.com\" { discard; }", "A", "discard"},
    /* Only IMAP flags reach the actions; \\Recent and non-atoms are dropped. */
    {"require \"imap4flags\";\naddflag [\"\\\\Recent\", \"a(b\", \"\\\\\", \"ok\", "
     "\"caf\xc3\xa9\", "
     "\"\\\\Answered\"];",
     "A", "implicit-keep{ok \\Answered}"},
    {"require [\"imap4flags\", \"fileinto\"];\naddflag \"\\\\Recent  x\";\n"
     "if hasflag \"\\\\Recent\" { fileinto \"bad\"; }",
     "A", "implicit-keep{x}"},
    /* i;octet is case-sensitive. */
    {"if header :contains :comparator \"i;octet\" \"Subject\" \"you, too\" { discard; }", "B",
     "implicit-keep"},
    {"if header :contains :comparator \"i;octet\" \"Subject\" \"YOU, TOO\" { discard; }", "B",
     "discard"},
    /* RFC 2047 words are decoded for header, adjacent ones joined. */
    {"if header :is \"subject\" \"caf\xc3\xa9 cr\xc3\xa8me\" { discard; }", "2047", "discard"},
    {"if header :contains \"subject\" \"=?UTF-8\" { discard; }", "2047", "implicit-keep"},
    {"if header :contains \"from\" \"\xc3\x89l\xc3\xa8ne\" { discard; }", "2047", "discard"},
    {"if header :is \"x-folded\" \"one two\" { discard; }", "2047", "discard"},
    /* :matches with ? (one UTF-8 character) and *, and \\ escapes. */
    {"if header :matches \"subject\" \"caf? cr?me\" { discard; }", "2047", "discard"},
    {"if header :matches \"subject\" \"why\\\\*\\\\?\" { discard; }", "q", "discard"},
    {"if header :matches \"subject\" \"why\\\\?*\" { discard; }", "q", "implicit-keep"},
    {"if header :matches \"subject\" \"*\" { discard; }", "q", "discard"},
    {"if header :matches \"subject\" \"w?y\" { discard; }", "q", "implicit-keep"},
    /* Captures (RFC 5229 §3.2). */
    {"require [\"fileinto\", \"variables\"];\n"
     "if header :matches \"List-ID\" \"*<*@*\" { fileinto \"INBOX.lists.${2}\"; stop; }",
     "list", "fileinto:INBOX.lists.acme-users"},
    {"require [\"fileinto\", \"variables\"];\n"
     "if header :matches \"Subject\" \"[*] *\" { fileinto \"INBOX.lists.${1}|${2}\"; }",
     "list", "fileinto:INBOX.lists.acme-users|[fwd] version 1.0 is out"},
    {"require [\"fileinto\", \"variables\"];\n"
     "if address :matches [\"To\", \"Cc\"] [\"coyote@**.com\", \"wile@**.com\"] {\n"
     "  fileinto \"INBOX.business.${2}[${1}](${0})\"; stop; }",
     "list", "fileinto:INBOX.business.ACME.Example[](coyote@ACME.Example.COM)"},
    {"require [\"fileinto\", \"variables\"];\n"
     "if anyof (true, address :domain :matches \"To\" \"*.com\") { fileinto \"x${1}y\"; }",
     "list", "fileinto:xy"},
    {"require [\"fileinto\", \"variables\"];\n"
     "if header :matches \"subject\" \"*?\" { fileinto \"${1}-${2}-${3}-${0}\"; }",
     "q", "fileinto:why*-?--why*?"},
    /* Variables: expansion, modifiers in precedence order. */
    {"require [\"fileinto\", \"variables\"];\nset \"a\" \"juMBlEd lETteRS\";\n"
     "set :upperfirst :lower \"b\" \"${a}\"; set :length \"c\" \"${a}\";\n"
     "set :upper \"d\" \"${A}\"; fileinto \"${b}|${c}|${d}|${unset}|${1}|${bad-name}\";",
     "A", "fileinto:Jumbled letters|15|JUMBLED LETTERS|||${bad-name}"},
    {"require [\"fileinto\", \"variables\"];\nset :length \"n\" \"\xc3\xa9t\xc3\xa9\";"
     "fileinto \"${n}\";",
     "A", "fileinto:3"},
    {"require [\"fileinto\", \"variables\"];\nset :quotewildcard \"q\" \"why*?\";\n"
     "if header :matches \"subject\" \"${q}\" { fileinto \"${q}\"; }",
     "q", "fileinto:why\\*\\?"},
    {"require [\"fileinto\", \"variables\"];\nset :quotewildcard \"q\" \"w*\";\n"
     "if header :matches \"subject\" \"${q}\" { fileinto \"${q}\"; }",
     "q", "implicit-keep"},
    {"require [\"fileinto\", \"variables\"];\nset \"state\" \"${state} pending\";\n"
     "if string :matches \" ${state} \" \"* pending *\" { fileinto \"[${state}]\"; }",
     "A", "fileinto:[ pending]"},
    {"require [\"fileinto\", \"variables\"];\nset \"dollar\" \"$\";\n"
     "set \"text\" \"regarding ${dollar}{beep}\"; fileinto \"${text}\";",
     "A", "fileinto:regarding ${beep}"},
    {"require [\"fileinto\", \"variables\", \"encoded-character\"];\nset \"name\" \"Ethelbert\";\n"
     "fileinto \"dear${hex:20 24 7b 4e}ame}\";",
     "A", "fileinto:dear Ethelbert"},
    {"require [\"fileinto\", \"encoded-character\"];\n"
     "fileinto \"$${hex:40}|${hex: 40 }|${HEX: 40}|${hex:40|\";",
     "A", "fileinto:$@|@|@|${hex:40|"},
    {"require [\"fileinto\", \"encoded-character\"];\n"
     "fileinto \"${hex:400}|${hex:4${hex:30}}|${unicode:40}|${ unicode:40}|${UnICoDE:0000040}|"
     "${Unicode:Cool}|${unicode:e9}\";",
     "A", "fileinto:${hex:400}|${hex:40}|@|${ unicode:40}|@|${Unicode:Cool}|\xc3\xa9"},
    /* Without "variables", ${...} is text. */
    {"require \"fileinto\"; fileinto \"${1}\";", "A", "fileinto:${1}"},
    /* :copy keeps the implicit keep (RFC 3894). */
    {"require [\"copy\", \"fileinto\"];\nfileinto :copy \"incoming\";", "A",
     "fileinto:incoming:copy; implicit-keep"},
    {"require \"copy\"; redirect :copy \"a@example.net\";", "A",
     "redirect:a@example.net:copy; implicit-keep"},
    {"redirect \"a@example.net\"; redirect \"A@example.net\";", "A", "redirect:a@example.net"},
    {"require \"fileinto\"; fileinto \"X\"; fileinto \"X\"; keep;", "A", "fileinto:X; keep"},
    /* :create, mailboxexists. */
    {"require [\"fileinto\", \"mailbox\"];\nif mailboxexists \"Lists\" { fileinto \"Lists\"; }"
     " else { fileinto :create \"New\"; }",
     "A", "fileinto:Lists"},
    {"require [\"fileinto\", \"mailbox\"];\nif mailboxexists [\"Lists\", \"Nope\"] { "
     "fileinto \"Lists\"; } else { fileinto :create \"New\"; }",
     "A", "fileinto:New:create"},
    /* imap4flags: accumulation, removal, implicit keep with flags. */
    {"require \"imap4flags\";\naddflag \"\\\\Seen\"; addflag [\"\\\\Flagged\", \"\\\\seen\"]; "
     "keep;",
     "A", "keep{\\Seen \\Flagged}"},
    {"require \"imap4flags\";\naddflag \"A B C\"; removeflag \"b\";", "A", "implicit-keep{A C}"},
    {"require \"imap4flags\";\naddflag \"A\"; setflag \"Z\";", "A", "implicit-keep{Z}"},
    {"require [\"imap4flags\", \"fileinto\"];\naddflag \"X\"; fileinto :flags \"Y Z\" \"Box\";",
     "A", "fileinto:Box{Y Z}"},
    {"require [\"imap4flags\", \"fileinto\"];\naddflag \"X\"; fileinto \"Box\";", "A",
     "fileinto:Box{X}"},
    {"require [\"imap4flags\", \"fileinto\"];\naddflag \"A B\";\n"
     "if allof (hasflag :is \"b A\", hasflag [\"b\", \"A\"], not hasflag \"C\") { fileinto "
     "\"yes\"; }",
     "A", "fileinto:yes{A B}"},
    {"require [\"imap4flags\", \"variables\", \"fileinto\"];\n"
     "set \"MyVar\" \"NonJunk Junk gnus-forward $Forwarded\";\n"
     "if allof (hasflag :contains \"MyVar\" \"Junk\", hasflag :contains \"MyVar\" [\"label\", "
     "\"forward\"], not hasflag :contains \"MyVar\" \"label\") { fileinto \"yes\"; }",
     "A", "fileinto:yes"},
    {"require [\"imap4flags\", \"variables\", \"fileinto\"];\n"
     "setflag \"flagvar\" \"\\\\Flagged\"; addflag \"flagvar\" \"$Work\";\n"
     "fileinto :flags \"${flagvar}\" \"INBOX.From Boss\";",
     "A", "fileinto:INBOX.From Boss{\\Flagged $Work}"},
    /* envelope, exists, size, not, anyof/allof short-circuit. */
    {"require \"envelope\"; if envelope :domain \"to\" \"example.com\" { discard; }", "A",
     "discard"},
    {"require \"envelope\"; if envelope :all :is \"from\" \"\" { discard; }", "q", "discard"},
    {"require \"envelope\"; if envelope :localpart \"from\" \"coyote\" { discard; }", "A",
     "discard"},
    {"if exists [\"From\", \"Date\"] { discard; }", "A", "discard"},
    /* The whole message may be handed in: the body is not read. */
    {"if anyof (exists \"X-Body\", header :contains \"subject\" \"\") { discard; }", "body",
     "implicit-keep"},
    {"if exists \"To\" { discard; }", "body", "discard"},
    {"if exists [\"From\", \"Date\"] { discard; }", "list", "implicit-keep"},
    {"if not exists \"x-caffeine\" { discard; }", "B", "implicit-keep"},
    {"if size :over 100K { discard; }", "B", "discard"},
    {"if size :under 1K { discard; }", "A", "discard"},
    {"if size :under 1000 { discard; }", "A", "implicit-keep"},
    {"if allof (true, false) { discard; }", "A", "implicit-keep"},
    {"if anyof (false, true) { discard; }", "A", "discard"},
    /* reject, ereject. */
    {"require \"reject\"; if size :over 100K { reject text:\r\nToo big.\r\n.\r\n; }", "B",
     "reject:Too big.\r\n"},
    {"require \"ereject\"; if address \"from\" \"coyote@desert.example.org\" { ereject \"no\"; }",
     "A", "ereject:no"},
    {"require \"reject\"; discard; reject \"no\";", "A", "discard; reject:no"},
    /* Vacation: the defaults, and the mail it must not answer. */
    {"require \"vacation\"; vacation \"away\";", "A",
     "vacation(to=coyote@desert.example.org,days=7,subject=Auto: I have a present for "
     "you,from=-):away; implicit-keep"},
    {"require \"vacation\"; vacation :days 400 :subject \"Out\" :from \"me@example.com\" :mime "
     "\"away\";",
     "A",
     "vacation(to=coyote@desert.example.org,days=365,subject=Out,from=me@example.com,mime):away;"
     " implicit-keep"},
    {"require \"vacation\"; vacation \"away\";", "list", "implicit-keep"},
    {"require \"vacation\"; vacation \"away\";", "q", "implicit-keep"},
    {"require \"vacation\"; vacation \"away\";", "B", "implicit-keep"},
    {"require \"vacation\"; vacation :addresses \"rube@landru.example.com\" \"away\";", "B",
     "vacation(to=b1ff@de.res.example.com,days=7,subject=Auto: $$$ YOU, TOO, CAN BE A "
     "MILLIONAIRE! $$$,from=-):away; implicit-keep"},
    {"require [\"vacation\", \"variables\"]; set \"me\" \"rube\";\n"
     "vacation :addresses \"${me}@landru.example.com\" \"away\";",
     "B",
     "vacation(to=b1ff@de.res.example.com,days=7,subject=Auto: $$$ YOU, TOO, CAN BE A "
     "MILLIONAIRE! $$$,from=-):away; implicit-keep"},
    {"require \"vacation\"; vacation \"away\";", "2047",
     "vacation(to=elene@example.net,days=7,subject=Auto: caf\xc3\xa9 cr\xc3\xa8me,from=-):away; "
     "implicit-keep"},
    /* Run-time failures: an implicit keep and the reason. */
    {"require [\"reject\", \"fileinto\"]; fileinto \"X\"; reject \"no\";", "A",
     "FAILED(reject conflicts with fileinto) implicit-keep"},
    {"require \"reject\"; reject \"no\"; keep;", "A",
     "FAILED(keep conflicts with reject) implicit-keep"},
    {"require [\"reject\", \"vacation\"]; reject \"no\"; vacation \"x\";", "A",
     "FAILED(vacation conflicts with reject) implicit-keep"},
    {"require \"vacation\"; vacation \"a\"; vacation \"b\";", "A",
     "FAILED(vacation conflicts with vacation) implicit-keep"},
    {"redirect \"a@b\"; redirect \"c@d\"; redirect \"e@f\"; redirect \"g@h\"; redirect \"i@j\";",
     "A", "FAILED(too many redirects (at most 4)) implicit-keep"},
    {"require \"variables\"; set \"a\" \"not an address\"; redirect \"${a}\";", "A",
     "FAILED(redirect to a bad address \"not an address\") implicit-keep"},
    {"require [\"imap4flags\", \"fileinto\", \"variables\"]; addflag \"A\"; fileinto \"X\";\n"
     "redirect \"${unset}@example.com\";",
     "A", "FAILED(redirect to a bad address \"@example.com\") implicit-keep"},
    {"require [\"fileinto\", \"variables\"]; fileinto \"${none}\";", "A",
     "FAILED(fileinto an empty mailbox name) implicit-keep"},
    /* keep is fileinto "INBOX" (§2.10.3): one of them. */
    {"require \"fileinto\"; keep; fileinto \"inbox\";", "A", "keep"},
    {"require [\"fileinto\", \"copy\"]; fileinto :copy \"INBOX\";", "A", "fileinto:INBOX:copy"},
};

static const struct msgdef *msg_named(const char *name)
{
	for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++)
		if (strcmp(msgs[i].name, name) == 0)
			return &msgs[i];
	return &msgs[0];
}

static void test_run_table(void)
{
	struct buf out = {0};
	for (size_t i = 0; i < sizeof run_cases / sizeof run_cases[0]; i++) {
		const struct run_case *c = &run_cases[i];
		run_one(c->script, msg_named(c->msg), NULL, &out, NULL);
		CHECK(strcmp(out.data, c->want) == 0, "case %zu (msg %s): %s\n  got  %s\n  want %s",
		      i, c->msg, c->script, out.data, c->want);
	}
	buf_free(&out);
}

struct error_case {
	const char *script;
	const char *want;
};

static const struct error_case error_cases[] = {
    {"fileinto \"x\";", "1:1: fileinto needs require \"fileinto\""},
    {"keep;\nreject \"x\";", "2:1: reject needs require \"reject\""},
    {"require \"copy\";\nif true {\n  vacation \"x\"; }",
     "3:3: vacation needs require \"vacation\""},
    {"redirect :copy \"a@b\";", "1:10: :copy needs require \"copy\""},
    {"if string \"a\" \"b\" {}", "1:4: string needs require \"variables\""},
    {"foo;", "1:1: unknown command foo"},
    {"if foo { }", "1:4: unknown test foo"},
    {"true;", "1:1: true is a test, not a command"},
    {"keep :bar;", "1:6: unknown tag :bar for keep"},
    {"redirect 42;", "1:10: redirect needs a string here"},
    {"redirect [\"a@b\"];", "1:10: redirect needs a string"},
    {"if size :over \"x\" {}", "1:15: size needs a number here"},
    {"if size 10 {}", "1:4: size needs :over or :under"},
    {"if header \"a\" {}", "1:4: header needs 2 arguments"},
    {"keep \"x\";", "1:6: too many arguments for keep"},
    {"redirect \"abc", "1:10: unterminated string"},
    {"keep;\n  /* abc", "2:3: unterminated comment"},
    {"require \"reject\";\nreject text:\nabc\n", "2:8: unterminated text: string"},
    {"require \"reject\";\nreject text: x\nabc\n.\n;", "2:14: expected end of line after text:"},
    {"elsif true {}", "1:1: elsif without if"},
    {"keep;\nelse { }", "2:1: else without if"},
    {"if true;", "1:1: if needs a block"},
    {"keep { }", "1:1: keep takes no block"},
    {"if (true, false) {}", "1:1: if needs one test"},
    {"if anyof true {}", "1:4: anyof needs a list of tests"},
    {"if not (true) {}", "1:4: not needs one test"},
    {"keep", "1:5: expected ';' or '{', got end of script"},
    {"if true { keep;", "1:16: expected '}', got end of script"},
    {"keep; }", "1:7: unexpected '}'"},
    {"if header [\"a\" \"b\"] \"c\" {}", "1:16: expected ',' or ']', got string"},
    {"keep;\nrequire \"fileinto\";", "2:1: require must come before other commands"},
    {"if true { require \"fileinto\"; }", "1:11: require must come before other commands"},
    {"require \"foo\";", "1:9: unsupported extension \"foo\""},
    /* Capability strings are case-sensitive (RFC 5228 §14). */
    {"require [\"fileinto\", \"FileInto\"];", "1:9: unsupported extension \"FileInto\""},
    {"require \"copy\"; redirect :copy :copy \"a@b\";",
     "1:32: tag :copy conflicts with an earlier tag"},
    {"if header :is :contains \"a\" \"b\" {}", "1:15: tag :contains conflicts with an earlier tag"},
    {"if header :comparator \"i;foo\" \"a\" \"b\" {}", "1:23: unknown comparator \"i;foo\""},
    {"if header :comparator {}", "1:11: :comparator needs a string"},
    {"require \"variables\"; set \"1a\" \"b\";", "1:26: bad variable name \"1a\""},
    {"require \"variables\"; set :lower :upper \"a\" \"b\";",
     "1:33: tag :upper conflicts with an earlier tag"},
    {"if size :over 99999999999999999999 {}", "1:15: number too large"},
    {"if size :over 17179869184G {}", "1:15: number too large"},
    {"require \"encoded-character\"; if header \"a\" \"${unicode:200000}\" {}",
     "1:44: encoded character out of range"},
    {"require \"encoded-character\"; if header \"a\" \"${Unicode:DF01}\" {}",
     "1:44: encoded character out of range"},
    {"require \"fileinto\"; fileinto \"x\" :copy;", "1:34: tag :copy after positional arguments"},
    {"require \"envelope\"; if envelope \"auth\" \"x\" {}", "1:33: unknown envelope part \"auth\""},
    {"require \"vacation\"; vacation :days \"x\" \"y\";", "1:30: :days needs a number"},
    {"keep; @", "1:7: unexpected character '@'"},
    {"keep;\n\x01", "2:1: unexpected byte 0x01"},
    {"redirect \"\xff\";", "1:10: string is not valid UTF-8"},
    {"if header : \"a\" {}", "1:11: bad tag"},
    {"redirect \"not an address\";", "1:10: bad redirect address \"not an address\""},
    {"redirect \"Name <a@b>\";", "1:10: bad redirect address \"Name <a@b>\""},
    {"if size :over 10X {}", "1:17: bad character after number"},
};

static void test_error_table(void)
{
	for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0]; i++) {
		const struct error_case *c = &error_cases[i];
		char err[256];
		struct sieve_script *s = NULL;
		int r = sieve_compile(c->script, strlen(c->script), NULL, &s, err, sizeof err);
		CHECK(r == -EINVAL && s == NULL && strcmp(err, c->want) == 0,
		      "error case %zu: %s\n  got  %d %s\n  want %s", i, c->script, r, err, c->want);
		sieve_script_free(&s);
	}
}

/* Generated scripts that hit the compile-time limits. */
static void test_compile_limits(void)
{
	char err[256];
	struct sieve_script *s = NULL;
	struct buf b = {0};

	/* Nesting: 20 nots; the 16th is one too deep. */
	buf_adds(&b, "if ");
	for (int i = 0; i < 20; i++)
		buf_adds(&b, "not ");
	buf_adds(&b, "true {}");
	CHECK(sieve_compile(b.data, b.len, NULL, &s, err, sizeof err) == -EINVAL, "deep");
	CHECK(strcmp(err, "1:64: nested too deep (at most 15)") == 0, "deep: %s", err);

	/* Nested blocks alike. */
	buf_reset(&b);
	for (int i = 0; i < 20; i++)
		buf_adds(&b, "if true {\n");
	CHECK(sieve_compile(b.data, b.len, NULL, &s, err, sizeof err) == -EINVAL, "deep blocks");
	CHECK(strcmp(err, "16:4: nested too deep (at most 15)") == 0, "deep blocks: %s", err);

	/* Too big. */
	buf_reset(&b);
	for (int i = 0; i < 70000; i++)
		buf_addc(&b, '#');
	CHECK(sieve_compile(b.data, b.len, NULL, &s, err, sizeof err) == -EINVAL, "big");
	CHECK(strcmp(err, "1:1: script too big (at most 65536 bytes)") == 0, "big: %s", err);

	/* A string list of 257. */
	buf_reset(&b);
	buf_adds(&b, "if header \"a\" [");
	for (int i = 0; i < 257; i++)
		buf_printf(&b, "%s\"k\"", i ? "," : "");
	buf_adds(&b, "] {}");
	CHECK(sieve_compile(b.data, b.len, NULL, &s, err, sizeof err) == -EINVAL, "list");
	CHECK(strcmp(err, "1:1040: too many strings in a list (at most 256)") == 0, "list: %s",
	      err);

	/* Too many commands, with a smaller limit. */
	struct sieve_limits lim;
	sieve_limits_default(&lim);
	lim.max_commands = 2;
	CHECK(sieve_compile("keep; keep; keep;", 17, &lim, &s, err, sizeof err) == -EINVAL, "cmds");
	CHECK(strcmp(err, "1:13: too many commands and tests (at most 2)") == 0, "cmds: %s", err);

	/* Too many variables. */
	sieve_limits_default(&lim);
	lim.max_variables = 3;
	const char *vars =
	    "require \"variables\"; set \"a\" \"\"; set \"b\" \"\"; set \"A\" \"\";\n"
	    "set \"c\" \"\"; set \"d\" \"\";";
	CHECK(sieve_compile(vars, strlen(vars), &lim, &s, err, sizeof err) == -EINVAL, "vars");
	CHECK(strcmp(err, "2:17: too many variables (at most 3)") == 0, "vars: %s", err);
	buf_free(&b);
}

/* Limits met while running: failed, an implicit keep, and quickly. */
static void test_run_limits(void)
{
	struct buf out = {0}, script = {0}, hdr = {0};
	/* 33 distinct actions. */
	buf_adds(&script, "require [\"fileinto\", \"copy\"];\n");
	for (int i = 0; i < 33; i++)
		buf_printf(&script, "fileinto :copy \"box%d\";\n", i);
	run_one(script.data, &msgs[0], NULL, &out, NULL);
	CHECK(strcmp(out.data, "FAILED(too many actions (at most 32)) implicit-keep") == 0,
	      "actions: %s", out.data);

	/* A pathological :matches over a long header, with 256 keys: the
	 * step budget stops it. */
	buf_adds(&hdr, "Subject: ");
	for (int i = 0; i < 20000; i++)
		buf_addc(&hdr, 'a');
	buf_adds(&hdr, "\n\n");
	struct msgdef big = {"big", hdr.data, "x@example.net", 30000};
	buf_reset(&script);
	buf_adds(&script, "if header :matches \"subject\" [");
	for (int i = 0; i < 256; i++)
		buf_printf(&script, "%s\"*a*a*a*a*a*a*a*a*a*a*a*a*b%d\"", i ? "," : "", i);
	buf_adds(&script, "] { discard; }");
	clock_t t0 = clock();
	run_one(script.data, &big, NULL, &out, NULL);
	double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	CHECK(strcmp(out.data, "FAILED(too many steps (at most 2000000)) implicit-keep") == 0,
	      "steps: %s", out.data);
	CHECK(secs < 2.0, "steps took %.2f s", secs);

	/* The same with a tiny budget on a plain script. */
	struct sieve_limits lim;
	sieve_limits_default(&lim);
	lim.max_steps = 10;
	run_one("if true { if true { if true { if true { if true { if true { discard; } } } } } }",
	        &msgs[0], &lim, &out, NULL);
	CHECK(strncmp(out.data, "FAILED(too many steps", 21) == 0, "tiny budget: %s", out.data);

	/* A variable's value is cut at max_variable_len, on a character. */
	sieve_limits_default(&lim);
	lim.max_variable_len = 5;
	run_one("require [\"variables\", \"fileinto\"]; set \"a\" \"abcd\xc3\xa9xyz\"; fileinto "
	        "\"${a}\";",
	        &msgs[0], &lim, &out, NULL);
	CHECK(strcmp(out.data, "fileinto:abcd") == 0, "cut: %s", out.data);
	buf_free(&out);
	buf_free(&script);
	buf_free(&hdr);
}

/* One compiled script, run many times: the same answer each time, and
 * the vacation handle depends on the parameters only. */
static void test_reuse_and_handle(void)
{
	const char *src = "require \"vacation\"; vacation :subject \"Out\" \"away\";";
	char err[256];
	struct sieve_script *s;
	CHECK(sieve_compile(src, strlen(src), NULL, &s, err, sizeof err) == 0, "compile: %s", err);
	struct sieve_message m;
	message(&msgs[0], &m);
	struct sieve_result r1, r2;
	CHECK(sieve_run(s, &m, &r1) == 0 && sieve_run(s, &m, &r2) == 0, "runs");
	CHECK(r1.n_actions == 2 && r2.n_actions == 2, "actions %zu %zu", r1.n_actions,
	      r2.n_actions);
	CHECK(strncmp(r1.actions[0].vacation_handle, "auto-", 5) == 0 &&
	          strcmp(r1.actions[0].vacation_handle, r2.actions[0].vacation_handle) == 0,
	      "handle %s", r1.actions[0].vacation_handle);
	sieve_result_free(&r2);
	sieve_script_free(&s);
	const char *other = "require \"vacation\"; vacation :subject \"Out\" \"back soon\";";
	CHECK(sieve_compile(other, strlen(other), NULL, &s, err, sizeof err) == 0, "compile2");
	CHECK(sieve_run(s, &m, &r2) == 0, "run2");
	CHECK(strcmp(r1.actions[0].vacation_handle, r2.actions[0].vacation_handle) != 0,
	      "another reason, another handle");
	sieve_result_free(&r1);
	sieve_result_free(&r2);
	sieve_script_free(&s);
	const char *given = "require \"vacation\"; vacation :handle \"h1\" \"away\";";
	CHECK(sieve_compile(given, strlen(given), NULL, &s, err, sizeof err) == 0, "compile3");
	CHECK(sieve_run(s, &m, &r1) == 0, "run3");
	CHECK(strcmp(r1.actions[0].vacation_handle, "h1") == 0, "given handle");
	CHECK(strcmp(r1.vacation_skipped, "") == 0, "not skipped");
	sieve_result_free(&r1);
	message(&msgs[2], &m);
	CHECK(sieve_run(s, &m, &r1) == 0, "run4");
	CHECK(strcmp(r1.vacation_skipped, "sender is a list") == 0, "skipped: %s",
	      r1.vacation_skipped);
	sieve_result_free(&r1);
	sieve_script_free(&s);
}

/* Every prefix of an RFC example either compiles or is refused with a
 * well-formed "LINE:COL: message" whose position lies within the prefix. */
static void check_prefixes(const char *name, const char *src, size_t len)
{
	for (size_t n = 0; n <= len; n++) {
		char err[256];
		struct sieve_script *s = NULL;
		int r = sieve_compile(src, n, NULL, &s, err, sizeof err);
		if (r == 0) {
			sieve_script_free(&s);
			continue;
		}
		int line = 0, col = 0, used = 0;
		bool ok = r == -EINVAL && sscanf(err, "%d:%d: %n", &line, &col, &used) == 2 &&
		          used > 0 && err[used] && line >= 1 && col >= 1;
		/* The position is inside the prefix, or just past its end. */
		int lines = 1;
		for (size_t i = 0; i < n; i++)
			lines += src[i] == '\n';
		ok = ok && line <= lines;
		if (!ok) {
			CHECK(0, "%s prefix %zu: %d %s", name, n, r, err);
			return;
		}
	}
	passed++;
}

struct thread_arg {
	const struct sieve_script *s;
	int bad;
};

static void *run_many(void *p)
{
	struct thread_arg *a = p;
	struct sieve_message m;
	message(&msgs[4 - (a->bad & 1)], &m);
	a->bad = 0;
	for (int i = 0; i < 200; i++) {
		struct sieve_result r;
		if (sieve_run(a->s, &m, &r) < 0 || r.failed || r.n_actions != 1 ||
		    r.actions[0].kind != SIEVE_FILEINTO)
			a->bad++;
		sieve_result_free(&r);
	}
	return NULL;
}

/* One script run from four threads at once (a compiled script is only
 * read): every run gives its answer. */
static void test_threads(void)
{
	const char *src = "require [\"fileinto\", \"variables\", \"imap4flags\"];\n"
	                  "if header :matches \"subject\" \"*\" { set \"s\" \"${1}\"; }\n"
	                  "addflag \"X\"; fileinto \"box-${s}\";";
	char err[256];
	struct sieve_script *s;
	CHECK(sieve_compile(src, strlen(src), NULL, &s, err, sizeof err) == 0, "compile: %s", err);
	pthread_t t[4];
	struct thread_arg a[4];
	for (int i = 0; i < 4; i++) {
		a[i] = (struct thread_arg){s, i};
		CHECK(pthread_create(&t[i], NULL, run_many, &a[i]) == 0, "thread");
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CHECK(a[i].bad == 0, "thread %d: %d bad runs", i, a[i].bad);
	}
	sieve_script_free(&s);
}

/* Every RFC example in the seed corpus compiles, except the ones the
 * RFCs themselves got wrong, which fail as listed. */
static void test_rfc_examples(void)
{
	static const struct {
		const char *file;
		const char *error;
	} broken[] = {
	    /* RFC 5232 §9 writes "elsif anyof address ..." (no test list). */
	    {"rfc5232_9_extended.sieve", "46:7: anyof needs a list of tests"},
	    /* RFC 5429 §2.3 uses spamtest and i;ascii-numeric, not implemented. */
	    {"rfc5429_2.3_spamtest.sieve", "1:9: unsupported extension \"spamtest\""},
	};
	const char *dir = "tests/fuzz/corpus/fuzz_sieve";
	DIR *d = opendir(dir);
	CHECK(d != NULL, "open %s", dir);
	if (!d)
		return;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strstr(e->d_name, ".sieve"))
			continue;
		char path[512];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		FILE *f = fopen(path, "rb");
		CHECK(f != NULL, "open %s", path);
		if (!f)
			continue;
		static char src[70000];
		size_t len = fread(src, 1, sizeof src, f);
		fclose(f);
		char err[256];
		struct sieve_script *s = NULL;
		int r = sieve_compile(src, len, NULL, &s, err, sizeof err);
		const char *want = NULL;
		for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++)
			if (strcmp(broken[i].file, e->d_name) == 0)
				want = broken[i].error;
		if (want) {
			CHECK(r == -EINVAL && strcmp(err, want) == 0, "%s: %s", e->d_name, err);
		} else {
			CHECK(r == 0, "%s: %s", e->d_name, err);
			/* And it runs over every message. */
			for (size_t m = 0; r == 0 && m < sizeof msgs / sizeof msgs[0]; m++) {
				struct sieve_message msg;
				message(&msgs[m], &msg);
				struct sieve_result res;
				CHECK(sieve_run(s, &msg, &res) == 0 && res.n_actions >= 1,
				      "%s over %s", e->d_name, msgs[m].name);
				sieve_result_free(&res);
			}
		}
		sieve_script_free(&s);
		check_prefixes(e->d_name, src, len);
		n++;
	}
	closedir(d);
	CHECK(n >= 36, "%d examples", n);
}

/* Every extension sieve_extensions() names can be required, and the list
 * is exactly the table's. */
static void test_extensions(void)
{
	const char *list = sieve_extensions();
	int n = 0;
	for (const char *p = list; *p;) {
		const char *e = strchr(p, ' ');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		char src[128], err[256];
		snprintf(src, sizeof src, "require \"%.*s\";", (int)len, p);
		struct sieve_script *s = NULL;
		CHECK(sieve_compile(src, strlen(src), NULL, &s, err, sizeof err) == 0, "%s: %s",
		      src, err);
		sieve_script_free(&s);
		n++;
		p += len + (e ? 1 : 0);
	}
	CHECK(n == 12, "%d extensions", n);
}

int main(void)
{
	test_extensions();
	test_run_table();
	test_error_table();
	test_compile_limits();
	test_run_limits();
	test_reuse_and_handle();
	test_rfc_examples();
	test_threads();
	return check_report("test_sieve");
}
