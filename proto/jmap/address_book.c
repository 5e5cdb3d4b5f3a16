/* address_book: AddressBook/get, /changes and /set (RFC 9610 §2).
 *
 * An AddressBook is a book of store/contacts.h: id "D" + its store id,
 * its name, isDefault for the role "default" (the book a card goes to
 * when a create names none). tern keeps no per-book description, sort
 * order, subscription or sharing: sortOrder is the server's (default 0,
 * collected 1, the others 2), every book is subscribed, shareWith is null,
 * and a /set that asks for other values of these gets invalidProperties.
 *
 * The state is a hash of every book's id, name and role. Each state
 * handed out is recorded with a snapshot (state_snapshots.h: per book its
 * id and that hash), so /changes compares the snapshot with now; a state
 * no longer recorded gets cannotCalculateChanges. A card's change does
 * not change the AddressBook state (nothing of a book shows its cards).
 *
 * /set runs as one store job; each create, update and destroy inside it
 * in a savepoint of its own (store_tx_try), so one refused change leaves
 * the others. */
#include "proto/jmap/contact_card.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/jmap/state_snapshots.h"
#include "store/contacts.h"
#include "store/store.h"

#define BOOK_STATE_MAX 24

struct book_mark {
	int64_t id;
	uint64_t hash;
};

struct books {
	struct store_addressbook v[STORE_ADDRESSBOOKS_MAX];
	size_t n;
};

