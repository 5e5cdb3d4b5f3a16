/* fuzz_http_session: the whole HTTP server session on arbitrary client
 * bytes.
 *
 * Why this target exists: fuzz_http_parser covers the request parser, not
 * what is built on it: conn's RAW input, pipelined requests behind a held
 * one (/readyz waits for a store commit), the body limit for Content-Length
 * and chunked bodies, 100-continue, routing, target decoding, redirects,
 * the handlers' use of the query and the body, ETag and gzip, HEAD, the
 * output limit, and a shutdown part-way through. The loop, store,
 * listeners, client and watchdog are session_harness.c's.
 *
 * Checked on everything the server sent, once the session is over: it is
 * a sequence of responses, each "HTTP/1.1 NNN reason" with CRLF-terminated
 * "Name: value" header lines, the security headers, a Content-Length on
 * every status with content, followed by that many bytes (or none, for a
 * HEAD); nothing follows a response that said "Connection: close". A
 * violation abort()s.
 *
 * Input layout (struct harness_layout in session_harness.h):
 *   byte 0  bits 0-2  server variant (see configure())
 *           bit 6     token mode: bytes 0x80-0xFF of the rest stand for
 *                     the words in tokens[]
 *           bit 7     shut the server down part-way through
 *   byte 1  bits 0-6  seed: the shutdown point
 *           bit 7     the store's next COMMIT fails (/readyz's answer)
 *   byte 2  bits 0-6  chunking seed (0 = one write)
 *           bit 7     end with a last request that closes
 *   rest    the client's bytes.
 */
#include "tests/fuzz/session_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void configure(struct harness_variant *v, size_t i)
{
	struct config *cfg = &v->cfg;
	struct config_listen *lc = &cfg->listen[0];
	lc->protocol = PROTO_HTTP;
	lc->tls = LISTEN_TLS_NONE;
	/* Listeners the server only describes (autoconfig) and redirects to:
	 * never opened, the harness opens listen[0] alone. */
	static const struct {
		enum listen_protocol p;
		enum listen_tls tls;
		const char *addr;
	} more[] = {{PROTO_IMAP, LISTEN_TLS_IMPLICIT, "127.0.0.1:993"},
	            {PROTO_POP3, LISTEN_TLS_STARTTLS, "127.0.0.1:110"},
	            {PROTO_SUBMISSION, LISTEN_TLS_IMPLICIT, "127.0.0.1:465"},
	            {PROTO_HTTP, LISTEN_TLS_IMPLICIT, "127.0.0.1:443"}};
	size_t nmore = i & 1 ? 4 : 3; /* odd variants redirect to HTTPS */
	for (size_t k = 0; k < nmore; k++) {
		struct config_listen *l = &cfg->listen[cfg->nlisten++];
		memset(l, 0, sizeof *l);
		l->protocol = more[k].p;
		l->tls = more[k].tls;
		snprintf(l->address, sizeof l->address, "%s", more[k].addr);
	}
	if (i & 2) { /* small limits */
		cfg->http.max_head = 1024;
		cfg->http.max_headers = 10;
		cfg->http.max_body = 1024;
		cfg->http.max_requests = 3;
	}
	if (i & 4)
		v->max_output = 64; /* backpressure on every response */
}

static const struct harness_spec spec = {
    .name = "http",
    .nvariants = 8,
    .configure = configure,
};

/* ---- the checker ------------------------------------------------------- */

#define OUT_CAP (8u << 20)

struct out {
	char *p;
	size_t len;
	bool overflow;
};

static void on_bytes(void *ud, const char *p, size_t n)
{
	struct out *o = ud;
	if (o->len + n > OUT_CAP) {
		o->overflow = true;
		return;
	}
	memcpy(o->p + o->len, p, n);
	o->len += n;
}

static _Noreturn void bad(const char *why, const char *at, size_t n)
{
	fprintf(stderr, "fuzz_http_session: %s at \"", why);
	harness_print_escaped(at, n > 200 ? 200 : n);
	fprintf(stderr, "\"\n");
	abort();
}

static bool has_header(const char *head, size_t len, const char *name, const char **value)
{
	size_t nl = strlen(name);
	for (const char *p = head; p < head + len;) {
		const char *eol = memmem(p, (size_t)(head + len - p), "\r\n", 2);
		if (!eol)
			break;
		if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			if (value)
				*value = p + nl + 1;
			return true;
		}
		p = eol + 2;
	}
	return false;
}

