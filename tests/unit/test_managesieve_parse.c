/* test_managesieve_parse: the ManageSieve command grammar (proto/sieve/
 * parse.c): quoted strings and their escapes, both literal forms, asked
 * for one line at a time as the session asks, numbers, SASL responses, and
 * what is refused. */
#include "proto/sieve/parse.h"

#include <string.h>

#include "check.h"

static char out[4096];
static const char *why;
static uint64_t lit;

static enum msieve_parse_status parse(const char *text, bool verb, struct msieve_cmd *c)
{
	lit = 0;
	why = NULL;
	return msieve_parse(text, strlen(text), verb, c, out, &lit, &why);
}

static bool arg_is(const struct msieve_cmd *c, size_t i, const char *want)
{
	return i < c->nargs && c->args[i].kind == MSIEVE_ARG_STRING &&
	       c->args[i].len == strlen(want) && memcmp(c->args[i].str, want, c->args[i].len) == 0;
}

int main(void)
{
	struct msieve_cmd c;

	CHECK(parse("capability\r\n", true, &c) == MSIEVE_PARSE_DONE &&
	          strcmp(c.verb, "CAPABILITY") == 0 && c.nargs == 0,
	      "a bare verb, upper-cased");
	CHECK(parse("PUTSCRIPT \"a b\" \"x\\\"y\\\\z\"\r\n", true, &c) == MSIEVE_PARSE_DONE &&
	          arg_is(&c, 0, "a b") && arg_is(&c, 1, "x\"y\\z") && !c.args[1].literal,
	      "quoted strings with escapes");
	CHECK(parse("SETACTIVE \"\"\r\n", true, &c) == MSIEVE_PARSE_DONE && arg_is(&c, 0, ""),
	      "an empty string");
	CHECK(parse("HAVESPACE \"s\" 4294967295\r\n", true, &c) == MSIEVE_PARSE_DONE &&
	          c.args[1].kind == MSIEVE_ARG_NUMBER && c.args[1].num == 4294967295u,
	      "the largest number");
	CHECK(parse("HAVESPACE \"s\" 4294967296\r\n", true, &c) == MSIEVE_PARSE_ERROR &&
	          strcmp(why, "bad number") == 0,
	      "a number over 32 bits");

	/* literals, asked for as the session asks: after the header line... */
	CHECK(parse("PUTSCRIPT \"s\" {5+}\r\n", true, &c) == MSIEVE_PARSE_LITERAL && lit == 5,
	      "a non-synchronizing literal's header");
	CHECK(parse("PUTSCRIPT \"s\" {5}\r\n", true, &c) == MSIEVE_PARSE_LITERAL && lit == 5,
	      "a synchronizing literal's header");
	/* ...then with its octets and the rest of the line */
	CHECK(parse("PUTSCRIPT \"s\" {7+}\r\nkeep;\r\n\r\n", true, &c) == MSIEVE_PARSE_DONE &&
	          arg_is(&c, 1, "keep;\r\n") && c.args[1].literal,
	      "a literal holding CRLF");
	CHECK(parse("PUTSCRIPT {1+}\r\na {0}\r\n\r\n", true, &c) == MSIEVE_PARSE_DONE &&
	          arg_is(&c, 0, "a") && arg_is(&c, 1, ""),
	      "two literals, one empty");
	CHECK(parse("PUTSCRIPT {0+}\r\n", true, &c) == MSIEVE_PARSE_LITERAL && lit == 0,
	      "an empty literal still waits for the rest of its line");
	CHECK(parse("X {5+} \r\n", true, &c) == MSIEVE_PARSE_ERROR, "a literal header not at EOL");
	CHECK(parse("X {+}\r\n", true, &c) == MSIEVE_PARSE_ERROR &&
	          strcmp(why, "bad literal size") == 0,
	      "a literal without a size");
	CHECK(parse("X {99999999999+}\r\n", true, &c) == MSIEVE_PARSE_ERROR,
	      "a literal size over 32 bits");

	/* what is refused */
	CHECK(parse("\r\n", true, &c) == MSIEVE_PARSE_ERROR, "an empty line");
	CHECK(parse("NOOP  \"x\"\r\n", true, &c) == MSIEVE_PARSE_ERROR, "two spaces");
	CHECK(parse("NOOP \"x\" \r\n", true, &c) == MSIEVE_PARSE_ERROR, "a trailing space");
	CHECK(parse("NOOP x\r\n", true, &c) == MSIEVE_PARSE_ERROR, "an atom argument");
	CHECK(parse("NOOP \"x\r\n", true, &c) == MSIEVE_PARSE_ERROR, "an unterminated string");
	CHECK(parse("NOOP \"\\n\"\r\n", true, &c) == MSIEVE_PARSE_ERROR, "an unknown escape");
	CHECK(parse("N \"1\" \"2\" \"3\" \"4\" \"5\"\r\n", true, &c) == MSIEVE_PARSE_ERROR &&
	          strcmp(why, "too many arguments") == 0,
	      "five arguments");
	CHECK(parse("ABCDEFGHIJKLMNOPQ\r\n", true, &c) == MSIEVE_PARSE_ERROR, "a verb too long");
	char big[1200];
	memset(big, 'a', sizeof big);
	memcpy(big, "NOOP \"", 6);
	memcpy(big + 6 + 1025, "\"\r\n", 4);
	CHECK(parse(big, true, &c) == MSIEVE_PARSE_ERROR &&
	          strcmp(why, "quoted string too long") == 0,
	      "a quoted string of 1025 octets");
	big[6 + 1024] = '"';
	memcpy(big + 6 + 1025, "\r\n", 3);
	CHECK(parse(big, true, &c) == MSIEVE_PARSE_DONE && c.args[0].len == 1024,
	      "a quoted string of 1024 octets");

	/* SASL responses: one string, no verb */
	CHECK(parse("\"AGEAYg==\"\r\n", false, &c) == MSIEVE_PARSE_DONE && c.verb[0] == '\0' &&
	          arg_is(&c, 0, "AGEAYg=="),
	      "a quoted response");
	CHECK(parse("{4+}\r\nAAAA\r\n", false, &c) == MSIEVE_PARSE_DONE && arg_is(&c, 0, "AAAA"),
	      "a literal response");
	CHECK(parse("\"a\" \"b\"\r\n", false, &c) == MSIEVE_PARSE_ERROR, "two strings");
	CHECK(parse("AUTH\r\n", false, &c) == MSIEVE_PARSE_ERROR, "an atom");
	CHECK(parse("1\r\n", false, &c) == MSIEVE_PARSE_ERROR, "a number");

	/* msieve_arg_text: names hold no NUL */
	CHECK(parse("GETSCRIPT {3+}\r\na\0b\r\n", true, &c) == MSIEVE_PARSE_ERROR,
	      "a literal cut short");
	const char nul[] = "GETSCRIPT {3+}\r\na\0b\r\n";
	CHECK(msieve_parse(nul, sizeof nul - 1, true, &c, out, &lit, &why) == MSIEVE_PARSE_DONE &&
	          c.args[0].len == 3 && msieve_arg_text(&c.args[0]) == NULL,
	      "a literal with a NUL is no name");
	CHECK(parse("GETSCRIPT \"ab\"\r\n", true, &c) == MSIEVE_PARSE_DONE &&
	          strcmp(msieve_arg_text(&c.args[0]), "ab") == 0,
	      "a name");
	return check_report("test_managesieve_parse");
}
