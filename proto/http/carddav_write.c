/* carddav_write: what CardDAV changes, each a store job whose completion
 * answers: PUT and DELETE of a card (RFC 6352 §6.3.2, RFC 4918 §9.6,
 * §9.7), MKCOL of a book (RFC 5689 extended MKCOL, or a plain one),
 * DELETE of a book, PROPPATCH's rename, and the account's first books.
 *
 * A PUT is checked on the loop before it is queued: one vCard
 * (contacts/vcard.c reads it), with a UID, within STORE_CARD_MAX; the
 * answer says which CardDAV precondition failed (403 valid-address-data,
 * 403 no-uid-conflict with the other card's href, 413
 * max-resource-size, 415 supported-address-data). The card is stored as
 * it was sent, so the ETag in the answer is the stored one (§6.3.2.3).
 * If-Match and If-None-Match: * go to the store, which compares inside
 * the transaction: a concurrent change is 412, never a lost update. */
#include "proto/http/carddav_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "contacts/vcard.h"
#include "proto/common/env.h"
#include "store/store.h"

#define MAX_EMAILS 100 /* addresses of one card given to the store */

/* ---- the job machinery ---- */

static int run_job(struct store_tx *tx, void *arg)
{
	struct dav_req *r = arg;
	return r->job(tx, r);
}

static void job_done(void *arg, int rc)
{
	struct dav_req *r = arg;
	r->async = true;
	if (r->s->closed) {
		dav_end(r);
		return;
	}
	r->done(r, rc);
}

bool dav_submit(struct dav_req *r, dav_job_fn job, dav_done_fn done)
{
	r->job = job;
	r->done = done;
	if (r->s->ctx->env->stopping ||
	    store_submit(r->s->ctx->env->store, run_job, job_done, r) < 0) {
		dav_respond_status(r, 503);
		return false;
	}
	if (r->submitted)
		*r->submitted = true;
	r->submitted = NULL;
	return true;
}

static void answer_store_error(struct dav_req *r, int rc)
{
	switch (rc) {
	case -ENOENT:
		dav_respond_status(r, 404);
		break;
	case -ENOSPC:
		dav_respond_status(r, 507);
		break;
	default:
		dav_respond_status(r, 503);
		break;
	}
}

/* ---- the account's first books ---- */

static int ensure_job(struct store_tx *tx, struct dav_req *r)
{
	return store_addressbook_ensure(tx, r->who.account_id);
}

static void ensure_done(struct dav_req *r, int rc)
{
	if (rc < 0) {
		dav_respond_status(r, 503);
		return;
	}
	r->next(r);
}

void dav_ensure_books(struct dav_req *r, void (*next)(struct dav_req *r))
{
	struct store_addressbook b;
	struct store_rd *rd = store_reader(r->s->ctx->env->store);
	int rc = store_addressbook_get(rd, r->who.account_id, 0, NULL, "default", &b);
	if (rc < 0) {
		dav_respond_status(r, 503);
		return;
	}
	if (rc == 1) {
		next(r);
		return;
	}
	r->next = next;
	dav_submit(r, ensure_job, ensure_done);
}

/* ---- PUT ---- */

static bool vcard_type(const struct http_session *s)
{
	const struct http_field *f = http_request_field(s->req, "Content-Type");
	if (!f)
		return true; /* nothing said: the body decides */
	static const char *const ok[] = {"text/vcard", "text/x-vcard", "text/directory"};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		size_t n = strlen(ok[i]);
		if (f->value_len >= n && strncasecmp(f->value, ok[i], n) == 0 &&
		    (f->value_len == n || f->value[n] == ';' || f->value[n] == ' '))
			return true;
	}
	return false;
}

struct find_uid {
	const char *uid;
	const char *skip_href; /* the card being replaced */
	char href[STORE_CARD_HREF_MAX + 1];
};

