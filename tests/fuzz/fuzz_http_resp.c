/* fuzz_http_resp: arbitrary bytes through net/http_resp.h, the HTTP response
 * parser, in pieces whose sizes come from the first input byte, as a GET
 * or a HEAD, with the connection's end after the last piece. Checks,
 * beside no crash and no leak: the result is the same fed whole; a
 * complete response has a status of 100..999 that is not 1xx; the body
 * stays within HTTP_RESP_MAX_BODY and is NUL-terminated; the header values are
 * NUL-terminated within their fields; an error sticks. */
#include "net/http_resp.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run(const uint8_t *data, size_t size, size_t piece, bool head, struct http_resp *r)
{
	http_resp_init(r);
	r->head_request = head;
	int rc = 0;
	for (size_t off = 0; off < size && rc == 0;) {
		size_t n = size - off < piece ? size - off : piece;
		rc = http_resp_feed(r, (const char *)data + off, n);
		off += n;
	}
	if (rc == 0)
		rc = http_resp_eof(r);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t piece = (size_t)(data[0] & 0x7f) + 1;
	bool head = data[0] & 0x80;
	data++;
	size--;
	struct http_resp a, b;
	int ra = run(data, size, piece, head, &a);
	int rb = run(data, size, size ? size : 1, head, &b);
	if (ra != rb || a.status != b.status || a.body_len != b.body_len ||
	    (a.body_len && memcmp(a.body, b.body, a.body_len) != 0))
		abort();
	if (ra == 1) {
		if (a.status < 200 || a.status > 999)
			abort();
		if (a.body_len > HTTP_RESP_MAX_BODY || (a.body && a.body[a.body_len] != '\0'))
			abort();
		if (!memchr(a.nonce, 0, sizeof a.nonce) ||
		    !memchr(a.location, 0, sizeof a.location) ||
		    !memchr(a.content_type, 0, sizeof a.content_type) ||
		    !memchr(a.link_up, 0, sizeof a.link_up))
			abort();
		if (a.retry_after < -1 || a.retry_after > 86400)
			abort();
	} else if (ra != -1 || a.state != HTTP_RESP_ERROR || http_resp_feed(&a, "x", 1) != -1) {
		abort();
	}
	http_resp_free(&a);
	http_resp_free(&b);
	return 0;
}
