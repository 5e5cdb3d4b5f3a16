/* contact_card_set: ContactCard/set (RFC 9610 §3.6): create, update
 * (RFC 8620 §5.3 patch objects) and destroy cards.
 *
 * Everything that can be judged without writing is judged on the loop:
 * the patch is applied to the card as ContactCard/get shows it, the
 * result converted to a vCard (contacts/jscontact.c, which says which
 * property is invalid), its addresses taken for the store's index. Then
 * one store job makes every change, each in a savepoint of its own
 * (store_tx_try), so a change the store refuses leaves the others.
 *
 * A card is in exactly one book (maxAddressBooksPerCard 1): a create
 * without addressBookIds goes to the default book; an update naming
 * another book moves the card (store_card_move, which keeps its id). A
 * new card gets "<uuid>.vcf" as its name in the book (what CardDAV sees),
 * and "urn:uuid:<uuid>" as uid when the client gave none; the uid never
 * changes after. An update is made only if the card did not change
 * since it was read (its modseq, the CardDAV ETag). */
#include "proto/jmap/contact_card.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "contacts/jscontact.h"
#include "store/contacts.h"
#include "store/store.h"

#define EMAILS_MAX 64
#define PATCH_MAX_DEPTH 16

enum op_kind { OP_CREATE, OP_UPDATE, OP_DESTROY };

struct op {
	enum op_kind kind;
	const char *key; /* creation id or ContactCard id (borrowed from args) */
	int64_t account_id, book_id, card_id, move_to, if_match;
	char href[STORE_CARD_HREF_MAX + 1];
	char *uid, *vcard;
	size_t len;
	char *emails[EMAILS_MAX];
	size_t nemails;
	bool uid_generated;
	int rc;
	int64_t out_id;
};

struct cset {
	struct jmap_call *c;
	struct op *ops;
	size_t n;
	char old_state[JMAP_CARD_STATE_MAX];
	json_t *not_created, *not_updated, *not_destroyed;
};

static void uuid(char out[37])
{
	unsigned char r[16];
	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
		for (size_t i = 0; i < sizeof r; i++)
			r[i] = (unsigned char)rand(); /* never in practice */
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12],
	         r[13], r[14], r[15]);
}

static void op_clear(struct op *o)
{
	free(o->uid);
	free(o->vcard);
	for (size_t i = 0; i < o->nemails; i++)
		free(o->emails[i]);
	o->uid = o->vcard = NULL;
	o->nemails = 0;
}

static void cset_free(struct cset *x)
{
	for (size_t i = 0; i < x->n; i++)
		op_clear(&x->ops[i]);
	json_decref(x->not_created);
	json_decref(x->not_updated);
	json_decref(x->not_destroyed);
	free(x->ops);
	free(x);
}

/* ---- the job ---- */

static int op_run(struct store_tx *tx, void *arg)
{
	struct op *o = arg;
	switch (o->kind) {
	case OP_CREATE:
	case OP_UPDATE: {
		int rc = store_card_put(tx, o->account_id, o->book_id, o->href, o->uid, o->vcard,
		                        o->len, (const char *const *)o->emails, o->nemails,
		                        o->if_match, &o->out_id, NULL);
		if (rc == 0 && o->move_to && o->move_to != o->book_id)
			rc = store_card_move(tx, o->account_id, o->out_id, o->move_to);
		return rc;
	}
	case OP_DESTROY:
		return store_card_delete(tx, o->account_id, o->book_id, o->href, -1);
	}
	return -EINVAL;
}

static int cset_run(struct store_tx *tx, void *arg)
{
	struct cset *x = arg;
	for (size_t i = 0; i < x->n; i++)
		x->ops[i].rc = store_tx_try(tx, op_run, &x->ops[i]);
	return 0;
}

static json_t *op_error(const struct op *o)
{
	switch (o->rc) {
	case -EEXIST:
		return o->kind == OP_UPDATE && o->move_to
		           ? jmap_set_error("invalidProperties",
		                            "the other book has a card with this uid",
		                            "addressBookIds")
		           : jmap_set_error("invalidProperties",
		                            "the book has a card with this uid", "uid");
	case -EINVAL:
		return jmap_set_error("invalidProperties", "a uid or card tern cannot keep", "uid");
	case -ENOENT:
		return o->kind == OP_CREATE
		           ? jmap_set_error("invalidProperties", "no such book", "addressBookIds")
		           : jmap_set_error("notFound", NULL, NULL);
	case -ESTALE:
		return jmap_set_error("serverFail", "the card changed meanwhile; try again", NULL);
	case -ENOSPC:
		return jmap_set_error("overQuota", "too many cards", NULL);
	default:
		return jmap_set_error("serverFail", "the store did not take the change", NULL);
	}
}

