/* test_send_request: POST /api/v1/send's parser (proto/http/send_request.c)
 * without a server: the envelope it makes (bcc only there), the raw
 * message's line ends and Message-ID, base64 with line breaks, nesting
 * counted past brackets inside strings, every bound, and that each
 * refusal carries its HTTP status, code and SMTP reply. */
#include "proto/http/send_request.h"

#include <string.h>

#include "check.h"

static const struct send_limits lim = {
    .max_size = 4096, .max_rcpts = 3, .now = 1700000000, .unique = "u1", .hostname = "h.test"};

/* Parse s; 0, 1 (refused: *e) or negative. */
static int parse(const char *s, struct send_request *r, struct send_error *e)
{
	return send_request_parse(s, strlen(s), &lim, r, e);
}

static void test_built(void)
{
	struct send_request r;
	struct send_error e;
	int rc =
	    parse("{\"from\": {\"name\": \"A\", \"email\": \"a@x.test\"}, \"to\": [\"b@y.test\"],"
	          " \"bcc\": [{\"email\": \"c@y.test\"}], \"subject\": \"s\", \"text\": \"t\","
	          " \"attachments\": [{\"filename\": \"f.bin\", \"content\": \"AAEC\\nAw==\"}]}",
	          &r, &e);
	CHECK(rc == 0, "built: %d %s", rc, e.message);
	CHECK_THAT(r.mail_from && !strcmp(r.mail_from, "a@x.test"));
	CHECK_THAT(r.nrcpts == 2 && !strcmp(r.rcpts[0], "b@y.test") &&
	           !strcmp(r.rcpts[1], "c@y.test"));
	CHECK_THAT(!strcmp(r.message_id, "<u1@h.test>"));
	CHECK_THAT(r.msg.data && strstr(r.msg.data, "Message-ID: <u1@h.test>\r\n"));
	CHECK_THAT(r.msg.data && !strstr(r.msg.data, "c@y.test")); /* bcc: envelope only */
	CHECK_THAT(r.msg.data && strstr(r.msg.data, "AAECAw=="));  /* re-encoded, unwrapped */
	send_request_free(&r);
	/* an explicit envelope replaces to/cc/bcc as the recipients */
	rc = parse("{\"from\": \"a@x.test\", \"to\": [\"b@y.test\"], \"text\": \"t\","
	           " \"envelope\": {\"from\": \"bounce@x.test\", \"to\": [\"z@y.test\"]}}",
	           &r, &e);
	CHECK_THAT(rc == 0 && !strcmp(r.mail_from, "bounce@x.test") && r.nrcpts == 1 &&
	           !strcmp(r.rcpts[0], "z@y.test"));
	send_request_free(&r);
}

static void test_raw(void)
{
	struct send_request r;
	struct send_error e;
	int rc = parse("{\"raw\": \"Subject: x\\nMessage-ID:  <m@x.test> \\n\\nbody\","
	               " \"envelope\": {\"from\": \"a@x.test\", \"to\": [\"b@y.test\"]}}",
	               &r, &e);
	CHECK(rc == 0, "raw: %d %s", rc, e.message);
	CHECK_THAT(!strcmp(r.message_id, "<m@x.test>"));
	CHECK_THAT(r.msg.len == strlen("Subject: x\r\nMessage-ID:  <m@x.test> \r\n\r\nbody\r\n") &&
	           !memcmp(r.msg.data, "Subject: x\r\nMessage-ID:  <m@x.test> \r\n\r\nbody\r\n",
	                   r.msg.len));
	send_request_free(&r);
	rc = parse("{\"raw_base64\": \"U3ViamVjdDogeA0KDQpi\","
	           " \"envelope\": {\"from\": \"a@x.test\", \"to\": [\"b@y.test\"]}}",
	           &r, &e);
	CHECK_THAT(rc == 0 && !strcmp(r.message_id, "<u1@h.test>"));
	CHECK_THAT(
	    rc == 0 && r.msg.len == strlen("Message-ID: <u1@h.test>\r\nSubject: x\r\n\r\nb\r\n") &&
	    !memcmp(r.msg.data, "Message-ID: <u1@h.test>\r\nSubject: x\r\n\r\nb\r\n", r.msg.len));
	send_request_free(&r);
}

