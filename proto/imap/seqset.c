/* seqset: parse and resolve IMAP sequence sets. See seqset.h.
 *
 * Why resolve to ranges of positions. A client may send "1:*" over a
 * mailbox of 100,000 messages, or "1:4294967295" over an empty one; a
 * UID range may straddle thousands of expunged UIDs. Mapping every range
 * onto the view with two binary searches keeps the work proportional to
 * the text the client sent, never to the numbers in it, and the handlers
 * iterate exactly the messages that exist.
 */
#include "proto/imap/seqset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/imap/imap_int.h"

static int parse_num(const char *t, size_t len, size_t *i, uint32_t *out)
{
	if (*i < len && t[*i] == '*') {
		(*i)++;
		*out = IMAP_SEQ_STAR;
		return 0;
	}
	uint64_t v = 0;
	size_t start = *i;
	while (*i < len && t[*i] >= '0' && t[*i] <= '9') {
		v = v * 10 + (uint64_t)(t[*i] - '0');
		if (v >= UINT32_MAX + 1ull)
			return -EINVAL;
		(*i)++;
	}
	if (*i == start || v == 0 || t[start] == '0')
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

int imap_seqset_parse(const char *t, size_t len, struct imap_seqset *out, struct arena *a)
{
	memset(out, 0, sizeof(*out));
	if (len == 1 && t[0] == '$') {
		out->dollar = true;
		return 0;
	}
	if (len == 0)
		return -EINVAL;
	size_t commas = 0;
	for (size_t i = 0; i < len; i++)
		commas += t[i] == ',';
	out->r = imap_arena_alloc(a, (commas + 1) * sizeof(*out->r));
	size_t i = 0;
	for (;;) {
		uint32_t lo, hi;
		if (parse_num(t, len, &i, &lo) < 0)
			return -EINVAL;
		hi = lo;
		if (i < len && t[i] == ':') {
			i++;
			if (parse_num(t, len, &i, &hi) < 0)
				return -EINVAL;
		}
		/* numbers in order; a '*' goes to hi ("*:3" is 3:*) */
		if (lo == IMAP_SEQ_STAR || (hi != IMAP_SEQ_STAR && lo > hi)) {
			uint32_t x = lo;
			lo = hi;
			hi = x;
		}
		out->r[out->n].lo = lo;
		out->r[out->n].hi = hi;
		out->n++;
		if (i == len)
			return 0;
		if (t[i] != ',')
			return -EINVAL;
		i++;
	}
}

bool imap_seqset_has_star(const struct imap_seqset *set)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->r[i].lo == IMAP_SEQ_STAR || set->r[i].hi == IMAP_SEQ_STAR)
			return true;
	return false;
}

static int cmp_range(const void *a, const void *b)
{
	const struct imap_seqrange *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

size_t imap_uids_lower_bound(const uint32_t *v, size_t n, uint32_t x)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool imap_uids_contain(const uint32_t *v, size_t n, uint32_t x)
{
	size_t i = imap_uids_lower_bound(v, n, x);
	return i < n && v[i] == x;
}

bool imap_uids_push(uint32_t **v, size_t *n, size_t *cap, uint32_t x)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		uint32_t *p = realloc(*v, c * sizeof *p);
		if (!p)
			return false;
		*v = p;
		*cap = c;
	}
	(*v)[(*n)++] = x;
	return true;
}

/* First index with uids[i] >= v. */
static uint32_t lower_bound(const uint32_t *u, uint32_t n, uint32_t v)
{
	return (uint32_t)imap_uids_lower_bound(u, n, v);
}

static void merge(struct imap_seqset *out)
{
	if (out->n == 0)
		return;
	qsort(out->r, out->n, sizeof(*out->r), cmp_range);
	size_t w = 0;
	for (size_t i = 1; i < out->n; i++) {
		if ((uint64_t)out->r[i].lo <= (uint64_t)out->r[w].hi + 1) {
			if (out->r[i].hi > out->r[w].hi)
				out->r[w].hi = out->r[i].hi;
		} else {
			out->r[++w] = out->r[i];
		}
	}
	out->n = w + 1;
}

