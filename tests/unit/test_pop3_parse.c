/* test_pop3_parse: command splitting, message numbers, the IN-USE registry
 * and the command table. */
#include "proto/pop3/lock.h"
#include "proto/pop3/parse.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

static int parse(const char *text, struct pop3_cmd *cmd, char *buf)
{
	size_t len = strlen(text);
	memcpy(buf, text, len + 1);
	return pop3_parse(buf, len, cmd);
}

int main(void)
{
	struct pop3_cmd c;
	char buf[256];

	CHECK(parse("stat", &c, buf) == 0 && strcmp(c.verb, "STAT") == 0 && c.nargs == 0, "stat");
	CHECK(parse("ReTr 1", &c, buf) == 0 && strcmp(c.verb, "RETR") == 0 && c.nargs == 1 &&
	          strcmp(c.args[0], "1") == 0,
	      "retr 1");
	CHECK(parse("TOP 1 10", &c, buf) == 0 && c.nargs == 2 && strcmp(c.args[1], "10") == 0,
	      "top");
	CHECK(parse("TOP  1   10  ", &c, buf) == 0 && c.nargs == 2 && strcmp(c.args[0], "1") == 0 &&
	          strcmp(c.args[1], "10") == 0,
	      "extra spaces");
	CHECK(parse("LIST 1 2 3", &c, buf) == 0 && c.too_many, "too many");
	CHECK(parse("PASS my secret pw", &c, buf) == 0 && c.too_many && c.rest_off == 5,
	      "pass rest_off %zu", c.rest_off);
	CHECK(parse("PASS", &c, buf) == 0 && c.rest_off == 4, "pass no arg");
	CHECK(parse("", &c, buf) == -EINVAL, "empty");
	CHECK(parse(" STAT", &c, buf) == -EINVAL, "leading space");
	CHECK(parse("STATS", &c, buf) == -EINVAL, "5-letter verb");
	CHECK(parse("ST1T", &c, buf) == -EINVAL, "digit in verb");
	CHECK(parse("USER a\x01", &c, buf) == -EINVAL, "control byte");
	CHECK(parse("USER a\x7f", &c, buf) == -EINVAL, "DEL byte");
	{
		char nul[] = "USER a\0b";
		CHECK(pop3_parse(nul, 8, &c) == -EINVAL, "NUL byte");
	}

	uint32_t n;
	CHECK(pop3_parse_msgnum("1", 5, &n) == 0 && n == 1, "msgnum 1");
	CHECK(pop3_parse_msgnum("5", 5, &n) == 0 && n == 5, "msgnum max");
	CHECK(pop3_parse_msgnum("6", 5, &n) == -ERANGE, "msgnum above");
	CHECK(pop3_parse_msgnum("0", 5, &n) == -ERANGE, "msgnum 0");
	CHECK(pop3_parse_msgnum("007", 10, &n) == 0 && n == 7, "leading zeros");
	CHECK(pop3_parse_msgnum("-1", 5, &n) == -EINVAL, "negative");
	CHECK(pop3_parse_msgnum("+1", 5, &n) == -EINVAL, "plus");
	CHECK(pop3_parse_msgnum("1x", 5, &n) == -EINVAL, "junk");
	CHECK(pop3_parse_msgnum("", 5, &n) == -EINVAL, "empty");
	CHECK(pop3_parse_msgnum("99999999999999999999999", 5, &n) == -ERANGE, "overflow");
	CHECK(pop3_parse_msgnum("4294967297", 0xffffffffu, &n) == -ERANGE, "above u32");
	CHECK(pop3_parse_msgnum("1", 0, &n) == -ERANGE, "empty maildrop");

	int64_t lines;
	CHECK(pop3_parse_count("0", &lines) == 0 && lines == 0, "count 0");
	CHECK(pop3_parse_count("99999999999999999999999", &lines) == 0 && lines == INT64_MAX,
	      "count saturates");
	CHECK(pop3_parse_count("-1", &lines) == -EINVAL, "count negative");

	CHECK(pop3_lock_acquire(7), "lock 7");
	CHECK(!pop3_lock_acquire(7), "lock 7 again");
	CHECK(pop3_lock_acquire(8), "lock 8");
	CHECK(pop3_lock_count() == 2, "count 2");
	pop3_lock_release(7);
	CHECK(pop3_lock_acquire(7), "lock 7 after release");
	pop3_lock_release(7);
	pop3_lock_release(8);
	pop3_lock_release(9);
	CHECK(pop3_lock_count() == 0, "count 0");
	for (int i = 0; i < 1000; i++)
		CHECK(pop3_lock_acquire(i), "many %d", i);
	for (int i = 0; i < 1000; i++)
		pop3_lock_release(i);
	CHECK(pop3_lock_count() == 0, "all released");

	printf("test_pop3_parse: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