struct refusal {
	const char *body;
	int http;
	const char *code;
	const char *smtp; /* its first three characters */
};

static void test_refusals(void)
{
	static const struct refusal cases[] = {
	    {"", 400, "invalid_json", "501"},
	    {"[]", 400, "invalid_request", "501"},
	    {"{\"from\": \"a@x.test\", \"to\": []}", 422, "no_recipients", "554"},
	    {"{\"from\": \"a@x.test\", \"to\": [\"b@y\", \"c@y\"], \"cc\": [\"d@y\", \"e@y\"]}",
	     422, "too_many_recipients", "452"},
	    {"{\"from\": \"a@x.test\", \"to\": [\"b y@y\"]}", 400, "invalid_recipient", "501"},
	    {"{\"from\": \"nobody\", \"to\": [\"b@y\"]}", 400, "invalid_sender", "501"},
	    {"{\"from\": \"a@x\", \"to\": [\"b@y\"], \"unknown\": 1}", 400, "invalid_request",
	     "501"},
	    {"{\"from\": \"a@x\", \"to\": [\"b@y\"], \"to\": [\"c@y\"]}", 400, "invalid_json",
	     "501"},
	    {"{\"from\": \"a@x\", \"to\": [\"b@y\"], \"x\": [[[[[[[1]]]]]]]}", 400,
	     "invalid_request", "501"},
	    {"{\"from\": \"a@x\", \"to\": [\"b@y\"], \"headers\": {\"From\": \"x\"}}", 422,
	     "header_not_allowed", "554"},
	    {"{\"from\": \"a@x\", \"to\": [\"b@y\"], \"headers\": {\"X-A\": \"a\\r\\nB: c\"}}", 400,
	     "invalid_request", "501"},
	    {"{\"from\": \"a@x\", \"to\": [\"b@y\"], \"attachments\": [{\"content\": \"A\"}]}", 400,
	     "invalid_request", "501"},
	    {"{\"raw\": \"x\"}", 400, "invalid_request", "501"},
	    {"{\"raw\": \"\", \"envelope\": {\"from\": \"a@x\", \"to\": [\"b@y\"]}}", 422,
	     "invalid_message", "554"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct send_request r;
		struct send_error e;
		int rc = parse(cases[i].body, &r, &e);
		CHECK(rc == 1 && e.http == cases[i].http && e.code &&
		          !strcmp(e.code, cases[i].code) && e.smtp &&
		          !strncmp(e.smtp, cases[i].smtp, 3) && e.message[0],
		      "case %zu: rc %d http %d code %s smtp %s", i, rc, e.http,
		      e.code ? e.code : "-", e.smtp ? e.smtp : "-");
		send_request_free(&r);
	}
	/* brackets inside strings are not nesting */
	struct send_request r;
	struct send_error e;
	int rc = parse(
	    "{\"from\": \"a@x\", \"to\": [\"b@y\"], \"subject\": \"[[[[[[[[{{{{{{\\\"\"}", &r, &e);
	CHECK(rc == 0, "brackets in a string: %d %s", rc, e.message);
	send_request_free(&r);
	/* the size limit, built and raw */
	char big[9000];
	snprintf(big, sizeof big,
	         "{\"from\": \"a@x\", \"to\": [\"b@y\"], \"text\": \"%04000d%04000d\"}", 0, 0);
	rc = parse(big, &r, &e);
	CHECK(rc == 1 && e.http == 413 && !strcmp(e.code, "message_too_large") &&
	          !strncmp(e.smtp, "552", 3),
	      "too large: %d %d", rc, e.http);
	send_request_free(&r);
}

int main(void)
{
	test_built();
	test_raw();
	test_refusals();
	return check_report("test_send_request");
}
