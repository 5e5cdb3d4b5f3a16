/* search_context: CONTEXT=SEARCH and CONTEXT=SORT update contexts (RFC
 * 5267 §4.3).
 *
 * A SEARCH or UID SEARCH with RETURN (UPDATE) leaves a context behind: its
 * query (the command's arena, moved here, so the parsed key tree lives on)
 * and its current result as ascending UIDs. The context rides the session's
 * update machinery (updates.c), which calls in at the moments it tells the
 * client about a change, so no mailbox is ever polled:
 *
 *   - before "* n EXPUNGE" / VANISHED: REMOVEFROM for the messages of a
 *     result that go (sequence numbers must still be valid, §4.3.4);
 *   - after "* n EXISTS": the new messages are evaluated, ADDTO for the
 *     matches (§4.3.3 wants the EXISTS first);
 *   - after the FETCH FLAGS of another session's change, and at the flush
 *     after this session's own STORE (or FETCH setting \Seen): those
 *     messages are evaluated again, REMOVEFROM / ADDTO for the ones whose
 *     membership changed.
 *
 * Sequence numbers in the query name the messages they named when the
 * command ran (RFC 5267 §4.3, "evaluated at the time the command is
 * received"), so they are turned into UIDs when the context is made; a UID
 * range stays numeric ('*' as it was then), so a new message inside it
 * matches. BODY/TEXT would need the full-text index of every new message;
 * such a query gets NOUPDATE instead (§4.3.1 lets a server refuse).
 * OLDER/YOUNGER are evaluated against the clock of the change, not on a
 * timer (RFC 5032 §2 allows delayed updates).
 *
 * A SORT context (cmd_sort.c) is the same with its result also kept in
 * the requested order (sort_context.c), which gives the positions of its
 * ADDTO and REMOVEFROM pairs (a SEARCH context says position 0); the
 * keys of a new member are read at the flush that tells it.
 *
 * Limits: IMAP_MAX_SEARCH_CONTEXTS contexts per session (more: NOUPDATE);
 * each holds at most the mailbox's UIDs; the sort contexts of a session
 * hold at most IMAP_MAX_SORT_CONTEXT_BYTES of keys (more: NOUPDATE).
 * Contexts end with the selection (imap_search_contexts_free from
 * unselect) or CANCELUPDATE.
 */
#include "proto/imap/imap_int.h"
#include "proto/imap/esearch.h"
#include "proto/imap/index.h"
#include "proto/imap/search_keys.h"
#include "proto/imap/seqset.h"
#include "proto/imap/dates.h"
#include "proto/imap/sort_context.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/entries.h"

struct imap_search_context {
	char *tag;
	bool uid;           /* UID SEARCH: results are UIDs */
	struct arena arena; /* the query's memory, from the command */
	struct imap_search q;
	unsigned need;  /* imap_search_needs() of the query */
	uint32_t *uids; /* the current result, ascending */
	size_t n, cap;
	/* CONTEXT=SORT: the same result in the requested order, or NULL */
	struct imap_sort_result *sort;
};

/* The view's sequence number of uid, or 0 (updates.c's imap_view_seq,
 * which this file, below updates.c, cannot call). */
static uint32_t view_seq(const struct imap_session *s, uint32_t uid)
{
	size_t i = imap_uids_lower_bound(s->sel.uids, s->sel.count, uid);
	return i < s->sel.count && s->sel.uids[i] == uid ? (uint32_t)i + 1 : 0;
}

static void context_free(struct imap_search_context *x)
{
	if (!x)
		return;
	free(x->tag);
	free(x->uids);
	imap_sort_result_free(x->sort);
	arena_reset(&x->arena);
	free(x);
}

void imap_search_contexts_free(struct imap_session *s)
{
	for (size_t i = 0; i < s->ncontexts; i++)
		context_free(s->contexts[i]);
	s->ncontexts = 0;
}

bool imap_search_context_exists(const struct imap_session *s, const char *tag)
{
	for (size_t i = 0; i < s->ncontexts; i++)
		if (strcmp(s->contexts[i]->tag, tag) == 0)
			return true;
	return false;
}

size_t imap_search_context_cancel(struct imap_session *s, const char *tag)
{
	size_t w = 0, gone = 0;
	for (size_t i = 0; i < s->ncontexts; i++) {
		if (strcmp(s->contexts[i]->tag, tag) == 0) {
			context_free(s->contexts[i]);
			gone++;
		} else {
			s->contexts[w++] = s->contexts[i];
		}
	}
	s->ncontexts = w;
	return gone;
}

