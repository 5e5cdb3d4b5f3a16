/* entries: reading entries, text search and the message write jobs (see
 * entries.h). */
#include "store/entries.h"
#include "store/mail.h"
#include "store/store.h"
#include "store/store_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "store/mailboxes.h"
#include "store/msg_index.h"

/* ---- progress (entries.h: relaxed stores, read by the loop) ---- */

static void progress_goal(struct store_progress *p, size_t goal)
{
	if (p)
		atomic_store_explicit(&p->goal, goal, memory_order_relaxed);
}

static void progress_done(struct store_progress *p, size_t done)
{
	if (p)
		atomic_store_explicit(&p->done, done, memory_order_relaxed);
}

static int expunge_uids(struct store_tx *tx, int64_t mailbox_id, const uint32_t *uids, size_t n,
                        struct store_progress *p, size_t base);

/* ---- entries ---- */

static void entry_row(sqlite3_stmt *st, struct store_entry *e)
{
	e->uid = (uint32_t)sqlite3_column_int64(st, 0);
	e->message_id = sqlite3_column_int64(st, 1);
	e->size = sqlite3_column_int64(st, 2);
	e->flags = (uint32_t)sqlite3_column_int64(st, 3);
	e->modseq = sqlite3_column_int64(st, 4);
	e->internal_date = sqlite3_column_int64(st, 5);
	e->keywords = (const char *)sqlite3_column_text(st, 6);
	if (!e->keywords)
		e->keywords = "";
	e->sent_day =
	    sqlite3_column_type(st, 7) == SQLITE_NULL ? STORE_NO_DAY : sqlite3_column_int64(st, 7);
	e->indexed = sqlite3_column_int(st, 8) != 0;
	e->headers = (const char *)sqlite3_column_text(st, 9);
	/* before schema 10: a thread of its own, saved when it arrived */
	e->thread_id = sqlite3_column_type(st, 10) == SQLITE_NULL ? e->message_id
	                                                          : sqlite3_column_int64(st, 10);
	e->save_date = sqlite3_column_type(st, 11) == SQLITE_NULL ? e->internal_date
	                                                          : sqlite3_column_int64(st, 11);
}

#define RANGE_WHERE "WHERE e.mailbox_id = ?1 AND e.uid BETWEEN ?2 AND ?3 ORDER BY e.uid LIMIT ?4"

int store_entries_range(struct store_rd *rd, int64_t mailbox_id, uint32_t lo, uint32_t hi,
                        size_t limit, enum store_entry_cols cols,
                        int (*cb)(void *ud, const struct store_entry *e), void *ud)
{
	sqlite3 *db = rd->db;
	/* The same columns for all four, so entry_row() reads any of them;
	 * STORE_COLS_ENTRY reads mailbox_entries alone (no page of the
	 * message itself), which is what FETCH FLAGS on a big mailbox needs. */
	static const char *const sql[] = {
	    [STORE_COLS_ENTRY] =
	        "SELECT e.uid, e.message_id, e.size, e.flags, e.modseq, e.internal_date, "
	        "e.keywords, NULL, 0, NULL, e.thread_id, e.save_date FROM mailbox_entries "
	        "e " RANGE_WHERE,
	    [STORE_COLS_INFO] =
	        "SELECT e.uid, e.message_id, e.size, e.flags, e.modseq, e.internal_date, "
	        "e.keywords, i.sent_day, i.message_id IS NOT NULL, NULL, e.thread_id, e.save_date "
	        "FROM mailbox_entries e LEFT JOIN imap_message_info i ON i.message_id = "
	        "e.message_id " RANGE_WHERE,
	    [STORE_COLS_HEADERS] =
	        "SELECT e.uid, e.message_id, e.size, e.flags, e.modseq, e.internal_date, "
	        "e.keywords, i.sent_day, i.message_id IS NOT NULL, i.headers, e.thread_id, "
	        "e.save_date FROM mailbox_entries e "
	        "LEFT JOIN imap_message_info i ON i.message_id = e.message_id " RANGE_WHERE,
	};
	sqlite3_stmt *st;
	int r = store_prep_cached(db, &st, sql[cols]);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, lo);
	sqlite3_bind_int64(st, 3, hi);
	sqlite3_bind_int64(st, 4, limit ? (int64_t)limit : -1);
	int ret = 0, rows = 0;
	struct store_entry e;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		entry_row(st, &e);
		rows++;
		if ((ret = cb(ud, &e)) != 0)
			break;
	}
	if (ret == 0 && r != SQLITE_DONE)
		ret = store_errno(r);
	store_release(st);
	return ret ? ret : rows;
}

