/* imap_messages: precomputed IMAP data, FTS5 search and the write jobs of
 * the IMAP message commands (see imap_messages.h). */
#include "store/imap_messages.h"
#include "store/mail.h"
#include "store/store.h"
#include "store/store_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto/imap/dates.h"
#include "proto/imap/render.h"
#include "mime/mime.h"

/* ---- precomputed data ---- */

void store_imap_info_free(struct store_imap_info *i)
{
	if (!i)
		return;
	free(i->envelope);
	free(i->body);
	free(i->bodystructure);
	free(i->headers);
	memset(i, 0, sizeof *i);
	i->sent_day = IMAP_NO_DAY;
}

static char *buf_take(struct mime_buf *b)
{
	if (!b->data && mime_buf_add(b, "", 0) < 0)
		return NULL;
	char *p = b->data;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

/* The day of the Date: field, IMAP_NO_DAY if none or unparsable. */
static int64_t sent_day_of(const struct mime_message *m)
{
	const char *v;
	size_t vl;
	int64_t day;
	if (mime_header_get(m, m->root, "date", &v, &vl) &&
	    imap_parse_rfc5322_day(v, vl, &day) == 0)
		return day;
	return IMAP_NO_DAY;
}

int store_message_read_header(sqlite3 *db, int64_t message_id, size_t size, char **raw,
                              size_t *rawlen, struct mime_message **mm)
{
	size_t want = size > STORE_HEADER_PROBE ? STORE_HEADER_PROBE : size;
	*rawlen = 0;
	for (;;) {
		char *buf = realloc(*raw, want + 1);
		if (!buf)
			return -ENOMEM;
		*raw = buf;
		size_t asked = want - *rawlen;
		ssize_t n = store_message_read(db, message_id, *rawlen, *raw + *rawlen, asked);
		if (n < 0)
			return (int)n;
		*rawlen += (size_t)n;
		int r = mime_parse(*raw, *rawlen, mm);
		bool whole = want >= size || (size_t)n < asked;
		if (r < 0 || whole || (*mm)->root->body_start < *rawlen)
			return r;
		mime_free(mm); /* the header goes on past the prefix */
		want = want > size / 4 ? size : want * 4;
	}
}

int store_imap_header_info(sqlite3 *db, int64_t message_id, char **headers, int64_t *sent_day)
{
	int64_t size = store_message_size(db, message_id);
	if (size < 0)
		return (int)size;
	char *raw = NULL;
	size_t rawlen;
	struct mime_message *m = NULL;
	struct mime_buf hdrs = {0};
	*headers = NULL;
	*sent_day = IMAP_NO_DAY;
	int r = store_message_read_header(db, message_id, (size_t)size, &raw, &rawlen, &m);
	if (r == 0)
		r = mime_header_text(m, m->root, STORE_IMAP_TEXT_MAX, &hdrs);
	if (r == 0) {
		*sent_day = sent_day_of(m);
		if (!(*headers = buf_take(&hdrs)))
			r = -ENOMEM;
	}
	mime_buf_free(&hdrs);
	mime_free(&m);
	free(raw);
	return r;
}

int store_imap_info_compute(const char *data, size_t len, struct store_imap_info *out,
                            char **hdr_text, char **body_text)
{
	struct mime_message *m = NULL;
	struct mime_buf env = {0}, bs = {0}, body = {0}, hdrs = {0}, ht = {0}, bt = {0};
	memset(out, 0, sizeof *out);
	out->sent_day = IMAP_NO_DAY;
	int r = mime_parse(data, len, &m);
	if (r == 0)
		r = imap_envelope(m, m->root, &env);
	if (r == 0)
		r = imap_bodystructure(m, true, &bs);
	if (r == 0)
		r = imap_bodystructure(m, false, &body);
	if (r == 0)
		r = mime_header_text(m, m->root, STORE_IMAP_TEXT_MAX, &hdrs);
	if (r == 0 && hdr_text)
		r = mime_searchable_text(m, MIME_TEXT_HEADERS, STORE_IMAP_TEXT_MAX, &ht);
	if (r == 0 && body_text)
		r = mime_searchable_text(m, MIME_TEXT_BODY, STORE_IMAP_TEXT_MAX, &bt);
	if (r == 0) {
		out->sent_day = sent_day_of(m);
		out->envelope = buf_take(&env);
		out->bodystructure = buf_take(&bs);
		out->body = buf_take(&body);
		out->headers = buf_take(&hdrs);
		if (!out->envelope || !out->bodystructure || !out->body || !out->headers)
			r = -ENOMEM;
		if (hdr_text && r == 0 && !(*hdr_text = buf_take(&ht)))
			r = -ENOMEM;
		if (body_text && r == 0 && !(*body_text = buf_take(&bt)))
			r = -ENOMEM;
	}
	if (r < 0)
		store_imap_info_free(out);
	mime_buf_free(&env);
	mime_buf_free(&bs);
	mime_buf_free(&body);
	mime_buf_free(&hdrs);
	mime_buf_free(&ht);
	mime_buf_free(&bt);
	mime_free(&m);
	return r;
}

int store_imap_index(sqlite3 *db, int64_t message_id, const char *data, size_t len)
{
	struct store_imap_info info;
	char *ht = NULL, *bt = NULL;
	sqlite3_stmt *st = NULL;
	int r = store_imap_info_compute(data, len, &info, &ht, &bt);
	if (r < 0)
		return r;
	if ((r = store_run(db, "SAVEPOINT imap_index")) < 0)
		goto out;
	r = store_prep(db, &st,
	               "INSERT OR REPLACE INTO imap_message_info(message_id, sent_day, envelope, "
	               "body, bodystructure, headers) VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
	if (r == 0) {
		sqlite3_bind_int64(st, 1, message_id);
		if (info.sent_day == IMAP_NO_DAY)
			sqlite3_bind_null(st, 2);
		else
			sqlite3_bind_int64(st, 2, info.sent_day);
		sqlite3_bind_text(st, 3, info.envelope, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, info.body, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, info.bodystructure, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, info.headers, -1, SQLITE_STATIC);
		r = store_step_done(st);
		sqlite3_finalize(st);
	}
	if (r == 0 && (r = store_prep(db, &st, "DELETE FROM imap_fts WHERE rowid = ?1")) == 0) {
		sqlite3_bind_int64(st, 1, message_id);
		r = store_step_done(st);
		sqlite3_finalize(st);
	}
	if (r == 0 &&
	    (r = store_prep(db, &st,
	                    "INSERT INTO imap_fts(rowid, hdr, body) VALUES(?1, ?2, ?3)")) == 0) {
		sqlite3_bind_int64(st, 1, message_id);
		sqlite3_bind_text(st, 2, ht, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, bt, -1, SQLITE_STATIC);
		r = store_step_done(st);
		sqlite3_finalize(st);
	}
	if (r < 0)
		store_run(db, "ROLLBACK TO imap_index");
	store_run(db, "RELEASE imap_index");
out:
	store_imap_info_free(&info);
	free(ht);
	free(bt);
	return r;
}

static char *col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return strdup(t ? (const char *)t : "");
}

int store_imap_info_get(sqlite3 *db, int64_t message_id, struct store_imap_info *out)
{
	sqlite3_stmt *st;
	memset(out, 0, sizeof *out);
	out->sent_day = IMAP_NO_DAY;
	int r = store_prep(db, &st,
	                   "SELECT sent_day, envelope, body, bodystructure, headers "
	                   "FROM imap_message_info WHERE message_id = ?1");
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, message_id);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		if (sqlite3_column_type(st, 0) != SQLITE_NULL)
			out->sent_day = sqlite3_column_int64(st, 0);
		out->envelope = col_dup(st, 1);
		out->body = col_dup(st, 2);
		out->bodystructure = col_dup(st, 3);
		out->headers = col_dup(st, 4);
		r = (out->envelope && out->body && out->bodystructure && out->headers) ? 1
		                                                                       : -ENOMEM;
		if (r < 0)
			store_imap_info_free(out);
	} else {
		r = r == SQLITE_DONE ? 0 : store_errno(r);
	}
	sqlite3_finalize(st);
	return r;
}

