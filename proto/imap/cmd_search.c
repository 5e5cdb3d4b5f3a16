/* cmd_search: SEARCH and UID SEARCH (RFC 9051 §6.4.4), with ESEARCH
 * return options (RFC 4731) and PARTIAL (RFC 9394) written by esearch.c,
 * SAVE/$ (RFC 5182: a NO of a SAVE search empties $, SELECT resets it),
 * WITHIN's OLDER/YOUNGER (RFC 5032), MODSEQ (RFC 7162), and RETURN
 * (UPDATE) / CANCELUPDATE of CONTEXT=SEARCH (RFC 5267 §4, the contexts
 * themselves in search_context.c).
 *
 * Steps (cmd->step):
 *   0  parse; resolve every sequence/UID set against the view;
 *   1  if the query has FTS lists to query (BODY/TEXT, header prefilters)
 *      and some message of the view above the mailbox's indexed mark is
 *      not indexed (new mail the background indexer has not reached),
 *      index them first in bounded store jobs (ASYNC, repeated); header
 *      fields and Date: of unindexed mail are read from the message;
 *   2  run each BODY/TEXT key once as an FTS5 query -> sorted UID lists;
 *   3  scan the mailbox's entries in UID order, SEARCH_SLICE rows per call
 *      (IMAP_AGAIN between slices), evaluating the key tree per message;
 *      a query of UIDs, sequence numbers, \Recent and BODY/TEXT only is
 *      evaluated on the session's view instead, reading no entry;
 *   4  reply.
 */
#include "proto/imap/header_cache.h"
#include "proto/imap/imap_int.h"
#include "proto/imap/search_keys.h"
#include "proto/imap/dates.h"
#include "proto/imap/seqset.h"
#include "proto/imap/render.h"
#include "proto/imap/esearch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mime/mime.h"
#include "store/entries.h"
#include "store/store.h"
#include "store/msg_index.h"
#include "proto/imap/index.h"

#define SEARCH_SLICE 5000
#define SEARCH_PREFILTER_MIN 5000 /* messages in the view */

/* SEARCH_PREFILTER_MIN, or TERN_TEST_SEARCH_PREFILTER_MIN (tests use the
 * prefilter on small mailboxes). */
static uint32_t prefilter_min(void)
{
	static long min = -1;
	if (min < 0) {
		const char *env = getenv("TERN_TEST_SEARCH_PREFILTER_MIN");
		min = env && *env ? atol(env) : SEARCH_PREFILTER_MIN;
	}
	return (uint32_t)min;
}

struct search_ctx {
	struct imap_session *s;
	struct imap_search q;
	struct store_index_req idx;
	int status;
	uint32_t next_uid;
	uint32_t *hits; /* matching UIDs, ascending */
	size_t nhits, cap;
	int64_t maxmodseq;   /* the highest MODSEQ of the hits */
	int64_t firstmodseq; /* the MODSEQ of hits[0] (RETURN (MIN)) */
	int64_t lastmodseq;  /* the MODSEQ of hits[nhits - 1] (RETURN (MAX)) */
	int error;
	unsigned need;    /* imap_search_needs() of the query */
	uint64_t scanned; /* entries scanned so far (INPROGRESS) */
	uint64_t indexed; /* messages indexed for this SEARCH so far (INPROGRESS) */
	/* Header texts and Date: days from memory (header_cache.c), for the
	 * slice being scanned; NULL: from the store. */
	const struct imap_header_cache *hc;
	/* what runs when the messages are found: SEARCH's reply, or SORT's
	 * and THREAD's next step (cmd_sort.c) with their state */
	imap_search_done_fn done;
	void *ud;
	void (*ud_free)(void *ud);
};

/* The writer job gets the request inside the context; the completion gets
 * the whole context. */
static int index_job(struct store_tx *tx, void *arg)
{
	return store_index_missing_job(tx, &((struct search_ctx *)arg)->idx);
}

static void search_ctx_free(struct imap_cmd *cmd)
{
	struct search_ctx *c = cmd->ctx;
	if (!c)
		return;
	for (size_t i = 0; i < c->q.nfts; i++)
		free(c->q.fts[i].uids);
	free(c->hits);
	if (c->ud_free)
		c->ud_free(c->ud);
	cmd->ctx = NULL;
}

