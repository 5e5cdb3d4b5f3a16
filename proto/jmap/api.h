/* api: the request runner (RFC 8620 §3), given its method tables.
 *
 * methods.c holds the tables and hands them in; the runner itself knows
 * no method, so the method files (which call jmap_reply & co. here) and
 * the runner do not call each other in a circle. */
#ifndef TERN_JMAP_API_H
#define TERN_JMAP_API_H

#include <stddef.h>

#include "proto/jmap/jmap.h"

/* One table of methods. */
struct jmap_method_set {
	const struct jmap_method *methods;
	size_t n;
};

/* Every response of a request together (serialized) may be this big; a
 * call whose answer would pass it gets serverFail instead. */
#define JMAP_MAX_RESPONSE_BYTES ((size_t)64 << 20)

/* The session state of acct: a short string that changes when what the
 * session resource says changes. out needs JMAP_STATE_MAX bytes. */
#define JMAP_STATE_MAX 24
void jmap_session_state(const struct jmap_account *acct, char *out);

/* jmap_request_start() with the tables sets[0..nsets). */
struct jmap_request *jmap_api_start(const struct jmap_method_set *sets, size_t nsets,
                                    const struct jmap_account *acct, const char *body, size_t len,
                                    jmap_answer_fn answer, void *ud);

/* Requests running now for account_id (maxConcurrentRequests). */
size_t jmap_api_running(int64_t account_id);

#endif
