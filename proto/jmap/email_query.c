/* email_query: Email/query and Email/queryChanges (RFC 8621 §4.4, §4.5).
 *
 * A query reads the entries in scope into memory, one row per entry:
 * the one mailbox of a top-level inMailbox condition, else every mailbox
 * of the account (then the rows of a message held by several mailboxes
 * are grouped into one Email). Text conditions are answered first by the
 * store's full-text index (store_search_text, what IMAP SEARCH uses),
 * mailbox by mailbox, into a bit per condition on each row; the filter
 * tree is then evaluated per Email, the survivors sorted, threads
 * collapsed, and the window cut.
 *
 * Why in memory: the SQL tables have no index on size or on the header
 * fields, and a query must also see flags and keywords. A mailbox of
 * 100k entries is read in one pass of mailbox_entries alone
 * (store_email_rows, no message page; keywords copied only when a
 * condition needs them) and ordered on a 64-bit key per Email: checked
 * for being in order already, else radix-sorted when that key is the
 * only one (sort_items). The commonest query, one mailbox (and dates)
 * sorted by receivedAt alone, skips both: schema 18 keeps the entries'
 * arrival order in an index, which run_dates walks. The whole order is
 * then kept (email_query_cache.h) under the query and the account's
 * state, so the next page, or the same list again, costs nothing until
 * the mail changes; Email/queryChanges diffs a kept older result against
 * the new one (query_diff.h). Figures: bench/jmap_bench.py
 * --only-server-times (query+get on a 100k INBOX: ~11 ms of loop time
 * the first time, was ~21 ms reading and sorting the rows; ~1.6 ms after
 * new mail; ~1 ms again).
 *
 * Limits of this first version, each said where it applies:
 *   - text conditions read the message index: a query with one first has
 *     the writer index what is missing in its mailboxes (index_next()),
 *     so it answers from that job's completion;
 *   - from/to/cc/bcc/subject/header match a substring of the decoded
 *     field line, ASCII case-insensitively;
 *   - sentAt sorts by the day of the Date: field (the index keeps the
 *     day), from/to/subject by the decoded field text, not by RFC 5051
 *     collation keys (those are IMAP's, which JMAP may not include);
 *     a message not indexed yet sorts as if it had no such field;
 *   - with a top-level inMailbox only that mailbox is read, so keyword
 *     conditions see the keywords of the entry in it (IMAP may set an
 *     Email's entries apart; Email/get shows their union);
 *   - hasAttachment reads a bit the message index keeps (the
 *     STORE_SORT_HAS_ATTACHMENT flag of the sort record, worked out by
 *     mime/body_lists.h's rule, the one Email/get's hasAttachment
 *     uses); a message not indexed yet is read and parsed instead, so
 *     the answer never waits for the indexer nor guesses.
 *
 * The *InThreadHaveKeyword conditions need every Email of a thread, so a
 * query with one reads every mailbox; each thread's count of Emails and
 * of those with the keyword is worked out once, before the filter runs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "mime/body_lists.h"
#include "mime/mime.h"
#include "proto/jmap/email_common.h"
#include "proto/jmap/email_filter.h"
#include "proto/jmap/email_methods.h"
#include "proto/jmap/email_query_cache.h"
#include "proto/jmap/query_diff.h"
#include "store/emails.h"
#include "store/entries.h"
#include "store/mail.h"
#include "store/mailboxes.h"
#include "store/msg_index.h"
#include "store/store.h"

/* The most ids one Email/query returns (a larger limit is cut to it and
 * the response says so, RFC 8620 §5.5). */
#define JMAP_QUERY_LIMIT_MAX 1000
/* Text conditions per filter: one bit each on a row. */
#define JMAP_QUERY_MAX_TEXT 64
/* Thread keyword conditions per filter: a count each per thread. */
#define JMAP_QUERY_MAX_THREAD 8

struct qrow {
	int64_t message_id;
	int64_t thread_id;
	int64_t internal_date;
	int64_t size;
	int64_t sent;       /* sentAt sort: unix seconds of the Date: day */
	uint64_t text_hits; /* bit i: text condition i matches */
	uint32_t uidvalidity;
	uint32_t uid;
	uint32_t flags;
	uint32_t keywords;   /* offset into strings ("" at 0) */
	uint32_t sort_str;   /* offset into strings: the from/to/subject sort text */
	bool has_attachment; /* read only when the filter names hasAttachment */
};

struct qmailbox {
	int64_t id;
	uint32_t uidvalidity;
};

struct query {
	struct jmap_call *c;
	struct store_rd *rd;
	struct jmap_filter_tree filter;
	struct jmap_sort sort[JMAP_SORT_MAX];
	size_t nsort;
	bool collapse;
	enum store_entry_cols cols;
	const char *sort_field; /* "From", "To", "Subject" or NULL */
	bool need_keywords;     /* a keyword condition: rows keep their keywords */
	bool attachments;       /* the filter has a hasAttachment condition */
	struct qrow *rows;
	size_t nrows, caprows;
	struct buf strings;
	/* Emails: rows[first[i] .. first[i + 1]) */
	size_t *first;
	size_t nemails;
	/* Thread keyword conditions: a hash table of the threads */
	struct qthread *threads;
	size_t thread_mask;
	int err;
};

struct qthread {
	int64_t thread_id; /* 0: a free slot */
	uint32_t emails;
	uint32_t with[JMAP_QUERY_MAX_THREAD]; /* Emails with condition i's keyword */
};

struct qitem {
	int64_t key;
	uint32_t email;
};

static void query_free(struct query *q)
{
	free(q->threads);
	jmap_filter_tree_free(&q->filter);
	free(q->rows);
	free(q->first);
	buf_free(&q->strings);
}

static int add_string(struct query *q, const char *s, size_t n, uint32_t *off)
{
	if (n == 0) {
		*off = 0;
		return 0;
	}
	if (q->strings.len + n + 1 > UINT32_MAX)
		return -E2BIG;
	*off = (uint32_t)q->strings.len;
	int r = buf_add(&q->strings, s, n);
	return r < 0 ? r : buf_addc(&q->strings, '\0');
}

static const char *qstr(const struct query *q, uint32_t off)
{
	return q->strings.data + off;
}

/* The value of field name in decoded "Name: value\n" lines, or NULL. */
static const char *header_value(const char *headers, const char *name, size_t *len)
{
	size_t nl = strlen(name);
	for (const char *p = headers; p && *p;) {
		const char *eol = strchr(p, '\n');
		size_t ll = eol ? (size_t)(eol - p) : strlen(p);
		if (ll > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
			const char *v = p + nl + 1;
			while (v < p + ll && *v == ' ')
				v++;
			*len = (size_t)(p + ll - v);
			return v;
		}
		p = eol ? eol + 1 : NULL;
	}
	return NULL;
}

struct load {
	struct query *q;
	uint32_t uidvalidity;
};

/* A new row at the end of q->rows, or NULL (q->err set). */
static struct qrow *row_new(struct query *q)
{
	if (q->nrows == q->caprows) {
		size_t ncap = q->caprows ? q->caprows * 2 : 1024;
		struct qrow *p = realloc(q->rows, ncap * sizeof *p);
		if (!p) {
			q->err = -ENOMEM;
			return NULL;
		}
		q->rows = p;
		q->caprows = ncap;
	}
	return &q->rows[q->nrows++];
}