static int list_cb(void *ud, const struct store_addressbook *b)
{
	struct books *l = ud;
	if (l->n < STORE_ADDRESSBOOKS_MAX)
		l->v[l->n++] = *b;
	return 0;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t book_hash(const struct store_addressbook *b)
{
	uint64_t h = fnv(0xcbf29ce484222325ull, &b->id, sizeof b->id);
	h = fnv(h, b->name, strlen(b->name) + 1);
	return fnv(h, b->role, strlen(b->role) + 1);
}

/* The books now, the state, and the state recorded. 0 or < 0. */
static int load(const struct jmap_account *acct, struct books *l, char state[BOOK_STATE_MAX])
{
	l->n = 0;
	int rc = store_addressbook_list(store_reader(acct->store), acct->account_id, list_cb, l);
	if (rc < 0)
		return rc;
	uint64_t h = 0xcbf29ce484222325ull;
	struct book_mark marks[STORE_ADDRESSBOOKS_MAX];
	for (size_t i = 0; i < l->n; i++) {
		marks[i].id = l->v[i].id;
		marks[i].hash = book_hash(&l->v[i]);
		h = fnv(h, &marks[i].hash, sizeof marks[i].hash);
	}
	snprintf(state, BOOK_STATE_MAX, "b%016" PRIx64, h);
	jmap_snapshot_put(acct->account_id, JMAP_SNAPSHOT_ADDRESSBOOK, state, marks,
	                  l->n * sizeof marks[0]);
	return 0;
}

static int sort_order(const struct store_addressbook *b)
{
	return strcmp(b->role, "default") == 0 ? 0 : strcmp(b->role, "collected") == 0 ? 1 : 2;
}

static json_t *rights(bool may_delete)
{
	return json_pack("{s:b, s:b, s:b, s:b}", "mayRead", 1, "mayWrite", 1, "mayShare", 0,
	                 "mayDelete", may_delete);
}

static json_t *book_json(const struct store_addressbook *b, const json_t *props)
{
	char id[32];
	snprintf(id, sizeof id, "D%" PRId64, b->id);
	bool is_default = strcmp(b->role, "default") == 0;
	json_t *o = json_pack("{s:s}", "id", id);
	if (o && jmap_want(props, "name"))
		json_object_set_new(o, "name", json_string(b->name));
	if (o && jmap_want(props, "description"))
		json_object_set_new(o, "description", json_null());
	if (o && jmap_want(props, "sortOrder"))
		json_object_set_new(o, "sortOrder", json_integer(sort_order(b)));
	if (o && jmap_want(props, "isDefault"))
		json_object_set_new(o, "isDefault", json_boolean(is_default));
	if (o && jmap_want(props, "isSubscribed"))
		json_object_set_new(o, "isSubscribed", json_true());
	if (o && jmap_want(props, "shareWith"))
		json_object_set_new(o, "shareWith", json_null());
	if (o && jmap_want(props, "myRights"))
		json_object_set_new(o, "myRights", rights(!is_default));
	return o;
}

static const char *const book_props[] = {"id",        "name",         "description", "sortOrder",
                                         "isDefault", "isSubscribed", "shareWith",   "myRights"};

void jmap_address_book_get(struct jmap_call *c)
{
	json_t *ids, *props;
	if (!jmap_get_args(c, &ids, &props) ||
	    !jmap_properties_known(c, props, book_props,
	                           sizeof book_props / sizeof book_props[0]) ||
	    !jmap_contacts_ready(c, jmap_address_book_get))
		return;
	struct books *l = malloc(sizeof *l);
	char state[BOOK_STATE_MAX];
	if (!l || load(c->acct, l, state) < 0) {
		free(l);
		jmap_error(c, "serverFail", "the address books could not be read");
		return;
	}
	json_t *list = json_array(), *not_found = json_array();
	if (!ids) {
		for (size_t i = 0; i < l->n; i++)
			json_array_append_new(list, book_json(&l->v[i], props));
	} else {
		size_t k;
		json_t *v;
		json_array_foreach(ids, k, v)
		{
			const char *id = jmap_created_id(c, json_string_value(v));
			int64_t n = 0;
			size_t i = l->n;
			if (id && jmap_id_parse(id, 'D', &n))
				for (i = 0; i < l->n && l->v[i].id != n; i++)
					;
			if (i < l->n)
				json_array_append_new(list, book_json(&l->v[i], props));
			else
				json_array_append(not_found, v);
		}
	}
	free(l);
	json_t *res =
	    json_pack("{s:O, s:s, s:o, s:o}", "accountId", json_object_get(c->args, "accountId"),
	              "state", state, "list", list, "notFound", not_found);
	if (res)
		jmap_reply(c, res);
	else
		jmap_error(c, "serverFail", "out of memory");
}

void jmap_address_book_changes(struct jmap_call *c)
{
	const char *since;
	size_t max_changes;
	if (!jmap_changes_args(c, &since, &max_changes) ||
	    !jmap_contacts_ready(c, jmap_address_book_changes))
		return;
	size_t len = 0;
	struct book_mark *old =
	    jmap_snapshot_get(c->acct->account_id, JMAP_SNAPSHOT_ADDRESSBOOK, since, &len);
	struct books *l = malloc(sizeof *l);
	char state[BOOK_STATE_MAX];
	if (!l || load(c->acct, l, state) < 0) {
		free(l);
		free(old);
		jmap_error(c, "serverFail", "the address books could not be read");
		return;
	}
	if (strcmp(since, state) != 0 && (!old || len % sizeof *old)) {
		free(l);
		free(old);
		jmap_error(c, "cannotCalculateChanges",
		           "the state is unknown (too old, or from before a restart); refetch");
		return;
	}
	size_t on = strcmp(since, state) == 0 ? 0 : len / sizeof *old;
	json_t *created = json_array(), *updated = json_array(), *destroyed = json_array();
	char id[32];
	for (size_t i = 0; i < l->n && strcmp(since, state) != 0; i++) {
		size_t k = 0;
		while (k < on && old[k].id != l->v[i].id)
			k++;
		snprintf(id, sizeof id, "D%" PRId64, l->v[i].id);
		if (k == on)
			json_array_append_new(created, json_string(id));
		else if (old[k].hash != book_hash(&l->v[i]))
			json_array_append_new(updated, json_string(id));
	}
	for (size_t k = 0; k < on; k++) {
		size_t i = 0;
		while (i < l->n && l->v[i].id != old[k].id)
			i++;
		if (i == l->n) {
			snprintf(id, sizeof id, "D%" PRId64, old[k].id);
			json_array_append_new(destroyed, json_string(id));
		}
	}
	free(l);
	free(old);
	size_t n = json_array_size(created) + json_array_size(updated) + json_array_size(destroyed);
	if (n > max_changes) {
		json_decref(created);
		json_decref(updated);
		json_decref(destroyed);
		jmap_error(c, "cannotCalculateChanges", "more changes than maxChanges; refetch");
		return;
	}
	json_t *res = json_pack("{s:O, s:s, s:s, s:b, s:n, s:o, s:o, s:o}", "accountId",
	                        json_object_get(c->args, "accountId"), "oldState", since,
	                        "newState", state, "hasMoreChanges", 0, "updatedProperties",
	                        "created", created, "updated", updated, "destroyed", destroyed);
	if (res)
		jmap_reply(c, res);
	else
		jmap_error(c, "serverFail", "out of memory");
}

/* ---- AddressBook/set ---- */

enum op_kind { OP_CREATE, OP_RENAME, OP_DESTROY };

struct op {
	enum op_kind kind;
	const char *key; /* creation id or AddressBook id (borrowed from args) */
	char name[STORE_ADDRESSBOOK_NAME_MAX + 1];
	int64_t id;
	bool remove_contents;
	int64_t account_id;
	int rc;
};

struct bset {
	struct jmap_call *c;
	struct op *ops;
	size_t n;
	char old_state[BOOK_STATE_MAX];
	json_t *not_created, *not_updated, *not_destroyed, *updated_plain;
};

static int has_card_cb(void *ud, const struct store_card *sc)
{
	(void)sc;
	*(bool *)ud = true;
	return -ECANCELED;
}

static int op_run(struct store_tx *tx, void *arg)
{
	struct op *o = arg;
	switch (o->kind) {
	case OP_CREATE:
		return store_addressbook_create(tx, o->account_id, o->name, &o->id);
	case OP_RENAME:
		return store_addressbook_rename(tx, o->account_id, o->id, o->name);
	case OP_DESTROY:
		if (!o->remove_contents) {
			bool any = false;
			int rc = store_card_list(store_tx_reader(tx), o->account_id, o->id, false,
			                         has_card_cb, &any);
			if (rc < 0 && rc != -ECANCELED)
				return rc;
			if (any)
				return -ENOTEMPTY;
		}
		return store_addressbook_destroy(tx, o->account_id, o->id);
	}
	return -EINVAL;
}

static int bset_run(struct store_tx *tx, void *arg)
{
	struct bset *x = arg;
	for (size_t i = 0; i < x->n; i++)
		x->ops[i].rc = store_tx_try(tx, op_run, &x->ops[i]);
	return 0;
}

static json_t *op_error(const struct op *o)
{
	switch (o->rc) {
	case -EEXIST:
		return jmap_set_error("invalidProperties", "another book has that name", "name");
	case -EINVAL:
		return jmap_set_error("invalidProperties", "not a name tern can keep", "name");
	case -ENOENT:
		return jmap_set_error("notFound", NULL, NULL);
	case -EBUSY:
		return jmap_set_error("forbidden", "the default address book stays", NULL);
	case -ENOTEMPTY:
		return jmap_set_error("addressBookHasContents", NULL, NULL);
	case -ENOSPC:
		return jmap_set_error("overQuota", "too many address books", NULL);
	default:
		return jmap_set_error("serverFail", "the store did not take the change", NULL);
	}
}

static void bset_free(struct bset *x)
{
	json_decref(x->not_created);
	json_decref(x->not_updated);
	json_decref(x->not_destroyed);
	json_decref(x->updated_plain);
	free(x->ops);
	free(x);
}

static void bset_answer(struct bset *x)
{
	struct jmap_call *c = x->c;
	json_t *created = json_object(), *updated = json_deep_copy(x->updated_plain),
	       *destroyed = json_array();
	for (size_t i = 0; i < x->n; i++) {
		struct op *o = &x->ops[i];
		json_t *into = o->kind == OP_CREATE   ? x->not_created
		               : o->kind == OP_RENAME ? x->not_updated
		                                      : x->not_destroyed;
		if (o->rc < 0) {
			json_object_set_new(into, o->key, op_error(o));
			continue;
		}
		char id[32];
		snprintf(id, sizeof id, "D%" PRId64, o->id);
		if (o->kind == OP_CREATE) {
			jmap_created_add(c, o->key, id);
			json_object_set_new(created, o->key,
			                    json_pack("{s:s, s:n, s:i, s:b, s:b, s:n, s:o}", "id",
			                              id, "description", "sortOrder", 2,
			                              "isDefault", 0, "isSubscribed", 1,
			                              "shareWith", "myRights", rights(true)));
		} else if (o->kind == OP_RENAME) {
			json_object_set_new(updated, o->key, json_null());
		} else {
			json_array_append_new(destroyed, json_string(o->key));
		}
	}
	struct books *l = malloc(sizeof *l);
	char state[BOOK_STATE_MAX];
	if (!l || load(c->acct, l, state) < 0) {
		free(l);
		json_decref(created);
		json_decref(updated);
		json_decref(destroyed);
		bset_free(x);
		jmap_error(c, "serverFail", "the address books could not be read");
		return;
	}
	free(l);
	json_t *res = jmap_set_response(c, x->old_state, state, created, updated, destroyed,
	                                x->not_created, x->not_updated, x->not_destroyed);
	bset_free(x);
	if (res)
		jmap_reply(c, res);
	else
		jmap_error(c, "serverFail", "out of memory");
}

static void bset_done(void *arg, int status)
{
	struct bset *x = arg;
	if (status < 0)
		for (size_t i = 0; i < x->n; i++)
			x->ops[i].rc = status;
	bset_answer(x);
}

/* What a create or update carries, checked: NULL when fine, else the
 * property at fault. name_out gets the name when one is given. */
static const char *check_props(json_t *o, const struct store_addressbook *b, char *name_out,
                               bool *has_name)
{
	const char *k;
	json_t *v;
	*has_name = false;
	json_object_foreach(o, k, v)
	{
		if (strcmp(k, "name") == 0) {
			const char *s = json_string_value(v);
			if (!s || !*s || strlen(s) > STORE_ADDRESSBOOK_NAME_MAX)
				return k;
			snprintf(name_out, STORE_ADDRESSBOOK_NAME_MAX + 1, "%s", s);
			*has_name = true;
		} else if (strcmp(k, "description") == 0 || strcmp(k, "shareWith") == 0) {
			if (!json_is_null(v))
				return k; /* tern keeps neither */
		} else if (strcmp(k, "isSubscribed") == 0) {
			if (!json_is_true(v))
				return k;
		} else if (strcmp(k, "isDefault") == 0) {
			bool is_default = b && strcmp(b->role, "default") == 0;
			if (!json_is_boolean(v) || json_is_true(v) != is_default)
				return k;
		} else if (strcmp(k, "sortOrder") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) != (b ? sort_order(b) : 2))
				return k;
		} else {
			return k; /* id, myRights (server-set) or unknown */
		}
	}
	return NULL;
}

