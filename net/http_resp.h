/* http_resp: an HTTP/1.1 response parser for net/http_client, fed the
 * bytes as they arrive.
 *
 * It keeps what its clients read (ACME, the MTA-STS policy fetch, rspamd):
 * the status, Location, Replay-Nonce,
 * Content-Type, Retry-After (delta-seconds) and Link rel="up", and the
 * body, framed by Content-Length, chunked transfer coding, or the end of
 * the connection. Interim 1xx responses are skipped. Everything is
 * bounded: the head by HTTP_RESP_MAX_HEAD, the body by max_body (at most
 * HTTP_RESP_MAX_BODY); anything
 * malformed or too large is an error, never a crash. */
#ifndef TERN_NET_HTTP_RESP_H
#define TERN_NET_HTTP_RESP_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_RESP_MAX_HEAD (32 * 1024)
#define HTTP_RESP_MAX_BODY (1024 * 1024)

enum resp_state {
	HTTP_RESP_HEAD,
	HTTP_RESP_BODY_LEN,
	HTTP_RESP_CHUNK_SIZE,
	HTTP_RESP_CHUNK_DATA,
	HTTP_RESP_CHUNK_END,
	HTTP_RESP_TRAILER,
	HTTP_RESP_BODY_EOF,
	HTTP_RESP_DONE,
	HTTP_RESP_ERROR
};

struct http_resp {
	int status;
	char location[1024];
	char nonce[256];
	char content_type[128];
	char link_up[1024];
	long retry_after; /* seconds, -1 if absent */
	char *body;       /* NUL-terminated */
	size_t body_len;
	const char *error; /* when state is HTTP_RESP_ERROR */

	enum resp_state state;
	bool head_request;
	size_t max_body; /* 0: HTTP_RESP_MAX_BODY; set after init, before feeding */
	size_t want;     /* bytes left in a Content-Length body or a chunk */
	char *raw;       /* the head, or a chunk-size / trailer line, being collected */
	size_t raw_len;
};

void http_resp_init(struct http_resp *r);
void http_resp_free(struct http_resp *r);
/* Feed bytes: 1 complete (bytes after it are ignored), 0 more needed, -1
 * error (r->error says why). */
int http_resp_feed(struct http_resp *r, const char *p, size_t n);
/* The connection ended: 1 if that completes the response (a body framed
 * by the close), else -1. */
int http_resp_eof(struct http_resp *r);

#endif
