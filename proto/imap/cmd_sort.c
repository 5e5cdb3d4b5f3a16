/* cmd_sort: SORT and THREAD (RFC 5256), SORT=DISPLAY (RFC 5957) and the
 * RETURN options of ESORT (RFC 5267 §3).
 *
 * The criteria after the charset are SEARCH's: cmd_search.c finds the
 * messages (imap_search_start) and hands their UIDs to found() here. Then:
 *   load   the sort record of each message found (sort_keys.h), from the
 *          mailbox's cache (sort_cache.c), which reads what it lacks as
 *          the indexer stored it (store_sort_rows, LOAD_SLICE rows per
 *          call, IMAP_AGAIN between slices) or, for mail the indexer has
 *          not reached yet, from the message's header; a mailbox too big
 *          for the cache is read here the same way;
 *   order  qsort by the criteria with memcmp on the collation keys (the
 *          first string key's first 8 bytes compared as a number first),
 *          the sequence number last (§3: "an implicit sort criterion");
 *          an ESORT that reports only MIN/MAX/COUNT/PARTIAL selects just
 *          those positions (order_items); or thread (thread.c);
 *   reply  "* SORT", "* THREAD", or ESEARCH through esearch.c's writer,
 *          so RETURN options (PARTIAL and SAVE too) mean the same for
 *          SEARCH and SORT; MIN and MAX are the first and last in the
 *          sort order (RFC 5267 §3.2); RETURN (UPDATE) leaves a
 *          CONTEXT=SORT context (RFC 5267 §4.3) behind: the query with
 *          search_context.c, the ordered records with sort_context.c
 *          (keep_context below), CONTEXT is a hint and ignored.
 * Loading runs in slices and reports INPROGRESS (progress.c) as SEARCH
 * does.
 * Memory is bounded by the mailbox: one item per message found, and of
 * its record only the fields the criteria use (offsets into the cache's
 * records, or copies when the mailbox is too big for the cache). */
#include "proto/imap/imap_int.h"
#include "proto/imap/search_keys.h"
#include "proto/imap/sort_keys.h"
#include "proto/imap/thread.h"
#include "proto/imap/index.h"
#include "proto/imap/sort_cache.h"
#include "proto/imap/esearch.h"
#include "proto/imap/sort_context.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "store/entries.h"
#include "store/msg_index.h"

#define LOAD_SLICE 20000
#define MAX_CRITERIA 16

enum sort_key {
	K_ARRIVAL,
	K_CC,
	K_DATE,
	K_FROM,
	K_SIZE,
	K_SUBJECT,
	K_TO,
	K_DISPLAYFROM,
	K_DISPLAYTO,
};

static const struct {
	const char *name;
	enum sort_key key;
	int field; /* sort record field, -1 for none */
} sort_keys[] = {
    {"ARRIVAL", K_ARRIVAL, -1},
    {"CC", K_CC, IMAP_SF_CC},
    {"DATE", K_DATE, -1},
    {"FROM", K_FROM, IMAP_SF_FROM},
    {"SIZE", K_SIZE, -1},
    {"SUBJECT", K_SUBJECT, IMAP_SF_SUBJECT},
    {"TO", K_TO, IMAP_SF_TO},
    {"DISPLAYFROM", K_DISPLAYFROM, IMAP_SF_DISPLAYFROM},
    {"DISPLAYTO", K_DISPLAYTO, IMAP_SF_DISPLAYTO},
};

struct criterion {
	enum sort_key key;
	int field; /* record field, or -1 */
	int slot;  /* its string among the item's slices, or -1 */
	bool reverse;
};

struct slice {
	uint32_t off, len; /* from sort_ctx.base, or in sort_ctx.strings */
};

struct item {
	uint32_t uid, seq;
	int64_t arrival, size, date;
	uint64_t pfx; /* the first criterion's key's first 8 bytes, big-endian */
	bool reply;
};

