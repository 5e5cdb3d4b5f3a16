/* sort_context: the ordered result of a CONTEXT=SORT context and the
 * positions of its changes (see sort_context.h).
 *
 * The result is an array of records in the requested order; each record
 * holds what the criteria compare (arrival, date, size, and the strings
 * of the fields used, in one blob: for the SORT's own result all of them
 * in one block (100,000 mallocs cost more than the sort), for a later
 * member its own malloc). Inserting n messages sorts
 * them and merges them in one pass; removing walks the array once: a
 * change costs O(result + n log n), whatever its size. */
#include "proto/imap/sort_context.h"
#include "proto/imap/imap_int.h"
#include "proto/imap/esearch.h"
#include "proto/imap/index.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "store/msg_index.h"

struct rec {
	uint32_t uid;
	int64_t arrival, date, size;
	/* nslots + 1 offsets (uint32_t) into the bytes that follow them */
	char *keys;
};

struct imap_sort_result {
	struct imap_sort_spec spec;
	int slot[IMAP_SF_COUNT]; /* field -> slot in keys, or -1 */
	size_t nslots;
	struct rec *v; /* in the requested order */
	size_t n, cap;
	size_t key_bytes; /* of the records malloc'd one by one */
	char *block;      /* imap_sort_result_reserve's, for the first records */
	size_t block_len, block_used;
};

static void keys_free(struct imap_sort_result *r, char *keys);

struct imap_sort_result *imap_sort_result_new(const struct imap_sort_spec *spec)
{
	struct imap_sort_result *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->spec = *spec;
	for (int f = 0; f < IMAP_SF_COUNT; f++)
		r->slot[f] = -1;
	for (size_t k = 0; k < spec->ncrit; k++) {
		int f = spec->crit[k].field;
		if (spec->crit[k].by == IMAP_SORT_BY_FIELD && f >= 0 && f < IMAP_SF_COUNT &&
		    r->slot[f] < 0)
			r->slot[f] = (int)r->nslots++;
	}
	return r;
}

void imap_sort_result_free(struct imap_sort_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		keys_free(r, r->v[i].keys);
	free(r->v);
	free(r->block);
	free(r);
}

size_t imap_sort_result_count(const struct imap_sort_result *r)
{
	return r->n;
}

size_t imap_sort_result_bytes(const struct imap_sort_result *r)
{
	return sizeof *r + r->cap * sizeof *r->v + r->key_bytes + r->block_len;
}

uint32_t imap_sort_result_uid_at(const struct imap_sort_result *r, size_t pos)
{
	return pos >= 1 && pos <= r->n ? r->v[pos - 1].uid : 0;
}

static size_t keys_size(const struct imap_sort_result *r, const char *keys)
{
	uint32_t end;
	memcpy(&end, keys + r->nslots * sizeof end, sizeof end);
	return (r->nslots + 1) * sizeof end + end;
}

static bool in_block(const struct imap_sort_result *r, const char *keys)
{
	return r->block && keys >= r->block && keys < r->block + r->block_len;
}

/* From the block while it has room, else malloc'd. */
static char *keys_alloc(struct imap_sort_result *r, size_t size)
{
	if (r->block && r->block_len - r->block_used >= size) {
		char *p = r->block + r->block_used;
		r->block_used += size;
		return p;
	}
	char *p = malloc(size);
	if (p)
		r->key_bytes += size;
	return p;
}

/* A record of the block stays until the result goes: the block never
 * grows, so that is bounded by the SORT's result. */
static void keys_free(struct imap_sort_result *r, char *keys)
{
	if (in_block(r, keys))
		return;
	r->key_bytes -= keys_size(r, keys);
	free(keys);
}

int imap_sort_result_reserve(struct imap_sort_result *r, size_t n, size_t key_bytes)
{
	if (r->block || r->n)
		return 0;
	size_t bytes = n * (r->nslots + 1) * sizeof(uint32_t) + key_bytes;
	r->v = malloc((n ? n : 1) * sizeof *r->v);
	r->block = bytes ? malloc(bytes) : NULL;
	if (!r->v || (bytes && !r->block)) {
		free(r->block);
		r->block = NULL;
		return -ENOMEM;
	}
	r->cap = n ? n : 1;
	r->block_len = bytes;
	return 0;
}

