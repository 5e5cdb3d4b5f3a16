/* carddav: the entry of CardDAV (RFC 6352) on the HTTP listener: the
 * URL space (carddav_int.h draws it), authentication, and the methods
 * that need no XML (OPTIONS, GET, HEAD); PROPFIND/PROPPATCH are in
 * carddav_props.c, REPORT in carddav_report.c, the writes in
 * carddav_write.c.
 *
 * Authentication is JMAP's (http_jmap_authenticate): HTTP Basic checked
 * by auth_check, the pool and the throttle IMAP uses, or the webmail's
 * cookie with its CSRF token; a 401 carries the Basic challenge. Like
 * JMAP, only over TLS: a plain listener redirects to HTTPS when there is
 * one (the router), and answers 403 when there is none. OPTIONS and the
 * /.well-known/carddav redirect (RFC 6764 §5) need no login.
 *
 * An account sees its own principal and books only: a path naming
 * another address is 403 whether that account exists or not. Its books
 * are made on its first request (store_addressbook_ensure). */
#include "proto/http/carddav.h"
#include "proto/http/carddav_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "net/conn.h"
#include "proto/common/env.h"
#include "store/store.h"

#define DAV_ALLOW "Allow: OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, MKCOL, REPORT\r\n"

/* ---- the path ---- */

/* The next segment of *p (after its '/') into out: its length, or -1
 * when too long. *p moves past it. */
static int take_segment(const char **p, char *out, size_t outlen)
{
	const char *s = *p;
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	if (n >= outlen)
		return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	*p = slash ? slash + 1 : s + n;
	return (int)n;
}

int dav_parse_path(const char *path, struct dav_path *out)
{
	memset(out, 0, sizeof *out);
	if (strncmp(path, "/dav", 4) != 0)
		return -1;
	const char *p = path + 4;
	if (*p == '\0' || strcmp(p, "/") == 0) {
		out->kind = DAV_ROOT;
		return 0;
	}
	p++; /* the '/' */
	bool principal = strncmp(p, "principals/", 11) == 0;
	bool books = strncmp(p, "addressbooks/", 13) == 0;
	if (!principal && !books)
		return -1;
	p += principal ? 11 : 13;
	if (take_segment(&p, out->account, sizeof out->account) <= 0)
		return -1;
	if (*p == '\0') {
		out->kind = principal ? DAV_PRINCIPAL : DAV_HOME;
		return 0;
	}
	if (principal)
		return -1;
	if (take_segment(&p, out->book, sizeof out->book) <= 0)
		return -1;
	if (*p == '\0') {
		out->kind = DAV_BOOK;
		return 0;
	}
	int n = take_segment(&p, out->card, sizeof out->card);
	if (n <= 0 || *p != '\0' || p[-1] == '/')
		return -1; /* deeper, or a card with a trailing slash */
	out->kind = DAV_CARD;
	return 0;
}

/* ---- answers ---- */

void dav_end(struct dav_req *r)
{
	struct http_session *s = r->s;
	bool resume = r->async;
	arena_reset(&r->arena);
	free(r);
	if (resume)
		http_session_resume(s);
}

void dav_respond_xml(struct dav_req *r, int status, const struct buf *body, const char *extra)
{
	if (!r->s->closed)
		http_respond(r->s, status, "application/xml; charset=utf-8", extra, body->data,
		             body->len, HTTP_R_NOSTORE);
	dav_end(r);
}

void dav_respond_status(struct dav_req *r, int status)
{
	if (!r->s->closed) {
		if (status == 405) {
			static const char body[] = "405 Method Not Allowed\n";
			http_respond(r->s, 405, "text/plain; charset=utf-8", DAV_ALLOW, body,
			             sizeof body - 1, 0);
		} else {
			http_respond_error(r->s, status);
		}
	}
	dav_end(r);
}

static const char *prefix_of(const char *ns)
{
	if (strcmp(ns, WDX_NS_CARDDAV) == 0)
		return "card";
	if (strcmp(ns, WDX_NS_CS) == 0)
		return "cs";
	return "d";
}

void dav_respond_cond(struct dav_req *r, int status, const char *ns, const char *cond,
                      const char *href)
{
	struct buf b = {0};
	const char *pfx = prefix_of(ns);
	int e = buf_printf(&b,
	                   "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<d:error xmlns:d=\"DAV:\" "
	                   "xmlns:card=\"" WDX_NS_CARDDAV "\"><%s:%s",
	                   pfx, cond);
	if (href) {
		e |= buf_adds(&b, "><d:href>");
		e |= wdx_escape(&b, href, strlen(href));
		e |= buf_printf(&b, "</d:href></%s:%s>", pfx, cond);
	} else {
		e |= buf_adds(&b, "/>");
	}
	e |= buf_adds(&b, "</d:error>\n");
	if (e) {
		buf_free(&b);
		dav_respond_status(r, 500);
		return;
	}
	dav_respond_xml(r, status, &b, NULL);
	buf_free(&b);
}