/* A row from store_entries_range: the sorts that need the index. */
static int load_row(void *ud, const struct store_entry *e)
{
	struct load *l = ud;
	struct query *q = l->q;
	struct qrow *r = row_new(q);
	if (!r)
		return q->err;
	*r = (struct qrow){
	    .message_id = e->message_id,
	    .thread_id = e->thread_id ? e->thread_id : e->message_id,
	    .internal_date = e->internal_date,
	    .size = e->size,
	    .sent = e->sent_day != STORE_NO_DAY ? e->sent_day * 86400 : e->internal_date,
	    .uidvalidity = l->uidvalidity,
	    .uid = e->uid,
	    .flags = e->flags,
	};
	if (e->keywords && *e->keywords &&
	    (q->err = add_string(q, e->keywords, strlen(e->keywords), &r->keywords)) < 0)
		return q->err;
	if (q->sort_field && e->headers) {
		size_t len = 0;
		const char *v = header_value(e->headers, q->sort_field, &len);
		if (v && (q->err = add_string(q, v, len, &r->sort_str)) < 0)
			return q->err;
	}
	return 0;
}

/* A row from store_email_rows: everything else. */
static int load_lean_row(void *ud, const struct store_email_entry *e)
{
	struct load *l = ud;
	struct query *q = l->q;
	struct qrow *r = row_new(q);
	if (!r)
		return q->err;
	*r = (struct qrow){
	    .message_id = e->message_id,
	    .thread_id = e->thread_id,
	    .internal_date = e->internal_date,
	    .size = e->size,
	    .sent = e->internal_date,
	    .uidvalidity = l->uidvalidity,
	    .uid = e->uid,
	    .flags = e->flags,
	};
	if (q->need_keywords && *e->keywords &&
	    (q->err = add_string(q, e->keywords, strlen(e->keywords), &r->keywords)) < 0)
		return q->err;
	return 0;
}

/* Does message_id's decoded header have field (NULL: any of those a
 * text condition names) holding needle? The refinement of a header
 * match from the index. */
static bool field_has(struct query *q, int64_t message_id, const struct jmap_filter *f)
{
	static const char *const names[] = {
	    [JMAP_F_FROM] = "From", [JMAP_F_TO] = "To",           [JMAP_F_CC] = "Cc",
	    [JMAP_F_BCC] = "Bcc",   [JMAP_F_SUBJECT] = "Subject",
	};
	const char *name = f->kind == JMAP_F_HEADER ? f->name : names[f->kind];
	struct store_index_data d = {0};
	bool hit = false;
	if (store_index_get(q->rd, message_id, &d) == 1 && d.headers) {
		size_t nl = strlen(name);
		for (const char *p = d.headers; p && *p && !hit;) {
			const char *eol = strchr(p, '\n');
			size_t ll = eol ? (size_t)(eol - p) : strlen(p);
			if (ll > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
				char *line = strndup(p + nl + 1, ll - nl - 1);
				hit = line && (!*f->str || strcasestr(line, f->str));
				free(line);
			}
			p = eol ? eol + 1 : NULL;
		}
	}
	store_index_data_free(&d);
	return hit;
}

/* The text conditions of f over one mailbox's rows [lo, hi) (UID order). */
static int text_search(struct query *q, const struct jmap_filter *f, int64_t mailbox_id, size_t lo,
                       size_t hi)
{
	for (size_t i = 0; i < f->nkids; i++) {
		int r = text_search(q, &f->kids[i], mailbox_id, lo, hi);
		if (r < 0)
			return r;
	}
	if (f->kind < JMAP_F_TEXT || lo == hi)
		return 0;
	enum store_fts_scope scope = f->kind == JMAP_F_TEXT   ? STORE_FTS_TEXT
	                             : f->kind == JMAP_F_BODY ? STORE_FTS_BODY
	                                                      : STORE_FTS_HEADERS;
	char *needle = f->str;
	char *owned = NULL;
	if (f->kind == JMAP_F_HEADER && !*f->str) {
		/* [name] alone: the field is there at all */
		if (asprintf(&owned, "%s:", f->name) < 0)
			return -ENOMEM;
		needle = owned;
	}
	uint32_t *uids = NULL;
	size_t n = 0;
	int r = store_search_text(q->rd, mailbox_id, needle, strlen(needle), scope, &uids, &n);
	free(owned);
	if (r < 0)
		return r;
	for (size_t k = 0; k < n; k++) {
		struct qrow *rows = q->rows + lo;
		size_t a = 0, b = hi - lo;
		while (a < b) {
			size_t m = (a + b) / 2;
			if (rows[m].uid < uids[k])
				a = m + 1;
			else
				b = m;
		}
		if (a == hi - lo || rows[a].uid != uids[k])
			continue;
		if (scope == STORE_FTS_HEADERS && !field_has(q, rows[a].message_id, f))
			continue;
		rows[a].text_hits |= 1ull << f->text_index;
	}
	free(uids);
	return 0;
}

/* ---- hasAttachment ---- */

struct attach_walk {
	struct query *q;
	size_t next, hi; /* rows[next .. hi): this mailbox's, by UID */
	size_t *missing; /* rows whose message has no sort record yet */
	size_t nmissing;
};

/* A row of store_sort_rows (UID order, like the mailbox's rows). */
static int attach_row(void *ud, const struct store_sort_row *sr)
{
	struct attach_walk *w = ud;
	struct qrow *rows = w->q->rows;
	while (w->next < w->hi && rows[w->next].uid < sr->uid)
		w->next++;
	if (w->next == w->hi || rows[w->next].uid != sr->uid)
		return 0; /* an entry added since the rows were read */
	struct qrow *r = &rows[w->next++];
	if (sr->keys && sr->keys_len > 0)
		r->has_attachment =
		    (((const unsigned char *)sr->keys)[0] & STORE_SORT_HAS_ATTACHMENT) != 0;
	else
		w->missing[w->nmissing++] = (size_t)(r - rows);
	return 0;
}

/* The bit for a message the indexer has not reached: its bytes, parsed.
 * One that cannot be read whole (over BUF_MAX, which Email/get cannot
 * show either) fails the query rather than be guessed. */
static int attach_parse(struct query *q, struct qrow *r, struct buf *raw)
{
	int e = jmap_message_bytes(q->c->acct, r->message_id, raw);
	if (e == -ENOENT) /* gone since the rows were read */
		return 0;
	struct mime_message *m = NULL;
	if (e == 0)
		e = mime_parse(raw->data ? raw->data : "", raw->len, &m);
	if (e == 0)
		e = mime_has_attachment(m);
	mime_free(&m);
	if (e < 0)
		return e;
	r->has_attachment = e == 1;
	return 0;
}

/* Sets has_attachment on one mailbox's rows [lo, hi) (UID order). */
static int attach_bits(struct query *q, int64_t mailbox_id, size_t lo, size_t hi)
{
	if (lo == hi)
		return 0;
	struct attach_walk w = {.q = q, .next = lo, .hi = hi};
	if (!(w.missing = malloc((hi - lo) * sizeof *w.missing)))
		return -ENOMEM;
	uint32_t first = q->rows[lo].uid, last = q->rows[hi - 1].uid;
	int r = store_sort_rows(q->rd, mailbox_id, first, last, 0, attach_row, &w);
	struct buf raw = {0};
	for (size_t i = 0; r >= 0 && i < w.nmissing; i++)
		r = attach_parse(q, &q->rows[w.missing[i]], &raw);
	buf_free(&raw);
	free(w.missing);
	return r < 0 ? r : 0;
}

