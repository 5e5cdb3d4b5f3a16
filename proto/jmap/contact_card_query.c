/* contact_card_query: ContactCard/query and /queryChanges (RFC 9610
 * §3.4, §3.5).
 *
 * An address book is small next to a mailbox (STORE_CARDS_MAX per
 * account), and the store keeps vCards, not their fields: a query reads
 * the account's cards, shows each as JSContact, filters and sorts them
 * in memory. Filter conditions: inAddressBook, uid, kind (exact; a card
 * without one is an individual), text (any name, nickname, address,
 * phone, organization or note), name, name/given, name/surname,
 * nickName, organization, email, phone, onlineService, note (each a
 * case-insensitive substring, as RFC 9610 asks), with the AND/OR/NOT
 * operators of RFC 8620 §5.5; the others (hasMember, address, the date
 * ranges) are unsupportedFilter. Sort: created, updated, name/given,
 * name/surname, and name (the full name). /queryChanges answers only
 * "nothing changed" (the same state) and else cannotCalculateChanges:
 * the client queries again. */
#include "proto/jmap/contact_card.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store/contacts.h"
#include "store/store.h"

#define FILTER_MAX_DEPTH 16

struct row {
	json_t *card;
	const char *key[4]; /* sort keys, one per comparator (borrowed from card) */
};

struct rows {
	struct row *v;
	size_t n, cap;
	bool oom;
};

static int rows_cb(void *ud, const struct store_card *sc)
{
	struct rows *r = ud;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		struct row *nv = realloc(r->v, cap * sizeof *nv);
		if (!nv) {
			r->oom = true;
			return -ENOMEM;
		}
		r->v = nv;
		r->cap = cap;
	}
	json_t *card = jmap_card_json(sc);
	if (!card) {
		r->oom = true;
		return -ENOMEM;
	}
	memset(&r->v[r->n], 0, sizeof r->v[r->n]);
	r->v[r->n++].card = card;
	return 0;
}

static bool has(const char *s, const char *needle)
{
	return s && strcasestr(s, needle) != NULL;
}

/* Whether a string value of a map's entries (key) holds needle. */
static bool map_has(json_t *card, const char *map, const char *key, const char *needle)
{
	const char *k;
	json_t *e;
	json_object_foreach(json_object_get(card, map), k, e)
	{
		if (has(json_string_value(json_object_get(e, key)), needle))
			return true;
	}
	return false;
}

static bool name_has(json_t *card, const char *needle)
{
	json_t *name = json_object_get(card, "name");
	if (has(json_string_value(json_object_get(name, "full")), needle))
		return true;
	size_t i;
	json_t *comp;
	json_array_foreach(json_object_get(name, "components"), i, comp)
	{
		if (has(json_string_value(json_object_get(comp, "value")), needle))
			return true;
	}
	return false;
}

/* Whether a name component of kind holds needle. */
static bool component_has(json_t *card, const char *kind, const char *needle)
{
	size_t i;
	json_t *comp;
	json_array_foreach(json_object_get(json_object_get(card, "name"), "components"), i, comp)
	{
		const char *k = json_string_value(json_object_get(comp, "kind"));
		if (k && strcmp(k, kind) == 0 &&
		    has(json_string_value(json_object_get(comp, "value")), needle))
			return true;
	}
	return false;
}

/* -1: the filter is not one tern knows (answered unsupportedFilter). */
static int match(json_t *card, json_t *f, int depth)
{
	if (!json_is_object(f) || depth > FILTER_MAX_DEPTH)
		return -1;
	json_t *op = json_object_get(f, "operator");
	if (op) {
		const char *o = json_string_value(op);
		json_t *conds = json_object_get(f, "conditions");
		if (!o || !json_is_array(conds) || json_object_size(f) != 2)
			return -1;
		bool and = strcmp(o, "AND") == 0, or = strcmp(o, "OR") == 0,
		     not = strcmp(o, "NOT") == 0;
		if (!and&&! or &&!not )
			return -1;
		bool any = false, all = true;
		size_t i;
		json_t *cond;
		json_array_foreach(conds, i, cond)
		{
			int m = match(card, cond, depth + 1);
			if (m < 0)
				return -1;
			any = any || m;
			all = all && m;
		}
		return and? all : or ? any : !any;
	}
	const char *k;
	json_t *v;
	json_object_foreach(f, k, v)
	{
		const char *s = json_string_value(v);
		if (!s)
			return -1;
		bool m;
		if (strcmp(k, "inAddressBook") == 0)
			m = json_is_true(
			    json_object_get(json_object_get(card, "addressBookIds"), s));
		else if (strcmp(k, "uid") == 0)
			m = strcmp(json_string_value(json_object_get(card, "uid")) ?: "", s) == 0;
		else if (strcmp(k, "email") == 0)
			m = map_has(card, "emails", "address", s);
		else if (strcmp(k, "name") == 0)
			m = name_has(card, s);
		else if (strcmp(k, "name/given") == 0)
			m = component_has(card, "given", s);
		else if (strcmp(k, "name/surname") == 0)
			m = component_has(card, "surname", s);
		else if (strcmp(k, "kind") == 0)
			m = strcmp(json_string_value(json_object_get(card, "kind")) ?: "individual",
			           s) == 0;
		else if (strcmp(k, "nickName") == 0)
			m = map_has(card, "nicknames", "name", s);
		else if (strcmp(k, "organization") == 0)
			m = map_has(card, "organizations", "name", s);
		else if (strcmp(k, "phone") == 0)
			m = map_has(card, "phones", "number", s);
		else if (strcmp(k, "onlineService") == 0)
			m = map_has(card, "onlineServices", "uri", s);
		else if (strcmp(k, "note") == 0)
			m = map_has(card, "notes", "note", s);
		else if (strcmp(k, "text") == 0)
			m = name_has(card, s) || map_has(card, "emails", "address", s) ||
			    map_has(card, "nicknames", "name", s) ||
			    map_has(card, "phones", "number", s) ||
			    map_has(card, "organizations", "name", s) ||
			    map_has(card, "notes", "note", s);
		else
			return -1;
		if (!m)
			return 0;
	}
	return 1;
}

