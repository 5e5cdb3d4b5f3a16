/* response: how every HTTP answer is written (RFC 9110 §15, RFC 9112 §9).
 *
 * One function writes them all, so that every response carries the same
 * headers: Date, the security headers (nosniff, no referrer, no framing
 * (or same-origin framing only, for the webmail's mail view),
 * HSTS over HTTPS, a CSP on HTML), an exact Content-Length, and
 * "Connection: close" whenever the connection ends after it. Validators
 * and compression are flags: an ETag (a hash of the body) answers a
 * matching If-None-Match with 304, and a compressible body goes out
 * gzip-compressed when the client accepts it and it pays. */
#include "proto/http/http_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <zlib.h>

#include "lib/log.h"
#include "lib/metrics.h"
#include "net/conn.h"
#include "proto/common/env.h"

const char *http_reason(int status)
{
	switch (status) {
	case 100:
		return "Continue";
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 204:
		return "No Content";
	case 207:
		return "Multi-Status"; /* WebDAV (RFC 4918 §11.1) */
	case 301:
		return "Moved Permanently";
	case 304:
		return "Not Modified";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 411:
		return "Length Required";
	case 412:
		return "Precondition Failed";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 415:
		return "Unsupported Media Type";
	case 417:
		return "Expectation Failed";
	case 422:
		return "Unprocessable Content";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	case 507:
		return "Insufficient Storage"; /* WebDAV (RFC 4918 §11.5) */
	default:
		return "Unknown";
	}
}

/* The IMF-fixdate of now (RFC 9110 §5.6.7), made once per second. */
static const char *http_date(void)
{
	static char date[40];
	static time_t made;
	time_t now = time(NULL);
	if (now != made) {
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
		made = now;
	}
	return date;
}

/* A strong validator: 64-bit FNV-1a of the representation. */
static void make_etag(char *out, size_t outlen, const void *body, size_t len)
{
	uint64_t h = 1469598103934665603ull;
	const unsigned char *p = body;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 1099511628211ull;
	}
	snprintf(out, outlen, "\"%016llx\"", (unsigned long long)h);
}

/* If-None-Match (RFC 9110 §13.1.2): "*" or a list with our tag (weak
 * comparison: a W/ prefix on theirs still matches). */
static bool none_match(const struct http_request *r, const char *etag)
{
	const struct http_field *f = http_request_field(r, "If-None-Match");
	if (!f)
		return false;
	const char *p = f->value, *end = f->value + f->value_len;
	size_t tl = strlen(etag);
	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
			p++;
		if (p < end && *p == '*')
			return true;
		if (end - p >= 2 && p[0] == 'W' && p[1] == '/')
			p += 2;
		if ((size_t)(end - p) >= tl && memcmp(p, etag, tl) == 0 &&
		    (p + tl == end || p[tl] == ',' || p[tl] == ' ' || p[tl] == '\t'))
			return true;
		while (p < end && *p != ',')
			p++;
	}
	return false;
}

/* Accept-Encoding lists gzip without q=0 (RFC 9110 §12.5.3). */
static bool accepts_gzip(const struct http_request *r)
{
	const struct http_field *f = http_request_field(r, "Accept-Encoding");
	if (!f)
		return false;
	const char *p = f->value, *end = f->value + f->value_len;
	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
			p++;
		const char *tok = p;
		while (p < end && *p != ',' && *p != ';' && *p != ' ' && *p != '\t')
			p++;
		size_t tl = (size_t)(p - tok);
		bool gz = (tl == 4 && strncasecmp(tok, "gzip", 4) == 0) || (tl == 1 && *tok == '*');
		bool q0 = false;
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *comma = memchr(p, ',', (size_t)(end - p));
		if (semi && (!comma || semi < comma)) {
			const char *q = semi + 1;
			while (q < end && (*q == ' ' || *q == '\t'))
				q++;
			if (end - q >= 3 && (q[0] == 'q' || q[0] == 'Q') && q[1] == '=') {
				double v = strtod(q + 2, NULL);
				q0 = v <= 0.0;
			}
		}
		if (gz && !q0)
			return true;
		p = comma ? comma : end;
	}
	return false;
}

/* gzip of body into out; 0, or -1 when it failed or did not pay. */
static int gzip_body(struct buf *out, const void *body, size_t len)
{
	z_stream z;
	memset(&z, 0, sizeof z);
	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	size_t cap = deflateBound(&z, (uLong)len);
	if (buf_add(out, "", 0) < 0 || cap >= len + 1024) {
		deflateEnd(&z);
		return -1;
	}
	char *dst = malloc(cap);
	if (!dst) {
		deflateEnd(&z);
		return -1;
	}
	z.next_in = (Bytef *)body;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)dst;
	z.avail_out = (uInt)cap;
	int rc = deflate(&z, Z_FINISH);
	size_t n = cap - z.avail_out;
	deflateEnd(&z);
	int r = -1;
	if (rc == Z_STREAM_END && n < len && buf_add(out, dst, n) == 0)
		r = 0;
	free(dst);
	return r;
}

static bool status_has_body(int status)
{
	return status >= 200 && status != 204 && status != 304;
}