static int load_mailbox(struct query *q, int64_t mailbox_id, uint32_t uidvalidity)
{
	size_t lo = q->nrows;
	struct load l = {q, uidvalidity};
	int r = q->cols == STORE_COLS_ENTRY ? store_email_rows(q->rd, mailbox_id, load_lean_row, &l)
	                                    : store_entries_range(q->rd, mailbox_id, 1, UINT32_MAX,
	                                                          0, q->cols, load_row, &l);
	if (r < 0)
		return q->err ? q->err : r;
	if (q->attachments && (r = attach_bits(q, mailbox_id, lo, q->nrows)) < 0)
		return r;
	return q->filter.ntext ? text_search(q, q->filter.root, mailbox_id, lo, q->nrows) : 0;
}

static int collect_mailbox(void *ud, const struct store_mailbox *mb)
{
	struct buf *b = ud;
	struct qmailbox m = {mb->id, mb->uidvalidity};
	return buf_add(b, &m, sizeof m);
}

static bool filter_names(const struct jmap_filter *f, enum jmap_fkind kind)
{
	if (!f)
		return false;
	if (f->kind == kind)
		return true;
	for (size_t i = 0; i < f->nkids; i++)
		if (filter_names(&f->kids[i], kind))
			return true;
	return false;
}

/* The mailbox a top-level inMailbox restricts the query to: its
 * UIDVALIDITY, or 0 when every mailbox must be read. */
static uint32_t scope_mailbox(const struct jmap_filter *root)
{
	if (!root || filter_names(root, JMAP_F_IN_MAILBOX_OTHER_THAN) ||
	    filter_names(root, JMAP_F_ALL_IN_THREAD) || filter_names(root, JMAP_F_SOME_IN_THREAD) ||
	    filter_names(root, JMAP_F_NONE_IN_THREAD))
		return 0;
	if (root->kind == JMAP_F_IN_MAILBOX)
		return root->uidvalidity[0] ? root->uidvalidity[0] : UINT32_MAX;
	if (root->kind != JMAP_F_AND)
		return 0;
	for (size_t i = 0; i < root->nkids; i++) {
		const struct jmap_filter *k = &root->kids[i];
		if (k->kind == JMAP_F_IN_MAILBOX)
			return k->uidvalidity[0] ? k->uidvalidity[0] : UINT32_MAX;
		if (k->kind == JMAP_F_AND) {
			uint32_t u = scope_mailbox(k);
			if (u)
				return u;
		}
	}
	return 0;
}

static int cmp_row_message(const void *a, const void *b)
{
	const struct qrow *x = a, *y = b;
	return x->message_id < y->message_id ? -1 : x->message_id > y->message_id;
}

/* Read the rows, and group them into Emails. */
static int load(struct query *q)
{
	struct store_rd *rd = q->rd;
	const struct jmap_account *a = q->c->acct;
	struct buf mbs = {0};
	int r = store_mailbox_list(rd, a->account_id, collect_mailbox, &mbs);
	if (r < 0) {
		buf_free(&mbs);
		return r;
	}
	const struct qmailbox *mb = (const struct qmailbox *)mbs.data;
	size_t nmb = mbs.len / sizeof *mb;
	uint32_t only = scope_mailbox(q->filter.root);
	if (buf_addc(&q->strings, '\0') < 0) {
		buf_free(&mbs);
		return -ENOMEM;
	}
	size_t loaded = 0;
	for (size_t i = 0; i < nmb && r >= 0; i++)
		if (!only || mb[i].uidvalidity == only) {
			r = load_mailbox(q, mb[i].id, mb[i].uidvalidity);
			loaded++;
		}
	buf_free(&mbs);
	if (r < 0)
		return r;
	/* One mailbox holds a message once; several may each hold it. */
	if (loaded > 1 && q->nrows > 1)
		qsort(q->rows, q->nrows, sizeof *q->rows, cmp_row_message);
	if (!(q->first = malloc((q->nrows + 1) * sizeof *q->first)))
		return -ENOMEM;
	for (size_t i = 0; i < q->nrows; i++)
		if (i == 0 || q->rows[i].message_id != q->rows[i - 1].message_id)
			q->first[q->nemails++] = i;
	q->first[q->nemails] = q->nrows;
	return 0;
}

static bool has_keyword(const struct query *q, size_t e, const char *kw)
{
	uint32_t flag = jmap_keyword_flag(kw);
	for (size_t i = q->first[e]; i < q->first[e + 1]; i++) {
		const struct qrow *r = &q->rows[i];
		if (flag ? (r->flags & flag) != 0
		         : store_keyword_has(qstr(q, r->keywords), kw, strlen(kw)))
			return true;
	}
	return false;
}

static struct qthread *thread_slot(const struct query *q, int64_t thread_id)
{
	size_t h = (size_t)((uint64_t)thread_id * 0x9e3779b97f4a7c15ull) & q->thread_mask;
	while (q->threads[h].thread_id && q->threads[h].thread_id != thread_id)
		h = (h + 1) & q->thread_mask;
	return &q->threads[h];
}

/* Gathers the thread keyword conditions of f into conds[]. */
static void thread_conds(const struct jmap_filter *f, const struct jmap_filter **conds)
{
	for (size_t i = 0; i < f->nkids; i++)
		thread_conds(&f->kids[i], conds);
	if (f->kind >= JMAP_F_ALL_IN_THREAD && f->kind <= JMAP_F_NONE_IN_THREAD)
		conds[f->thread_index] = f;
}

/* Counts, per thread, its Emails and those with each condition's keyword. */
static int count_threads(struct query *q)
{
	size_t cap = 16;
	while (cap < q->nemails * 2)
		cap *= 2;
	if (!(q->threads = calloc(cap, sizeof *q->threads)))
		return -ENOMEM;
	q->thread_mask = cap - 1;
	const struct jmap_filter *conds[JMAP_QUERY_MAX_THREAD] = {0};
	thread_conds(q->filter.root, conds);
	for (size_t e = 0; e < q->nemails; e++) {
		int64_t t = q->rows[q->first[e]].thread_id;
		struct qthread *s = thread_slot(q, t);
		s->thread_id = t;
		s->emails++;
		for (size_t i = 0; i < q->filter.nthread; i++)
			if (has_keyword(q, e, conds[i]->str))
				s->with[i]++;
	}
	return 0;
}