int store_imap_mailbox_unindexed(sqlite3 *db, int64_t mailbox_id, uint32_t above, uint32_t upto)
{
	sqlite3_stmt *st;
	int r = store_prep_cached(db, &st,
	                          "SELECT EXISTS(SELECT 1 FROM mailbox_entries e WHERE "
	                          "e.mailbox_id = ?1 AND e.uid > ?2 AND e.uid <= ?3 AND NOT EXISTS "
	                          "(SELECT 1 FROM imap_message_info i WHERE "
	                          "i.message_id = e.message_id))");
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, above);
	sqlite3_bind_int64(st, 3, upto);
	int rc = sqlite3_step(st);
	r = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : store_errno(rc);
	store_release(st);
	return r;
}

/* Reads message_id whole and indexes it. */
static int index_stored(sqlite3 *db, int64_t message_id)
{
	int64_t size = store_message_size(db, message_id);
	if (size < 0)
		return (int)size;
	char *buf = malloc((size_t)size + 1);
	if (!buf)
		return -ENOMEM;
	ssize_t got = store_message_read(db, message_id, 0, buf, (size_t)size);
	int r = got < 0 ? (int)got : store_imap_index(db, message_id, buf, (size_t)got);
	free(buf);
	return r;
}

int store_imap_index_next(sqlite3 *db, int64_t *cursor)
{
	int64_t id = store_scalar(db,
	                          "SELECT e.message_id FROM mailbox_entries e "
	                          "WHERE e.message_id > ?1 AND NOT EXISTS (SELECT 1 FROM "
	                          "imap_message_info i WHERE i.message_id = e.message_id) "
	                          "ORDER BY e.message_id LIMIT 1",
	                          *cursor);
	if (id == -ENOENT) {
		/* All done up to the end: start the next search there. */
		int64_t last = store_scalar(
		    db, "SELECT IFNULL(MAX(message_id), ?1) FROM mailbox_entries", *cursor);
		if (last > *cursor)
			*cursor = last;
		return 0;
	}
	if (id < 0)
		return (int)id;
	*cursor = id;
	int r = index_stored(db, id);
	return r == -ENOMEM ? r : 1;
}

