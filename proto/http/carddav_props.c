/* carddav_props: the properties of CardDAV resources, PROPFIND and
 * PROPPATCH (RFC 4918 §9.1, §9.2; RFC 6352 §6, §7; RFC 5397; RFC 6578
 * §4; getctag from Apple's calendarserver extensions).
 *
 * One table lists every live property: its name, which kinds of resource
 * have it, whether allprop gives it, and the function that writes its
 * value. A PROPFIND answer is one <response> per resource with the props
 * found in a 200 propstat and the rest in a 404 one; REPORTs write their
 * responses with the same function. Nothing is a dead property: PROPPATCH
 * changes only a book's displayname (its name in the store), and refuses
 * the rest with 403, the whole request failing together (§9.2: atomic).
 *
 * Depth: infinity is refused (403 DAV:propfind-finite-depth, §9.1): the
 * tree is three levels deep, but a client that asks for it should walk. */
#include "proto/http/carddav_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/common/env.h"
#include "store/store.h"

#define K(k) (1u << (k))
#define K_COLLECTIONS (K(DAV_ROOT) | K(DAV_PRINCIPAL) | K(DAV_HOME) | K(DAV_BOOK))
#define K_ALL (K_COLLECTIONS | K(DAV_CARD))

typedef int (*prop_fn)(struct dav_req *r, const struct dav_res *res, struct buf *b);

static int p_resourcetype(struct dav_req *r, const struct dav_res *res, struct buf *b)
{
	(void)r;
	switch (res->kind) {
	case DAV_CARD:
		return 0;
	case DAV_PRINCIPAL:
		return buf_adds(b, "<d:collection/><d:principal/>");
	case DAV_BOOK:
		return buf_adds(b, "<d:collection/><card:addressbook/>");
	default:
		return buf_adds(b, "<d:collection/>");
	}
}

static int p_displayname(struct dav_req *r, const struct dav_res *res, struct buf *b)
{
	switch (res->kind) {
	case DAV_PRINCIPAL:
		return wdx_escape(b, r->who.address, strlen(r->who.address));
	case DAV_HOME:
		return buf_adds(b, "Address books");
	case DAV_BOOK:
		return wdx_escape(b, res->book->name, strlen(res->book->name));
	default:
		return 1; /* none */
	}
}

static int href_of(struct buf *b, int (*fn)(struct dav_req *, struct buf *), struct dav_req *r)
{
	int e = buf_adds(b, "<d:href>");
	e |= fn(r, b);
	e |= buf_adds(b, "</d:href>");
	return e ? -1 : 0;
}

static int p_principal(struct dav_req *r, const struct dav_res *res, struct buf *b)
{
	(void)res;
	return href_of(b, dav_principal_href, r);
}

static int p_home_set(struct dav_req *r, const struct dav_res *res, struct buf *b)
{
	(void)res;
	return href_of(b, dav_home_href, r);
}

static int p_supported_reports(struct dav_req *r, const struct dav_res *res, struct buf *b)
{
	(void)r;
	if (res->kind != DAV_BOOK)
		return 0;
	return buf_adds(b, "<d:supported-report><d:report><card:addressbook-multiget/></d:report>"
	                   "</d:supported-report><d:supported-report><d:report>"
	                   "<card:addressbook-query/></d:report></d:supported-report>"
	                   "<d:supported-report><d:report><d:sync-collection/></d:report>"
	                   "</d:supported-report>");
}

static int p_privileges(struct dav_req *r, const struct dav_res *res, struct buf *b)
{
	(void)r;
	int e = buf_adds(b, "<d:privilege><d:read/></d:privilege><d:privilege>"
	                    "<d:read-current-user-privilege-set/></d:privilege>");
	if (res->kind == DAV_HOME || res->kind == DAV_BOOK || res->kind == DAV_CARD)
		e |=
		    buf_adds(b, "<d:privilege><d:write/></d:privilege><d:privilege>"
		                "<d:write-content/></d:privilege><d:privilege><d:write-properties/>"
		                "</d:privilege><d:privilege><d:bind/></d:privilege><d:privilege>"
		                "<d:unbind/></d:privilege>");
	return e;
}