void jmap_address_book_set(struct jmap_call *c)
{
	struct jmap_set_args a;
	if (!jmap_set_args(c, &a))
		return;
	json_t *remove = json_object_get(c->args, "onDestroyRemoveContents");
	if (remove && !json_is_boolean(remove)) {
		jmap_error(c, "invalidArguments", "onDestroyRemoveContents is a boolean");
		return;
	}
	if (!jmap_contacts_ready(c, jmap_address_book_set))
		return;
	struct bset *x = calloc(1, sizeof *x);
	struct books *l = malloc(sizeof *l);
	if (!x || !l || !(x->ops = calloc(a.total + 1, sizeof *x->ops)) ||
	    !(x->not_created = json_object()) || !(x->not_updated = json_object()) ||
	    !(x->not_destroyed = json_object()) || !(x->updated_plain = json_object()) ||
	    load(c->acct, l, x->old_state) < 0) {
		if (x)
			bset_free(x);
		free(l);
		jmap_error(c, "serverFail", "the address books could not be read");
		return;
	}
	x->c = c;
	if (a.if_in_state && strcmp(a.if_in_state, x->old_state) != 0) {
		bset_free(x);
		free(l);
		jmap_error(c, "stateMismatch", NULL);
		return;
	}
	const char *key;
	json_t *v;
	json_object_foreach(a.create, key, v)
	{
		struct op *o = &x->ops[x->n];
		bool has_name;
		const char *bad = json_is_object(v) ? check_props(v, NULL, o->name, &has_name) : "";
		if (bad || !has_name) {
			json_object_set_new(
			    x->not_created, key,
			    jmap_set_error("invalidProperties",
			                   bad ? "not a value tern can keep" : "a name is required",
			                   bad && *bad ? bad : "name"));
			continue;
		}
		o->kind = OP_CREATE;
		o->key = key;
		o->account_id = c->acct->account_id;
		x->n++;
	}
	json_object_foreach(a.update, key, v)
	{
		const char *id = jmap_created_id(c, key);
		int64_t n = 0;
		size_t i = l->n;
		if (id && jmap_id_parse(id, 'D', &n))
			for (i = 0; i < l->n && l->v[i].id != n; i++)
				;
		if (i == l->n) {
			json_object_set_new(x->not_updated, key,
			                    jmap_set_error("notFound", NULL, NULL));
			continue;
		}
		struct op *o = &x->ops[x->n];
		bool has_name;
		const char *bad =
		    json_is_object(v) ? check_props(v, &l->v[i], o->name, &has_name) : "";
		if (bad) {
			json_object_set_new(x->not_updated, key,
			                    jmap_set_error("invalidProperties",
			                                   "not a value tern can keep",
			                                   *bad ? bad : NULL));
			continue;
		}
		if (!has_name || strcmp(o->name, l->v[i].name) == 0) {
			json_object_set_new(x->updated_plain, key, json_null());
			continue;
		}
		o->kind = OP_RENAME;
		o->key = key;
		o->id = n;
		o->account_id = c->acct->account_id;
		x->n++;
	}
	size_t k;
	json_array_foreach(a.destroy, k, v)
	{
		const char *id = jmap_created_id(c, json_string_value(v));
		int64_t n = 0;
		size_t i = l->n;
		if (id && jmap_id_parse(id, 'D', &n))
			for (i = 0; i < l->n && l->v[i].id != n; i++)
				;
		if (i == l->n) {
			json_object_set_new(x->not_destroyed, json_string_value(v),
			                    jmap_set_error("notFound", NULL, NULL));
			continue;
		}
		struct op *o = &x->ops[x->n++];
		o->kind = OP_DESTROY;
		o->key = json_string_value(v);
		o->id = n;
		o->remove_contents = json_is_true(remove);
		o->account_id = c->acct->account_id;
	}
	free(l);
	if (x->n == 0) {
		bset_answer(x);
		return;
	}
	if (store_submit(c->acct->store, bset_run, bset_done, x) < 0)
		bset_done(x, -EAGAIN);
}