/* Per mailbox, a UID up to which every message is known to be indexed.
 * A message never loses its index and new messages get higher UIDs, so a
 * SEARCH only checks (and indexes, if needed) the UIDs of its view above
 * the mark: mail delivered since, which the background indexer may not
 * have reached yet. */
struct indexed_mark {
	int64_t mailbox_id;
	uint32_t upto;
};
static struct indexed_mark *marks;
static size_t nmarks, capmarks;

static uint32_t indexed_upto(int64_t id)
{
	for (size_t i = 0; i < nmarks; i++)
		if (marks[i].mailbox_id == id)
			return marks[i].upto;
	return 0;
}

static void set_indexed_upto(int64_t id, uint32_t uid)
{
	for (size_t i = 0; i < nmarks; i++)
		if (marks[i].mailbox_id == id) {
			if (uid > marks[i].upto)
				marks[i].upto = uid;
			return;
		}
	if (nmarks == capmarks) {
		size_t nc = capmarks ? capmarks * 2 : 16;
		struct indexed_mark *n = realloc(marks, nc * sizeof *n);
		if (!n)
			return;
		marks = n;
		capmarks = nc;
	}
	marks[nmarks++] = (struct indexed_mark){id, uid};
}

/* A sequence-set key anywhere in the tree (BAD under UIDONLY). */
static bool uses_seqnums(const struct imap_search_key *k)
{
	if (k->kind == IMAP_SK_SEQ)
		return true;
	for (size_t i = 0; i < k->nkids; i++)
		if (uses_seqnums(k->kids[i]))
			return true;
	return false;
}

/* Resolve SEQ/UID keys. A sequence number above the mailbox size matches
 * nothing (rather than making the whole SEARCH fail). */
static int resolve_keys(struct imap_session *s, struct imap_cmd *cmd, struct imap_search_key *k)
{
	for (size_t i = 0; i < k->nkids; i++) {
		int r = resolve_keys(s, cmd, k->kids[i]);
		if (r < 0)
			return r;
	}
	if (k->kind != IMAP_SK_SEQ && k->kind != IMAP_SK_UID)
		return 0;
	struct imap_seqset set = k->set;
	if (k->kind == IMAP_SK_SEQ && !set.dollar) {
		struct imap_seqrange *r = imap_arena_alloc(&cmd->arena, (set.n + 1) * sizeof *r);
		size_t n = 0;
		for (size_t i = 0; i < set.n; i++) {
			uint32_t lo, hi;
			imap_seqrange_bounds(&set.r[i], s->sel.count, &lo, &hi);
			if (lo == 0)
				lo = 1;
			if (hi > s->sel.count)
				hi = s->sel.count;
			if (lo <= hi && hi > 0)
				r[n++] = (struct imap_seqrange){lo, hi};
		}
		set.r = r;
		set.n = n;
		if (n == 0) {
			k->resolved.r = NULL;
			k->resolved.n = 0;
			return 0;
		}
	}
	int r = imap_seqset_resolve(s->sel.uids, s->sel.count, s->searchres, s->nsearchres, &set,
	                            k->kind == IMAP_SK_UID, &k->resolved, &cmd->arena);
	if (r == -ERANGE) {
		k->resolved.r = NULL;
		k->resolved.n = 0;
		return 0;
	}
	return r;
}

static void index_done(void *arg, int status)
{
	struct search_ctx *c = arg;
	c->status = status;
	imap_cmd_wake(c->s);
}

/* The narrowest entry columns that evaluate the query: the Date: day and
 * the header fields are in the message's info row. */
static enum store_entry_cols search_cols(unsigned need)
{
	if (need & IMAP_NEED_HEADERS)
		return STORE_COLS_HEADERS;
	return (need & IMAP_NEED_INFO) ? STORE_COLS_INFO : STORE_COLS_ENTRY;
}

/* The shortest FTS list (BODY, TEXT or a header prefilter) of a key the
 * whole query requires (the root, or a child of a root AND): only its
 * UIDs can match. NULL if there is none. */
