/* test_dsn: RFC 3464 report structure, RET/ENVID/ORCPT, and the policy
 * (never bounce a bounce, NOTIFY). */
#include "relay/dsn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c);      \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

#define ORIG "From: s@a.test\r\nTo: x@b.test\r\nSubject: hello\r\n\r\nsecret body\r\n"

static void test_build(bool full)
{
	struct dsn_rcpt r[2] = {
	    {.rcpt = "x@b.test",
	     .orcpt = "rfc822;X@b.test",
	     .action = DSN_FAILED,
	     .status = "5.1.1",
	     .remote_mta = "mx.b.test",
	     .diagnostic = "550 5.1.1 no such user",
	     .reason = "no such user"},
	    {.rcpt = "y@b.test",
	     .action = DSN_FAILED,
	     .status = "5.2.2",
	     .diagnostic = "552 5.2.2 over quota"},
	};
	struct dsn_info in = {
	    .reporting_mta = "mail.a.test",
	    .postmaster = "MAILER-DAEMON@mail.a.test",
	    .to = "s@a.test",
	    .envid = "ENV-42",
	    .ret_full = full,
	    .arrival = 1700000000,
	    .original = ORIG,
	    .original_len = strlen(ORIG),
	    .rcpts = r,
	    .nrcpts = 2,
	};
	size_t len;
	char *m = dsn_build(&in, &len);
	CHECK(m && strlen(m) == len);
	CHECK(strstr(m, "Content-Type: multipart/report; report-type=delivery-status;"));
	CHECK(strstr(m, "Content-Type: message/delivery-status\r\n"));
	CHECK(strstr(m, "Reporting-MTA: dns; mail.a.test\r\n"));
	CHECK(strstr(m, "Original-Envelope-Id: ENV-42\r\n"));
	CHECK(strstr(m, "Original-Recipient: rfc822;X@b.test\r\n"));
	CHECK(
	    strstr(m, "Final-Recipient: rfc822; x@b.test\r\nAction: failed\r\nStatus: 5.1.1\r\n"));
	CHECK(strstr(m, "Remote-MTA: dns; mx.b.test\r\n"));
	CHECK(strstr(m, "Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n"));
	CHECK(strstr(m, "Final-Recipient: rfc822; y@b.test\r\n"));
	CHECK(strstr(m, "Status: 5.2.2\r\n"));
	CHECK(strstr(m, "To: <s@a.test>\r\n"));
	CHECK(strstr(m, "Auto-Submitted: auto-replied\r\n"));
	CHECK(strstr(m, "Subject: hello\r\n"));
	if (full) {
		CHECK(strstr(m, "Content-Type: message/rfc822\r\n"));
		CHECK(strstr(m, "secret body"));
	} else {
		CHECK(strstr(m, "Content-Type: text/rfc822-headers\r\n"));
		CHECK(!strstr(m, "secret body"));
	}
	/* Every line CRLF-terminated and short. */
	for (size_t i = 0, col = 0; i < len; i++) {
		if (m[i] == '\n') {
			CHECK(i > 0 && m[i - 1] == '\r');
			col = 0;
		} else if (++col > 998) {
			CHECK(!"line too long");
			break;
		}
	}
	free(m);
}

static void test_relayed(void)
{
	struct dsn_rcpt r = {.rcpt = "x@b.test",
	                     .action = DSN_RELAYED,
	                     .status = "2.0.0",
	                     .remote_mta = "mx.b.test",
	                     .diagnostic = "250 ok"};
	struct dsn_info in = {.reporting_mta = "m",
	                      .postmaster = "p@m",
	                      .to = "s@a.test",
	                      .original = ORIG,
	                      .original_len = strlen(ORIG),
	                      .rcpts = &r,
	                      .nrcpts = 1};
	size_t len;
	char *m = dsn_build(&in, &len);
	CHECK(m && strstr(m, "Subject: Successful Mail Delivery Report\r\n"));
	CHECK(m && strstr(m, "Action: relayed\r\nStatus: 2.0.0\r\n"));
	free(m);
}

static void test_policy(void)
{
	CHECK(!dsn_wanted("", NULL, DSN_FAILED)); /* never bounce a bounce */
	CHECK(dsn_wanted("s@a", NULL, DSN_FAILED));
	CHECK(dsn_wanted("s@a", NULL, DSN_DELAYED));
	CHECK(!dsn_wanted("s@a", NULL, DSN_DELIVERED));
	CHECK(!dsn_wanted("s@a", "NEVER", DSN_FAILED));
	CHECK(dsn_wanted("s@a", "SUCCESS,FAILURE", DSN_FAILED));
	CHECK(!dsn_wanted("s@a", "SUCCESS", DSN_FAILED));
	CHECK(!dsn_wanted("s@a", "FAILURE", DSN_DELAYED));
	char st[16];
	dsn_status_from_reply(550, "", st);
	CHECK(strcmp(st, "5.0.0") == 0);
	dsn_status_from_reply(451, NULL, st);
	CHECK(strcmp(st, "4.0.0") == 0);
	dsn_status_from_reply(550, "5.7.1", st);
	CHECK(strcmp(st, "5.7.1") == 0);
}

int main(void)
{
	test_build(false);
	test_build(true);
	test_relayed();
	test_policy();
	if (failures) {
		fprintf(stderr, "test_dsn: %d failure(s)\n", failures);
		return 1;
	}
	printf("test_dsn: ok\n");
	return 0;
}
