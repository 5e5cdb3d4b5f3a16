/* sieve_script: the reading methods of JMAP for Sieve (RFC 9661):
 * SieveScript/get, /query, /changes and /validate, and the account's
 * script list and state they share with SieveScript/set
 * (sieve_script_set.c). Reads run on the loop's read view like every
 * JMAP read; the scripts are store/sieve.h's, the ones ManageSieve and
 * delivery see.
 *
 * The state. The store has no change log for scripts, only each one's
 * `updated` (a counter that grows per account with every put and every
 * activation change). The state is the newest `updated`, the number of
 * scripts and an order-free hash of their names. SieveScript/changes from
 * a state: the scripts updated after its newest value changed (or are
 * new); which of them are new is the subset whose names, with the
 * untouched ones, give the old count and hash. When no subset fits (a
 * script was destroyed, or too many changed to try them all) the answer is
 * cannotCalculateChanges, which RFC 8620 §5.2 allows: the client then
 * refetches the list. */
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

/* SieveScript/changes tries at most 2^this subsets of the changed scripts */
#define CHANGES_MAX_TRIED 12

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

static uint64_t name_hash(const char *name)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ull;
	}
	return h;
}

void jmap_sieve_state_of(const struct jmap_sieve_list *l, char *out)
{
	int64_t newest = 0;
	uint64_t h = 0;
	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i].updated > newest)
			newest = l->v[i].updated;
		h ^= name_hash(l->v[i].name);
	}
	snprintf(out, JMAP_SIEVE_STATE_MAX, "%" PRId64 "-%zu-%016" PRIx64, newest, l->n, h);
}

json_t *jmap_sieve_object(const struct store_sieve_script *s, const json_t *want)
{
	char id[JMAP_SIEVE_ID_MAX];
	json_t *o = json_object();
	jmap_sieve_id(s->name, id);
	json_object_set_new(o, "id", json_string(id));
	if (jmap_want(want, "name"))
		json_object_set_new(o, "name", json_string(s->name));
	if (jmap_want(want, "blobId")) {
		jmap_sieve_blob_id(s->name, s->updated, id);
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

static const struct store_sieve_script *find(const struct jmap_sieve_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].name, name) == 0)
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
			char name[STORE_SIEVE_NAME_MAX + 1];
			const struct store_sieve_script *s =
			    id && jmap_sieve_id_name(id, name) ? find(&l, name) : NULL;
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
		jmap_sieve_id(l.v[i].name, id);
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
	int64_t newest;
	size_t count;
	uint64_t hash;
};

static bool parse_state(const char *s, struct old_state *o)
{
	char tail;
	unsigned long long h;
	long long newest;
	size_t count;
	if (sscanf(s, "%lld-%zu-%16llx%c", &newest, &count, &h, &tail) != 3 || newest < 0)
		return false;
	o->newest = newest;
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
	/* the untouched scripts and the changed ones (by index into l) */
	size_t changed[CHANGES_MAX_TRIED], n_changed = 0, n_same = 0;
	uint64_t same_hash = 0;
	bool ok = parse_state(since, &o);
	for (size_t i = 0; ok && i < l.n; i++) {
		if (l.v[i].updated <= o.newest) {
			n_same++;
			same_hash ^= name_hash(l.v[i].name);
		} else if (n_changed < CHANGES_MAX_TRIED) {
			changed[n_changed++] = i;
		} else {
			ok = false;
		}
	}
	/* which of the changed ones existed before: a subset that fits */
	long fit = -1;
	for (unsigned long m = 0; ok && fit < 0 && m < (1ul << n_changed); m++) {
		uint64_t h = same_hash;
		size_t n = n_same;
		for (size_t k = 0; k < n_changed; k++)
			if (m & (1ul << k)) {
				h ^= name_hash(l.v[changed[k]].name);
				n++;
			}
		if (n == o.count && h == o.hash)
			fit = (long)m;
	}
	if (fit < 0 || n_changed > max_changes) {
		jmap_sieve_list_free(&l);
		jmap_error(c, "cannotCalculateChanges",
		           "a script was destroyed since, or the state is unknown: fetch the list "
		           "again");
		return;
	}
	json_t *created = json_array(), *updated = json_array();
	for (size_t k = 0; k < n_changed; k++) {
		char id[JMAP_SIEVE_ID_MAX];
		jmap_sieve_id(l.v[changed[k]].name, id);
		json_array_append_new(((unsigned long)fit & (1ul << k)) ? updated : created,
		                      json_string(id));
	}
	jmap_sieve_list_free(&l);
	jmap_reply(c, json_pack("{s:O, s:s, s:s, s:b, s:o, s:o, s:[]}", "accountId",
	                        json_object_get(c->args, "accountId"), "oldState", since,
	                        "newState", state, "hasMoreChanges", 0, "created", created,
	                        "updated", updated, "destroyed"));
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
	char type[128], fname[8], err[256];
	struct store_rd *rd = store_reader(c->acct->store);
	bool begun = store_read_begin(rd);
	int r = jmap_blob_read(rd, c->acct, blob_id, &text, type, sizeof type, fname, sizeof fname);
	store_read_end(rd, begun);
	json_t *error = NULL;
	if (r < 0) {
		buf_free(&text);
		jmap_server_fail(c, "reading the blob");
		return;
	}
	if (r == 0) {
		error = jmap_set_error("blobNotFound", "no such blob", NULL);
		json_object_set_new(error, "notFound", json_pack("[s]", blob_id));
	} else {
		r = sieve_check(text.data ? text.data : "", text.len, err, sizeof err);
		if (r == -ENOMEM) {
			buf_free(&text);
			jmap_server_fail(c, "out of memory");
			return;
		}
		if (r == -EFBIG)
			error = jmap_set_error("tooLarge", err, NULL);
		else if (r < 0)
			error = jmap_set_error("invalidSieve", err, NULL);
	}
	buf_free(&text);
	jmap_reply(c, json_pack("{s:O, s:o}", "accountId", json_object_get(c->args, "accountId"),
	                        "error", error ? error : json_null()));
}
