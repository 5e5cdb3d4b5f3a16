/* test_rspamd: rspamd's /checkv2 request headers and reply actions
 * (mailauth/rspamd.c). */
#include "mailauth/rspamd.h"
#include "check.h"

#include <string.h>

int main(void)
{
	char h[RSPAMD_HEADERS_MAX];
	const char *rcpts[] = {"a@example.test", "b@example.test"};
	struct rspamd_envelope e = {.ip = "192.0.2.7",
	                            .helo = "mx.\r\nInjected: yes",
	                            .hostname = "mx.remote.test",
	                            .mail_from = "s@remote.test",
	                            .rcpts = rcpts,
	                            .nrcpts = 2,
	                            .queue_id = "1a.1"};
	size_t n = rspamd_request_headers(&e, h, sizeof h);
	CHECK(n == strlen(h), "length");
	CHECK(!strcmp(h, "IP: 192.0.2.7\r\nHelo: mx.Injected: yes\r\nHostname: mx.remote.test\r\n"
	                 "From: s@remote.test\r\nQueue-Id: 1a.1\r\nRcpt: a@example.test\r\n"
	                 "Rcpt: b@example.test\r\n"),
	      "headers: %s", h);
	e.user = "alice@example.test";
	e.hostname = NULL;
	rspamd_request_headers(&e, h, sizeof h);
	CHECK(strstr(h, "User: alice@example.test\r\n") && !strstr(h, "Hostname"), "user: %s", h);
	/* Recipients that do not fit are left out; the fixed part must fit. */
	n = rspamd_request_headers(&e, h, 128);
	CHECK(n > 0 && n < 128 && strstr(h, "Rcpt: a@") && !strstr(h, "Rcpt: b@"), "cut: %s", h);
	CHECK(rspamd_request_headers(&e, h, 20) == 0 && h[0] == '\0', "too small");

	struct rspamd_result r;
	const char *ok = "{\"is_skipped\":false,\"score\":15.5,\"required_score\":15.0,"
	                 "\"action\":\"reject\",\"symbols\":{}}";
	CHECK(rspamd_parse_reply(ok, strlen(ok), &r) == 0 && r.action == RSPAMD_REJECT &&
	          r.score == 15.5 && r.required_score == 15.0,
	      "reject");
	static const struct {
		const char *name;
		enum rspamd_action a;
	} acts[] = {
	    {"no action", RSPAMD_NO_ACTION},     {"greylist", RSPAMD_GREYLIST},
	    {"add header", RSPAMD_ADD_HEADER},   {"rewrite subject", RSPAMD_REWRITE_SUBJECT},
	    {"soft reject", RSPAMD_SOFT_REJECT}, {"reject", RSPAMD_REJECT}};
	for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++) {
		char body[200];
		snprintf(body, sizeof body, "{\"action\":\"%s\",\"subject\":\"[SPAM] x\"}",
		         acts[i].name);
		CHECK(rspamd_parse_reply(body, strlen(body), &r) == 0 && r.action == acts[i].a,
		      "%s", acts[i].name);
		CHECK(!strcmp(rspamd_action_name(r.action), acts[i].name), "name %s", acts[i].name);
		CHECK(!strcmp(r.subject, "[SPAM] x"), "subject");
	}
	CHECK(rspamd_parse_reply("{\"action\":\"discard\"}", 20, &r) < 0 &&
	          r.action == RSPAMD_UNKNOWN,
	      "unknown action");
	CHECK(rspamd_parse_reply("{}", 2, &r) < 0, "no action");
	CHECK(rspamd_parse_reply("{\"action\":5}", 12, &r) < 0, "action not a string");
	CHECK(rspamd_parse_reply("<html>", 6, &r) < 0, "not JSON");
	CHECK(rspamd_parse_reply("", 0, &r) < 0, "empty");
	return check_report("test_rspamd");
}
