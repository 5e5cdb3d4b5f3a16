/* test_auth_results: the Authentication-Results field we prepend (RFC 8601)
 * and the recognition of incoming fields that claim our authserv-id. */
#include "mailauth/auth_results.h"

#include <string.h>

#include "check.h"

static void expect(const struct auth_results *ar, const char *want, const char *what)
{
	struct buf b = {0};
	int rc = auth_results_format(ar, &b);
	buf_addc(&b, '\0');
	CHECK(rc == 0 && strcmp(b.data, want) == 0, "%s:\n got  [%s]\n want [%s]", what, b.data,
	      want);
	buf_free(&b);
}

static void test_format(void)
{
	struct auth_results ar = {.authserv_id = "mx.example.net"};
	expect(&ar, "Authentication-Results: mx.example.net; none\r\n", "nothing checked");

	ar.spf_checked = true;
	ar.spf = SPF_PASS;
	ar.spf_mail_from = "alice@example.com";
	ar.spf_helo = "mail.example.com";
	expect(&ar,
	       "Authentication-Results: mx.example.net;\r\n\tspf=pass "
	       "smtp.mailfrom=alice@example.com\r\n",
	       "spf mailfrom");

	ar.spf = SPF_SOFTFAIL;
	ar.spf_mail_from = "";
	expect(&ar,
	       "Authentication-Results: mx.example.net;\r\n\tspf=softfail "
	       "smtp.helo=mail.example.com\r\n",
	       "spf helo for the null sender");

	ar.spf_mail_from = "odd\"local(x)@example.com";
	expect(&ar,
	       "Authentication-Results: mx.example.net;\r\n\tspf=softfail "
	       "smtp.mailfrom=\"odd\\\"local(x)@example.com\"\r\n",
	       "quoted mailfrom");

	struct dkim_sig_result d1 = {.result = DKIM_PASS, .reason = ""};
	strcpy(d1.domain, "example.com");
	strcpy(d1.selector, "sel1");
	strcpy(d1.b, "abc/de+f");
	struct dkim_sig_result d2 = {.result = DKIM_FAIL, .reason = "body hash mismatch"};
	strcpy(d2.domain, "example.org");
	strcpy(d2.selector, "s2");
	strcpy(d2.b, "XyZ12345");
	ar.spf = SPF_FAIL;
	ar.spf_mail_from = "bob@example.org";
	ar.dkim_checked = true;
	ar.ndkim = 2;
	ar.dkim[0] = &d1;
	ar.dkim[1] = &d2;
	ar.dmarc_checked = true;
	ar.dmarc = DMARC_FAIL;
	ar.dmarc_from = "example.org";
	ar.dmarc_policy = "reject";
	expect(&ar,
	       "Authentication-Results: mx.example.net;\r\n"
	       "\tspf=fail smtp.mailfrom=bob@example.org;\r\n"
	       "\tdkim=pass header.d=example.com header.s=sel1 header.b=\"abc/de+f\";\r\n"
	       "\tdkim=fail reason=\"body hash mismatch\" header.d=example.org header.s=s2 "
	       "header.b=XyZ12345;\r\n"
	       "\tdmarc=fail header.from=example.org policy.dmarc=reject\r\n",
	       "all three");

	struct auth_results none = {.authserv_id = "mx", .dkim_checked = true};
	expect(&none, "Authentication-Results: mx;\r\n\tdkim=none\r\n", "dkim none");
}

static void test_arc(void)
{
	struct auth_results ar = {.authserv_id = "mx", .arc_checked = true};
	expect(&ar, "Authentication-Results: mx;\r\n\tarc=none\r\n", "arc pending is none");
	ar.arc = ARC_NONE;
	ar.arc_remote_ip = "192.0.2.1";
	expect(&ar, "Authentication-Results: mx;\r\n\tarc=none\r\n", "no remote-ip for none");
	ar.arc = ARC_PASS;
	ar.arc_oldest_pass = 1;
	expect(&ar, "Authentication-Results: mx;\r\n\tarc=pass smtp.remote-ip=192.0.2.1\r\n",
	       "arc pass, every AMS verified");
	ar.arc_oldest_pass = 2;
	ar.arc_remote_ip = "2001:db8::1";
	expect(&ar,
	       "Authentication-Results: mx;\r\n\tarc=pass header.oldest-pass=2 "
	       "smtp.remote-ip=\"2001:db8::1\"\r\n",
	       "arc pass with an older AMS broken, IPv6 quoted");
	ar.arc = ARC_FAIL;
	ar.arc_remote_ip = NULL;
	expect(&ar, "Authentication-Results: mx;\r\n\tarc=fail\r\n", "arc fail");

	ar.arc = ARC_PASS;
	ar.arc_oldest_pass = 0;
	ar.dmarc_checked = true;
	ar.dmarc = DMARC_FAIL;
	ar.dmarc_from = "example.org";
	ar.dmarc_policy = "reject";
	ar.dmarc_comment = "arc=pass as[1].d=list.example as[1].s=s(1)\\\r";
	expect(&ar,
	       "Authentication-Results: mx;\r\n\tarc=pass;\r\n"
	       "\tdmarc=fail (arc=pass as[1].d=list.example as[1].s=s\\(1\\)\\\\) "
	       "header.from=example.org policy.dmarc=reject\r\n",
	       "dmarc overridden by arc, comment escaped");
}

static void test_ours(void)
{
	const char *id = "mx.example.net";
#define OURS(v) auth_results_is_ours(v, strlen(v), id)
	CHECK(OURS(" mx.example.net; spf=pass"), "plain");
	CHECK(OURS(" MX.Example.NET; dkim=pass"), "case-insensitive");
	CHECK(OURS("mx.example.net 1; none"), "with a version");
	CHECK(OURS(" (forged) mx.example.net;\r\n\tspf=pass"), "a comment first");
	CHECK(OURS(" \"mx.example.net\"; spf=pass"), "quoted");
	CHECK(OURS("\r\n mx.example.net(c);none"), "folded, comment after");
	CHECK(!OURS(" mx.example.net.evil; spf=pass"), "longer id");
	CHECK(!OURS(" other.example; spf=pass smtp.mailfrom=mx.example.net"), "other id");
	CHECK(!OURS(""), "empty");
	CHECK(!OURS(" (unclosed comment mx.example.net;"), "unclosed comment");
	CHECK(!auth_results_is_ours(" x;", 3, ""), "no id of ours");
#undef OURS
}

int main(void)
{
	test_format();
	test_arc();
	test_ours();
	return check_report("test_auth_results");
}