/* The sort key of a card for a comparator's property; NULL when it has
 * none (those sort last). */
static const char *sort_key(json_t *card, const char *prop)
{
	if (strcmp(prop, "created") == 0 || strcmp(prop, "updated") == 0)
		return json_string_value(json_object_get(card, prop));
	json_t *name = json_object_get(card, "name");
	if (strcmp(prop, "name") == 0)
		return json_string_value(json_object_get(name, "full"));
	const char *kind = strcmp(prop, "name/given") == 0     ? "given"
	                   : strcmp(prop, "name/surname") == 0 ? "surname"
	                                                       : NULL;
	size_t i;
	json_t *comp;
	json_array_foreach(json_object_get(name, "components"), i, comp)
	{
		const char *k = json_string_value(json_object_get(comp, "kind"));
		if (kind && k && strcmp(k, kind) == 0)
			return json_string_value(json_object_get(comp, "value"));
	}
	/* no such component: the full name stands in */
	return json_string_value(json_object_get(name, "full"));
}

static bool sort_known(const char *p)
{
	return p &&
	       (strcmp(p, "created") == 0 || strcmp(p, "updated") == 0 || strcmp(p, "name") == 0 ||
	        strcmp(p, "name/given") == 0 || strcmp(p, "name/surname") == 0);
}

static bool ascending[4];
static size_t nkeys;

static int cmp_rows(const void *pa, const void *pb)
{
	const struct row *a = pa, *b = pb;
	for (size_t i = 0; i < nkeys; i++) {
		const char *x = a->key[i], *y = b->key[i];
		int r = !x && !y ? 0 : !x ? 1 : !y ? -1 : strcasecmp(x, y);
		if (r)
			return ascending[i] ? r : -r;
	}
	/* ties by id: the order a store gives them in */
	const char *ia = json_string_value(json_object_get(a->card, "id"));
	const char *ib = json_string_value(json_object_get(b->card, "id"));
	size_t la = strlen(ia), lb = strlen(ib);
	return la != lb ? (la < lb ? -1 : 1) : strcmp(ia, ib);
}