static bool eval(const struct query *q, const struct jmap_filter *f, size_t e)
{
	const struct qrow *r0 = &q->rows[q->first[e]];
	size_t lo = q->first[e], hi = q->first[e + 1];
	switch (f->kind) {
	case JMAP_F_AND:
		for (size_t i = 0; i < f->nkids; i++)
			if (!eval(q, &f->kids[i], e))
				return false;
		return true;
	case JMAP_F_OR:
		for (size_t i = 0; i < f->nkids; i++)
			if (eval(q, &f->kids[i], e))
				return true;
		return false;
	case JMAP_F_NOT:
		for (size_t i = 0; i < f->nkids; i++)
			if (eval(q, &f->kids[i], e))
				return false;
		return true;
	case JMAP_F_IN_MAILBOX:
		for (size_t i = lo; i < hi; i++)
			if (q->rows[i].uidvalidity == f->uidvalidity[0])
				return true;
		return false;
	case JMAP_F_IN_MAILBOX_OTHER_THAN:
		for (size_t i = lo; i < hi; i++) {
			size_t k = 0;
			while (k < f->n && f->uidvalidity[k] != q->rows[i].uidvalidity)
				k++;
			if (k == f->n)
				return true;
		}
		return false;
	case JMAP_F_BEFORE:
		return r0->internal_date < f->num;
	case JMAP_F_AFTER:
		return r0->internal_date >= f->num;
	case JMAP_F_MIN_SIZE:
		return r0->size >= f->num;
	case JMAP_F_MAX_SIZE:
		return r0->size < f->num;
	case JMAP_F_HAS_ATTACHMENT:
		/* one message, one bit: every row of the Email has the same */
		return r0->has_attachment == (f->num != 0);
	case JMAP_F_HAS_KEYWORD:
		return has_keyword(q, e, f->str);
	case JMAP_F_NOT_KEYWORD:
		return !has_keyword(q, e, f->str);
	case JMAP_F_ALL_IN_THREAD:
	case JMAP_F_SOME_IN_THREAD:
	case JMAP_F_NONE_IN_THREAD: {
		const struct qthread *t = thread_slot(q, r0->thread_id);
		uint32_t with = t->with[f->thread_index];
		return f->kind == JMAP_F_ALL_IN_THREAD    ? with == t->emails
		       : f->kind == JMAP_F_SOME_IN_THREAD ? with > 0
		                                          : with == 0;
	}
	default:
		for (size_t i = lo; i < hi; i++)
			if (q->rows[i].text_hits & (1ull << f->text_index))
				return true;
		return false;
	}
}

static const struct query *sorting; /* qsort has no user pointer */

static int64_t sort_number(const struct query *q, const struct qrow *r, enum jmap_sort_key k)
{
	switch (k) {
	case JMAP_SORT_RECEIVED_AT:
		return r->internal_date;
	case JMAP_SORT_SENT_AT:
		return r->sent;
	case JMAP_SORT_SIZE:
		return r->size;
	default:
		return 0;
	}
}

static int cmp_items(const void *a, const void *b)
{
	const struct qitem *x = a, *y = b;
	const struct query *q = sorting;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	const struct qrow *rx = &q->rows[q->first[x->email]], *ry = &q->rows[q->first[y->email]];
	for (size_t i = 1; i < q->nsort; i++) {
		const struct jmap_sort *s = &q->sort[i];
		int c;
		if (s->key >= JMAP_SORT_FROM) {
			c = strcasecmp(qstr(q, rx->sort_str), qstr(q, ry->sort_str));
		} else {
			int64_t u = sort_number(q, rx, s->key), v = sort_number(q, ry, s->key);
			c = u < v ? -1 : u > v;
		}
		if (c)
			return s->ascending ? c : -c;
	}
	/* Stable across calls: the message id, in the first key's direction. */
	int c = rx->message_id < ry->message_id ? -1 : rx->message_id > ry->message_id;
	return q->nsort && !q->sort[0].ascending ? -c : c;
}

static int cmp_items_string(const void *a, const void *b)
{
	const struct qitem *x = a, *y = b;
	const struct query *q = sorting;
	const struct qrow *rx = &q->rows[q->first[x->email]], *ry = &q->rows[q->first[y->email]];
	int c = strcasecmp(qstr(q, rx->sort_str), qstr(q, ry->sort_str));
	if (c)
		return q->sort[0].ascending ? c : -c;
	struct qitem xx = {0, x->email}, yy = {0, y->email};
	return cmp_items(&xx, &yy);
}

/* A set of thread ids (open addressing) for collapseThreads. */
static bool thread_first(int64_t *slots, size_t mask, int64_t t)
{
	size_t h = (size_t)((uint64_t)t * 0x9e3779b97f4a7c15ull) & mask;
	while (slots[h]) {
		if (slots[h] == t)
			return false;
		h = (h + 1) & mask;
	}
	slots[h] = t;
	return true;
}

/* Sorts it[0..n) by key alone, stably: an LSD radix sort of the keys
 * (as unsigned, sign bit flipped), a byte per pass, skipping the bytes
 * every key shares (dates share their high ones). tmp holds n items.
 * Used when the only sort key is a number and the items were built in
 * their tie order, so stability gives cmp_items' order: O(n), where
 * qsort with a comparator call per step took most of a cold query. */
static void radix_sort(struct qitem *it, struct qitem *tmp, size_t n)
{
	uint64_t all_and = ~0ull, all_or = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t u = (uint64_t)it[i].key ^ (1ull << 63);
		all_and &= u;
		all_or |= u;
	}
	uint64_t differ = all_and ^ all_or;
	struct qitem *src = it, *dst = tmp;
	for (unsigned shift = 0; shift < 64; shift += 8) {
		if (((differ >> shift) & 0xff) == 0)
			continue;
		size_t count[257] = {0};
		for (size_t i = 0; i < n; i++)
			count[((((uint64_t)src[i].key ^ (1ull << 63)) >> shift) & 0xff) + 1]++;
		for (size_t b = 1; b < 257; b++)
			count[b] += count[b - 1];
		for (size_t i = 0; i < n; i++)
			dst[count[(((uint64_t)src[i].key ^ (1ull << 63)) >> shift) & 0xff]++] =
			    src[i];
		struct qitem *t = src;
		src = dst;
		dst = t;
	}
	if (src != it)
		memcpy(it, src, n * sizeof *it);
}

/* Orders it[0..m) as cmp_items would. built_in_tie_order: the items are
 * in the order cmp_items breaks ties in (the message id in the first
 * key's direction). Then a numeric sole key needs no comparator: the
 * items are checked for being in order already (new mail comes in UID
 * order, nearly date order) and else radix-sorted. 0 or -ENOMEM. */
static int sort_items(struct query *q, struct qitem *it, size_t m, bool built_in_tie_order)
{
	const struct jmap_sort *s0 = q->nsort ? &q->sort[0] : NULL;
	if (built_in_tie_order && q->nsort <= 1 && (!s0 || s0->key < JMAP_SORT_FROM)) {
		size_t i = 1;
		while (i < m && it[i - 1].key <= it[i].key)
			i++;
		if (i >= m)
			return 0;
		struct qitem *tmp = malloc(m * sizeof *tmp);
		if (!tmp)
			return -ENOMEM;
		radix_sort(it, tmp, m);
		free(tmp);
		return 0;
	}
	sorting = q;
	qsort(it, m, sizeof *it, s0 && s0->key >= JMAP_SORT_FROM ? cmp_items_string : cmp_items);
	sorting = NULL;
	return 0;
}

/* The query's matching Emails in order: their message ids, *ids
 * malloc'd. */
