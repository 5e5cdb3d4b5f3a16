/* api: the JMAP request runner (RFC 8620 §3).
 *
 * A request body is checked whole before any call runs: its size
 * (maxSizeRequest), the account's requests in flight
 * (maxConcurrentRequests), JSON (notJSON), the Request object's shape
 * (notRequest), the capabilities in "using" (unknownCapability) and the
 * number of calls (maxCallsInRequest). Those are request-level errors,
 * answered as RFC 7807 problem details.
 *
 * Then the calls run in order. Each one's result references (§3.7) are
 * resolved against the responses so far (deep copies, so that no answer
 * shares a value with another and none can grow by referring to itself
 * twice), its method is looked up in the tables methods.c hands in, and
 * the method answers, now or from a store completion: the next call
 * starts only after that. A method-level error ends only its own call.
 *
 * Everything runs on the loop thread. */
#include "proto/jmap/api.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/metrics.h"

#define CAP_CORE "urn:ietf:params:jmap:core"
#define ERR_PREFIX "urn:ietf:params:jmap:error:"

struct jmap_request {
	const struct jmap_method_set *sets;
	size_t nsets;
	struct jmap_account acct;
	char *username;
	jmap_answer_fn answer;
	void *ud;
	json_t *doc;       /* the Request object */
	json_t *using;     /* borrowed from doc */
	json_t *calls;     /* borrowed from doc */
	json_t *responses; /* methodResponses so far */
	json_t *created;   /* creation id -> id (§5.3), the request's createdIds first */
	size_t next;       /* the next call to run */
	size_t out_bytes;  /* the responses' size so far */
	struct jmap_call call;
	bool in_call;   /* a method has the call and has not answered */
	bool answered;  /* ... it has answered (jmap_reply/jmap_error) */
	bool running;   /* run_calls is on the stack */
	bool cancelled; /* nobody waits for the answer */
	bool starting;  /* jmap_api_start is on the stack */
	bool finished;  /* ... and the request has been answered */
};

/* ---- requests per account ---- */

struct running {
	int64_t account_id;
	size_t n;
};
static struct running *running;
static size_t nrunning, running_cap;

size_t jmap_api_running(int64_t account_id)
{
	for (size_t i = 0; i < nrunning; i++)
		if (running[i].account_id == account_id)
			return running[i].n;
	return 0;
}

static bool running_add(int64_t account_id)
{
	for (size_t i = 0; i < nrunning; i++)
		if (running[i].account_id == account_id) {
			running[i].n++;
			return true;
		}
	if (nrunning == running_cap) {
		size_t cap = running_cap ? running_cap * 2 : 16;
		struct running *r = realloc(running, cap * sizeof *r);
		if (!r)
			return false;
		running = r;
		running_cap = cap;
	}
	running[nrunning++] = (struct running){account_id, 1};
	return true;
}

static void running_del(int64_t account_id)
{
	for (size_t i = 0; i < nrunning; i++)
		if (running[i].account_id == account_id) {
			if (--running[i].n == 0)
				running[i] = running[--nrunning];
			return;
		}
}

/* ---- metrics ---- */

static const struct {
	const char *name;
	enum metric_id id;
} call_metrics[] = {
    {"Core/echo", MET_JMAP_CALL_CORE_ECHO},
    {"Mailbox/get", MET_JMAP_CALL_MAILBOX_GET},
    {"Mailbox/query", MET_JMAP_CALL_MAILBOX_QUERY},
    {"Mailbox/changes", MET_JMAP_CALL_MAILBOX_CHANGES},
    {"Identity/get", MET_JMAP_CALL_IDENTITY_GET},
    {"Email/get", MET_JMAP_CALL_EMAIL_GET},
    {"Email/query", MET_JMAP_CALL_EMAIL_QUERY},
    {"Email/set", MET_JMAP_CALL_EMAIL_SET},
    {"Email/changes", MET_JMAP_CALL_EMAIL_CHANGES},
    {"Thread/get", MET_JMAP_CALL_THREAD_GET},
    {"SearchSnippet/get", MET_JMAP_CALL_SEARCHSNIPPET_GET},
};

