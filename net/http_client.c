/* http_client: one HTTP(S) request over net/conn_client (http_client.h).
 *
 * Lifecycle: the struct lives until the connection's `closed` callback (or
 * the resolver's callback, when cancelled before a connection exists).
 * The owner's callback runs exactly once unless it cancelled first:
 * `done` guards it. */
#include "net/http_client.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/conn_client.h"
#include "tls/tls_client.h"

#define CONNECT_TIMEOUT_MS 10000

struct http_client {
	uv_loop_t *loop;
	struct tls_client_ctx *tls;
	uv_getaddrinfo_t gai;
	struct addrinfo *ai, *next_ai;
	struct addrinfo given; /* req->connect_addr, as a one-entry list */
	struct sockaddr_storage given_addr;
	struct conn_client *cc;
	bool resolving, done, connected, https;
	http_client_cb cb;
	void *ud;
	uint64_t timeout_ms;
	char host[256];
	char *request;
	size_t request_len;
	struct http_resp resp;
};

int http_url_split(const char *url, char *host, size_t hostlen, int *port, char *path,
                   size_t pathlen, bool *https)
{
	bool tls = strncmp(url, "https://", 8) == 0;
	if (!tls && strncmp(url, "http://", 7) != 0)
		return -1;
	if (https)
		*https = tls;
	const char *h = url + (tls ? 8 : 7);
	const char *slash = strchr(h, '/');
	const char *he = slash ? slash : h + strlen(h);
	const char *colon = NULL;
	if (*h == '[') {
		const char *rb = memchr(h, ']', (size_t)(he - h));
		if (!rb)
			return -1;
		if (rb + 1 < he && rb[1] == ':')
			colon = rb + 1;
		else if (rb + 1 != he)
			return -1;
	} else {
		colon = memchr(h, ':', (size_t)(he - h));
	}
	const char *hostend = colon ? colon : he;
	size_t hl = (size_t)(hostend - h);
	if (*h == '[') {
		h++;
		hl -= 2;
	}
	if (hl == 0 || hl >= hostlen)
		return -1;
	for (size_t i = 0; i < hl; i++)
		if (h[i] <= ' ' || h[i] == '@' || h[i] == '?' || h[i] == '#')
			return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = tls ? 443 : 80;
	if (colon) {
		long p = 0;
		const char *q = colon + 1;
		if (q == he)
			return -1;
		for (; q < he; q++) {
			if (*q < '0' || *q > '9' || p > 65535)
				return -1;
			p = p * 10 + (*q - '0');
		}
		if (p < 1 || p > 65535)
			return -1;
		*port = (int)p;
	}
	const char *pth = slash ? slash : "/";
	size_t pl = strcspn(pth, "#");
	if (pl >= pathlen)
		return -1;
	for (size_t i = 0; i < pl; i++)
		if ((unsigned char)pth[i] <= ' ')
			return -1;
	memcpy(path, pth, pl);
	path[pl] = '\0';
	return 0;
}

static void finish(struct http_client *h, const char *err)
{
	if (h->done)
		return;
	h->done = true;
	h->cb(h->ud, err, err ? NULL : &h->resp);
}

static void free_http(struct http_client *h)
{
	if (h->ai)
		uv_freeaddrinfo(h->ai);
	http_resp_free(&h->resp);
	free(h->request);
	free(h);
}

static void try_connect(struct http_client *h);

static void on_connected(struct conn_client *cc, int status)
{
	struct http_client *h = conn_client_ud(cc);
	if (status != 0 || h->done)
		return; /* closed follows: the next address, or the error */
	h->connected = true;
	conn_client_set_timeout(cc, h->timeout_ms);
	if (!h->https) {
		if (conn_client_write(cc, h->request, h->request_len) != 0) {
			finish(h, "write failed");
			conn_client_abort(cc);
		}
		return;
	}
	if (conn_client_starttls(cc, h->tls, h->host) != 0) {
		finish(h, "TLS could not start");
		conn_client_abort(cc);
	}
}

static void on_tls_done(struct conn_client *cc, bool ok, const char *err)
{
	struct http_client *h = conn_client_ud(cc);
	if (h->done)
		return;
	if (!ok) {
		char msg[600];
		snprintf(msg, sizeof msg, "TLS with %s failed: %s", h->host, err ? err : "?");
		finish(h, msg);
		conn_client_abort(cc);
		return;
	}
	if (conn_client_write(cc, h->request, h->request_len) != 0) {
		finish(h, "write failed");
		conn_client_abort(cc);
	}
}

static void on_data(struct conn_client *cc, const char *p, size_t n)
{
	struct http_client *h = conn_client_ud(cc);
	if (h->done)
		return;
	int rc = http_resp_feed(&h->resp, p, n);
	if (rc == 0)
		return;
	if (rc < 0) {
		char msg[400];
		snprintf(msg, sizeof msg, "bad response from %s: %s", h->host,
		         h->resp.error ? h->resp.error : "?");
		finish(h, msg);
	} else {
		finish(h, NULL);
	}
	conn_client_abort(cc);
}

static void on_timeout(struct conn_client *cc)
{
	struct http_client *h = conn_client_ud(cc);
	finish(h, "timed out");
	conn_client_abort(cc);
}