static int run(struct query *q, int64_t **ids, size_t *n, struct jmap_query_basis *basis)
{
	*ids = NULL;
	*n = 0;
	int r = load(q);
	if (r == 0 && q->filter.nthread)
		r = count_threads(q);
	if (r < 0)
		return r;
	struct qitem *it = malloc((q->nemails + 1) * sizeof *it);
	if (!it)
		return -ENOMEM;
	size_t m = 0;
	const struct jmap_sort *s0 = q->nsort ? &q->sort[0] : NULL;
	/* Emails are in ascending message id order when more than one
	 * mailbox was read (load() sorts them), and usually when one was
	 * (UID order): then walking them in the first key's direction
	 * builds the items in cmp_items' tie order. */
	bool ids_ascending = true;
	for (size_t e = 1; e < q->nemails && ids_ascending; e++)
		ids_ascending =
		    q->rows[q->first[e - 1]].message_id < q->rows[q->first[e]].message_id;
	bool backwards = s0 && !s0->ascending;
	for (size_t i = 0; i < q->nemails; i++) {
		size_t e = backwards ? q->nemails - 1 - i : i;
		if (q->filter.root && !eval(q, q->filter.root, e))
			continue;
		const struct qrow *r0 = &q->rows[q->first[e]];
		int64_t k = s0 ? sort_number(q, r0, s0->key) : r0->message_id;
		if (s0 && !s0->ascending)
			k = -k;
		it[m++] = (struct qitem){k, (uint32_t)e};
	}
	if ((r = sort_items(q, it, m, ids_ascending)) < 0) {
		free(it);
		return r;
	}
	if (q->collapse && m) {
		size_t cap = 16;
		while (cap < m * 2)
			cap *= 2;
		int64_t *slots = calloc(cap, sizeof *slots);
		if (!slots) {
			free(it);
			return -ENOMEM;
		}
		size_t k = 0;
		for (size_t i = 0; i < m; i++)
			if (thread_first(slots, cap - 1, q->rows[q->first[it[i].email]].thread_id))
				it[k++] = it[i];
		m = k;
		free(slots);
	}
	int64_t *out = malloc((m + 1) * sizeof *out);
	for (size_t i = 0; out && i < m; i++)
		out[i] = q->rows[q->first[it[i].email]].message_id;
	if (out && basis) {
		/* the keys and UIDs a later state is worked out from */
		basis->keys = malloc((m + 1) * sizeof *basis->keys);
		basis->uids = malloc((m + 1) * sizeof *basis->uids);
		for (size_t i = 0; basis->keys && basis->uids && i < m; i++) {
			basis->keys[i] = it[i].key;
			basis->uids[i] = q->rows[q->first[it[i].email]].uid;
		}
		if (!basis->keys || !basis->uids) {
			free(basis->keys);
			free(basis->uids);
			free(out);
			out = NULL;
		}
	}
	free(it);
	if (!out)
		return -ENOMEM;
	*ids = out;
	*n = m;
	return 0;
}

/* ---- bringing a kept result up to date ----
 *
 * A query over one mailbox whose filter and sort read only what an entry
 * never changes (inMailbox, receivedAt, size: before/after/minSize/
 * maxSize; sorted by receivedAt, size or nothing; threads not collapsed)
 * has the same result in a later state but for the entries expunged
 * since (store_expunged_uids from the kept HIGHESTMODSEQ) and the ones
 * added (UIDs from the kept UIDNEXT on): a kept result, its sort keys
 * and UIDs (email_query_cache.h's basis), is brought up to date from
 * those alone, without reading the mailbox or sorting again. That is the
 * common case of a webmail's list: new mail arrives between two looks at
 * it, and mail in any other mailbox changes the account's state too. */

/* Whether f is inMailbox of one mailbox (*u: its UIDVALIDITY) ANDed
 * with conditions on date and size only, in any nesting of ANDs. */
static bool immutable_and(const struct jmap_filter *f, uint32_t *u)
{
	switch (f->kind) {
	case JMAP_F_AND:
		for (size_t i = 0; i < f->nkids; i++)
			if (!immutable_and(&f->kids[i], u))
				return false;
		return true;
	case JMAP_F_IN_MAILBOX:
		if (!f->uidvalidity[0] || (*u && *u != f->uidvalidity[0]))
			return false;
		*u = f->uidvalidity[0];
		return true;
	case JMAP_F_BEFORE:
	case JMAP_F_AFTER:
	case JMAP_F_MIN_SIZE:
	case JMAP_F_MAX_SIZE:
		return true;
	default:
		return false;
	}
}

/* Such a filter (immutable_and) on an entry of its mailbox. */
static bool immutable_match(const struct jmap_filter *f, int64_t date, int64_t size)
{
	switch (f->kind) {
	case JMAP_F_AND:
		for (size_t i = 0; i < f->nkids; i++)
			if (!immutable_match(&f->kids[i], date, size))
				return false;
		return true;
	case JMAP_F_BEFORE:
		return date < f->num;
	case JMAP_F_AFTER:
		return date >= f->num;
	case JMAP_F_MIN_SIZE:
		return size >= f->num;
	case JMAP_F_MAX_SIZE:
		return size < f->num;
	default:
		return true;
	}
}

/* The UIDVALIDITY of the one mailbox such a query reads, or 0 when its
 * result must be worked out afresh each time. */
static uint32_t incremental_mailbox(const struct query *q)
{
	if (q->collapse || q->nsort > 1 || q->filter.ntext || q->filter.nthread ||
	    q->cols != STORE_COLS_ENTRY || !q->filter.root)
		return 0;
	if (q->nsort == 1 && q->sort[0].key != JMAP_SORT_RECEIVED_AT &&
	    q->sort[0].key != JMAP_SORT_SIZE)
		return 0;
	uint32_t u = 0;
	return immutable_and(q->filter.root, &u) ? u : 0;
}

struct fresh {
	const struct query *q;
	struct fresh_item {
		int64_t key, message_id;
		uint32_t uid;
	} * items;
	size_t n, cap;
	int err;
};

/* An entry added since the kept state: kept if the filter's date and
 * size conditions hold, with its sort key as run() makes it. */
static int fresh_row(void *ud, const struct store_email_entry *e)
{
	struct fresh *f = ud;
	const struct query *q = f->q;
	struct qrow r = {
	    .message_id = e->message_id, .internal_date = e->internal_date, .size = e->size};
	if (!immutable_match(q->filter.root, r.internal_date, r.size))
		return 0;
	if (f->n == f->cap) {
		size_t ncap = f->cap ? f->cap * 2 : 64;
		struct fresh_item *p = realloc(f->items, ncap * sizeof *p);
		if (!p)
			return f->err = -ENOMEM;
		f->items = p;
		f->cap = ncap;
	}
	const struct jmap_sort *s0 = q->nsort ? &q->sort[0] : NULL;
	int64_t k = s0 ? sort_number(q, &r, s0->key) : r.message_id;
	f->items[f->n++] =
	    (struct fresh_item){s0 && !s0->ascending ? -k : k, e->message_id, e->uid};
	return 0;
}

static bool tie_descending; /* qsort has no user pointer */

/* cmp_items' order on (key, message id): the id in the key's direction. */
static int cmp_key_id(int64_t ka, int64_t ia, int64_t kb, int64_t ib, bool descending)
{
	if (ka != kb)
		return ka < kb ? -1 : 1;
	int c = ia < ib ? -1 : ia > ib;
	return descending ? -c : c;
}

static int cmp_fresh(const void *a, const void *b)
{
	const struct fresh_item *x = a, *y = b;
	return cmp_key_id(x->key, x->message_id, y->key, y->message_id, tie_descending);
}

