/* http_client: one HTTPS request to the ACME server, on the loop.
 *
 * Resolve the URL's host (uv_getaddrinfo, so /etc/hosts and the system
 * resolver apply), connect (each address in turn until one answers), TLS
 * with the given client context (verifying the server against its CA file
 * and the host name), send one request with "Connection: close", parse
 * the response (resp.h) and report it once. One connection per request:
 * an issuance is about a dozen requests, spread over seconds. */
#ifndef TERN_ACME_HTTP_CLIENT_H
#define TERN_ACME_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "acme/resp.h"

struct acme_http;
struct tls_client_ctx;

/* err NULL: resp holds a complete response (any status); the callee owns
 * it only during the call. Else resp is NULL. The request is gone when
 * the callback returns. */
typedef void (*acme_http_cb)(void *ud, const char *err, struct acme_resp *resp);

struct acme_http_req {
	const char *method; /* "GET", "HEAD", "POST" */
	const char *url;    /* https://host[:port]/path */
	const char *accept; /* NULL: any */
	const char *body;   /* POST: application/jose+json */
	size_t body_len;
	uint64_t timeout_ms;
};

/* NULL (no callback) when the URL is not https or nothing could start. */
struct acme_http *acme_http_start(uv_loop_t *loop, struct tls_client_ctx *tls,
                                  const struct acme_http_req *req, acme_http_cb cb, void *ud);
/* No callback after this. */
void acme_http_cancel(struct acme_http *h);

/* "https://host:port/path?q" -> host, port (443), path ("/"). 0 or -1. */
int acme_url_split(const char *url, char *host, size_t hostlen, int *port, char *path,
                   size_t pathlen);

#endif
