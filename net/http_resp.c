/* http_resp: the HTTP/1.1 response parser of net/http_client (http_resp.h).
 *
 * A state machine over whatever piece arrives: the head is collected into
 * one bounded buffer and parsed when its blank line is in; a chunk-size
 * line or a trailer line goes through the same buffer. Body bytes are
 * copied straight into a buffer that grows up to the body cap (max_body,
 * or HTTP_RESP_MAX_BODY). */
#include "net/http_resp.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_LINE 1024 /* a chunk-size or trailer line */
#define MAX_RETRY_AFTER 86400L

void http_resp_init(struct http_resp *r)
{
	memset(r, 0, sizeof *r);
	r->retry_after = -1;
	r->state = HTTP_RESP_HEAD;
}

void http_resp_free(struct http_resp *r)
{
	free(r->body);
	free(r->raw);
	r->body = r->raw = NULL;
}

static int fail(struct http_resp *r, const char *why)
{
	r->state = HTTP_RESP_ERROR;
	r->error = why;
	return -1;
}

static int raw_add(struct http_resp *r, const char *p, size_t n, size_t cap)
{
	if (!r->raw && !(r->raw = malloc(HTTP_RESP_MAX_HEAD + 1)))
		return -1;
	if (r->raw_len + n > cap)
		return -1;
	memcpy(r->raw + r->raw_len, p, n);
	r->raw_len += n;
	r->raw[r->raw_len] = '\0';
	return 0;
}

static size_t body_cap(const struct http_resp *r)
{
	return r->max_body && r->max_body < HTTP_RESP_MAX_BODY ? r->max_body : HTTP_RESP_MAX_BODY;
}

static int body_add(struct http_resp *r, const char *p, size_t n)
{
	if (n > body_cap(r) - r->body_len)
		return fail(r, "body too large");
	size_t need = r->body_len + n + 1;
	size_t cap = 4096;
	while (cap < need)
		cap *= 2;
	char *b = realloc(r->body, cap);
	if (!b)
		return fail(r, "out of memory");
	r->body = b;
	memcpy(b + r->body_len, p, n);
	r->body_len += n;
	b[r->body_len] = '\0';
	return 0;
}