static int p_ctag(struct dav_req *r, const struct dav_res *res, struct buf *b)
{
	(void)r;
	return buf_printf(b, "%lld", (long long)res->book->modseq);
}

static int p_sync_token(struct dav_req *r, const struct dav_res *res, struct buf *b)
{
	(void)r;
	return buf_printf(b, DAV_SYNC_PREFIX "%lld", (long long)res->book->modseq);
}

static int p_address_data_types(struct dav_req *r, const struct dav_res *res, struct buf *b)
{
	(void)r, (void)res;
	return buf_adds(b, "<card:address-data-type content-type=\"text/vcard\" version=\"4.0\"/>"
	                   "<card:address-data-type content-type=\"text/vcard\" version=\"3.0\"/>");
}

static int p_max_size(struct dav_req *r, const struct dav_res *res, struct buf *b)
{
	(void)r, (void)res;
	return buf_printf(b, "%d", STORE_CARD_MAX);
}

static int p_owner(struct dav_req *r, const struct dav_res *res, struct buf *b)
{
	(void)res;
	return href_of(b, dav_principal_href, r);
}

static int p_etag(struct dav_req *r, const struct dav_res *res, struct buf *b)
{
	(void)r;
	return buf_printf(b, "&quot;%lld&quot;", (long long)res->card->modseq);
}

static int p_content_type(struct dav_req *r, const struct dav_res *res, struct buf *b)
{
	(void)r, (void)res;
	return buf_adds(b, "text/vcard; charset=utf-8");
}

static int p_address_data(struct dav_req *r, const struct dav_res *res, struct buf *b)
{
	(void)r;
	if (!res->card->vcard)
		return 1;
	return wdx_escape(b, res->card->vcard, res->card->len);
}

static const struct prop {
	const char *ns;
	const char *name;
	unsigned kinds;
	bool allprop;
	prop_fn fn;
} props[] = {
    {WDX_NS_DAV, "resourcetype", K_ALL, true, p_resourcetype},
    {WDX_NS_DAV, "displayname", K(DAV_PRINCIPAL) | K(DAV_HOME) | K(DAV_BOOK), true, p_displayname},
    {WDX_NS_DAV, "current-user-principal", K_ALL, false, p_principal},
    {WDX_NS_DAV, "principal-URL", K(DAV_PRINCIPAL), false, p_principal},
    {WDX_NS_DAV, "owner", K(DAV_HOME) | K(DAV_BOOK), false, p_owner},
    {WDX_NS_CARDDAV, "addressbook-home-set", K(DAV_ROOT) | K(DAV_PRINCIPAL), false, p_home_set},
    {WDX_NS_DAV, "supported-report-set", K_COLLECTIONS, false, p_supported_reports},
    {WDX_NS_DAV, "current-user-privilege-set", K_ALL, false, p_privileges},
    {WDX_NS_CS, "getctag", K(DAV_BOOK), false, p_ctag},
    {WDX_NS_DAV, "sync-token", K(DAV_BOOK), false, p_sync_token},
    {WDX_NS_CARDDAV, "supported-address-data", K(DAV_BOOK), false, p_address_data_types},
    {WDX_NS_CARDDAV, "max-resource-size", K(DAV_BOOK), false, p_max_size},
    {WDX_NS_DAV, "getetag", K(DAV_CARD), true, p_etag},
    {WDX_NS_DAV, "getcontenttype", K(DAV_CARD), true, p_content_type},
    {WDX_NS_CARDDAV, "address-data", K(DAV_CARD), false, p_address_data},
};

static const struct prop *find_prop(const char *ns, const char *name)
{
	for (size_t i = 0; i < sizeof props / sizeof props[0]; i++)
		if (strcmp(props[i].ns, ns) == 0 && strcmp(props[i].name, name) == 0)
			return &props[i];
	return NULL;
}

static const char *prefix_of(const char *ns)
{
	if (strcmp(ns, WDX_NS_DAV) == 0)
		return "d";
	if (strcmp(ns, WDX_NS_CARDDAV) == 0)
		return "card";
	if (strcmp(ns, WDX_NS_CS) == 0)
		return "cs";
	return NULL;
}

/* The start of element {ns}name (or an empty element when empty): our
 * prefixes for our namespaces, a declaration of its own for any other. */
