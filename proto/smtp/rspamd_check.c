/* rspamd_check: the HTTP round trip to rspamd; see rspamd_check.h. */
#include "proto/smtp/rspamd_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/http_client.h"

struct rspamd_check {
	struct http_client *http;
	rspamd_check_cb cb;
	void *ud;
};

static void on_response(void *ud, const char *err, struct http_resp *resp)
{
	struct rspamd_check *c = ud;
	struct rspamd_result r;
	rspamd_check_cb cb = c->cb;
	void *cud = c->ud;
	free(c);
	if (err) {
		cb(cud, false, err, NULL);
		return;
	}
	if (resp->status != 200) {
		cb(cud, false, "status not 200", NULL);
		return;
	}
	if (rspamd_parse_reply(resp->body ? resp->body : "", resp->body_len, &r) < 0) {
		cb(cud, false, "no action in the reply", NULL);
		return;
	}
	cb(cud, true, NULL, &r);
}

struct rspamd_check *rspamd_check_start(uv_loop_t *loop, const char *base_url, uint64_t timeout_ms,
                                        const struct rspamd_envelope *env, const char *msg,
                                        size_t len, rspamd_check_cb cb, void *ud)
{
	char url[600], headers[RSPAMD_HEADERS_MAX];
	size_t bl = strlen(base_url);
	while (bl && base_url[bl - 1] == '/')
		bl--;
	if (snprintf(url, sizeof url, "%.*s/checkv2", (int)bl, base_url) >= (int)sizeof url)
		return NULL;
	if (!rspamd_request_headers(env, headers, sizeof headers))
		return NULL;
	struct rspamd_check *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->cb = cb;
	c->ud = ud;
	struct http_client_req req = {
	    .method = "POST",
	    .url = url,
	    .accept = "application/json",
	    .content_type = "message/rfc822",
	    .body = msg,
	    .body_len = len,
	    .headers = headers,
	    .max_body = 1 << 20,
	    .timeout_ms = timeout_ms,
	};
	c->http = http_client_start(loop, NULL, &req, on_response, c);
	if (!c->http) {
		free(c);
		return NULL;
	}
	return c;
}

void rspamd_check_cancel(struct rspamd_check *c)
{
	if (!c)
		return;
	http_client_cancel(c->http);
	free(c);
}