int store_imap_index_missing_job(sqlite3 *db, void *arg)
{
	struct store_imap_index_req *q = arg;
	sqlite3_stmt *st;
	int r = store_prep(db, &st,
	                   "SELECT DISTINCT e.message_id FROM mailbox_entries e "
	                   "WHERE e.mailbox_id = ?1 AND NOT EXISTS "
	                   "(SELECT 1 FROM imap_message_info i WHERE i.message_id = e.message_id) "
	                   "LIMIT ?2");
	if (r < 0)
		return r;
	int limit = q->limit > 0 ? q->limit : 100;
	sqlite3_bind_int64(st, 1, q->mailbox_id);
	sqlite3_bind_int(st, 2, limit + 1);
	int64_t ids[1025];
	int n = 0;
	if (limit > 1024)
		limit = 1024;
	while ((r = sqlite3_step(st)) == SQLITE_ROW && n <= limit)
		ids[n++] = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	q->remaining = n > limit;
	if (n > limit)
		n = limit;
	q->done = 0;
	for (int i = 0; i < n; i++) {
		r = index_stored(db, ids[i]);
		if (r == -ENOMEM)
			return r;
		q->done += r == 0;
	}
	return q->done;
}

/* ---- entries ---- */

static void entry_row(sqlite3_stmt *st, struct store_imap_entry *e)
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
	    sqlite3_column_type(st, 7) == SQLITE_NULL ? IMAP_NO_DAY : sqlite3_column_int64(st, 7);
	e->indexed = sqlite3_column_int(st, 8) != 0;
	e->headers = (const char *)sqlite3_column_text(st, 9);
}

#define RANGE_WHERE "WHERE e.mailbox_id = ?1 AND e.uid BETWEEN ?2 AND ?3 ORDER BY e.uid LIMIT ?4"

