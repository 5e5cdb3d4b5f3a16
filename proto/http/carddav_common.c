/* carddav_common: what every CardDAV file uses, at the bottom of them so
 * that calls between them go one way (carddav.c dispatches to props,
 * report and write; they call here): the path split, the answers and
 * their hrefs, the Depth and If-Match fields, a book's lookup. */
#include "proto/http/carddav_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto/common/env.h"
#include "store/store.h"

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
	/* at most 18 digits: no overflow */
	if (n < 3 || n > 20 || v[0] != '"' || v[n - 1] != '"')
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
