/* test_mta_sts: the MTA-STS TXT record and policy parsers and the MX
 * pattern match (mailauth/mta_sts_policy.c), with RFC 8461's examples. */
#include "mailauth/mta_sts_policy.h"

#include <string.h>

#include "check.h"

#define S(x) x, sizeof(x) - 1

static void test_txt(void)
{
	char id[MTA_STS_ID_MAX + 1];
	CHECK(mta_sts_parse_txt(S("v=STSv1; id=20160831085700Z;"), id) == 0 &&
	          strcmp(id, "20160831085700Z") == 0,
	      "RFC example");
	CHECK(mta_sts_parse_txt(S("v=STSv1;id=abc"), id) == 0 && strcmp(id, "abc") == 0,
	      "no spaces, no final ;");
	CHECK(mta_sts_parse_txt(S("v=STSv1; ext-1=x; id=a1 ;"), id) == 0, "extension field");
	const char *bad[] = {"v=STSv2; id=1",
	                     "id=1; v=STSv1",
	                     "v=STSv1",
	                     "v=STSv1; id=",
	                     "v=STSv1; id=a-b",
	                     "v=STSv1; id=123456789012345678901234567890123",
	                     "v=STSv1; id=1; id=2",
	                     "v=spf1 -all",
	                     "v=STSv1; =x; id=1",
	                     ""};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(mta_sts_parse_txt(bad[i], strlen(bad[i]), id) == -1, "refused: %s", bad[i]);
}

static void test_policy(void)
{
	struct mta_sts_policy p;
	const char *why;
	const char ok[] = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\n"
	                  "mx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n";
	CHECK(mta_sts_parse_policy(S(ok), &p, &why) == 0, "RFC example: %s", why ? why : "");
	CHECK(p.mode == MTA_STS_ENFORCE && p.max_age == 604800 && p.nmx == 3, "fields");
	CHECK(mta_sts_mx_matches(&p, "mail.example.com"), "exact");
	CHECK(mta_sts_mx_matches(&p, "MAIL.Example.COM."), "case, trailing dot");
	CHECK(mta_sts_mx_matches(&p, "mx1.example.net"), "wildcard, one label");
	CHECK(!mta_sts_mx_matches(&p, "example.net"), "wildcard needs a label");
	CHECK(!mta_sts_mx_matches(&p, "a.b.example.net"), "wildcard: only one label");
	CHECK(!mta_sts_mx_matches(&p, "evil.com"), "other");
	CHECK(!mta_sts_mx_matches(&p, "xmail.example.com"), "no suffix match without wildcard");

	CHECK(mta_sts_parse_policy(S("version: STSv1\nmode: testing\nmx: a.b\nmax_age: "
	                             "99999999999\nfoo: bar\n"),
	                           &p, &why) == -1,
	      "11-digit max_age refused");
	CHECK(mta_sts_parse_policy(S("version: STSv1\nmode: testing\nmx: a.b\nmax_age: "
	                             "9999999999\nfoo: bar\n"),
	                           &p, &why) == 0 &&
	          p.mode == MTA_STS_TESTING && p.max_age == MTA_STS_MAX_AGE,
	      "max_age clamped to a year, LF only, unknown key ignored");
	CHECK(mta_sts_parse_policy(S("version: STSv1\nmode: none\nmax_age: 1\n"), &p, &why) == 0 &&
	          p.mode == MTA_STS_NONE,
	      "none without mx");
	struct {
		const char *text, *why;
	} bad[] = {
	    {"mode: enforce\nmx: a.b\nmax_age: 1\n", "no version"},
	    {"version: STSv2\nmode: enforce\nmx: a.b\nmax_age: 1\n", "bad version"},
	    {"version: STSv1\nmode: strict\nmx: a.b\nmax_age: 1\n", "bad mode"},
	    {"version: STSv1\nmode: enforce\nmax_age: 1\n", "no mx"},
	    {"version: STSv1\nmode: enforce\nmx: a.b\n", "no max_age"},
	    {"version: STSv1\nmode: enforce\nmx: a.b\nmax_age: -1\n", "bad max_age"},
	    {"version: STSv1\nmode: enforce\nmx: a..b\nmax_age: 1\n", "bad mx pattern"},
	    {"version: STSv1\nmode: enforce\nmx: *.\nmax_age: 1\n", "bad mx pattern"},
	    {"version: STSv1\nmode: enforce\nmx: a.*.b\nmax_age: 1\n", "bad mx pattern"},
	    {"version: STSv1\ngarbage\n", "a line without a colon"},
	    {"version: STSv1\nmode: enforce\nmode: none\nmx: a.b\nmax_age: 1\n", "mode twice"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(mta_sts_parse_policy(bad[i].text, strlen(bad[i].text), &p, &why) == -1 &&
		          why && strcmp(why, bad[i].why) == 0,
		      "refused (%s): got %s", bad[i].why, why ? why : "accepted");

	/* Bounded: many mx lines keep MTA_STS_MAX_MX. */
	char big[8192];
	size_t n = (size_t)snprintf(big, sizeof big, "version: STSv1\nmode: enforce\nmax_age: 5\n");
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(big + n, sizeof big - n, "mx: mx%d.example\n", i);
	CHECK(mta_sts_parse_policy(big, n, &p, &why) == 0 && p.nmx == MTA_STS_MAX_MX,
	      "mx lines bounded");
	CHECK(mta_sts_parse_policy(big, MTA_STS_MAX_POLICY + 1, &p, &why) == -1, "size bounded");
}

int main(void)
{
	test_txt();
	test_policy();
	return check_report("test_mta_sts");
}
