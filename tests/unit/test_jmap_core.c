/* test_jmap_core: the JMAP request runner (proto/jmap/api.c) with test
 * methods (one that answers later, as a store job's completion would),
 * the argument helpers (args.c), the session resource, and Mailbox/get,
 * /query, /changes and Identity/get over a temporary store. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "proto/http/http_int.h"
#include "proto/jmap/api.h"
#include "proto/jmap/methods.h"
#include "store/accounts.h"
#include "store/entries.h"
#include "store/mailboxes.h"
#include "store/store.h"
#include "store/threads.h"
#include "store_jobs_testutil.h"

/* ---- capturing answers ---- */

struct answer {
	int calls;
	int status;
	char type[64];
	json_t *body;
};

static void on_answer(void *ud, int status, const char *type, const char *body, size_t len)
{
	struct answer *a = ud;
	a->calls++;
	a->status = status;
	snprintf(a->type, sizeof a->type, "%s", type);
	json_decref(a->body);
	a->body = json_loadb(body, len, 0, NULL);
}

/* ---- test methods ---- */

static struct jmap_call *later_call; /* the call Test/later holds */

static void m_later(struct jmap_call *c)
{
	later_call = c;
}

static void m_also(struct jmap_call *c)
{
	jmap_reply_also(c, "Test/extra", json_pack("{s:i}", "n", 1));
	jmap_reply(c, json_pack("{s:i}", "n", 2));
}

static void m_get(struct jmap_call *c)
{
	json_t *ids, *props;
	if (!jmap_get_args(c, &ids, &props))
		return;
	jmap_reply(c, json_pack("{s:O?, s:b}", "ids", ids, "wantsName", jmap_want(props, "name")));
}

static const struct jmap_method test_methods[] = {
    {"Core/echo", JMAP_CAP_CORE, jmap_core_echo},
    {"Test/later", "urn:test", m_later},
    {"Test/also", "urn:test", m_also},
    {"Test/get", "urn:test", m_get},
    {"Mailbox/get", JMAP_CAP_MAIL, jmap_mailbox_get},
    {"Mailbox/query", JMAP_CAP_MAIL, jmap_mailbox_query},
    {"Mailbox/changes", JMAP_CAP_MAIL, jmap_mailbox_changes},
    {"Identity/get", JMAP_CAP_SUBMISSION, jmap_identity_get},
};
static const struct jmap_method_set sets[] = {{test_methods, 8}};

static struct jmap_limits limits = {
    .max_size_upload = 1000,
    .max_concurrent_upload = 1,
    .max_size_request = 4000,
    .max_concurrent_requests = 1,
    .max_calls_in_request = 4,
    .max_objects_in_get = 3,
    .max_objects_in_set = 3,
};
static struct jmap_account tacct = {NULL, 7, "u@example.test", &limits, NULL};

static struct jmap_request *run(const char *body, struct answer *a)
{
	json_decref(a->body);
	memset(a, 0, sizeof *a);
	return jmap_api_start(sets, 1, &tacct, body, strlen(body), on_answer, a);
}

static const char *problem_type(const struct answer *a)
{
	const char *s = json_string_value(json_object_get(a->body, "type"));
	return s ? s : "";
}

/* methodResponses[i] */
static json_t *resp(const struct answer *a, size_t i)
{
	return json_array_get(json_object_get(a->body, "methodResponses"), i);
}

static const char *resp_name(const struct answer *a, size_t i)
{
	const char *s = json_string_value(json_array_get(resp(a, i), 0));
	return s ? s : "";
}

static const char *resp_err(const struct answer *a, size_t i)
{
	const char *s = json_string_value(json_object_get(json_array_get(resp(a, i), 1), "type"));
	return s ? s : "";
}

static void test_ids(void)
{
	int64_t v = 0;
	CHECK_THAT(jmap_id_parse("F123", 'F', &v) && v == 123);
	CHECK_THAT(jmap_id_parse("M9223372036854775807", 'M', &v) && v == INT64_MAX);
	CHECK_THAT(!jmap_id_parse("M9223372036854775808", 'M', &v));
	CHECK_THAT(!jmap_id_parse("F0", 'F', &v));
	CHECK_THAT(!jmap_id_parse("F012", 'F', &v));
	CHECK_THAT(!jmap_id_parse("M12", 'F', &v));
	CHECK_THAT(!jmap_id_parse("F", 'F', &v));
	CHECK_THAT(!jmap_id_parse("F-1", 'F', &v));
	CHECK_THAT(!jmap_id_parse("F1x", 'F', &v));
	CHECK_THAT(!jmap_id_parse(NULL, 'F', &v));
	json_t *j = jmap_id_json('T', 42);
	CHECK_THAT(j && strcmp(json_string_value(j), "T42") == 0);
	json_decref(j);
}

