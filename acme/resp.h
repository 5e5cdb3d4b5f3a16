/* resp: an HTTP/1.1 response parser for the ACME client, fed the bytes as
 * they arrive.
 *
 * It keeps what ACME reads: the status, Location, Replay-Nonce,
 * Content-Type, Retry-After (delta-seconds) and Link rel="up", and the
 * body, framed by Content-Length, chunked transfer coding, or the end of
 * the connection. Interim 1xx responses are skipped. Everything is
 * bounded: the head by RESP_MAX_HEAD, the body by RESP_MAX_BODY; anything
 * malformed or too large is an error, never a crash. */
#ifndef TERN_ACME_RESP_H
#define TERN_ACME_RESP_H

#include <stdbool.h>
#include <stddef.h>

#define RESP_MAX_HEAD (32 * 1024)
#define RESP_MAX_BODY (1024 * 1024)

enum resp_state {
	RESP_HEAD,
	RESP_BODY_LEN,
	RESP_CHUNK_SIZE,
	RESP_CHUNK_DATA,
	RESP_CHUNK_END,
	RESP_TRAILER,
	RESP_BODY_EOF,
	RESP_DONE,
	RESP_ERROR
};

struct acme_resp {
	int status;
	char location[1024];
	char nonce[256];
	char content_type[128];
	char link_up[1024];
	long retry_after; /* seconds, -1 if absent */
	char *body;       /* NUL-terminated */
	size_t body_len;
	const char *error; /* when state is RESP_ERROR */

	enum resp_state state;
	bool head_request;
	size_t want; /* bytes left in a Content-Length body or a chunk */
	char *raw;   /* the head, or a chunk-size / trailer line, being collected */
	size_t raw_len;
};

void acme_resp_init(struct acme_resp *r);
void acme_resp_free(struct acme_resp *r);
/* Feed bytes: 1 complete (bytes after it are ignored), 0 more needed, -1
 * error (r->error says why). */
int acme_resp_feed(struct acme_resp *r, const char *p, size_t n);
/* The connection ended: 1 if that completes the response (a body framed
 * by the close), else -1. */
int acme_resp_eof(struct acme_resp *r);

#endif
