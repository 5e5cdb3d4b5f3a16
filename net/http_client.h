/* http_client: one HTTP or HTTPS request on the loop, for the floors
 * above that talk to a web service (acme/'s ACME client, the relay's
 * MTA-STS policy fetch, rspamd).
 *
 * Resolve the URL's host (uv_getaddrinfo, so /etc/hosts and the system
 * resolver apply), connect (each address in turn until one answers), for
 * https:// TLS with the given client context (verifying the server against
 * its CA file and the host name), send one request with "Connection:
 * close", parse the response (http_resp.h) and report it once. One
 * connection per request: every user makes few, spread over seconds. No
 * redirect is followed (MTA-STS forbids it; ACME does not need it). */
#ifndef TERN_NET_HTTP_CLIENT_H
#define TERN_NET_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "net/http_resp.h"

struct http_client;
struct tls_client_ctx;

/* err NULL: resp holds a complete response (any status); the callee owns
 * it only during the call. Else resp is NULL. The request is gone when
 * the callback returns. */
typedef void (*http_client_cb)(void *ud, const char *err, struct http_resp *resp);

struct http_client_req {
	const char *method;       /* "GET", "HEAD", "POST" */
	const char *url;          /* http[s]://host[:port]/path */
	const char *accept;       /* NULL: any */
	const char *content_type; /* of the body; NULL: none sent */
	const char *body;         /* NULL: none (no Content-Length) */
	size_t body_len;
	/* More header lines, each "Name: value\r\n"; NULL: none. Together
	 * with the rest of the head at most 8 KiB. */
	const char *headers;
	size_t max_body; /* 0: HTTP_RESP_MAX_BODY (the most allowed) */
	/* Non-NULL: connect to this address (and its port) instead of
	 * resolving the URL's host, which still names the server for Host,
	 * SNI and the certificate check (the caller resolved it with its own
	 * resolver, as the relay does). */
	const struct sockaddr *connect_addr;
	uint64_t timeout_ms; /* 0: 30 s */
};

/* NULL (no callback) when the URL is neither http nor https, an https URL
 * comes without a TLS context, the head is too large or nothing could
 * start. tls is unused for http://. */
struct http_client *http_client_start(uv_loop_t *loop, struct tls_client_ctx *tls,
                                      const struct http_client_req *req, http_client_cb cb,
                                      void *ud);
/* No callback after this. */
void http_client_cancel(struct http_client *h);

/* "https://host:port/path?q" -> host, port (443; 80 for http://), path
 * ("/"); *https says which scheme (may be NULL). 0 or -1. */
int http_url_split(const char *url, char *host, size_t hostlen, int *port, char *path,
                   size_t pathlen, bool *https);

#endif
