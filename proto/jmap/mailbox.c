/* mailbox: Mailbox/get, Mailbox/changes, Mailbox/query and
 * Mailbox/queryChanges (RFC 8621 §2).
 *
 * A Mailbox is an IMAP mailbox of the account: id "F" + UIDVALIDITY (the
 * IMAP MAILBOXID), name the last segment of its path, parentId the
 * mailbox of the rest, role from its SPECIAL-USE (INBOX: "inbox"). All of
 * it is read on the loop's read view in one snapshot, so the methods
 * answer at once. The state is a hash of every mailbox's id, UIDVALIDITY,
 * HIGHESTMODSEQ (which every new, changed or expunged entry raises),
 * name, special use and subscription: when it is unchanged nothing is.
 *
 * Mailbox/changes: every state handed out by Mailbox/get or
 * Mailbox/changes is recorded with a snapshot (state_snapshots.h): per
 * mailbox its UIDVALIDITY, HIGHESTMODSEQ and a hash of what it shows
 * besides the counts (name, parentId, role, subscription). Created: in
 * now only; destroyed: in the snapshot only; updated: both, with another
 * HIGHESTMODSEQ or another hash. updatedProperties names the four counts
 * when no updated mailbox changed anything else (RFC 8621 §2.2), else
 * null. Past maxChanges the answer is exact too: changes go in
 * UIDVALIDITY order, and the intermediate state's snapshot is the new one
 * for the mailboxes up to the last sent, the old one beyond. A state not
 * recorded (too old, or from before a restart) gets
 * cannotCalculateChanges and the client refetches. */
#include "proto/jmap/methods.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto/jmap/state_snapshots.h"
#include "store/mailboxes.h"
#include "store/store.h"

#define STATE_MAX JMAP_MAILBOX_STATE_MAX
/* an intermediate state (Mailbox/changes past maxChanges): a state, "-", a counter */
#define INTERMEDIATE_MAX (JMAP_MAILBOX_STATE_MAX + 24)
#define MAX_FILTER_DEPTH 32

struct mbox {
	int64_t id;
	uint32_t uidvalidity;
	int64_t highestmodseq;
	char *path;       /* the IMAP name, "Archive/2026" */
	const char *name; /* its last segment (or the whole path: no parent) */
	const char *role; /* static, or NULL */
	int sort_order;
	bool subscribed;
	ssize_t parent; /* index, or -1 */
	struct store_mailbox_thread_counts n;
};

struct mbox_list {
	struct mbox *v;
	size_t n, cap;
	uint64_t hash; /* the state */
	int err;
};

static const struct {
	const char *attr;
	const char *role;
	int order;
} roles[] = {
    {"\\Drafts", "drafts", 3},   {"\\Sent", "sent", 4},           {"\\Archive", "archive", 5},
    {"\\Junk", "junk", 6},       {"\\Trash", "trash", 7},         {"\\All", "all", 8},
    {"\\Flagged", "flagged", 9}, {"\\Important", "important", 9},
};

/* The role of a special-use list ("\\Sent" or "\\Drafts \\Sent"): the first
 * one JMAP has a name for. */