static void cset_answer(struct cset *x)
{
	struct jmap_call *c = x->c;
	json_t *created = json_object(), *updated = json_object(), *destroyed = json_array();
	for (size_t i = 0; i < x->n; i++) {
		struct op *o = &x->ops[i];
		json_t *into = o->kind == OP_CREATE   ? x->not_created
		               : o->kind == OP_UPDATE ? x->not_updated
		                                      : x->not_destroyed;
		if (o->rc < 0) {
			json_object_set_new(into, o->key, op_error(o));
			continue;
		}
		if (o->kind == OP_CREATE) {
			char id[32];
			snprintf(id, sizeof id, "C%" PRId64, o->out_id);
			jmap_created_add(c, o->key, id);
			json_t *obj = json_pack("{s:s}", "id", id);
			if (obj && o->uid_generated)
				json_object_set_new(obj, "uid", json_string(o->uid));
			json_object_set_new(created, o->key, obj);
		} else if (o->kind == OP_UPDATE) {
			json_object_set_new(updated, o->key, json_null());
		} else {
			json_array_append_new(destroyed, json_string(o->key));
		}
	}
	char state[JMAP_CARD_STATE_MAX];
	if (jmap_card_state(c->acct, state) < 0) {
		json_decref(created);
		json_decref(updated);
		json_decref(destroyed);
		cset_free(x);
		jmap_error(c, "serverFail", "the store could not be read");
		return;
	}
	json_t *res = jmap_set_response(c, x->old_state, state, created, updated, destroyed,
	                                x->not_created, x->not_updated, x->not_destroyed);
	cset_free(x);
	if (res)
		jmap_reply(c, res);
	else
		jmap_error(c, "serverFail", "out of memory");
}

static void cset_done(void *arg, int status)
{
	struct cset *x = arg;
	if (status < 0)
		for (size_t i = 0; i < x->n; i++)
			x->ops[i].rc = status;
	cset_answer(x);
}

/* ---- judging on the loop ---- */

/* The one book of addressBookIds (absent: the default book): its id, 0
 * when there is not exactly one book of the account named. */
static int64_t book_of(struct jmap_call *c, json_t *ids)
{
	struct store_addressbook b;
	struct store_rd *rd = store_reader(c->acct->store);
	if (!ids)
		return store_addressbook_get(rd, c->acct->account_id, 0, NULL, "default", &b) == 1
		           ? b.id
		           : 0;
	if (!json_is_object(ids) || json_object_size(ids) != 1)
		return 0;
	const char *k = json_object_iter_key(json_object_iter(ids));
	const char *id = jmap_created_id(c, k);
	int64_t n;
	if (!json_is_true(json_object_iter_value(json_object_iter(ids))) || !id ||
	    !jmap_id_parse(id, 'D', &n))
		return 0;
	return store_addressbook_get(rd, c->acct->account_id, n, NULL, NULL, &b) == 1 ? b.id : 0;
}

/* The card (without id and addressBookIds) into o's vCard, uid and
 * addresses. NULL when fine, else the SetError. */
static json_t *prepare(struct op *o, json_t *card)
{
	json_object_del(card, "id");
	json_object_del(card, "addressBookIds");
	json_t *uid = json_object_get(card, "uid");
	if (uid && (!json_is_string(uid) || !*json_string_value(uid) ||
	            strlen(json_string_value(uid)) > STORE_CARD_UID_MAX))
		return jmap_set_error("invalidProperties", "uid is a string", "uid");
	if (!uid) {
		char u[37], s[48];
		uuid(u);
		snprintf(s, sizeof s, "urn:uuid:%s", u);
		if (json_object_set_new(card, "uid", json_string(s)) < 0)
			return jmap_set_error("serverFail", "out of memory", NULL);
		o->uid_generated = true;
	}
	const char *bad = NULL;
	int rc = jscontact_to_vcard(card, &o->vcard, &o->len, &bad);
	if (rc == -EINVAL)
		return jmap_set_error("invalidProperties", "not what RFC 9553 says it is", bad);
	if (rc < 0)
		return jmap_set_error("serverFail", "out of memory", NULL);
	if (o->len > STORE_CARD_MAX)
		return jmap_set_error("tooLarge", "the card is over 256 KiB as a vCard", NULL);
	if (!(o->uid = strdup(json_string_value(json_object_get(card, "uid")))))
		return jmap_set_error("serverFail", "out of memory", NULL);
	json_t *emails = json_object_get(card, "emails");
	const char *k;
	json_t *e;
	json_object_foreach(emails, k, e)
	{
		const char *a = json_string_value(json_object_get(e, "address"));
		if (a && *a && o->nemails < EMAILS_MAX && strlen(a) <= 320)
			if (!(o->emails[o->nemails++] = strdup(a)))
				return jmap_set_error("serverFail", "out of memory", NULL);
	}
	return NULL;
}