static const struct imap_search_fts *required_list(const struct imap_search *q)
{
	const struct imap_search_key *root = q->root;
	const struct imap_search_key *const *keys = &root;
	size_t n = 1;
	if (root->kind == IMAP_SK_AND) {
		keys = (const struct imap_search_key *const *)root->kids;
		n = root->nkids;
	}
	const struct imap_search_fts *best = NULL;
	for (size_t i = 0; i < n; i++) {
		const struct imap_search_key *k = keys[i];
		bool listed =
		    k->kind == IMAP_SK_BODY || k->kind == IMAP_SK_TEXT || k->kind == IMAP_SK_HEADER;
		if (!listed || k->fts < 0 || (size_t)k->fts >= q->nfts || q->fts[k->fts].off)
			continue;
		if (!best || q->fts[k->fts].n < best->n)
			best = &q->fts[k->fts];
	}
	return best;
}

static int add_hit(struct search_ctx *c, uint32_t uid)
{
	return imap_uids_push(&c->hits, &c->nhits, &c->cap, uid) ? 0 : -ENOMEM;
}

static int scan_cb(void *ud, const struct store_entry *e)
{
	struct search_ctx *c = ud;
	c->next_uid = e->uid;
	uint32_t seq = imap_view_seq(c->s, e->uid);
	if (seq == 0)
		return 0;
	struct imap_search_msg m;
	imap_search_msg_from_entry(&m, e);
	m.seq = seq;
	m.recent = imap_is_recent(c->s, e->uid);
	const struct imap_header_entry *cached =
	    c->hc ? imap_header_cache_find(c->hc, e->uid) : NULL;
	if (cached) {
		m.headers = cached->headers;
		m.sent_day = cached->sent_day;
	}
	/* Mail the background indexer has not reached: its header fields
	 * and Date: from the header itself, as FETCH does. */
	char *headers = NULL;
	if (!cached && !e->indexed && (c->need & (IMAP_NEED_HEADERS | IMAP_NEED_INFO)) &&
	    imap_header_info(imap_reader(c->s), e->message_id, &headers, &m.sent_day) == 0)
		m.headers = headers;
	bool hit = imap_search_match(&c->q, c->q.root, &m);
	free(headers);
	if (!hit)
		return 0;
	if (add_hit(c, e->uid) < 0)
		return -ENOMEM;
	/* entries come in ascending UID order, so the hits do too */
	if (c->nhits == 1)
		c->firstmodseq = e->modseq;
	c->lastmodseq = e->modseq;
	if (e->modseq > c->maxmodseq)
		c->maxmodseq = e->modseq;
	return 0;
}

/* The MODSEQ an ESEARCH reply with a MODSEQ key reports (RFC 4731 §3.2,
 * which RFC 7162 §3.1.10 refers to): a lone MIN or MAX, that message's;
 * MIN and MAX without ALL or COUNT, the higher of those two; otherwise
 * the highest of every message found. */
static int64_t reply_modseq(const struct search_ctx *c, unsigned ret)
{
	if (ret & (IMAP_SEARCH_RET_ALL | IMAP_SEARCH_RET_COUNT))
		return c->maxmodseq;
	bool min = ret & IMAP_SEARCH_RET_MIN, max = ret & IMAP_SEARCH_RET_MAX;
	if (min && max)
		return c->firstmodseq > c->lastmodseq ? c->firstmodseq : c->lastmodseq;
	if (min)
		return c->firstmodseq;
	if (max)
		return c->lastmodseq;
	return c->maxmodseq;
}

/* Replace $ with uids[0..n). False when out of memory ($ is then empty:
 * the caller answers NO [NOTSAVED], RFC 5182 §2.5). */
static bool save_result(struct imap_session *s, const uint32_t *uids, size_t n)
{
	free(s->searchres);
	s->searchres = NULL;
	s->nsearchres = 0;
	if (n == 0)
		return true;
	s->searchres = malloc(n * sizeof *uids);
	if (!s->searchres)
		return false;
	memcpy(s->searchres, uids, n * sizeof *uids);
	s->nsearchres = n;
	return true;
}

