/* query_diff: Email/queryChanges' removed and added from two results of
 * one query (see query_diff.h). */
#include "proto/jmap/query_diff.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* An id -> position table (open addressing; position + 1, 0 is free). */
struct pos_table {
	int64_t *ids;
	size_t *pos;
	size_t mask;
};

static size_t slot(const struct pos_table *t, int64_t id)
{
	size_t h = (size_t)((uint64_t)id * 0x9e3779b97f4a7c15ull) & t->mask;
	while (t->pos[h] && t->ids[h] != id)
		h = (h + 1) & t->mask;
	return h;
}

void jmap_query_diff_free(struct jmap_query_diff *d)
{
	free(d->removed);
	free(d->added);
	memset(d, 0, sizeof *d);
}

int jmap_query_diff(const int64_t *old, size_t nold, const int64_t *cur, size_t ncur,
                    struct jmap_query_diff *d)
{
	memset(d, 0, sizeof *d);
	size_t cap = 16;
	while (cap < ncur * 2)
		cap *= 2;
	struct pos_table t = {calloc(cap, sizeof *t.ids), calloc(cap, sizeof *t.pos), cap - 1};
	/* seq: for each old id also in cur, its position in cur (old order);
	 * from: which old index each seq entry came from. */
	size_t *seq = malloc((nold + 1) * sizeof *seq), *from = malloc((nold + 1) * sizeof *from);
	size_t *tails = malloc((nold + 1) * sizeof *tails),
	       *prev = malloc((nold + 1) * sizeof *prev);
	bool *kept_old = calloc(nold + 1, sizeof *kept_old), *kept_cur = calloc(ncur + 1, 1);
	d->removed = malloc((nold + 1) * sizeof *d->removed);
	d->added = malloc((ncur + 1) * sizeof *d->added);
	int r = -ENOMEM;
	if (!t.ids || !t.pos || !seq || !from || !tails || !prev || !kept_old || !kept_cur ||
	    !d->removed || !d->added)
		goto out;
	for (size_t i = 0; i < ncur; i++) {
		size_t h = slot(&t, cur[i]);
		t.ids[h] = cur[i];
		t.pos[h] = i + 1;
	}
	size_t n = 0;
	for (size_t i = 0; i < nold; i++) {
		size_t h = slot(&t, old[i]);
		if (t.pos[h]) {
			seq[n] = t.pos[h] - 1;
			from[n++] = i;
		}
	}
	/* Longest increasing subsequence of seq: tails[k] is the index (in
	 * seq) of the smallest tail of an increasing run of length k + 1. */
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		size_t lo = 0, hi = len;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (seq[tails[mid]] < seq[i])
				lo = mid + 1;
			else
				hi = mid;
		}
		prev[i] = lo ? tails[lo - 1] : SIZE_MAX;
		tails[lo] = i;
		if (lo == len)
			len++;
	}
	for (size_t i = len ? tails[len - 1] : SIZE_MAX; i != SIZE_MAX; i = prev[i]) {
		kept_old[from[i]] = true;
		kept_cur[seq[i]] = true;
	}
	for (size_t i = 0; i < nold; i++)
		if (!kept_old[i])
			d->removed[d->nremoved++] = old[i];
	for (size_t i = 0; i < ncur; i++)
		if (!kept_cur[i])
			d->added[d->nadded++] = (struct jmap_query_added){cur[i], i};
	r = 0;
out:
	free(t.ids);
	free(t.pos);
	free(seq);
	free(from);
	free(tails);
	free(prev);
	free(kept_old);
	free(kept_cur);
	if (r < 0)
		jmap_query_diff_free(d);
	return r;
}
