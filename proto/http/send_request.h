/* send_request: the body of POST /api/v1/send (JSON) to an envelope and
 * the bytes of a message. Pure: no store, no loop, no connection, so it is
 * unit-tested and fuzzed alone (tests/fuzz/fuzz_send_api.c).
 *
 * Two shapes. Built: from (an address, or {name, email}), to/cc/bcc
 * (arrays of the same), subject, text and/or html, attachments
 * [{filename, content_type, content (base64)}], headers {Name: value} (a
 * few extra fields), envelope {from, to} optional. The message is written
 * by the JMAP Email/set builder (proto/jmap/email_build.h), so there is
 * one MIME writer; Bcc goes in the envelope only. Raw: raw (the whole
 * message as a string) or raw_base64, with envelope {from, to} required.
 *
 * The message always has a Message-ID (ours when the raw one has none),
 * which is what the answer names. Every size is bounded by struct
 * send_limits: nesting, recipients, attachments, header fields, the
 * message. */
#ifndef TERN_HTTP_SEND_REQUEST_H
#define TERN_HTTP_SEND_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

#define SEND_MAX_DEPTH 6         /* JSON nesting: {attachments: [{...}]} is 3 */
#define SEND_MAX_ATTACHMENTS 100 /* parts */
#define SEND_MAX_HEADERS 20      /* extra header fields */

struct send_limits {
	size_t max_size;      /* the message's bytes ([smtp] max_message_size) */
	size_t max_rcpts;     /* envelope recipients ([smtp] max_recipients) */
	int64_t now;          /* unix seconds: Date: */
	const char *unique;   /* [A-Za-z0-9]: MIME boundaries, Message-ID */
	const char *hostname; /* Message-ID's right side */
};

struct send_request {
	char *mail_from; /* envelope sender */
	char **rcpts;    /* envelope recipients */
	size_t nrcpts;
	struct buf msg;        /* CRLF line ends */
	char message_id[1000]; /* "<...>" */
};

/* Why a request was refused: the HTTP status, a code for programs, the
 * SMTP reply submission would have given, and words for people. */
struct send_error {
	int http;
	const char *code; /* "invalid_request", "message_too_large", ... */
	const char *smtp; /* "501 5.5.4 ...", static */
	char message[256];
};

/* Parse body (len bytes) into out (zeroed first; free it with
 * send_request_free in every case). 0, 1 refused (err filled), or a
 * negative errno. */
int send_request_parse(const char *body, size_t len, const struct send_limits *lim,
                       struct send_request *out, struct send_error *err);
void send_request_free(struct send_request *r);

#endif