/* A SEARCH that fails with NO. With SAVE it empties $ (RFC 5182 §2.1). */
static enum imap_cmd_result search_no(struct imap_session *s, struct imap_cmd *cmd,
                                      const struct search_ctx *c, const char *code,
                                      const char *text)
{
	if (c->q.ret & IMAP_SEARCH_RET_SAVE)
		save_result(s, NULL, 0);
	imap_tagged(s, cmd, "NO", code, "%s", text);
	return IMAP_DONE;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* What RETURN (SAVE) keeps in $ (RFC 5182 §2.4, RFC 9394 §3.2): every
 * hit with ALL or COUNT or without MIN/MAX/PARTIAL; otherwise the hits
 * MIN, MAX and PARTIAL report. uids are in the result's order (SORT's
 * for ESORT: MIN and MAX are its first and last); $ is kept ascending. */
bool imap_search_save_hits(struct imap_session *s, const uint32_t *uids, size_t n, unsigned ret,
                           const struct imap_partial *partial)
{
	const unsigned some = IMAP_SEARCH_RET_MIN | IMAP_SEARCH_RET_MAX | IMAP_SEARCH_RET_PARTIAL;
	bool ok;
	if ((ret & (IMAP_SEARCH_RET_ALL | IMAP_SEARCH_RET_COUNT)) || !(ret & some) || n == 0) {
		ok = save_result(s, uids, n);
	} else {
		size_t from = 0, to = 0;
		if (ret & IMAP_SEARCH_RET_PARTIAL)
			imap_partial_slice(partial, n, &from, &to);
		uint32_t *v = malloc((to - from + 2) * sizeof *v);
		if (!v) {
			save_result(s, NULL, 0);
			return false;
		}
		size_t k = 0;
		if ((ret & IMAP_SEARCH_RET_MIN) && from != 0)
			v[k++] = uids[0];
		for (size_t i = from; i < to; i++)
			v[k++] = uids[i];
		if ((ret & IMAP_SEARCH_RET_MIN) && from == 0 && to == 0)
			v[k++] = uids[0];
		if ((ret & IMAP_SEARCH_RET_MAX) && to != n && !(k && v[k - 1] == uids[n - 1]))
			v[k++] = uids[n - 1];
		ok = save_result(s, v, k);
		free(v);
	}
	/* a SORT's order: $ is a set, kept ascending and without repeats */
	size_t m = s->nsearchres;
	bool ascending = true;
	for (size_t i = 1; i < m && ascending; i++)
		ascending = s->searchres[i - 1] < s->searchres[i];
	if (!ascending) {
		qsort(s->searchres, m, sizeof *s->searchres, cmp_u32);
		size_t k = 1;
		for (size_t i = 1; i < m; i++)
			if (s->searchres[i] != s->searchres[k - 1])
				s->searchres[k++] = s->searchres[i];
		s->nsearchres = k;
	}
	return ok;
}

static enum imap_cmd_result reply(struct imap_session *s, struct imap_cmd *cmd,
                                  const struct imap_search_found *f)
{
	struct search_ctx *c = f->ud;
	struct imap_search *q = &c->q;
	size_t n = c->nhits;
	/* numbers to report: UIDs or sequence numbers (both ascending) */
	uint32_t *nums = n ? malloc(n * sizeof *nums) : NULL;
	if (n && !nums)
		return search_no(s, cmd, c, "SERVERBUG", "Out of memory");
	for (size_t i = 0; i < n; i++)
		nums[i] = cmd->uid ? c->hits[i] : imap_view_seq(s, c->hits[i]);

	if ((q->ret & IMAP_SEARCH_RET_SAVE) &&
	    !imap_search_save_hits(s, c->hits, c->nhits, q->ret, &q->partial)) {
		free(nums);
		imap_tagged(s, cmd, "NO", "NOTSAVED", "Out of memory, result not saved");
		return IMAP_DONE;
	}

	if (q->esearch || (s->enabled & IMAP_EXT_REV2)) {
		struct imap_esearch e = {
		    .tag = cmd->tag,
		    .uid = cmd->uid,
		    .ret = q->esearch ? q->ret : IMAP_SEARCH_RET_ALL,
		    .partial = q->partial,
		    .nums = nums,
		    .n = n,
		    .has_modseq = q->has_modseq,
		};
		e.modseq = reply_modseq(c, e.ret);
		imap_esearch_write(s, &e);
	} else {
		struct buf b = {0};
		char num[64];
		buf_adds(&b, "* SEARCH");
		for (size_t i = 0; i < n; i++) {
			snprintf(num, sizeof num, " %u", nums[i]);
			buf_adds(&b, num);
		}
		if (q->has_modseq && n) {
			snprintf(num, sizeof num, " (MODSEQ %lld)", (long long)c->maxmodseq);
			buf_adds(&b, num);
		}
		buf_adds(&b, "\r\n");
		imap_write(s, b.data, b.len);
		buf_free(&b);
	}
	free(nums);
	const char *done = "";
	if (q->ret & IMAP_SEARCH_RET_UPDATE) {
		/* CONTEXT=SEARCH (RFC 5267 §4.3): keep the query and its result;
		 * the context takes the command's arena, search_ctx_free frees
		 * what the context copied */
		int r = imap_search_context_add(s, cmd, q, c->hits, c->nhits);
		if (r == 0) {
			search_ctx_free(cmd);
			done = ", will notify";
		} else {
			imap_printf(s, "* NO [NOUPDATE \"%s\"] %s\r\n", cmd->tag,
			            r == -ENOSPC    ? "Too many contexts"
			            : r == -ENOTSUP ? "No updates for BODY or TEXT"
			                            : "Out of memory");
			done = ", will not notify";
		}
	}
	imap_tagged(s, cmd, "OK", imap_expunge_issued(s), "%sSEARCH completed%s",
	            cmd->uid ? "UID " : "", done);
	return IMAP_DONE;
}

