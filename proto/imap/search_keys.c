/* search_keys: SEARCH key parsing and evaluation (see search_keys.h). */
#include "proto/imap/search_keys.h"
#include "proto/imap/imap_int.h"
#include "proto/imap/dates.h"
#include "proto/imap/flags.h"
#include "proto/imap/objectid.h"
#include "proto/imap/seqset.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "store/entries.h"
#include "store/mail.h"

struct sp {
	const struct imap_arg *args;
	size_t n, i;
	struct arena *a;
	struct imap_search *q;
	const char **err;
};

static struct imap_search_key *newkey(struct sp *p, enum imap_sk kind)
{
	struct imap_search_key *k = imap_arena_alloc(p->a, sizeof *k);
	k->kind = kind;
	k->fts = -1;
	return k;
}

static int bad(struct sp *p, const char *why)
{
	if (!*p->err)
		*p->err = why;
	return -EINVAL;
}

static const struct imap_arg *next_arg(struct sp *p)
{
	return p->i < p->n ? &p->args[p->i++] : NULL;
}

static int arg_astring(struct sp *p, const char **s, size_t *len)
{
	const struct imap_arg *a = next_arg(p);
	if (!a || !imap_arg_astring(a, s, len))
		return bad(p, "Missing or invalid string argument");
	return 0;
}

static int arg_date(struct sp *p, int64_t *day)
{
	const char *s;
	size_t len;
	if (arg_astring(p, &s, &len) < 0 || imap_parse_date(s, len, day) < 0)
		return bad(p, "Invalid date");
	return 0;
}

static int parse_key(struct sp *p, struct imap_search_key **out, unsigned depth);

/* Keys up to the end of the list, as an AND. */
static int parse_keys(struct sp *p, struct imap_search_key **out, unsigned depth)
{
	struct imap_search_key *and = newkey(p, IMAP_SK_AND);
	size_t cap = p->n - p->i;
	and->kids = imap_arena_alloc(p->a, (cap ? cap : 1) * sizeof *and->kids);
	while (p->i < p->n) {
		int r = parse_key(p, &and->kids[ and->nkids], depth);
		if (r < 0)
			return r;
		and->nkids++;
	}
	if (and->nkids == 0)
		return bad(p, "Missing search key");
	*out = and->nkids == 1 ? and->kids[0] : and;
	return 0;
}

static const struct {
	const char *name;
	uint32_t flag;
	bool neg;
} flagkeys[] = {
    {"ANSWERED", STORE_FLAG_ANSWERED, false}, {"DELETED", STORE_FLAG_DELETED, false},
    {"DRAFT", STORE_FLAG_DRAFT, false},       {"FLAGGED", STORE_FLAG_FLAGGED, false},
    {"SEEN", STORE_FLAG_SEEN, false},         {"UNANSWERED", STORE_FLAG_ANSWERED, true},
    {"UNDELETED", STORE_FLAG_DELETED, true},  {"UNDRAFT", STORE_FLAG_DRAFT, true},
    {"UNFLAGGED", STORE_FLAG_FLAGGED, true},  {"UNSEEN", STORE_FLAG_SEEN, true},
};

static const struct {
	const char *name;
	enum imap_sk kind;
} datekeys[] = {
    {"BEFORE", IMAP_SK_BEFORE},
    {"ON", IMAP_SK_ON},
    {"SINCE", IMAP_SK_SINCE},
    {"SENTBEFORE", IMAP_SK_SENTBEFORE},
    {"SENTON", IMAP_SK_SENTON},
    {"SENTSINCE", IMAP_SK_SENTSINCE},
    {"SAVEDBEFORE", IMAP_SK_SAVEDBEFORE},
    {"SAVEDON", IMAP_SK_SAVEDON},
    {"SAVEDSINCE", IMAP_SK_SAVEDSINCE},
};

/* k's needle as FTS query number k->fts; the caller checked for room. */
static void push_fts(struct sp *p, struct imap_search_key *k, enum store_fts_scope scope)
{
	struct imap_search_fts *f = &p->q->fts[p->q->nfts];
	f->needle = k->str;
	f->len = k->len;
	f->scope = scope;
	k->fts = (int)p->q->nfts++;
}