static int open_name(struct buf *b, const char *ns, const char *name, bool empty)
{
	const char *pfx = prefix_of(ns);
	int e;
	if (pfx) {
		e = buf_printf(b, "<%s:%s", pfx, name);
	} else {
		e = buf_printf(b, "<x:%s xmlns:x=\"", name);
		e |= wdx_escape(b, ns, strlen(ns));
		e |= buf_addc(b, '"');
	}
	e |= buf_adds(b, empty ? "/>" : ">");
	return e ? -1 : 0;
}

static int close_name(struct buf *b, const char *ns, const char *name)
{
	const char *pfx = prefix_of(ns);
	return buf_printf(b, "</%s:%s>", pfx ? pfx : "x", name);
}

/* {ns}name of res into found (with its value) or missing (empty). */
static int one_prop(struct dav_req *r, const struct dav_res *res, const char *ns, const char *name,
                    bool names_only, struct buf *found, struct buf *missing)
{
	const struct prop *p = find_prop(ns, name);
	if (!p || !(p->kinds & (1u << res->kind)))
		return open_name(missing, ns, name, true);
	if (names_only)
		return open_name(found, ns, name, true);
	size_t mark = found->len;
	int e = open_name(found, ns, name, false);
	int v = e ? -1 : p->fn(r, res, found);
	if (v < 0)
		return -1;
	if (v == 1) { /* it has none after all */
		found->len = mark;
		return open_name(missing, ns, name, true);
	}
	return close_name(found, ns, name);
}

static int propstat(struct buf *b, const struct buf *props_, const char *status)
{
	if (props_->len == 0)
		return 0;
	int e = buf_adds(b, "<d:propstat><d:prop>");
	e |= buf_add(b, props_->data, props_->len);
	e |= buf_printf(b, "</d:prop><d:status>HTTP/1.1 %s</d:status></d:propstat>", status);
	return e ? -1 : 0;
}

static int res_href(struct dav_req *r, const struct dav_res *res, struct buf *b)
{
	switch (res->kind) {
	case DAV_ROOT:
		return buf_adds(b, "/dav/");
	case DAV_PRINCIPAL:
		return dav_principal_href(r, b);
	case DAV_HOME:
		return dav_home_href(r, b);
	case DAV_BOOK:
		return dav_book_href(r, res->book, b);
	case DAV_CARD:
		return dav_card_href(r, res->book, res->card->href, b);
	}
	return -1;
}

int dav_write_response(struct dav_req *r, struct buf *b, const struct dav_res *res,
                       const struct dav_props *want)
{
	struct buf found = {0}, missing = {0};
	int e = 0;
	if (want->mode == DAV_PROPS_LIST) {
		for (const struct wdx_node *p = want->prop->first; p && !e; p = p->next)
			e |= one_prop(r, res, p->ns, p->name, false, &found, &missing);
	} else {
		for (size_t i = 0; i < sizeof props / sizeof props[0] && !e; i++)
			if ((props[i].kinds & (1u << res->kind)) &&
			    (want->mode == DAV_PROPS_NAMES || props[i].allprop))
				e |= one_prop(r, res, props[i].ns, props[i].name,
				              want->mode == DAV_PROPS_NAMES, &found, &missing);
	}
	e |= buf_adds(b, "<d:response><d:href>");
	e |= res_href(r, res, b);
	e |= buf_adds(b, "</d:href>");
	e |= propstat(b, &found, "200 OK");
	e |= propstat(b, &missing, "404 Not Found");
	e |= buf_adds(b, "</d:response>\n");
	buf_free(&found);
	buf_free(&missing);
	return e ? -1 : 0;
}

bool dav_props_want_data(const struct dav_props *want)
{
	return want->mode == DAV_PROPS_LIST &&
	       wdx_child(want->prop, WDX_NS_CARDDAV, "address-data") != NULL;
}

/* ---- PROPFIND ---- */

struct listing {
	struct dav_req *r;
	struct buf *b;
	const struct dav_props *want;
	const struct store_addressbook *book;
	int e;
};

static int list_book(void *ud, const struct store_addressbook *book)
{
	struct listing *l = ud;
	struct dav_res res = {.kind = DAV_BOOK, .book = book};
	l->e |= dav_write_response(l->r, l->b, &res, l->want);
	return l->e ? -ENOMEM : 0;
}