/* CANCELUPDATE "tag" ... (RFC 5267 §4.3.5). Every tag must name a live
 * context; then all of them end. */
enum imap_cmd_result imap_cmd_cancelupdate(struct imap_session *s, struct imap_cmd *cmd)
{
	const char *tag;
	size_t len;
	if (cmd->nargs == 0) {
		imap_tagged(s, cmd, "BAD", NULL, "CANCELUPDATE needs a tag");
		return IMAP_DONE;
	}
	for (size_t i = 0; i < cmd->nargs; i++) {
		if (!imap_arg_string(&cmd->args[i], &tag, &len) || strlen(tag) != len) {
			imap_tagged(s, cmd, "BAD", NULL, "CANCELUPDATE takes quoted tags");
			return IMAP_DONE;
		}
		if (!imap_search_context_exists(s, tag)) {
			imap_tagged(s, cmd, "BAD", NULL, "No update context for that tag");
			return IMAP_DONE;
		}
	}
	for (size_t i = 0; i < cmd->nargs; i++) {
		imap_arg_string(&cmd->args[i], &tag, &len);
		imap_search_context_cancel(s, tag);
	}
	imap_tagged(s, cmd, "OK", NULL, "No further updates");
	return IMAP_DONE;
}

/* The messages are found: hand them to whoever asked. */
static enum imap_cmd_result found(struct imap_session *s, struct imap_cmd *cmd,
                                  struct search_ctx *c)
{
	struct imap_search_found f = {
	    .uids = c->hits,
	    .n = c->nhits,
	    .q = &c->q,
	    .maxmodseq = c->maxmodseq,
	    .ud = c->ud,
	};
	return c->done(s, cmd, &f);
}

static enum imap_cmd_result run(struct imap_session *s, struct imap_cmd *cmd);