static const char *role_of(const char *special_use, int *order)
{
	const char *p = special_use;
	while (p && *p) {
		while (*p == ' ')
			p++;
		size_t len = strcspn(p, " ");
		for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
			if (strlen(roles[i].attr) == len &&
			    strncasecmp(p, roles[i].attr, len) == 0) {
				*order = roles[i].order;
				return roles[i].role;
			}
		p += len;
	}
	return NULL;
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static int collect(void *ud, const struct store_mailbox *mb)
{
	struct mbox_list *l = ud;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct mbox *v = realloc(l->v, cap * sizeof *v);
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	struct mbox *m = &l->v[l->n];
	memset(m, 0, sizeof *m);
	m->path = strdup(mb->name);
	if (!m->path)
		return -ENOMEM;
	l->n++;
	m->id = mb->id;
	m->uidvalidity = mb->uidvalidity;
	m->highestmodseq = mb->highestmodseq;
	m->subscribed = mb->subscribed != 0;
	m->sort_order = 10;
	m->role = role_of(mb->special_use, &m->sort_order);
	if (strcmp(mb->name, "INBOX") == 0) {
		m->role = "inbox";
		m->sort_order = 1;
	}
	uint64_t h = l->hash;
	h = fnv1a(h, &mb->id, sizeof mb->id);
	h = fnv1a(h, &mb->uidvalidity, sizeof mb->uidvalidity);
	h = fnv1a(h, &mb->highestmodseq, sizeof mb->highestmodseq);
	h = fnv1a(h, mb->name, strlen(mb->name) + 1);
	h = fnv1a(h, mb->special_use, strlen(mb->special_use) + 1);
	h = fnv1a(h, &m->subscribed, sizeof m->subscribed);
	l->hash = h;
	return 0;
}

static void mbox_list_free(struct mbox_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].path);
	free(l->v);
}

/* Every mailbox of acct (with counts when asked), parents linked. 0 or
 * a negative errno. */
static int load(const struct jmap_account *acct, struct mbox_list *l, bool counts)
{
	memset(l, 0, sizeof *l);
	l->hash = 0xcbf29ce484222325ull;
	struct store_rd *rd = store_reader(acct->store);
	bool begun = store_read_begin(rd);
	int rc = store_mailbox_list(rd, acct->account_id, collect, l);
	for (size_t i = 0; rc >= 0 && counts && i < l->n; i++)
		rc = store_mailbox_thread_counts(rd, l->v[i].id, &l->v[i].n);
	store_read_end(rd, begun);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < l->n; i++) {
		struct mbox *m = &l->v[i];
		m->parent = -1;
		m->name = m->path;
		const char *slash = strrchr(m->path, '/');
		if (!slash)
			continue;
		size_t plen = (size_t)(slash - m->path);
		for (size_t j = 0; j < l->n; j++)
			if (j != i && strlen(l->v[j].path) == plen &&
			    strncmp(l->v[j].path, m->path, plen) == 0) {
				m->parent = (ssize_t)j;
				m->name = slash + 1;
				break;
			}
	}
	return 0;
}

static void state_string(const struct mbox_list *l, char *out)
{
	snprintf(out, STATE_MAX, "%016" PRIx64, l->hash);
}

/* One mailbox of a snapshot. */
struct mbox_mark {
	int64_t uidvalidity;
	int64_t highestmodseq;
	uint64_t shown; /* hash of name, parentId, role, isSubscribed */
};

static int by_uidvalidity(const void *x, const void *y)
{
	const struct mbox_mark *a = x, *b = y;
	return a->uidvalidity < b->uidvalidity ? -1 : a->uidvalidity > b->uidvalidity;
}

/* The snapshot of l, sorted by UIDVALIDITY; NULL when out of memory. */
static struct mbox_mark *marks_of(const struct mbox_list *l)
{
	struct mbox_mark *v = malloc((l->n ? l->n : 1) * sizeof *v);
	if (!v)
		return NULL;
	for (size_t i = 0; i < l->n; i++) {
		const struct mbox *m = &l->v[i];
		int64_t parent = m->parent < 0 ? 0 : l->v[m->parent].uidvalidity;
		uint64_t h = fnv1a(0xcbf29ce484222325ull, m->name, strlen(m->name) + 1);
		h = fnv1a(h, &parent, sizeof parent);
		h = fnv1a(h, m->role ? m->role : "", m->role ? strlen(m->role) + 1 : 1);
		h = fnv1a(h, &m->subscribed, sizeof m->subscribed);
		v[i] = (struct mbox_mark){
		    .uidvalidity = m->uidvalidity, .highestmodseq = m->highestmodseq, .shown = h};
	}
	if (l->n)
		qsort(v, l->n, sizeof *v, by_uidvalidity);
	return v;
}

