/* test_log: the JSON log format (lib/log.c log_json_line): every line is
 * one object that a strict parser (jansson) reads, whatever bytes a client
 * put into a logged value: quotes, backslashes, control bytes, bytes that
 * are not UTF-8, values cut short, bodies too big for the line. */
#include "lib/log.h"
#include "tests/unit/check.h"

#include <jansson.h>
#include <string.h>

static json_t *parse_line(const char *line, size_t n)
{
	CHECK(n > 2 && line[n - 1] == '\n' && line[n - 2] == '}', "line ends in }\\n: %s", line);
	json_error_t err;
	json_t *j = json_loadb(line, n, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &err);
	CHECK(j && json_is_object(j), "parses: %s (%s)", line, err.text);
	return j;
}

static json_t *convert(const char *body, size_t len)
{
	static char line[16384];
	size_t n = log_json_line(line, sizeof line, "2026-12-06T18:00:00.000Z", "info", body, len);
	CHECK(n == strlen(line), "length returned");
	return parse_line(line, n);
}

static bool member_is(json_t *j, const char *key, const char *want, size_t wlen)
{
	json_t *v = json_object_get(j, key);
	return v && json_is_string(v) && json_string_length(v) == wlen &&
	       memcmp(json_string_value(v), want, wlen) == 0;
}

static void test_plain(void)
{
	const char *b = "sid=0000001a peer=127.0.0.1:5555 proto=smtp event=connect";
	json_t *j = convert(b, strlen(b));
	CHECK(member_is(j, "ts", "2026-12-06T18:00:00.000Z", 24), "ts");
	CHECK(member_is(j, "level", "info", 4), "level");
	CHECK(member_is(j, "sid", "0000001a", 8), "sid");
	CHECK(member_is(j, "peer", "127.0.0.1:5555", 14), "peer");
	CHECK(member_is(j, "event", "connect", 7), "event");
	CHECK(json_object_size(j) == 6, "6 members, got %zu", json_object_size(j));
	json_decref(j);

	/* words without a key are the message */
	b = "store writer started  threads=2";
	j = convert(b, strlen(b));
	CHECK(member_is(j, "msg", "store writer started", 20), "msg");
	CHECK(member_is(j, "threads", "2", 1), "threads");
	json_decref(j);

	j = convert("", 0);
	CHECK(json_object_size(j) == 2, "empty body: ts and level only");
	json_decref(j);
}

/* A value through log_kv_escape (what callers do) comes back byte for byte. */
static void roundtrip(const char *raw, size_t len)
{
	char esc[4096], body[4200];
	log_kv_escape(esc, sizeof esc, raw, len);
	snprintf(body, sizeof body, "event=x v=%s after=1", esc);
	json_t *j = convert(body, strlen(body));
	CHECK(member_is(j, "v", raw, len), "roundtrip of %s", esc);
	CHECK(member_is(j, "after", "1", 1), "member after %s", esc);
	json_decref(j);
}

static void test_nasty_values(void)
{
	roundtrip("say \"hi\"", 8);
	roundtrip("back\\slash\\", 11);
	roundtrip("a b\tc\r\nd", 8);
	roundtrip("\x01\x1f\x7f", 3);
	roundtrip("nul\0byte", 8);
	roundtrip("", 0);
	roundtrip("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa6", 14); /* UTF-8 stays */
	roundtrip("}{\",:[", 6);
}

static void expect_v(const char *body, const char *want)
{
	json_t *j = convert(body, strlen(body));
	CHECK(member_is(j, "v", want, strlen(want)), "%s -> %s, got %s", body, want,
	      json_string_value(json_object_get(j, "v")));
	json_decref(j);
}

static void test_not_utf8(void)
{
	expect_v("v=\xff\xfe", "\xef\xbf\xbd\xef\xbf\xbd");                     /* not UTF-8 */
	expect_v("v=\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd");                     /* overlong '/' */
	expect_v("v=a\xed\xa0\x80z", "a\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdz"); /* surrogate */
	expect_v("v=\xf0\x9f\x90", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");     /* cut short */
	expect_v("v=\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	/* escaped as \xNN by log_kv_escape, not UTF-8 once unescaped */
	expect_v("v=\"\\xff\"", "\xef\xbf\xbd");
	/* a quoted value never closed, a lone backslash, a bad \x */
	expect_v("v=\"open", "open");
	expect_v("v=\"a\\", "a\\");
	expect_v("v=\"\\xZZ\"", "xZZ");
	/* odd keys: quoted in the key, an empty key is a word */
	json_t *j = convert("a\"b=1 =2", 8);
	CHECK(member_is(j, "a\"b", "1", 1), "quote in a key");
	CHECK(member_is(j, "msg", "=2", 2), "=2 is a word");
	json_decref(j);
}

static void test_too_big(void)
{
	/* 2047 control bytes, each a 6-byte escape, into a small line */
	char body[2100], line[300];
	memcpy(body, "event=big v=", 12);
	memset(body + 12, '\x01', 2035);
	size_t n = log_json_line(line, sizeof line, "t", "warn", body, 2047);
	CHECK(n < sizeof line, "fits: %zu", n);
	json_t *j = parse_line(line, n);
	CHECK(json_is_true(json_object_get(j, "truncated")), "says truncated");
	CHECK(member_is(j, "event", "big", 3), "whole members kept");
	CHECK(!json_object_get(j, "v"), "the cut member dropped");
	json_decref(j);
	/* and into the real size: nothing is cut */
	j = convert(body, 2047);
	CHECK(json_string_length(json_object_get(j, "v")) == 2035, "whole value");
	CHECK(!json_object_get(j, "truncated"), "not truncated");
	json_decref(j);
}

/* Random bodies: every one a line that parses. */
static void test_random(void)
{
	unsigned x = 12345;
	char body[600];
	static const char pick[] = "a=\" \\x7f\x01\xff\xc3\xa9\xe2\x82";
	int bad = 0;
	for (int round = 0; round < 20000; round++) {
		size_t n = (size_t)(round % 600);
		for (size_t i = 0; i < n; i++) {
			x = x * 1103515245u + 12345u;
			body[i] =
			    (x >> 16) % 3 ? pick[(x >> 8) % (sizeof pick - 1)] : (char)(x >> 20);
			if (!body[i])
				body[i] = 1; /* a body is a C string (vsnprintf's output) */
		}
		char line[4096];
		size_t ln = log_json_line(line, sizeof line, "t", "debug", body, n);
		json_error_t err;
		json_t *j = json_loadb(line, ln, JSON_ALLOW_NUL, &err);
		if (!j && bad++ < 3)
			printf("unparsable: %s (%s)\n", line, err.text);
		json_decref(j);
	}
	CHECK(bad == 0, "%d random bodies gave a line that does not parse", bad);
}

static void test_names(void)
{
	CHECK(log_format_parse("logfmt") == LOG_FORMAT_LOGFMT, "logfmt");
	CHECK(log_format_parse("json") == LOG_FORMAT_JSON, "json");
	CHECK(log_format_parse("JSON") == -1 && log_format_parse("") == -1, "unknown");
	CHECK(log_level_parse("debug") == LOG_DEBUG && log_level_parse("error") == LOG_ERROR,
	      "levels");
	CHECK(log_level_parse("verbose") == -1, "unknown level");
}

int main(void)
{
	test_plain();
	test_nasty_values();
	test_not_utf8();
	test_too_big();
	test_random();
	test_names();
	return check_report("log");
}