static void count_call(const char *name)
{
	for (size_t i = 0; i < sizeof call_metrics / sizeof call_metrics[0]; i++)
		if (strcmp(call_metrics[i].name, name) == 0) {
			metric_add(call_metrics[i].id, 1);
			return;
		}
	metric_add(MET_JMAP_CALL_OTHER, 1);
}

/* ---- answers ---- */

static void answer_json(struct jmap_request *r, int status, const char *type, json_t *body)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (!text) {
		static const char oom[] = "{\"type\":\"about:blank\",\"status\":500,"
		                          "\"detail\":\"out of memory\"}";
		r->answer(r->ud, 500, "application/problem+json", oom, sizeof oom - 1);
		return;
	}
	r->answer(r->ud, status, type, text, strlen(text));
	free(text);
}

/* A request-level error (RFC 8620 §3.6.1, RFC 7807). limit: the name of
 * the limit for the "limit" type, else NULL. */
static void answer_problem(jmap_answer_fn answer, void *ud, const char *type, const char *limit,
                           const char *detail)
{
	char t[80];
	snprintf(t, sizeof t, ERR_PREFIX "%s", type);
	json_t *p = json_pack("{s:s, s:i, s:s}", "type", t, "status", 400, "detail", detail);
	if (p && limit)
		json_object_set_new(p, "limit", json_string(limit));
	char *text = p ? json_dumps(p, JSON_COMPACT) : NULL;
	json_decref(p);
	if (!text) {
		static const char oom[] = "{\"type\":\"about:blank\",\"status\":500}";
		answer(ud, 500, "application/problem+json", oom, sizeof oom - 1);
		return;
	}
	answer(ud, 400, "application/problem+json", text, strlen(text));
	free(text);
}

static void request_free(struct jmap_request *r)
{
	running_del(r->acct.account_id);
	json_decref(r->doc);
	json_decref(r->responses);
	json_decref(r->created);
	json_decref(r->call.args);
	free(r->username);
	free(r);
}

/* All calls done: the Response object (§3.4). */
static void finish(struct jmap_request *r)
{
	if (!r->cancelled) {
		char state[JMAP_STATE_MAX];
		jmap_session_state(&r->acct, state);
		json_t *resp =
		    json_pack("{s:O, s:s}", "methodResponses", r->responses, "sessionState", state);
		if (resp && json_object_get(r->doc, "createdIds")) /* only when asked (§3.4) */
			json_object_set(resp, "createdIds", r->created);
		answer_json(r, 200, "application/json", resp);
	}
	if (r->starting) {
		r->finished = true; /* jmap_api_start frees it */
		return;
	}
	request_free(r);
}

static void add_response(struct jmap_request *r, const char *name, json_t *result,
                         const char *call_id)
{
	if (!result)
		result = json_object();
	size_t size = json_dumpb(result, NULL, 0, JSON_COMPACT);
	if (r->out_bytes + size > JMAP_MAX_RESPONSE_BYTES) {
		json_decref(result);
		name = "error";
		result = json_pack("{s:s, s:s}", "type", "serverFail", "description",
		                   "the response would be too large");
		size = 80;
	}
	r->out_bytes += size + strlen(name) + strlen(call_id) + 8;
	json_t *item = json_pack("[s, o, s]", name, result, call_id);
	if (item)
		json_array_append_new(r->responses, item);
}

static void run_calls(struct jmap_request *r);

/* The method has answered: go on with the next call, unless this is
 * still inside run_calls (it goes on by itself). */
static void call_answered(struct jmap_call *c)
{
	struct jmap_request *r = c->req;
	if (!r->in_call || r->answered)
		return; /* a second answer: a bug in the method; ignore it */
	r->answered = true;
	if (!r->running) {
		r->in_call = false;
		json_decref(r->call.args);
		r->call.args = NULL;
		run_calls(r);
	}
}

void jmap_reply(struct jmap_call *c, json_t *result)
{
	if (!c->req->in_call || c->req->answered) {
		json_decref(result);
		return;
	}
	add_response(c->req, c->name, result, c->call_id);
	call_answered(c);
}

/* ---- creation ids (§5.3) ---- */

int jmap_created_add(struct jmap_call *c, const char *creation_id, const char *id)
{
	return json_object_set_new(c->req->created, creation_id, json_string(id)) < 0 ? -ENOMEM : 0;
}

