/* email_changes: Email/changes and Thread/changes (RFC 8620 §5.2, RFC
 * 8621 §3.2, §4.3), and the Email/Thread state string every method hands
 * out (jmap_email_state), recorded with its snapshot.
 *
 * A snapshot is the account's mailbox marks when the state was read
 * (store/changes.h); the store tells which messages (threads) were
 * touched since and whether each existed then and exists now: created,
 * updated or destroyed.
 *
 * maxChanges. When more changed than the client takes, the answer is an
 * intermediate state (hasMoreChanges: true) that is exact, not a guess:
 * the changes are ordered by id, the first maxChanges of them are sent,
 * and the intermediate state is a snapshot in segments by id: ids up to
 * the last one sent are at "now", the rest still at the old snapshot.
 * The next call from it asks the store once per segment (each with its own
 * marks, all on one read view) and keeps from each answer the ids of that
 * segment. Every id is thus always judged against real marks, so no
 * change is lost or invented across the steps. Thread/changes cuts by
 * thread id; an Email/changes from a state cut by thread id cuts by
 * thread too (an Email's segment is its thread's), while a Thread/changes
 * from a state cut by Email id cannot be answered (one thread would sit in
 * two segments): cannotCalculateChanges. A snapshot holds at most
 * MAX_SEGMENTS segments, and a single thread with more changes than
 * maxChanges cannot be cut: cannotCalculateChanges there too. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/jmap/email_common.h"
#include "proto/jmap/email_methods.h"
#include "proto/jmap/state_snapshots.h"
#include "store/changes.h"
#include "store/store.h"

#define MAX_SEGMENTS 8

enum split { SPLIT_NONE, SPLIT_EMAIL, SPLIT_THREAD };

/* The snapshot's bytes: a head, then per segment its head and marks. */
struct snap_head {
	int64_t split;
	int64_t nseg;
};
struct seg_head {
	int64_t upto; /* the segment holds ids <= upto (above the one before) */
	int64_t n;    /* marks */
};

struct segment {
	int64_t upto;
	const struct store_mailbox_mark *marks;
	size_t n;
};

static void *encode(enum split split, const struct segment *segs, size_t nseg, size_t *len)
{
	size_t total = sizeof(struct snap_head);
	for (size_t i = 0; i < nseg; i++)
		total += sizeof(struct seg_head) + segs[i].n * sizeof *segs[i].marks;
	unsigned char *b = malloc(total), *p = b;
	if (!b)
		return NULL;
	struct snap_head h = {.split = split, .nseg = (int64_t)nseg};
	memcpy(p, &h, sizeof h);
	p += sizeof h;
	for (size_t i = 0; i < nseg; i++) {
		struct seg_head sh = {.upto = segs[i].upto, .n = (int64_t)segs[i].n};
		memcpy(p, &sh, sizeof sh);
		p += sizeof sh;
		if (segs[i].n)
			memcpy(p, segs[i].marks, segs[i].n * sizeof *segs[i].marks);
		p += segs[i].n * sizeof *segs[i].marks;
	}
	*len = total;
	return b;
}

/* The segments of a snapshot (pointing into data, which is 8-aligned
 * from malloc). false when it is malformed. */
static bool decode(const void *data, size_t len, enum split *split, struct segment *segs,
                   size_t *nseg)
{
	const unsigned char *p = data, *end = p + len;
	struct snap_head h;
	if (len < sizeof h)
		return false;
	memcpy(&h, p, sizeof h);
	p += sizeof h;
	if (h.nseg < 1 || h.nseg > MAX_SEGMENTS || h.split < SPLIT_NONE || h.split > SPLIT_THREAD)
		return false;
	for (int64_t i = 0; i < h.nseg; i++) {
		struct seg_head sh;
		if ((size_t)(end - p) < sizeof sh)
			return false;
		memcpy(&sh, p, sizeof sh);
		p += sizeof sh;
		if (sh.n < 0 ||
		    (size_t)sh.n > (size_t)(end - p) / sizeof(struct store_mailbox_mark))
			return false;
		segs[i] = (struct segment){.upto = sh.upto,
		                           .marks = (const struct store_mailbox_mark *)p,
		                           .n = (size_t)sh.n};
		p += (size_t)sh.n * sizeof(struct store_mailbox_mark);
	}
	*split = (enum split)h.split;
	*nseg = (size_t)h.nseg;
	return p == end;
}