static int add_fts(struct sp *p, struct imap_search_key *k, bool text)
{
	if (p->q->nfts >= IMAP_SEARCH_MAX_FTS)
		return bad(p, "Too many BODY/TEXT keys");
	push_fts(p, k, text ? STORE_FTS_TEXT : STORE_FTS_BODY);
	return 0;
}

/* A header key gets the FTS5 header text as a prefilter: a field value
 * containing the needle is a line of that text containing it (the index
 * holds every header field, decoded the same way, and folds case beyond
 * what imap_search_header does), so a message not in the FTS list cannot
 * match and only the others are checked field by field. Trigrams need 3
 * characters; with fewer, or no room left, the key has no prefilter. */
static void add_header_prefilter(struct sp *p, struct imap_search_key *k)
{
	size_t chars = 0;
	for (size_t i = 0; i < k->len; i++)
		chars += ((unsigned char)k->str[i] & 0xc0) != 0x80;
	if (chars < 3 || p->q->nfts >= IMAP_SEARCH_MAX_FTS || memchr(k->str, '\0', k->len))
		return;
	push_fts(p, k, STORE_FTS_HEADERS);
}

static int parse_key(struct sp *p, struct imap_search_key **out, unsigned depth)
{
	if (depth > IMAP_SEARCH_MAX_DEPTH)
		return bad(p, "Search keys nested too deeply");
	const struct imap_arg *a = next_arg(p);
	struct imap_search_key *k;
	if (!a)
		return bad(p, "Missing search key");
	if (a->type == IMAP_ARG_LIST) {
		struct sp sub = *p;
		sub.args = a->list;
		sub.n = a->nlist;
		sub.i = 0;
		int r = parse_keys(&sub, out, depth + 1);
		return r;
	}
	if (a->type != IMAP_ARG_ATOM)
		return bad(p, "Search key expected");
	const char *w = a->str;

	if (strcasecmp(w, "ALL") == 0) {
		*out = newkey(p, IMAP_SK_ALL);
		return 0;
	}
	for (size_t i = 0; i < sizeof flagkeys / sizeof flagkeys[0]; i++) {
		if (strcasecmp(w, flagkeys[i].name) == 0) {
			k = newkey(p, IMAP_SK_FLAG);
			k->flag = flagkeys[i].flag;
			k->neg = flagkeys[i].neg;
			*out = k;
			return 0;
		}
	}
	for (size_t i = 0; i < sizeof datekeys / sizeof datekeys[0]; i++) {
		if (strcasecmp(w, datekeys[i].name) == 0) {
			k = newkey(p, datekeys[i].kind);
			*out = k;
			return arg_date(p, &k->num);
		}
	}
	if (strcasecmp(w, "SAVEDATESUPPORTED") == 0) {
		*out = newkey(p, IMAP_SK_SAVEDATESUPPORTED);
		return 0;
	}
	if (strcasecmp(w, "EMAILID") == 0 || strcasecmp(w, "THREADID") == 0) {
		bool email = w[0] == 'E' || w[0] == 'e';
		k = newkey(p, email ? IMAP_SK_EMAILID : IMAP_SK_THREADID);
		const struct imap_arg *id = next_arg(p);
		if (!id || id->type != IMAP_ARG_ATOM || !imap_objectid_valid(id->str, id->len))
			return bad(p, "Invalid object id");
		k->num = imap_objectid_number(id->str, id->len, email ? 'M' : 'T');
		*out = k;
		return 0;
	}
	if (strcasecmp(w, "NEW") == 0 || strcasecmp(w, "OLD") == 0 ||
	    strcasecmp(w, "RECENT") == 0) {
		*out = newkey(p, strcasecmp(w, "NEW") == 0   ? IMAP_SK_NEW
		                 : strcasecmp(w, "OLD") == 0 ? IMAP_SK_OLD
		                                             : IMAP_SK_RECENT);
		return 0;
	}
	if (strcasecmp(w, "KEYWORD") == 0 || strcasecmp(w, "UNKEYWORD") == 0) {
		k = newkey(p, IMAP_SK_KEYWORD);
		k->neg = w[0] == 'U' || w[0] == 'u';
		const struct imap_arg *kw = next_arg(p);
		if (!kw || (kw->type != IMAP_ARG_ATOM && kw->type != IMAP_ARG_NIL) ||
		    !imap_keyword_valid(kw->str, kw->len))
			return bad(p, "Invalid keyword");
		k->str = kw->str;
		k->len = kw->len;
		*out = k;
		return 0;
	}
	if (strcasecmp(w, "LARGER") == 0 || strcasecmp(w, "SMALLER") == 0) {
		k = newkey(p, w[0] == 'L' || w[0] == 'l' ? IMAP_SK_LARGER : IMAP_SK_SMALLER);
		uint64_t v;
		const struct imap_arg *n = next_arg(p);
		if (!n || !imap_arg_u64(n, &v))
			return bad(p, "Invalid size");
		k->num = (int64_t)v;
		*out = k;
		return 0;
	}
	if (strcasecmp(w, "OLDER") == 0 || strcasecmp(w, "YOUNGER") == 0) {
		/* RFC 5032: an interval in seconds, nz-number */
		k = newkey(p, w[0] == 'O' || w[0] == 'o' ? IMAP_SK_OLDER : IMAP_SK_YOUNGER);
		uint32_t v;
		const struct imap_arg *n = next_arg(p);
		if (!n || !imap_arg_u32(n, &v) || v == 0)
			return bad(p, "Invalid interval");
		k->num = v;
		*out = k;
		return 0;
	}
	if (strcasecmp(w, "MODSEQ") == 0) {
		k = newkey(p, IMAP_SK_MODSEQ);
		uint64_t v;
		const struct imap_arg *n = next_arg(p);
		/* MODSEQ [entry-name entry-type-req] mod-sequence-valzer */
		if (n && (n->type == IMAP_ARG_QUOTED || n->type == IMAP_ARG_LITERAL)) {
			const struct imap_arg *t = next_arg(p);
			if (!t || !(imap_arg_is_atom(t, "priv") || imap_arg_is_atom(t, "shared") ||
			            imap_arg_is_atom(t, "all")))
				return bad(p, "Invalid MODSEQ entry type");
			n = next_arg(p);
		}
		if (!n || !imap_arg_u64(n, &v))
			return bad(p, "Invalid MODSEQ value");
		k->num = (int64_t)v;
		p->q->has_modseq = true;
		*out = k;
		return 0;
	}
	if (strcasecmp(w, "HEADER") == 0) {
		k = newkey(p, IMAP_SK_HEADER);
		const char *f;
		size_t fl;
		if (arg_astring(p, &f, &fl) < 0 || fl == 0 || memchr(f, ':', fl))
			return bad(p, "Invalid header field name");
		k->field = f;
		if (arg_astring(p, &k->str, &k->len) < 0)
			return -EINVAL;
		add_header_prefilter(p, k);
		*out = k;
		return 0;
	}
	static const char *const hdrkeys[] = {"FROM", "TO", "CC", "BCC", "SUBJECT"};
	static const char *const hdrnames[] = {"From", "To", "Cc", "Bcc", "Subject"};
	for (size_t i = 0; i < 5; i++) {
		if (strcasecmp(w, hdrkeys[i]) == 0) {
			k = newkey(p, IMAP_SK_HEADER);
			k->field = hdrnames[i];
			if (arg_astring(p, &k->str, &k->len) < 0)
				return -EINVAL;
			add_header_prefilter(p, k);
			*out = k;
			return 0;
		}
	}
	if (strcasecmp(w, "BODY") == 0 || strcasecmp(w, "TEXT") == 0) {
		bool text = w[0] == 'T' || w[0] == 't';
		k = newkey(p, text ? IMAP_SK_TEXT : IMAP_SK_BODY);
		if (arg_astring(p, &k->str, &k->len) < 0)
			return -EINVAL;
		*out = k;
		return add_fts(p, k, text);
	}
	if (strcasecmp(w, "NOT") == 0) {
		k = newkey(p, IMAP_SK_NOT);
		k->kids = imap_arena_alloc(p->a, sizeof *k->kids);
		k->nkids = 1;
		*out = k;
		return parse_key(p, &k->kids[0], depth + 1);
	}
	if (strcasecmp(w, "OR") == 0) {
		k = newkey(p, IMAP_SK_OR);
		k->kids = imap_arena_alloc(p->a, 2 * sizeof *k->kids);
		k->nkids = 2;
		*out = k;
		int r = parse_key(p, &k->kids[0], depth + 1);
		return r < 0 ? r : parse_key(p, &k->kids[1], depth + 1);
	}
	if (strcasecmp(w, "UID") == 0) {
		k = newkey(p, IMAP_SK_UID);
		const struct imap_arg *n = next_arg(p);
		if (!n || n->type != IMAP_ARG_ATOM ||
		    imap_seqset_parse(n->str, n->len, &k->set, p->a) < 0)
			return bad(p, "Invalid UID set");
		p->q->has_seqset = true;
		*out = k;
		return 0;
	}
	/* a sequence set */
	k = newkey(p, IMAP_SK_SEQ);
	if (imap_seqset_parse(a->str, a->len, &k->set, p->a) < 0)
		return bad(p, "Unknown search key");
	p->q->has_seqset = true;
	*out = k;
	return 0;
}