const char *jmap_created_id(const struct jmap_call *c, const char *id)
{
	if (!id || id[0] != '#')
		return id;
	return json_string_value(json_object_get(c->req->created, id + 1));
}

void jmap_reply_also(struct jmap_call *c, const char *name, json_t *result)
{
	if (!c->req->in_call || c->req->answered) {
		json_decref(result);
		return;
	}
	add_response(c->req, name, result, c->call_id);
}

static void error_response(struct jmap_request *r, const char *type, const char *description,
                           const char *call_id)
{
	json_t *e = json_pack("{s:s}", "type", type);
	if (e && description)
		json_object_set_new(e, "description", json_string(description));
	add_response(r, "error", e, call_id);
}

void jmap_error(struct jmap_call *c, const char *type, const char *description)
{
	if (!c->req->in_call || c->req->answered)
		return;
	error_response(c->req, type, description, c->call_id);
	call_answered(c);
}

/* ---- result references (§3.7) ---- */

/* One reference token of a JSON pointer (RFC 6901): ~1 -> /, ~0 -> ~.
 * false on a bad escape. */
static bool pointer_token(const char *p, size_t len, char *out, size_t outlen)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		char ch = p[i];
		if (ch == '~') {
			if (i + 1 >= len || (p[i + 1] != '0' && p[i + 1] != '1'))
				return false;
			ch = p[++i] == '0' ? '~' : '/';
		}
		if (n + 1 >= outlen)
			return false;
		out[n++] = ch;
	}
	out[n] = '\0';
	return true;
}

static bool array_index(const char *tok, size_t *out)
{
	if (!*tok || (tok[0] == '0' && tok[1]) || strlen(tok) > 9)
		return false;
	size_t v = 0;
	for (const char *p = tok; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (size_t)(*p - '0');
	}
	*out = v;
	return true;
}

/* The value at path in v, with "*" over an array mapping the rest of the
 * path over its items (and flattening arrays it gives). A new reference,
 * or NULL when the path does not resolve. It recurses once per level of
 * v that the path goes into: no deeper than jansson's parser nests
 * (2048), with a small frame (a token longer than any property name
 * does not resolve). */
static json_t *pointer_eval(json_t *v, const char *path)
{
	if (!*path)
		return json_incref(v);
	if (*path != '/')
		return NULL;
	path++;
	const char *end = strchr(path, '/');
	size_t len = end ? (size_t)(end - path) : strlen(path);
	const char *rest = end ? end : "";
	char tok[256];
	if (!pointer_token(path, len, tok, sizeof tok))
		return NULL;
	if (json_is_array(v)) {
		if (strcmp(tok, "*") == 0) {
			json_t *out = json_array();
			if (!out)
				return NULL;
			size_t i;
			json_t *item;
			json_array_foreach(v, i, item)
			{
				json_t *x = pointer_eval(item, rest);
				if (!x) {
					json_decref(out);
					return NULL;
				}
				int rc = json_is_array(x) ? json_array_extend(out, x)
				                          : json_array_append(out, x);
				json_decref(x);
				if (rc < 0) {
					json_decref(out);
					return NULL;
				}
			}
			return out;
		}
		size_t idx;
		if (!array_index(tok, &idx))
			return NULL;
		json_t *item = json_array_get(v, idx);
		return item ? pointer_eval(item, rest) : NULL;
	}
	if (json_is_object(v)) {
		json_t *m = json_object_get(v, tok);
		return m ? pointer_eval(m, rest) : NULL;
	}
	return NULL;
}

/* The response a reference names: the first one with its call id; NULL
 * when none, or when that one has another name. */
static json_t *referenced_result(struct jmap_request *r, const char *result_of, const char *name)
{
	size_t i;
	json_t *resp;
	json_array_foreach(r->responses, i, resp)
	{
		const char *id = json_string_value(json_array_get(resp, 2));
		if (id && strcmp(id, result_of) == 0) {
			const char *n = json_string_value(json_array_get(resp, 0));
			if (!n || strcmp(n, name) != 0)
				return NULL;
			return json_array_get(resp, 1);
		}
	}
	return NULL;
}

/* args with every "#name" member replaced by the value its reference
 * names (a new object), or NULL with *err set to the method error. */