int store_entry_get(struct store_rd *rd, int64_t mailbox_id, uint32_t uid, struct store_entry *out,
                    char *kwbuf, size_t kwcap)
{
	sqlite3 *db = rd->db;
	sqlite3_stmt *st;
	int r = store_prep(db, &st,
	                   "SELECT e.uid, e.message_id, e.size, e.flags, e.modseq, "
	                   "e.internal_date, e.keywords, i.sent_day, "
	                   "i.message_id IS NOT NULL, NULL, e.thread_id, e.save_date "
	                   "FROM mailbox_entries e "
	                   "LEFT JOIN imap_message_info i ON i.message_id = e.message_id "
	                   "WHERE e.mailbox_id = ?1 AND e.uid = ?2");
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, uid);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		entry_row(st, out);
		if (kwbuf && kwcap) {
			snprintf(kwbuf, kwcap, "%s", out->keywords);
			out->keywords = kwbuf;
		} else {
			out->keywords = "";
		}
		out->headers = NULL;
		r = 1;
	} else {
		r = r == SQLITE_DONE ? 0 : store_errno(r);
	}
	sqlite3_finalize(st);
	return r;
}

static int collect_uids(sqlite3_stmt *st, uint32_t **uids, size_t *n)
{
	size_t cap = 0;
	int r;
	*uids = NULL;
	*n = 0;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			uint32_t *nu = realloc(*uids, cap * sizeof **uids);
			if (!nu) {
				free(*uids);
				*uids = NULL;
				*n = 0;
				return -ENOMEM;
			}
			*uids = nu;
		}
		(*uids)[(*n)++] = (uint32_t)sqlite3_column_int64(st, 0);
	}
	if (r != SQLITE_DONE) {
		free(*uids);
		*uids = NULL;
		*n = 0;
		return store_errno(r);
	}
	return 0;
}

/* Number of UTF-8 characters in s[0..n). */
static size_t utf8_chars(const char *s, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			c++;
	return c;
}

int store_search_text(struct store_rd *rd, int64_t mailbox_id, const char *needle, size_t nlen,
                      enum store_fts_scope scope, uint32_t **uids, size_t *n)
{
	sqlite3 *db = rd->db;
	struct buf q = {0};
	sqlite3_stmt *st;
	int r = 0;
	bool like = utf8_chars(needle, nlen) < 3;
	if (like) {
		/* Too short for a trigram: LIKE over the stored text. */
		r = buf_addc(&q, '%');
		for (size_t i = 0; r == 0 && i < nlen; i++) {
			if (needle[i] == '%' || needle[i] == '_' || needle[i] == '\\')
				r = buf_addc(&q, '\\');
			if (r == 0)
				r = buf_addc(&q, needle[i]);
		}
		if (r == 0)
			r = buf_addc(&q, '%');
	} else {
		/* One FTS5 string: double quotes doubled. */
		r = buf_adds(&q, scope == STORE_FTS_TEXT   ? "\""
		                 : scope == STORE_FTS_BODY ? "body : \""
		                                           : "hdr : \"");
		for (size_t i = 0; r == 0 && i < nlen; i++) {
			if (needle[i] == '"')
				r = buf_addc(&q, '"');
			if (r == 0)
				r = buf_addc(&q, needle[i] ? needle[i] : ' ');
		}
		if (r == 0)
			r = buf_addc(&q, '"');
	}
	if (r < 0) {
		buf_free(&q);
		return r;
	}
	static const char *const like_sql[] = {
	    [STORE_FTS_BODY] = "SELECT e.uid FROM mailbox_entries e WHERE e.mailbox_id = ?1 AND "
	                       "e.message_id IN (SELECT rowid FROM imap_fts WHERE body LIKE ?2 "
	                       "ESCAPE '\\') ORDER BY e.uid",
	    [STORE_FTS_TEXT] = "SELECT e.uid FROM mailbox_entries e WHERE e.mailbox_id = ?1 AND "
	                       "e.message_id IN (SELECT rowid FROM imap_fts WHERE hdr LIKE ?2 "
	                       "ESCAPE '\\' OR body LIKE ?2 ESCAPE '\\') ORDER BY e.uid",
	    [STORE_FTS_HEADERS] = "SELECT e.uid FROM mailbox_entries e WHERE e.mailbox_id = ?1 AND "
	                          "e.message_id IN (SELECT rowid FROM imap_fts WHERE hdr LIKE ?2 "
	                          "ESCAPE '\\') ORDER BY e.uid",
	};
	const char *sql =
	    like ? like_sql[scope]
	         : "SELECT e.uid FROM mailbox_entries e WHERE e.mailbox_id = ?1 AND "
	           "e.message_id IN (SELECT rowid FROM imap_fts WHERE imap_fts MATCH ?2) "
	           "ORDER BY e.uid";
	if ((r = store_prep(db, &st, sql)) == 0) {
		sqlite3_bind_int64(st, 1, mailbox_id);
		sqlite3_bind_text(st, 2, q.data, (int)q.len, SQLITE_STATIC);
		r = collect_uids(st, uids, n);
		sqlite3_finalize(st);
	}
	buf_free(&q);
	return r;
}