static void test_request_errors(void)
{
	struct answer a = {0};
	CHECK_THAT(run("{not json", &a) == NULL && a.calls == 1 && a.status == 400);
	CHECK(strcmp(a.type, "application/problem+json") == 0, "%s", a.type);
	CHECK_THAT(strcmp(problem_type(&a), "urn:ietf:params:jmap:error:notJSON") == 0);
	CHECK_THAT(json_integer_value(json_object_get(a.body, "status")) == 400);
	/* duplicate keys are not I-JSON */
	run("{\"using\":[],\"using\":[],\"methodCalls\":[]}", &a);
	CHECK_THAT(strcmp(problem_type(&a), "urn:ietf:params:jmap:error:notJSON") == 0);

	const char *not_requests[] = {
	    "[]",
	    "{}",
	    "{\"using\":[]}",
	    "{\"using\":\"x\",\"methodCalls\":[]}",
	    "{\"using\":[1],\"methodCalls\":[]}",
	    "{\"using\":[],\"methodCalls\":[[\"Core/echo\",{}]]}",
	    "{\"using\":[],\"methodCalls\":[[\"Core/echo\",[],\"c\"]]}",
	    "{\"using\":[],\"methodCalls\":[[1,{},\"c\"]]}",
	    "{\"using\":[],\"methodCalls\":[],\"createdIds\":[]}",
	    "{\"using\":[],\"methodCalls\":[],\"createdIds\":{\"a\":1}}",
	};
	for (size_t i = 0; i < sizeof not_requests / sizeof not_requests[0]; i++) {
		run(not_requests[i], &a);
		CHECK(a.status == 400 && problem_type(&a) &&
		          strcmp(problem_type(&a), "urn:ietf:params:jmap:error:notRequest") == 0,
		      "notRequest %zu: %d %s", i, a.status, problem_type(&a));
	}
	run("{\"using\":[\"urn:ietf:params:jmap:core\",\"urn:x:nope\"],\"methodCalls\":[]}", &a);
	CHECK_THAT(strcmp(problem_type(&a), "urn:ietf:params:jmap:error:unknownCapability") == 0);

	run("{\"using\":[],\"methodCalls\":[[\"Core/echo\",{},\"1\"],[\"Core/echo\",{},\"2\"],"
	    "[\"Core/echo\",{},\"3\"],[\"Core/echo\",{},\"4\"],[\"Core/echo\",{},\"5\"]]}",
	    &a);
	CHECK_THAT(strcmp(problem_type(&a), "urn:ietf:params:jmap:error:limit") == 0);
	CHECK_THAT(
	    strcmp(json_string_value(json_object_get(a.body, "limit")), "maxCallsInRequest") == 0);

	char big[5000];
	memset(big, ' ', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	memcpy(big, "{\"using\":[],\"methodCalls\":[]}", 29);
	run(big, &a);
	CHECK_THAT(strcmp(json_string_value(json_object_get(a.body, "limit")), "maxSizeRequest") ==
	           0);
	json_decref(a.body);
}

static void test_calls(void)
{
	struct answer a = {0};
	run("{\"using\":[\"urn:ietf:params:jmap:core\"],\"methodCalls\":[[\"Core/echo\","
	    "{\"hello\":true,\"high\":5},\"b3ff\"]],\"createdIds\":{\"k1\":\"M1\"}}",
	    &a);
	CHECK_THAT(a.calls == 1 && a.status == 200 && strcmp(a.type, "application/json") == 0);
	CHECK_THAT(strcmp(resp_name(&a, 0), "Core/echo") == 0);
	CHECK_THAT(json_is_true(json_object_get(json_array_get(resp(&a, 0), 1), "hello")));
	CHECK_THAT(strcmp(json_string_value(json_array_get(resp(&a, 0), 2)), "b3ff") == 0);
	CHECK_THAT(json_is_string(json_object_get(a.body, "sessionState")));
	CHECK_THAT(
	    strcmp(json_string_value(json_object_get(json_object_get(a.body, "createdIds"), "k1")),
	           "M1") == 0);

	/* unknown method; a method whose capability is not in using */
	run("{\"using\":[],\"methodCalls\":[[\"Nope/get\",{},\"a\"],[\"Test/also\",{},\"b\"],"
	    "[\"Core/echo\",{},\"c\"]]}",
	    &a);
	CHECK_THAT(strcmp(resp_name(&a, 0), "error") == 0 &&
	           strcmp(resp_err(&a, 0), "unknownMethod") == 0);
	CHECK_THAT(strcmp(resp_err(&a, 1), "unknownMethod") == 0);
	CHECK_THAT(strcmp(resp_name(&a, 2), "Core/echo") == 0);

	/* an implicit response before the answer */
	run("{\"using\":[\"urn:test\"],\"methodCalls\":[[\"Test/also\",{},\"x\"]]}", &a);
	CHECK_THAT(strcmp(resp_name(&a, 0), "Test/extra") == 0 &&
	           strcmp(resp_name(&a, 1), "Test/also") == 0);
	CHECK_THAT(json_array_size(json_object_get(a.body, "methodResponses")) == 2);

	/* /get arguments */
	run("{\"using\":[\"urn:test\"],\"methodCalls\":["
	    "[\"Test/"
	    "get\",{\"accountId\":\"A7\",\"ids\":[\"a\",\"b\"],\"properties\":[\"x\"]},\"1\"],"
	    "[\"Test/get\",{\"accountId\":\"A8\"},\"2\"],"
	    "[\"Test/get\",{\"accountId\":\"A7\",\"ids\":[\"a\",\"b\",\"c\",\"d\"]},\"3\"],"
	    "[\"Test/get\",{\"accountId\":\"A7\",\"ids\":\"a\"},\"4\"]]}",
	    &a);
	json_t *r0 = json_array_get(resp(&a, 0), 1);
	CHECK_THAT(json_array_size(json_object_get(r0, "ids")) == 2 &&
	           json_is_false(json_object_get(r0, "wantsName")));
	CHECK_THAT(strcmp(resp_err(&a, 1), "accountNotFound") == 0);
	CHECK_THAT(strcmp(resp_err(&a, 2), "requestTooLarge") == 0);
	CHECK_THAT(strcmp(resp_err(&a, 3), "invalidArguments") == 0);
	run("{\"using\":[\"urn:test\"],\"methodCalls\":["
	    "[\"Test/get\",{\"accountId\":\"A7\",\"ids\":[\"a/b\"]},\"1\"],"
	    "[\"Test/get\",{\"accountId\":7},\"2\"],"
	    "[\"Test/get\",{\"accountId\":\"A7\",\"properties\":[1]},\"3\"],"
	    "[\"Test/get\",{\"accountId\":\"A7\",\"ids\":null,\"properties\":null},\"4\"]]}",
	    &a);
	CHECK_THAT(strcmp(resp_err(&a, 0), "invalidArguments") == 0);
	CHECK_THAT(strcmp(resp_err(&a, 1), "invalidArguments") == 0);
	CHECK_THAT(strcmp(resp_err(&a, 2), "invalidArguments") == 0);
	CHECK_THAT(json_is_true(json_object_get(json_array_get(resp(&a, 3), 1), "wantsName")));
	json_decref(a.body);
}

static void test_references(void)
{
	struct answer a = {0};
	run("{\"using\":[],\"methodCalls\":["
	    "[\"Core/"
	    "echo\",{\"list\":[{\"id\":\"a\",\"t\":[\"x\",\"y\"]},{\"id\":\"b\",\"t\":[\"z\"]}],"
	    "\"o\":{\"a/b\":1,\"m~n\":2}},\"0\"],"
	    "[\"Core/echo\",{\"#ids\":{\"resultOf\":\"0\",\"name\":\"Core/echo\",\"path\":\"/list/"
	    "*/id\"},"
	    "\"#ts\":{\"resultOf\":\"0\",\"name\":\"Core/echo\",\"path\":\"/list/*/t\"},"
	    "\"#one\":{\"resultOf\":\"0\",\"name\":\"Core/echo\",\"path\":\"/list/1/id\"},"
	    "\"#esc\":{\"resultOf\":\"0\",\"name\":\"Core/echo\",\"path\":\"/o/a~1b\"},"
	    "\"#til\":{\"resultOf\":\"0\",\"name\":\"Core/echo\",\"path\":\"/o/m~0n\"},"
	    "\"#all\":{\"resultOf\":\"0\",\"name\":\"Core/echo\",\"path\":\"\"}},\"1\"]]}",
	    &a);
	json_t *r = json_array_get(resp(&a, 1), 1);
	char *ids = json_dumps(json_object_get(r, "ids"), JSON_COMPACT);
	char *ts = json_dumps(json_object_get(r, "ts"), JSON_COMPACT);
	CHECK(ids && strcmp(ids, "[\"a\",\"b\"]") == 0, "%s", ids);
	CHECK(ts && strcmp(ts, "[\"x\",\"y\",\"z\"]") == 0, "flattened: %s", ts);
	free(ids);
	free(ts);
	CHECK_THAT(strcmp(json_string_value(json_object_get(r, "one")), "b") == 0);
	CHECK_THAT(json_integer_value(json_object_get(r, "esc")) == 1);
	CHECK_THAT(json_integer_value(json_object_get(r, "til")) == 2);
	CHECK_THAT(json_is_object(json_object_get(json_object_get(r, "all"), "o")));
	CHECK_THAT(!json_object_get(r, "#ids"));

	const char *bad[] = {
	    "{\"resultOf\":\"9\",\"name\":\"Core/echo\",\"path\":\"/x\"}",    /* no such call */
	    "{\"resultOf\":\"0\",\"name\":\"Mail/get\",\"path\":\"/x\"}",     /* another name */
	    "{\"resultOf\":\"0\",\"name\":\"Core/echo\",\"path\":\"/nope\"}", /* no member */
	    "{\"resultOf\":\"0\",\"name\":\"Core/echo\",\"path\":\"x\"}",     /* no leading / */
	    "{\"resultOf\":\"0\",\"name\":\"Core/echo\",\"path\":\"/x/9\"}",  /* past the end */
	    "{\"resultOf\":\"0\",\"name\":\"Core/echo\",\"path\":\"/x/01\"}",
	    "{\"resultOf\":\"0\",\"name\":\"Core/echo\",\"path\":\"/x~2\"}",
	    "{\"resultOf\":\"0\",\"name\":\"Core/echo\"}",
	    "{\"resultOf\":\"0\",\"name\":\"Core/echo\",\"path\":\"/x\",\"extra\":1}",
	    "\"/x\"",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char body[600];
		snprintf(body, sizeof body,
		         "{\"using\":[],\"methodCalls\":[[\"Core/echo\",{\"x\":[1,2]},\"0\"],"
		         "[\"Core/echo\",{\"#y\":%s},\"1\"],[\"Core/echo\",{},\"2\"]]}",
		         bad[i]);
		run(body, &a);
		CHECK(resp_err(&a, 1) && strcmp(resp_err(&a, 1), "invalidResultReference") == 0,
		      "bad reference %zu: %s", i, resp_err(&a, 1));
		CHECK(strcmp(resp_name(&a, 2), "Core/echo") == 0,
		      "the next call still runs %zu: %d %s", i, a.status, problem_type(&a));
	}
	/* a reference to an error response: RFC 8620 §3.7 asks only that the
	 * names match ("error") */
	run("{\"using\":[],\"methodCalls\":[[\"No/such\",{},\"0\"],"
	    "[\"Core/"
	    "echo\",{\"#y\":{\"resultOf\":\"0\",\"name\":\"error\",\"path\":\"\"}},\"1\"]]}",
	    &a);
	CHECK_THAT(strcmp(resp_name(&a, 1), "Core/echo") == 0 &&
	           strcmp(json_string_value(json_object_get(
	                      json_object_get(json_array_get(resp(&a, 1), 1), "y"), "type")),
	                  "unknownMethod") == 0);
	/* the plain argument and its reference both */
	run("{\"using\":[],\"methodCalls\":[[\"Core/echo\",{},\"0\"],"
	    "[\"Core/echo\",{\"y\":1,\"#y\":{\"resultOf\":\"0\",\"name\":\"Core/"
	    "echo\",\"path\":\"\"}},"
	    "\"1\"]]}",
	    &a);
	CHECK_THAT(strcmp(resp_err(&a, 1), "invalidArguments") == 0);
	json_decref(a.body);
}

/* A reference to itself twice per call: without copies and a bound the
 * response would double with every call. */
static void test_reference_growth(void)
{
	struct jmap_limits big = limits;
	big.max_calls_in_request = 64;
	big.max_size_request = 100000;
	struct jmap_account acct2 = {NULL, 8, "v@example.test", &big, NULL};
	char body[100000];
	size_t n =
	    (size_t)snprintf(body, sizeof body,
	                     "{\"using\":[],\"methodCalls\":[[\"Core/echo\",{\"x\":\"%0500d\"},"
	                     "\"c0\"]",
	                     0);
	for (int i = 1; i < 64; i++)
		n += (size_t)snprintf(
		    body + n, sizeof body - n,
		    ",[\"Core/echo\",{\"#a\":{\"resultOf\":\"c%d\",\"name\":\"Core/echo\","
		    "\"path\":\"\"},\"#b\":{\"resultOf\":\"c%d\",\"name\":\"Core/echo\","
		    "\"path\":\"\"}},\"c%d\"]",
		    i - 1, i - 1, i);
	snprintf(body + n, sizeof body - n, "]}");
	struct answer a = {0};
	jmap_api_start(sets, 1, &acct2, body, strlen(body), on_answer, &a);
	CHECK_THAT(a.calls == 1 && a.status == 200);
	json_t *last = resp(&a, 63);
	CHECK(last && (strcmp(resp_name(&a, 63), "error") == 0), "the growth is cut off");
	json_decref(a.body);
}

/* A reference deep into a deeply nested value: bounded recursion. */
static void test_deep_reference(void)
{
	struct jmap_limits big = limits;
	big.max_size_request = 100000;
	struct jmap_account acct3 = {NULL, 10, "w@example.test", &big, NULL};
	enum { DEPTH = 2000 };
	static char body[40000];
	size_t n = (size_t)snprintf(body, sizeof body,
	                            "{\"using\":[],\"methodCalls\":[[\"Core/echo\",{\"x\":");
	for (int i = 0; i < DEPTH; i++)
		body[n++] = '[';
	body[n++] = '1';
	for (int i = 0; i < DEPTH; i++)
		body[n++] = ']';
	n += (size_t)snprintf(body + n, sizeof body - n,
	                      "},\"0\"],[\"Core/echo\",{\"#y\":{\"resultOf\":\"0\",\"name\":"
	                      "\"Core/echo\",\"path\":\"/x");
	for (int i = 0; i < DEPTH - 10; i++)
		n += (size_t)snprintf(body + n, sizeof body - n, i % 2 ? "/0" : "/*");
	snprintf(body + n, sizeof body - n, "\"}},\"1\"]]}");
	struct answer a = {0};
	jmap_api_start(sets, 1, &acct3, body, strlen(body), on_answer, &a);
	CHECK(a.calls == 1 && a.status == 200, "deep: %d %s", a.status, problem_type(&a));
	CHECK_THAT(strcmp(resp_name(&a, 1), "Core/echo") == 0);
	json_decref(a.body);
}

static void test_later_and_concurrency(void)
{
	struct answer a = {0}, b = {0};
	struct jmap_request *r =
	    run("{\"using\":[\"urn:test\"],\"methodCalls\":[[\"Core/echo\",{\"n\":1},\"0\"],"
	        "[\"Test/later\",{},\"1\"],[\"Core/echo\",{\"n\":3},\"2\"]]}",
	        &a);
	CHECK_THAT(r != NULL && a.calls == 0 && later_call != NULL);
	CHECK_THAT(jmap_api_running(7) == 1);
	/* maxConcurrentRequests = 1 for account 7 */
	run("{\"using\":[],\"methodCalls\":[]}", &b);
	CHECK_THAT(b.status == 400 && strcmp(json_string_value(json_object_get(b.body, "limit")),
	                                     "maxConcurrentRequests") == 0);
	struct jmap_account other = tacct;
	other.account_id = 9;
	json_decref(b.body);
	memset(&b, 0, sizeof b);
	jmap_api_start(sets, 1, &other, "{\"using\":[],\"methodCalls\":[]}", 29, on_answer, &b);
	CHECK_THAT(b.status == 200);
	/* the later answer, then the third call runs */
	jmap_reply(later_call, json_pack("{s:s}", "done", "yes"));
	CHECK_THAT(a.calls == 1 && a.status == 200);
	CHECK_THAT(strcmp(resp_name(&a, 1), "Test/later") == 0 &&
	           strcmp(resp_name(&a, 2), "Core/echo") == 0);
	CHECK_THAT(jmap_api_running(7) == 0);

	/* a later error; and cancel */
	later_call = NULL;
	r = run("{\"using\":[\"urn:test\"],\"methodCalls\":[[\"Test/later\",{},\"1\"]]}", &a);
	CHECK_THAT(r && later_call);
	jmap_error(later_call, "serverFail", "disk");
	CHECK_THAT(a.calls == 1 && strcmp(resp_err(&a, 0), "serverFail") == 0);
	later_call = NULL;
	r = run("{\"using\":[\"urn:test\"],\"methodCalls\":[[\"Test/later\",{},\"1\"],"
	        "[\"Core/echo\",{},\"2\"]]}",
	        &a);
	jmap_request_cancel(r);
	jmap_reply(later_call, NULL);
	CHECK_THAT(a.calls == 0 && jmap_api_running(7) == 0);
	json_decref(a.body);
	json_decref(b.body);
}

static void test_session(void)
{
	json_t *s = jmap_session_json(&tacct);
	CHECK_THAT(s != NULL);
	json_t *core = json_object_get(json_object_get(s, "capabilities"), JMAP_CAP_CORE);
	CHECK_THAT(json_integer_value(json_object_get(core, "maxCallsInRequest")) == 4);
	CHECK_THAT(json_integer_value(json_object_get(core, "maxObjectsInGet")) == 3);
	json_t *acc = json_object_get(json_object_get(s, "accounts"), "A7");
	json_t *mail = json_object_get(json_object_get(acc, "accountCapabilities"), JMAP_CAP_MAIL);
	CHECK_THAT(json_is_null(json_object_get(mail, "maxMailboxesPerEmail")));
	CHECK_THAT(json_integer_value(json_object_get(mail, "maxSizeMailboxName")) == 490);
	CHECK_THAT(json_array_size(json_object_get(mail, "emailQuerySortOptions")) == 6);
	CHECK_THAT(strcmp(json_string_value(json_object_get(json_object_get(s, "primaryAccounts"),
	                                                    JMAP_CAP_MAIL)),
	                  "A7") == 0);
	CHECK_THAT(strcmp(json_string_value(json_object_get(s, "apiUrl")), "/jmap/api") == 0);
	CHECK_THAT(strcmp(json_string_value(json_object_get(s, "username")), "u@example.test") ==
	           0);
	char st[JMAP_STATE_MAX];
	jmap_session_state(&tacct, st);
	CHECK_THAT(strcmp(json_string_value(json_object_get(s, "state")), st) == 0);
	json_decref(s);
}

/* ---- over a store ---- */

static int64_t account, inbox_id, work_id;

static int setup(struct store_tx *tx, void *arg)
{
	(void)arg;
	int r = store_domain_add(tx, "example.test");
	if (r < 0)
		return r;
	r = store_account_add(tx, "u@example.test", "", &account);
	if (r < 0)
		return r;
	if (store_mailbox_find(store_tx_reader(tx), account, "INBOX", &inbox_id) <= 0)
		return -EIO;
	return store_mailbox_create(tx, account, "Archive/Work", "", &work_id);
}

static int append(struct store *st, int64_t mailbox, uint32_t flags, const char *msgid,
                  const char *parent)
{
	char msg[300];
	snprintf(msg, sizeof msg,
	         "From: a@example.org\r\nMessage-ID: <%s>\r\nSubject: s\r\n\r\nbody\r\n", msgid);
	const char *parents[1] = {parent};
	struct store_thread_keys keys = {msgid, parents, parent ? 1 : 0};
	struct store_append_req aq = {.account_id = account,
	                              .mailbox_id = mailbox,
	                              .data = msg,
	                              .len = strlen(msg),
	                              .flags = flags,
	                              .keywords = "",
	                              .thread = &keys};
	return store_exec(st, fn_append, &aq);
}

static void test_store(void)
{
	char dir[] = "/tmp/tern_jmap_XXXXXX", err[200];
	struct store *st = NULL;
	if (!mkdtemp(dir) || store_open(&st, dir, NULL, err, sizeof err) < 0) {
		CHECK(0, "store_open: %s", err);
		return;
	}
	CHECK_THAT(store_exec(st, setup, NULL) == 0);
	/* two threads in INBOX: t1 = a, b (reply, seen); t2 = c (a draft) */
	CHECK_THAT(append(st, inbox_id, 0, "a@x", NULL) == 0);
	CHECK_THAT(append(st, inbox_id, STORE_FLAG_SEEN, "b@x", "a@x") == 0);
	CHECK_THAT(append(st, inbox_id, STORE_FLAG_DRAFT, "c@x", NULL) == 0);
	struct store_mailbox_thread_counts n;
	CHECK_THAT(store_mailbox_thread_counts(store_reader(st), inbox_id, &n) == 0);
	CHECK(n.emails == 3 && n.unread_emails == 1 && n.threads == 2 && n.unread_threads == 1,
	      "counts %u %u %u %u", n.emails, n.unread_emails, n.threads, n.unread_threads);
	CHECK_THAT(store_mailbox_thread_counts(store_reader(st), work_id, &n) == 0 &&
	           n.emails == 0 && n.threads == 0);

	struct store_mailbox mb;
	CHECK_THAT(store_mailbox_get(store_reader(st), work_id, &mb) == 1);
	uint32_t work_uv = mb.uidvalidity;
	CHECK_THAT(store_mailbox_get(store_reader(st), inbox_id, &mb) == 1);
	uint32_t inbox_uv = mb.uidvalidity;

	struct jmap_limits lim = limits;
	lim.max_calls_in_request = 10;
	lim.max_objects_in_get = 100;
	lim.max_size_request = 100000;
	struct jmap_account ac = {st, account, "u@example.test", &lim, NULL};
	char body[2000];
	struct answer a = {0};
	snprintf(
	    body, sizeof body,
	    "{\"using\":[\"urn:ietf:params:jmap:mail\",\"urn:ietf:params:jmap:submission\"],"
	    "\"methodCalls\":[[\"Mailbox/get\",{\"accountId\":\"A%lld\",\"ids\":null},\"0\"],"
	    "[\"Mailbox/query\",{\"accountId\":\"A%lld\",\"filter\":{\"role\":\"inbox\"}},\"1\"],"
	    "[\"Mailbox/get\",{\"accountId\":\"A%lld\",\"#ids\":{\"resultOf\":\"1\",\"name\":"
	    "\"Mailbox/query\",\"path\":\"/ids\"},\"properties\":[\"totalThreads\","
	    "\"unreadEmails\"]},\"2\"],"
	    "[\"Mailbox/get\",{\"accountId\":\"A%lld\",\"ids\":[\"F1\",\"Fx\"]},\"3\"],"
	    "[\"Mailbox/get\",{\"accountId\":\"A%lld\",\"properties\":[\"bogus\"]},\"4\"],"
	    "[\"Identity/get\",{\"accountId\":\"A%lld\"},\"5\"],"
	    "[\"Mailbox/query\",{\"accountId\":\"A%lld\",\"filter\":{\"parentId\":null},"
	    "\"sort\":[{\"property\":\"name\",\"isAscending\":false}],\"calculateTotal\":true},"
	    "\"6\"],"
	    "[\"Mailbox/query\",{\"accountId\":\"A%lld\",\"filter\":{\"color\":1}},\"7\"],"
	    "[\"Mailbox/query\",{\"accountId\":\"A%lld\",\"sort\":[{\"property\":\"x\"}]},\"8\"]"
	    "]}",
	    (long long)account, (long long)account, (long long)account, (long long)account,
	    (long long)account, (long long)account, (long long)account, (long long)account,
	    (long long)account);
	jmap_api_start(sets, 1, &ac, body, strlen(body), on_answer, &a);
	CHECK_THAT(a.status == 200);
	json_t *list = json_object_get(json_array_get(resp(&a, 0), 1), "list");
	CHECK(json_array_size(list) == 7, "6 default mailboxes + Archive/Work: %zu",
	      json_array_size(list)); /* INBOX Sent Drafts Trash Junk Archive, Archive/Work */
	json_t *m, *inbox = NULL, *work = NULL, *archive = NULL, *sent = NULL;
	size_t i;
	json_array_foreach(list, i, m)
	{
		const char *name = json_string_value(json_object_get(m, "name"));
		const char *role = json_string_value(json_object_get(m, "role"));
		if (role && strcmp(role, "inbox") == 0)
			inbox = m;
		if (role && strcmp(role, "sent") == 0)
			sent = m;
		if (role && strcmp(role, "archive") == 0)
			archive = m;
		if (name && strcmp(name, "Work") == 0)
			work = m;
	}
	char want[32];
	snprintf(want, sizeof want, "F%u", inbox_uv);
	CHECK_THAT(inbox && strcmp(json_string_value(json_object_get(inbox, "id")), want) == 0);
	CHECK_THAT(inbox && json_integer_value(json_object_get(inbox, "totalEmails")) == 3 &&
	           json_integer_value(json_object_get(inbox, "unreadEmails")) == 1 &&
	           json_integer_value(json_object_get(inbox, "totalThreads")) == 2 &&
	           json_integer_value(json_object_get(inbox, "unreadThreads")) == 1);
	CHECK_THAT(inbox &&
	           json_is_false(json_object_get(json_object_get(inbox, "myRights"), "mayDelete")));
	CHECK_THAT(sent && archive && work);
	snprintf(want, sizeof want, "F%u", work_uv);
	CHECK_THAT(work && strcmp(json_string_value(json_object_get(work, "id")), want) == 0);
	CHECK_THAT(work && archive &&
	           json_equal(json_object_get(work, "parentId"), json_object_get(archive, "id")));
	CHECK_THAT(work && json_is_null(json_object_get(work, "role")) &&
	           json_is_true(json_object_get(work, "isSubscribed")));
	CHECK_THAT(inbox && json_is_null(json_object_get(inbox, "parentId")));

	json_t *q = json_array_get(resp(&a, 1), 1);
	CHECK_THAT(json_array_size(json_object_get(q, "ids")) == 1);
	json_t *g = json_array_get(resp(&a, 2), 1);
	json_t *g0 = json_array_get(json_object_get(g, "list"), 0);
	CHECK_THAT(json_object_size(g0) == 3 &&
	           json_integer_value(json_object_get(g0, "totalThreads")) == 2);
	json_t *nf = json_object_get(json_array_get(resp(&a, 3), 1), "notFound");
	CHECK_THAT(json_array_size(nf) == 2 || json_array_size(nf) == 1);
	CHECK_THAT(strcmp(resp_err(&a, 4), "invalidArguments") == 0);
	json_t *id0 = json_array_get(json_object_get(json_array_get(resp(&a, 5), 1), "list"), 0);
	CHECK_THAT(strcmp(json_string_value(json_object_get(id0, "email")), "u@example.test") ==
	               0 &&
	           json_is_false(json_object_get(id0, "mayDelete")));
	json_t *q6 = json_array_get(resp(&a, 6), 1);
	CHECK(json_integer_value(json_object_get(q6, "total")) == 6, "top level: %lld",
	      (long long)json_integer_value(json_object_get(q6, "total")));
	/* by name descending: Trash first */
	json_t *trash = NULL;
	json_array_foreach(list, i, m) if (json_is_string(json_object_get(m, "role")) &&
	                                   strcmp(json_string_value(json_object_get(m, "role")),
	                                          "trash") == 0) trash = m;
	CHECK_THAT(trash && json_equal(json_array_get(json_object_get(q6, "ids"), 0),
	                               json_object_get(trash, "id")));
	CHECK_THAT(strcmp(resp_err(&a, 7), "unsupportedFilter") == 0);
	CHECK_THAT(strcmp(resp_err(&a, 8), "unsupportedSort") == 0);

	/* sortAsTree, filterAsTree */
	snprintf(
	    body, sizeof body,
	    "{\"using\":[\"urn:ietf:params:jmap:mail\"],\"methodCalls\":["
	    "[\"Mailbox/query\",{\"accountId\":\"A%lld\",\"sort\":[{\"property\":\"name\"}]},"
	    "\"flat\"],"
	    "[\"Mailbox/query\",{\"accountId\":\"A%lld\",\"sort\":[{\"property\":\"name\"}],"
	    "\"sortAsTree\":true},\"tree\"],"
	    "[\"Mailbox/query\",{\"accountId\":\"A%lld\",\"filter\":{\"name\":\"work\"}},\"f\"],"
	    "[\"Mailbox/query\",{\"accountId\":\"A%lld\",\"filter\":{\"name\":\"work\"},"
	    "\"filterAsTree\":true},\"ft\"],"
	    "[\"Mailbox/query\",{\"accountId\":\"A%lld\",\"sortAsTree\":1},\"bad\"]]}",
	    (long long)account, (long long)account, (long long)account, (long long)account,
	    (long long)account);
	json_t *saved = a.body;
	a.body = NULL;
	jmap_api_start(sets, 1, &ac, body, strlen(body), on_answer, &a);
	json_t *flat = json_object_get(json_array_get(resp(&a, 0), 1), "ids");
	json_t *tree = json_object_get(json_array_get(resp(&a, 1), 1), "ids");
	snprintf(want, sizeof want, "F%u", work_uv);
	CHECK_THAT(json_array_size(flat) == 7 && json_array_size(tree) == 7);
	CHECK_THAT(strcmp(json_string_value(json_array_get(flat, 6)), want) == 0);
	CHECK_THAT(strcmp(json_string_value(json_array_get(tree, 1)), want) == 0);
	CHECK_THAT(json_equal(json_array_get(tree, 0), json_array_get(flat, 0)));
	CHECK_THAT(json_array_size(json_object_get(json_array_get(resp(&a, 2), 1), "ids")) == 1);
	CHECK_THAT(json_array_size(json_object_get(json_array_get(resp(&a, 3), 1), "ids")) == 0);
	CHECK_THAT(strcmp(resp_err(&a, 4), "invalidArguments") == 0);
	json_decref(a.body);
	a.body = saved;

	/* changes: the same state -> nothing; after a new message -> the
	 * mailbox updated, only its counts; an unknown state -> cannot */
	const char *state =
	    json_string_value(json_object_get(json_array_get(resp(&a, 0), 1), "state"));
	char st1[64];
	snprintf(st1, sizeof st1, "%s", state);
	snprintf(body, sizeof body,
	         "{\"using\":[\"urn:ietf:params:jmap:mail\"],\"methodCalls\":[[\"Mailbox/changes\","
	         "{\"accountId\":\"A%lld\",\"sinceState\":\"%s\"},\"0\"]]}",
	         (long long)account, st1);
	jmap_api_start(sets, 1, &ac, body, strlen(body), on_answer, &a);
	json_t *ch = json_array_get(resp(&a, 0), 1);
	CHECK_THAT(strcmp(resp_name(&a, 0), "Mailbox/changes") == 0 &&
	           json_array_size(json_object_get(ch, "updated")) == 0 &&
	           strcmp(json_string_value(json_object_get(ch, "newState")), st1) == 0);
	CHECK_THAT(append(st, work_id, 0, "d@x", NULL) == 0);
	jmap_api_start(sets, 1, &ac, body, strlen(body), on_answer, &a);
	ch = json_array_get(resp(&a, 0), 1);
	CHECK_THAT(strcmp(resp_name(&a, 0), "Mailbox/changes") == 0 &&
	           json_array_size(json_object_get(ch, "updated")) == 1 &&
	           json_array_size(json_object_get(ch, "created")) == 0 &&
	           json_array_size(json_object_get(ch, "destroyed")) == 0 &&
	           json_array_size(json_object_get(ch, "updatedProperties")) == 4 &&
	           strcmp(json_string_value(json_object_get(ch, "newState")), st1) != 0);
	snprintf(body, sizeof body,
	         "{\"using\":[\"urn:ietf:params:jmap:mail\"],\"methodCalls\":[[\"Mailbox/changes\","
	         "{\"accountId\":\"A%lld\",\"sinceState\":\"0123456789abcdef\"},\"0\"]]}",
	         (long long)account);
	jmap_api_start(sets, 1, &ac, body, strlen(body), on_answer, &a);
	CHECK_THAT(strcmp(resp_err(&a, 0), "cannotCalculateChanges") == 0);
	json_decref(a.body);
	store_close(&st);
	check_remove_dir(dir);
}

/* The Basic decoder of proto/http/jmap_routes.c (RFC 7617). */
static void test_basic(void)
{
	char u[HTTP_BASIC_USER_MAX], p[HTTP_BASIC_PASSWORD_MAX];
#define B(s) http_basic_credentials(s, strlen(s), u, p)
	/* RFC 7617 §2's example: Aladdin:open sesame */
	CHECK_THAT(B("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==") && strcmp(u, "Aladdin") == 0 &&
	           strcmp(p, "open sesame") == 0);
	CHECK_THAT(B("basic   QWxhZGRpbjpvcGVuIHNlc2FtZQ==") && strcmp(u, "Aladdin") == 0);
	CHECK_THAT(B("Basic dTo=") && strcmp(u, "u") == 0 && strcmp(p, "") == 0); /* u: */
	CHECK_THAT(B("Basic dTphOmI=") && strcmp(p, "a:b") == 0); /* the first colon splits */
	CHECK_THAT(!B("Basic Ong="));                             /* ":x": an empty user */
	CHECK_THAT(!B("Basic bm9jb2xvbg=="));                     /* no colon */
	CHECK_THAT(!B("Basic dQB4Onk="));                         /* "u\0x:y" */
	CHECK_THAT(!B("Basic QWxh=ZGRp"));                        /* data after padding */
	CHECK_THAT(!B("Basic QW!h"));
	CHECK_THAT(!B("Bearer QWxhZGRpbjpvcGVuIHNlc2FtZQ=="));
	CHECK_THAT(!B("Basic"));
	char big[3000] = "Basic ";
	memset(big + 6, 'Q', 2000);
	CHECK_THAT(!B(big)); /* longer than any user and password */
#undef B
	size_t n = 0;
#define C(s) http_cookie_value(s, strlen(s), "tern_session", &n)
	const char *v = C("a=1; tern_session=XYZ; b=2");
	CHECK_THAT(v && n == 3 && strncmp(v, "XYZ", 3) == 0);
	v = C("tern_session=");
	CHECK_THAT(v && n == 0);
	v = C("tern_sessionx=1;tern_session=ok");
	CHECK_THAT(v && n == 2 && strncmp(v, "ok", 2) == 0);
	CHECK_THAT(C("xtern_session=1") == NULL && C("") == NULL && C(";;; ;") == NULL);
#undef C
}

int main(void)
{
	test_basic();
	test_ids();
	test_request_errors();
	test_calls();
	test_references();
	test_reference_growth();
	test_deep_reference();
	test_later_and_concurrency();
	test_session();
	test_store();
	return check_report("test_jmap_core");
}