int dav_principal_href(struct dav_req *r, struct buf *b)
{
	int e = buf_adds(b, "/dav/principals/");
	e |= wdx_segment(b, r->who.address);
	e |= buf_addc(b, '/');
	return e ? -1 : 0;
}

int dav_home_href(struct dav_req *r, struct buf *b)
{
	int e = buf_adds(b, "/dav/addressbooks/");
	e |= wdx_segment(b, r->who.address);
	e |= buf_addc(b, '/');
	return e ? -1 : 0;
}

int dav_book_href(struct dav_req *r, const struct store_addressbook *book, struct buf *b)
{
	int e = dav_home_href(r, b);
	/* The segment the client used for this book, so that hrefs in the
	 * answer are under the URL it asked; else the id. */
	if (r->has_book && r->book.id == book->id && r->path.book[0])
		e |= wdx_segment(b, r->path.book);
	else
		e |= buf_printf(b, "%lld", (long long)book->id);
	e |= buf_addc(b, '/');
	return e ? -1 : 0;
}

int dav_card_href(struct dav_req *r, const struct store_addressbook *book, const char *card,
                  struct buf *b)
{
	int e = dav_book_href(r, book, b);
	e |= wdx_segment(b, card);
	return e ? -1 : 0;
}

int dav_multistatus_open(struct buf *b)
{
	return buf_adds(b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	                   "<d:multistatus xmlns:d=\"DAV:\" xmlns:card=\"" WDX_NS_CARDDAV
	                   "\" xmlns:cs=\"" WDX_NS_CS "\">\n");
}

int dav_multistatus_close(struct buf *b)
{
	return buf_adds(b, "</d:multistatus>\n");
}

static const struct http_field *field(const struct http_session *s, const char *name)
{
	return http_request_field(s->req, name);
}

int dav_depth(const struct http_session *s)
{
	const struct http_field *f = field(s, "Depth");
	if (!f || (f->value_len == 8 && strncasecmp(f->value, "infinity", 8) == 0))
		return 2;
	if (f->value_len == 1 && (f->value[0] == '0' || f->value[0] == '1'))
		return f->value[0] - '0';
	return -1;
}

/* "\"<digits>\"" as a modseq, or -1. */
static int64_t our_tag(const char *v, size_t n)
{
	if (n < 3 || v[0] != '"' || v[n - 1] != '"' || n > 21)
		return -1;
	int64_t x = 0;
	for (size_t i = 1; i + 1 < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		x = x * 10 + (v[i] - '0');
	}
	return x > 0 ? x : -1;
}

int64_t dav_if_match(const struct http_session *s)
{
	const struct http_field *f = field(s, "If-Match");
	if (f) {
		if (f->value_len == 1 && f->value[0] == '*')
			return DAV_MATCH_EXISTS;
		/* One of ours, alone: the store compares one modseq (a list of
		 * several is a client guessing: it matches nothing). */
		int64_t m = our_tag(f->value, f->value_len);
		return m > 0 ? m : DAV_MATCH_NEVER;
	}
	f = field(s, "If-None-Match");
	if (f && f->value_len == 1 && f->value[0] == '*')
		return 0;
	return -1;
}

/* ---- books ---- */