static void check_stream(const char *s, size_t len, bool clean_eof)
{
	size_t pos = 0;
	bool closed = false;
	while (pos < len) {
		const char *r = s + pos;
		size_t left = len - pos;
		if (closed)
			bad("bytes after Connection: close", r, left);
		const char *end = memmem(r, left, "\r\n\r\n", 4);
		if (!end) {
			if (clean_eof)
				bad("unterminated response head", r, left);
			return; /* cut by a shutdown or a reset */
		}
		size_t hlen = (size_t)(end - r) + 2;
		int status = 0;
		if (left < 13 || memcmp(r, "HTTP/1.1 ", 9) != 0 ||
		    sscanf(r + 9, "%3d", &status) != 1 || status < 100 || status > 599 ||
		    r[12] != ' ')
			bad("bad status line", r, left);
		for (const char *p = memmem(r, hlen, "\r\n", 2) + 2; p < r + hlen;) {
			const char *eol = memmem(p, (size_t)(r + hlen - p), "\r\n", 2);
			const char *colon = memchr(p, ':', (size_t)(eol - p));
			if (!colon || colon == p)
				bad("bad header line", p, (size_t)(eol - p));
			for (const char *q = p; q < eol; q++)
				if ((unsigned char)*q < ' ' && *q != '\t')
					bad("control byte in a header", p, (size_t)(eol - p));
			p = eol + 2;
		}
		pos += hlen + 2;
		if (status < 200)
			continue; /* 100 Continue: the final response follows */
		if (!has_header(r, hlen, "X-Content-Type-Options", NULL) ||
		    !has_header(r, hlen, "Date", NULL))
			bad("missing the headers every response has", r, hlen);
		const char *cl = NULL;
		bool content = status != 204 && status != 304;
		if (content && !has_header(r, hlen, "Content-Length", &cl))
			bad("no Content-Length", r, hlen);
		if (cl) {
			unsigned long long n = strtoull(cl, NULL, 10);
			bool head_reply =
			    n > 0 && (pos == len ||
			              (len - pos >= 9 && memcmp(s + pos, "HTTP/1.1 ", 9) == 0));
			if (!head_reply) {
				if (n > len - pos) {
					if (clean_eof)
						bad("body shorter than its Content-Length", r,
						    hlen);
					return;
				}
				pos += n;
			}
		}
		const char *conn = NULL;
		if (has_header(r, hlen, "Connection", &conn) && strncmp(conn, " close\r", 7) == 0)
			closed = true;
	}
}

/* ---- the input --------------------------------------------------------- */

static size_t prelude(char *out, size_t cap, unsigned depth, unsigned seed)
{
	(void)out;
	(void)cap;
	(void)depth;
	(void)seed;
	return 0;
}

static const char *const tokens[] = {
    "GET ",
    "HEAD ",
    "POST ",
    "OPTIONS ",
    " HTTP/1.1\r\n",
    " HTTP/1.0\r\n",
    "Host: a\r\n",
    "\r\n",
    "Content-Length: 5\r\n",
    "Content-Length: 0\r\n",
    "Transfer-Encoding: chunked\r\n",
    "5\r\nhello\r\n",
    "0\r\n\r\n",
    "Expect: 100-continue\r\n",
    "Connection: close\r\n",
    "Connection: keep-alive\r\n",
    "Accept-Encoding: gzip\r\n",
    "If-None-Match: *\r\n",
    "Authorization: Bearer x\r\n",
    "/healthz",
    "/readyz",
    "/metrics",
    "/mail/config-v1.1.xml",
    "/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=a%40b.test",
    "/autodiscover/autodiscover.xml",
    "<EMailAddress>u@example.test</EMailAddress>",
    "/mobileconfig?emailaddress=u%40example.test",
    "/.well-known/acme-challenge/x",
    "http://h/healthz",
    "/a/../b",
    "%2e",
    "GET /readyz HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /mail/config-v1.1.xml HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n",
    "POST /autodiscover/autodiscover.xml HTTP/1.1\r\nHost: a\r\nContent-Length: 44\r\n\r\n"
    "<EMailAddress>u@example.test</EMailAddress>\n",
    harness_tok_nul,
    harness_tok_long,
};
static const struct harness_tokens dictionary = {
    .words = tokens,
    .nwords = sizeof tokens / sizeof tokens[0],
    .long_prefix = "GET /",
    .long_len = 40000, /* over the default max_head */
};

static const struct harness_layout layout = {
    .prelude = prelude,
    .dictionary = &dictionary,
    .finish = "GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    .on_bytes = on_bytes,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	harness_setup(&spec);
	static struct out o;
	if (!o.p && !(o.p = malloc(OUT_CAP)))
		abort();
	o.len = 0;
	o.overflow = false;
	bool clean_eof = harness_run_input(&layout, data, size, &o);
	if (!o.overflow)
		check_stream(o.p, o.len, clean_eof && !(data[0] & 0x80));
	harness_input_done();
	return 0;
}
