/* webdav_xml: a WebDAV request body read by expat into a bounded tree
 * (webdav_xml.h says what and why).
 *
 * expat does the XML (well-formedness, namespaces, character references,
 * encodings); this file only builds nodes and enforces the bounds. Names
 * come from expat as "uri<SEP>local" (XML_ParserCreateNS), split at the
 * last separator. The parse stops (XML_StopParser) at the first bound
 * crossed or at a DOCTYPE: nothing after it is read, so a hostile body
 * costs at most its size. */
#include "proto/http/webdav_xml.h"

#include <errno.h>
#include <expat.h>
#include <stdio.h>
#include <string.h>

#define NS_SEP '\x01'

struct builder {
	XML_Parser p;
	struct wdx_doc *doc;
	struct wdx_node *cur; /* the open element, NULL before the root */
	size_t depth, nodes;
	int rc; /* 0, or the error that stopped the parse */
	char why[120];
};

static void stop(struct builder *b, int rc, const char *why)
{
	if (b->rc == 0) {
		b->rc = rc;
		snprintf(b->why, sizeof b->why, "%s", why);
	}
	XML_StopParser(b->p, XML_FALSE);
}

/* "uri\x01local" or "local" into ns and name, copied into the arena. */
static bool split_name(struct builder *b, const XML_Char *full, const char **ns, const char **name)
{
	const char *sep = strrchr(full, NS_SEP);
	if (sep) {
		*ns = arena_strndup(&b->doc->arena, full, (size_t)(sep - full));
		*name = arena_strndup(&b->doc->arena, sep + 1, strlen(sep + 1));
	} else {
		*ns = "";
		*name = arena_strndup(&b->doc->arena, full, strlen(full));
	}
	return *ns && *name;
}

static void on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct builder *b = ud;
	if (b->rc)
		return;
	if (++b->depth > WDX_MAX_DEPTH) {
		stop(b, -E2BIG, "too deeply nested");
		return;
	}
	if (++b->nodes > WDX_MAX_NODES) {
		stop(b, -E2BIG, "too many elements");
		return;
	}
	struct wdx_node *n = arena_alloc(&b->doc->arena, sizeof *n);
	if (!n || !split_name(b, name, &n->ns, &n->name)) {
		stop(b, -ENOMEM, "out of memory");
		return;
	}
	n->text = "";
	size_t na = 0;
	for (size_t i = 0; atts[i]; i += 2)
		if (!strchr(atts[i], NS_SEP))
			na++;
	if (na > WDX_MAX_ATTRS) {
		stop(b, -E2BIG, "too many attributes");
		return;
	}
	if (na) {
		struct wdx_attr *a = arena_alloc(&b->doc->arena, na * sizeof *a);
		if (!a) {
			stop(b, -ENOMEM, "out of memory");
			return;
		}
		size_t k = 0;
		for (size_t i = 0; atts[i]; i += 2) {
			if (strchr(atts[i], NS_SEP))
				continue;
			a[k].name = arena_strndup(&b->doc->arena, atts[i], strlen(atts[i]));
			a[k].value =
			    arena_strndup(&b->doc->arena, atts[i + 1], strlen(atts[i + 1]));
			if (!a[k].name || !a[k].value) {
				stop(b, -ENOMEM, "out of memory");
				return;
			}
			k++;
		}
		n->attrs = a;
		n->nattrs = na;
	}
	n->parent = b->cur;
	if (b->cur) {
		if (b->cur->last)
			b->cur->last->next = n;
		else
			b->cur->first = n;
		b->cur->last = n;
	} else {
		b->doc->root = n;
	}
	b->cur = n;
}

static void on_end(void *ud, const XML_Char *name)
{
	(void)name;
	struct builder *b = ud;
	if (b->rc || !b->cur)
		return;
	b->cur = b->cur->parent;
	b->depth--;
}

static void on_text(void *ud, const XML_Char *s, int len)
{
	struct builder *b = ud;
	if (b->rc || !b->cur || len <= 0)
		return;
	struct wdx_node *n = b->cur;
	if (n->text_len + (size_t)len > WDX_MAX_TEXT) {
		stop(b, -E2BIG, "too much text in one element");
		return;
	}
	/* Text comes in pieces; each piece copies what came before (bounded
	 * by WDX_MAX_TEXT, so at most a few KiB per element). */
	char *t = arena_alloc(&b->doc->arena, n->text_len + (size_t)len + 1);
	if (!t) {
		stop(b, -ENOMEM, "out of memory");
		return;
	}
	memcpy(t, n->text, n->text_len);
	memcpy(t + n->text_len, s, (size_t)len);
	n->text_len += (size_t)len;
	t[n->text_len] = '\0';
	n->text = t;
}

static void on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
                       int has_internal_subset)
{
	(void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
	stop(ud, -EINVAL, "a document type declaration is not accepted");
}

static void on_entity(void *ud, const XML_Char *name, int is_param, const XML_Char *value,
                      int value_len, const XML_Char *base, const XML_Char *sysid,
                      const XML_Char *pubid, const XML_Char *notation)
{
	(void)name, (void)is_param, (void)value, (void)value_len, (void)base, (void)sysid,
	    (void)pubid, (void)notation;
	stop(ud, -EINVAL, "an entity declaration is not accepted");
}

int wdx_parse(const char *data, size_t len, struct wdx_doc *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (len > WDX_MAX_INPUT) {
		snprintf(err, errlen, "the body is over %u bytes", WDX_MAX_INPUT);
		return -E2BIG;
	}
	struct builder b = {.doc = out};
	b.p = XML_ParserCreateNS(NULL, NS_SEP);
	if (!b.p) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	XML_SetUserData(b.p, &b);
	XML_SetElementHandler(b.p, on_start, on_end);
	XML_SetCharacterDataHandler(b.p, on_text);
	XML_SetStartDoctypeDeclHandler(b.p, on_doctype);
	XML_SetEntityDeclHandler(b.p, on_entity);
	XML_SetParamEntityParsing(b.p, XML_PARAM_ENTITY_PARSING_NEVER);
	enum XML_Status st = XML_Parse(b.p, data, (int)len, XML_TRUE);
	int rc = b.rc;
	if (rc == 0 && st != XML_STATUS_OK) {
		rc = -EINVAL;
		snprintf(b.why, sizeof b.why, "line %lu: %s",
		         (unsigned long)XML_GetCurrentLineNumber(b.p),
		         XML_ErrorString(XML_GetErrorCode(b.p)));
	}
	if (rc == 0 && !out->root) {
		rc = -EINVAL;
		snprintf(b.why, sizeof b.why, "no element");
	}
	XML_ParserFree(b.p);
	if (rc < 0) {
		snprintf(err, errlen, "%s", b.why);
		out->root = NULL;
	}
	return rc;
}

void wdx_free(struct wdx_doc *d)
{
	arena_reset(&d->arena);
	d->root = NULL;
}

bool wdx_is(const struct wdx_node *n, const char *ns, const char *name)
{
	return n && strcmp(n->ns, ns) == 0 && strcmp(n->name, name) == 0;
}

struct wdx_node *wdx_child(const struct wdx_node *n, const char *ns, const char *name)
{
	for (struct wdx_node *c = n ? n->first : NULL; c; c = c->next)
		if (wdx_is(c, ns, name))
			return c;
	return NULL;
}

const char *wdx_attr(const struct wdx_node *n, const char *name)
{
	for (size_t i = 0; n && i < n->nattrs; i++)
		if (strcmp(n->attrs[i].name, name) == 0)
			return n->attrs[i].value;
	return NULL;
}