static int list_card(void *ud, const struct store_card *card)
{
	struct listing *l = ud;
	struct dav_res res = {.kind = DAV_CARD, .book = l->book, .card = card};
	l->e |= dav_write_response(l->r, l->b, &res, l->want);
	return l->e ? -ENOMEM : 0;
}

static int card_one(void *ud, const struct store_card *card)
{
	return list_card(ud, card);
}

/* The body's <propfind>: allprop (also for an empty body), propname, or
 * prop. 0, or the status to answer. */
static int read_propfind(struct http_session *s, struct wdx_doc *doc, struct dav_props *want)
{
	want->mode = DAV_PROPS_ALL;
	if (s->body.len == 0)
		return 0;
	char err[160];
	int rc = wdx_parse(s->body.data, s->body.len, doc, err, sizeof err);
	if (rc < 0)
		return rc == -E2BIG ? 413 : 400;
	if (!wdx_is(doc->root, WDX_NS_DAV, "propfind"))
		return 400;
	const struct wdx_node *prop = wdx_child(doc->root, WDX_NS_DAV, "prop");
	if (prop) {
		want->mode = DAV_PROPS_LIST;
		want->prop = prop;
	} else if (wdx_child(doc->root, WDX_NS_DAV, "propname")) {
		want->mode = DAV_PROPS_NAMES;
	} else if (!wdx_child(doc->root, WDX_NS_DAV, "allprop")) {
		return 400;
	}
	return 0;
}

void dav_propfind(struct dav_req *r)
{
	int depth = dav_depth(r->s);
	if (depth < 0) {
		dav_respond_status(r, 400);
		return;
	}
	if (depth == 2 && r->path.kind != DAV_CARD) {
		dav_respond_cond(r, 403, WDX_NS_DAV, "propfind-finite-depth", NULL);
		return;
	}
	struct wdx_doc doc = {0};
	struct dav_props want;
	int status = read_propfind(r->s, &doc, &want);
	if (status) {
		wdx_free(&doc);
		dav_respond_status(r, status);
		return;
	}
	struct store_rd *rd = store_reader(r->s->ctx->env->store);
	bool begun = store_read_begin(rd);
	struct buf b = {0};
	struct listing l = {.r = r, .b = &b, .want = &want, .book = &r->book};
	int rc = 0;
	l.e |= dav_multistatus_open(&b);
	struct dav_res self = {.kind = r->path.kind, .book = &r->book};
	switch (r->path.kind) {
	case DAV_ROOT:
		l.e |= dav_write_response(r, &b, &self, &want);
		if (depth == 1) {
			struct dav_res p = {.kind = DAV_PRINCIPAL}, h = {.kind = DAV_HOME};
			l.e |= dav_write_response(r, &b, &p, &want);
			l.e |= dav_write_response(r, &b, &h, &want);
		}
		break;
	case DAV_PRINCIPAL:
		l.e |= dav_write_response(r, &b, &self, &want);
		break;
	case DAV_HOME:
		l.e |= dav_write_response(r, &b, &self, &want);
		if (depth == 1)
			rc = store_addressbook_list(rd, r->who.account_id, list_book, &l);
		break;
	case DAV_BOOK:
		l.e |= dav_write_response(r, &b, &self, &want);
		if (depth == 1)
			rc = store_card_list(rd, r->who.account_id, r->book.id,
			                     dav_props_want_data(&want), list_card, &l);
		break;
	case DAV_CARD:
		rc = store_card_get(rd, r->who.account_id, r->book.id, r->path.card, 0, card_one,
		                    &l);
		if (rc == 0)
			rc = -ENOENT;
		break;
	}
	store_read_end(rd, begun);
	l.e |= dav_multistatus_close(&b);
	wdx_free(&doc);
	if (rc == -ENOENT)
		dav_respond_status(r, 404);
	else if (rc < 0 || l.e)
		dav_respond_status(r, l.e ? 500 : 503);
	else
		dav_respond_xml(r, 207, &b, NULL);
	buf_free(&b);
}

/* ---- PROPPATCH ---- */

/* The answer: every prop of the request with status, and 424 for the
 * others when one failed (RFC 4918 §9.2.1). */
