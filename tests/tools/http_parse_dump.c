/* http_parse_dump: raw request bytes on stdin through the HTTP parser
 * (proto/http/parser.h), one JSON line per event on stdout, for the
 * differential test against Node's llhttp
 * (tests/integration/test_http_parser_diff.py). Strings are the bytes as
 * Latin-1 code points, as Node reports them.
 *
 *   {"ev":"head","method":..,"target":..,"version":"1.1","headers":[[n,v],..],
 *    "content_length":n,"chunked":b,"keep_alive":b,"expect_continue":b}
 *   {"ev":"body","data":..}
 *   {"ev":"done"}
 *   {"ev":"error","status":400,"at":n,"reason":..}  (n: bytes used, the
 *                             offending one included)
 *   {"ev":"end","idle":b}     (all input used without an error)
 *
 * usage: http_parse_dump [PIECE]   feed PIECE bytes at a time (default all) */
#include "proto/http/parser.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void json_str(const char *s, size_t n)
{
	putchar('"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c >= 0x20 && c < 0x7f)
			putchar(c);
		else
			printf("\\u%04x", c);
	}
	putchar('"');
}

int main(int argc, char **argv)
{
	size_t piece = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 0;
	size_t cap = 1 << 16, n = 0, r;
	char *in = malloc(cap);
	while (in && (r = fread(in + n, 1, cap - n, stdin)) > 0) {
		n += r;
		if (n == cap)
			in = realloc(in, cap *= 2);
	}
	if (!in)
		return 2;
	struct http_parser *p = http_parser_new(NULL);
	if (!p)
		return 2;
	size_t off = 0, avail = piece ? 0 : n;
	for (;;) {
		enum http_parse_event ev;
		size_t used = http_parser_feed(p, in + off, avail - off, &ev);
		off += used;
		if (ev == HTTP_PARSE_MORE) {
			if (avail == n)
				break;
			avail = avail + piece < n ? avail + piece : n;
			continue;
		}
		if (ev == HTTP_PARSE_HEAD) {
			const struct http_request *q = http_parser_request(p);
			printf("{\"ev\":\"head\",\"method\":");
			json_str(q->method_name, strlen(q->method_name));
			printf(",\"target\":");
			json_str(q->target, q->target_len);
			printf(",\"version\":\"1.%d\",\"headers\":[", q->version_minor);
			for (size_t i = 0; i < q->nfields; i++) {
				printf(i ? ",[" : "[");
				json_str(q->fields[i].name, q->fields[i].name_len);
				putchar(',');
				json_str(q->fields[i].value, q->fields[i].value_len);
				putchar(']');
			}
			printf("],\"content_length\":%lld,\"chunked\":%s,\"keep_alive\":%s,"
			       "\"expect_continue\":%s}\n",
			       (long long)q->content_length, q->chunked ? "true" : "false",
			       q->keep_alive ? "true" : "false",
			       q->expect_continue ? "true" : "false");
		} else if (ev == HTTP_PARSE_BODY) {
			const char *b;
			size_t bl;
			http_parser_body(p, &b, &bl);
			printf("{\"ev\":\"body\",\"data\":");
			json_str(b, bl);
			printf("}\n");
		} else if (ev == HTTP_PARSE_DONE) {
			printf("{\"ev\":\"done\"}\n");
		} else {
			const char *why = http_parser_error(p);
			printf("{\"ev\":\"error\",\"status\":%d,\"at\":%zu,\"reason\":",
			       http_parser_status(p), off);
			json_str(why, strlen(why));
			printf("}\n");
			break;
		}
	}
	enum http_parse_event last; /* ERROR again if it was one */
	http_parser_feed(p, "", 0, &last);
	if (last != HTTP_PARSE_ERROR)
		printf("{\"ev\":\"end\",\"idle\":%s}\n", http_parser_idle(p) ? "true" : "false");
	http_parser_free(p);
	free(in);
	return 0;
}
