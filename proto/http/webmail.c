/* webmail: the built-in webmail's page and files, from the binary itself.
 *
 * GET / and GET /webmail/ answer the page (index.html); GET /webmail/<file>
 * answers one of the files tools/embed_assets compiled in
 * (webmail_assets.h), with its precomputed gzip copy and ETag, so a
 * reload costs a 304. Nothing here touches the disk.
 *
 * Every response says "Cache-Control: no-cache": names are not hashed, so
 * the browser must revalidate each file, which the ETag makes one round
 * trip with no body. The page gets a CSP of its own in place of the
 * generic one of response.c (which forbids scripts): scripts and styles
 * only from this origin (no inline script at all), frames only from this
 * origin (the sanitized message bodies of /jmap/html/, themselves
 * sandboxed), images from this origin and data: URLs, fetches to this
 * origin only, and no framing of the page itself.
 *
 * Only over TLS: routes.c redirects plain HTTP before a handler runs.
 * "[http] webmail = false" turns all of this off (404). When [http]
 * static_dir is set, "/" is that site's and the webmail stays at
 * /webmail/. */
#include "proto/http/http_int.h"
#include "proto/http/webmail_assets.h"

#include <string.h>

#define WEBMAIL_PREFIX "/webmail/"

#define WEBMAIL_CSP                                                                                \
	"Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; "       \
	"img-src 'self' data:; connect-src 'self'; frame-src 'self'; form-action 'self'; "         \
	"base-uri 'none'; frame-ancestors 'none'\r\n"

const struct webmail_asset *webmail_asset_find(const char *name, size_t len)
{
	for (size_t i = 0; i < webmail_nassets; i++)
		if (strlen(webmail_assets[i].name) == len &&
		    memcmp(webmail_assets[i].name, name, len) == 0)
			return &webmail_assets[i];
	return NULL;
}

void http_webmail(struct http_session *s)
{
	const struct http_settings *cfg = s->ctx->settings;
	bool root = strcmp(s->path, "/") == 0;
	if (root && cfg->static_dir[0] && http_static(s))
		return;
	if (!cfg->webmail) {
		http_respond_error(s, 404);
		return;
	}
	const char *name = "index.html";
	if (!root && strcmp(s->path, WEBMAIL_PREFIX) != 0)
		name = s->path + sizeof WEBMAIL_PREFIX - 1;
	const struct webmail_asset *a = webmail_asset_find(name, strlen(name));
	if (!a) {
		http_respond_error(s, 404);
		return;
	}
	bool html = strncmp(a->content_type, "text/html", 9) == 0;
	struct http_entity e = {
	    .content_type = a->content_type,
	    .extra =
	        html ? "Cache-Control: no-cache\r\n" WEBMAIL_CSP : "Cache-Control: no-cache\r\n",
	    .body = a->body,
	    .len = a->len,
	    .gz = a->gz,
	    .gzlen = a->gzlen,
	    .etag = a->etag,
	};
	http_respond_entity(s, 200, &e);
}
