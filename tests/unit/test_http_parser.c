/* test_http_parser: the HTTP/1.1 request parser (proto/http/parser.h) on
 * valid requests, pipelines, keep-alive rules, every smuggling shape the
 * header names, and the limits. Each case is fed whole, one byte at a
 * time, in pieces of three, and in every two-piece split, and must give the
 * same transcript of events every time: the request heads, the body bytes
 * (BODY events joined, since their size follows the pieces), DONE, and the
 * error status, after which the parser must stay stuck. */
#include "proto/http/parser.h"
#include "tests/unit/check.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct out {
	char *s;
	size_t len, cap;
	bool in_body; /* the last thing written was body bytes */
};

static void put(struct out *o, const char *data, size_t n)
{
	if (o->len + n + 1 > o->cap) {
		o->cap = (o->len + n + 1) * 2;
		o->s = realloc(o->s, o->cap);
		if (!o->s)
			abort();
	}
	memcpy(o->s + o->len, data, n);
	o->len += n;
	o->s[o->len] = '\0';
}

static void putf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void putf(struct out *o, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	put(o, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void end_body(struct out *o)
{
	if (o->in_body)
		put(o, "]\n", 2);
	o->in_body = false;
}

/* "HEAD <method> <target> 1.<minor> {name=value}... cl=.. chunked ka
 * continue host=.." with the flags written only when set. */
static void put_head(struct out *o, const struct http_request *r)
{
	putf(o, "HEAD %s%s %s 1.%d ", r->method == HTTP_OTHER ? "other:" : "", r->method_name,
	     r->target, r->version_minor);
	for (size_t i = 0; i < r->nfields; i++) {
		const struct http_field *f = &r->fields[i];
		put(o, "{", 1);
		put(o, f->name, f->name_len);
		put(o, "=", 1);
		put(o, f->value, f->value_len);
		put(o, "}", 1);
		CHECK(f->name[f->name_len] == '\0' && f->value[f->value_len] == '\0',
		      "field %zu not NUL-terminated", i);
	}
	CHECK(strlen(r->target) == r->target_len, "target_len");
	putf(o, " cl=%lld%s%s%s", (long long)r->content_length, r->chunked ? " chunked" : "",
	     r->keep_alive ? " ka" : "", r->expect_continue ? " continue" : "");
	if (r->has_host)
		putf(o, " host=%s", r->host);
	put(o, "\n", 1);
}

/* Feeds in[0..n) in pieces of the given sizes (0-terminated list; the last
 * size repeats; an empty list is the whole input at once), keeping what the
 * parser did not use for the next call as a server would. */
static char *transcript(const struct http_limits *lim, const char *in, size_t n,
                        const size_t *steps)
{
	struct http_parser *p = http_parser_new(lim);
	struct out o = {0};
	char *buf = malloc(n + 1);
	size_t have = 0, fed = 0, si = 0;
	bool error = false, last = false;
	while (!error && !last) {
		size_t step = steps[si] ? steps[si] : n;
		if (steps[si] && steps[si + 1])
			si++;
		if (step > n - fed)
			step = n - fed;
		memcpy(buf + have, in + fed, step);
		have += step;
		fed += step;
		last = fed == n;
		for (;;) {
			enum http_parse_event ev;
			size_t used = http_parser_feed(p, buf, have, &ev);
			CHECK(used <= have, "used %zu of %zu", used, have);
			if (ev == HTTP_PARSE_MORE) {
				CHECK(used == have, "MORE used %zu of %zu", used, have);
				have = 0;
				break;
			}
			if (ev == HTTP_PARSE_BODY) {
				const char *b;
				size_t bl;
				http_parser_body(p, &b, &bl);
				CHECK(bl > 0 && b >= buf && b + bl <= buf + used,
				      "body outside the input");
				if (!o.in_body)
					put(&o, "BODY [", 6);
				o.in_body = true;
				put(&o, b, bl);
			} else if (ev == HTTP_PARSE_HEAD) {
				end_body(&o);
				CHECK(!http_parser_idle(p), "idle at HEAD");
				put_head(&o, http_parser_request(p));
			} else if (ev == HTTP_PARSE_DONE) {
				end_body(&o);
				put(&o, "DONE\n", 5);
			} else if (ev == HTTP_PARSE_ERROR) {
				end_body(&o);
				putf(&o, "ERROR %d\n", http_parser_status(p));
				CHECK(*http_parser_error(p), "no reason");
				size_t again = http_parser_feed(p, "GET / HTTP/1.1\r\n", 16, &ev);
				CHECK(again == 0 && ev == HTTP_PARSE_ERROR,
				      "error state did not stick");
				error = true;
				break;
			}
			memmove(buf, buf + used, have - used);
			have -= used;
		}
	}
	end_body(&o);
	if (!error)
		put(&o, http_parser_idle(p) ? "idle\n" : "more\n", 5);
	free(buf);
	http_parser_free(p);
	return o.s ? o.s : calloc(1, 1);
}

static void expect_lim(const char *name, const struct http_limits *lim, const char *in, size_t n,
                       const char *want)
{
	size_t whole[] = {0}, single[] = {1, 0}, three[] = {3, 0};
	const size_t *plans[] = {whole, single, three};
	size_t nplans = n <= 600 ? 3 + n : 3;
	int bad = 0;
	for (size_t pl = 0; pl < nplans && bad < 3; pl++) {
		size_t split[] = {pl - 3, n, 0};
		if (pl >= 3 && pl - 3 == 0)
			continue;
		char *got = transcript(lim, in, n, pl < 3 ? plans[pl] : split);
		bool ok = strcmp(got, want) == 0;
		CHECK(ok, "%s (plan %zu):\n got: %s want: %s", name, pl, got, want);
		bad += !ok;
		free(got);
	}
}

#define EXPECT(name, in, want) expect_lim(name, NULL, in, sizeof(in) - 1, want)
#define EXPECT_LIM(name, lim, in, want) expect_lim(name, lim, in, sizeof(in) - 1, want)

#define HOST "Host: h\r\n"

static void test_valid(void)
{
	EXPECT("get", "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
	       "HEAD GET / 1.1 {Host=example.com} cl=-1 ka host=example.com\nDONE\nidle\n");
	EXPECT("head", "HEAD /x?y=1 HTTP/1.1\r\n" HOST "Accept: */*\r\n\r\n",
	       "HEAD HEAD /x?y=1 1.1 {Host=h}{Accept=*/*} cl=-1 ka host=h\nDONE\nidle\n");
	EXPECT("post", "POST /p HTTP/1.1\r\n" HOST "Content-Length: 5\r\n\r\nhello",
	       "HEAD POST /p 1.1 {Host=h}{Content-Length=5} cl=5 ka host=h\nBODY [hello]\nDONE\n"
	       "idle\n");
	EXPECT("post cl 0", "POST /p HTTP/1.1\r\n" HOST "Content-Length: 0\r\n\r\n",
	       "HEAD POST /p 1.1 {Host=h}{Content-Length=0} cl=0 ka host=h\nDONE\nidle\n");
	EXPECT("post partial", "POST /p HTTP/1.1\r\n" HOST "Content-Length: 10\r\n\r\nhello",
	       "HEAD POST /p 1.1 {Host=h}{Content-Length=10} cl=10 ka host=h\nBODY [hello]\n"
	       "more\n");
	EXPECT("ows stripped, empty value, case kept",
	       "GET / HTTP/1.1\r\nhOsT:h\r\nX-A: \t a b \t \r\nX-E:\r\nX-F: \r\n\r\n",
	       "HEAD GET / 1.1 {hOsT=h}{X-A=a b}{X-E=}{X-F=} cl=-1 ka host=h\nDONE\nidle\n");
	EXPECT("obs-text value", "GET / HTTP/1.1\r\n" HOST "X: caf\xc3\xa9\x80\xff\r\n\r\n",
	       "HEAD GET / 1.1 {Host=h}{X=caf\xc3\xa9\x80\xff} cl=-1 ka host=h\nDONE\nidle\n");
	EXPECT("other methods",
	       "PATCH * HTTP/1.1\r\n" HOST "\r\nBREW /pot HTTP/1.1\r\n" HOST "\r\n",
	       "HEAD PATCH * 1.1 {Host=h} cl=-1 ka host=h\nDONE\n"
	       "HEAD other:BREW /pot 1.1 {Host=h} cl=-1 ka host=h\nDONE\nidle\n");
	EXPECT("absolute-form", "OPTIONS http://a.example/x HTTP/1.1\r\n" HOST "\r\n",
	       "HEAD OPTIONS http://a.example/x 1.1 {Host=h} cl=-1 ka host=h\nDONE\nidle\n");
	EXPECT("expect",
	       "PUT /u HTTP/1.1\r\n" HOST "Expect: 100-Continue\r\nContent-Length: 2\r\n\r\nab",
	       "HEAD PUT /u 1.1 {Host=h}{Expect=100-Continue}{Content-Length=2} cl=2 ka continue "
	       "host=h\nBODY [ab]\nDONE\nidle\n");
	EXPECT("expect ignored on 1.0", "GET / HTTP/1.0\r\nExpect: 100-continue, x\r\n\r\n",
	       "HEAD GET / 1.0 {Expect=100-continue, x} cl=-1\nDONE\nidle\n");
	EXPECT("http_request_field", "DELETE /d HTTP/1.1\r\nX-One: 1\r\n" HOST "x-one: 2\r\n\r\n",
	       "HEAD DELETE /d 1.1 {X-One=1}{Host=h}{x-one=2} cl=-1 ka host=h\nDONE\nidle\n");
	struct http_parser *p = http_parser_new(NULL);
	enum http_parse_event ev;
	const char req[] = "GET / HTTP/1.1\r\nX-One: 1\r\n" HOST "x-one: 2\r\n\r\n";
	size_t used = http_parser_feed(p, req, sizeof req - 1, &ev);
	CHECK(used == sizeof req - 1 && ev == HTTP_PARSE_HEAD, "head");
	const struct http_request *r = http_parser_request(p);
	const struct http_field *f = http_request_field(r, "X-ONE");
	CHECK(f && strcmp(f->value, "1") == 0, "first field");
	CHECK(!http_request_field(r, "X-On"), "prefix is not a match");
	CHECK(r->method == HTTP_GET && r->version_minor == 1, "method");
	http_parser_free(p);
}

static void test_chunked(void)
{
	EXPECT("chunked",
	       "POST /c HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\n\r\n"
	       "5\r\nhello\r\n6;a=b;c=\"d \\\"e\\\\\";f\r\n world\r\n"
	       "A\r\n0123456789\r\n0;last\r\nX-T: 1\r\nX-U:\r\n\r\n",
	       "HEAD POST /c 1.1 {Host=h}{Transfer-Encoding=chunked} cl=-1 chunked ka host=h\n"
	       "BODY [hello world0123456789]\nDONE\nidle\n");
	EXPECT(
	    "chunked empty",
	    "POST /c HTTP/1.1\r\n" HOST "Transfer-Encoding: Chunked\r\n\r\n0\r\n\r\n",
	    "HEAD POST /c 1.1 {Host=h}{Transfer-Encoding=Chunked} cl=-1 chunked ka host=h\nDONE\n"
	    "idle\n");
	EXPECT("chunked upper hex, leading zeros",
	       "POST /c HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\n\r\n"
	       "000b\r\nhello world\r\n0000000000000000\r\n\r\n",
	       "HEAD POST /c 1.1 {Host=h}{Transfer-Encoding=chunked} cl=-1 chunked ka host=h\n"
	       "BODY [hello world]\nDONE\nidle\n");
	EXPECT("chunked then get",
	       "POST /c HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\n\r\n"
	       "3\r\nabc\r\n0\r\n\r\nGET /n HTTP/1.1\r\n" HOST "\r\n",
	       "HEAD POST /c 1.1 {Host=h}{Transfer-Encoding=chunked} cl=-1 chunked ka host=h\n"
	       "BODY [abc]\nDONE\nHEAD GET /n 1.1 {Host=h} cl=-1 ka host=h\nDONE\nidle\n");
	EXPECT("chunked partial",
	       "POST /c HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\n\r\n5\r\nhel",
	       "HEAD POST /c 1.1 {Host=h}{Transfer-Encoding=chunked} cl=-1 chunked ka host=h\n"
	       "BODY [hel]\nmore\n");
	EXPECT("16 hex digits",
	       "POST /c HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\n\r\n"
	       "ffffffffffffffff\r\nab",
	       "HEAD POST /c 1.1 {Host=h}{Transfer-Encoding=chunked} cl=-1 chunked ka host=h\n"
	       "BODY [ab]\nmore\n");
}

#define TE_HEAD "HEAD POST /c 1.1 {Host=h}{Transfer-Encoding=chunked} cl=-1 chunked ka host=h\n"
#define TE "POST /c HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\n\r\n"

static void test_chunked_bad(void)
{
	EXPECT("chunk size overflow", TE "10000000000000000\r\n", TE_HEAD "ERROR 400\n");
	EXPECT("chunk size 17 digits", TE "00000000000000005\r\nhello\r\n0\r\n\r\n",
	       TE_HEAD "ERROR 400\n");
	EXPECT("bare LF after chunk size", TE "5\nhello\r\n0\r\n\r\n", TE_HEAD "ERROR 400\n");
	EXPECT("bare LF after chunk data", TE "5\r\nhello\n0\r\n\r\n",
	       TE_HEAD "BODY [hello]\nERROR 400\n");
	EXPECT("bare CR after chunk data", TE "5\r\nhello\r0\r\n\r\n",
	       TE_HEAD "BODY [hello]\nERROR 400\n");
	EXPECT("no CRLF after chunk data", TE "5\r\nhelloXX0\r\n\r\n",
	       TE_HEAD "BODY [hello]\nERROR 400\n");
	EXPECT("bare LF ending the last chunk", TE "0\n\r\n", TE_HEAD "ERROR 400\n");
	EXPECT("bare LF ending the trailers", TE "0\r\n\n", TE_HEAD "ERROR 400\n");
	EXPECT("bare LF in a trailer", TE "0\r\nX: a\nY: b\r\n\r\n", TE_HEAD "ERROR 400\n");
	EXPECT("obs-fold in a trailer", TE "0\r\nX: a\r\n b\r\n\r\n", TE_HEAD "ERROR 400\n");
	EXPECT("space before colon in a trailer", TE "0\r\nX : a\r\n\r\n", TE_HEAD "ERROR 400\n");
	EXPECT("NUL in a trailer", TE "0\r\nX: a\0b\r\n\r\n", TE_HEAD "ERROR 400\n");
	EXPECT("space after chunk size", TE "5 \r\nhello\r\n0\r\n\r\n", TE_HEAD "ERROR 400\n");
	EXPECT("space before extension", TE "5 ;a\r\nhello\r\n0\r\n\r\n", TE_HEAD "ERROR 400\n");
	EXPECT("space in extension", TE "5; a=b\r\nhello\r\n0\r\n\r\n", TE_HEAD "ERROR 400\n");
	EXPECT("empty extension name", TE "5;=b\r\nhello\r\n0\r\n\r\n", TE_HEAD "ERROR 400\n");
	EXPECT("empty extension value", TE "5;a=\r\nhello\r\n0\r\n\r\n", TE_HEAD "ERROR 400\n");
	EXPECT("CTL in extension", TE "5;a=\"\x01\"\r\nhello\r\n0\r\n\r\n", TE_HEAD "ERROR 400\n");
	EXPECT("unterminated quoted extension", TE "5;a=\"b\r\nhello\r\n0\r\n\r\n",
	       TE_HEAD "ERROR 400\n");
	EXPECT("0x prefix", TE "0x5\r\nhello\r\n0\r\n\r\n", TE_HEAD "ERROR 400\n");
	EXPECT("negative size", TE "-5\r\nhello\r\n0\r\n\r\n", TE_HEAD "ERROR 400\n");
	EXPECT("empty chunk line", TE "\r\n5\r\nhello\r\n0\r\n\r\n", TE_HEAD "ERROR 400\n");
	EXPECT("data longer than the size", TE "3\r\nhello\r\n0\r\n\r\n",
	       TE_HEAD "BODY [hel]\nERROR 400\n");

	/* A chunk line of 4 KiB is fine, one byte more is not. */
	static char in[8192];
	char want[256];
	size_t n = (size_t)snprintf(in, sizeof in, "%s", TE "1;x=");
	size_t line_start = sizeof(TE) - 1;
	while (n - line_start < 4096 - 2)
		in[n++] = 'v';
	memcpy(in + n, "\r\nZ\r\n0\r\n\r\n", 11);
	snprintf(want, sizeof want, "%sBODY [Z]\nDONE\nidle\n", TE_HEAD);
	expect_lim("chunk line at the limit", NULL, in, n + 10, want);
	memmove(in + n + 1, in + n, 11);
	in[n] = 'v';
	snprintf(want, sizeof want, "%sERROR 400\n", TE_HEAD);
	expect_lim("chunk line over the limit", NULL, in, n + 11, want);
}

static void test_pipeline_keepalive(void)
{
	EXPECT("pipelined",
	       "GET /1 HTTP/1.1\r\n" HOST "\r\nPOST /2 HTTP/1.1\r\n" HOST
	       "Content-Length: 3\r\n\r\n"
	       "abcGET /3 HTTP/1.1\r\n" HOST "Connection: close\r\n\r\n",
	       "HEAD GET /1 1.1 {Host=h} cl=-1 ka host=h\nDONE\n"
	       "HEAD POST /2 1.1 {Host=h}{Content-Length=3} cl=3 ka host=h\nBODY [abc]\nDONE\n"
	       "HEAD GET /3 1.1 {Host=h}{Connection=close} cl=-1 host=h\nDONE\nidle\n");
	EXPECT("1.0 closes", "GET / HTTP/1.0\r\n\r\n", "HEAD GET / 1.0  cl=-1\nDONE\nidle\n");
	EXPECT("1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
	       "HEAD GET / 1.0 {Connection=Keep-Alive} cl=-1 ka\nDONE\nidle\n");
	EXPECT("1.0 with host", "GET / HTTP/1.0\r\n" HOST "\r\n",
	       "HEAD GET / 1.0 {Host=h} cl=-1 host=h\nDONE\nidle\n");
	EXPECT("1.0 close wins", "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n",
	       "HEAD GET / 1.0 {Connection=keep-alive, close} cl=-1\nDONE\nidle\n");
	EXPECT("1.1 close in a list",
	       "GET / HTTP/1.1\r\n" HOST "Connection: Upgrade ,CLOSE\r\n\r\n",
	       "HEAD GET / 1.1 {Host=h}{Connection=Upgrade ,CLOSE} cl=-1 host=h\nDONE\nidle\n");
	EXPECT("1.1 close in a second field",
	       "GET / HTTP/1.1\r\n" HOST "Connection: keep-alive\r\nConnection: close\r\n\r\n",
	       "HEAD GET / 1.1 {Host=h}{Connection=keep-alive}{Connection=close} cl=-1 host=h\n"
	       "DONE\nidle\n");
	EXPECT("1.1 not close", "GET / HTTP/1.1\r\n" HOST "Connection: closed\r\n\r\n",
	       "HEAD GET / 1.1 {Host=h}{Connection=closed} cl=-1 ka host=h\nDONE\nidle\n");
	EXPECT("empty lines skipped", "\r\n\r\n\n\r\nGET / HTTP/1.1\r\n" HOST "\r\n\r\n\r\n",
	       "HEAD GET / 1.1 {Host=h} cl=-1 ka host=h\nDONE\nidle\n");
	EXPECT("only empty lines", "\r\n\r\n\r\n\r", "idle\n");
	EXPECT("empty line then bare CR", "\r\n\rGET / HTTP/1.1\r\n" HOST "\r\n", "ERROR 400\n");
	EXPECT("partial head", "GET / HTTP/1.1\r\nHo", "more\n");
	EXPECT("error after a good request", "GET / HTTP/1.1\r\n" HOST "\r\nGET / HTTP/1.1\r\n\r\n",
	       "HEAD GET / 1.1 {Host=h} cl=-1 ka host=h\nDONE\nERROR 400\n");

	/* An endless stream of empty lines is consumed, all of it. */
	static char crlfs[200000];
	for (size_t i = 0; i < sizeof crlfs; i += 2)
		memcpy(crlfs + i, "\r\n", 2);
	struct http_parser *p = http_parser_new(NULL);
	enum http_parse_event ev;
	size_t used = http_parser_feed(p, crlfs, sizeof crlfs, &ev);
	CHECK(used == sizeof crlfs && ev == HTTP_PARSE_MORE && http_parser_idle(p), "crlfs");
	http_parser_free(p);

	/* idle: only between requests; DONE comes without input. */
	p = http_parser_new(NULL);
	CHECK(http_parser_idle(p), "idle at start");
	used = http_parser_feed(p, "G", 1, &ev);
	CHECK(used == 1 && ev == HTTP_PARSE_MORE && !http_parser_idle(p), "not idle in a request");
	const char rest[] = "ET / HTTP/1.1\r\n" HOST "Content-Length: 1\r\n\r\nxGET";
	used = http_parser_feed(p, rest, sizeof rest - 1, &ev);
	CHECK(ev == HTTP_PARSE_HEAD && used == sizeof rest - 5, "head %d %zu", ev, used);
	CHECK(!http_parser_idle(p), "not idle before the body");
	used = http_parser_feed(p, "", 0, &ev);
	CHECK(used == 0 && ev == HTTP_PARSE_MORE, "no body yet");
	used = http_parser_feed(p, "xGET", 4, &ev);
	CHECK(used == 1 && ev == HTTP_PARSE_BODY && !http_parser_idle(p), "body");
	used = http_parser_feed(p, "GET", 3, &ev);
	CHECK(used == 0 && ev == HTTP_PARSE_DONE && http_parser_idle(p), "done");
	CHECK(strcmp(http_parser_request(p)->target, "/") == 0, "request readable after DONE");
	used = http_parser_feed(p, "GET", 3, &ev);
	CHECK(used == 3 && ev == HTTP_PARSE_MORE && !http_parser_idle(p), "next request");
	http_parser_free(p);
}

#define H400 "ERROR 400\n"

static void test_smuggling(void)
{
	EXPECT("CL and TE",
	       "POST / HTTP/1.1\r\n" HOST "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
	       "0\r\n\r\n",
	       H400);
	EXPECT("TE and CL",
	       "POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
	       "0\r\n\r\n",
	       H400);
	EXPECT("two different CL",
	       "POST / HTTP/1.1\r\n" HOST "Content-Length: 5\r\nContent-Length: 6\r\n\r\n"
	       "hello!",
	       H400);
	EXPECT("two equal CL",
	       "POST / HTTP/1.1\r\n" HOST "Content-Length: 5\r\nContent-Length: 5\r\n\r\n"
	       "hello",
	       H400);
	EXPECT("CL list", "POST / HTTP/1.1\r\n" HOST "Content-Length: 5, 5\r\n\r\nhello", H400);
	EXPECT("CL sign", "POST / HTTP/1.1\r\n" HOST "Content-Length: +5\r\n\r\nhello", H400);
	EXPECT("CL hex", "POST / HTTP/1.1\r\n" HOST "Content-Length: 0x5\r\n\r\nhello", H400);
	EXPECT("CL empty", "POST / HTTP/1.1\r\n" HOST "Content-Length:\r\n\r\n", H400);
	EXPECT("CL overflow",
	       "POST / HTTP/1.1\r\n" HOST "Content-Length: 99999999999999999999\r\n\r\n", H400);
	EXPECT("CL 2^62+1",
	       "POST / HTTP/1.1\r\n" HOST "Content-Length: 4611686018427387905\r\n\r\n", H400);
	EXPECT("CL 2^62",
	       "POST / HTTP/1.1\r\n" HOST "Content-Length: 4611686018427387904\r\n\r\nab",
	       "HEAD POST / 1.1 {Host=h}{Content-Length=4611686018427387904} "
	       "cl=4611686018427387904 ka "
	       "host=h\nBODY [ab]\nmore\n");
	EXPECT("obs-fold", "GET / HTTP/1.1\r\n" HOST "X: a\r\n b\r\n\r\n", H400);
	EXPECT("obs-fold tab", "GET / HTTP/1.1\r\n" HOST "X: a\r\n\tb\r\n\r\n", H400);
	EXPECT("space after request line", "GET / HTTP/1.1\r\n " HOST "\r\n", H400);
	EXPECT("space before colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", H400);
	EXPECT("tab before colon", "GET / HTTP/1.1\r\nHost\t: h\r\n\r\n", H400);
	EXPECT("empty field name", "GET / HTTP/1.1\r\n" HOST ": x\r\n\r\n", H400);
	EXPECT("no colon", "GET / HTTP/1.1\r\n" HOST "X\r\n\r\n", H400);
	EXPECT("bare CR in a value", "GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", H400);
	EXPECT("bare CR in the request line", "GET /\r HTTP/1.1\r\n" HOST "\r\n", H400);
	EXPECT("bare CR ending the request line", "GET / HTTP/1.1\r" HOST "\r\n", H400);
	EXPECT("bare CR ending the head", "GET / HTTP/1.1\r\n" HOST "\r\r\n", H400);
	EXPECT("bare LF ending the request line", "GET / HTTP/1.1\n" HOST "\r\n", H400);
	EXPECT("bare LF ending a field", "GET / HTTP/1.1\r\nHost: h\n\r\n", H400);
	EXPECT("bare LF ending the head", "GET / HTTP/1.1\r\n" HOST "\n", H400);
	EXPECT("NUL in a value", "GET / HTTP/1.1\r\n" HOST "X: a\0b\r\n\r\n", H400);
	EXPECT("CTL in a value", "GET / HTTP/1.1\r\n" HOST "X: a\x01z\r\n\r\n", H400);
	EXPECT("DEL in a value", "GET / HTTP/1.1\r\n" HOST "X: a\x7fz\r\n\r\n", H400);
	EXPECT("NUL in a name", "GET / HTTP/1.1\r\n" HOST "X\0: a\r\n\r\n", H400);
	EXPECT("TE gzip", "POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: gzip\r\n\r\n", H400);
	EXPECT("TE chunked, gzip",
	       "POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked, gzip\r\n\r\n", H400);
	EXPECT("TE chunked then gzip",
	       "POST / HTTP/1.1\r\n" HOST
	       "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
	       H400);
	EXPECT("TE chunked twice",
	       "POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked, chunked\r\n\r\n", H400);
	EXPECT("TE chunked in two fields",
	       "POST / HTTP/1.1\r\n" HOST
	       "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"
	       "\r\n",
	       H400);
	EXPECT("TE chunked with a parameter",
	       "POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked;q=1\r\n\r\n", H400);
	EXPECT("TE chunkedx", "POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: xchunked\r\n\r\n",
	       H400);
	EXPECT("TE empty", "POST / HTTP/1.1\r\n" HOST "Transfer-Encoding:\r\n\r\n", H400);
	EXPECT("TE empty and chunked",
	       "POST / HTTP/1.1\r\n" HOST
	       "Transfer-Encoding: ,\r\nTransfer-Encoding: chunked\r\n\r\n",
	       H400);
	EXPECT("TE gzip, chunked",
	       "POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: gzip, chunked\r\n\r\n",
	       "ERROR 501\n");
	EXPECT("TE on 1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", H400);
	EXPECT("two Hosts", "GET / HTTP/1.1\r\n" HOST "Host: i\r\n\r\n", H400);
	EXPECT("two Hosts on 1.0", "GET / HTTP/1.0\r\n" HOST "HOST: h\r\n\r\n", H400);
	EXPECT("no Host", "GET / HTTP/1.1\r\nX: y\r\n\r\n", H400);
	EXPECT("other Expect", "GET / HTTP/1.1\r\n" HOST "Expect: 100-continue, x\r\n\r\n",
	       "ERROR 417\n");
	EXPECT("Expect 200-ok", "GET / HTTP/1.1\r\n" HOST "Expect: 200-ok\r\n\r\n", "ERROR 417\n");
}

static void test_request_line(void)
{
	EXPECT("http 1.2", "GET / HTTP/1.2\r\n" HOST "\r\n", "ERROR 505\n");
	EXPECT("http 1.9", "GET / HTTP/1.9\r\n" HOST "\r\n", "ERROR 505\n");
	EXPECT("http 2.0", "GET / HTTP/2.0\r\n" HOST "\r\n", "ERROR 505\n");
	EXPECT("http 0.9", "GET / HTTP/0.9\r\n" HOST "\r\n", "ERROR 505\n");
	EXPECT("http 9.9", "GET / HTTP/9.9\r\n" HOST "\r\n", "ERROR 505\n");
	EXPECT("lowercase http", "GET / http/1.1\r\n" HOST "\r\n", H400);
	EXPECT("http 1.10", "GET / HTTP/1.10\r\n" HOST "\r\n", H400);
	EXPECT("http 01.1", "GET / HTTP/01.1\r\n" HOST "\r\n", H400);
	EXPECT("http 1", "GET / HTTP/1\r\n" HOST "\r\n", H400);
	EXPECT("no version", "GET /\r\n" HOST "\r\n", H400);
	EXPECT("space after version", "GET / HTTP/1.1 \r\n" HOST "\r\n", H400);
	EXPECT("two spaces", "GET  / HTTP/1.1\r\n" HOST "\r\n", H400);
	EXPECT("two spaces after target", "GET /  HTTP/1.1\r\n" HOST "\r\n", H400);
	EXPECT("tab separator", "GET\t/ HTTP/1.1\r\n" HOST "\r\n", H400);
	EXPECT("leading space", " GET / HTTP/1.1\r\n" HOST "\r\n", H400);
	EXPECT("empty method", " / HTTP/1.1\r\n" HOST "\r\n", H400);
	EXPECT("space after a request", "GET / HTTP/1.1\r\n" HOST "\r\n / HTTP/1.1\r\n",
	       "HEAD GET / 1.1 {Host=h} cl=-1 ka host=h\nDONE\nERROR 400\n");
	EXPECT("slash method", "/ HTTP/1.1\r\n" HOST "\r\n", H400);
	EXPECT("method with a slash", "GE/T / HTTP/1.1\r\n" HOST "\r\n", H400);
	EXPECT("lowercase method", "get / HTTP/1.1\r\n" HOST "\r\n",
	       "HEAD other:get / 1.1 {Host=h} cl=-1 ka host=h\nDONE\nidle\n");
	EXPECT("DEL in target", "GET /a\x7f HTTP/1.1\r\n" HOST "\r\n", H400);
	EXPECT("obs-text in target", "GET /\xe4 HTTP/1.1\r\n" HOST "\r\n", H400);
	EXPECT("NUL in target", "GET /\0 HTTP/1.1\r\n" HOST "\r\n", H400);
	EXPECT("tab in target", "GET /a\tb HTTP/1.1\r\n" HOST "\r\n", H400);
	EXPECT("target not a form", "GET 1 HTTP/1.1\r\n" HOST "\r\n", H400);
	EXPECT("target quote", "GET \" HTTP/1.1\r\n" HOST "\r\n", H400);
	EXPECT("target star", "OPTIONS *x HTTP/1.1\r\n" HOST "\r\n", H400);
	EXPECT("target scheme without colon", "GET http HTTP/1.1\r\n" HOST "\r\n", H400);
	EXPECT("target bad scheme", "GET ht_tp://a/ HTTP/1.1\r\n" HOST "\r\n", H400);
	EXPECT("target urn", "GET urn:a HTTP/1.1\r\n" HOST "\r\n",
	       "HEAD GET urn:a 1.1 {Host=h} cl=-1 ka host=h\nDONE\nidle\n");
	EXPECT("target authority", "CONNECT [::1]:443 HTTP/1.1\r\n" HOST "\r\n",
	       "HEAD other:CONNECT [::1]:443 1.1 {Host=h} cl=-1 ka host=h\nDONE\nidle\n");
	EXPECT("target authority not CONNECT", "GET [::1]:443 HTTP/1.1\r\n" HOST "\r\n", H400);
	EXPECT("garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", H400);
}

static void test_limits(void)
{
	struct http_limits lim = {.max_head = 64, .max_target = 32, .max_headers = 3};
	/* "GET /<n> HTTP/1.1\r\n" is 17 + n bytes. */
	EXPECT_LIM("request line at max_target", &lim,
	           "GET /2345678901234567 HTTP/1.1\r\nHost: h\r\n\r\n",
	           "HEAD GET /2345678901234567 1.1 {Host=h} cl=-1 ka host=h\nDONE\nidle\n");
	EXPECT_LIM("request line over max_target", &lim,
	           "GET /23456789012345678 HTTP/1.1\r\nHost: h\r\n\r\n", "ERROR 414\n");
	EXPECT_LIM("long method", &lim, "GETGETGETGETGETGETGETGETGETGETGETGET / HTTP/1.1\r\n",
	           "ERROR 414\n");
	/* 32 + 9 + 21 + 2 = 64 */
	EXPECT_LIM(
	    "head at max_head", &lim,
	    "GET /2345678901234567 HTTP/1.1\r\nHost: h\r\nX: 3456789012345678\r\n\r\n",
	    "HEAD GET /2345678901234567 1.1 {Host=h}{X=3456789012345678} cl=-1 ka host=h\nDONE\n"
	    "idle\n");
	EXPECT_LIM("head over max_head", &lim,
	           "GET /2345678901234567 HTTP/1.1\r\nHost: h\r\nX: 34567890123456789\r\n\r\n",
	           "ERROR 431\n");
	EXPECT_LIM("head over max_head with ows", &lim,
	           "GET /2345678901234567 HTTP/1.1\r\nHost: h\r\nX:                  \r\n\r\n",
	           "ERROR 431\n");
	EXPECT_LIM("three fields", &lim, "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n",
	           "HEAD GET / 1.1 {Host=h}{A=1}{B=2} cl=-1 ka host=h\nDONE\nidle\n");
	EXPECT_LIM("four fields", &lim, "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
	           "ERROR 431\n");
	EXPECT_LIM(
	    "empty lines do not count", &lim,
	    "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
	    "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET /23456789012345 "
	    "HTTP/1.1\r\nHost: h\r\n\r\n",
	    "HEAD GET /23456789012345 1.1 {Host=h} cl=-1 ka host=h\nDONE\nidle\n");
	EXPECT_LIM("limits per request", &lim,
	           "GET /23456789012345 HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n"
	           "GET /23456789012345 HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n",
	           "HEAD GET /23456789012345 1.1 {Host=h}{A=1}{B=2} cl=-1 ka host=h\nDONE\n"
	           "HEAD GET /23456789012345 1.1 {Host=h}{A=1}{B=2} cl=-1 ka host=h\nDONE\nidle\n");
#define TEL "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
#define TEL_HEAD "HEAD POST / 1.1 {Host=h}{Transfer-Encoding=chunked} cl=-1 chunked ka host=h\n"
	EXPECT_LIM("three trailers", &lim, TEL "0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
	           TEL_HEAD "DONE\nidle\n");
	EXPECT_LIM("four trailers", &lim, TEL "0\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n",
	           TEL_HEAD "ERROR 431\n");
	EXPECT_LIM("trailers over max_head", &lim,
	           TEL
	           "0\r\nA: 12345678901234567890123456789012345678901234567890123456789\r\n\r\n",
	           TEL_HEAD "ERROR 431\n");

	/* The defaults: 16 KiB of head, 8 KiB of request line, 100 fields. */
	size_t n;
	static char big[40000];
	n = (size_t)snprintf(big, sizeof big, "GET /");
	while (n < 8192 - 11)
		big[n++] = 'a';
	n += (size_t)snprintf(big + n, sizeof big - n, " HTTP/1.1\r\nHost: h\r\n\r\n");
	char *t = transcript(NULL, big, n, (size_t[]){0});
	CHECK(strncmp(t, "HEAD GET /aaa", 13) == 0, "8 KiB request line: %.40s", t);
	free(t);
	memmove(big + 6, big + 5, n - 5);
	t = transcript(NULL, big, n + 1, (size_t[]){0});
	CHECK(strcmp(t, "ERROR 414\n") == 0, "8 KiB + 1 request line: %.40s", t);
	free(t);
	n = (size_t)snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: h\r\n");
	for (int i = 0; i < 99; i++)
		n += (size_t)snprintf(big + n, sizeof big - n, "X-%d: %d\r\n", i, i);
	memcpy(big + n, "\r\n", 2);
	t = transcript(NULL, big, n + 2, (size_t[]){0});
	CHECK(strncmp(t, "HEAD GET / 1.1", 14) == 0, "100 fields: %.40s", t);
	free(t);
	n += (size_t)snprintf(big + n, sizeof big - n, "X-100: 1\r\n\r\n");
	t = transcript(NULL, big, n, (size_t[]){0});
	CHECK(strcmp(t, "ERROR 431\n") == 0, "101 fields: %.40s", t);
	free(t);
	n = (size_t)snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: h\r\nX: ");
	while (n < 16384 - 4)
		big[n++] = 'b';
	memcpy(big + n, "\r\n\r\n", 4);
	t = transcript(NULL, big, n + 4, (size_t[]){1, 0});
	CHECK(strncmp(t, "HEAD GET / 1.1", 14) == 0, "16 KiB head: %.40s", t);
	free(t);
	memmove(big + 30, big + 29, n + 4 - 29);
	t = transcript(NULL, big, n + 5, (size_t[]){1, 0});
	CHECK(strcmp(t, "ERROR 431\n") == 0, "16 KiB + 1 head: %.40s", t);
	free(t);

	/* max_headers is capped */
	struct http_limits huge = {.max_headers = 100000};
	struct http_parser *p = http_parser_new(&huge);
	CHECK(p != NULL, "capped max_headers");
	http_parser_free(p);
}

int main(void)
{
	test_valid();
	test_chunked();
	test_chunked_bad();
	test_pipeline_keepalive();
	test_smuggling();
	test_request_line();
	test_limits();
	return check_report("test_http_parser");
}