/* After parsing: resolve the sets, pick the FTS lists, and run. */
static enum imap_cmd_result start(struct imap_session *s, struct imap_cmd *cmd,
                                  struct search_ctx *c)
{
	if (c->q.has_seqset && (s->enabled & IMAP_EXT_UIDONLY) && uses_seqnums(c->q.root)) {
		/* RFC 9586 §3.5, for SEARCH, SORT and THREAD */
		if (c->q.ret & IMAP_SEARCH_RET_SAVE)
			save_result(s, NULL, 0);
		imap_tagged(s, cmd, "BAD", "UIDREQUIRED",
		            "Message numbers are not allowed once UIDONLY is enabled");
		return IMAP_DONE;
	}
	if (c->q.has_seqset && resolve_keys(s, cmd, c->q.root) < 0) {
		imap_tagged(s, cmd, "BAD", NULL, "Invalid sequence set");
		return IMAP_DONE;
	}
	if (c->q.has_modseq)
		imap_condstore_enable(s);
	c->q.now = (int64_t)time(NULL);
	c->need = imap_search_needs(c->q.root);
	/* The FTS index covers every mailbox: a common word of a header
	 * matches thousands of messages elsewhere, which costs more than
	 * reading a small mailbox's entries. */
	bool fts = false;
	for (size_t i = 0; i < c->q.nfts; i++) {
		struct imap_search_fts *f = &c->q.fts[i];
		f->off = f->scope == STORE_FTS_HEADERS && s->sel.count < prefilter_min();
		fts |= !f->off;
	}
	/* Only the FTS lists need the index first; header fields and
	 * dates of unindexed mail are read from the message (scan_cb). */
	cmd->step = 1;
	c->status = 0;
	if (!fts || s->sel.count == 0 ||
	    indexed_upto(s->sel.mailbox_id) >= s->sel.uids[s->sel.count - 1])
		cmd->step = 2;
	return run(s, cmd);
}

static struct search_ctx *new_ctx(struct imap_session *s, struct imap_cmd *cmd)
{
	struct search_ctx *c = imap_arena_alloc(&cmd->arena, sizeof *c);
	c->s = s;
	cmd->ctx = c;
	cmd->ctx_free = search_ctx_free;
	return c;
}

enum imap_cmd_result imap_search_start(struct imap_session *s, struct imap_cmd *cmd,
                                       const struct imap_arg *args, size_t nargs,
                                       imap_search_done_fn done, void *ud,
                                       void (*ud_free)(void *ud), unsigned ret,
                                       struct imap_search **q)
{
	struct search_ctx *c = new_ctx(s, cmd);
	c->done = done;
	c->ud = ud;
	c->ud_free = ud_free;
	const char *err = NULL;
	if (imap_search_parse_keys(args, nargs, &cmd->arena, &c->q, &err) < 0) {
		imap_tagged(s, cmd, "BAD", NULL, "%s", err ? err : "Invalid search criteria");
		return IMAP_DONE;
	}
	c->q.ret = ret & IMAP_SEARCH_RET_SAVE; /* a NO empties $ (search_no) */
	if (q)
		*q = &c->q;
	return start(s, cmd, c);
}

enum imap_cmd_result imap_search_continue(struct imap_session *s, struct imap_cmd *cmd)
{
	return run(s, cmd);
}

void *imap_search_ud(const struct imap_cmd *cmd)
{
	const struct search_ctx *c = cmd->ctx;
	return c ? c->ud : NULL;
}

enum imap_cmd_result imap_cmd_search(struct imap_session *s, struct imap_cmd *cmd)
{
	if (cmd->step > 0)
		return run(s, cmd);
	struct search_ctx *c = new_ctx(s, cmd);
	c->done = reply;
	c->ud = c;
	const char *err = NULL;
	int r = imap_search_parse(cmd->args, cmd->nargs, &cmd->arena, &c->q, &err);
	if (r == -ENOTSUP)
		return search_no(s, cmd, c, "BADCHARSET (UTF-8 US-ASCII)", err);
	if (r == 0 && (c->q.ret & IMAP_SEARCH_RET_UPDATE) &&
	    imap_search_context_exists(s, cmd->tag)) {
		/* RFC 5267 §4.3: the tag correlates the updates */
		imap_tagged(s, cmd, "BAD", NULL, "Tag reuse: an update context has this tag");
		return IMAP_DONE;
	}
	if (r < 0) {
		imap_tagged(s, cmd, "BAD", NULL, "%s", err ? err : "Invalid SEARCH");
		return IMAP_DONE;
	}
	return start(s, cmd, c);
}

/* Steps 1-3 (the top of this file), then found(). */
static enum imap_cmd_result run(struct imap_session *s, struct imap_cmd *cmd)
{
	struct search_ctx *c = cmd->ctx;

