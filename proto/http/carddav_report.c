/* carddav_report: the REPORTs of an address book: addressbook-multiget
 * and addressbook-query (RFC 6352 §8.6, §8.7) and sync-collection
 * (RFC 6578 §3).
 *
 * Each reads on the loop's reader inside one read transaction, so a
 * sync's changes and its new token are from one snapshot. A sync-token
 * is DAV_SYNC_PREFIX and the book's modseq (store/contacts.h): what
 * changed since it is every card and tombstone of the book above it; a
 * token above the account's modseq, below the oldest one the tombstones
 * still cover, or not one of ours is 403 DAV:valid-sync-token. A removed
 * card is a <response> with its href and a 404 status; one that was
 * removed and made again under the same name is reported once, as it is
 * now. address-data is the card as stored, whole (§10.4's property
 * selection is allowed to be ignored by returning everything). A query
 * with CARDDAV:limit stops at nresults and says so with 507 on the
 * book's href (RFC 5323-style, §8.6.1 of RFC 6352). */
#include "proto/http/carddav_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "contacts/vcard.h"
#include "proto/common/env.h"
#include "store/store.h"

struct rep {
	struct dav_req *r;
	struct buf *b;
	struct dav_props want;
	const struct wdx_node *filter;
	size_t limit, count; /* query: nresults (0 none) */
	bool truncated;
	int e;
};

static int write_card(struct rep *p, const struct store_card *c)
{
	struct dav_res res = {.kind = DAV_CARD, .book = &p->r->book, .card = c};
	p->e |= dav_write_response(p->r, p->b, &res, &p->want);
	return p->e ? -ENOMEM : 0;
}

/* A removed card: its href and 404 (RFC 6578 §3.5.2). */
static int write_missing(struct rep *p, const char *card)
{
	int e = buf_adds(p->b, "<d:response><d:href>");
	e |= dav_card_href(p->r, &p->r->book, card, p->b);
	e |= buf_adds(p->b, "</d:href><d:status>HTTP/1.1 404 Not Found</d:status></d:response>\n");
	p->e |= e;
	return e ? -ENOMEM : 0;
}

/* The props of a report: its DAV:prop child, or allprop. */
static void report_props(const struct wdx_node *root, struct dav_props *want)
{
	const struct wdx_node *prop = wdx_child(root, WDX_NS_DAV, "prop");
	want->mode = prop ? DAV_PROPS_LIST : DAV_PROPS_ALL;
	want->prop = prop;
}

/* ---- addressbook-multiget ---- */

static int got_card(void *ud, const struct store_card *c)
{
	return write_card(ud, c);
}

/* The href's path (an absolute URL's or an absolute path) decoded into
 * out: 0, or -1. */
static int href_path(const char *href, size_t n, char *out, size_t outlen)
{
	const char *p = href, *end = href + n;
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
		end--;
	const char *scheme = NULL;
	for (const char *q = p; q + 2 < end; q++)
		if (q[0] == ':' && q[1] == '/' && q[2] == '/') {
			scheme = q + 3;
			break;
		}
	if (scheme) {
		p = memchr(scheme, '/', (size_t)(end - scheme));
		if (!p)
			return -1;
	}
	size_t k = 0;
	for (; p < end; p++) {
		int c = (unsigned char)*p;
		if (c == '%') {
			if (end - p < 3)
				return -1;
			char hx[3] = {p[1], p[2], 0};
			char *stop;
			long v = strtol(hx, &stop, 16);
			if (*stop || v == 0 || v == '/')
				return -1;
			c = (int)v;
			p += 2;
		} else if (c == '?' || c == '#') {
			break;
		}
		if (k + 1 >= outlen)
			return -1;
		out[k++] = (char)c;
	}
	out[k] = '\0';
	return k ? 0 : -1;
}

static void run_multiget(struct rep *p, const struct wdx_node *root, struct store_rd *rd)
{
	struct dav_req *r = p->r;
	char path[1024];
	for (const struct wdx_node *h = root->first; h && !p->e; h = h->next) {
		if (!wdx_is(h, WDX_NS_DAV, "href"))
			continue;
		struct dav_path dp;
		int found = 0;
		if (href_path(h->text, h->text_len, path, sizeof path) == 0 &&
		    dav_parse_path(path, &dp) == 0 && dp.kind == DAV_CARD &&
		    strcasecmp(dp.account, r->who.address) == 0 &&
		    strcmp(dp.book, r->path.book) == 0)
			found = store_card_get(rd, r->who.account_id, r->book.id, dp.card, 0,
			                       got_card, p);
		if (found < 0 && !p->e) {
			p->e = -1;
			break;
		}
		if (found == 0) {
			/* the href as the client wrote it, with its 404 */
			int e = buf_adds(p->b, "<d:response><d:href>");
			e |= wdx_escape(p->b, h->text, h->text_len);
			e |= buf_adds(p->b, "</d:href><d:status>HTTP/1.1 404 Not Found</d:status>"
			                    "</d:response>\n");
			p->e |= e;
		}
	}
}

