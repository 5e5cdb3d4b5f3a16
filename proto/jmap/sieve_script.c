/* sieve_script: the reading methods of JMAP for Sieve (RFC 9661):
 * SieveScript/get, /query, /changes and /validate, and the account's
 * script list and state they share with SieveScript/set
 * (sieve_script_set.c). Reads run on the loop's read view like every
 * JMAP read; the scripts are store/sieve.h's, the ones ManageSieve and
 * delivery see.
 *
 * The state. The store has no change log for scripts, only each one's
 * id (never reused, each new one above all before: AUTOINCREMENT) and
 * `updated` (a counter that grows per account with every put, rename and
 * activation change). The state is the newest `updated`, the number of
 * scripts, the highest id and an order-free hash of the ids.
 * SieveScript/changes from a state: a script whose id is above the
 * state's highest was created since; one at or below it existed then,
 * and was updated since when its `updated` is newer than the state's
 * newest. The scripts at or below the highest id must be as many, and
 * hash the same, as the state says: otherwise one was destroyed (or the
 * state is not one of ours), which the state cannot name, and the answer
 * is cannotCalculateChanges, which RFC 8620 §5.2 allows: the client then
 * refetches the list. A rename keeps the id, so it is an update. */
#include "proto/jmap/methods.h"
#include "proto/jmap/sieve_script.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "proto/jmap/blob_read.h"
#include "proto/jmap/email_common.h"
#include "sieve/sieve.h"
#include "store/store.h"

/* ---- the list and the state ---- */

static int list_one(void *ud, const struct store_sieve_script *s)
{
	struct jmap_sieve_list *l = ud;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct store_sieve_script *v = realloc(l->v, cap * sizeof *v);
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *s;
	return 0;
}

int jmap_sieve_list_read(struct store_rd *rd, int64_t account_id, struct jmap_sieve_list *out)
{
	*out = (struct jmap_sieve_list){0};
	return store_sieve_list(rd, account_id, list_one, out);
}

void jmap_sieve_list_free(struct jmap_sieve_list *l)
{
	free(l->v);
	*l = (struct jmap_sieve_list){0};
}

/* FNV-1a of the id's eight bytes: xor-ed over a set, an order-free
 * digest of it. */
static uint64_t id_hash(int64_t id)
{
	uint64_t h = 0xcbf29ce484222325ull, v = (uint64_t)id;
	for (int i = 0; i < 8; i++, v >>= 8) {
		h ^= v & 0xff;
		h *= 0x100000001b3ull;
	}
	return h;
}

void jmap_sieve_state_of(const struct jmap_sieve_list *l, char *out)
{
	int64_t newest = 0, highest = 0;
	uint64_t h = 0;
	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i].updated > newest)
			newest = l->v[i].updated;
		if (l->v[i].id > highest)
			highest = l->v[i].id;
		h ^= id_hash(l->v[i].id);
	}
	snprintf(out, JMAP_SIEVE_STATE_MAX, "%" PRId64 "-%zu-%" PRId64 "-%016" PRIx64, newest, l->n,
	         highest, h);
}

json_t *jmap_sieve_object(const struct store_sieve_script *s, const json_t *want)
{
	char id[JMAP_SIEVE_ID_MAX];
	json_t *o = json_object();
	jmap_sieve_id(s->id, id);
	json_object_set_new(o, "id", json_string(id));
	if (jmap_want(want, "name"))
		json_object_set_new(o, "name", json_string(s->name));
	if (jmap_want(want, "blobId")) {
		jmap_sieve_blob_id(s->id, s->updated, id);
		json_object_set_new(o, "blobId", json_string(id));
	}
	if (jmap_want(want, "isActive"))
		json_object_set_new(o, "isActive", json_boolean(s->active));
	return o;
}

/* The account's scripts into l, or false after answering serverFail. */
static bool read_list(struct jmap_call *c, struct jmap_sieve_list *l)
{
	struct store_rd *rd = store_reader(c->acct->store);
	bool begun = store_read_begin(rd);
	int r = jmap_sieve_list_read(rd, c->acct->account_id, l);
	store_read_end(rd, begun);
	if (r < 0) {
		jmap_sieve_list_free(l);
		jmap_server_fail(c, "reading the Sieve scripts");
		return false;
	}
	return true;
}

static const struct store_sieve_script *find(const struct jmap_sieve_list *l, int64_t id)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].id == id)
			return &l->v[i];
	return NULL;
}

/* ---- SieveScript/get ---- */