struct sort_ctx {
	bool thread;
	enum imap_thread_alg alg;
	struct criterion crit[MAX_CRITERIA];
	size_t ncrit;
	bool pfx;                  /* items' pfx set: compare them before the strings */
	int fields[IMAP_SF_COUNT]; /* record field -> slot, or -1 */
	size_t nslots;
	bool esort;
	unsigned ret;
	struct imap_partial partial; /* RETURN (PARTIAL) */
	uint64_t cached;             /* rows the cache read for this command (INPROGRESS) */
	bool loading;
	bool direct; /* the mailbox is too big for sort_cache.c */
	/* from the search */
	const uint32_t *uids;
	size_t n, next;
	const struct imap_search *q; /* for RETURN (UPDATE) */
	int64_t maxmodseq;
	bool has_modseq;
	/* loaded */
	struct item *items;
	struct slice *slices; /* n * nslots */
	const char *base;     /* the cache's records (not copied), or NULL */
	struct buf strings;   /* the records' strings read from the store */
	struct buf tmp;
	struct imap_session *s;
	int error;
};

static void sort_ctx_free(void *ud)
{
	struct sort_ctx *c = ud;
	free(c->items);
	free(c->slices);
	buf_free(&c->strings);
	buf_free(&c->tmp);
}

static const char *str_of(const struct sort_ctx *c, size_t i, int slot, size_t *len)
{
	if (slot < 0) {
		*len = 0;
		return "";
	}
	const struct slice *s = &c->slices[i * c->nslots + (size_t)slot];
	*len = s->len;
	if (c->base)
		return c->base + s->off;
	return c->strings.data ? c->strings.data + s->off : "";
}

/* ---- loading ---- */

