/* routes: which handler answers which request.
 *
 * One table: path, the methods it takes, its handler, and whether it is
 * served over plain HTTP. Everything else on a plain listener is redirected
 * to HTTPS (when there is an HTTPS listener): what must work before a
 * certificate exists or for clients that only try http:// (ACME http-01,
 * Thunderbird's autoconfig, MTA-STS, a liveness probe) is answered where it
 * is asked. Paths match exactly after percent-decoding; a path with a ".."
 * segment, an encoded NUL or slash, or that is not origin-form is refused,
 * so no later handler that maps paths to files can be walked out of its
 * directory. */
#include "proto/http/http_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "acme/challenge.h"
#include "proto/http/carddav.h"
#include "net/conn.h"

#define M(x) (1u << (x))

#define ACME_PREFIX "/.well-known/acme-challenge/"

/* http-01 (RFC 8555 §8.3): the key authorization for a token an order of
 * acme/ is being validated with, byte for byte; 404 for any other. */
static void acme_challenge(struct http_session *s)
{
	const char *token = s->path + sizeof ACME_PREFIX - 1;
	const char *ka = acme_challenge_lookup(token, strlen(token));
	if (!ka) {
		http_respond_error(s, 404);
		return;
	}
	http_respond(s, 200, "application/octet-stream", NULL, ka, strlen(ka), HTTP_R_NOSTORE);
}

static const struct route {
	const char *path;
	unsigned methods; /* 0: WebDAV, every method (OPTIONS too) goes to the handler */
	void (*handler)(struct http_session *s);
	bool plain;  /* answered over plain HTTP too */
	bool prefix; /* path is a prefix */
	bool nocase; /* Outlook sends /Autodiscover/Autodiscover.xml */
} routes[] = {
    {"/.well-known/autoconfig/mail/config-v1.1.xml", M(HTTP_GET) | M(HTTP_HEAD),
     http_autoconfig_thunderbird, true, false, false},
    {"/mail/config-v1.1.xml", M(HTTP_GET) | M(HTTP_HEAD), http_autoconfig_thunderbird, true, false,
     false},
    {"/autodiscover/autodiscover.xml", M(HTTP_POST), http_autodiscover_outlook, false, false, true},
    {"/mobileconfig", M(HTTP_GET) | M(HTTP_HEAD), http_mobileconfig_apple, false, false, false},
    {"/healthz", M(HTTP_GET) | M(HTTP_HEAD), http_healthz, true, false, false},
    {"/readyz", M(HTTP_GET) | M(HTTP_HEAD), http_readyz, false, false, false},
    {"/metrics", M(HTTP_GET) | M(HTTP_HEAD), http_metrics, false, false, false},
    {ACME_PREFIX, M(HTTP_GET) | M(HTTP_HEAD), acme_challenge, true, true, false},
    {"/.well-known/mta-sts.txt", M(HTTP_GET) | M(HTTP_HEAD), http_mta_sts, true, false, false},
    /* JMAP (jmap_routes.c): HTTPS only, authenticated there */
    {"/.well-known/jmap", M(HTTP_GET) | M(HTTP_HEAD), http_jmap_session, false, false, false},
    {"/jmap/session", M(HTTP_GET) | M(HTTP_HEAD), http_jmap_session, false, false, false},
    {"/jmap/api", M(HTTP_POST), http_jmap_api, false, false, false},
    {"/jmap/login", M(HTTP_POST), http_jmap_login, false, false, false},
    {"/jmap/logout", M(HTTP_POST), http_jmap_logout, false, false, false},
    {"/jmap/password", M(HTTP_POST), http_jmap_password, false, false, false},
    {"/jmap/eventsource", M(HTTP_GET), http_jmap_eventsource, false, false, false},
    {"/jmap/upload/", M(HTTP_POST), http_jmap_upload, false, true, false},
    {"/jmap/download/", M(HTTP_GET) | M(HTTP_HEAD), http_jmap_download, false, true, false},
    {"/jmap/html/", M(HTTP_GET) | M(HTTP_HEAD), http_jmap_html, false, true, false},
    /* admin_api.c checks the token, then paths and methods itself */
    {"/api/admin/",
     M(HTTP_GET) | M(HTTP_HEAD) | M(HTTP_POST) | M(HTTP_PUT) | M(HTTP_DELETE) | M(HTTP_PATCH),
     http_admin_api, false, true, false},
    /* send_api.c: a token of scope send */
    {"/api/v1/send", M(HTTP_POST), http_send_api, false, false, false},
    /* CardDAV (carddav.c): PROPFIND, REPORT, MKCOL... are methods the
     * parser does not name; the handler reads method_name */
    {"/.well-known/carddav", 0, http_carddav, false, false, false},
    {"/dav", 0, http_carddav, false, false, false},
    {"/dav/", 0, http_carddav, false, true, false},
    {"/", M(HTTP_GET) | M(HTTP_HEAD), http_webmail, false, false, false},
    {"/webmail/", M(HTTP_GET) | M(HTTP_HEAD), http_webmail, false, true, false},
};

