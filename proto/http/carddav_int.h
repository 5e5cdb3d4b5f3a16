/* carddav_int: what the CardDAV files share (not for the rest of
 * proto/http).
 *
 * The URL space, one account per principal:
 *
 *   /dav/                                   the root (discovery)
 *   /dav/principals/<address>/              the account's principal
 *   /dav/addressbooks/<address>/            its address-book home
 *   /dav/addressbooks/<address>/<book>/     a book: <book> is its id, or
 *                                           its name (as MKCOL made it)
 *   /dav/addressbooks/<address>/<book>/<r>  a card; <r> is the store's href
 *
 * A request is a struct dav_req from authentication to its answer; a
 * write is a store job whose completion answers (carddav_write.c). */
#ifndef TERN_HTTP_CARDDAV_INT_H
#define TERN_HTTP_CARDDAV_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/arena.h"
#include "lib/buf.h"
#include "proto/http/http_int.h"
#include "proto/http/webdav_xml.h"
#include "store/contacts.h"

struct vcard;

enum dav_kind { DAV_ROOT, DAV_PRINCIPAL, DAV_HOME, DAV_BOOK, DAV_CARD };

/* A path under /dav split into its parts (segments percent-decoded
 * already by the router). */
struct dav_path {
	enum dav_kind kind;
	char account[HTTP_BASIC_USER_MAX];
	char book[STORE_ADDRESSBOOK_NAME_MAX + 1];
	char card[STORE_CARD_HREF_MAX + 1];
};
/* 0, or -1 when the path names nothing here (404). */
int dav_parse_path(const char *path, struct dav_path *out);

#define DAV_SYNC_PREFIX "urn:x-tern:sync:"

struct dav_req;
typedef int (*dav_job_fn)(struct store_tx *tx, struct dav_req *r);
typedef void (*dav_done_fn)(struct dav_req *r, int rc);

struct dav_req {
	struct http_session *s;
	struct jmap_web_login who;
	struct dav_path path;
	bool async;      /* a completion ran: the session is resumed at the end */
	bool *submitted; /* set by dav_submit while the request is being started */
	bool has_book;
	struct store_addressbook book;
	struct arena arena; /* what the request allocates */
	/* a write (carddav_write.c) */
	dav_job_fn job;
	dav_done_fn done;
	void (*next)(struct dav_req *r); /* after the books are ensured */
	const char *name;                /* MKCOL, PROPPATCH: the book's name */
	const char *uid;                 /* PUT */
	const char *vcard;               /* PUT: into s->body */
	size_t vcard_len;
	const char **emails;
	size_t nemails;
	int64_t if_match; /* as store_card_put takes it */
	bool existed;     /* PUT: a live card had the href before */
	int64_t out_id, out_modseq;
};

#define DAV_ALLOW "Allow: OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, MKCOL, REPORT\r\n"

/* ---- carddav_common.c ---- */
/* Free r; resume the session when a completion ran. */
void dav_end(struct dav_req *r);
/* Answer an XML body (application/xml) and end r. */
void dav_respond_xml(struct dav_req *r, int status, const struct buf *body, const char *extra);
/* Answer status with a DAV:error body naming the precondition {ns}cond
 * (href, if not NULL, inside it), and end r. */
void dav_respond_cond(struct dav_req *r, int status, const char *ns, const char *cond,
                      const char *href);
/* Answer a short text error and end r. */
void dav_respond_status(struct dav_req *r, int status);
/* The hrefs of r's account (percent-encoded, XML-safe) appended to b. */
int dav_principal_href(struct dav_req *r, struct buf *b);
int dav_home_href(struct dav_req *r, struct buf *b);
/* The book's href as r names it (its segment as requested, or its id). */
int dav_book_href(struct dav_req *r, const struct store_addressbook *book, struct buf *b);
int dav_card_href(struct dav_req *r, const struct store_addressbook *book, const char *card,
                  struct buf *b);
/* "<d:multistatus ...>" with the namespaces every answer uses. */
int dav_multistatus_open(struct buf *b);
int dav_multistatus_close(struct buf *b);
/* A Depth field: 0, 1, or 2 for infinity (also when absent, RFC 4918
 * §9.1); -1 when it is something else. */
int dav_depth(const struct http_session *s);
/* If-Match / If-None-Match as store_card_put takes it: -1 neither, 0
 * If-None-Match: *, n If-Match: "n". DAV_MATCH_EXISTS for If-Match: *,
 * DAV_MATCH_NEVER for a tag none of ours can equal. */
#define DAV_MATCH_EXISTS (-2)
#define DAV_MATCH_NEVER (-3)
int64_t dav_if_match(const struct http_session *s);
/* The book r's path names, read into r->book: true when it exists. */
bool dav_load_book(struct dav_req *r);

/* ---- carddav_props.c ---- */
/* What a PROPFIND or a REPORT asks for. */
enum dav_prop_mode { DAV_PROPS_ALL, DAV_PROPS_NAMES, DAV_PROPS_LIST };
struct dav_props {
	enum dav_prop_mode mode;
	const struct wdx_node *prop; /* DAV_PROPS_LIST: the DAV:prop element */
};
/* The resource a <response> is for. */
struct dav_res {
	enum dav_kind kind;
	const struct store_addressbook *book; /* BOOK, CARD */
	const struct store_card *card;        /* CARD (vcard when it was read) */
};
/* One <d:response> for res with the props asked. 0 or -1 (memory). */
int dav_write_response(struct dav_req *r, struct buf *b, const struct dav_res *res,
                       const struct dav_props *want);
/* Whether want asks for CARDDAV:address-data (the cards must be read with
 * their text). */
bool dav_props_want_data(const struct dav_props *want);
void dav_propfind(struct dav_req *r);
void dav_proppatch(struct dav_req *r);

/* ---- carddav_report.c ---- */
void dav_report(struct dav_req *r);

/* ---- carddav_filter.c ---- */
/* A CARDDAV:filter element (RFC 6352 §10.5) checked for what is
 * supported: 0, or -1 with the precondition in *cond
 * ("supported-filter" or "supported-collation"). */
int dav_filter_check(const struct wdx_node *filter, const char **cond);
/* Whether the card matches a checked filter (NULL filter: every card). */
bool dav_filter_match(const struct wdx_node *filter, const struct vcard *card);

/* ---- carddav_write.c ---- */
/* Run job on the writer, then done(r, rc) on the loop (the session is
 * held meanwhile). false when it could not be queued (answered: 503). */
bool dav_submit(struct dav_req *r, dav_job_fn job, dav_done_fn done);
void dav_put(struct dav_req *r);
void dav_delete(struct dav_req *r);
void dav_mkcol(struct dav_req *r);
/* PROPPATCH's one change: rename r->book to r->name; done answers. */
void dav_rename(struct dav_req *r, dav_done_fn done);
/* Give the account its default books if it has none, then call next. */
void dav_ensure_books(struct dav_req *r, void (*next)(struct dav_req *r));

#endif