/* ---- addressbook-query ---- */

static int query_card(void *ud, const struct store_card *c)
{
	struct rep *p = ud;
	if (!c->vcard)
		return 0;
	struct vcard_list list = {0};
	char err[80];
	bool m = vcard_parse(c->vcard, c->len, &list, err, sizeof err) == 0 && list.n == 1 &&
	         dav_filter_match(p->filter, &list.cards[0]);
	vcard_list_free(&list);
	if (!m)
		return 0;
	if (p->limit && p->count == p->limit) {
		p->truncated = true;
		return -ECANCELED;
	}
	p->count++;
	return write_card(p, c);
}

/* ---- sync-collection ---- */

struct change {
	char *href;
	int64_t id, modseq;
	bool deleted;
};

struct changes {
	struct change *v;
	size_t n, cap;
	struct arena *arena;
	int e;
};

static int collect_change(void *ud, const struct store_card *c)
{
	struct changes *cs = ud;
	if (cs->n == cs->cap) {
		size_t cap = cs->cap ? cs->cap * 2 : 64;
		struct change *v = realloc(cs->v, cap * sizeof *v);
		if (!v) {
			cs->e = -1;
			return -ENOMEM;
		}
		cs->v = v;
		cs->cap = cap;
	}
	char *href = arena_strndup(cs->arena, c->href, strlen(c->href));
	if (!href) {
		cs->e = -1;
		return -ENOMEM;
	}
	cs->v[cs->n++] = (struct change){href, c->id, c->modseq, c->deleted};
	return 0;
}

static int by_href_live_first(const void *a, const void *b)
{
	const struct change *x = a, *y = b;
	int c = strcmp(x->href, y->href);
	if (c)
		return c;
	if (x->deleted != y->deleted)
		return x->deleted ? 1 : -1;
	return x->modseq < y->modseq ? 1 : x->modseq > y->modseq ? -1 : 0;
}

/* "urn:x-tern:sync:<n>" as n, or -1. */
static int64_t parse_token(const char *t, size_t n)
{
	size_t pl = strlen(DAV_SYNC_PREFIX);
	if (n <= pl || n > pl + 18 || memcmp(t, DAV_SYNC_PREFIX, pl) != 0)
		return -1;
	int64_t v = 0;
	for (size_t i = pl; i < n; i++) {
		if (t[i] < '0' || t[i] > '9')
			return -1;
		v = v * 10 + (t[i] - '0');
	}
	return v;
}

static int sync_live(void *ud, const struct store_card *c)
{
	return write_card(ud, c);
}

/* 0, or the status to answer (403: the token; also via *cond). */
static int sync_collection(struct rep *p, const struct wdx_node *root, struct store_rd *rd,
                           const char **cond)
{
	struct dav_req *r = p->r;
	const struct wdx_node *tok = wdx_child(root, WDX_NS_DAV, "sync-token");
	const struct wdx_node *level = wdx_child(root, WDX_NS_DAV, "sync-level");
	if (!tok || !level)
		return 400;
	if (!(level->text_len == 1 && level->text[0] == '1')) {
		/* RFC 6578 §3.3: infinite is for collections with members that
		 * are collections; a book has none */
		if (!(level->text_len == 8 && memcmp(level->text, "infinite", 8) == 0))
			return 400;
	}
	bool data = dav_props_want_data(&p->want);
	/* the book as of this snapshot: its modseq is the new token */
	struct store_addressbook now;
	if (store_addressbook_get(rd, r->who.account_id, r->book.id, NULL, NULL, &now) != 1)
		return 404;
	r->book = now;
	if (tok->text_len == 0) { /* initial: every live card */
		if (store_card_list(rd, r->who.account_id, r->book.id, data, sync_live, p) < 0 &&
		    !p->e)
			return 503;
	} else {
		int64_t since = parse_token(tok->text, tok->text_len);
		int64_t top = store_contacts_modseq(rd, r->who.account_id);
		int64_t oldest = store_contacts_oldest_modseq(rd, r->who.account_id);
		if (top < 0 || oldest < 0)
			return 503;
		if (since < 0 || since > top || since < oldest) {
			*cond = "valid-sync-token";
			return 403;
		}
		struct changes cs = {.arena = &r->arena};
		int rc = store_card_changes(rd, r->who.account_id, r->book.id, since,
		                            collect_change, &cs);
		if (rc < 0 || cs.e) {
			free(cs.v);
			return 503;
		}
		if (cs.n > 1)
			qsort(cs.v, cs.n, sizeof *cs.v, by_href_live_first);
		for (size_t i = 0; i < cs.n && !p->e; i++) {
			if (i > 0 && strcmp(cs.v[i].href, cs.v[i - 1].href) == 0)
				continue; /* the same name: reported as it is now */
			if (cs.v[i].deleted) {
				write_missing(p, cs.v[i].href);
				continue;
			}
			int found = store_card_get(rd, r->who.account_id, r->book.id, cs.v[i].href,
			                           0, got_card, p);
			if (found == 0) /* gone in between: cannot be, in one snapshot */
				write_missing(p, cs.v[i].href);
		}
		free(cs.v);
	}
	p->e |= buf_printf(p->b, "<d:sync-token>" DAV_SYNC_PREFIX "%lld</d:sync-token>\n",
	                   (long long)r->book.modseq);
	return 0;
}