static void on_closed(struct conn_client *cc)
{
	struct http_client *h = conn_client_ud(cc);
	h->cc = NULL;
	if (!h->done && !h->connected && h->next_ai) {
		try_connect(h);
		if (h->cc)
			return;
	}
	if (!h->done) {
		if (h->connected && http_resp_eof(&h->resp) == 1)
			finish(h, NULL);
		else if (h->connected)
			finish(h, "connection closed before the response ended");
		else
			finish(h, "cannot connect");
	}
	free_http(h);
}

static const struct conn_client_callbacks callbacks = {
    .connected = on_connected,
    .data = on_data,
    .tls_done = on_tls_done,
    .timeout = on_timeout,
    .closed = on_closed,
};

/* Connect to the next address; leaves h->cc NULL when none could start. */
static void try_connect(struct http_client *h)
{
	while (h->next_ai && !h->cc) {
		struct addrinfo *a = h->next_ai;
		h->next_ai = a->ai_next;
		h->cc = conn_client_connect(h->loop, a->ai_addr, CONNECT_TIMEOUT_MS, &callbacks, h);
	}
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct http_client *h = req->data;
	h->resolving = false;
	h->ai = h->next_ai = res;
	if (h->done) { /* cancelled */
		free_http(h);
		return;
	}
	if (status != 0) {
		char msg[400];
		snprintf(msg, sizeof msg, "cannot resolve %s: %s", h->host, uv_strerror(status));
		finish(h, msg);
		free_http(h);
		return;
	}
	try_connect(h);
	if (!h->cc) {
		finish(h, "cannot connect");
		free_http(h);
	}
}

struct http_client *http_client_start(uv_loop_t *loop, struct tls_client_ctx *tls,
                                      const struct http_client_req *req, http_client_cb cb,
                                      void *ud)
{
	char path[2048];
	int port;
	struct http_client *h = calloc(1, sizeof *h);
	if (!h)
		return NULL;
	if (http_url_split(req->url, h->host, sizeof h->host, &port, path, sizeof path,
	                   &h->https) != 0 ||
	    (h->https && !tls)) {
		free(h);
		return NULL;
	}
	h->loop = loop;
	h->tls = tls;
	h->cb = cb;
	h->ud = ud;
	h->timeout_ms = req->timeout_ms ? req->timeout_ms : 30000;
	http_resp_init(&h->resp);
	h->resp.head_request = strcmp(req->method, "HEAD") == 0;
	h->resp.max_body = req->max_body;
	char hosthdr[300];
	bool v6 = strchr(h->host, ':') != NULL;
	if (port == (h->https ? 443 : 80))
		snprintf(hosthdr, sizeof hosthdr, v6 ? "[%s]" : "%s", h->host);
	else
		snprintf(hosthdr, sizeof hosthdr, v6 ? "[%s]:%d" : "%s:%d", h->host, port);
	char head[8192];
	int n =
	    snprintf(head, sizeof head,
	             "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: tern/%s\r\nAccept: %s\r\n"
	             "Connection: close\r\n",
	             req->method, path, hosthdr, TERN_VERSION, req->accept ? req->accept : "*/*");
	if (n < (int)sizeof head && req->content_type)
		n += snprintf(head + n, sizeof head - (size_t)n, "Content-Type: %s\r\n",
		              req->content_type);
	if (n < (int)sizeof head && req->body)
		n += snprintf(head + n, sizeof head - (size_t)n, "Content-Length: %zu\r\n",
		              req->body_len);
	if (n < (int)sizeof head && req->headers)
		n += snprintf(head + n, sizeof head - (size_t)n, "%s", req->headers);
	if (n < (int)sizeof head)
		n += snprintf(head + n, sizeof head - (size_t)n, "\r\n");
	if (n >= (int)sizeof head || !(h->request = malloc((size_t)n + req->body_len))) {
		free_http(h);
		return NULL;
	}
	memcpy(h->request, head, (size_t)n);
	if (req->body)
		memcpy(h->request + n, req->body, req->body_len);
	h->request_len = (size_t)n + req->body_len;

	if (req->connect_addr) {
		/* One address, given: what on_resolved would do with it. */
		socklen_t alen = req->connect_addr->sa_family == AF_INET6
		                     ? sizeof(struct sockaddr_in6)
		                     : sizeof(struct sockaddr_in);
		memcpy(&h->given_addr, req->connect_addr, alen);
		h->given.ai_family = req->connect_addr->sa_family;
		h->given.ai_socktype = SOCK_STREAM;
		h->given.ai_addr = (struct sockaddr *)&h->given_addr;
		h->given.ai_addrlen = alen;
		h->next_ai = &h->given;
		try_connect(h);
		if (!h->cc) {
			free_http(h);
			return NULL;
		}
		return h;
	}
	char portstr[8];
	snprintf(portstr, sizeof portstr, "%d", port);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	h->gai.data = h;
	h->resolving = true;
	if (uv_getaddrinfo(loop, &h->gai, on_resolved, h->host, portstr, &hints) != 0) {
		free_http(h);
		return NULL;
	}
	return h;
}

void http_client_cancel(struct http_client *h)
{
	if (!h || h->done)
		return;
	h->done = true;
	if (h->resolving)
		uv_cancel((uv_req_t *)&h->gai); /* on_resolved frees */
	else if (h->cc)
		conn_client_abort(h->cc); /* on_closed frees */
}