/* Records marks as what state stands for. */
static void record(const struct jmap_account *a, const char *state, const struct mbox_mark *v,
                   size_t n)
{
	jmap_snapshot_put(a->account_id, JMAP_SNAPSHOT_MAILBOX, state, v, n * sizeof *v);
}

static void record_list(const struct jmap_account *a, const struct mbox_list *l, const char *state)
{
	struct mbox_mark *v = marks_of(l);
	if (v)
		record(a, state, v, l->n);
	free(v);
}

static json_t *rights(bool inbox)
{
	return json_pack("{s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b}", "mayReadItems", 1,
	                 "mayAddItems", 1, "mayRemoveItems", 1, "maySetSeen", 1, "maySetKeywords",
	                 1, "mayCreateChild", 1, "mayRename", !inbox, "mayDelete", !inbox,
	                 "maySubmit", 1);
}

static const char *const props[] = {
    "id",           "name",         "parentId",      "role",     "sortOrder",    "totalEmails",
    "unreadEmails", "totalThreads", "unreadThreads", "myRights", "isSubscribed",
};

static json_t *mbox_json(const struct mbox_list *l, const struct mbox *m, const json_t *want)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "id", jmap_id_json('F', m->uidvalidity));
	if (jmap_want(want, "name"))
		json_object_set_new(o, "name", json_string(m->name));
	if (jmap_want(want, "parentId"))
		json_object_set_new(o, "parentId",
		                    m->parent < 0 ? json_null()
		                                  : jmap_id_json('F', l->v[m->parent].uidvalidity));
	if (jmap_want(want, "role"))
		json_object_set_new(o, "role", m->role ? json_string(m->role) : json_null());
	if (jmap_want(want, "sortOrder"))
		json_object_set_new(o, "sortOrder", json_integer(m->sort_order));
	if (jmap_want(want, "totalEmails"))
		json_object_set_new(o, "totalEmails", json_integer(m->n.emails));
	if (jmap_want(want, "unreadEmails"))
		json_object_set_new(o, "unreadEmails", json_integer(m->n.unread_emails));
	if (jmap_want(want, "totalThreads"))
		json_object_set_new(o, "totalThreads", json_integer(m->n.threads));
	if (jmap_want(want, "unreadThreads"))
		json_object_set_new(o, "unreadThreads", json_integer(m->n.unread_threads));
	if (jmap_want(want, "myRights"))
		json_object_set_new(o, "myRights",
		                    rights(m->role && strcmp(m->role, "inbox") == 0));
	if (jmap_want(want, "isSubscribed"))
		json_object_set_new(o, "isSubscribed", json_boolean(m->subscribed));
	return o;
}

static const struct mbox *by_id(const struct mbox_list *l, const char *id)
{
	int64_t v;
	if (!jmap_id_parse(id, 'F', &v))
		return NULL;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].uidvalidity == v)
			return &l->v[i];
	return NULL;
}

static bool known_prop(const char *p)
{
	for (size_t i = 0; i < sizeof props / sizeof props[0]; i++)
		if (strcmp(props[i], p) == 0)
			return true;
	return false;
}

void jmap_mailbox_get(struct jmap_call *c)
{
	json_t *ids, *want;
	if (!jmap_get_args(c, &ids, &want))
		return;
	size_t i;
	json_t *v;
	json_array_foreach(want, i, v) if (!known_prop(json_string_value(v)))
	{
		jmap_error(c, "invalidArguments", "unknown property in properties");
		return;
	}
	struct mbox_list l;
	if (load(c->acct, &l, true) < 0) {
		mbox_list_free(&l);
		jmap_error(c, "serverFail", "the store could not be read");
		return;
	}
	char state[STATE_MAX];
	state_string(&l, state);
	record_list(c->acct, &l, state);
	json_t *list = json_array(), *not_found = json_array();
	if (ids) {
		json_array_foreach(ids, i, v)
		{
			const struct mbox *m = by_id(&l, json_string_value(v));
			json_array_append_new(m ? list : not_found,
			                      m ? mbox_json(&l, m, want) : json_incref(v));
		}
	} else {
		for (i = 0; i < l.n; i++)
			json_array_append_new(list, mbox_json(&l, &l.v[i], want));
	}
	mbox_list_free(&l);
	jmap_reply(c, json_pack("{s:O, s:s, s:o, s:o}", "accountId",
	                        json_object_get(c->args, "accountId"), "state", state, "list", list,
	                        "notFound", not_found));
}