static json_t *resolve_refs(struct jmap_request *r, json_t *args, const char **err,
                            const char **why)
{
	json_t *out = json_object();
	if (!out) {
		*err = "serverFail";
		*why = "out of memory";
		return NULL;
	}
	size_t budget = JMAP_MAX_RESPONSE_BYTES;
	const char *key;
	json_t *v;
	json_object_foreach(args, key, v)
	{
		if (key[0] != '#') {
			if (json_object_set(out, key, v) < 0)
				goto oom;
			continue;
		}
		if (json_object_get(args, key + 1)) {
			*err = "invalidArguments";
			*why = "an argument is given both plain and as a result reference";
			goto fail;
		}
		const char *result_of, *name, *path;
		if (json_unpack(v, "{s:s, s:s, s:s !}", "resultOf", &result_of, "name", &name,
		                "path", &path) < 0) {
			*err = "invalidResultReference";
			*why = "a result reference needs resultOf, name and path (strings)";
			goto fail;
		}
		json_t *res = referenced_result(r, result_of, name);
		json_t *val = res ? pointer_eval(res, path) : NULL;
		if (!val) {
			*err = "invalidResultReference";
			*why = res ? "the path does not resolve"
			           : "no earlier response of that name with that call id";
			goto fail;
		}
		size_t size = json_dumpb(val, NULL, 0, JSON_COMPACT);
		if (size > budget) {
			json_decref(val);
			*err = "invalidResultReference";
			*why = "the referenced values are too large";
			goto fail;
		}
		budget -= size;
		json_t *copy = json_deep_copy(val);
		json_decref(val);
		if (!copy || json_object_set_new(out, key + 1, copy) < 0)
			goto oom;
	}
	return out;
oom:
	*err = "serverFail";
	*why = "out of memory";
fail:
	json_decref(out);
	return NULL;
}

/* ---- running the calls ---- */

/* The core capability is always in use: a client need not name it for
 * Core/echo. */
static bool using_has(const struct jmap_request *r, const char *cap)
{
	if (strcmp(cap, CAP_CORE) == 0)
		return true;
	size_t i;
	json_t *u;
	json_array_foreach(r->using, i, u) if (strcmp(json_string_value(u), cap) == 0) return true;
	return false;
}

static const struct jmap_method *find_method(const struct jmap_request *r, const char *name)
{
	for (size_t s = 0; s < r->nsets; s++)
		for (size_t i = 0; i < r->sets[s].n; i++)
			if (strcmp(r->sets[s].methods[i].name, name) == 0)
				return &r->sets[s].methods[i];
	return NULL;
}

static void run_calls(struct jmap_request *r)
{
	r->running = true;
	while (r->next < json_array_size(r->calls)) {
		if (r->cancelled)
			break;
		json_t *inv = json_array_get(r->calls, r->next++);
		const char *name = json_string_value(json_array_get(inv, 0));
		json_t *args = json_array_get(inv, 1);
		const char *call_id = json_string_value(json_array_get(inv, 2));
		count_call(name);
		const struct jmap_method *m = find_method(r, name);
		if (!m || !using_has(r, m->capability)) {
			error_response(r, "unknownMethod", NULL, call_id);
			continue;
		}
		const char *err = NULL, *why = NULL;
		json_t *resolved = resolve_refs(r, args, &err, &why);
		if (!resolved) {
			error_response(r, err, why, call_id);
			continue;
		}
		r->call = (struct jmap_call){
		    .req = r, .name = name, .call_id = call_id, .args = resolved, .acct = &r->acct};
		r->in_call = true;
		r->answered = false;
		m->run(&r->call);
		if (!r->answered) {
			r->running = false;
			return; /* it answers later: call_answered goes on */
		}
		r->in_call = false;
		json_decref(r->call.args);
		r->call.args = NULL;
	}
	r->running = false;
	finish(r);
}