void http_respond(struct http_session *s, int status, const char *content_type,
                  const char *extra_headers, const void *body, size_t len, unsigned flags)
{
	const struct http_request *r = s->req;
	struct http_entity e = {
	    .content_type = content_type,
	    .extra = extra_headers,
	    .body = body,
	    .len = len,
	    .flags = flags,
	};
	char etag[24];
	if ((flags & HTTP_R_CACHE) && status == 200 && r) {
		make_etag(etag, sizeof etag, body, len);
		e.etag = etag;
	}
	struct buf gz = {0};
	if ((flags & HTTP_R_GZIP) && status == 200 && r && len >= 512 && accepts_gzip(r) &&
	    !(e.etag && none_match(r, e.etag)) && gzip_body(&gz, body, len) == 0) {
		e.gz = gz.data;
		e.gzlen = gz.len;
	}
	http_respond_entity(s, status, &e);
	buf_free(&gz);
}

int http_gzip(struct buf *out, const void *body, size_t len)
{
	return gzip_body(out, body, len);
}

void http_respond_entity(struct http_session *s, int status, const struct http_entity *ent)
{
	const struct http_request *r = s->req;
	const struct http_settings *cfg = s->ctx->settings;
	if (conn_is_closing(s->c))
		return;
	bool head = r && r->method == HTTP_HEAD;
	bool close = !r || !r->keep_alive || status == 400 || status == 408 || status == 413 ||
	             status == 414 || status == 431 || status == 501 || status == 505 ||
	             s->requests + 1 >= (unsigned)cfg->max_requests || s->ctx->env->stopping ||
	             (ent->flags & HTTP_R_STREAM);
	unsigned flags = ent->flags;
	const void *body = ent->body;
	size_t len = ent->len;
	const char *etag = status == 200 && r ? ent->etag : NULL;
	if (etag && none_match(r, etag))
		status = 304;
	bool gzipped = false;
	if (ent->gz && status == 200 && r && accepts_gzip(r)) {
		body = ent->gz;
		len = ent->gzlen;
		gzipped = true;
	}

	struct buf h = {0};
	int e = buf_printf(&h, "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: tern\r\n", status,
	                   http_reason(status), http_date());
	if (status_has_body(status) && (flags & HTTP_R_STREAM)) {
		e |= buf_printf(&h, "Content-Type: %s\r\n", ent->content_type);
	} else if (status_has_body(status)) {
		e |= buf_printf(&h, "Content-Type: %s\r\nContent-Length: %zu\r\n",
		                ent->content_type ? ent->content_type : "text/plain; charset=utf-8",
		                len);
	}
	if (gzipped)
		e |= buf_adds(&h, "Content-Encoding: gzip\r\n");
	if ((flags & HTTP_R_GZIP) || ent->gz)
		e |= buf_adds(&h, "Vary: Accept-Encoding\r\n");
	if (etag)
		e |= buf_printf(&h, "ETag: %s\r\n", etag);
	e |= buf_adds(&h, "X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n");
	e |= buf_adds(&h, (flags & HTTP_R_FRAME_SELF) ? "X-Frame-Options: SAMEORIGIN\r\n"
	                                              : "X-Frame-Options: DENY\r\n");
	if (conn_is_tls(s->c) && cfg->hsts_max_age > 0)
		e |= buf_printf(&h, "Strict-Transport-Security: max-age=%lld\r\n",
		                (long long)cfg->hsts_max_age);
	if (flags & HTTP_R_HTML)
		e |= buf_adds(&h, "Content-Security-Policy: default-src 'none'; frame-ancestors "
		                  "'none'; base-uri 'none'; form-action 'self'\r\n");
	if (flags & HTTP_R_NOSTORE)
		e |= buf_adds(&h, "Cache-Control: no-store\r\n");
	if (close)
		e |= buf_adds(&h, "Connection: close\r\n");
	else if (r && r->version_minor == 0)
		e |= buf_adds(&h, "Connection: keep-alive\r\n");
	if (ent->extra)
		e |= buf_adds(&h, ent->extra);
	e |= buf_adds(&h, "\r\n");
	if (e != 0) {
		buf_free(&h);
		conn_abort(s->c);
		return;
	}
	conn_write(s->c, h.data, h.len);
	s->body_pending = false;
	if (!head && status_has_body(status) && len && (flags & HTTP_R_BODY_LATER)) {
		s->body_pending = true;
		s->close_after_body = close;
	} else if (!head && status_has_body(status) && len) {
		conn_write(s->c, body, len);
	}
	if (status >= 200 && status < 600)
		metric_add(MET_HTTP_2XX + status / 100 - 2, 1);
	if (r) {
		char path[200];
		log_session(LOG_DEBUG, conn_id(s->c), conn_peer(s->c), "http",
		            "event=request method=%s path=%s status=%d bytes=%zu", r->method_name,
		            log_kv_escape(path, sizeof path, s->path, strlen(s->path)), status,
		            status_has_body(status) && !head ? len : 0);
	}
	buf_free(&h);
	s->requests++;
	/* a stream's body is written later; so is a body written later */
	if (close && !(flags & HTTP_R_STREAM) && !s->body_pending)
		conn_close(s->c);
}

void http_respond_error(struct http_session *s, int status)
{
	char body[80];
	int n = snprintf(body, sizeof body, "%d %s\n", status, http_reason(status));
	http_respond(s, status, "text/plain; charset=utf-8", NULL, body, (size_t)n, 0);
}