/* accountId of a method that is not /get: false when it answered. */
static bool account_ok(struct jmap_call *c)
{
	json_t *a = json_object_get(c->args, "accountId");
	int64_t id;
	if (!json_is_string(a)) {
		jmap_error(c, "invalidArguments", "accountId must be a string");
		return false;
	}
	if (!jmap_id_parse(json_string_value(a), 'A', &id) || id != c->acct->account_id) {
		jmap_error(c, "accountNotFound", NULL);
		return false;
	}
	return true;
}

/* The mailboxes' state now into state, and whether it is since: else the
 * call is answered (serverFail, or cannotCalculateChanges: Mailbox/query
 * keeps no results, so only "nothing changed" can be said) and false
 * returned. */
static bool state_unchanged(struct jmap_call *c, const char *since, char state[STATE_MAX])
{
	struct mbox_list l;
	if (load(c->acct, &l, false) < 0) {
		mbox_list_free(&l);
		jmap_error(c, "serverFail", "the store could not be read");
		return false;
	}
	state_string(&l, state);
	mbox_list_free(&l);
	if (strcmp(since, state) != 0) {
		jmap_error(c, "cannotCalculateChanges", NULL);
		return false;
	}
	return true;
}

/* ---- Mailbox/changes ---- */

/* One step of the merge of the old and new snapshots: the next mailbox
 * in UIDVALIDITY order, from old (o), new (n) or both. */
struct step {
	const struct mbox_mark *o, *n;
};

static bool next_step(const struct mbox_mark *ov, size_t on, size_t *oi, const struct mbox_mark *nv,
                      size_t nn, size_t *ni, struct step *st)
{
	st->o = *oi < on ? &ov[*oi] : NULL;
	st->n = *ni < nn ? &nv[*ni] : NULL;
	if (!st->o && !st->n)
		return false;
	if (st->o && st->n && st->o->uidvalidity != st->n->uidvalidity) {
		if (st->o->uidvalidity < st->n->uidvalidity)
			st->n = NULL;
		else
			st->o = NULL;
	}
	if (st->o)
		(*oi)++;
	if (st->n)
		(*ni)++;
	return true;
}