int imap_search_return_parse(const struct imap_arg *l, unsigned *ret, struct imap_partial *partial,
                             const char **err)
{
	*ret = 0;
	if (!l || l->type != IMAP_ARG_LIST) {
		*err = "RETURN needs a list";
		return -EINVAL;
	}
	for (size_t i = 0; i < l->nlist; i++) {
		const struct imap_arg *o = &l->list[i];
		if (imap_arg_is_atom(o, "MIN"))
			*ret |= IMAP_SEARCH_RET_MIN;
		else if (imap_arg_is_atom(o, "MAX"))
			*ret |= IMAP_SEARCH_RET_MAX;
		else if (imap_arg_is_atom(o, "ALL"))
			*ret |= IMAP_SEARCH_RET_ALL;
		else if (imap_arg_is_atom(o, "COUNT"))
			*ret |= IMAP_SEARCH_RET_COUNT;
		else if (imap_arg_is_atom(o, "SAVE"))
			*ret |= IMAP_SEARCH_RET_SAVE;
		else if (imap_arg_is_atom(o, "UPDATE"))
			*ret |= IMAP_SEARCH_RET_UPDATE;
		else if (imap_arg_is_atom(o, "CONTEXT"))
			*ret |= IMAP_SEARCH_RET_CONTEXT;
		else if (imap_arg_is_atom(o, "PARTIAL")) {
			if (*ret & IMAP_SEARCH_RET_PARTIAL) {
				*err = "PARTIAL given twice";
				return -EINVAL;
			}
			const struct imap_arg *r = i + 1 < l->nlist ? &l->list[++i] : NULL;
			if (!r || r->type != IMAP_ARG_ATOM ||
			    imap_partial_parse(r->str, r->len, partial) < 0) {
				*err = "Invalid PARTIAL range";
				return -EINVAL;
			}
			*ret |= IMAP_SEARCH_RET_PARTIAL;
		} else {
			*err = "Unknown RETURN option";
			return -EINVAL;
		}
	}
	if ((*ret & IMAP_SEARCH_RET_PARTIAL) && (*ret & IMAP_SEARCH_RET_ALL)) {
		*err = "PARTIAL and ALL cannot be combined";
		return -EINVAL;
	}
	/* RETURN () (or only options asking for no data but SAVE) means ALL */
	if (!(*ret & (IMAP_SEARCH_RET_DATA | IMAP_SEARCH_RET_SAVE)))
		*ret |= IMAP_SEARCH_RET_ALL;
	return 0;
}