int imap_seqset_resolve(const uint32_t *uids, uint32_t count, const uint32_t *saved, size_t nsaved,
                        const struct imap_seqset *set, bool uid_mode, struct imap_seqset *out,
                        struct arena *a)
{
	memset(out, 0, sizeof(*out));
	if (set->dollar) {
		/* Saved UIDs that still exist, as positions. */
		out->r = imap_arena_alloc(a, (nsaved ? nsaved : 1) * sizeof(*out->r));
		for (size_t i = 0; i < nsaved; i++) {
			uint32_t k = lower_bound(uids, count, saved[i]);
			if (k < count && uids[k] == saved[i]) {
				out->r[out->n].lo = out->r[out->n].hi = k + 1;
				out->n++;
			}
		}
		merge(out);
		return 0;
	}
	out->r = imap_arena_alloc(a, (set->n ? set->n : 1) * sizeof(*out->r));
	for (size_t i = 0; i < set->n; i++) {
		uint32_t lo, hi;
		if (uid_mode) {
			if (count == 0)
				continue;
			/* '*' is the highest UID in the view: "n:*" with n above
			 * it still names that message (RFC 9051 §6.4.9) */
			imap_seqrange_bounds(&set->r[i], uids[count - 1], &lo, &hi);
			uint32_t a0 = lower_bound(uids, count, lo);
			uint32_t b0 = hi == UINT32_MAX ? count : lower_bound(uids, count, hi + 1);
			if (a0 >= b0)
				continue;
			out->r[out->n].lo = a0 + 1;
			out->r[out->n].hi = b0;
			out->n++;
		} else {
			if (count == 0)
				return -ERANGE;
			imap_seqrange_bounds(&set->r[i], count, &lo, &hi);
			if (hi > count)
				return -ERANGE;
			out->r[out->n].lo = lo;
			out->r[out->n].hi = hi;
			out->n++;
		}
	}
	merge(out);
	return 0;
}

uint64_t imap_seqset_count(const struct imap_seqset *r)
{
	uint64_t n = 0;
	for (size_t i = 0; i < r->n; i++)
		n += (uint64_t)r->r[i].hi - r->r[i].lo + 1;
	return n;
}

bool imap_seqset_contains(const struct imap_seqset *r, uint32_t n)
{
	size_t lo = 0, hi = r->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r->r[mid].hi < n)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < r->n && r->r[lo].lo <= n && n <= r->r[lo].hi;
}

int imap_partial_parse(const char *t, size_t len, struct imap_partial *out)
{
	memset(out, 0, sizeof *out);
	bool neg = len > 0 && t[0] == '-';
	uint64_t v[2] = {0, 0};
	size_t i = 0;
	for (int k = 0; k < 2; k++) {
		if (neg) {
			if (i >= len || t[i] != '-')
				return -EINVAL;
			i++;
		}
		size_t start = i;
		while (i < len && t[i] >= '0' && t[i] <= '9') {
			v[k] = v[k] * 10 + (uint64_t)(t[i] - '0');
			if (v[k] > UINT32_MAX)
				return -EINVAL;
			i++;
		}
		if (i == start || v[k] == 0 || t[start] == '0')
			return -EINVAL;
		if (k == 0 && (i >= len || t[i++] != ':'))
			return -EINVAL;
	}
	if (i != len)
		return -EINVAL;
	out->from_end = neg;
	out->first = (uint32_t)v[0];
	out->second = (uint32_t)v[1];
	out->lo = out->first < out->second ? out->first : out->second;
	out->hi = out->first < out->second ? out->second : out->first;
	return 0;
}

void imap_partial_slice(const struct imap_partial *p, size_t n, size_t *from, size_t *to)
{
	*from = *to = 0;
	if (p->lo == 0 || p->lo > n)
		return;
	size_t hi = p->hi < n ? p->hi : n;
	if (!p->from_end) {
		*from = p->lo - 1;
		*to = hi;
	} else { /* -lo is position n - lo + 1 (1-based) */
		*from = n - hi;
		*to = n - p->lo + 1;
	}
}

void imap_seqset_slice(const struct imap_seqset *r, uint64_t from, uint64_t to,
                       struct imap_seqset *out, struct arena *a)
{
	memset(out, 0, sizeof *out);
	out->r = imap_arena_alloc(a, (r->n ? r->n : 1) * sizeof *out->r);
	uint64_t pos = 0; /* position of r->r[i].lo */
	for (size_t i = 0; i < r->n && pos < to; i++) {
		uint64_t len = (uint64_t)r->r[i].hi - r->r[i].lo + 1;
		uint64_t lo = from > pos ? from - pos : 0; /* offsets in this range */
		uint64_t hi = to - pos < len ? to - pos : len;
		if (lo < hi) {
			out->r[out->n].lo = r->r[i].lo + (uint32_t)lo;
			out->r[out->n].hi = r->r[i].lo + (uint32_t)hi - 1;
			out->n++;
		}
		pos += len;
	}
}

char *imap_seqset_format(struct arena *a, const uint32_t *nums, size_t n)
{
	/* at most 10 digits + separator per number */
	char *buf = imap_arena_alloc(a, n * 11 + 1);
	size_t w = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && nums[j] != UINT32_MAX && nums[j + 1] == nums[j] + 1)
			j++;
		if (w)
			buf[w++] = ',';
		if (j > i)
			w += (size_t)sprintf(buf + w, "%u:%u", nums[i], nums[j]);
		else
			w += (size_t)sprintf(buf + w, "%u", nums[i]);
		i = j + 1;
	}
	buf[w] = '\0';
	return buf;
}