static bool all_digits(const char *s)
{
	if (!*s || strlen(s) > 18)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

bool dav_load_book(struct dav_req *r)
{
	struct store_rd *rd = store_reader(r->s->ctx->env->store);
	int64_t id = all_digits(r->path.book) ? strtoll(r->path.book, NULL, 10) : 0;
	int rc = store_addressbook_get(rd, r->who.account_id, id, id ? NULL : r->path.book, NULL,
	                               &r->book);
	r->has_book = rc == 1;
	return r->has_book;
}

/* ---- GET, HEAD ---- */

struct got_card {
	struct buf body;
	int64_t modseq;
	int e;
};

static int copy_card(void *ud, const struct store_card *c)
{
	struct got_card *g = ud;
	g->modseq = c->modseq;
	g->e = c->vcard ? buf_add(&g->body, c->vcard, c->len) : -1;
	return 0;
}

static void get_card(struct dav_req *r)
{
	struct store_rd *rd = store_reader(r->s->ctx->env->store);
	struct got_card g = {0};
	int rc = store_card_get(rd, r->who.account_id, r->book.id, r->path.card, 0, copy_card, &g);
	if (rc < 0 || g.e) {
		buf_free(&g.body);
		dav_respond_status(r, rc < 0 ? 503 : 500);
		return;
	}
	if (rc == 0) {
		buf_free(&g.body);
		dav_respond_status(r, 404);
		return;
	}
	char etag[64], extra[96];
	snprintf(etag, sizeof etag, "\"%lld\"", (long long)g.modseq);
	snprintf(extra, sizeof extra, "ETag: %s\r\n", etag);
	const struct http_field *inm = field(r->s, "If-None-Match");
	bool same =
	    inm &&
	    ((inm->value_len == 1 && inm->value[0] == '*') ||
	     (inm->value_len == strlen(etag) && memcmp(inm->value, etag, inm->value_len) == 0));
	if (same)
		http_respond(r->s, 304, NULL, extra, NULL, 0, HTTP_R_NOSTORE);
	else
		http_respond(r->s, 200, "text/vcard; charset=utf-8", extra, g.body.data, g.body.len,
		             HTTP_R_NOSTORE);
	buf_free(&g.body);
	dav_end(r);
}

/* ---- dispatch ---- */

static bool method_is(const struct dav_req *r, const char *name)
{
	return strcmp(r->s->req->method_name, name) == 0;
}

/* The account has its books: act on the request. */
static void dispatch(struct dav_req *r)
{
	enum dav_kind k = r->path.kind;
	if ((k == DAV_BOOK || k == DAV_CARD) && !dav_load_book(r) &&
	    !(k == DAV_BOOK && method_is(r, "MKCOL"))) {
		/* a card PUT into no book: its parent is missing (RFC 4918 §9.7.1) */
		dav_respond_status(r, k == DAV_CARD && method_is(r, "PUT") ? 409 : 404);
		return;
	}
	if (method_is(r, "PROPFIND")) {
		dav_propfind(r);
	} else if (method_is(r, "PROPPATCH")) {
		dav_proppatch(r);
	} else if (method_is(r, "REPORT")) {
		dav_report(r);
	} else if (method_is(r, "MKCOL")) {
		dav_mkcol(r);
	} else if (method_is(r, "PUT")) {
		dav_put(r);
	} else if (method_is(r, "DELETE")) {
		dav_delete(r);
	} else if (method_is(r, "GET") || method_is(r, "HEAD")) {
		if (k == DAV_CARD)
			get_card(r);
		else
			dav_respond_status(r, 405);
	} else if (method_is(r, "POST") || method_is(r, "PATCH") || method_is(r, "COPY") ||
	           method_is(r, "MOVE") || method_is(r, "LOCK") || method_is(r, "UNLOCK")) {
		dav_respond_status(r, 405);
	} else {
		dav_respond_status(r, 501);
	}
}

static bool authed(struct http_session *s, const struct jmap_web_login *who)
{
	struct dav_req *r = calloc(1, sizeof *r);
	if (!r) {
		http_respond_error(s, 503);
		return false;
	}
	r->s = s;
	r->who = *who;
	if (dav_parse_path(s->path, &r->path) < 0) {
		dav_respond_status(r, 404);
		return false;
	}
	if (r->path.kind != DAV_ROOT && strcasecmp(r->path.account, who->address) != 0) {
		dav_respond_status(r, 403);
		return false;
	}
	/* r answers now (and is freed) unless a store job is submitted: then
	 * its completion answers and resumes the session (dav_submit sets
	 * the flag, only ever before this returns). */
	bool submitted = false;
	r->submitted = &submitted;
	dav_ensure_books(r, dispatch);
	return submitted;
}

void http_carddav(struct http_session *s)
{
	if (strcmp(s->path, "/.well-known/carddav") == 0) {
		/* RFC 6764 §5: the context path, for any method */
		static const char body[] = "Moved to /dav/\n";
		http_respond(s, 301, "text/plain; charset=utf-8", "Location: /dav/\r\n", body,
		             sizeof body - 1, 0);
		return;
	}
	if (s->req->method == HTTP_OPTIONS) {
		/* RFC 6352 §6.1: what this server is, before any login */
		http_respond(s, 200, "text/plain; charset=utf-8",
		             "DAV: 1, 3, addressbook\r\n" DAV_ALLOW, NULL, 0, 0);
		return;
	}
	if (!conn_is_tls(s->c)) {
		static const char body[] = "CardDAV is served over HTTPS only\n";
		http_respond(s, 403, "text/plain; charset=utf-8", NULL, body, sizeof body - 1, 0);
		return;
	}
	http_jmap_authenticate(s, authed);
}