static int match_uid(void *ud, const struct store_card *c)
{
	struct find_uid *f = ud;
	if (c->uid && strcmp(c->uid, f->uid) == 0 && strcmp(c->href, f->skip_href) != 0) {
		snprintf(f->href, sizeof f->href, "%s", c->href);
		return -EEXIST; /* found: stop */
	}
	return 0;
}

/* The href of another live card of the book with r->uid, into out. */
static bool uid_taken(struct dav_req *r, struct buf *out)
{
	struct find_uid f = {.uid = r->uid, .skip_href = r->path.card};
	struct store_rd *rd = store_reader(r->s->ctx->env->store);
	if (store_card_list(rd, r->who.account_id, r->book.id, false, match_uid, &f) != -EEXIST)
		return false;
	return dav_card_href(r, &r->book, f.href, out) == 0;
}

static void uid_conflict(struct dav_req *r)
{
	struct buf href = {0};
	bool found = uid_taken(r, &href);
	if (found && buf_addc(&href, '\0') == 0)
		dav_respond_cond(r, 403, WDX_NS_CARDDAV, "no-uid-conflict", href.data);
	else
		dav_respond_cond(r, 403, WDX_NS_CARDDAV, "no-uid-conflict", NULL);
	buf_free(&href);
}

static int exists_cb(void *ud, const struct store_card *c)
{
	*(int64_t *)ud = c->modseq;
	return 0;
}

/* The modseq of the live card r's path names: > 0, 0 none, < 0 error. */
static int64_t current_modseq(struct dav_req *r)
{
	int64_t m = 0;
	struct store_rd *rd = store_reader(r->s->ctx->env->store);
	int rc = store_card_get(rd, r->who.account_id, r->book.id, r->path.card, 0, exists_cb, &m);
	return rc < 0 ? rc : rc == 1 ? m : 0;
}

static int put_job(struct store_tx *tx, struct dav_req *r)
{
	return store_card_put(tx, r->who.account_id, r->book.id, r->path.card, r->uid, r->vcard,
	                      r->vcard_len, r->emails, r->nemails, r->if_match, &r->out_id,
	                      &r->out_modseq);
}

static void put_done(struct dav_req *r, int rc)
{
	switch (rc) {
	case 0: {
		char extra[64];
		snprintf(extra, sizeof extra, "ETag: \"%lld\"\r\n", (long long)r->out_modseq);
		http_respond(r->s, r->existed ? 204 : 201, NULL, extra, NULL, 0, HTTP_R_NOSTORE);
		dav_end(r);
		return;
	}
	case -ESTALE:
		dav_respond_status(r, 412);
		return;
	case -EEXIST:
		if (r->if_match == 0 && current_modseq(r) > 0)
			dav_respond_status(r, 412);
		else
			uid_conflict(r);
		return;
	case -EINVAL:
		dav_respond_cond(r, 403, WDX_NS_CARDDAV, "valid-address-data", NULL);
		return;
	case -ENOENT:
		dav_respond_status(r, 409);
		return;
	default:
		answer_store_error(r, rc);
		return;
	}
}

/* Read the vCard: r->uid and r->emails from it. 0, or answered. */
static int read_vcard(struct dav_req *r)
{
	struct vcard_list list = {0};
	char err[160];
	int rc = vcard_parse(r->vcard, r->vcard_len, &list, err, sizeof err);
	const struct vcard_prop *uid =
	    rc == 0 && list.n == 1 ? vcard_get(&list.cards[0], "UID") : NULL;
	if (!uid || !*uid->value || strlen(uid->value) > STORE_CARD_UID_MAX ||
	    memchr(r->vcard, '\0', r->vcard_len)) {
		vcard_list_free(&list);
		dav_respond_cond(r, 403, WDX_NS_CARDDAV, "valid-address-data", NULL);
		return -1;
	}
	const struct vcard *c = &list.cards[0];
	r->uid = arena_strndup(&r->arena, uid->value, strlen(uid->value));
	r->emails = arena_alloc(&r->arena, MAX_EMAILS * sizeof *r->emails);
	bool nomem = !r->uid || !r->emails;
	for (size_t i = 0; i < c->nprops && !nomem && r->nemails < MAX_EMAILS; i++) {
		if (strcmp(c->props[i].name, "EMAIL") != 0)
			continue;
		char *t = vcard_text(c->props[i].value);
		const char *v = t;
		if (t && strncasecmp(t, "mailto:", 7) == 0)
			v += 7;
		if (t && *v && strlen(v) < 320)
			r->emails[r->nemails++] = arena_strndup(&r->arena, v, strlen(v));
		nomem = !t || (r->nemails && !r->emails[r->nemails - 1]);
		free(t);
	}
	vcard_list_free(&list);
	if (nomem) {
		dav_respond_status(r, 503);
		return -1;
	}
	return 0;
}

