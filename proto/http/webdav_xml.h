/* webdav_xml: WebDAV request bodies read into a small bounded tree, and
 * the escaping that writing a multistatus answer needs (RFC 4918 §14).
 *
 * Why a tree: a PROPFIND, PROPPATCH, MKCOL or REPORT body is a few
 * hundred bytes that the handler walks in any order (the props asked,
 * a filter's nesting), so it is read whole by expat into nodes in one
 * arena. Names are (namespace, local name) pairs, as RFC 4918 §17
 * requires: "D:prop" and "x:prop" with xmlns:x="DAV:" are the same.
 *
 * Input from anyone: the body is at most WDX_MAX_INPUT bytes, the tree at
 * most WDX_MAX_DEPTH deep and WDX_MAX_NODES elements, an element's text
 * at most WDX_MAX_TEXT bytes and its attributes WDX_MAX_ATTRS. A document
 * type declaration is refused where it starts (so are entity
 * declarations, should one come any other way): no entity is ever
 * expanded, and the billion laughs fails on its first line. */
#ifndef TERN_HTTP_WEBDAV_XML_H
#define TERN_HTTP_WEBDAV_XML_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/arena.h"
#include "lib/buf.h"

#define WDX_MAX_INPUT (1u << 20) /* bytes of a request body */
#define WDX_MAX_DEPTH 32
#define WDX_MAX_NODES 10000
#define WDX_MAX_TEXT 4096 /* bytes of character data in one element */
#define WDX_MAX_ATTRS 16

#define WDX_NS_DAV "DAV:"
#define WDX_NS_CARDDAV "urn:ietf:params:xml:ns:carddav"
#define WDX_NS_CS "http://calendarserver.org/ns/"

struct wdx_attr {
	const char *name; /* local name; attributes in a namespace are dropped */
	const char *value;
};

struct wdx_node {
	const char *ns;   /* "" when none */
	const char *name; /* local name */
	const char *text; /* character data directly inside, "" when none */
	size_t text_len;
	const struct wdx_attr *attrs;
	size_t nattrs;
	struct wdx_node *parent, *first, *last, *next;
};

struct wdx_doc {
	struct arena arena;
	struct wdx_node *root;
};

/* Read data[0..len). 0 (out->root set), or -EINVAL (not well-formed, a
 * DTD, or an entity), -E2BIG (over a bound), -ENOMEM; err says why. The
 * doc is freed with wdx_free in every case. */
int wdx_parse(const char *data, size_t len, struct wdx_doc *out, char *err, size_t errlen);
void wdx_free(struct wdx_doc *d);

/* Whether n is {ns}name. */
bool wdx_is(const struct wdx_node *n, const char *ns, const char *name);
/* The first child {ns}name of n, or NULL. */
struct wdx_node *wdx_child(const struct wdx_node *n, const char *ns, const char *name);
/* The value of attribute name of n, or NULL. */
const char *wdx_attr(const struct wdx_node *n, const char *name);

/* ---- writing (webdav_xml_write.c) ---- */

/* s[0..n) as XML character data or attribute value: & < > " ' escaped,
 * bytes XML 1.0 cannot carry (C0 controls but tab, LF, CR) dropped.
 * 0, or -1 (no memory). */
int wdx_escape(struct buf *b, const char *s, size_t n);
/* A path as an href: every byte but the unreserved ones, '/', '@' and
 * the sub-delims that are safe in a path percent-encoded, then escaped
 * for XML. 0 or -1. */
int wdx_href(struct buf *b, const char *path);
/* One path segment percent-encoded (a '/' too) into b. 0 or -1. */
int wdx_segment(struct buf *b, const char *seg);

#endif
