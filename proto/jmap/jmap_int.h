/* jmap_int: the contract between the JMAP request runner (api.c) and the
 * method files (mailbox.c, email_*.c, thread.c, identity.c ...).
 *
 * A request (RFC 8620 §3.3) is a list of method calls run in order. The
 * runner resolves each call's result references (§3.7), finds the method
 * in the tables below and calls it. A method answers exactly once, with
 * jmap_reply() or jmap_error(), either before it returns (reads: they run
 * on the loop's read view) or later, from a store job's completion
 * (writes: store_submit()). The runner starts the next call only after that
 * answer, so a later call sees what an earlier one wrote. Before its answer
 * a method may add responses of its own with jmap_reply_also() (an implicit
 * call, e.g. EmailSubmission/set's onSuccessUpdateEmail -> "Email/set").
 *
 * Ids are the IMAP OBJECTIDs (proto/imap, RFC 8474) so that both protocols
 * name the same things alike:
 *   mailbox  "F" + the mailbox's UIDVALIDITY   (MAILBOXID)
 *   email    "M" + the store's message id      (EMAILID)
 *   thread   "T" + the store's thread id       (THREADID)
 *   account  "A" + the store's account id
 *   blob     "B" + message id (the whole message, RFC 5322 bytes), or
 *            "B" + message id + "." + IMAP part number ("B42.2.1": that
 *            part's decoded body).
 *
 * Everything here runs on the loop thread, except what a method hands to a
 * store job. */
#ifndef TERN_JMAP_INT_H
#define TERN_JMAP_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;
struct jmap_request;

/* The limits advertised in the session resource's core capability
 * (RFC 8620 §2) and enforced by the runner and the methods. */
struct jmap_limits {
	size_t max_size_upload;         /* maxSizeUpload */
	size_t max_concurrent_upload;   /* maxConcurrentUpload */
	size_t max_size_request;        /* maxSizeRequest */
	size_t max_concurrent_requests; /* maxConcurrentRequests */
	size_t max_calls_in_request;    /* maxCallsInRequest */
	size_t max_objects_in_get;      /* maxObjectsInGet */
	size_t max_objects_in_set;      /* maxObjectsInSet */
};

/* Who a request runs as, and against what. */
struct jmap_account {
	struct store *store;
	int64_t account_id;
	const char *username; /* the login: the account's address */
	const struct jmap_limits *limits;
	const char *hostname; /* [server] hostname (Received:, Message-ID:); NULL: "localhost" */
};

/* One method call of a request. */
struct jmap_call {
	struct jmap_request *req;
	const char *name;    /* "Email/get" */
	const char *call_id; /* the client's method call id */
	json_t *args;        /* result references resolved; valid until the answer */
	const struct jmap_account *acct;
};

/* The answer: [name, result, call_id] with the call's name. Steals result. */
void jmap_reply(struct jmap_call *c, json_t *result);
/* An additional response before the answer, under another name (an
 * implicit call). Steals result. */
void jmap_reply_also(struct jmap_call *c, const char *name, json_t *result);
/* The answer as a method-level error (RFC 8620 §3.6.2):
 * ["error", {"type": type, "description": description}, call_id].
 * description may be NULL. */
void jmap_error(struct jmap_call *c, const char *type, const char *description);

/* Creation ids (RFC 8620 §5.3): a /set method records each object it
 * created under the client's creation id; a later call of the request
 * names it "#" + creation id wherever an id goes. jmap_created_id()
 * gives the id a "#ref" stands for (NULL when nothing was created under
 * it), and any other id unchanged. 0 or -ENOMEM. */
int jmap_created_add(struct jmap_call *c, const char *creation_id, const char *id);
const char *jmap_created_id(const struct jmap_call *c, const char *id);

/* A method: run answers the call (now or later). */
struct jmap_method {
	const char *name;       /* "Mailbox/get" */
	const char *capability; /* the capability "using" must hold */
	void (*run)(struct jmap_call *c);
};

/* The standard /get arguments (RFC 8620 §5.1): accountId checked against
 * c->acct, "ids" (NULL: all) and "properties" (NULL: all/default). Answers
 * the call itself with invalidArguments, accountNotFound or
 * requestTooLarge (more ids than maxObjectsInGet) and returns false; true
 * when the method should go on. ids and properties are borrowed from args. */
bool jmap_get_args(struct jmap_call *c, json_t **ids, json_t **properties);
/* The standard /set arguments (RFC 8620 §5.3): accountId checked against
 * c->acct; create and update objects, destroy an array of strings,
 * ifInState a string (each NULL when absent or null); at most
 * maxObjectsInSet objects in all. Answers the call itself with
 * invalidArguments, accountNotFound or requestTooLarge and returns false;
 * true when the method should go on. The values are borrowed from args. */
struct jmap_set_args {
	json_t *create, *update, *destroy;
	const char *if_in_state;
	size_t total; /* objects in create, update and destroy */
};
bool jmap_set_args(struct jmap_call *c, struct jmap_set_args *out);
/* The standard /changes arguments (RFC 8620 §5.2): accountId checked,
 * sinceState a string (*since, borrowed from args), maxChanges a positive
 * integer or null (*max_changes; SIZE_MAX when null). Answers the call
 * with invalidArguments or accountNotFound and returns false. */
bool jmap_changes_args(struct jmap_call *c, const char **since, size_t *max_changes);
/* true if properties (from jmap_get_args) is NULL or names prop. */
bool jmap_want(const json_t *properties, const char *prop);
/* false, answered invalidArguments (RFC 8620 §5.1), when properties
 * names one that is not among the n of known; true otherwise. */
bool jmap_properties_known(struct jmap_call *c, const json_t *properties, const char *const *known,
                           size_t n);

/* Ids: "F123" -> 123. false when the prefix differs or the rest is not a
 * positive decimal without leading zeros that fits in int64_t. */
bool jmap_id_parse(const char *id, char prefix, int64_t *out);
/* A SetError (RFC 8620 §5.3): {"type": type, "description": description,
 * "properties": [property]}, the last two only when not NULL. NULL when
 * out of memory. */
json_t *jmap_set_error(const char *type, const char *description, const char *property);
/* Adds to a /set answer res (NULL-safe) notCreated, notUpdated and
 * notDestroyed, each only when not empty (RFC 8620 §5.3: null otherwise).
 * The maps are borrowed. */
void jmap_set_failures(json_t *res, json_t *not_created, json_t *not_updated,
                       json_t *not_destroyed);
/* A /set response (RFC 8620 5.3): accountId, the states, created, updated
 * and destroyed (whose references it takes, NULL or not) and the non-empty
 * failures. NULL when out of memory. */
json_t *jmap_set_response(struct jmap_call *c, const char *old_state, const char *new_state,
                          json_t *created, json_t *updated, json_t *destroyed, json_t *not_created,
                          json_t *not_updated, json_t *not_destroyed);
/* "F123" into a new JSON string. */
json_t *jmap_id_json(char prefix, int64_t n);

#endif