int store_imap_entries_range(sqlite3 *db, int64_t mailbox_id, uint32_t lo, uint32_t hi,
                             size_t limit, enum store_imap_cols cols,
                             int (*cb)(void *ud, const struct store_imap_entry *e), void *ud)
{
	/* The same columns for all four, so entry_row() reads any of them;
	 * STORE_IMAP_COLS_ENTRY reads mailbox_entries alone (no page of the
	 * message itself), which is what FETCH FLAGS on a big mailbox needs. */
	static const char *const sql[] = {
	    [STORE_IMAP_COLS_ENTRY] =
	        "SELECT e.uid, e.message_id, e.size, e.flags, e.modseq, e.internal_date, "
	        "e.keywords, NULL, 0, NULL FROM mailbox_entries e " RANGE_WHERE,
	    [STORE_IMAP_COLS_INFO] =
	        "SELECT e.uid, e.message_id, e.size, e.flags, e.modseq, e.internal_date, "
	        "e.keywords, i.sent_day, i.message_id IS NOT NULL, NULL FROM mailbox_entries e "
	        "LEFT JOIN imap_message_info i ON i.message_id = e.message_id " RANGE_WHERE,
	    [STORE_IMAP_COLS_HEADERS] =
	        "SELECT e.uid, e.message_id, e.size, e.flags, e.modseq, e.internal_date, "
	        "e.keywords, i.sent_day, i.message_id IS NOT NULL, i.headers FROM "
	        "mailbox_entries e "
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
	struct store_imap_entry e;
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

int store_imap_entry_get(sqlite3 *db, int64_t mailbox_id, uint32_t uid,
                         struct store_imap_entry *out, char *kwbuf, size_t kwcap)
{
	sqlite3_stmt *st;
	int r = store_prep(db, &st,
	                   "SELECT e.uid, e.message_id, e.size, e.flags, e.modseq, "
	                   "e.internal_date, e.keywords, i.sent_day, "
	                   "i.message_id IS NOT NULL, NULL FROM mailbox_entries e "
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

int store_imap_fts_uids(sqlite3 *db, int64_t mailbox_id, const char *needle, size_t nlen,
                        enum store_fts_scope scope, uint32_t **uids, size_t *n)
{
	struct mime_buf q = {0};
	sqlite3_stmt *st;
	int r = 0;
	bool like = utf8_chars(needle, nlen) < 3;
	if (like) {
		/* Too short for a trigram: LIKE over the stored text. */
		r = mime_buf_addc(&q, '%');
		for (size_t i = 0; r == 0 && i < nlen; i++) {
			if (needle[i] == '%' || needle[i] == '_' || needle[i] == '\\')
				r = mime_buf_addc(&q, '\\');
			if (r == 0)
				r = mime_buf_addc(&q, needle[i]);
		}
		if (r == 0)
			r = mime_buf_addc(&q, '%');
	} else {
		/* One FTS5 string: double quotes doubled. */
		r = mime_buf_adds(&q, scope == STORE_FTS_TEXT   ? "\""
		                      : scope == STORE_FTS_BODY ? "body : \""
		                                                : "hdr : \"");
		for (size_t i = 0; r == 0 && i < nlen; i++) {
			if (needle[i] == '"')
				r = mime_buf_addc(&q, '"');
			if (r == 0)
				r = mime_buf_addc(&q, needle[i] ? needle[i] : ' ');
		}
		if (r == 0)
			r = mime_buf_addc(&q, '"');
	}
	if (r < 0) {
		mime_buf_free(&q);
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
	mime_buf_free(&q);
	return r;
}

int store_imap_vanished_since(sqlite3 *db, int64_t mailbox_id, int64_t modseq, uint32_t lo,
                              uint32_t hi, uint32_t **uids, size_t *n)
{
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

bool store_imap_keyword_has(const char *list, const char *kw, size_t kwlen)
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
static char *keywords_apply(const char *cur, enum store_imap_flag_op op, const char *kws)
{
	struct mime_buf b = {0};
	int r = mime_buf_add(&b, "", 0);
	const char *p;
	/* keep current ones unless SET or removed */
	if (op != STORE_IMAP_SET) {
		for (p = cur; r == 0 && *p;) {
			while (*p == ' ')
				p++;
			const char *e = p;
			while (*e && *e != ' ')
				e++;
			if (e > p && !(op == STORE_IMAP_REMOVE &&
			               store_imap_keyword_has(kws, p, (size_t)(e - p)))) {
				if (b.len)
					r = mime_buf_addc(&b, ' ');
				if (r == 0)
					r = mime_buf_add(&b, p, (size_t)(e - p));
			}
			p = e;
		}
	}
	if (op != STORE_IMAP_REMOVE) {
		for (p = kws; r == 0 && *p;) {
			while (*p == ' ')
				p++;
			const char *e = p;
			while (*e && *e != ' ')
				e++;
			if (e > p && !store_imap_keyword_has(b.data, p, (size_t)(e - p))) {
				if (b.len)
					r = mime_buf_addc(&b, ' ');
				if (r == 0)
					r = mime_buf_add(&b, p, (size_t)(e - p));
			}
			p = e;
		}
	}
	if (r < 0) {
		mime_buf_free(&b);
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
			if (e > p && !store_imap_keyword_has(y, p, (size_t)(e - p)))
				return false;
			p = e;
		}
	}
	return true;
}

void store_imap_flags_req_clear(struct store_imap_flags_req *q)
{
	for (size_t i = 0; q->res && i < q->n; i++) {
		free(q->res[i].keywords);
		q->res[i].keywords = NULL;
	}
}

int store_imap_flags_job(sqlite3 *db, void *arg)
{
	struct store_imap_flags_req *q = arg;
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
	const char *kws = q->keywords ? q->keywords : "";
	for (size_t i = 0; i < q->n; i++) {
		struct store_imap_flag_result *res = &q->res[i];
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
		uint32_t nf = q->op == STORE_IMAP_SET   ? q->flags
		              : q->op == STORE_IMAP_ADD ? flags | q->flags
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

int64_t store_imap_account_usage(sqlite3 *db, int64_t account_id)
{
	return store_scalar(db,
	                    "SELECT COALESCE(SUM(e.size), 0) FROM mailboxes b "
	                    "JOIN mailbox_entries e ON e.mailbox_id = b.id WHERE b.account_id = ?1",
	                    account_id);
}

int store_imap_copy_job(sqlite3 *db, void *arg)
{
	struct store_imap_copy_req *q = arg;
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
		int64_t used = store_imap_account_usage(db, q->account_id), add = 0;
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

	if ((r = store_prep(
	         db, &sel,
	         "SELECT message_id, flags, keywords, internal_date, size FROM mailbox_entries "
	         "WHERE mailbox_id = ?1 AND uid = ?2")) < 0 ||
	    (r = store_prep(db, &ins,
	                    "INSERT INTO mailbox_entries(mailbox_id, uid, message_id, flags, "
	                    "keywords, modseq, internal_date, size) "
	                    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")) < 0)
		goto out;
	for (size_t i = 0; i < q->n; i++) {
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
		sqlite3_reset(sel);
		if ((r = store_step_done(ins)) < 0)
			goto out;
		if ((r = store_message_ref(db, msgid, 1)) < 0)
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
		r = store_entries_expunge(db, q->src_mailbox_id, gone, ng);
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

int store_imap_append_job(sqlite3 *db, void *arg)
{
	struct store_imap_append_req *q = arg;
	int r;
	if (q->quota_bytes) {
		int64_t used = store_imap_account_usage(db, q->account_id);
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
	};
	if ((r = store_deliver(db, &d)) < 0)
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
	struct store_mailbox mb;
	if ((r = store_mailbox_get(db, q->mailbox_id, &mb)) <= 0)
		return r < 0 ? r : -ENOENT;
	q->uid = uid;
	q->modseq = modseq;
	q->uidvalidity = mb.uidvalidity;
	return 0;
}

int store_imap_expunge_job(sqlite3 *db, void *arg)
{
	struct store_imap_expunge_req *q = arg;
	sqlite3_stmt *st;
	uint32_t *del = NULL;
	size_t ndel = 0;
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
	r = store_entries_expunge(db, q->mailbox_id, del, ndel);
	if (r < 0)
		return r;
	int64_t m = store_mailbox_modseq(db, q->mailbox_id);
	q->modseq = m > 0 ? m : 0;
	return (int)ndel;
}
