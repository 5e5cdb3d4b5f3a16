/* webmail_assets: the front end's files, compiled in.
 *
 * The table is written at build time by tools/embed_assets from web/
 * (CMakeLists.txt): each file's bytes, its content type, a gzip copy when
 * that is smaller, and a strong ETag that is a hash of the bytes. */
#ifndef TERN_WEBMAIL_ASSETS_H
#define TERN_WEBMAIL_ASSETS_H

#include <stddef.h>

struct webmail_asset {
	const char *name; /* the path below web/, "index.html" */
	const char *content_type;
	const unsigned char *body;
	size_t len;
	const unsigned char *gz; /* NULL when gzip would not be smaller */
	size_t gzlen;
	const char *etag; /* quoted */
};

extern const struct webmail_asset webmail_assets[];
extern const size_t webmail_nassets;

/* The asset called name (len bytes, not NUL-terminated), or NULL. */
const struct webmail_asset *webmail_asset_find(const char *name, size_t len);

#endif