/* The state of marks into out, recorded as a snapshot of one segment. */
static int state_of(const struct jmap_account *a, const struct store_mailbox_mark *marks, size_t n,
                    char *out)
{
	int r = store_marks_state(marks, n, out, STORE_EMAIL_STATE_MAX);
	if (r < 0)
		return r;
	struct segment seg = {.upto = INT64_MAX, .marks = marks, .n = n};
	size_t len;
	void *data = encode(SPLIT_NONE, &seg, 1, &len);
	if (data)
		jmap_snapshot_put(a->account_id, JMAP_SNAPSHOT_EMAIL, out, data, len);
	free(data);
	return 0;
}

int jmap_email_state(const struct jmap_account *a, char *out)
{
	struct store_mailbox_mark *marks;
	size_t n;
	int r = store_mailbox_marks(store_reader(a->store), a->account_id, &marks, &n);
	if (r < 0)
		return r;
	r = state_of(a, marks, n, out);
	free(marks);
	return r;
}

struct keyed {
	int64_t key; /* the id the segments are cut by */
	struct store_change ch;
};

static int by_key(const void *x, const void *y)
{
	const struct keyed *a = x, *b = y;
	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	return a->ch.id < b->ch.id ? -1 : a->ch.id > b->ch.id;
}

/* Everything of the request that is known before the store is read. */
struct changes_ctx {
	struct jmap_call *c;
	bool threads;
	size_t max; /* SIZE_MAX: no maxChanges */
	const char *since;
	char now[STORE_EMAIL_STATE_MAX];
	struct store_mailbox_mark *now_marks;
	size_t now_n;
	void *old;
	struct keyed *all;
	size_t nall;
};

static void reply(struct changes_ctx *x, const char *new_state, size_t n, bool more)
{
	char prefix = x->threads ? 'T' : 'M';
	json_t *created = json_array(), *updated = json_array(), *destroyed = json_array();
	for (size_t i = 0; i < n && created && updated && destroyed; i++) {
		const struct store_change *ch = &x->all[i].ch;
		json_t *to = ch->existed && ch->exists ? updated : ch->exists ? created : destroyed;
		json_array_append_new(to, jmap_id_json(prefix, ch->id));
	}
	json_t *res =
	    created && updated && destroyed
	        ? json_pack("{s:O, s:s, s:s, s:b, s:o, s:o, s:o}", "accountId",
	                    json_object_get(x->c->args, "accountId"), "oldState", x->since,
	                    "newState", new_state, "hasMoreChanges", more, "created", created,
	                    "updated", updated, "destroyed", destroyed)
	        : NULL;
	if (!res) {
		if (!created || !updated || !destroyed) {
			json_decref(created);
			json_decref(updated);
			json_decref(destroyed);
		}
		jmap_server_fail(x->c, "out of memory");
		return;
	}
	jmap_reply(x->c, res);
}

/* The changes of every segment, each kept to its own ids, into x->all
 * (sorted by key). 0, -ESTALE, or a negative errno. */
static int collect(struct changes_ctx *x, struct store_rd *rd, enum split split,
                   const struct segment *segs, size_t nseg)
{
	bool by_thread = split == SPLIT_THREAD || x->threads;
	size_t cap = 0;
	int64_t lo = INT64_MIN;
	for (size_t s = 0; s < nseg; s++) {
		struct store_change *v;
		size_t n;
		int r = x->threads ? store_thread_changes(rd, x->c->acct->account_id, segs[s].marks,
		                                          segs[s].n, &v, &n)
		                   : store_email_changes(rd, x->c->acct->account_id, segs[s].marks,
		                                         segs[s].n, &v, &n);
		if (r < 0)
			return r;
		for (size_t i = 0; i < n; i++) {
			int64_t key = by_thread ? v[i].thread_id : v[i].id;
			if (key <= lo || key > segs[s].upto)
				continue;
			if (x->nall == cap) {
				cap = cap ? cap * 2 : 64;
				struct keyed *nv = realloc(x->all, cap * sizeof *nv);
				if (!nv) {
					free(v);
					return -ENOMEM;
				}
				x->all = nv;
			}
			x->all[x->nall++] = (struct keyed){.key = key, .ch = v[i]};
		}
		free(v);
		lo = segs[s].upto;
	}
	if (x->nall)
		qsort(x->all, x->nall, sizeof *x->all, by_key);
	return 0;
}

/* More changed than maxChanges: the first ones, up to a whole key, and an
 * intermediate state. */