void dav_put(struct dav_req *r)
{
	if (r->path.kind != DAV_CARD) {
		dav_respond_status(r, 405);
		return;
	}
	if (!vcard_type(r->s)) {
		dav_respond_cond(r, 415, WDX_NS_CARDDAV, "supported-address-data", NULL);
		return;
	}
	r->vcard = r->s->body.data ? r->s->body.data : "";
	r->vcard_len = r->s->body.len;
	if (r->vcard_len > STORE_CARD_MAX) {
		dav_respond_cond(r, 413, WDX_NS_CARDDAV, "max-resource-size", NULL);
		return;
	}
	if (read_vcard(r) < 0)
		return;
	int64_t now = current_modseq(r);
	if (now < 0) {
		dav_respond_status(r, 503);
		return;
	}
	r->existed = now > 0;
	r->if_match = dav_if_match(r->s);
	if (r->if_match == DAV_MATCH_NEVER || (r->if_match == DAV_MATCH_EXISTS && !r->existed) ||
	    (r->if_match == 0 && r->existed)) {
		dav_respond_status(r, 412);
		return;
	}
	if (r->if_match == DAV_MATCH_EXISTS)
		r->if_match = now; /* exists now, and still the same when written */
	struct buf href = {0};
	bool taken = uid_taken(r, &href);
	buf_free(&href);
	if (taken) {
		uid_conflict(r);
		return;
	}
	dav_submit(r, put_job, put_done);
}

/* ---- DELETE ---- */

static int delete_card_job(struct store_tx *tx, struct dav_req *r)
{
	return store_card_delete(tx, r->who.account_id, r->book.id, r->path.card, r->if_match);
}

static int delete_book_job(struct store_tx *tx, struct dav_req *r)
{
	return store_addressbook_destroy(tx, r->who.account_id, r->book.id);
}

static void delete_done(struct dav_req *r, int rc)
{
	if (rc == 0) {
		http_respond(r->s, 204, NULL, NULL, NULL, 0, HTTP_R_NOSTORE);
		dav_end(r);
	} else if (rc == -ESTALE) {
		dav_respond_status(r, 412);
	} else if (rc == -EBUSY) {
		dav_respond_status(r, 403); /* the default book stays */
	} else {
		answer_store_error(r, rc);
	}
}

void dav_delete(struct dav_req *r)
{
	if (r->path.kind == DAV_BOOK) {
		if (strcmp(r->book.role, "default") == 0) {
			dav_respond_status(r, 403);
			return;
		}
		dav_submit(r, delete_book_job, delete_done);
		return;
	}
	if (r->path.kind != DAV_CARD) {
		dav_respond_status(r, 403);
		return;
	}
	int64_t now = current_modseq(r);
	if (now < 0) {
		dav_respond_status(r, 503);
		return;
	}
	if (now == 0) {
		dav_respond_status(r, 404);
		return;
	}
	r->if_match = dav_if_match(r->s);
	if (r->if_match == DAV_MATCH_NEVER || r->if_match == 0) {
		dav_respond_status(r, 412);
		return;
	}
	if (r->if_match == DAV_MATCH_EXISTS)
		r->if_match = -1;
	dav_submit(r, delete_card_job, delete_done);
}

/* ---- MKCOL ---- */