/* The Request object's shape (§3.3). */
static bool is_request(json_t *doc)
{
	if (!json_is_object(doc))
		return false;
	json_t *using = json_object_get(doc, "using");
	json_t *calls = json_object_get(doc, "methodCalls");
	json_t *created = json_object_get(doc, "createdIds");
	if (!json_is_array(using) || !json_is_array(calls))
		return false;
	if (created && !json_is_object(created))
		return false;
	size_t i;
	json_t *v;
	json_array_foreach(using, i, v) if (!json_is_string(v)) return false;
	json_array_foreach(calls, i, v)
	{
		if (!json_is_array(v) || json_array_size(v) != 3 ||
		    !json_is_string(json_array_get(v, 0)) ||
		    !json_is_object(json_array_get(v, 1)) || !json_is_string(json_array_get(v, 2)))
			return false;
	}
	if (created) {
		const char *k;
		json_object_foreach(created, k, v) if (!json_is_string(v)) return false;
	}
	return true;
}

static bool known_capability(const struct jmap_method_set *sets, size_t nsets, const char *cap)
{
	if (strcmp(cap, CAP_CORE) == 0)
		return true;
	for (size_t s = 0; s < nsets; s++)
		for (size_t i = 0; i < sets[s].n; i++)
			if (strcmp(sets[s].methods[i].capability, cap) == 0)
				return true;
	return false;
}

struct jmap_request *jmap_api_start(const struct jmap_method_set *sets, size_t nsets,
                                    const struct jmap_account *acct, const char *body, size_t len,
                                    jmap_answer_fn answer, void *ud)
{
	const struct jmap_limits *lim = acct->limits;
	metric_add(MET_JMAP_REQUESTS, 1);
	if (len > lim->max_size_request) {
		answer_problem(answer, ud, "limit", "maxSizeRequest",
		               "the request is larger than maxSizeRequest");
		return NULL;
	}
	if (jmap_api_running(acct->account_id) >= lim->max_concurrent_requests) {
		answer_problem(answer, ud, "limit", "maxConcurrentRequests",
		               "too many requests of this account are running");
		return NULL;
	}
	json_error_t jerr;
	json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc) {
		answer_problem(answer, ud, "notJSON", NULL, "the request is not I-JSON");
		return NULL;
	}
	if (!is_request(doc)) {
		json_decref(doc);
		answer_problem(answer, ud, "notRequest", NULL,
		               "the request is not a JMAP Request object");
		return NULL;
	}
	json_t *using = json_object_get(doc, "using");
	size_t i;
	json_t *u;
	json_array_foreach(using, i, u)
	{
		if (!known_capability(sets, nsets, json_string_value(u))) {
			char detail[200];
			snprintf(detail, sizeof detail, "the capability %.120s is not supported",
			         json_string_value(u));
			json_decref(doc);
			answer_problem(answer, ud, "unknownCapability", NULL, detail);
			return NULL;
		}
	}
	json_t *calls = json_object_get(doc, "methodCalls");
	if (json_array_size(calls) > lim->max_calls_in_request) {
		json_decref(doc);
		answer_problem(answer, ud, "limit", "maxCallsInRequest",
		               "the request has more calls than maxCallsInRequest");
		return NULL;
	}
	struct jmap_request *r = calloc(1, sizeof *r);
	if (r)
		r->username = strdup(acct->username ? acct->username : "");
	if (r)
		r->responses = json_array();
	if (r) {
		json_t *given = json_object_get(doc, "createdIds");
		r->created = given ? json_deep_copy(given) : json_object();
	}
	if (!r || !r->username || !r->responses || !r->created || !running_add(acct->account_id)) {
		if (r) {
			json_decref(r->responses);
			json_decref(r->created);
			free(r->username);
		}
		free(r);
		json_decref(doc);
		static const char oom[] = "{\"type\":\"about:blank\",\"status\":500}";
		answer(ud, 500, "application/problem+json", oom, sizeof oom - 1);
		return NULL;
	}
	r->sets = sets;
	r->nsets = nsets;
	r->acct = *acct;
	r->acct.username = r->username;
	r->answer = answer;
	r->ud = ud;
	r->doc = doc;
	r->using = using;
	r->calls = calls;
	r->call.req = r;
	r->starting = true;
	run_calls(r);
	r->starting = false;
	if (r->finished) {
		request_free(r);
		return NULL;
	}
	return r;
}

void jmap_request_cancel(struct jmap_request *r)
{
	if (r)
		r->cancelled = true; /* a method has the call: its answer frees r */
}