/* The record of in, its strings copied. false when out of memory. */
static bool make_rec(struct imap_sort_result *r, const struct imap_sort_rec *in, struct rec *out)
{
	size_t hdr = (r->nslots + 1) * sizeof(uint32_t), total = 0;
	for (int f = 0; f < IMAP_SF_COUNT; f++)
		if (r->slot[f] >= 0)
			total += in->str[f] ? in->len[f] : 0;
	char *k = keys_alloc(r, hdr + total);
	if (!k)
		return false;
	uint32_t off[IMAP_SF_COUNT + 1];
	/* slots in field order are slot order only by accident: place each */
	size_t len[IMAP_SF_COUNT] = {0};
	const char *str[IMAP_SF_COUNT] = {0};
	for (int f = 0; f < IMAP_SF_COUNT; f++)
		if (r->slot[f] >= 0 && in->str[f]) {
			len[r->slot[f]] = in->len[f];
			str[r->slot[f]] = in->str[f];
		}
	uint32_t at = 0;
	for (size_t s = 0; s < r->nslots; s++) {
		off[s] = at;
		if (len[s])
			memcpy(k + hdr + at, str[s], len[s]);
		at += (uint32_t)len[s];
	}
	off[r->nslots] = at;
	memcpy(k, off, hdr);
	out->uid = in->uid;
	out->arrival = in->arrival;
	out->date = in->date;
	out->size = in->size;
	out->keys = k;
	return true;
}

static void slot_str(const struct imap_sort_result *r, const struct rec *x, int slot,
                     const char **p, size_t *len)
{
	uint32_t off[2];
	memcpy(off, x->keys + (size_t)slot * sizeof *off, sizeof off);
	*p = x->keys + (r->nslots + 1) * sizeof(uint32_t) + off[0];
	*len = off[1] - off[0];
}