void jmap_contact_card_query(struct jmap_call *c)
{
	json_t *acct = json_object_get(c->args, "accountId");
	int64_t aid;
	if (!json_is_string(acct) || !jmap_id_parse(json_string_value(acct), 'A', &aid) ||
	    aid != c->acct->account_id) {
		jmap_error(c, json_is_string(acct) ? "accountNotFound" : "invalidArguments", NULL);
		return;
	}
	json_t *filter = json_object_get(c->args, "filter");
	json_t *sort = json_object_get(c->args, "sort");
	json_t *pos = json_object_get(c->args, "position");
	json_t *lim = json_object_get(c->args, "limit");
	json_t *anchor = json_object_get(c->args, "anchor");
	if ((filter && !json_is_null(filter) && !json_is_object(filter)) ||
	    (sort && !json_is_null(sort) && (!json_is_array(sort) || json_array_size(sort) > 4)) ||
	    (pos && !json_is_null(pos) && !json_is_integer(pos)) ||
	    (lim && !json_is_null(lim) && (!json_is_integer(lim) || json_integer_value(lim) < 0)) ||
	    (anchor && !json_is_null(anchor) && !json_is_string(anchor))) {
		jmap_error(c, "invalidArguments", "filter, sort, position, limit or anchor");
		return;
	}
	size_t i;
	json_t *comp;
	json_array_foreach(sort, i, comp)
	{
		json_t *asc = json_object_get(comp, "isAscending");
		if (!sort_known(json_string_value(json_object_get(comp, "property"))) ||
		    (asc && !json_is_boolean(asc))) {
			jmap_error(c, "unsupportedSort",
			           "created, updated, name, name/given, name/surname");
			return;
		}
	}
	if (!jmap_contacts_ready(c, jmap_contact_card_query))
		return;
	char state[JMAP_CARD_STATE_MAX];
	struct rows r = {0};
	int rc = jmap_card_state(c->acct, state);
	if (rc == 0)
		rc = store_card_list(store_reader(c->acct->store), c->acct->account_id, 0, true,
		                     rows_cb, &r);
	size_t kept = 0;
	bool bad_filter = false;
	for (size_t k = 0; k < r.n; k++) {
		int m = filter && !json_is_null(filter) ? match(r.v[k].card, filter, 0) : 1;
		if (m < 0)
			bad_filter = true;
		if (m == 1 && !bad_filter)
			r.v[kept++] = r.v[k];
		else
			json_decref(r.v[k].card);
	}
	r.n = kept;
	if (rc < 0 || bad_filter) {
		for (size_t k = 0; k < r.n; k++)
			json_decref(r.v[k].card);
		free(r.v);
		if (bad_filter)
			jmap_error(
			    c, "unsupportedFilter",
			    "inAddressBook, uid, kind, text, name, name/given, name/surname, "
			    "nickName, organization, email, phone, onlineService, note; "
			    "AND/OR/NOT");
		else
			jmap_error(c, "serverFail",
			           r.oom ? "out of memory" : "the store could not be read");
		return;
	}
	nkeys = json_array_size(sort);
	for (size_t s = 0; s < nkeys; s++) {
		json_t *cmp = json_array_get(sort, s);
		json_t *asc = json_object_get(cmp, "isAscending");
		ascending[s] = !asc || json_is_true(asc);
		const char *prop = json_string_value(json_object_get(cmp, "property"));
		for (size_t k = 0; k < r.n; k++)
			r.v[k].key[s] = sort_key(r.v[k].card, prop);
	}
	if (r.n > 1)
		qsort(r.v, r.n, sizeof *r.v, cmp_rows);
	int64_t start = json_is_integer(pos) ? json_integer_value(pos) : 0;
	if (start < 0)
		start = (int64_t)r.n + start < 0 ? 0 : (int64_t)r.n + start;
	bool anchor_missing = false;
	if (json_is_string(anchor)) {
		const char *want = json_string_value(anchor);
		size_t k = 0;
		while (k < r.n &&
		       strcmp(json_string_value(json_object_get(r.v[k].card, "id")), want))
			k++;
		anchor_missing = k == r.n;
		json_t *off = json_object_get(c->args, "anchorOffset");
		int64_t o = json_is_integer(off) ? json_integer_value(off) : 0;
		start = (int64_t)k + o < 0 ? 0 : (int64_t)k + o;
	}
	json_t *ids = json_array();
	size_t limit = json_is_integer(lim) ? (size_t)json_integer_value(lim) : SIZE_MAX;
	for (size_t k = (size_t)start; k < r.n && json_array_size(ids) < limit; k++)
		json_array_append(ids, json_object_get(r.v[k].card, "id"));
	size_t total = r.n;
	for (size_t k = 0; k < r.n; k++)
		json_decref(r.v[k].card);
	free(r.v);
	if (anchor_missing) {
		json_decref(ids);
		jmap_error(c, "anchorNotFound", NULL);
		return;
	}
	json_t *res =
	    json_pack("{s:O, s:s, s:b, s:I, s:o}", "accountId", acct, "queryState", state,
	              "canCalculateChanges", 0, "position", (json_int_t)start, "ids", ids);
	if (res && json_is_true(json_object_get(c->args, "calculateTotal")))
		json_object_set_new(res, "total", json_integer((json_int_t)total));
	if (res)
		jmap_reply(c, res);
	else
		jmap_error(c, "serverFail", "out of memory");
}

void jmap_contact_card_query_changes(struct jmap_call *c)
{
	json_t *acct = json_object_get(c->args, "accountId");
	int64_t aid;
	const char *since = json_string_value(json_object_get(c->args, "sinceQueryState"));
	if (!json_is_string(acct) || !since) {
		jmap_error(c, "invalidArguments", "accountId and sinceQueryState are strings");
		return;
	}
	if (!jmap_id_parse(json_string_value(acct), 'A', &aid) || aid != c->acct->account_id) {
		jmap_error(c, "accountNotFound", NULL);
		return;
	}
	char state[JMAP_CARD_STATE_MAX];
	if (jmap_card_state(c->acct, state) < 0) {
		jmap_error(c, "serverFail", "the store could not be read");
		return;
	}
	if (strcmp(state, since) != 0) {
		jmap_error(c, "cannotCalculateChanges", "query again");
		return;
	}
	json_t *res = json_pack("{s:O, s:s, s:s, s:[], s:[]}", "accountId", acct, "oldQueryState",
	                        since, "newQueryState", state, "removed", "added");
	if (res)
		jmap_reply(c, res);
	else
		jmap_error(c, "serverFail", "out of memory");
}
