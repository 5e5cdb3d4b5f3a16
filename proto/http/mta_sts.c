/* mta_sts: our MTA-STS policy (RFC 8461 §3.2), for senders that want to be
 * sure they reach us over authenticated TLS.
 *
 * Served only under a host name "mta-sts.<domain>" (§3.3: that is where a
 * sender fetches it; any other Host gets 404), as text/plain with CRLF
 * line ends, "version" first. The MX names are [http] mta_sts_mx, or our
 * own host name. Off unless [http] mta_sts_mode says otherwise: a policy
 * in enforce mode that does not match the MX records and certificates
 * makes senders refuse to deliver, so it is the operator's decision. */
#include "proto/http/http_int.h"

#include <string.h>
#include <strings.h>

#include "proto/common/env.h"

static const char *const modes[] = {
    [HTTP_MTA_STS_NONE] = "none",
    [HTTP_MTA_STS_TESTING] = "testing",
    [HTTP_MTA_STS_ENFORCE] = "enforce",
};

/* One "mx: name" line per comma-separated name of list. */
static int mx_lines(struct buf *b, const char *list)
{
	int r = 0;
	const char *p = list;
	while (*p && r == 0) {
		while (*p == ' ' || *p == ',')
			p++;
		size_t n = strcspn(p, ", ");
		if (n)
			r = buf_printf(b, "mx: %.*s\r\n", (int)n, p);
		p += n;
	}
	return r;
}

void http_mta_sts(struct http_session *s)
{
	const struct http_settings *cfg = s->ctx->settings;
	const char *host = s->req->host;
	if (cfg->mta_sts_mode == HTTP_MTA_STS_OFF || !host ||
	    strncasecmp(host, "mta-sts.", 8) != 0) {
		http_respond_error(s, 404);
		return;
	}
	struct buf b = {0};
	int r = buf_printf(&b, "version: STSv1\r\nmode: %s\r\n", modes[cfg->mta_sts_mode]);
	r |= mx_lines(&b, cfg->mta_sts_mx[0] ? cfg->mta_sts_mx : s->ctx->env->hostname);
	r |= buf_printf(&b, "max_age: %lld\r\n", (long long)cfg->mta_sts_max_age);
	if (r) {
		buf_free(&b);
		http_respond_error(s, 500);
		return;
	}
	http_respond(s, 200, "text/plain", NULL, b.data, b.len, HTTP_R_CACHE);
	buf_free(&b);
}