static int cmp_i64(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

/* cmd_sort.c's order: the criteria, then the UID (the sequence number's
 * order within a view). */
static int cmp_rec(const struct imap_sort_result *r, const struct rec *x, const struct rec *y)
{
	for (size_t k = 0; k < r->spec.ncrit; k++) {
		int c;
		switch (r->spec.crit[k].by) {
		case IMAP_SORT_BY_ARRIVAL:
			c = cmp_i64(x->arrival, y->arrival);
			break;
		case IMAP_SORT_BY_DATE:
			c = cmp_i64(x->date, y->date);
			break;
		case IMAP_SORT_BY_SIZE:
			c = cmp_i64(x->size, y->size);
			break;
		default: {
			int slot = r->slot[r->spec.crit[k].field];
			const char *a, *b;
			size_t al, bl;
			slot_str(r, x, slot, &a, &al);
			slot_str(r, y, slot, &b, &bl);
			size_t l = al < bl ? al : bl;
			c = l ? memcmp(a, b, l) : 0;
			if (c == 0 && al != bl)
				c = al < bl ? -1 : 1;
		}
		}
		if (c)
			return r->spec.crit[k].reverse ? -c : c;
	}
	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static int cmp_rec_r(const void *a, const void *b, void *arg)
{
	return cmp_rec(arg, a, b);
}

static bool reserve(struct imap_sort_result *r, size_t more)
{
	if (r->n + more <= r->cap)
		return true;
	size_t cap = (r->n + more) * 2;
	struct rec *v = realloc(r->v, cap * sizeof *v);
	if (!v)
		return false;
	r->v = v;
	r->cap = cap;
	return true;
}

int imap_sort_result_append(struct imap_sort_result *r, const struct imap_sort_rec *rec)
{
	if (!reserve(r, 1) || !make_rec(r, rec, &r->v[r->n]))
		return -ENOMEM;
	r->n++;
	return 0;
}

int imap_sort_result_insert(struct imap_sort_result *r, const struct imap_sort_rec *recs, size_t n,
                            uint32_t *pos, uint32_t *uids)
{
	if (n == 0)
		return 0;
	struct rec *add = calloc(n, sizeof *add);
	if (!add || !reserve(r, n)) {
		free(add);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		if (!make_rec(r, &recs[i], &add[i])) {
			for (size_t j = 0; j < i; j++)
				keys_free(r, add[j].keys);
			free(add);
			return -ENOMEM;
		}
	qsort_r(add, n, sizeof *add, cmp_rec_r, r);
	/* merge from the back: the final positions fall out */
	size_t i = r->n, j = n, w = r->n + n;
	while (j > 0) {
		if (i > 0 && cmp_rec(r, &r->v[i - 1], &add[j - 1]) > 0) {
			r->v[--w] = r->v[--i];
		} else {
			r->v[--w] = add[--j];
			pos[j] = (uint32_t)w + 1;
			uids[j] = add[j].uid;
		}
	}
	r->n += n;
	free(add);
	return 0;
}

size_t imap_sort_result_remove(struct imap_sort_result *r, const uint32_t *gone, size_t n,
                               uint32_t *pos, uint32_t *uids)
{
	size_t w = 0, k = 0;
	if (n == 0)
		return 0;
	for (size_t i = 0; i < r->n; i++) {
		struct rec *x = &r->v[i];
		if (imap_uids_contain(gone, n, x->uid)) {
			/* where it is once the ones before it have gone */
			pos[k] = (uint32_t)(i - k) + 1;
			uids[k++] = x->uid;
			keys_free(r, x->keys);
			continue;
		}
		r->v[w++] = *x;
	}
	r->n = w;
	return k;
}

/* ---- the session's part ---- */

static uint32_t view_seq(const struct imap_session *s, uint32_t uid)
{
	size_t i = imap_uids_lower_bound(s->sel.uids, s->sel.count, uid);
	return i < s->sel.count && s->sel.uids[i] == uid ? (uint32_t)i + 1 : 0;
}

static void to_client(const struct imap_session *s, bool uid, uint32_t *nums, size_t n)
{
	if (!uid)
		for (size_t i = 0; i < n; i++)
			nums[i] = view_seq(s, nums[i]);
}

struct load {
	struct imap_session *s;
	const uint32_t *uids;
	size_t n;
	struct imap_sort_rec *recs; /* per uids[i] */
	char **blobs;               /* the record each recs[i] points into */
	struct buf tmp;
	int error;
};

static int load_cb(void *ud, const struct store_sort_row *row)
{
	struct load *l = ud;
	size_t i = imap_uids_lower_bound(l->uids, l->n, row->uid);
	if (i >= l->n || l->uids[i] != row->uid)
		return 0;
	struct imap_sort_rec *rec = &l->recs[i];
	rec->arrival = rec->date = row->internal_date;
	rec->size = row->size;
	const void *keys = row->keys;
	size_t len = row->keys_len;
	buf_reset(&l->tmp);
	if (!keys) {
		/* not indexed yet: from the header, as cmd_sort.c does */
		int e = imap_sort_record_read(imap_reader(l->s), row->message_id, &l->tmp);
		if (e == -ENOMEM)
			return e;
		keys = e == 0 ? l->tmp.data : NULL;
		len = l->tmp.len;
	}
	if (!keys)
		return 0; /* no keys: empty strings, the internal date */
	/* keep the bytes: the row's are gone after the callback */
	char *copy = malloc(len ? len : 1);
	if (!copy)
		return -ENOMEM;
	if (len)
		memcpy(copy, keys, len);
	struct imap_sort_info info;
	if (imap_sort_record_parse(copy, len, &info) < 0) {
		free(copy);
		return 0;
	}
	l->blobs[i] = copy;
	if (info.flags & IMAP_SORT_HAS_DATE)
		rec->date = info.sent_time;
	for (int f = 0; f < IMAP_SF_COUNT; f++) {
		rec->str[f] = info.f[f].p;
		rec->len[f] = info.f[f].len;
	}
	return 0;
}

void imap_sort_context_add(struct imap_session *s, struct imap_sort_result *r, const char *tag,
                           bool uid, const uint32_t *add, size_t n)
{
	if (n == 0)
		return;
	struct load l = {.s = s, .uids = add, .n = n};
	l.recs = calloc(n, sizeof *l.recs);
	l.blobs = calloc(n, sizeof *l.blobs);
	uint32_t *pos = malloc(n * sizeof *pos), *nums = malloc(n * sizeof *nums);
	if (!l.recs || !l.blobs || !pos || !nums)
		goto out;
	for (size_t i = 0; i < n; i++)
		l.recs[i].uid = add[i];
	/* one range read when the UIDs are dense (new mail), else one each;
	 * a message the store no longer has keeps empty keys: its EXPUNGE
	 * (and REMOVEFROM) is on the way */
	int e = 0;
	if (add[n - 1] - add[0] < 2 * n)
		e = store_sort_rows(imap_reader(s), s->sel.mailbox_id, add[0], add[n - 1], 0,
		                    load_cb, &l);
	else
		for (size_t i = 0; i < n && e >= 0; i++)
			e = store_sort_rows(imap_reader(s), s->sel.mailbox_id, add[i], add[i], 1,
			                    load_cb, &l);
	if (e < 0)
		imap_log(s, LOG_ERROR, "event=sort_context_load_failed err=%d", e);
	if (imap_sort_result_insert(r, l.recs, n, pos, nums) == 0) {
		to_client(s, uid, nums, n);
		imap_esearch_write_update_at(s, tag, uid, "ADDTO", pos, nums, n);
	}
out:
	for (size_t i = 0; l.blobs && i < n; i++)
		free(l.blobs[i]);
	free(l.blobs);
	free(l.recs);
	buf_free(&l.tmp);
	free(pos);
	free(nums);
}

void imap_sort_context_remove(struct imap_session *s, struct imap_sort_result *r, const char *tag,
                              bool uid, const uint32_t *gone, size_t n)
{
	if (n == 0)
		return;
	uint32_t *pos = malloc(n * sizeof *pos), *nums = malloc(n * sizeof *nums);
	if (pos && nums) {
		size_t k = imap_sort_result_remove(r, gone, n, pos, nums);
		to_client(s, uid, nums, k);
		imap_esearch_write_update_at(s, tag, uid, "REMOVEFROM", pos, nums, k);
	}
	free(pos);
	free(nums);
}