static int mkcol_job(struct store_tx *tx, struct dav_req *r)
{
	return store_addressbook_create(tx, r->who.account_id, r->name, &r->out_id);
}

static void mkcol_done(struct dav_req *r, int rc)
{
	if (rc == 0) {
		struct buf loc = {0};
		struct store_addressbook b = {.id = r->out_id};
		r->has_book = false; /* the new book's href by its id */
		int e = buf_adds(&loc, "Location: ");
		e |= dav_book_href(r, &b, &loc);
		e |= buf_adds(&loc, "\r\n");
		e |= buf_addc(&loc, '\0');
		http_respond(r->s, 201, NULL, e ? NULL : loc.data, NULL, 0, HTTP_R_NOSTORE);
		buf_free(&loc);
		dav_end(r);
	} else if (rc == -EEXIST) {
		dav_respond_status(r, 405); /* RFC 4918 §9.3.1: it exists */
	} else if (rc == -EINVAL) {
		dav_respond_status(r, 403);
	} else {
		answer_store_error(r, rc);
	}
}

/* An extended MKCOL body (RFC 5689 §5.1): <mkcol><set><prop> with a
 * resourcetype of collection and addressbook, and maybe a displayname.
 * 0 (r->name set when one is given), or answered. */
static int read_mkcol_body(struct dav_req *r)
{
	if (r->s->body.len == 0)
		return 0;
	struct wdx_doc doc;
	char err[160];
	int rc = wdx_parse(r->s->body.data, r->s->body.len, &doc, err, sizeof err);
	if (rc < 0 || !wdx_is(doc.root, WDX_NS_DAV, "mkcol")) {
		wdx_free(&doc);
		dav_respond_status(r, rc == -E2BIG ? 413 : 400);
		return -1;
	}
	bool addressbook = false, other = false;
	for (const struct wdx_node *set = doc.root->first; set; set = set->next) {
		const struct wdx_node *prop = wdx_child(set, WDX_NS_DAV, "prop");
		if (!wdx_is(set, WDX_NS_DAV, "set") || !prop)
			continue;
		for (const struct wdx_node *p = prop->first; p; p = p->next) {
			if (wdx_is(p, WDX_NS_DAV, "resourcetype")) {
				addressbook = wdx_child(p, WDX_NS_CARDDAV, "addressbook") != NULL;
			} else if (wdx_is(p, WDX_NS_DAV, "displayname")) {
				if (p->text_len && p->text_len <= STORE_ADDRESSBOOK_NAME_MAX)
					r->name = arena_strndup(&r->arena, p->text, p->text_len);
			} else if (!wdx_is(p, WDX_NS_CARDDAV, "addressbook-description")) {
				other = true;
			}
		}
	}
	wdx_free(&doc);
	if (!addressbook || other) {
		/* RFC 5689 §3: a resourcetype we cannot make, or a property we
		 * cannot set: the collection is not made */
		dav_respond_cond(r, 403, WDX_NS_DAV, "valid-resourcetype", NULL);
		return -1;
	}
	return 0;
}

void dav_mkcol(struct dav_req *r)
{
	if (r->path.kind != DAV_BOOK) {
		dav_respond_status(r, r->path.kind == DAV_CARD ? 409 : 405);
		return;
	}
	if (r->has_book) {
		dav_respond_status(r, 405);
		return;
	}
	const char *seg = r->path.book;
	bool digits = true;
	for (const char *p = seg; *p; p++)
		digits = digits && *p >= '0' && *p <= '9';
	if (digits) {
		dav_respond_status(r, 403); /* a number names a book by its id */
		return;
	}
	if (read_mkcol_body(r) < 0)
		return;
	if (!r->name)
		r->name = seg;
	dav_submit(r, mkcol_job, mkcol_done);
}

/* ---- rename ---- */

static int rename_job(struct store_tx *tx, struct dav_req *r)
{
	return store_addressbook_rename(tx, r->who.account_id, r->book.id, r->name);
}

void dav_rename(struct dav_req *r, dav_done_fn done)
{
	dav_submit(r, rename_job, done);
}