/* RFC 8620 §5.3: each key of a patch is a path ('/' between the parts,
 * RFC 6901 escapes) to a property whose parents exist; null removes it.
 * false when a path does not lead anywhere. */
static bool apply_patch(json_t *obj, json_t *patch)
{
	const char *path;
	json_t *v;
	json_object_foreach(patch, path, v)
	{
		json_t *at = obj;
		const char *p = path;
		char seg[256];
		for (int depth = 0;; depth++) {
			const char *slash = strchr(p, '/');
			size_t n = slash ? (size_t)(slash - p) : strlen(p), o = 0;
			if (depth >= PATCH_MAX_DEPTH || n == 0 || !json_is_object(at))
				return false;
			for (size_t i = 0; i < n; i++) {
				char ch = p[i];
				if (ch == '~') {
					if (i + 1 >= n || (p[i + 1] != '0' && p[i + 1] != '1'))
						return false;
					ch = p[++i] == '0' ? '~' : '/';
				}
				if (o + 1 >= sizeof seg)
					return false;
				seg[o++] = ch;
			}
			seg[o] = '\0';
			if (!slash) {
				if (json_is_null(v))
					json_object_del(at, seg);
				else if (json_object_set(at, seg, v) < 0)
					return false;
				break;
			}
			at = json_object_get(at, seg);
			p = slash + 1;
		}
	}
	return true;
}

struct found {
	json_t *card;
	int64_t id, book_id, modseq;
	char href[STORE_CARD_HREF_MAX + 1];
	bool with_card;
};

static int found_cb(void *ud, const struct store_card *sc)
{
	struct found *f = ud;
	f->id = sc->id;
	f->book_id = sc->addressbook_id;
	f->modseq = sc->modseq;
	snprintf(f->href, sizeof f->href, "%s", sc->href);
	if (f->with_card && !(f->card = jmap_card_json(sc)))
		return -ENOMEM;
	return 0;
}

/* The live card a ContactCard id names: 1, 0, < 0. */
static int find(struct jmap_call *c, const char *key, struct found *f)
{
	const char *id = jmap_created_id(c, key);
	int64_t n;
	if (!id || !jmap_id_parse(id, 'C', &n))
		return 0;
	return store_card_get(store_reader(c->acct->store), c->acct->account_id, 0, NULL, n,
	                      found_cb, f);
}

static void judge_create(struct cset *x, const char *key, json_t *v)
{
	struct jmap_call *c = x->c;
	if (!json_is_object(v)) {
		json_object_set_new(
		    x->not_created, key,
		    jmap_set_error("invalidProperties", "a Card is an object", NULL));
		return;
	}
	if (json_object_get(v, "id")) {
		json_object_set_new(
		    x->not_created, key,
		    jmap_set_error("invalidProperties", "the server sets id", "id"));
		return;
	}
	int64_t book = book_of(c, json_object_get(v, "addressBookIds"));
	if (!book) {
		json_object_set_new(x->not_created, key,
		                    jmap_set_error("invalidProperties",
		                                   "a card is in one address book of the account",
		                                   "addressBookIds"));
		return;
	}
	struct op *o = &x->ops[x->n];
	memset(o, 0, sizeof *o);
	json_t *card = json_deep_copy(v);
	json_t *err = card ? prepare(o, card) : jmap_set_error("serverFail", "out of memory", NULL);
	json_decref(card);
	if (err) {
		op_clear(o);
		json_object_set_new(x->not_created, key, err);
		return;
	}
	char u[37];
	uuid(u);
	snprintf(o->href, sizeof o->href, "%s.vcf", u);
	o->kind = OP_CREATE;
	o->key = key;
	o->account_id = c->acct->account_id;
	o->book_id = book;
	o->if_match = 0;
	x->n++;
}

