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
	const struct http_field *inm = http_request_field(r->s->req, "If-None-Match");
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