void jmap_mailbox_changes(struct jmap_call *c)
{
	if (!account_ok(c))
		return;
	json_t *since = json_object_get(c->args, "sinceState");
	json_t *max = json_object_get(c->args, "maxChanges");
	if (!json_is_string(since) ||
	    (max && !json_is_null(max) && (!json_is_integer(max) || json_integer_value(max) < 1))) {
		jmap_error(c, "invalidArguments",
		           "sinceState must be a string, maxChanges a positive integer or null");
		return;
	}
	size_t limit = max && json_is_integer(max) ? (size_t)json_integer_value(max) : SIZE_MAX;
	/* taken before now is recorded, which could push it out of the ring */
	size_t len = 0;
	struct mbox_mark *old = jmap_snapshot_get(c->acct->account_id, JMAP_SNAPSHOT_MAILBOX,
	                                          json_string_value(since), &len);
	struct mbox_list l;
	if (load(c->acct, &l, false) < 0) {
		mbox_list_free(&l);
		free(old);
		jmap_error(c, "serverFail", "the store could not be read");
		return;
	}
	char state[STATE_MAX], new_state[INTERMEDIATE_MAX];
	state_string(&l, state);
	struct mbox_mark *now = marks_of(&l), *mid = NULL;
	size_t nn = l.n, on = 0, nmid = 0;
	mbox_list_free(&l);
	json_t *created = json_array(), *updated = json_array(), *destroyed = json_array();
	if (!now || !created || !updated || !destroyed)
		goto oom;
	record(c->acct, state, now, nn);
	if (strcmp(json_string_value(since), state) != 0) {
		if (!old || len % sizeof *old) {
			jmap_error(
			    c, "cannotCalculateChanges",
			    "the state is unknown (too old, or from before a restart); refetch");
			goto out;
		}
		on = len / sizeof *old;
	} else {
		free(old);
		old = malloc((nn ? nn : 1) * sizeof *old); /* nothing changed */
		if (!old)
			goto oom;
		memcpy(old, now, nn * sizeof *old);
		on = nn;
	}
	/* the intermediate snapshot, should maxChanges cut the answer */
	mid = malloc((on + nn + 1) * sizeof *mid);
	if (!mid)
		goto oom;
	size_t oi = 0, ni = 0, count = 0;
	bool only_counts = true, more = false;
	struct step st;
	while (next_step(old, on, &oi, now, nn, &ni, &st)) {
		json_t *to =
		    !st.o   ? created
		    : !st.n ? destroyed
		    : st.o->highestmodseq != st.n->highestmodseq || st.o->shown != st.n->shown
		        ? updated
		        : NULL;
		if (to && count == limit)
			more = true;
		if (to && !more) {
			count++;
			if (to == updated && st.o->shown != st.n->shown)
				only_counts = false;
			if (json_array_append_new(
			        to, jmap_id_json('F', (st.n ? st.n : st.o)->uidvalidity)) < 0)
				goto oom;
		}
		/* sent (or unchanged): the new one; not sent yet: the old one */
		const struct mbox_mark *keep = more ? st.o : st.n;
		if (keep)
			mid[nmid++] = *keep;
	}
	const char *answer_state = state;
	if (more) {
		if (jmap_snapshot_intermediate(state, new_state, sizeof new_state) < 0)
			goto oom;
		record(c->acct, new_state, mid, nmid);
		answer_state = new_state;
	}
	json_t *counts = json_array_size(updated) && only_counts
	                     ? json_pack("[s, s, s, s]", "totalEmails", "unreadEmails",
	                                 "totalThreads", "unreadThreads")
	                     : json_null();
	json_t *res =
	    json_pack("{s:O, s:s, s:s, s:b, s:o, s:o, s:o, s:o}", "accountId",
	              json_object_get(c->args, "accountId"), "oldState", json_string_value(since),
	              "newState", answer_state, "hasMoreChanges", more, "created", created,
	              "updated", updated, "destroyed", destroyed, "updatedProperties", counts);
	created = updated = destroyed = NULL;
	if (!res) {
		jmap_error(c, "serverFail", "out of memory");
		goto out;
	}
	jmap_reply(c, res);
	goto out;
oom:
	jmap_error(c, "serverFail", "out of memory");
out:
	json_decref(created);
	json_decref(updated);
	json_decref(destroyed);
	free(now);
	free(old);
	free(mid);
}

/* ---- Mailbox/query ---- */