void dav_report(struct dav_req *r)
{
	struct wdx_doc doc;
	char err[160];
	int rc = wdx_parse(r->s->body.data ? r->s->body.data : "", r->s->body.len, &doc, err,
	                   sizeof err);
	if (rc < 0) {
		dav_respond_status(r, rc == -E2BIG ? 413 : 400);
		return;
	}
	const struct wdx_node *root = doc.root;
	bool multiget = wdx_is(root, WDX_NS_CARDDAV, "addressbook-multiget");
	bool query = wdx_is(root, WDX_NS_CARDDAV, "addressbook-query");
	bool sync = wdx_is(root, WDX_NS_DAV, "sync-collection");
	if (!multiget && !query && !sync) {
		wdx_free(&doc);
		dav_respond_cond(r, 403, WDX_NS_DAV, "supported-report", NULL);
		return;
	}
	if (r->path.kind != DAV_BOOK) {
		/* these are reports of an address book (RFC 6352 §8.6/8.7) */
		wdx_free(&doc);
		dav_respond_cond(r, 403, WDX_NS_DAV, "supported-report", NULL);
		return;
	}
	struct buf b = {0};
	struct rep p = {.r = r, .b = &b};
	report_props(root, &p.want);
	const char *cond = NULL;
	if (query) {
		p.filter = wdx_child(root, WDX_NS_CARDDAV, "filter");
		if (p.filter && dav_filter_check(p.filter, &cond) < 0) {
			wdx_free(&doc);
			dav_respond_cond(r, 403, WDX_NS_CARDDAV, cond, NULL);
			return;
		}
		const struct wdx_node *lim = wdx_child(root, WDX_NS_CARDDAV, "limit");
		const struct wdx_node *nr = wdx_child(lim, WDX_NS_CARDDAV, "nresults");
		if (nr) {
			char t[24];
			snprintf(t, sizeof t, "%.*s", (int)(nr->text_len < 20 ? nr->text_len : 20),
			         nr->text);
			char *end;
			long long v = strtoll(t, &end, 10);
			if (*end || v <= 0) {
				wdx_free(&doc);
				dav_respond_status(r, 400);
				return;
			}
			p.limit = (size_t)v;
		}
	}
	struct store_rd *rd = store_reader(r->s->ctx->env->store);
	bool begun = store_read_begin(rd);
	int status = 0;
	p.e |= dav_multistatus_open(&b);
	if (multiget) {
		run_multiget(&p, root, rd);
	} else if (query) {
		rc = store_card_list(rd, r->who.account_id, r->book.id, true, query_card, &p);
		if (rc < 0 && rc != -ECANCELED && !p.e)
			status = 503;
		if (p.truncated) {
			p.e |= buf_adds(&b, "<d:response><d:href>");
			p.e |= dav_book_href(r, &r->book, &b);
			p.e |=
			    buf_adds(&b, "</d:href><d:status>HTTP/1.1 507 Insufficient Storage"
			                 "</d:status><d:error><d:number-of-matches-within-limits/>"
			                 "</d:error></d:response>\n");
		}
	} else {
		status = sync_collection(&p, root, rd, &cond);
	}
	store_read_end(rd, begun);
	p.e |= dav_multistatus_close(&b);
	wdx_free(&doc);
	if (status == 403 && cond)
		dav_respond_cond(r, 403, WDX_NS_DAV, cond, NULL);
	else if (status)
		dav_respond_status(r, status);
	else if (p.e)
		dav_respond_status(r, 500);
	else
		dav_respond_xml(r, 207, &b, NULL);
	buf_free(&b);
}