static void reply_part(struct changes_ctx *x, enum split split, const struct segment *segs,
                       size_t nseg)
{
	size_t take = 0;
	while (take < x->nall) {
		size_t end = take + 1;
		while (end < x->nall && x->all[end].key == x->all[take].key)
			end++;
		if (end > x->max)
			break;
		take = end;
	}
	if (take == 0) {
		jmap_error(x->c, "cannotCalculateChanges",
		           "one thread has more changes than maxChanges");
		return;
	}
	int64_t cut = x->all[take - 1].key;
	struct segment next[MAX_SEGMENTS];
	size_t nnext = 0;
	next[nnext++] = (struct segment){.upto = cut, .marks = x->now_marks, .n = x->now_n};
	for (size_t s = 0; s < nseg; s++) {
		if (segs[s].upto <= cut)
			continue;
		if (nnext == MAX_SEGMENTS) {
			jmap_error(x->c, "cannotCalculateChanges",
			           "too many steps of maxChanges; ask without it");
			return;
		}
		next[nnext++] = segs[s];
	}
	enum split cut_by = split == SPLIT_THREAD || x->threads ? SPLIT_THREAD : SPLIT_EMAIL;
	char state[STORE_EMAIL_STATE_MAX + 24];
	size_t len;
	void *data = encode(cut_by, next, nnext, &len);
	if (!data || jmap_snapshot_intermediate(x->now, state, sizeof state) < 0) {
		free(data);
		jmap_server_fail(x->c, "out of memory");
		return;
	}
	jmap_snapshot_put(x->c->acct->account_id, JMAP_SNAPSHOT_EMAIL, state, data, len);
	free(data);
	reply(x, state, take, true);
}

static void changes(struct changes_ctx *x, struct store_rd *rd)
{
	const struct jmap_account *a = x->c->acct;
	/* taken before now is recorded, which could push it out of the ring */
	size_t len = 0;
	x->old = jmap_snapshot_get(a->account_id, JMAP_SNAPSHOT_EMAIL, x->since, &len);
	int r = store_mailbox_marks(rd, a->account_id, &x->now_marks, &x->now_n);
	if (r == 0)
		r = state_of(a, x->now_marks, x->now_n, x->now);
	if (r < 0) {
		jmap_server_fail(x->c, "reading the state");
		return;
	}
	if (strcmp(x->since, x->now) == 0) {
		reply(x, x->now, 0, false);
		return;
	}
	enum split split;
	struct segment segs[MAX_SEGMENTS];
	size_t nseg;
	if (!x->old || !decode(x->old, len, &split, segs, &nseg) ||
	    (x->threads && split == SPLIT_EMAIL)) {
		jmap_error(x->c, "cannotCalculateChanges",
		           "the state is unknown (too old, or from before a restart); refetch");
		return;
	}
	r = collect(x, rd, split, segs, nseg);
	if (r == -ESTALE) {
		jmap_error(x->c, "cannotCalculateChanges",
		           "a mailbox was deleted or reset since the state; refetch");
		return;
	}
	if (r < 0) {
		jmap_server_fail(x->c, "reading the changes");
		return;
	}
	if (x->nall > x->max)
		reply_part(x, split, segs, nseg);
	else
		reply(x, x->now, x->nall, false);
}

static void run(struct jmap_call *c, bool threads)
{
	if (!jmap_email_account_ok(c))
		return;
	json_t *since = json_object_get(c->args, "sinceState");
	json_t *max = json_object_get(c->args, "maxChanges");
	if (!json_is_string(since)) {
		jmap_error(c, "invalidArguments", "sinceState must be a string");
		return;
	}
	if (max && !json_is_null(max) && (!json_is_integer(max) || json_integer_value(max) < 1)) {
		jmap_error(c, "invalidArguments", "maxChanges must be a positive integer");
		return;
	}
	struct changes_ctx x = {
	    .c = c,
	    .threads = threads,
	    .max = max && json_is_integer(max) ? (size_t)json_integer_value(max) : SIZE_MAX,
	    .since = json_string_value(since),
	};
	struct store_rd *rd = store_reader(c->acct->store);
	bool begun = store_read_begin(rd);
	changes(&x, rd);
	store_read_end(rd, begun);
	free(x.now_marks);
	free(x.old);
	free(x.all);
}

void jmap_email_changes(struct jmap_call *c)
{
	run(c, false);
}

void jmap_thread_changes(struct jmap_call *c)
{
	run(c, true);
}