/* A filter is checked whole before it is used: 0, or the error type. */
static const char *filter_check(const json_t *f, int depth)
{
	if (!json_is_object(f) || depth > MAX_FILTER_DEPTH)
		return "invalidArguments";
	json_t *op = json_object_get(f, "operator");
	if (op) {
		json_t *conds = json_object_get(f, "conditions");
		const char *o = json_string_value(op);
		if (!o || (strcmp(o, "AND") && strcmp(o, "OR") && strcmp(o, "NOT")) ||
		    !json_is_array(conds) || json_object_size(f) != 2)
			return "unsupportedFilter";
		size_t i;
		json_t *v;
		json_array_foreach(conds, i, v)
		{
			const char *e = filter_check(v, depth + 1);
			if (e)
				return e;
		}
		return NULL;
	}
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)f, k, v)
	{
		if (strcmp(k, "parentId") == 0 || strcmp(k, "role") == 0) {
			if (!json_is_null(v) && !json_is_string(v))
				return "invalidArguments";
		} else if (strcmp(k, "name") == 0) {
			if (!json_is_string(v))
				return "invalidArguments";
		} else if (strcmp(k, "hasAnyRole") == 0 || strcmp(k, "isSubscribed") == 0) {
			if (!json_is_boolean(v))
				return "invalidArguments";
		} else {
			return "unsupportedFilter";
		}
	}
	return NULL;
}

static bool contains_nocase(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (const char *p = hay; *p; p++)
		if (strncasecmp(p, needle, n) == 0)
			return true;
	return n == 0;
}

static bool filter_match(const struct mbox_list *l, const struct mbox *m, const json_t *f)
{
	json_t *op = json_object_get(f, "operator");
	if (op) {
		const char *o = json_string_value(op);
		json_t *conds = json_object_get(f, "conditions");
		size_t i;
		json_t *v;
		bool and = strcmp(o, "AND") == 0, or = strcmp(o, "OR") == 0;
		json_array_foreach(conds, i, v)
		{
			bool r = filter_match(l, m, v);
			if (and&&!r)
				return false;
			if (or &&r)
				return true;
			if (!and&&! or &&r) /* NOT: none may match */
				return false;
		}
		return ! or ;
	}
	json_t *v;
	if ((v = json_object_get(f, "parentId"))) {
		if (json_is_null(v)
		        ? m->parent >= 0
		        : (m->parent < 0 || by_id(l, json_string_value(v)) != &l->v[m->parent]))
			return false;
	}
	if ((v = json_object_get(f, "name")) && !contains_nocase(m->name, json_string_value(v)))
		return false;
	if ((v = json_object_get(f, "role"))) {
		if (json_is_null(v) ? m->role != NULL
		                    : (!m->role || strcmp(m->role, json_string_value(v)) != 0))
			return false;
	}
	if ((v = json_object_get(f, "hasAnyRole")) && json_is_true(v) != (m->role != NULL))
		return false;
	if ((v = json_object_get(f, "isSubscribed")) && json_is_true(v) != m->subscribed)
		return false;
	return true;
}

struct sort_key {
	bool by_name; /* else sortOrder */
	bool ascending;
};
#define MAX_SORT 4

static const struct mbox_list *sort_list;
static const struct sort_key *sort_keys;
static size_t nsort_keys;

static int compare(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	const struct mbox *x = &sort_list->v[i], *y = &sort_list->v[j];
	for (size_t k = 0; k < nsort_keys; k++) {
		int r = sort_keys[k].by_name
		            ? strcmp(x->name, y->name)
		            : (x->sort_order > y->sort_order) - (x->sort_order < y->sort_order);
		if (r)
			return sort_keys[k].ascending ? r : -r;
	}
	return (i > j) - (i < j); /* the list's own order */
}

/* filterAsTree: every ancestor of i matches too. */
static bool ancestors_match(const struct mbox_list *l, size_t i, const bool *match)
{
	size_t steps = 0;
	for (ssize_t p = l->v[i].parent; p >= 0 && steps <= l->n; p = l->v[p].parent, steps++)
		if (!match[p])
			return false;
	return true;
}

/* sortAsTree (RFC 8621 §2.3): idx[0..n), already sorted, reordered so
 * that each mailbox comes right after its parent (or, if the parent is
 * not among them, where it stands), siblings in their sorted order. */