static int keep_record(struct sort_ctx *c, size_t i, const void *rec, size_t len)
{
	struct imap_sort_info info;
	struct item *it = &c->items[i];
	if (!rec || imap_sort_record_parse(rec, len, &info) < 0)
		return 0; /* no keys: empty strings, the internal date */
	it->reply = info.flags & IMAP_SORT_REPLY;
	if (info.flags & IMAP_SORT_HAS_DATE)
		it->date = info.sent_time;
	for (int f = 0; f < IMAP_SF_COUNT; f++) {
		int slot = c->fields[f];
		if (slot < 0)
			continue;
		struct slice *s = &c->slices[i * c->nslots + (size_t)slot];
		s->len = (uint32_t)info.f[f].len;
		if (c->base) { /* rec is in the cache: no copy */
			s->off = info.f[f].len ? (uint32_t)(info.f[f].p - c->base) : 0;
			continue;
		}
		s->off = (uint32_t)c->strings.len;
		if (info.f[f].len && buf_add(&c->strings, info.f[f].p, info.f[f].len) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int load_cb(void *ud, const struct store_sort_row *r)
{
	struct sort_ctx *c = ud;
	while (c->next < c->n && c->uids[c->next] < r->uid)
		c->next++;
	if (c->next >= c->n || c->uids[c->next] != r->uid)
		return 0;
	size_t i = c->next++;
	struct item *it = &c->items[i];
	it->arrival = r->internal_date;
	it->size = r->size;
	it->date = r->internal_date;
	if (r->keys)
		return keep_record(c, i, r->keys, r->keys_len);
	/* not indexed yet: from the header, as the indexer would */
	buf_reset(&c->tmp);
	int e = imap_sort_record_read(imap_reader(c->s), r->message_id, &c->tmp);
	if (e == -ENOMEM)
		return e;
	return keep_record(c, i, e == 0 ? c->tmp.data : NULL, c->tmp.len);
}

/* ---- ordering ---- */

static int cmp_bytes(const char *a, size_t al, const char *b, size_t bl)
{
	size_t l = al < bl ? al : bl;
	int r = l ? memcmp(a, b, l) : 0;
	if (r == 0 && al != bl)
		r = al < bl ? -1 : 1;
	return r;
}

static int cmp_i64(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

static int cmp_items(const void *pa, const void *pb, void *arg)
{
	const struct sort_ctx *c = arg;
	size_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
	const struct item *x = &c->items[a], *y = &c->items[b];
	if (c->pfx && x->pfx != y->pfx) { /* the strings differ in 8 bytes */
		int r = x->pfx < y->pfx ? -1 : 1;
		return c->crit[0].reverse ? -r : r;
	}
	for (size_t k = 0; k < c->ncrit; k++) {
		const struct criterion *cr = &c->crit[k];
		int r;
		switch (cr->key) {
		case K_ARRIVAL:
			r = cmp_i64(x->arrival, y->arrival);
			break;
		case K_DATE:
			r = cmp_i64(x->date, y->date);
			break;
		case K_SIZE:
			r = cmp_i64(x->size, y->size);
			break;
		default: {
			size_t al, bl;
			const char *as = str_of(c, a, cr->slot, &al);
			const char *bs = str_of(c, b, cr->slot, &bl);
			r = cmp_bytes(as, al, bs, bl);
		}
		}
		if (r)
			return cr->reverse ? -r : r;
	}
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->uid < y->uid ? -1 : x->uid > y->uid; /* a total order */
}

static void swap_u32(uint32_t *a, uint32_t *b)
{
	uint32_t t = *a;
	*a = *b;
	*b = t;
}

/* Quickselect: v[lo..hi) rearranged so that v[k] is what a full sort
 * would put there, smaller ones before it, larger ones after. Depth
 * bounded: past it, the rest is sorted (O(n log n) at worst). */
static void select_nth(uint32_t *v, size_t lo, size_t hi, size_t k, struct sort_ctx *c)
{
	int depth = 64;
	while (hi - lo > 8) {
		if (--depth == 0)
			break;
		size_t mid = lo + (hi - lo) / 2;
		/* median of three to v[lo] as the pivot */
		if (cmp_items(&v[mid], &v[lo], c) < 0)
			swap_u32(&v[mid], &v[lo]);
		if (cmp_items(&v[hi - 1], &v[lo], c) < 0)
			swap_u32(&v[hi - 1], &v[lo]);
		if (cmp_items(&v[hi - 1], &v[mid], c) < 0)
			swap_u32(&v[hi - 1], &v[mid]);
		swap_u32(&v[lo], &v[mid]);
		size_t store = lo + 1;
		for (size_t i = lo + 1; i < hi; i++)
			if (cmp_items(&v[i], &v[lo], c) < 0)
				swap_u32(&v[i], &v[store++]);
		swap_u32(&v[lo], &v[store - 1]);
		size_t p = store - 1;
		if (k == p)
			return;
		if (k < p)
			hi = p;
		else
			lo = p + 1;
	}
	qsort_r(v + lo, hi - lo, sizeof *v, cmp_items, c);
}

/* Put the ends at the ends: v[at] becomes the least (dir < 0) or the
 * greatest of v[lo..hi). */
static void extreme_to(uint32_t *v, size_t lo, size_t hi, size_t at, int dir, struct sort_ctx *c)
{
	size_t best = lo;
	for (size_t i = lo + 1; i < hi; i++)
		if (cmp_items(&v[i], &v[best], c) * dir > 0)
			best = i;
	swap_u32(&v[at], &v[best]);
}

/* Sort order[0..n) as far as the reply reads it: all of it, unless an
 * ESORT asks only for MIN, MAX, COUNT and/or a PARTIAL range (a
 * webmail's page of 50 of 100,000): then only positions 0 and n - 1 and
 * the range are right, found in O(n) by selection, not O(n log n); SAVE
 * reads the same positions or keeps the whole set, which is unordered.
 * RETURN (UPDATE) keeps the whole order (keep_context): sorted all. */
static void order_items(struct sort_ctx *c, uint32_t *order, size_t n)
{
	/* A string first criterion: its first 8 bytes as a number (zero
	 * padded, so a shorter key still comes first), compared before the
	 * strings; most comparisons then touch no string at all. */
	if (c->ncrit && c->crit[0].slot >= 0) {
		for (size_t i = 0; i < n; i++) {
			size_t len;
			const char *p = str_of(c, i, c->crit[0].slot, &len);
			uint64_t v = 0;
			for (size_t k = 0; k < 8; k++)
				v = v << 8 | (k < len ? (unsigned char)p[k] : 0);
			c->items[i].pfx = v;
		}
		c->pfx = true;
	}
	if (!c->esort || (c->ret & (IMAP_SEARCH_RET_ALL | IMAP_SEARCH_RET_UPDATE)) || n < 64) {
		qsort_r(order, n, sizeof *order, cmp_items, c);
		return;
	}
	size_t from = 0, to = 0;
	if (c->ret & IMAP_SEARCH_RET_PARTIAL)
		imap_partial_slice(&c->partial, n, &from, &to);
	if (from < to) {
		if (from > 0)
			select_nth(order, 0, n, from, c);
		if (to < n)
			select_nth(order, from, n, to, c);
		qsort_r(order + from, to - from, sizeof *order, cmp_items, c);
	}
	if ((c->ret & IMAP_SEARCH_RET_MIN) && from == to)
		extreme_to(order, 0, n, 0, -1, c);
	else if ((c->ret & IMAP_SEARCH_RET_MIN) && from > 0)
		extreme_to(order, 0, from, 0, -1, c);
	if ((c->ret & IMAP_SEARCH_RET_MAX) && from == to) /* v[0] is no max */
		extreme_to(order, (c->ret & IMAP_SEARCH_RET_MIN) ? 1 : 0, n, n - 1, 1, c);
	else if ((c->ret & IMAP_SEARCH_RET_MAX) && to < n)
		extreme_to(order, to, n, n - 1, 1, c);
}

/* ---- replies ---- */

/* " <n>" at p (at most 11 bytes); returns the bytes written. A SORT of
 * 100,000 messages writes as many numbers: no printf per number. */
static size_t put_num(char *p, uint32_t v)
{
	char d[10];
	size_t n = 0;
	do {
		d[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	p[0] = ' ';
	for (size_t i = 0; i < n; i++)
		p[1 + i] = d[n - 1 - i];
	return n + 1;
}

/* The MODSEQ of an ESORT reply with a MODSEQ key, as SEARCH's
 * (RFC 4731 §3.2, RFC 7162 §3.1.10): with MIN and/or MAX but neither ALL
 * nor COUNT, the higher of those messages' (here the first and the last
 * in the sort order, read now); otherwise the highest of all found. */
static int64_t esort_modseq(struct imap_session *s, const struct sort_ctx *c, const uint32_t *uids,
                            size_t n)
{
	bool min = c->ret & IMAP_SEARCH_RET_MIN, max = c->ret & IMAP_SEARCH_RET_MAX;
	if (!n || (c->ret & (IMAP_SEARCH_RET_ALL | IMAP_SEARCH_RET_COUNT)) || !(min || max))
		return c->maxmodseq;
	int64_t best = 0;
	for (int k = 0; k < 2; k++) {
		if (!(k == 0 ? min : max))
			continue;
		uint32_t flags;
		int64_t m;
		char kw[1024];
		if (store_entry_flags(imap_reader(s), s->sel.mailbox_id,
		                      k == 0 ? uids[0] : uids[n - 1], &flags, &m, kw,
		                      sizeof kw) != 1)
			return c->maxmodseq; /* gone since the search: the highest found */
		if (m > best)
			best = m;
	}
	return best;
}

/* RETURN (UPDATE): the records in their order (order[0..n)) become a
 * CONTEXT=SORT context; the end of the tagged OK's text, or "". */
static const char *keep_context(struct imap_session *s, struct imap_cmd *cmd, struct sort_ctx *c,
                                const uint32_t *order)
{
	if (!c->esort || !(c->ret & IMAP_SEARCH_RET_UPDATE))
		return "";
	struct imap_sort_spec spec = {.ncrit = c->ncrit};
	for (size_t k = 0; k < c->ncrit; k++) {
		const struct criterion *cr = &c->crit[k];
		spec.crit[k].by = cr->key == K_ARRIVAL ? IMAP_SORT_BY_ARRIVAL
		                  : cr->key == K_DATE  ? IMAP_SORT_BY_DATE
		                  : cr->key == K_SIZE  ? IMAP_SORT_BY_SIZE
		                                       : IMAP_SORT_BY_FIELD;
		spec.crit[k].field = cr->field;
		spec.crit[k].reverse = cr->reverse;
	}
	struct imap_sort_result *r = imap_sort_result_new(&spec);
	int e = r ? 0 : -ENOMEM;
	size_t key_bytes = 0, len;
	for (size_t i = 0; e == 0 && i < c->n; i++)
		for (int f = 0; f < IMAP_SF_COUNT; f++)
			if (c->fields[f] >= 0 && str_of(c, i, c->fields[f], &len))
				key_bytes += len;
	if (e == 0)
		e = imap_sort_result_reserve(r, c->n, key_bytes);
	for (size_t i = 0; e == 0 && i < c->n; i++) {
		const struct item *it = &c->items[order[i]];
		struct imap_sort_rec rec = {
		    .uid = it->uid, .arrival = it->arrival, .date = it->date, .size = it->size};
		for (int f = 0; f < IMAP_SF_COUNT; f++)
			if (c->fields[f] >= 0)
				rec.str[f] = str_of(c, order[i], c->fields[f], &rec.len[f]);
		e = imap_sort_result_append(r, &rec);
	}
	if (e == 0)
		e = imap_sort_context_keep(s, cmd, c->q, c->uids, c->n, r);
	if (e == 0)
		return ", will notify"; /* the context holds r, and cmd's arena */
	imap_sort_result_free(r);
	imap_printf(s, "* NO [NOUPDATE \"%s\"] %s\r\n", cmd->tag,
	            e == -ENOSPC    ? "Too many contexts"
	            : e == -ENOTSUP ? "No updates for BODY or TEXT"
	            : e == -E2BIG   ? "Too many messages in sort contexts"
	                            : "Out of memory");
	return ", will not notify";
}

static enum imap_cmd_result reply_sort(struct imap_session *s, struct imap_cmd *cmd,
                                       struct sort_ctx *c)
{
	size_t n = c->n;
	uint32_t *order = malloc((n ? n : 1) * sizeof *order);
	uint32_t *nums = malloc((n ? n : 1) * sizeof *nums);
	uint32_t *uids = malloc((n ? n : 1) * sizeof *uids);
	if (!order || !nums || !uids) {
		free(order);
		free(nums);
		free(uids);
		imap_tagged(s, cmd, "NO", "SERVERBUG", "Out of memory");
		return IMAP_DONE;
	}
	for (size_t i = 0; i < n; i++)
		order[i] = (uint32_t)i;
	order_items(c, order, n);
	for (size_t i = 0; i < n; i++) {
		const struct item *it = &c->items[order[i]];
		nums[i] = cmd->uid ? it->uid : it->seq;
		uids[i] = it->uid;
	}
	if (c->esort && (c->ret & IMAP_SEARCH_RET_SAVE) &&
	    !imap_search_save_hits(s, uids, n, c->ret, &c->partial)) {
		free(order);
		free(nums);
		free(uids);
		imap_tagged(s, cmd, "NO", "NOTSAVED", "Out of memory, result not saved");
		return IMAP_DONE;
	}
	if (!c->esort) {
		struct buf b = {0};
		char num[64];
		buf_adds(&b, "* SORT");
		char *line = malloc(n * 11 + 1);
		if (!line) {
			free(order);
			free(nums);
			free(uids);
			buf_free(&b);
			imap_tagged(s, cmd, "NO", "SERVERBUG", "Out of memory");
			return IMAP_DONE;
		}
		size_t w = 0;
		for (size_t i = 0; i < n; i++)
			w += put_num(line + w, nums[i]);
		buf_add(&b, line, w);
		free(line);
		if (c->has_modseq && n) {
			snprintf(num, sizeof num, " (MODSEQ %lld)", (long long)c->maxmodseq);
			buf_adds(&b, num);
		}
		buf_adds(&b, "\r\n");
		imap_write(s, b.data, b.len);
		buf_free(&b);
	} else {
		struct imap_esearch e = {
		    .tag = cmd->tag,
		    .uid = cmd->uid,
		    .ret = c->ret,
		    .partial = c->partial,
		    .nums = nums,
		    .n = n,
		    .has_modseq = c->has_modseq,
		    .modseq = c->has_modseq ? esort_modseq(s, c, uids, n) : 0,
		};
		imap_esearch_write(s, &e); /* nothing for a lone SAVE */
	}
	const char *done = keep_context(s, cmd, c, order);
	free(order);
	free(nums);
	free(uids);
	imap_tagged(s, cmd, "OK", imap_expunge_issued(s), "%sSORT completed%s",
	            cmd->uid ? "UID " : "", done);
	return IMAP_DONE;
}

static enum imap_cmd_result reply_thread(struct imap_session *s, struct imap_cmd *cmd,
                                         struct sort_ctx *c)
{
	struct imap_thread_msg *m = calloc(c->n ? c->n : 1, sizeof *m);
	if (!m) {
		imap_tagged(s, cmd, "NO", "SERVERBUG", "Out of memory");
		return IMAP_DONE;
	}
	for (size_t i = 0; i < c->n; i++) {
		const struct item *it = &c->items[i];
		m[i].num = cmd->uid ? it->uid : it->seq;
		m[i].seq = it->seq;
		m[i].date = it->date;
		m[i].reply = it->reply;
		m[i].subj = str_of(c, i, c->fields[IMAP_SF_SUBJECT], &m[i].subjlen);
		m[i].msgid = str_of(c, i, c->fields[IMAP_SF_MSGID], &m[i].msgidlen);
		m[i].refs = str_of(c, i, c->fields[IMAP_SF_REFS], &m[i].refslen);
	}
	struct buf b = {0};
	buf_adds(&b, "* THREAD");
	size_t head = b.len;
	buf_addc(&b, ' ');
	int r = imap_thread(c->alg, m, c->n, &b);
	free(m);
	if (r < 0) {
		buf_free(&b);
		imap_tagged(s, cmd, "NO", "SERVERBUG", "Out of memory");
		return IMAP_DONE;
	}
	if (b.len == head + 1)
		b.len = head;
	buf_adds(&b, "\r\n");
	imap_write(s, b.data, b.len);
	buf_free(&b);
	imap_tagged(s, cmd, "OK", imap_expunge_issued(s), "%sTHREAD completed",
	            cmd->uid ? "UID " : "");
	return IMAP_DONE;
}

static enum imap_cmd_result reply(struct imap_session *s, struct imap_cmd *cmd, struct sort_ctx *c)
{
	return c->thread ? reply_thread(s, cmd, c) : reply_sort(s, cmd, c);
}

/* The records from the mailbox's cache, brought up to date a slice at a
 * time; -EFBIG: not cached. */
static int load_cached(struct imap_session *s, struct sort_ctx *c)
{
	struct imap_sort_cache *sc;
	int r = imap_sort_cache_get(imap_reader(s), s->sel.mailbox_id, s->sel.uidvalidity,
	                            c->uids[c->n - 1], LOAD_SLICE, &sc);
	if (r <= 0)
		return r;
	/* the reply follows at once, before the cache can change: the
	 * strings stay where the cache keeps them */
	c->base = imap_sort_cache_data(sc);
	size_t pos = 0;
	for (size_t i = 0; i < c->n; i++) {
		struct imap_sort_cached tmp;
		const struct imap_sort_cached *e = imap_sort_cache_next(sc, c->uids[i], &pos, &tmp);
		if (!e)
			continue; /* expunged meanwhile: empty keys */
		struct item *it = &c->items[i];
		it->arrival = it->date = e->arrival;
		it->size = e->size;
		if (keep_record(c, i, e->rec, e->len) < 0)
			return -ENOMEM;
	}
	return 1;
}

/* Load a slice of records; reply when all are in. */
static enum imap_cmd_result load(struct imap_session *s, struct imap_cmd *cmd, struct sort_ctx *c)
{
	if (c->n > 0 && !c->direct) {
		int r = load_cached(s, c);
		if (r == 0) {
			/* how many rows the cache still lacks is not known: no GOAL */
			c->cached += LOAD_SLICE;
			imap_progress(s, cmd, c->cached, 0);
			return IMAP_AGAIN;
		}
		if (r == 1)
			return reply(s, cmd, c);
		if (r != -EFBIG) {
			imap_log(s, LOG_ERROR, "event=sort_load_failed err=%d", r);
			imap_tagged(s, cmd, "NO", "UNAVAILABLE",
			            "Cannot read the mailbox, try again");
			return IMAP_DONE;
		}
		c->direct = true;
		c->next = 0;
		c->base = NULL;
		buf_reset(&c->strings);
	}
	if (c->n > 0 && c->next < c->n) {
		int r = store_sort_rows(imap_reader(s), s->sel.mailbox_id, c->uids[c->next],
		                        c->uids[c->n - 1], LOAD_SLICE, load_cb, c);
		if (r < 0) {
			imap_log(s, LOG_ERROR, "event=sort_load_failed err=%d", r);
			imap_tagged(s, cmd, "NO", "UNAVAILABLE",
			            "Cannot read the mailbox, try again");
			return IMAP_DONE;
		}
		if (r == LOAD_SLICE && c->next < c->n) {
			imap_progress(s, cmd, c->next, c->n);
			return IMAP_AGAIN;
		}
	}
	return reply(s, cmd, c);
}

static enum imap_cmd_result found(struct imap_session *s, struct imap_cmd *cmd,
                                  const struct imap_search_found *f)
{
	struct sort_ctx *c = f->ud;
	c->uids = f->uids;
	c->n = f->n;
	c->maxmodseq = f->maxmodseq;
	c->has_modseq = f->q->has_modseq;
	c->q = f->q;
	c->loading = true;
	c->items = calloc(c->n ? c->n : 1, sizeof *c->items);
	c->slices = calloc((c->n ? c->n : 1) * (c->nslots ? c->nslots : 1), sizeof *c->slices);
	if (!c->items || !c->slices) {
		imap_tagged(s, cmd, "NO", "SERVERBUG", "Out of memory");
		return IMAP_DONE;
	}
	/* the hits ascend, as the view does: one pass for the numbers */
	size_t j = 0;
	for (size_t i = 0; i < c->n; i++) {
		uint32_t uid = c->uids[i];
		while (j < s->sel.count && s->sel.uids[j] < uid)
			j++;
		c->items[i].uid = uid;
		c->items[i].seq = j < s->sel.count && s->sel.uids[j] == uid ? (uint32_t)j + 1 : 0;
	}
	return load(s, cmd, c);
}

/* ---- parsing ---- */

static int use_field(struct sort_ctx *c, int field)
{
	if (field < 0)
		return -1;
	if (c->fields[field] < 0)
		c->fields[field] = (int)c->nslots++;
	return c->fields[field];
}

static int parse_criteria(struct sort_ctx *c, const struct imap_arg *l, const char **err)
{
	if (!l || l->type != IMAP_ARG_LIST || l->nlist == 0) {
		*err = "Sort criteria must be a non-empty list";
		return -EINVAL;
	}
	bool reverse = false;
	for (size_t i = 0; i < l->nlist; i++) {
		const struct imap_arg *a = &l->list[i];
		if (a->type != IMAP_ARG_ATOM) {
			*err = "Invalid sort criterion";
			return -EINVAL;
		}
		if (strcasecmp(a->str, "REVERSE") == 0) {
			if (reverse) {
				*err = "REVERSE REVERSE";
				return -EINVAL;
			}
			reverse = true;
			continue;
		}
		size_t k = 0;
		while (k < sizeof sort_keys / sizeof sort_keys[0] &&
		       strcasecmp(a->str, sort_keys[k].name) != 0)
			k++;
		if (k == sizeof sort_keys / sizeof sort_keys[0]) {
			*err = "Unknown sort criterion";
			return -EINVAL;
		}
		if (c->ncrit == MAX_CRITERIA) {
			*err = "Too many sort criteria";
			return -EINVAL;
		}
		struct criterion *cr = &c->crit[c->ncrit++];
		cr->key = sort_keys[k].key;
		cr->field = sort_keys[k].field;
		cr->slot = use_field(c, cr->field);
		cr->reverse = reverse;
		reverse = false;
	}
	if (reverse) {
		*err = "REVERSE without a sort key";
		return -EINVAL;
	}
	return 0;
}

/* The charset at args[i]: true if accepted, else the reply is written. */
static bool charset_ok(struct imap_session *s, struct imap_cmd *cmd, size_t i)
{
	const char *cs;
	size_t len;
	if (i >= cmd->nargs || !imap_arg_astring(&cmd->args[i], &cs, &len)) {
		imap_tagged(s, cmd, "BAD", NULL, "Missing charset");
		return false;
	}
	if (i + 1 >= cmd->nargs) {
		imap_tagged(s, cmd, "BAD", NULL, "Missing search criteria");
		return false;
	}
	if (!imap_search_charset_ok(cs)) {
		imap_tagged(s, cmd, "NO", "BADCHARSET (UTF-8 US-ASCII)", "Unsupported charset");
		return false;
	}
	return true;
}

static struct sort_ctx *new_sort_ctx(struct imap_session *s, struct imap_cmd *cmd)
{
	struct sort_ctx *c = imap_arena_alloc(&cmd->arena, sizeof *c);
	c->s = s;
	for (int f = 0; f < IMAP_SF_COUNT; f++)
		c->fields[f] = -1;
	return c;
}

static enum imap_cmd_result resume(struct imap_session *s, struct imap_cmd *cmd)
{
	struct sort_ctx *c = imap_search_ud(cmd);
	return c->loading ? load(s, cmd, c) : imap_search_continue(s, cmd);
}

enum imap_cmd_result imap_cmd_sort(struct imap_session *s, struct imap_cmd *cmd)
{
	if (imap_search_ud(cmd))
		return resume(s, cmd);
	struct sort_ctx *c = new_sort_ctx(s, cmd);
	const char *err = NULL;
	size_t i = 0;
	if (cmd->nargs > 0 && imap_arg_is_atom(&cmd->args[0], "RETURN")) {
		if (imap_search_return_parse(cmd->nargs > 1 ? &cmd->args[1] : NULL, &c->ret,
		                             &c->partial, &err) < 0) {
			imap_tagged(s, cmd, "BAD", NULL, "%s", err);
			return IMAP_DONE;
		}
		if ((c->ret & IMAP_SEARCH_RET_UPDATE) && imap_search_context_exists(s, cmd->tag)) {
			/* RFC 5267 §4.3: the tag correlates the updates */
			imap_tagged(s, cmd, "BAD", NULL,
			            "Tag reuse: an update context has this tag");
			return IMAP_DONE;
		}
		c->esort = true;
		i = 2;
	}
	if (parse_criteria(c, i < cmd->nargs ? &cmd->args[i] : NULL, &err) < 0) {
		imap_tagged(s, cmd, "BAD", NULL, "%s", err);
		return IMAP_DONE;
	}
	if (!charset_ok(s, cmd, i + 1))
		return IMAP_DONE;
	return imap_search_start(s, cmd, cmd->args + i + 2, cmd->nargs - i - 2, found, c,
	                         sort_ctx_free, c->esort ? c->ret : 0, NULL);
}

enum imap_cmd_result imap_cmd_thread(struct imap_session *s, struct imap_cmd *cmd)
{
	if (imap_search_ud(cmd))
		return resume(s, cmd);
	struct sort_ctx *c = new_sort_ctx(s, cmd);
	c->thread = true;
	if (cmd->nargs == 0) {
		imap_tagged(s, cmd, "BAD", NULL, "Missing threading algorithm");
		return IMAP_DONE;
	}
	if (imap_arg_is_atom(&cmd->args[0], "REFERENCES"))
		c->alg = IMAP_THREAD_REFERENCES;
	else if (imap_arg_is_atom(&cmd->args[0], "ORDEREDSUBJECT"))
		c->alg = IMAP_THREAD_ORDEREDSUBJECT;
	else {
		imap_tagged(s, cmd, "BAD", NULL, "Unknown threading algorithm");
		return IMAP_DONE;
	}
	use_field(c, IMAP_SF_SUBJECT);
	if (c->alg == IMAP_THREAD_REFERENCES) {
		use_field(c, IMAP_SF_MSGID);
		use_field(c, IMAP_SF_REFS);
	}
	if (!charset_ok(s, cmd, 1))
		return IMAP_DONE;
	return imap_search_start(s, cmd, cmd->args + 2, cmd->nargs - 2, found, c, sort_ctx_free, 0,
	                         NULL);
}