static void copy_value(char *dst, size_t dstlen, const char *v, size_t n)
{
	if (n >= dstlen)
		n = dstlen - 1; /* too long to be useful: kept truncated */
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static long parse_retry_after(const char *v, size_t n)
{
	char tmp[64];
	if (n == 0 || n >= sizeof tmp)
		return -1;
	memcpy(tmp, v, n);
	tmp[n] = '\0';
	if (isdigit((unsigned char)tmp[0])) {
		long s = 0;
		for (size_t i = 0; i < n; i++) {
			if (!isdigit((unsigned char)tmp[i]))
				return -1;
			if (s < MAX_RETRY_AFTER)
				s = s * 10 + (tmp[i] - '0');
		}
		return s < MAX_RETRY_AFTER ? s : MAX_RETRY_AFTER;
	}
	struct tm tm = {0};
	const char *end = strptime(tmp, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (!end || *end)
		return -1;
	long d = (long)(timegm(&tm) - time(NULL));
	return d < 0 ? 0 : d > MAX_RETRY_AFTER ? MAX_RETRY_AFTER : d;
}

/* Link: <url>;rel="up", <url2>;rel="alternate" */
static void parse_link(struct http_resp *r, const char *v, size_t n)
{
	const char *e = v + n;
	while (v < e && !r->link_up[0]) {
		const char *lt = memchr(v, '<', (size_t)(e - v));
		if (!lt)
			return;
		const char *gt = memchr(lt, '>', (size_t)(e - lt));
		if (!gt)
			return;
		const char *next = memchr(gt, ',', (size_t)(e - gt));
		const char *pe = next ? next : e;
		size_t plen = (size_t)(pe - gt);
		bool up = (plen >= 9 && memmem(gt, plen, "rel=\"up\"", 8)) ||
		          (plen >= 6 && memmem(gt, plen, "rel=up", 6));
		if (up)
			copy_value(r->link_up, sizeof r->link_up, lt + 1, (size_t)(gt - lt - 1));
		v = next ? next + 1 : e;
	}
}

static bool name_is(const char *name, size_t n, const char *want)
{
	return strlen(want) == n && strncasecmp(name, want, n) == 0;
}

/* Parse the head in raw[0..len). 0, or -1. */
static int parse_head(struct http_resp *r, size_t len)
{
	char *p = r->raw, *end = r->raw + len;
	char *nl = memchr(p, '\n', len);
	if (!nl)
		return fail(r, "no status line");
	if (nl - p < 12 || strncmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ' ||
	    !isdigit((unsigned char)p[9]) || !isdigit((unsigned char)p[10]) ||
	    !isdigit((unsigned char)p[11]) || (nl - p > 12 && p[12] != ' ' && p[12] != '\r'))
		return fail(r, "bad status line");
	r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	if (r->status < 100)
		return fail(r, "bad status code");
	bool chunked = false, has_len = false;
	size_t clen = 0;
	for (p = nl + 1; p < end;) {
		nl = memchr(p, '\n', (size_t)(end - p));
		char *le = nl ? nl : end;
		char *next = nl ? nl + 1 : end;
		if (le > p && le[-1] == '\r')
			le--;
		if (le == p)
			break; /* the blank line */
		if (*p == ' ' || *p == '\t')
			return fail(r, "obsolete line folding");
		char *colon = memchr(p, ':', (size_t)(le - p));
		if (!colon || colon == p)
			return fail(r, "bad header line");
		size_t nlen = (size_t)(colon - p);
		for (size_t i = 0; i < nlen; i++)
			if (p[i] == ' ' || p[i] == '\t')
				return fail(r, "space in a header name");
		char *v = colon + 1;
		while (v < le && (*v == ' ' || *v == '\t'))
			v++;
		char *ve = le;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		size_t vlen = (size_t)(ve - v);
		if (name_is(p, nlen, "Content-Length")) {
			size_t c = 0;
			if (vlen == 0)
				return fail(r, "bad Content-Length");
			for (size_t i = 0; i < vlen; i++) {
				if (!isdigit((unsigned char)v[i]) || c > body_cap(r))
					return fail(r, vlen && isdigit((unsigned char)v[i])
					                   ? "body too large"
					                   : "bad Content-Length");
				c = c * 10 + (size_t)(v[i] - '0');
			}
			if (has_len && c != clen)
				return fail(r, "conflicting Content-Length");
			has_len = true;
			clen = c;
		} else if (name_is(p, nlen, "Transfer-Encoding")) {
			if (vlen >= 7 && strncasecmp(ve - 7, "chunked", 7) == 0)
				chunked = true;
			else
				return fail(r, "unknown transfer coding");
		} else if (name_is(p, nlen, "Location")) {
			copy_value(r->location, sizeof r->location, v, vlen);
		} else if (name_is(p, nlen, "Replay-Nonce")) {
			copy_value(r->nonce, sizeof r->nonce, v, vlen);
		} else if (name_is(p, nlen, "Content-Type")) {
			copy_value(r->content_type, sizeof r->content_type, v, vlen);
		} else if (name_is(p, nlen, "Retry-After")) {
			r->retry_after = parse_retry_after(v, vlen);
		} else if (name_is(p, nlen, "Link")) {
			parse_link(r, v, vlen);
		}
		p = next;
	}
	if (r->status >= 100 && r->status < 200) {
		r->state = HTTP_RESP_HEAD; /* interim: the real response follows */
		return 0;
	}
	if (clen > body_cap(r))
		return fail(r, "body too large");
	if (r->head_request || r->status == 204 || r->status == 304)
		r->state = HTTP_RESP_DONE;
	else if (chunked)
		r->state = HTTP_RESP_CHUNK_SIZE;
	else if (has_len) {
		r->want = clen;
		r->state = clen ? HTTP_RESP_BODY_LEN : HTTP_RESP_DONE;
	} else
		r->state = HTTP_RESP_BODY_EOF;
	return 0;
}

/* Collect one line into raw; returns bytes used from p, and sets *done
 * when the line (LF included) is complete. -1 when too long. */
static long take_line(struct http_resp *r, const char *p, size_t n, bool *done)
{
	const char *nl = memchr(p, '\n', n);
	size_t k = nl ? (size_t)(nl - p) + 1 : n;
	if (raw_add(r, p, k, MAX_LINE) != 0)
		return -1;
	*done = nl != NULL;
	return (long)k;
}

static int parse_chunk_size(struct http_resp *r)
{
	size_t v = 0;
	size_t i = 0;
	for (; i < r->raw_len && isxdigit((unsigned char)r->raw[i]); i++) {
		if (v > body_cap(r))
			return fail(r, "body too large");
		char c = (char)tolower((unsigned char)r->raw[i]);
		v = v * 16 + (size_t)(c <= '9' ? c - '0' : c - 'a' + 10);
	}
	if (i == 0)
		return fail(r, "bad chunk size");
	char c = r->raw[i];
	if (c != '\0' && c != ';' && c != ' ' && c != '\t')
		return fail(r, "bad chunk size");
	if (v > body_cap(r) - r->body_len)
		return fail(r, "body too large");
	r->want = v;
	r->state = v ? HTTP_RESP_CHUNK_DATA : HTTP_RESP_TRAILER;
	return 0;
}

int http_resp_feed(struct http_resp *r, const char *p, size_t n)
{
	while (n > 0 || r->state == HTTP_RESP_DONE) {
		switch (r->state) {
		case HTTP_RESP_DONE:
			return 1;
		case HTTP_RESP_ERROR:
			return -1;
		case HTTP_RESP_HEAD: {
			size_t old = r->raw_len;
			size_t k = n < HTTP_RESP_MAX_HEAD - old ? n : HTTP_RESP_MAX_HEAD - old;
			if (k == 0 || raw_add(r, p, k, HTTP_RESP_MAX_HEAD) != 0)
				return fail(r, "response head too large");
			size_t from = old > 3 ? old - 3 : 0;
			size_t end = 0;
			for (size_t i = from; i < r->raw_len && !end; i++) {
				if (r->raw[i] != '\n')
					continue;
				if (i >= 1 && r->raw[i - 1] == '\n')
					end = i + 1;
				else if (i >= 2 && r->raw[i - 1] == '\r' && r->raw[i - 2] == '\n')
					end = i + 1;
			}
			if (!end) {
				p += k;
				n -= k;
				break;
			}
			size_t used = end - old;
			if (parse_head(r, end) != 0)
				return -1;
			r->raw_len = 0;
			p += used;
			n -= used;
			break;
		}
		case HTTP_RESP_BODY_LEN:
		case HTTP_RESP_CHUNK_DATA:
		case HTTP_RESP_BODY_EOF: {
			size_t k = n;
			if (r->state != HTTP_RESP_BODY_EOF && k > r->want)
				k = r->want;
			if (body_add(r, p, k) != 0)
				return -1;
			p += k;
			n -= k;
			if (r->state != HTTP_RESP_BODY_EOF)
				r->want -= k;
			if (r->state == HTTP_RESP_BODY_LEN && r->want == 0)
				r->state = HTTP_RESP_DONE;
			else if (r->state == HTTP_RESP_CHUNK_DATA && r->want == 0)
				r->state = HTTP_RESP_CHUNK_END;
			break;
		}
		case HTTP_RESP_CHUNK_SIZE:
		case HTTP_RESP_CHUNK_END:
		case HTTP_RESP_TRAILER: {
			bool done;
			long k = take_line(r, p, n, &done);
			if (k < 0)
				return fail(r, "chunk line too long");
			p += k;
			n -= (size_t)k;
			if (!done)
				break;
			size_t len = r->raw_len;
			if (len && r->raw[len - 1] == '\n')
				len--;
			if (len && r->raw[len - 1] == '\r')
				len--;
			enum resp_state st = r->state;
			r->raw_len = 0;
			if (st == HTTP_RESP_CHUNK_END) {
				if (len != 0)
					return fail(r, "chunk not followed by CRLF");
				r->state = HTTP_RESP_CHUNK_SIZE;
			} else if (st == HTTP_RESP_TRAILER) {
				if (len == 0)
					r->state = HTTP_RESP_DONE;
			} else {
				r->raw[len] = '\0';
				r->raw_len = len;
				int rc = parse_chunk_size(r);
				r->raw_len = 0;
				if (rc != 0)
					return -1;
			}
			break;
		}
		}
	}
	return r->state == HTTP_RESP_DONE ? 1 : r->state == HTTP_RESP_ERROR ? -1 : 0;
}

int http_resp_eof(struct http_resp *r)
{
	if (r->state == HTTP_RESP_DONE)
		return 1;
	if (r->state == HTTP_RESP_BODY_EOF) {
		r->state = HTTP_RESP_DONE;
		if (!r->body && body_add(r, "", 0) != 0)
			return -1;
		return 1;
	}
	if (r->state != HTTP_RESP_ERROR)
		fail(r, "connection closed before the response ended");
	return -1;
}