bool imap_search_charset_ok(const char *cs)
{
	return strcasecmp(cs, "UTF-8") == 0 || strcasecmp(cs, "US-ASCII") == 0;
}

int imap_search_parse_keys(const struct imap_arg *args, size_t n, struct arena *a,
                           struct imap_search *q, const char **err)
{
	struct sp p = {.args = args, .n = n, .a = a, .q = q, .err = err};
	memset(q, 0, sizeof *q);
	*err = NULL;
	return parse_keys(&p, &q->root, 0);
}

int imap_search_parse(const struct imap_arg *args, size_t n, struct arena *a, struct imap_search *q,
                      const char **err)
{
	struct sp p = {.args = args, .n = n, .a = a, .q = q, .err = err};
	memset(q, 0, sizeof *q);
	*err = NULL;
	/* [RETURN (opts)] */
	if (p.i < n && imap_arg_is_atom(&args[p.i], "RETURN")) {
		p.i++;
		if (imap_search_return_parse(next_arg(&p), &q->ret, &q->partial, err) < 0)
			return -EINVAL;
		q->esearch = true;
	}
	/* [CHARSET x] */
	if (p.i < n && imap_arg_is_atom(&args[p.i], "CHARSET")) {
		p.i++;
		const char *cs;
		size_t cl;
		if (arg_astring(&p, &cs, &cl) < 0)
			return -EINVAL;
		q->charset = cs;
		if (!imap_search_charset_ok(cs)) {
			*err = "Unsupported charset";
			return -ENOTSUP;
		}
	}
	return parse_keys(&p, &q->root, 0);
}