/* Host without its port, if it is a plain host name or address. */
static bool redirect_host(const struct http_session *s, char *out, size_t outlen)
{
	const char *h = s->req->host;
	if (!h || !*h)
		return false;
	size_t n = 0;
	if (h[0] == '[') {
		const char *end = strchr(h, ']');
		if (!end)
			return false;
		n = (size_t)(end - h) + 1;
	} else {
		while (h[n] && h[n] != ':')
			n++;
	}
	if (n == 0 || n >= outlen)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = h[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		          (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '[' ||
		          ch == ']' || ch == ':';
		if (!ok)
			return false;
	}
	memcpy(out, h, n);
	out[n] = '\0';
	return true;
}

static void redirect_to_https(struct http_session *s)
{
	char host[300], extra[2400];
	if (!redirect_host(s, host, sizeof host)) {
		http_respond_error(s, 400);
		return;
	}
	char port[16] = "";
	if (s->ctx->site->https_port != 443)
		snprintf(port, sizeof port, ":%d", s->ctx->site->https_port);
	const char *t = s->req->target;
	if (t[0] != '/')
		t = s->path; /* absolute-form: the decoded path is enough */
	if (snprintf(extra, sizeof extra, "Location: https://%s%s%s\r\n", host, port, t) >=
	    (int)sizeof extra) {
		http_respond_error(s, 414);
		return;
	}
	static const char body[] = "Moved to HTTPS\n";
	http_respond(s, 301, "text/plain; charset=utf-8", extra, body, sizeof body - 1, 0);
}

static bool path_matches(const struct route *rt, const char *path)
{
	if (rt->prefix)
		return strncmp(path, rt->path, strlen(rt->path)) == 0;
	return rt->nocase ? strcasecmp(path, rt->path) == 0 : strcmp(path, rt->path) == 0;
}

static void allow_header(const struct route *rt, char *out, size_t outlen)
{
	static const char *names[] = {
	    [HTTP_GET] = "GET",    [HTTP_HEAD] = "HEAD",     [HTTP_POST] = "POST",
	    [HTTP_PUT] = "PUT",    [HTTP_DELETE] = "DELETE", [HTTP_OPTIONS] = "OPTIONS",
	    [HTTP_PATCH] = "PATCH"};
	size_t n = (size_t)snprintf(out, outlen, "Allow: ");
	for (int m = HTTP_GET; m <= HTTP_PATCH; m++)
		if (rt->methods & M(m))
			n += (size_t)snprintf(out + n, outlen - n, "%s, ", names[m]);
	snprintf(out + n, outlen - n, "OPTIONS\r\n");
}

void http_route(struct http_session *s)
{
	const struct http_request *r = s->req;
	s->path[0] = '\0';
	if (r->method == HTTP_OPTIONS && strcmp(r->target, "*") == 0) {
		http_respond(s, 204, NULL, "Allow: GET, HEAD, POST, OPTIONS\r\n", NULL, 0, 0);
		return;
	}
	if (http_split_target(s) < 0) {
		http_respond_error(s, 400);
		return;
	}
	if (s->too_big)
		return;
	const struct route *rt = NULL;
	for (size_t i = 0; i < sizeof routes / sizeof routes[0] && !rt; i++)
		if (path_matches(&routes[i], s->path))
			rt = &routes[i];
	if (r->method == HTTP_OTHER && !(rt && rt->methods == 0)) {
		http_respond_error(s, 501);
		return;
	}
	if (!conn_is_tls(s->c) && s->ctx->site->https_port && (!rt || !rt->plain)) {
		redirect_to_https(s);
		return;
	}
	if (!rt) {
		if ((r->method == HTTP_GET || r->method == HTTP_HEAD) && http_static(s))
			return;
		http_respond_error(s, 404);
		return;
	}
	if (rt->methods == 0) {
		rt->handler(s);
		return;
	}
	char allow[120];
	allow_header(rt, allow, sizeof allow);
	if (r->method == HTTP_OPTIONS) {
		http_respond(s, 204, NULL, allow, NULL, 0, 0);
		return;
	}
	if (!(rt->methods & M(r->method))) {
		static const char body[] = "405 Method Not Allowed\n";
		http_respond(s, 405, "text/plain; charset=utf-8", allow, body, sizeof body - 1, 0);
		return;
	}
	rt->handler(s);
}