static void tree_order(const struct mbox_list *l, size_t *idx, size_t n)
{
	size_t *out = malloc((n ? n : 1) * sizeof *out);
	size_t *stack = malloc((n ? n : 1) * sizeof *stack);
	bool *in = calloc(l->n ? l->n : 1, sizeof *in), *done = calloc(n ? n : 1, sizeof *done);
	if (!out || !stack || !in || !done)
		goto end; /* stays sorted flat */
	for (size_t i = 0; i < n; i++)
		in[idx[i]] = true;
	size_t k = 0;
	for (size_t r = 0; r < n; r++) {
		ssize_t p = l->v[idx[r]].parent;
		if (done[r] || (p >= 0 && in[p]))
			continue; /* a child: placed under its parent */
		size_t top = 0;
		stack[top++] = r;
		while (top) {
			size_t at = stack[--top];
			done[at] = true;
			out[k++] = idx[at];
			/* its children, pushed last-first so they pop in order */
			for (size_t j = n; j-- > 0;)
				if (!done[j] && l->v[idx[j]].parent == (ssize_t)idx[at])
					stack[top++] = j;
		}
	}
	for (size_t r = 0; r < n && k < n; r++) /* a cycle cannot be, but never lose one */
		if (!done[r])
			out[k++] = idx[r];
	memcpy(idx, out, n * sizeof *idx);
end:
	free(out);
	free(stack);
	free(in);
	free(done);
}

static bool nonneg_int(const json_t *v, int64_t *out, bool allow_negative)
{
	if (!v || json_is_null(v))
		return true;
	if (!json_is_integer(v) || (!allow_negative && json_integer_value(v) < 0))
		return false;
	*out = json_integer_value(v);
	return true;
}