void jmap_sieve_script_get(struct jmap_call *c)
{
	static const char *const known[] = {"id", "name", "blobId", "isActive"};
	json_t *ids, *want;
	struct jmap_sieve_list l;
	if (!jmap_get_args(c, &ids, &want) ||
	    !jmap_properties_known(c, want, known, sizeof known / sizeof known[0]) ||
	    !read_list(c, &l))
		return;
	json_t *list = json_array(), *not_found = json_array();
	if (!ids) {
		for (size_t i = 0; i < l.n; i++)
			json_array_append_new(list, jmap_sieve_object(&l.v[i], want));
	} else {
		size_t i;
		json_t *v;
		json_array_foreach(ids, i, v)
		{
			const char *id = jmap_created_id(c, json_string_value(v));
			int64_t n;
			const struct store_sieve_script *s =
			    id && jmap_sieve_id_parse(id, &n) ? find(&l, n) : NULL;
			if (s)
				json_array_append_new(list, jmap_sieve_object(s, want));
			else
				json_array_append(not_found, v);
		}
	}
	char state[JMAP_SIEVE_STATE_MAX];
	jmap_sieve_state_of(&l, state);
	jmap_sieve_list_free(&l);
	jmap_reply(c, json_pack("{s:O, s:s, s:o, s:o}", "accountId",
	                        json_object_get(c->args, "accountId"), "state", state, "list", list,
	                        "notFound", not_found));
}

/* ---- SieveScript/query ---- */

struct query {
	const char *name_contains; /* NULL: any */
	int is_active;             /* -1 any, 0, 1 */
	const char *sort_by;       /* "name" or "isActive" (then name) */
	bool ascending;
};

static struct query query_now; /* for qsort's comparator: one loop thread */

static int compare(const void *a, const void *b)
{
	const struct store_sieve_script *x = a, *y = b;
	int d = 0;
	if (strcmp(query_now.sort_by, "isActive") == 0)
		d = (int)x->active - (int)y->active;
	if (d == 0)
		d = strcmp(x->name, y->name);
	return query_now.ascending ? d : -d;
}

/* Reads filter and sort into q; false after answering the call. */
static bool query_args(struct jmap_call *c, struct query *q)
{
	*q = (struct query){NULL, -1, "name", true};
	json_t *filter = json_object_get(c->args, "filter");
	if (filter && !json_is_null(filter)) {
		if (!json_is_object(filter)) {
			jmap_error(c, "invalidArguments", "filter is a FilterCondition");
			return false;
		}
		const char *key;
		json_t *v;
		json_object_foreach(filter, key, v)
		{
			if (!strcmp(key, "name") && json_is_string(v)) {
				q->name_contains = json_string_value(v);
			} else if (!strcmp(key, "isActive") && json_is_boolean(v)) {
				q->is_active = json_is_true(v);
			} else {
				jmap_error(c, "unsupportedFilter",
				           "the filter conditions are name (a string) and isActive "
				           "(a boolean)");
				return false;
			}
		}
	}
	json_t *sort = json_object_get(c->args, "sort");
	if (sort && !json_is_null(sort)) {
		if (!json_is_array(sort) || json_array_size(sort) > 1) {
			jmap_error(c, "unsupportedSort", "sort by one of name or isActive");
			return false;
		}
		json_t *s = json_array_get(sort, 0);
		const char *prop = json_string_value(json_object_get(s, "property"));
		json_t *asc = json_object_get(s, "isAscending");
		if (s && (!prop || (strcmp(prop, "name") && strcmp(prop, "isActive")) ||
		          (asc && !json_is_boolean(asc)))) {
			jmap_error(c, "unsupportedSort", "sort by one of name or isActive");
			return false;
		}
		if (s) {
			q->sort_by = prop;
			q->ascending = !asc || json_is_true(asc);
		}
	}
	return true;
}

static json_int_t int_arg(struct jmap_call *c, const char *name, json_int_t dflt, bool *ok)
{
	json_t *v = json_object_get(c->args, name);
	if (!v || json_is_null(v))
		return dflt;
	if (!json_is_integer(v)) {
		*ok = false;
		return 0;
	}
	return json_integer_value(v);
}

void jmap_sieve_script_query(struct jmap_call *c)
{
	struct query q;
	if (!jmap_email_account_ok(c) || !query_args(c, &q))
		return;
	bool ok = true;
	json_int_t position = int_arg(c, "position", 0, &ok);
	json_int_t limit = int_arg(c, "limit", -1, &ok);
	json_t *anchor = json_object_get(c->args, "anchor");
	if (!ok || (json_is_integer(json_object_get(c->args, "limit")) && limit < 0) ||
	    (anchor && !json_is_null(anchor))) {
		jmap_error(c, "invalidArguments",
		           "position and limit are integers, limit not negative; anchor is not "
		           "supported");
		return;
	}
	struct jmap_sieve_list l;
	if (!read_list(c, &l))
		return;
	char state[JMAP_SIEVE_STATE_MAX];
	jmap_sieve_state_of(&l, state);
	size_t kept = 0;
	for (size_t i = 0; i < l.n; i++) {
		const struct store_sieve_script *s = &l.v[i];
		if (q.name_contains && !strstr(s->name, q.name_contains))
			continue;
		if (q.is_active >= 0 && (int)s->active != q.is_active)
			continue;
		l.v[kept++] = *s;
	}
	query_now = q;
	if (kept > 1)
		qsort(l.v, kept, sizeof *l.v, compare);
	/* RFC 8620 §5.5: a negative position counts from the end */
	if (position < 0)
		position = (json_int_t)kept + position < 0 ? 0 : (json_int_t)kept + position;
	if (position > (json_int_t)kept)
		position = (json_int_t)kept;
	json_t *ids = json_array();
	for (size_t i = (size_t)position; i < kept; i++) {
		if (limit >= 0 && (json_int_t)json_array_size(ids) >= limit)
			break;
		char id[JMAP_SIEVE_ID_MAX];
		jmap_sieve_id(l.v[i].id, id);
		json_array_append_new(ids, json_string(id));
	}
	jmap_sieve_list_free(&l);
	json_t *res = json_pack("{s:O, s:s, s:b, s:I, s:o}", "accountId",
	                        json_object_get(c->args, "accountId"), "queryState", state,
	                        "canCalculateChanges", 0, "position", position, "ids", ids);
	if (json_is_true(json_object_get(c->args, "calculateTotal")))
		json_object_set_new(res, "total", json_integer((json_int_t)kept));
	if (limit >= 0)
		json_object_set_new(res, "limit", json_integer(limit));
	jmap_reply(c, res);
}