/* ---- evaluation ---- */

static unsigned char lc(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

bool imap_search_substr(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
	if (nlen == 0)
		return true;
	if (!hay || hlen < nlen)
		return false;
	unsigned char f = lc((unsigned char)needle[0]);
	for (size_t i = 0; i + nlen <= hlen; i++) {
		if (lc((unsigned char)hay[i]) != f)
			continue;
		size_t j = 1;
		while (j < nlen && lc((unsigned char)hay[i + j]) == lc((unsigned char)needle[j]))
			j++;
		if (j == nlen)
			return true;
	}
	return false;
}

bool imap_search_header(const char *h, const char *field, const char *needle, size_t nlen)
{
	if (!h)
		return false;
	size_t fl = strlen(field);
	while (*h) {
		const char *eol = strchr(h, '\n');
		size_t ll = eol ? (size_t)(eol - h) : strlen(h);
		if (ll > fl && h[fl] == ':' && strncasecmp(h, field, fl) == 0) {
			const char *v = h + fl + 1;
			size_t vl = ll - fl - 1;
			if (vl && *v == ' ') {
				v++;
				vl--;
			}
			if (imap_search_substr(v, vl, needle, nlen))
				return true;
		}
		if (!eol)
			break;
		h = eol + 1;
	}
	return false;
}

unsigned imap_search_needs(const struct imap_search_key *k)
{
	unsigned need = 0;
	switch (k->kind) {
	case IMAP_SK_ALL:
	case IMAP_SK_AND:
	case IMAP_SK_OR:
	case IMAP_SK_NOT:
		for (size_t i = 0; i < k->nkids; i++)
			need |= imap_search_needs(k->kids[i]);
		return need;
	case IMAP_SK_RECENT:
	case IMAP_SK_OLD:
	case IMAP_SK_BODY:
	case IMAP_SK_TEXT:
	case IMAP_SK_SEQ:
	case IMAP_SK_UID:
	case IMAP_SK_SAVEDATESUPPORTED:
		return 0;
	case IMAP_SK_SENTBEFORE:
	case IMAP_SK_SENTON:
	case IMAP_SK_SENTSINCE:
		return IMAP_NEED_ENTRY | IMAP_NEED_INFO;
	case IMAP_SK_HEADER:
		return IMAP_NEED_ENTRY | IMAP_NEED_HEADERS;
	default: /* flags, keywords, NEW, dates, MODSEQ */
		return IMAP_NEED_ENTRY;
	}
}

bool imap_search_match(const struct imap_search *q, const struct imap_search_key *k,
                       const struct imap_search_msg *m)
{
	int64_t sent;
	switch (k->kind) {
	case IMAP_SK_ALL:
		return true;
	case IMAP_SK_AND:
		for (size_t i = 0; i < k->nkids; i++)
			if (!imap_search_match(q, k->kids[i], m))
				return false;
		return true;
	case IMAP_SK_OR:
		return imap_search_match(q, k->kids[0], m) || imap_search_match(q, k->kids[1], m);
	case IMAP_SK_NOT:
		return !imap_search_match(q, k->kids[0], m);
	case IMAP_SK_FLAG:
		return ((m->flags & k->flag) != 0) != k->neg;
	case IMAP_SK_KEYWORD:
		return store_keyword_has(m->keywords, k->str, k->len) != k->neg;
	case IMAP_SK_NEW:
		return m->recent && !(m->flags & STORE_FLAG_SEEN);
	case IMAP_SK_RECENT:
		return m->recent;
	case IMAP_SK_OLD:
		return !m->recent;
	case IMAP_SK_LARGER:
		return m->size > k->num;
	case IMAP_SK_SMALLER:
		return m->size < k->num;
	case IMAP_SK_BEFORE:
		return m->internal_day < k->num;
	case IMAP_SK_ON:
		return m->internal_day == k->num;
	case IMAP_SK_SINCE:
		return m->internal_day >= k->num;
	case IMAP_SK_SENTBEFORE:
	case IMAP_SK_SENTON:
	case IMAP_SK_SENTSINCE:
		/* no Date: field: fall back to the internal date (as Dovecot) */
		sent = m->sent_day == IMAP_NO_DAY ? m->internal_day : m->sent_day;
		return k->kind == IMAP_SK_SENTBEFORE ? sent < k->num
		       : k->kind == IMAP_SK_SENTON   ? sent == k->num
		                                     : sent >= k->num;
	case IMAP_SK_HEADER:
		if (k->fts >= 0 && (size_t)k->fts < q->nfts && !q->fts[k->fts].off &&
		    !imap_uids_contain(q->fts[k->fts].uids, q->fts[k->fts].n, m->uid))
			return false;
		return imap_search_header(m->headers, k->field, k->str, k->len);
	case IMAP_SK_BODY:
	case IMAP_SK_TEXT:
		if (k->fts < 0 || (size_t)k->fts >= q->nfts)
			return false;
		return imap_uids_contain(q->fts[k->fts].uids, q->fts[k->fts].n, m->uid);
	case IMAP_SK_SEQ:
	case IMAP_SK_UID:
		return imap_seqset_contains(&k->resolved, k->by_uid ? m->uid : m->seq);
	case IMAP_SK_MODSEQ:
		return m->modseq >= k->num;
	case IMAP_SK_OLDER: /* at or before now - interval */
		return m->internal_date <= q->now - k->num;
	case IMAP_SK_YOUNGER: /* at or after now - interval */
		return m->internal_date >= q->now - k->num;
	case IMAP_SK_EMAILID:
		return k->num >= 0 && m->email_id == k->num;
	case IMAP_SK_THREADID:
		return k->num >= 0 && m->thread_id == k->num;
	case IMAP_SK_SAVEDBEFORE:
		return m->save_day < k->num;
	case IMAP_SK_SAVEDON:
		return m->save_day == k->num;
	case IMAP_SK_SAVEDSINCE:
		return m->save_day >= k->num;
	case IMAP_SK_SAVEDATESUPPORTED:
		return true;
	}
	return false;
}

void imap_search_msg_from_entry(struct imap_search_msg *m, const struct store_entry *e)
{
	*m = (struct imap_search_msg){
	    .uid = e->uid,
	    .flags = e->flags,
	    .keywords = e->keywords,
	    .size = e->size,
	    .internal_day = imap_day_of(e->internal_date),
	    .internal_date = e->internal_date,
	    .sent_day = e->sent_day,
	    .modseq = e->modseq,
	    .email_id = e->message_id,
	    .thread_id = e->thread_id,
	    .save_day = imap_day_of(e->save_date),
	    .headers = e->headers,
	};
}