static int cmp_uid(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* The result of q in mailbox mb now, from old (nold ids in the state
 * ob describes): *ids and nb's arrays malloc'd. 0 or a negative errno. */
static int advance(struct query *q, const struct store_mailbox *mb, const int64_t *old, size_t nold,
                   const struct jmap_query_basis *ob, int64_t **ids, size_t *n,
                   struct jmap_query_basis *nb)
{
	uint32_t *gone = NULL;
	size_t ngone = 0;
	int r = ob->uidnext > 1 ? store_expunged_uids(q->rd, mb->id, ob->highestmodseq, 1,
	                                              ob->uidnext - 1, &gone, &ngone)
	                        : 0;
	struct fresh f = {.q = q};
	if (r == 0 && mb->uidnext > ob->uidnext) {
		r = store_email_rows_from(q->rd, mb->id, ob->uidnext, fresh_row, &f);
		r = f.err ? f.err : r < 0 ? r : 0;
	}
	bool descending = q->nsort && !q->sort[0].ascending;
	*nb = (struct jmap_query_basis){.mailbox_id = mb->id,
	                                .uidvalidity = mb->uidvalidity,
	                                .uidnext = mb->uidnext,
	                                .highestmodseq = mb->highestmodseq};
	size_t cap = nold + f.n + 1;
	int64_t *out = r == 0 ? malloc(cap * sizeof *out) : NULL;
	nb->keys = out ? malloc(cap * sizeof *nb->keys) : NULL;
	nb->uids = nb->keys ? malloc(cap * sizeof *nb->uids) : NULL;
	if (r == 0 && !nb->uids)
		r = -ENOMEM;
	if (r < 0) {
		free(gone);
		free(f.items);
		free(out);
		free(nb->keys);
		free(nb->uids);
		*nb = (struct jmap_query_basis){0};
		return r;
	}
	tie_descending = descending;
	if (f.n > 1)
		qsort(f.items, f.n, sizeof *f.items, cmp_fresh);
	if (ngone > 1) /* ascending already; cheap to be sure */
		qsort(gone, ngone, sizeof *gone, cmp_uid);
	size_t m = 0, i = 0, j = 0;
	while (i < nold || j < f.n) {
		if (i < nold && ngone &&
		    bsearch(&ob->uids[i], gone, ngone, sizeof *gone, cmp_uid)) {
			i++;
			continue;
		}
		bool take_old =
		    j == f.n || (i < nold && cmp_key_id(ob->keys[i], old[i], f.items[j].key,
		                                        f.items[j].message_id, descending) < 0);
		if (take_old) {
			out[m] = old[i];
			nb->keys[m] = ob->keys[i];
			nb->uids[m++] = ob->uids[i++];
		} else {
			out[m] = f.items[j].message_id;
			nb->keys[m] = f.items[j].key;
			nb->uids[m++] = f.items[j++].uid;
		}
	}
	free(gone);
	free(f.items);
	*ids = out;
	*n = m;
	return 0;
}

/* ---- a mailbox in arrival order ----
 *
 * The webmail's list, and the commonest query: one mailbox (maybe a date
 * range), sorted by receivedAt alone. The store keeps an index in that
 * very order (schema 18's mailbox_entries_date, ties by message id as
 * cmp_items breaks them), so such a query is answered by walking it:
 * three columns of an index, no row read into a qrow and no sort, about
 * a third of run()'s time on 100k entries. Its result is kept with a
 * basis like run()'s, and brought up to date the same way. */

/* Whether q (an incremental_mailbox query) is sorted by receivedAt alone
 * and filters on nothing but its mailbox and dates: then its result is
 * the entries with *after <= date < *before (bounds narrowed here). */
static bool date_interval(const struct jmap_filter *f, int64_t *after, int64_t *before)
{
	switch (f->kind) {
	case JMAP_F_AND:
		for (size_t i = 0; i < f->nkids; i++)
			if (!date_interval(&f->kids[i], after, before))
				return false;
		return true;
	case JMAP_F_IN_MAILBOX:
		return true;
	case JMAP_F_BEFORE:
		if (f->num < *before)
			*before = f->num;
		return true;
	case JMAP_F_AFTER:
		if (f->num > *after)
			*after = f->num;
		return true;
	default:
		return false;
	}
}

static bool arrival_order(const struct query *q, int64_t *after, int64_t *before)
{
	return q->nsort == 1 && q->sort[0].key == JMAP_SORT_RECEIVED_AT &&
	       date_interval(q->filter.root, after, before);
}

/* run() for such a query: the ids in order, and the basis's keys (the
 * date, negated when descending, as run() makes them) and UIDs. */
static int run_dates(struct query *q, int64_t mailbox_id, int64_t after, int64_t before,
                     int64_t **ids, size_t *n, struct jmap_query_basis *basis)
{
	bool descending = !q->sort[0].ascending;
	struct store_date_rows d = {0};
	int r = store_email_dates(q->rd, mailbox_id, after, before, descending, &d);
	if (r == 0 && !d.cap) { /* none: still arrays, as run() gives */
		d.message_ids = malloc(sizeof *d.message_ids);
		d.dates = malloc(sizeof *d.dates);
		d.uids = malloc(sizeof *d.uids);
		if (!d.message_ids || !d.dates || !d.uids)
			r = -ENOMEM;
	}
	if (r < 0) {
		store_date_rows_free(&d);
		return r;
	}
	if (descending)
		for (size_t i = 0; i < d.n; i++)
			d.dates[i] = -d.dates[i];
	jmap_query_by_date++;
	*ids = d.message_ids;
	*n = d.n;
	basis->keys = d.dates;
	basis->uids = d.uids;
	return 0;
}

/* Reads filter, sort and collapseThreads into q; answers the call on a
 * bad argument and returns -1. */
static int query_args(struct jmap_call *c, struct query *q)
{
	const char *type = NULL, *why = NULL;
	*q = (struct query){.c = c, .rd = store_reader(c->acct->store), .cols = STORE_COLS_ENTRY};
	if (jmap_filter_parse(json_object_get(c->args, "filter"), &q->filter, &type, &why) < 0 ||
	    jmap_sort_parse(json_object_get(c->args, "sort"), q->sort, &q->nsort, &type, &why) <
	        0) {
		jmap_error(c, type, why);
		return -1;
	}
	if (q->filter.ntext > JMAP_QUERY_MAX_TEXT || q->filter.nthread > JMAP_QUERY_MAX_THREAD) {
		jmap_error(c, "unsupportedFilter", "too many text or thread keyword conditions");
		return -1;
	}
	json_t *collapse = json_object_get(c->args, "collapseThreads");
	if (collapse && !json_is_boolean(collapse) && !json_is_null(collapse)) {
		jmap_error(c, "invalidArguments", "collapseThreads must be a boolean");
		return -1;
	}
	q->collapse = json_is_true(collapse);
	q->need_keywords = filter_names(q->filter.root, JMAP_F_HAS_KEYWORD) ||
	                   filter_names(q->filter.root, JMAP_F_NOT_KEYWORD) ||
	                   q->filter.nthread > 0;
	q->attachments = filter_names(q->filter.root, JMAP_F_HAS_ATTACHMENT);
	for (size_t i = 0; i < q->nsort; i++) {
		enum jmap_sort_key k = q->sort[i].key;
		if (k == JMAP_SORT_SENT_AT && q->cols == STORE_COLS_ENTRY)
			q->cols = STORE_COLS_INFO;
		if (k >= JMAP_SORT_FROM) {
			if (q->sort_field && i) {
				/* One text key per query: the row keeps one string. */
				jmap_error(c, "unsupportedSort",
				           "one of from, to, subject per sort");
				return -1;
			}
			q->sort_field = k == JMAP_SORT_FROM ? "From"
			                : k == JMAP_SORT_TO ? "To"
			                                    : "Subject";
			q->cols = STORE_COLS_HEADERS;
		}
	}
	return 0;
}

static bool int_arg(struct jmap_call *c, const char *name, int64_t *out, int64_t dflt, int64_t min)
{
	json_t *v = json_object_get(c->args, name);
	*out = dflt;
	if (!v || json_is_null(v))
		return true;
	if (!json_is_integer(v) || json_integer_value(v) < min) {
		jmap_error(c, "invalidArguments", name);
		return false;
	}
	*out = json_integer_value(v);
	return true;
}

/* The cache's key for a query (email_query_cache.h), or NULL when its
 * result may not be kept: it depends on the message index too.
 * (hasAttachment does not: its bit is the same whether the index or a
 * parse gave it, so it changes only with the mail, and so the state.) */
static char *cache_key(struct jmap_call *c, const struct query *q)
{
	if (q->filter.ntext || q->cols != STORE_COLS_ENTRY)
		return NULL;
	json_t *k = json_pack("{s:O?, s:O?, s:b}", "filter", json_object_get(c->args, "filter"),
	                      "sort", json_object_get(c->args, "sort"), "collapse", q->collapse);
	char *s = k ? json_dumps(k, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(k);
	return s;
}

static const int64_t *result_now(struct jmap_call *c, struct query *q, const char *key,
                                 const char *state, size_t *n, int64_t **owned, int *r);

/* Answers Email/query from what the store holds now. */
static void query_answer(struct jmap_call *c)
{
	struct query q;
	if (query_args(c, &q) < 0) {
		query_free(&q);
		return;
	}
	int64_t position, limit, anchor_offset;
	json_t *anchor = json_object_get(c->args, "anchor");
	json_t *total = json_object_get(c->args, "calculateTotal");
	if (!int_arg(c, "position", &position, 0, INT32_MIN) ||
	    !int_arg(c, "limit", &limit, JMAP_QUERY_LIMIT_MAX, 0) ||
	    !int_arg(c, "anchorOffset", &anchor_offset, 0, INT32_MIN)) {
		query_free(&q);
		return;
	}
	if ((anchor && !json_is_null(anchor) && !json_is_string(anchor)) ||
	    (total && !json_is_boolean(total) && !json_is_null(total))) {
		query_free(&q);
		jmap_error(c, "invalidArguments", "anchor must be an id, calculateTotal a boolean");
		return;
	}
	bool capped = limit > JMAP_QUERY_LIMIT_MAX;
	if (capped)
		limit = JMAP_QUERY_LIMIT_MAX;
	bool begun = store_read_begin(q.rd);
	char state[STORE_EMAIL_STATE_MAX];
	int64_t *found = NULL;
	const int64_t *order = NULL;
	size_t n = 0;
	char *key = cache_key(c, &q);
	/* A kept result is what Email/queryChanges diffs against: possible
	 * while it stays in the cache (RFC 8620 §5.5 allows "for a limited
	 * time"), cannotCalculateChanges after. */
	bool can_changes = key != NULL;
	int r = jmap_email_state(c->acct, state);
	if (r == 0)
		order = result_now(c, &q, key, state, &n, &found, &r);
	store_read_end(q.rd, begun);
	free(key);
	query_free(&q);
	if (r < 0) {
		free(found);
		jmap_server_fail(c, "reading the mailbox");
		return;
	}
	int64_t start;
	if (json_is_string(anchor)) {
		int64_t mid;
		size_t i = 0;
		if (jmap_id_parse(json_string_value(anchor), 'M', &mid))
			while (i < n && order[i] != mid)
				i++;
		else
			i = n;
		if (i == n) {
			free(found);
			jmap_error(c, "anchorNotFound", NULL);
			return;
		}
		start = (int64_t)i + anchor_offset;
		if (start < 0)
			start = 0;
	} else {
		start = position < 0 ? (int64_t)n + position : position;
		if (start < 0)
			start = 0;
	}
	if (start > (int64_t)n)
		start = (int64_t)n;
	json_t *ids = json_array();
	for (int64_t i = start; ids && i < (int64_t)n && i < start + limit; i++)
		if (json_array_append_new(ids, jmap_id_json('M', order[i])) < 0) {
			json_decref(ids);
			ids = NULL;
		}
	free(found);
	json_t *res = ids ? json_pack("{s:O, s:s, s:b, s:I, s:o}", "accountId",
	                              json_object_get(c->args, "accountId"), "queryState", state,
	                              "canCalculateChanges", can_changes, "position",
	                              (json_int_t)start, "ids", ids)
	                  : NULL;
	if (res && json_is_true(total) &&
	    json_object_set_new(res, "total", json_integer((json_int_t)n)) < 0) {
		json_decref(res);
		res = NULL;
	}
	if (res && capped && json_object_set_new(res, "limit", json_integer(limit)) < 0) {
		json_decref(res);
		res = NULL;
	}
	if (!res) {
		jmap_server_fail(c, "out of memory");
		return;
	}
	jmap_reply(c, res);
}

/* The query's result now: from the cache, or run and kept there. NULL
 * with *r < 0 on failure. *owned is what the caller frees (a result that
 * could not be kept). */
static const int64_t *result_now(struct jmap_call *c, struct query *q, const char *key,
                                 const char *state, size_t *n, int64_t **owned, int *r)
{
	*owned = NULL;
	*r = 0;
	int64_t account = c->acct->account_id;
	const int64_t *order = key ? jmap_query_cache_get(account, key, state, n) : NULL;
	if (order)
		return order;
	uint32_t uv = key ? incremental_mailbox(q) : 0;
	int64_t mbid = 0;
	struct store_mailbox mb;
	if (uv && (store_mailbox_by_uidvalidity(q->rd, account, uv, &mbid) != 1 ||
	           store_mailbox_get(q->rd, mbid, &mb) != 1))
		uv = 0; /* no such mailbox (any more): the query finds nothing */
	int64_t *found;
	struct jmap_query_basis nb = {0};
	const struct jmap_query_basis *ob = NULL;
	size_t nold = 0;
	const int64_t *old = uv ? jmap_query_cache_latest(account, key, &nold, &ob) : NULL;
	if (old && ob->mailbox_id == mbid && ob->uidvalidity == mb.uidvalidity &&
	    ob->highestmodseq <= mb.highestmodseq && ob->uidnext <= mb.uidnext) {
		if ((*r = advance(q, &mb, old, nold, ob, &found, n, &nb)) < 0)
			return NULL;
		jmap_query_advanced++;
	} else {
		int64_t after = INT64_MIN, before = INT64_MAX;
		*r = uv && arrival_order(q, &after, &before)
		         ? run_dates(q, mbid, after, before, &found, n, &nb)
		         : run(q, &found, n, uv ? &nb : NULL);
		if (*r < 0)
			return NULL;
		if (uv) {
			nb.mailbox_id = mbid;
			nb.uidvalidity = mb.uidvalidity;
			nb.uidnext = mb.uidnext;
			nb.highestmodseq = mb.highestmodseq;
		}
	}
	if (!key) {
		*owned = found;
		return found;
	}
	jmap_query_cache_put_basis(account, key, state, found, *n, uv ? &nb : NULL);
	order = jmap_query_cache_get(c->acct->account_id, key, state, n);
	if (!order)
		*r = -ENOMEM;
	return order;
}

/* Email/queryChanges: from the result of sinceQueryState, when the
 * result cache still has it (a client asks soon after its query), to the
 * result now (query_diff.h); otherwise cannotCalculateChanges, and the
 * client queries again. */
void jmap_email_query_changes(struct jmap_call *c)
{
	if (!jmap_email_account_ok(c))
		return;
	struct query q;
	if (query_args(c, &q) < 0) {
		query_free(&q);
		return;
	}
	json_t *since = json_object_get(c->args, "sinceQueryState");
	json_t *total = json_object_get(c->args, "calculateTotal");
	int64_t max_changes;
	if (!json_is_string(since) || (total && !json_is_boolean(total) && !json_is_null(total))) {
		query_free(&q);
		jmap_error(c, "invalidArguments",
		           "sinceQueryState must be a string, calculateTotal a boolean");
		return;
	}
	if (!int_arg(c, "maxChanges", &max_changes, 0, 1)) {
		query_free(&q);
		return;
	}
	char *key = cache_key(c, &q);
	bool begun = store_read_begin(q.rd);
	char state[STORE_EMAIL_STATE_MAX];
	int64_t *old = NULL, *owned = NULL;
	const int64_t *cur = NULL;
	size_t nold = 0, n = 0;
	int r = jmap_email_state(c->acct, state);
	bool same = r == 0 && strcmp(state, json_string_value(since)) == 0;
	const int64_t *was =
	    !same && r == 0 && key
	        ? jmap_query_cache_get(c->acct->account_id, key, json_string_value(since), &nold)
	        : NULL;
	if (was && !(old = malloc((nold + 1) * sizeof *old)))
		r = -ENOMEM;
	else if (was)
		memcpy(old, was, nold * sizeof *old);
	if (r == 0 && (old || (same && json_is_true(total))))
		cur = result_now(c, &q, key, state, &n, &owned, &r);
	store_read_end(q.rd, begun);
	free(key);
	query_free(&q);
	struct jmap_query_diff d = {0};
	if (r == 0 && old)
		r = jmap_query_diff(old, nold, cur, n, &d);
	free(old);
	free(owned);
	if (r < 0) {
		jmap_query_diff_free(&d);
		jmap_server_fail(c, "reading the mailbox");
		return;
	}
	if (!same && !was) {
		jmap_error(c, "cannotCalculateChanges", "that query state is no longer kept");
		return;
	}
	if (max_changes && d.nremoved + d.nadded > (uint64_t)max_changes) {
		jmap_query_diff_free(&d);
		jmap_error(c, "tooManyChanges", NULL);
		return;
	}
	json_t *removed = json_array(), *added = json_array();
	for (size_t i = 0; removed && i < d.nremoved; i++)
		if (json_array_append_new(removed, jmap_id_json('M', d.removed[i])) < 0) {
			json_decref(removed);
			removed = NULL;
		}
	for (size_t i = 0; added && i < d.nadded; i++)
		if (json_array_append_new(
		        added, json_pack("{s:o, s:I}", "id", jmap_id_json('M', d.added[i].id),
		                         "index", (json_int_t)d.added[i].index)) < 0) {
			json_decref(added);
			added = NULL;
		}
	jmap_query_diff_free(&d);
	json_t *res = removed && added
	                  ? json_pack("{s:O, s:O, s:s, s:o, s:o}", "accountId",
	                              json_object_get(c->args, "accountId"), "oldQueryState", since,
	                              "newQueryState", state, "removed", removed, "added", added)
	                  : NULL;
	if (!res) {
		json_decref(removed);
		json_decref(added);
	}
	if (res && json_is_true(total) &&
	    json_object_set_new(res, "total", json_integer((json_int_t)n)) < 0) {
		json_decref(res);
		res = NULL;
	}
	if (!res) {
		jmap_server_fail(c, "out of memory");
		return;
	}
	jmap_reply(c, res);
}

/* Text conditions look in the message index, which the writer fills in
 * idle time. So before a query with one, the messages of the mailboxes it
 * reads that have no index row yet are indexed, as IMAP SEARCH does: a
 * job of up to 1024 at a time, at most JMAP_QUERY_INDEX_ROUNDS jobs per
 * mailbox (a message that cannot be indexed is then not found by text).
 * The query is answered from the last job's completion. */
#define JMAP_QUERY_INDEX_ROUNDS 200

struct index_wait {
	struct jmap_call *c;
	struct buf mailboxes; /* struct qmailbox */
	size_t i;
	int rounds;
	struct store_index_req req;
};

static int index_job(struct store_tx *tx, void *arg)
{
	return store_index_missing_job(tx, &((struct index_wait *)arg)->req);
}

static void index_next(struct index_wait *w);

static void index_done(void *arg, int status)
{
	struct index_wait *w = arg;
	if (status < 0 || !w->req.remaining || ++w->rounds >= JMAP_QUERY_INDEX_ROUNDS) {
		w->i++;
		w->rounds = 0;
	}
	index_next(w);
}

static void index_next(struct index_wait *w)
{
	struct store *store = w->c->acct->store;
	const struct qmailbox *mb = (const struct qmailbox *)w->mailboxes.data;
	size_t n = w->mailboxes.len / sizeof *mb;
	for (; w->i < n; w->i++, w->rounds = 0) {
		if (w->rounds == 0 &&
		    store_index_missing_in(store_reader(store), mb[w->i].id, 0, UINT32_MAX) != 1)
			continue;
		w->req = (struct store_index_req){.mailbox_id = mb[w->i].id, .limit = 1024};
		if (store_submit_lazy(store, index_job, index_done, w) == 0)
			return;
		/* The store takes no jobs: answer from what is indexed. */
	}
	struct jmap_call *c = w->c;
	buf_free(&w->mailboxes);
	free(w);
	query_answer(c);
}

void jmap_email_query(struct jmap_call *c)
{
	if (!jmap_email_account_ok(c))
		return;
	struct jmap_filter_tree t;
	const char *type = NULL, *why = NULL;
	if (jmap_filter_parse(json_object_get(c->args, "filter"), &t, &type, &why) < 0) {
		jmap_error(c, type, why);
		return;
	}
	uint32_t only = scope_mailbox(t.root);
	size_t ntext = t.ntext;
	jmap_filter_tree_free(&t);
	if (ntext == 0) {
		query_answer(c);
		return;
	}
	struct index_wait *w = calloc(1, sizeof *w);
	if (!w) {
		jmap_server_fail(c, "out of memory");
		return;
	}
	w->c = c;
	struct buf all = {0};
	int r = store_mailbox_list(store_reader(c->acct->store), c->acct->account_id,
	                           collect_mailbox, &all);
	const struct qmailbox *mb = (const struct qmailbox *)all.data;
	for (size_t i = 0; r >= 0 && i < all.len / sizeof *mb; i++)
		if (!only || mb[i].uidvalidity == only)
			r = buf_add(&w->mailboxes, &mb[i], sizeof mb[i]);
	buf_free(&all);
	if (r < 0) {
		buf_free(&w->mailboxes);
		free(w);
		jmap_server_fail(c, "listing the mailboxes");
		return;
	}
	index_next(w);
}