/* ---- SieveScript/changes ---- */

struct old_state {
	int64_t newest, highest;
	size_t count;
	uint64_t hash;
};

static bool parse_state(const char *s, struct old_state *o)
{
	char tail;
	unsigned long long h;
	long long newest, highest;
	size_t count;
	if (sscanf(s, "%lld-%zu-%lld-%16llx%c", &newest, &count, &highest, &h, &tail) != 4 ||
	    newest < 0 || highest < 0)
		return false;
	o->newest = newest;
	o->highest = highest;
	o->count = count;
	o->hash = h;
	return true;
}

void jmap_sieve_script_changes(struct jmap_call *c)
{
	const char *since;
	size_t max_changes;
	struct jmap_sieve_list l;
	if (!jmap_changes_args(c, &since, &max_changes) || !read_list(c, &l))
		return;
	char state[JMAP_SIEVE_STATE_MAX];
	jmap_sieve_state_of(&l, state);
	struct old_state o;
	bool known = parse_state(since, &o);
	json_t *created = json_array(), *updated = json_array();
	size_t n_old = 0;
	uint64_t old_hash = 0;
	for (size_t i = 0; known && i < l.n; i++) {
		const struct store_sieve_script *s = &l.v[i];
		char id[JMAP_SIEVE_ID_MAX];
		jmap_sieve_id(s->id, id);
		if (s->id > o.highest) {
			json_array_append_new(created, json_string(id));
			continue;
		}
		n_old++;
		old_hash ^= id_hash(s->id);
		if (s->updated > o.newest)
			json_array_append_new(updated, json_string(id));
	}
	jmap_sieve_list_free(&l);
	/* the scripts of then that are still here must be all of them */
	if (!known || n_old != o.count || old_hash != o.hash ||
	    json_array_size(created) + json_array_size(updated) > max_changes) {
		json_decref(created);
		json_decref(updated);
		jmap_error(c, "cannotCalculateChanges",
		           "a script was destroyed since, or the state is unknown: fetch the list "
		           "again");
		return;
	}
	jmap_reply(c, json_pack("{s:O, s:s, s:s, s:b, s:o, s:o, s:[]}", "accountId",
	                        json_object_get(c->args, "accountId"), "oldState", since,
	                        "newState", state, "hasMoreChanges", 0, "created", created,
	                        "updated", updated, "destroyed"));
}

/* ---- a script's content, read and checked ---- */

json_t *jmap_sieve_content(struct jmap_call *c, const char *blob_id, const char *property,
                           struct buf *text)
{
	char type[128], fname[8], err[256];
	struct store_rd *rd = store_reader(c->acct->store);
	bool begun = store_read_begin(rd);
	int r = jmap_blob_read(rd, c->acct, blob_id, text, type, sizeof type, fname, sizeof fname);
	store_read_end(rd, begun);
	json_t *e = NULL;
	if (r < 0) {
		e = jmap_set_error("serverFail", "the blob could not be read", NULL);
	} else if (r == 0) {
		e = jmap_set_error("blobNotFound", "no such blob", property);
		json_object_set_new(e, "notFound", json_pack("[s]", blob_id));
	} else if ((r = sieve_check(text->data ? text->data : "", text->len, err, sizeof err)) <
	           0) {
		e = r == -EFBIG    ? jmap_set_error("tooLarge", err, property)
		    : r == -ENOMEM ? jmap_set_error("serverFail", err, NULL)
		                   : jmap_set_error("invalidSieve", err, property);
	}
	if (e)
		buf_free(text);
	return e;
}

/* ---- SieveScript/validate ---- */

void jmap_sieve_script_validate(struct jmap_call *c)
{
	if (!jmap_email_account_ok(c))
		return;
	const char *blob_id = json_string_value(json_object_get(c->args, "blobId"));
	if (!blob_id) {
		jmap_error(c, "invalidArguments", "blobId is a string");
		return;
	}
	struct buf text = {0};
	json_t *error = jmap_sieve_content(c, blob_id, NULL, &text);
	buf_free(&text);
	jmap_reply(c, json_pack("{s:O, s:o}", "accountId", json_object_get(c->args, "accountId"),
	                        "error", error ? error : json_null()));
}
