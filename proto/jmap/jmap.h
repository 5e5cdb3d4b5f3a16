/* jmap: what proto/http needs to serve JMAP (RFC 8620, RFC 8621).
 *
 * The HTTP glue authenticates the client, then hands a request body for
 * an account to jmap_request_start(); the answer (status, content type,
 * body) comes through a callback, at once or later (a method may wait
 * for a store job). The session resource (RFC 8620 §2) is built by
 * jmap_session_json(). Nothing here knows HTTP or reads the config: the
 * app fills struct jmap_settings from [jmap]. */
#ifndef TERN_JMAP_H
#define TERN_JMAP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/jmap/jmap_int.h"

/* [jmap]: the limits of struct jmap_limits as the config holds them,
 * and the webmail sessions' life. */
struct jmap_settings {
	int64_t max_size_upload;
	int64_t max_concurrent_upload;
	int64_t max_size_request;
	int64_t max_concurrent_requests;
	int64_t max_calls_in_request;
	int64_t max_objects_in_get;
	int64_t max_objects_in_set;
	int64_t session_idle;         /* seconds a webmail session lives unused */
	int64_t session_lifetime;     /* seconds a webmail session lives at most */
	int64_t max_push_connections; /* EventSource streams per account */
};

/* The answer to a request: status (200, or 400 with a problem), content
 * type and body (valid during the call only). */
typedef void (*jmap_answer_fn)(void *ud, int status, const char *content_type, const char *body,
                               size_t len);

struct jmap_request;

/* Run the JMAP request body (len bytes) as acct (copied). answer is
 * called exactly once: before this returns (then NULL is returned), or
 * later from the loop (then the request is returned, a handle for
 * jmap_request_cancel until answer runs). */
struct jmap_request *jmap_request_start(const struct jmap_account *acct, const char *body,
                                        size_t len, jmap_answer_fn answer, void *ud);
/* The client is gone: answer will not be called; the request is freed
 * once the method it waits for has answered. */
void jmap_request_cancel(struct jmap_request *req);

/* The session resource for acct (RFC 8620 §2), a new object; NULL when
 * memory ran out. */
json_t *jmap_session_json(const struct jmap_account *acct);

#endif
