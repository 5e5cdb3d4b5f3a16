/* test_jmap_push_query: the EventSource URL's query (jmap_push.c):
 * types "*" or a list (unknown names ignored, empty or dangling commas
 * refused), closeafter state|no, ping off, clamped or refused. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "proto/http/http_int.h"

#define MAILBOX 0x1u
#define EMAIL 0x2u
#define THREAD 0x4u

static int parse(const char *query, struct http_push_query *q)
{
	char err[120] = "";
	int r = http_push_parse_query(query, q, err, sizeof err);
	if (r < 0)
		CHECK(err[0] != '\0', "%s: refused without a message", query);
	return r;
}

int main(void)
{
	struct http_push_query q;
	CHECK_THAT(parse("types=*&closeafter=no&ping=0", &q) == 0);
	CHECK_THAT(q.types == HTTP_PUSH_TYPES && !q.close_after_state && q.ping_s == 0);
	CHECK_THAT(parse("types=Email,Mailbox&closeafter=state&ping=30", &q) == 0);
	CHECK_THAT(q.types == (EMAIL | MAILBOX) && q.close_after_state && q.ping_s == 30);
	CHECK_THAT(parse("types=Thread,EmailDelivery", &q) == 0);
	CHECK_THAT(q.types == THREAD && !q.close_after_state && q.ping_s == 0);
	CHECK_THAT(parse("types=EmailSubmission", &q) == 0 && q.types == 0);
	CHECK_THAT(parse("types=Email%2CThread", &q) == 0 && q.types == (EMAIL | THREAD));
	/* the clamp */
	CHECK_THAT(parse("types=*&ping=1", &q) == 0 && q.ping_s == HTTP_PUSH_PING_MIN);
	CHECK_THAT(parse("types=*&ping=86400", &q) == 0 && q.ping_s == HTTP_PUSH_PING_MAX);
	CHECK_THAT(parse("types=*&ping=007", &q) == 0 && q.ping_s == 7);
	/* refused */
	static const char *const bad[] = {
	    "",
	    "closeafter=no",
	    "types=",
	    "types=,Email",
	    "types=Email,",
	    "types=Email,,Thread",
	    "types=*&closeafter=yes",
	    "types=*&closeafter=",
	    "types=*&ping=",
	    "types=*&ping=-5",
	    "types=*&ping=5s",
	    "types=*&ping=+5",
	    "types=*&ping=1234567890",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(parse(bad[i], &q) < 0, "%s: accepted", bad[i]);
	/* a types value longer than the parser's buffer is refused, not cut */
	char longq[600] = "types=";
	for (int i = 0; i < 80; i++)
		strcat(longq, "Email,");
	strcat(longq, "Email");
	CHECK_THAT(parse(longq, &q) < 0);
	return check_report("test_jmap_push_query");
}