static void judge_update(struct cset *x, const char *key, json_t *patch)
{
	struct jmap_call *c = x->c;
	struct found f = {.with_card = true};
	int r = find(c, key, &f);
	if (r <= 0) {
		json_decref(f.card);
		json_object_set_new(x->not_updated, key,
		                    jmap_set_error(r < 0 ? "serverFail" : "notFound", NULL, NULL));
		return;
	}
	json_t *before_uid = json_incref(json_object_get(f.card, "uid"));
	json_t *before_id = json_incref(json_object_get(f.card, "id"));
	json_t *err = NULL;
	if (!json_is_object(patch) || !apply_patch(f.card, patch))
		err = jmap_set_error("invalidPatch", NULL, NULL);
	else if (!json_equal(before_id, json_object_get(f.card, "id")))
		err = jmap_set_error("invalidProperties", "the server sets id", "id");
	else if (!json_equal(before_uid, json_object_get(f.card, "uid")))
		err = jmap_set_error("invalidProperties", "a card keeps its uid", "uid");
	json_decref(before_uid);
	json_decref(before_id);
	int64_t book = err ? 0 : book_of(c, json_object_get(f.card, "addressBookIds"));
	if (!err && !book)
		err = jmap_set_error("invalidProperties",
		                     "a card is in one address book of the account",
		                     "addressBookIds");
	struct op *o = &x->ops[x->n];
	memset(o, 0, sizeof *o);
	if (!err)
		err = prepare(o, f.card);
	json_decref(f.card);
	if (err) {
		op_clear(o);
		json_object_set_new(x->not_updated, key, err);
		return;
	}
	o->kind = OP_UPDATE;
	o->key = key;
	o->account_id = c->acct->account_id;
	o->book_id = f.book_id;
	o->move_to = book;
	o->if_match = f.modseq;
	snprintf(o->href, sizeof o->href, "%s", f.href);
	x->n++;
}

static void judge_destroy(struct cset *x, const char *key)
{
	struct found f = {0};
	int r = find(x->c, key, &f);
	if (r <= 0) {
		json_object_set_new(x->not_destroyed, key,
		                    jmap_set_error(r < 0 ? "serverFail" : "notFound", NULL, NULL));
		return;
	}
	struct op *o = &x->ops[x->n++];
	memset(o, 0, sizeof *o);
	o->kind = OP_DESTROY;
	o->key = key;
	o->account_id = x->c->acct->account_id;
	o->book_id = f.book_id;
	snprintf(o->href, sizeof o->href, "%s", f.href);
}

void jmap_contact_card_set(struct jmap_call *c)
{
	struct jmap_set_args a;
	if (!jmap_set_args(c, &a) || !jmap_contacts_ready(c, jmap_contact_card_set))
		return;
	struct cset *x = calloc(1, sizeof *x);
	if (!x || !(x->ops = calloc(a.total + 1, sizeof *x->ops)) ||
	    !(x->not_created = json_object()) || !(x->not_updated = json_object()) ||
	    !(x->not_destroyed = json_object()) || jmap_card_state(c->acct, x->old_state) < 0) {
		if (x)
			cset_free(x);
		jmap_error(c, "serverFail", "the store could not be read");
		return;
	}
	x->c = c;
	if (a.if_in_state && strcmp(a.if_in_state, x->old_state) != 0) {
		cset_free(x);
		jmap_error(c, "stateMismatch", NULL);
		return;
	}
	const char *key;
	json_t *v;
	struct store_rd *rd = store_reader(c->acct->store);
	bool begun = store_read_begin(rd);
	json_object_foreach(a.create, key, v)
	{
		judge_create(x, key, v);
	}
	json_object_foreach(a.update, key, v)
	{
		judge_update(x, key, v);
	}
	size_t i;
	json_array_foreach(a.destroy, i, v)
	{
		judge_destroy(x, json_string_value(v));
	}
	store_read_end(rd, begun);
	if (x->n == 0) {
		cset_answer(x);
		return;
	}
	if (store_submit(c->acct->store, cset_run, cset_done, x) < 0)
		cset_done(x, -EAGAIN);
}