void jmap_mailbox_query(struct jmap_call *c)
{
	if (!account_ok(c))
		return;
	json_t *filter = json_object_get(c->args, "filter");
	if (json_is_null(filter))
		filter = NULL;
	if (filter) {
		const char *e = filter_check(filter, 0);
		if (e) {
			jmap_error(c, e, "the filter is not one Mailbox/query takes");
			return;
		}
	}
	struct sort_key keys[MAX_SORT];
	size_t nkeys = 0;
	json_t *sort = json_object_get(c->args, "sort");
	if (sort && !json_is_null(sort)) {
		if (!json_is_array(sort) || json_array_size(sort) > MAX_SORT) {
			jmap_error(c, "invalidArguments", "sort must be an array of comparators");
			return;
		}
		size_t i;
		json_t *v;
		json_array_foreach(sort, i, v)
		{
			const char *p = json_string_value(json_object_get(v, "property"));
			json_t *asc = json_object_get(v, "isAscending");
			if (!p || (asc && !json_is_boolean(asc))) {
				jmap_error(c, "invalidArguments", "a comparator needs a property");
				return;
			}
			if (strcmp(p, "name") && strcmp(p, "sortOrder")) {
				jmap_error(c, "unsupportedSort",
				           "Mailbox/query sorts by name or sortOrder");
				return;
			}
			keys[nkeys++] =
			    (struct sort_key){strcmp(p, "name") == 0, !asc || json_is_true(asc)};
		}
	}
	json_t *sort_tree = json_object_get(c->args, "sortAsTree");
	json_t *filter_tree = json_object_get(c->args, "filterAsTree");
	if ((sort_tree && !json_is_boolean(sort_tree)) ||
	    (filter_tree && !json_is_boolean(filter_tree))) {
		jmap_error(c, "invalidArguments", "sortAsTree and filterAsTree are booleans");
		return;
	}
	int64_t position = 0, limit = -1, anchor_offset = 0;
	json_t *anchor = json_object_get(c->args, "anchor");
	json_t *total = json_object_get(c->args, "calculateTotal");
	if (!nonneg_int(json_object_get(c->args, "position"), &position, true) ||
	    !nonneg_int(json_object_get(c->args, "limit"), &limit, false) ||
	    !nonneg_int(json_object_get(c->args, "anchorOffset"), &anchor_offset, true) ||
	    (anchor && !json_is_null(anchor) && !json_is_string(anchor)) ||
	    (total && !json_is_boolean(total))) {
		jmap_error(c, "invalidArguments",
		           "position, anchor, anchorOffset, limit or "
		           "calculateTotal has the wrong type");
		return;
	}
	struct mbox_list l;
	if (load(c->acct, &l, false) < 0) {
		mbox_list_free(&l);
		jmap_error(c, "serverFail", "the store could not be read");
		return;
	}
	size_t *idx = malloc((l.n ? l.n : 1) * sizeof *idx), n = 0;
	if (!idx) {
		mbox_list_free(&l);
		jmap_error(c, "serverFail", "out of memory");
		return;
	}
	bool *match = calloc(l.n ? l.n : 1, sizeof *match);
	if (!match) {
		free(idx);
		mbox_list_free(&l);
		jmap_error(c, "serverFail", "out of memory");
		return;
	}
	for (size_t i = 0; i < l.n; i++)
		match[i] = !filter || filter_match(&l, &l.v[i], filter);
	for (size_t i = 0; i < l.n; i++)
		if (match[i] && (!json_is_true(filter_tree) || ancestors_match(&l, i, match)))
			idx[n++] = i;
	free(match);
	sort_list = &l;
	sort_keys = keys;
	nsort_keys = nkeys;
	qsort(idx, n, sizeof *idx, compare);
	if (json_is_true(sort_tree))
		tree_order(&l, idx, n);
	int64_t start = position;
	if (anchor && json_is_string(anchor)) {
		const struct mbox *a = by_id(&l, json_string_value(anchor));
		ssize_t at = -1;
		for (size_t i = 0; a && i < n; i++)
			if (&l.v[idx[i]] == a)
				at = (ssize_t)i;
		if (at < 0) {
			free(idx);
			mbox_list_free(&l);
			jmap_error(c, "anchorNotFound", NULL);
			return;
		}
		start = at + anchor_offset;
		if (start < 0)
			start = 0;
	} else if (start < 0) {
		start += (int64_t)n;
		if (start < 0)
			start = 0;
	}
	if (start > (int64_t)n)
		start = (int64_t)n;
	json_t *ids = json_array();
	for (size_t i = (size_t)start; i < n && (limit < 0 || (int64_t)(i - (size_t)start) < limit);
	     i++)
		json_array_append_new(ids, jmap_id_json('F', l.v[idx[i]].uidvalidity));
	char state[STATE_MAX];
	state_string(&l, state);
	json_t *res =
	    json_pack("{s:O, s:s, s:b, s:I, s:o}", "accountId",
	              json_object_get(c->args, "accountId"), "queryState", state,
	              "canCalculateChanges", 0, "position", (json_int_t)start, "ids", ids);
	if (res && json_is_true(total))
		json_object_set_new(res, "total", json_integer((json_int_t)n));
	free(idx);
	mbox_list_free(&l);
	jmap_reply(c, res);
}

void jmap_mailbox_query_changes(struct jmap_call *c)
{
	if (!account_ok(c))
		return;
	json_t *since = json_object_get(c->args, "sinceQueryState");
	if (!json_is_string(since)) {
		jmap_error(c, "invalidArguments", "sinceQueryState must be a string");
		return;
	}
	char state[STATE_MAX];
	if (!state_unchanged(c, json_string_value(since), state))
		return;
	jmap_reply(c, json_pack("{s:O, s:s, s:s, s:[], s:[]}", "accountId",
	                        json_object_get(c->args, "accountId"), "oldQueryState", state,
	                        "newQueryState", state, "removed", "added"));
}

int jmap_mailbox_state(const struct jmap_account *acct, char out[JMAP_MAILBOX_STATE_MAX])
{
	struct mbox_list l;
	int r = load(acct, &l, false);
	if (r == 0) {
		state_string(&l, out);
		record_list(acct, &l, out); /* Mailbox/set's oldState and newState */
	}
	mbox_list_free(&l);
	return r < 0 ? r : 0;
}