int store_expunged_uids(struct store_rd *rd, int64_t mailbox_id, int64_t modseq, uint32_t lo,
                        uint32_t hi, uint32_t **uids, size_t *n)
{
	sqlite3 *db = rd->db;
	sqlite3_stmt *st;
	int r = store_prep(db, &st,
	                   "SELECT uid FROM expunged WHERE mailbox_id = ?1 AND modseq > ?2 "
	                   "AND uid BETWEEN ?3 AND ?4 ORDER BY uid");
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, modseq);
	sqlite3_bind_int64(st, 3, lo);
	sqlite3_bind_int64(st, 4, hi);
	r = collect_uids(st, uids, n);
	sqlite3_finalize(st);
	return r;
}

/* ---- keywords ---- */

bool store_keyword_has(const char *list, const char *kw, size_t kwlen)
{
	const char *p = list;
	while (p && *p) {
		while (*p == ' ')
			p++;
		const char *e = p;
		while (*e && *e != ' ')
			e++;
		if ((size_t)(e - p) == kwlen && kwlen && strncasecmp(p, kw, kwlen) == 0)
			return true;
		p = e;
	}
	return false;
}

/* Apply op to a keyword list; the result is malloc'd. */
static char *keywords_apply(const char *cur, enum store_flag_op op, const char *kws)
{
	struct buf b = {0};
	int r = buf_add(&b, "", 0);
	const char *p;
	/* keep current ones unless SET or removed */
	if (op != STORE_FLAGS_SET) {
		for (p = cur; r == 0 && *p;) {
			while (*p == ' ')
				p++;
			const char *e = p;
			while (*e && *e != ' ')
				e++;
			if (e > p && !(op == STORE_FLAGS_REMOVE &&
			               store_keyword_has(kws, p, (size_t)(e - p)))) {
				if (b.len)
					r = buf_addc(&b, ' ');
				if (r == 0)
					r = buf_add(&b, p, (size_t)(e - p));
			}
			p = e;
		}
	}
	if (op != STORE_FLAGS_REMOVE) {
		for (p = kws; r == 0 && *p;) {
			while (*p == ' ')
				p++;
			const char *e = p;
			while (*e && *e != ' ')
				e++;
			if (e > p && !store_keyword_has(b.data, p, (size_t)(e - p))) {
				if (b.len)
					r = buf_addc(&b, ' ');
				if (r == 0)
					r = buf_add(&b, p, (size_t)(e - p));
			}
			p = e;
		}
	}
	if (r < 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_take(&b);
}

/* Same set of keywords (order and case ignored)? */
static bool keywords_equal(const char *a, const char *b)
{
	for (int pass = 0; pass < 2; pass++) {
		const char *x = pass ? b : a, *y = pass ? a : b;
		for (const char *p = x; *p;) {
			while (*p == ' ')
				p++;
			const char *e = p;
			while (*e && *e != ' ')
				e++;
			if (e > p && !store_keyword_has(y, p, (size_t)(e - p)))
				return false;
			p = e;
		}
	}
	return true;
}

void store_flags_req_clear(struct store_flags_req *q)
{
	for (size_t i = 0; q->res && i < q->n; i++) {
		free(q->res[i].keywords);
		q->res[i].keywords = NULL;
	}
}

int store_flags_job(struct store_tx *tx, void *arg)
{
	sqlite3 *db = tx->rd.db;
	struct store_flags_req *q = arg;
	sqlite3_stmt *sel = NULL, *upd = NULL;
	int64_t modseq = store_mailbox_modseq(db, q->mailbox_id);
	int r;
	if (modseq < 0)
		return (int)modseq;
	if ((r = store_prep_cached(db, &sel,
	                           "SELECT flags, keywords, modseq FROM mailbox_entries "
	                           "WHERE mailbox_id = ?1 AND uid = ?2")) < 0 ||
	    (r = store_prep_cached(db, &upd,
	                           "UPDATE mailbox_entries SET flags = ?3, keywords = ?4, "
	                           "modseq = ?5 WHERE mailbox_id = ?1 AND uid = ?2")) < 0)
		goto out;
	/* A lazy job runs again after its batch failed for want of room
	 * (store/writer.c): the first run's results go first. */
	if (q->ran)
		store_flags_req_clear(q);
	q->ran = true;
	const char *kws = q->keywords ? q->keywords : "";
	progress_goal(q->progress, q->n);
	for (size_t i = 0; i < q->n; i++) {
		struct store_flag_result *res = &q->res[i];
		progress_done(q->progress, i);
		res->uid = q->uids[i];
		res->status = -1;
		sqlite3_reset(sel);
		sqlite3_bind_int64(sel, 1, q->mailbox_id);
		sqlite3_bind_int64(sel, 2, q->uids[i]);
		r = sqlite3_step(sel);
		if (r == SQLITE_DONE)
			continue;
		if (r != SQLITE_ROW) {
			r = store_errno(r);
			goto out;
		}
		uint32_t flags = (uint32_t)sqlite3_column_int64(sel, 0);
		const char *cur = (const char *)sqlite3_column_text(sel, 1);
		int64_t em = sqlite3_column_int64(sel, 2);
		uint32_t nf = q->op == STORE_FLAGS_SET   ? q->flags
		              : q->op == STORE_FLAGS_ADD ? flags | q->flags
		                                         : flags & ~q->flags;
		nf &= STORE_FLAG_ALL;
		char *nk = keywords_apply(cur ? cur : "", q->op, kws);
		if (!nk) {
			r = -ENOMEM;
			goto out;
		}
		if (q->unchangedsince >= 0 && em > q->unchangedsince) {
			res->status = 2;
			res->flags = flags;
			res->modseq = em;
			free(nk);
			res->keywords = strdup(cur ? cur : "");
			continue;
		}
		bool changed = nf != flags || !keywords_equal(nk, cur ? cur : "");
		if (changed) {
			/* one new MODSEQ per changed message */
			modseq++;
			sqlite3_reset(sel);
			sqlite3_reset(upd);
			sqlite3_bind_int64(upd, 1, q->mailbox_id);
			sqlite3_bind_int64(upd, 2, q->uids[i]);
			sqlite3_bind_int64(upd, 3, nf);
			sqlite3_bind_text(upd, 4, nk, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int64(upd, 5, modseq);
			if ((r = store_step_done(upd)) < 0) {
				free(nk);
				goto out;
			}
			em = modseq;
		}
		res->status = changed ? 1 : 0;
		res->flags = nf;
		res->modseq = em;
		res->keywords = nk;
	}
	sqlite3_reset(sel);
	r = 0;
	{
		sqlite3_stmt *st;
		if ((r = store_prep_cached(db, &st,
		                           "UPDATE mailboxes SET highestmodseq = ?2 WHERE id = ?1 "
		                           "AND highestmodseq < ?2")) == 0) {
			sqlite3_bind_int64(st, 1, q->mailbox_id);
			sqlite3_bind_int64(st, 2, modseq);
			r = store_step_done(st);
			store_release(st);
		}
	}
	q->highestmodseq = modseq;
out:
	store_release(sel);
	store_release(upd);
	return r;
}

int64_t store_account_usage(struct store_rd *rd, int64_t account_id)
{
	sqlite3 *db = rd->db;
	return store_scalar(db,
	                    "SELECT COALESCE(SUM(e.size), 0) FROM mailboxes b "
	                    "JOIN mailbox_entries e ON e.mailbox_id = b.id WHERE b.account_id = ?1",
	                    account_id);
}

int store_copy_job(struct store_tx *tx, void *arg)
{
	sqlite3 *db = tx->rd.db;
	struct store_copy_req *q = arg;
	sqlite3_stmt *mb = NULL, *sel = NULL, *ins = NULL, *bump = NULL;
	int r;
	q->copied = 0;
	if ((r = store_prep(db, &mb,
	                    "SELECT uidnext, highestmodseq, uidvalidity FROM mailboxes "
	                    "WHERE id = ?1 AND account_id = ?2")) < 0)
		goto out;
	sqlite3_bind_int64(mb, 1, q->dst_mailbox_id);
	sqlite3_bind_int64(mb, 2, q->account_id);
	r = sqlite3_step(mb);
	if (r != SQLITE_ROW) {
		r = r == SQLITE_DONE ? -ENOENT : store_errno(r);
		goto out;
	}
	int64_t uidnext = sqlite3_column_int64(mb, 0);
	int64_t modseq = sqlite3_column_int64(mb, 1);
	q->dst_uidvalidity = (uint32_t)sqlite3_column_int64(mb, 2);
	sqlite3_finalize(mb);
	mb = NULL;

	if (q->quota_bytes && !q->move) {
		int64_t used = store_account_usage(&tx->rd, q->account_id), add = 0;
		sqlite3_stmt *sz;
		if (used < 0) {
			r = (int)used;
			goto out;
		}
		if ((r = store_prep(db, &sz,
		                    "SELECT size FROM mailbox_entries "
		                    "WHERE mailbox_id = ?1 AND uid = ?2")) < 0)
			goto out;
		for (size_t i = 0; i < q->n; i++) {
			sqlite3_reset(sz);
			sqlite3_bind_int64(sz, 1, q->src_mailbox_id);
			sqlite3_bind_int64(sz, 2, q->uids[i]);
			if (sqlite3_step(sz) == SQLITE_ROW)
				add += sqlite3_column_int64(sz, 0);
		}
		sqlite3_finalize(sz);
		if ((uint64_t)(used + add) > q->quota_bytes) {
			r = -EDQUOT;
			goto out;
		}
	}

	if ((r = store_prep(db, &sel,
	                    "SELECT message_id, flags, keywords, internal_date, size, thread_id "
	                    "FROM mailbox_entries WHERE mailbox_id = ?1 AND uid = ?2")) < 0 ||
	    (r = store_prep(db, &ins,
	                    "INSERT INTO mailbox_entries(mailbox_id, uid, message_id, flags, "
	                    "keywords, modseq, internal_date, size, thread_id, save_date) "
	                    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)")) < 0)
		goto out;
	progress_goal(q->progress, q->move ? 2 * q->n : q->n);
	for (size_t i = 0; i < q->n; i++) {
		progress_done(q->progress, i);
		q->new_uids[i] = 0;
		if (q->new_modseqs)
			q->new_modseqs[i] = 0;
		sqlite3_reset(sel);
		sqlite3_bind_int64(sel, 1, q->src_mailbox_id);
		sqlite3_bind_int64(sel, 2, q->uids[i]);
		r = sqlite3_step(sel);
		if (r == SQLITE_DONE)
			continue;
		if (r != SQLITE_ROW) {
			r = store_errno(r);
			goto out;
		}
		if (uidnext <= 0 || uidnext >= UINT32_MAX) {
			r = -EOVERFLOW;
			goto out;
		}
		int64_t msgid = sqlite3_column_int64(sel, 0);
		modseq++;
		sqlite3_reset(ins);
		sqlite3_bind_int64(ins, 1, q->dst_mailbox_id);
		sqlite3_bind_int64(ins, 2, uidnext);
		sqlite3_bind_int64(ins, 3, msgid);
		sqlite3_bind_int64(ins, 4, sqlite3_column_int64(sel, 1));
		sqlite3_bind_text(ins, 5, (const char *)sqlite3_column_text(sel, 2), -1,
		                  SQLITE_TRANSIENT);
		sqlite3_bind_int64(ins, 6, modseq);
		sqlite3_bind_int64(ins, 7, sqlite3_column_int64(sel, 3));
		sqlite3_bind_int64(ins, 8, sqlite3_column_int64(sel, 4));
		/* the copy is the same email (EMAILID, THREADID: the same message
		 * row and thread); its save date is now (RFC 8514 §3) */
		sqlite3_bind_value(ins, 9, sqlite3_column_value(sel, 5));
		sqlite3_bind_int64(ins, 10, store_now());
		sqlite3_reset(sel);
		if ((r = store_step_done(ins)) < 0)
			goto out;
		if ((r = store_message_ref(tx, msgid, 1)) < 0)
			goto out;
		q->new_uids[i] = (uint32_t)uidnext;
		if (q->new_modseqs)
			q->new_modseqs[i] = modseq;
		uidnext++;
		q->copied++;
	}
	if ((r = store_prep(
	         db, &bump,
	         "UPDATE mailboxes SET uidnext = ?2, highestmodseq = ?3 WHERE id = ?1")) < 0)
		goto out;
	sqlite3_bind_int64(bump, 1, q->dst_mailbox_id);
	sqlite3_bind_int64(bump, 2, uidnext);
	sqlite3_bind_int64(bump, 3, modseq);
	if ((r = store_step_done(bump)) < 0)
		goto out;
	if (q->move && q->copied) {
		uint32_t *gone = malloc(q->n * sizeof *gone);
		size_t ng = 0;
		if (!gone) {
			r = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < q->n; i++)
			if (q->new_uids[i])
				gone[ng++] = q->uids[i];
		/* the expunge half of a MOVE counts on from n */
		progress_done(q->progress, q->n + (q->n - ng));
		r = expunge_uids(tx, q->src_mailbox_id, gone, ng, q->progress, q->n + (q->n - ng));
		free(gone);
		if (r < 0)
			goto out;
		int64_t m = store_mailbox_modseq(db, q->src_mailbox_id);
		q->src_modseq = m > 0 ? m : 0;
	}
	r = (int)q->copied;
out:
	sqlite3_finalize(mb);
	sqlite3_finalize(sel);
	sqlite3_finalize(ins);
	sqlite3_finalize(bump);
	return r;
}

int store_append_job(struct store_tx *tx, void *arg)
{
	sqlite3 *db = tx->rd.db;
	struct store_append_req *q = arg;
	int r;
	if (q->quota_bytes) {
		int64_t used = store_account_usage(&tx->rd, q->account_id);
		if (used < 0)
			return (int)used;
		if ((uint64_t)used + q->len > q->quota_bytes)
			return -EDQUOT;
	}
	struct store_local_rcpt rc = {.account_id = q->account_id, .mailbox_id = q->mailbox_id};
	uint32_t uid = 0;
	int64_t modseq = 0;
	struct store_delivery d = {
	    .data = q->data,
	    .len = q->len,
	    .mail_from = "",
	    .internal_date = q->internal_date,
	    .local = &rc,
	    .nlocal = 1,
	    .uids = &uid,
	    .modseqs = &modseq,
	    .thread = q->thread,
	};
	if ((r = store_deliver(tx, &d)) < 0)
		return r;
	if (q->flags || (q->keywords && *q->keywords)) {
		sqlite3_stmt *st;
		if ((r = store_prep_cached(db, &st,
		                           "UPDATE mailbox_entries SET flags = ?3, keywords = ?4 "
		                           "WHERE mailbox_id = ?1 AND uid = ?2")) < 0)
			return r;
		sqlite3_bind_int64(st, 1, q->mailbox_id);
		sqlite3_bind_int64(st, 2, uid);
		sqlite3_bind_int64(st, 3, q->flags & STORE_FLAG_ALL);
		sqlite3_bind_text(st, 4, q->keywords ? q->keywords : "", -1, SQLITE_STATIC);
		r = store_step_done(st);
		store_release(st);
		if (r < 0)
			return r;
	}
	int64_t uidvalidity =
	    store_scalar(db, "SELECT uidvalidity FROM mailboxes WHERE id = ?1", q->mailbox_id);
	if (uidvalidity < 0)
		return (int)uidvalidity;
	q->uid = uid;
	q->modseq = modseq;
	q->uidvalidity = (uint32_t)uidvalidity;
	return 0;
}

int store_replace_job(struct store_tx *tx, void *arg)
{
	struct store_replace_req *q = arg;
	int r = store_entries_expunge(tx, q->old_mailbox_id, &q->old_uid, 1);
	if (r < 0)
		return r;
	if (r == 0)
		return -ESTALE;
	int64_t m = store_mailbox_modseq(tx->rd.db, q->old_mailbox_id);
	q->expunge_modseq = m > 0 ? m : 0;
	return store_append_job(tx, &q->append);
}

int store_expunge_job(struct store_tx *tx, void *arg)
{
	sqlite3 *db = tx->rd.db;
	struct store_expunge_req *q = arg;
	sqlite3_stmt *st;
	uint32_t *del = NULL;
	size_t ndel = 0;
	/* A lazy job runs again after its batch failed for want of room
	 * (store/writer.c): the first run's result goes first. */
	free(q->expunged);
	q->expunged = NULL;
	q->nexpunged = 0;
	int r = store_prep_cached(db, &st,
	                          "SELECT uid FROM mailbox_entries WHERE mailbox_id = ?1 "
	                          "AND (flags & 8) != 0 ORDER BY uid");
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, q->mailbox_id);
	r = collect_uids(st, &del, &ndel);
	store_release(st);
	if (r < 0)
		return r;
	if (q->uids) {
		/* intersect two ascending lists */
		size_t i = 0, j = 0, k = 0;
		while (i < ndel && j < q->n) {
			if (del[i] == q->uids[j]) {
				del[k++] = del[i];
				i++;
				j++;
			} else if (del[i] < q->uids[j]) {
				i++;
			} else {
				j++;
			}
		}
		ndel = k;
	}
	q->expunged = del;
	q->nexpunged = ndel;
	if (ndel == 0)
		return 0;
	progress_goal(q->progress, ndel);
	r = expunge_uids(tx, q->mailbox_id, del, ndel, q->progress, 0);
	if (r < 0)
		return r;
	int64_t m = store_mailbox_modseq(db, q->mailbox_id);
	q->modseq = m > 0 ? m : 0;
	return (int)ndel;
}

/* The entries sql selects (uid, flags, modseq, keywords[, message_id,
 * internal_date, size] with with_message), ?1 the mailbox, ?2 modseq when
 * it is not negative. */
static int entries_walk(sqlite3 *db, int64_t mailbox_id, int64_t modseq, const char *sql,
                        bool with_message, int (*cb)(void *ud, const struct store_entry *e),
                        void *ud)
{
	sqlite3_stmt *st;
	int rc = store_prep_cached(db, &st, sql);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, mailbox_id);
	if (modseq >= 0)
		sqlite3_bind_int64(st, 2, modseq);
	int ret = 0;
	struct store_entry e = {0};
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		e.uid = (uint32_t)sqlite3_column_int64(st, 0);
		e.flags = (uint32_t)sqlite3_column_int64(st, 1);
		e.modseq = sqlite3_column_int64(st, 2);
		e.keywords = (const char *)sqlite3_column_text(st, 3);
		if (with_message) {
			e.message_id = sqlite3_column_int64(st, 4);
			e.internal_date = sqlite3_column_int64(st, 5);
			e.size = sqlite3_column_int64(st, 6);
		}
		if ((ret = cb(ud, &e)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_errno(rc);
	store_release(st);
	return ret;
}

int store_entries_list(struct store_rd *rd, int64_t mailbox_id,
                       int (*cb)(void *ud, const struct store_entry *e), void *ud)
{
	sqlite3 *db = rd->db;
	return entries_walk(db, mailbox_id, -1,
	                    "SELECT e.uid, e.flags, e.modseq, e.keywords, e.message_id, "
	                    "e.internal_date, e.size FROM mailbox_entries e "
	                    "WHERE e.mailbox_id = ?1 ORDER BY e.uid",
	                    true, cb, ud);
}

int store_entries_list_flags(struct store_rd *rd, int64_t mailbox_id,
                             int (*cb)(void *ud, const struct store_entry *e), void *ud)
{
	sqlite3 *db = rd->db;
	/* mailbox_entries alone: a sequential scan of its primary key. The
	 * join for the size reads one page of every message. */
	return entries_walk(db, mailbox_id, -1,
	                    "SELECT uid, flags, modseq, keywords FROM mailbox_entries "
	                    "WHERE mailbox_id = ?1 ORDER BY uid",
	                    false, cb, ud);
}

int store_entries_changed_since(struct store_rd *rd, int64_t mailbox_id, int64_t modseq,
                                int (*cb)(void *ud, const struct store_entry *e), void *ud)
{
	return entries_walk(rd->db, mailbox_id, modseq,
	                    "SELECT uid, flags, modseq, keywords FROM mailbox_entries "
	                    "INDEXED BY mailbox_entries_modseq "
	                    "WHERE mailbox_id = ?1 AND modseq > ?2",
	                    false, cb, ud);
}

int store_entries_expunge(struct store_tx *tx, int64_t mailbox_id, const uint32_t *uids, size_t n)
{
	return expunge_uids(tx, mailbox_id, uids, n, NULL, 0);
}

/* store_entries_expunge, counting base + i into p as it goes. */
static int expunge_uids(struct store_tx *tx, int64_t mailbox_id, const uint32_t *uids, size_t n,
                        struct store_progress *p, size_t base)
{
	sqlite3 *db = tx->rd.db;
	sqlite3_stmt *sel = NULL, *del = NULL, *rec = NULL;
	int64_t modseq = store_mailbox_modseq(db, mailbox_id);
	int rc, count = 0;
	if (modseq < 0)
		return (int)modseq;
	modseq++;
	if ((rc = store_prep_cached(db, &sel,
	                            "SELECT message_id, coalesce(thread_id, message_id) "
	                            "FROM mailbox_entries WHERE mailbox_id = ?1 AND uid = ?2")) <
	        0 ||
	    (rc = store_prep_cached(
	         db, &del, "DELETE FROM mailbox_entries WHERE mailbox_id = ?1 AND uid = ?2")) < 0 ||
	    (rc = store_prep_cached(db, &rec,
	                            "INSERT OR REPLACE INTO expunged(mailbox_id, uid, modseq, "
	                            "message_id, thread_id) VALUES(?1, ?2, ?3, ?4, ?5)")) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		progress_done(p, base + i);
		sqlite3_reset(sel);
		sqlite3_bind_int64(sel, 1, mailbox_id);
		sqlite3_bind_int64(sel, 2, uids[i]);
		rc = sqlite3_step(sel);
		if (rc == SQLITE_DONE)
			continue;
		if (rc != SQLITE_ROW) {
			rc = store_errno(rc);
			goto out;
		}
		int64_t msgid = sqlite3_column_int64(sel, 0);
		int64_t thread_id = sqlite3_column_int64(sel, 1);
		sqlite3_reset(sel);

		sqlite3_reset(del);
		sqlite3_bind_int64(del, 1, mailbox_id);
		sqlite3_bind_int64(del, 2, uids[i]);
		if ((rc = store_step_done(del)) < 0)
			goto out;
		sqlite3_reset(rec);
		sqlite3_bind_int64(rec, 1, mailbox_id);
		sqlite3_bind_int64(rec, 2, uids[i]);
		sqlite3_bind_int64(rec, 3, modseq);
		sqlite3_bind_int64(rec, 4, msgid);
		sqlite3_bind_int64(rec, 5, thread_id);
		if ((rc = store_step_done(rec)) < 0)
			goto out;
		if ((rc = store_message_ref(tx, msgid, -1)) < 0)
			goto out;
		count++;
	}
	rc = count > 0 ? store_set_mailbox_modseq(db, mailbox_id, modseq) : 0;
out:
	store_release(sel);
	store_release(del);
	store_release(rec);
	return rc < 0 ? rc : count;
}

int store_entries_update_flags(struct store_tx *tx, int64_t mailbox_id, uint32_t uid,
                               uint32_t add_mask, uint32_t remove_mask, uint32_t *flags_out,
                               int64_t *modseq_out)
{
	sqlite3 *db = tx->rd.db;
	sqlite3_stmt *st;
	int rc = store_prep_cached(db, &st,
	                           "SELECT flags, modseq FROM mailbox_entries "
	                           "WHERE mailbox_id = ?1 AND uid = ?2");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, uid);
	rc = sqlite3_step(st);
	uint32_t flags = rc == SQLITE_ROW ? (uint32_t)sqlite3_column_int64(st, 0) : 0;
	int64_t modseq = rc == SQLITE_ROW ? sqlite3_column_int64(st, 1) : 0;
	store_release(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? -ENOENT : store_errno(rc);

	uint32_t nflags = ((flags | add_mask) & ~remove_mask) & STORE_FLAG_ALL;
	if (nflags != flags) {
		/* RFC 7162: the MODSEQ changes only when the metadata does. */
		int64_t m = store_mailbox_modseq(db, mailbox_id);
		if (m < 0)
			return (int)m;
		modseq = m + 1;
		if ((rc = store_set_mailbox_modseq(db, mailbox_id, modseq)) < 0)
			return rc;
		if ((rc = store_prep_cached(db, &st,
		                            "UPDATE mailbox_entries SET flags = ?3, modseq = ?4 "
		                            "WHERE mailbox_id = ?1 AND uid = ?2")) < 0)
			return rc;
		sqlite3_bind_int64(st, 1, mailbox_id);
		sqlite3_bind_int64(st, 2, uid);
		sqlite3_bind_int64(st, 3, nflags);
		sqlite3_bind_int64(st, 4, modseq);
		rc = store_step_done(st);
		store_release(st);
		if (rc < 0)
			return rc;
	}
	if (flags_out)
		*flags_out = nflags;
	if (modseq_out)
		*modseq_out = modseq;
	return (int)nflags;
}

int64_t store_entries_count_above(struct store_rd *rd, int64_t mailbox_id, uint32_t uid)
{
	sqlite3 *db = rd->db;
	sqlite3_stmt *st;
	int rc = store_prep_cached(
	    db, &st, "SELECT count(*) FROM mailbox_entries WHERE mailbox_id = ?1 AND uid > ?2");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, uid);
	rc = sqlite3_step(st);
	int64_t n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : store_errno(rc);
	store_release(st);
	return n;
}

int store_entry_flags(struct store_rd *rd, int64_t mailbox_id, uint32_t uid, uint32_t *flags,
                      int64_t *modseq, char *kw, size_t kwcap)
{
	sqlite3 *db = rd->db;
	sqlite3_stmt *st;
	int rc = store_prep(db, &st,
	                    "SELECT flags, modseq, keywords FROM mailbox_entries "
	                    "WHERE mailbox_id = ?1 AND uid = ?2");
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, uid);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*flags = (uint32_t)sqlite3_column_int64(st, 0);
		*modseq = sqlite3_column_int64(st, 1);
		const char *k = (const char *)sqlite3_column_text(st, 2);
		if (kwcap) {
			size_t n = k ? strlen(k) : 0;
			if (n >= kwcap)
				n = kwcap - 1;
			if (n)
				memcpy(kw, k, n);
			kw[n] = '\0';
		}
		rc = 1;
	} else if (rc == SQLITE_DONE) {
		rc = 0;
	} else {
		rc = store_errno(rc);
	}
	sqlite3_finalize(st);
	return rc;
}