static void proppatch_answer(struct dav_req *r, const struct wdx_node *update, bool ok,
                             const struct wdx_node *bad)
{
	struct buf b = {0}, good = {0}, failed = {0}, dep = {0};
	int e = dav_multistatus_open(&b);
	for (const struct wdx_node *op = update->first; op; op = op->next) {
		const struct wdx_node *prop = wdx_child(op, WDX_NS_DAV, "prop");
		for (const struct wdx_node *p = prop ? prop->first : NULL; p; p = p->next) {
			struct buf *to = ok ? &good : p == bad ? &failed : &dep;
			e |= open_name(to, p->ns, p->name, true);
		}
	}
	e |= buf_adds(&b, "<d:response><d:href>");
	struct dav_res self = {.kind = r->path.kind, .book = &r->book};
	e |= res_href(r, &self, &b);
	e |= buf_adds(&b, "</d:href>");
	e |= propstat(&b, &good, "200 OK");
	e |= propstat(&b, &failed, "403 Forbidden");
	e |= propstat(&b, &dep, "424 Failed Dependency");
	e |= buf_adds(&b, "</d:response>\n");
	e |= dav_multistatus_close(&b);
	if (e)
		dav_respond_status(r, 500);
	else
		dav_respond_xml(r, 207, &b, NULL);
	buf_free(&b);
	buf_free(&good);
	buf_free(&failed);
	buf_free(&dep);
}

/* The request's body is kept while the rename runs: it is parsed again
 * for the answer (the arena holds no tree across the job). */
static void renamed(struct dav_req *r, int rc)
{
	struct wdx_doc doc;
	char err[160];
	if (wdx_parse(r->s->body.data, r->s->body.len, &doc, err, sizeof err) < 0) {
		dav_respond_status(r, 500);
		return;
	}
	if (rc == 0) {
		proppatch_answer(r, doc.root, true, NULL);
	} else if (rc == -EEXIST || rc == -EINVAL) {
		/* the name is taken or not a name: that prop fails */
		const struct wdx_node *bad = NULL;
		for (const struct wdx_node *op = doc.root->first; op && !bad; op = op->next) {
			const struct wdx_node *prop = wdx_child(op, WDX_NS_DAV, "prop");
			bad = wdx_child(prop, WDX_NS_DAV, "displayname");
		}
		proppatch_answer(r, doc.root, false, bad);
	} else {
		dav_respond_status(r, rc == -ENOENT ? 404 : 503);
	}
	wdx_free(&doc);
}

void dav_proppatch(struct dav_req *r)
{
	struct wdx_doc doc;
	char err[160];
	int rc = wdx_parse(r->s->body.data ? r->s->body.data : "", r->s->body.len, &doc, err,
	                   sizeof err);
	if (rc < 0 || !wdx_is(doc.root, WDX_NS_DAV, "propertyupdate")) {
		wdx_free(&doc);
		dav_respond_status(r, rc == -E2BIG ? 413 : 400);
		return;
	}
	/* Only a book's displayname may be set; the first other prop (or a
	 * remove of it) fails the request. */
	const struct wdx_node *bad = NULL, *name = NULL;
	for (const struct wdx_node *op = doc.root->first; op && !bad; op = op->next) {
		bool set = wdx_is(op, WDX_NS_DAV, "set");
		const struct wdx_node *prop = wdx_child(op, WDX_NS_DAV, "prop");
		if (!set && !wdx_is(op, WDX_NS_DAV, "remove"))
			continue;
		for (const struct wdx_node *p = prop ? prop->first : NULL; p && !bad; p = p->next) {
			if (set && r->path.kind == DAV_BOOK &&
			    wdx_is(p, WDX_NS_DAV, "displayname") && p->text_len > 0 &&
			    p->text_len <= STORE_ADDRESSBOOK_NAME_MAX)
				name = p;
			else
				bad = p;
		}
	}
	if (bad || !name) {
		proppatch_answer(r, doc.root, !bad && !name, bad);
		wdx_free(&doc);
		return;
	}
	r->name = arena_strndup(&r->arena, name->text, name->text_len);
	wdx_free(&doc);
	if (!r->name) {
		dav_respond_status(r, 503);
		return;
	}
	dav_rename(r, renamed);
}