static bool has_fts_key(const struct imap_search_key *k)
{
	if (k->kind == IMAP_SK_BODY || k->kind == IMAP_SK_TEXT)
		return true;
	for (size_t i = 0; i < k->nkids; i++)
		if (has_fts_key(k->kids[i]))
			return true;
	return false;
}

static int cmp_range(const void *a, const void *b)
{
	const struct imap_seqrange *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sequence-number keys (and $) become the UIDs they named; UID keys
 * become numeric UID ranges with '*' as it was. Both then match on the
 * message's UID (by_uid). */
static void freeze_keys(struct imap_session *s, struct imap_search_key *k, struct arena *a)
{
	for (size_t i = 0; i < k->nkids; i++)
		freeze_keys(s, k->kids[i], a);
	if (k->kind != IMAP_SK_SEQ && k->kind != IMAP_SK_UID)
		return;
	struct imap_seqset out = {0};
	if (k->kind == IMAP_SK_SEQ || k->set.dollar) {
		uint64_t n = imap_seqset_count(&k->resolved);
		out.r = imap_arena_alloc(a, (n ? n : 1) * sizeof *out.r);
		for (size_t i = 0; i < k->resolved.n; i++)
			for (uint32_t q = k->resolved.r[i].lo; q <= k->resolved.r[i].hi; q++) {
				if (q > s->sel.count)
					break;
				uint32_t u = s->sel.uids[q - 1];
				if (out.n && out.r[out.n - 1].hi + 1 == u)
					out.r[out.n - 1].hi = u;
				else
					out.r[out.n++] = (struct imap_seqrange){u, u};
				if (q == UINT32_MAX)
					break;
			}
	} else {
		uint32_t star = s->sel.count ? s->sel.uids[s->sel.count - 1] : 0;
		out.r = imap_arena_alloc(a, (k->set.n ? k->set.n : 1) * sizeof *out.r);
		for (size_t i = 0; i < k->set.n; i++) {
			uint32_t lo, hi;
			imap_seqrange_bounds(&k->set.r[i], star, &lo, &hi);
			if (hi == 0)
				continue;
			out.r[out.n++] = (struct imap_seqrange){lo ? lo : 1, hi};
		}
		qsort(out.r, out.n, sizeof *out.r, cmp_range);
		size_t w = 0;
		for (size_t i = 1; i < out.n; i++) {
			if ((uint64_t)out.r[i].lo <= (uint64_t)out.r[w].hi + 1) {
				if (out.r[i].hi > out.r[w].hi)
					out.r[w].hi = out.r[i].hi;
			} else {
				out.r[++w] = out.r[i];
			}
		}
		if (out.n)
			out.n = w + 1;
	}
	k->resolved = out;
	k->by_uid = true;
}

/* IMAP_MAX_SORT_CONTEXT_BYTES, or TERN_TEST_SORT_CONTEXT_BYTES (tests
 * reach the bound with a small mailbox). */
static size_t sort_context_budget(void)
{
	static long long budget = -1;
	if (budget < 0) {
		const char *env = getenv("TERN_TEST_SORT_CONTEXT_BYTES");
		budget = env && *env ? atoll(env) : (long long)IMAP_MAX_SORT_CONTEXT_BYTES;
	}
	return (size_t)budget;
}

static int context_add(struct imap_session *s, struct imap_cmd *cmd, const struct imap_search *q,
                       const uint32_t *hits, size_t n, struct imap_sort_result *sort)
{
	if (has_fts_key(q->root))
		return -ENOTSUP;
	if (s->ncontexts >= IMAP_MAX_SEARCH_CONTEXTS)
		return -ENOSPC;
	if (sort) {
		size_t bytes = imap_sort_result_bytes(sort);
		for (size_t i = 0; i < s->ncontexts; i++)
			if (s->contexts[i]->sort)
				bytes += imap_sort_result_bytes(s->contexts[i]->sort);
		if (bytes > sort_context_budget())
			return -E2BIG;
	}
	struct imap_search_context *x = calloc(1, sizeof *x);
	if (!x)
		return -ENOMEM;
	x->tag = strdup(cmd->tag);
	x->uids = n ? malloc(n * sizeof *x->uids) : NULL;
	if (!x->tag || (n && !x->uids)) {
		context_free(x);
		return -ENOMEM;
	}
	if (n)
		memcpy(x->uids, hits, n * sizeof *hits);
	x->n = x->cap = n;
	x->uid = cmd->uid;
	/* The key tree lives in the command's arena: it becomes ours. What
	 * the command still reads from it (its tag) stays valid as long as
	 * the context, which outlives the command. */
	x->arena = cmd->arena;
	memset(&cmd->arena, 0, sizeof cmd->arena);
	x->q = *q;
	for (size_t i = 0; i < x->q.nfts; i++) { /* header prefilters: not kept */
		x->q.fts[i].off = true;
		x->q.fts[i].uids = NULL;
		x->q.fts[i].n = 0;
	}
	freeze_keys(s, x->q.root, &x->arena);
	x->need = imap_search_needs(x->q.root);
	x->sort = sort;
	s->contexts[s->ncontexts++] = x;
	return 0;
}

int imap_search_context_add(struct imap_session *s, struct imap_cmd *cmd,
                            const struct imap_search *q, const uint32_t *hits, size_t n)
{
	return context_add(s, cmd, q, hits, n, NULL);
}

int imap_sort_context_keep(struct imap_session *s, struct imap_cmd *cmd,
                           const struct imap_search *q, const uint32_t *hits, size_t n,
                           struct imap_sort_result *sorted)
{
	return context_add(s, cmd, q, hits, n, sorted);
}

/* ---- evaluation of a few messages ---- */

struct eval {
	struct imap_session *s;
	struct imap_search_context *x;
	bool *match; /* per UID of uids[] */
	const uint32_t *uids;
	size_t n;
};

static bool eval_msg(struct imap_session *s, struct imap_search_context *x,
                     struct imap_search_msg *m)
{
	m->seq = view_seq(s, m->uid);
	m->recent = imap_is_recent(s, m->uid);
	return m->seq && imap_search_match(&x->q, x->q.root, m);
}

static int eval_cb(void *ud, const struct store_entry *e)
{
	struct eval *ev = ud;
	size_t i = imap_uids_lower_bound(ev->uids, ev->n, e->uid);
	if (i >= ev->n || ev->uids[i] != e->uid)
		return 0;
	struct imap_search_msg m;
	imap_search_msg_from_entry(&m, e);
	char *headers = NULL;
	if (!e->indexed && (ev->x->need & (IMAP_NEED_HEADERS | IMAP_NEED_INFO)) &&
	    imap_header_info(imap_reader(ev->s), e->message_id, &headers, &m.sent_day) == 0)
		m.headers = headers;
	ev->match[i] = eval_msg(ev->s, ev->x, &m);
	free(headers);
	return 0;
}

/* match[i]: does uids[i] (ascending, in the view) match x now? A message
 * the store no longer has does not. */
static void evaluate(struct imap_session *s, struct imap_search_context *x, const uint32_t *uids,
                     size_t n, bool *match)
{
	memset(match, 0, n * sizeof *match);
	x->q.now = (int64_t)time(NULL);
	if (!x->need) {
		for (size_t i = 0; i < n; i++) {
			struct imap_search_msg m = {.uid = uids[i]};
			match[i] = eval_msg(s, x, &m);
		}
		return;
	}
	enum store_entry_cols cols = (x->need & IMAP_NEED_HEADERS) ? STORE_COLS_HEADERS
	                             : (x->need & IMAP_NEED_INFO)  ? STORE_COLS_INFO
	                                                           : STORE_COLS_ENTRY;
	struct eval ev = {.s = s, .x = x, .match = match, .uids = uids, .n = n};
	/* one range read when the UIDs are dense (new mail), else one each */
	if (n && uids[n - 1] - uids[0] < 2 * n) {
		store_entries_range(imap_reader(s), s->sel.mailbox_id, uids[0], uids[n - 1], 0,
		                    cols, eval_cb, &ev);
		return;
	}
	for (size_t i = 0; i < n; i++)
		store_entries_range(imap_reader(s), s->sel.mailbox_id, uids[i], uids[i], 1, cols,
		                    eval_cb, &ev);
}

/* The numbers the client knows the UIDs by: themselves, or sequence
 * numbers in the current view (both ascending). */
static void client_numbers(struct imap_session *s, bool uid, const uint32_t *uids, size_t n,
                           uint32_t *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = uid ? uids[i] : view_seq(s, uids[i]);
}

static void result_remove(struct imap_search_context *x, const uint32_t *gone, size_t ngone)
{
	size_t w = 0, k = 0;
	for (size_t i = 0; i < x->n; i++) {
		while (k < ngone && gone[k] < x->uids[i])
			k++;
		if (k < ngone && gone[k] == x->uids[i])
			continue;
		x->uids[w++] = x->uids[i];
	}
	x->n = w;
}

/* Insert ascending uids, none of them present. */
static bool result_add(struct imap_search_context *x, const uint32_t *add, size_t nadd)
{
	if (x->n + nadd > x->cap) {
		size_t cap = (x->n + nadd) * 2;
		uint32_t *v = realloc(x->uids, cap * sizeof *v);
		if (!v)
			return false;
		x->uids = v;
		x->cap = cap;
	}
	/* merge from the back */
	size_t i = x->n, j = nadd, w = x->n + nadd;
	while (j > 0) {
		if (i > 0 && x->uids[i - 1] > add[j - 1])
			x->uids[--w] = x->uids[--i];
		else
			x->uids[--w] = add[--j];
	}
	x->n += nadd;
	return true;
}

void imap_search_contexts_expunging(struct imap_session *s, const uint32_t *gone, size_t n)
{
	if (!s->ncontexts || !n)
		return;
	uint32_t *hit = malloc(n * sizeof *hit), *nums = malloc(n * sizeof *nums);
	for (size_t c = 0; hit && nums && c < s->ncontexts; c++) {
		struct imap_search_context *x = s->contexts[c];
		size_t k = 0;
		for (size_t i = 0; i < n; i++)
			if (imap_uids_contain(x->uids, x->n, gone[i]))
				hit[k++] = gone[i];
		if (!k)
			continue;
		if (x->sort) {
			imap_sort_context_remove(s, x->sort, x->tag, x->uid, hit, k);
		} else {
			client_numbers(s, x->uid, hit, k, nums);
			imap_esearch_write_update(s, x->tag, x->uid, "REMOVEFROM", nums, k);
		}
		result_remove(x, hit, k);
	}
	free(hit);
	free(nums);
}

void imap_search_contexts_recheck(struct imap_session *s, const uint32_t *uids, size_t n)
{
	if (!s->ncontexts || !n)
		return;
	bool *match = malloc(n * sizeof *match);
	uint32_t *in = malloc(n * sizeof *in), *out = malloc(n * sizeof *out);
	uint32_t *nums = malloc(n * sizeof *nums);
	for (size_t c = 0; match && in && out && nums && c < s->ncontexts; c++) {
		struct imap_search_context *x = s->contexts[c];
		evaluate(s, x, uids, n, match);
		size_t nin = 0, nout = 0;
		for (size_t i = 0; i < n; i++) {
			bool had = imap_uids_contain(x->uids, x->n, uids[i]);
			if (match[i] && !had)
				in[nin++] = uids[i];
			else if (!match[i] && had && view_seq(s, uids[i]))
				out[nout++] = uids[i];
		}
		if (nout && x->sort) {
			imap_sort_context_remove(s, x->sort, x->tag, x->uid, out, nout);
		} else if (nout) {
			client_numbers(s, x->uid, out, nout, nums);
			imap_esearch_write_update(s, x->tag, x->uid, "REMOVEFROM", nums, nout);
		}
		result_remove(x, out, nout);
		if (nin && result_add(x, in, nin)) {
			if (x->sort) {
				/* at their places in the order (keys read now) */
				imap_sort_context_add(s, x->sort, x->tag, x->uid, in, nin);
			} else {
				client_numbers(s, x->uid, in, nin, nums);
				imap_esearch_write_update(s, x->tag, x->uid, "ADDTO", nums, nin);
			}
		}
	}
	free(match);
	free(in);
	free(out);
	free(nums);
}

void imap_search_contexts_arrived(struct imap_session *s, uint32_t first, uint32_t last)
{
	if (!s->ncontexts || !first)
		return;
	size_t a = imap_uids_lower_bound(s->sel.uids, s->sel.count, first);
	size_t b = imap_uids_lower_bound(s->sel.uids, s->sel.count, last);
	if (b < s->sel.count && s->sel.uids[b] == last)
		b++;
	if (a < b)
		imap_search_contexts_recheck(s, s->sel.uids + a, b - a);
}

void imap_search_context_recheck_later(struct imap_session *s, uint32_t uid)
{
	struct imap_pending *p = &s->pending;
	if (!s->ncontexts)
		return;
	if (p->nrecheck && p->recheck[p->nrecheck - 1] == uid)
		return;
	imap_uids_push(&p->recheck, &p->nrecheck, &p->caprecheck, uid);
}