	if (cmd->step == 1) {
		if (c->status < 0) {
			imap_log(s, LOG_ERROR, "event=search_index_failed err=%d", c->status);
			return search_no(s, cmd, c, "UNAVAILABLE",
			                 "Cannot index the mailbox, try again");
		}
		uint32_t view_last = s->sel.uids[s->sel.count - 1];
		int r = store_index_missing_in(imap_reader(s), s->sel.mailbox_id,
		                               indexed_upto(s->sel.mailbox_id), view_last);
		if (r == 1 && (c->idx.done > 0 || c->idx.mailbox_id == 0)) {
			/* how many are left is not known: no GOAL */
			c->indexed += (uint64_t)(c->idx.done > 0 ? c->idx.done : 0);
			imap_progress(s, cmd, c->indexed, 0);
			c->idx.mailbox_id = s->sel.mailbox_id;
			c->idx.limit = 200;
			if (store_submit_lazy(imap_store(s), index_job, index_done, c) == 0)
				return IMAP_ASYNC;
		}
		if (r == 0)
			set_indexed_upto(s->sel.mailbox_id, view_last);
		cmd->step = 2;
	}

	if (cmd->step == 2) {
		for (size_t i = 0; i < c->q.nfts; i++) {
			struct imap_search_fts *f = &c->q.fts[i];
			if (f->off)
				continue;
			int r = store_search_text(imap_reader(s), s->sel.mailbox_id, f->needle,
			                          f->len, f->scope, &f->uids, &f->n);
			if (r < 0) {
				imap_log(s, LOG_ERROR, "event=search_fts_error err=%d", r);
				return search_no(s, cmd, c, "UNAVAILABLE", "Search failed");
			}
		}
		c->next_uid = 0;
		cmd->step = 3;
		if (s->sel.count == 0)
			return found(s, cmd, c);
	}

	unsigned need = c->need;
	if (cmd->step == 3 && !need) {
		/* UIDs, sequence numbers, \Recent and the FTS lists decide: the
		 * session's view is enough, no entry is read. */
		for (uint32_t i = 0; i < s->sel.count; i++) {
			struct imap_search_msg m = {
			    .seq = i + 1,
			    .uid = s->sel.uids[i],
			    .recent = imap_is_recent(s, s->sel.uids[i]),
			};
			if (imap_search_match(&c->q, c->q.root, &m) && add_hit(c, m.uid) < 0) {
				return search_no(s, cmd, c, "UNAVAILABLE", "Search failed");
			}
		}
		return found(s, cmd, c);
	}

	if (cmd->step == 3) {
		/* A BODY/TEXT key or a header prefilter that the whole query
		 * requires, with few hits: read only those entries. */
		const struct imap_search_fts *f = required_list(&c->q);
		if (f && f->n <= SEARCH_SLICE && f->n * 4 < s->sel.count) {
			for (size_t i = 0; i < f->n; i++) {
				int r = store_entries_range(imap_reader(s), s->sel.mailbox_id,
				                            f->uids[i], f->uids[i], 1,
				                            search_cols(need), scan_cb, c);
				if (r < 0) {
					return search_no(s, cmd, c, "UNAVAILABLE", "Search failed");
				}
			}
			return found(s, cmd, c);
		}
	}

	if (cmd->step == 3) {
		uint32_t last = s->sel.uids[s->sel.count - 1];
		if (c->next_uid >= last)
			return found(s, cmd, c);
		uint32_t from = c->next_uid + 1;
		c->next_uid = last; /* unless the slice stops early */
		enum store_entry_cols cols = search_cols(need);
		c->hc = NULL;
		if ((need & IMAP_NEED_HEADERS) && s->sel.count < prefilter_min()) {
			c->hc = imap_header_cache_get(imap_reader(s), s->sel.mailbox_id,
			                              s->sel.uidvalidity, s->sel.count);
			if (c->hc) /* then only the entries (and sizes) from the store */
				cols = search_cols(need & ~(unsigned)IMAP_NEED_HEADERS);
		}
		int r = store_entries_range(imap_reader(s), s->sel.mailbox_id, from, last,
		                            SEARCH_SLICE, cols, scan_cb, c);
		if (r < 0) {
			return search_no(s, cmd, c, "UNAVAILABLE", "Search failed");
		}
		if ((size_t)r < SEARCH_SLICE)
			return found(s, cmd, c);
		c->scanned += (uint64_t)r;
		imap_progress(s, cmd, c->scanned, s->sel.count);
		return IMAP_AGAIN;
	}
	return found(s, cmd, c);
}
