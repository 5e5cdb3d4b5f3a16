/* parser: the incremental HTTP/1.1 request parser (RFC 9110, RFC 9112).
 *
 * Byte-driven and resumable like the IMAP parser: feed it any split of the
 * input (one byte at a time, a whole packet, several pipelined requests at
 * once) and it reports the same events. The HTTP session feeds it what
 * conn delivers; the unit test, the fuzzer and the differential test
 * against Node's parser (llhttp) feed raw bytes. Pull style: each call
 * reports at most one event and returns how many bytes it used, so the
 * caller can stop between requests (pipelining in order, backpressure)
 * and keep the rest of its input for later.
 *
 * Strict where leniency is how requests are smuggled (RFC 9112 §6.3, §11.2):
 * a request with both Content-Length and Transfer-Encoding, two different
 * Content-Lengths, a Transfer-Encoding other than a final "chunked", an
 * obs-fold header line, whitespace between a field name and its colon, a
 * bare CR anywhere in the head, a NUL or control byte in a field value, a
 * chunk size that overflows, and anything after a chunk size that is not a
 * chunk extension are all 400. A bare LF ends no line (RFC 9112 §2.2 only
 * lets a recipient accept it; Node's llhttp refuses it in the head and in
 * chunked framing, where request smugglers use it): it is 400 except as an
 * empty line before the request line.
 *
 * Limits: the request head (request line and every header line, CRLFs
 * included) must fit in max_head bytes (431 if over, 414 if the request
 * line alone is over max_target), at most max_headers fields (431).
 * Bodies are not limited here: the caller sees content_length at HEAD and
 * decides (413), and counts chunked bytes as they come. Memory: the head is
 * copied into one buffer of max_head bytes allocated at init; nothing else
 * is allocated, ever.
 *
 * Events:
 *   HTTP_PARSE_MORE   everything given was consumed, nothing to report.
 *   HTTP_PARSE_HEAD   the request line and headers are complete and valid:
 *                     read them with http_parser_request(). Body events
 *                     follow if the request has a body; DONE follows when
 *                     it has none (the next call returns it without using
 *                     input).
 *   HTTP_PARSE_BODY   body bytes (Content-Length or de-chunked), in
 *                     http_parser_body(); they point into the caller's
 *                     input. A zero-length body gives no BODY event.
 *   HTTP_PARSE_DONE   the request is complete (for chunked, after the
 *                     last chunk and the trailer section, whose fields are
 *                     read and dropped). The parser is ready for the next
 *                     request.
 *   HTTP_PARSE_ERROR  the input is not a valid request: http_parser_status()
 *                     is the status to answer (400, 414, 417, 431, 501,
 *                     505) and http_parser_error() a short reason for the
 *                     log.
 *                     The parser is stuck in the error state (every later
 *                     call returns ERROR and uses nothing): the caller
 *                     answers and closes the connection.
 *
 * Before the first byte of a request line, empty lines (CRLF) are skipped
 * (RFC 9112 §2.2 "SHOULD ignore at least one empty line").
 */
#ifndef TERN_HTTP_PARSER_H
#define TERN_HTTP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum http_parse_event {
	HTTP_PARSE_MORE = 0,
	HTTP_PARSE_HEAD,
	HTTP_PARSE_BODY,
	HTTP_PARSE_DONE,
	HTTP_PARSE_ERROR,
};

enum http_method {
	HTTP_OTHER = 0, /* a valid token that is none of these: answer 501 */
	HTTP_GET,
	HTTP_HEAD,
	HTTP_POST,
	HTTP_PUT,
	HTTP_DELETE,
	HTTP_OPTIONS,
	HTTP_PATCH,
};

struct http_limits {
	size_t max_head;      /* request line + headers, bytes (default 16384) */
	size_t max_target;    /* request line, bytes (default 8192) */
	unsigned max_headers; /* header fields (default 100) */
};

/* A field as received: name as sent (compare case-insensitively), value
 * with leading and trailing whitespace removed. Both point into the
 * parser's head buffer and are NUL-terminated there; they stay valid until
 * the next call after DONE. */
struct http_field {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

#define HTTP_MAX_FIELDS_CAP 256 /* hard cap on max_headers */

struct http_request {
	enum http_method method;
	const char *method_name; /* the token as sent, NUL-terminated */
	const char *target;      /* request-target as sent, NUL-terminated */
	size_t target_len;
	int version_minor; /* HTTP/1.<minor>: 0 or 1 (other 1.x: 505) */
	const struct http_field *fields;
	size_t nfields;
	/* From the fields, already checked for consistency: */
	int64_t content_length; /* -1 when absent (and not chunked) */
	bool chunked;           /* Transfer-Encoding: chunked */
	bool keep_alive;        /* HTTP/1.1 unless "Connection: close";
	                           HTTP/1.0 only with "Connection: keep-alive" */
	bool expect_continue;   /* "Expect: 100-continue" */
	bool has_host;          /* exactly one Host field (two: 400) */
	const char *host;       /* its value, or NULL */
};

struct http_parser; /* opaque; one per connection */

/* NULL when memory ran out. limits may be NULL for the defaults; values of
 * 0 take the default too. */
struct http_parser *http_parser_new(const struct http_limits *limits);
void http_parser_free(struct http_parser *p);

/* Consume from data[0..len) up to and including the next event; returns
 * the bytes used, and the event in *ev. May use 0 bytes (HEAD -> DONE for
 * a request without a body, or ERROR). */
size_t http_parser_feed(struct http_parser *p, const char *data, size_t len,
                        enum http_parse_event *ev);

/* After HEAD (and until the next request starts). */
const struct http_request *http_parser_request(const struct http_parser *p);
/* The first field named name (case-insensitive), or NULL. */
const struct http_field *http_request_field(const struct http_request *r, const char *name);

/* After BODY: the bytes of this event (into the caller's data). */
void http_parser_body(const struct http_parser *p, const char **data, size_t *len);

/* After ERROR. */
int http_parser_status(const struct http_parser *p);
const char *http_parser_error(const struct http_parser *p);

/* True between requests (nothing of a next request has been seen, empty
 * lines aside): where a keep-alive connection may be closed idle. */
bool http_parser_idle(const struct http_parser *p);

#endif
