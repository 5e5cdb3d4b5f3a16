/* test_imap_sort_context: the ordered result of a CONTEXT=SORT context
 * (proto/imap/sort_context.c) against a client's model and a sort from
 * scratch, over random inserts and removals with a fixed seed; and the
 * ADDTO/REMOVEFROM pair syntax (esearch.c). */
#include "check.h"

#include "lib/buf.h"
#include "proto/imap/esearch.h"
#include "proto/imap/sort_context.h"

#include <stdint.h>
#include <string.h>

#define NMSG 200

static const char *subjects[] = {"", "apple", "apples", "banana", "BANANA", "cherry"};
static struct imap_sort_rec msgs[NMSG + 1]; /* by UID */
static struct imap_sort_spec spec;

static uint32_t rnd_state = 5267;
static uint32_t rnd(uint32_t n)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (rnd_state >> 8) % n;
}

static int cmp_ref(const void *pa, const void *pb)
{
	const struct imap_sort_rec *x = &msgs[*(const uint32_t *)pa],
	                           *y = &msgs[*(const uint32_t *)pb];
	for (size_t k = 0; k < spec.ncrit; k++) {
		int c = 0;
		switch (spec.crit[k].by) {
		case IMAP_SORT_BY_ARRIVAL:
			c = (x->arrival > y->arrival) - (x->arrival < y->arrival);
			break;
		case IMAP_SORT_BY_DATE:
			c = (x->date > y->date) - (x->date < y->date);
			break;
		case IMAP_SORT_BY_SIZE:
			c = (x->size > y->size) - (x->size < y->size);
			break;
		case IMAP_SORT_BY_FIELD: {
			int f = spec.crit[k].field;
			c = strcmp(x->str[f], y->str[f]); /* no NUL inside: memcmp order */
			break;
		}
		}
		if (c)
			return spec.crit[k].reverse ? -c : c;
	}
	return (x->uid > y->uid) - (x->uid < y->uid);
}

/* One run: random membership changes, checked after each. */
static void run(const char *name)
{
	bool in[NMSG + 1] = {0};
	uint32_t model[NMSG], ref[NMSG];
	size_t nmodel = 0;
	struct imap_sort_result *r = imap_sort_result_new(&spec);
	CHECK(r != NULL, "%s: new", name);
	/* the SORT's own result first: a third of the messages, in one block */
	size_t key_bytes = 0;
	for (uint32_t u = 1; u <= NMSG; u++)
		if (rnd(3) == 0) {
			in[u] = true;
			model[nmodel++] = u;
			for (int f = 0; f < IMAP_SF_COUNT; f++)
				key_bytes += msgs[u].len[f];
		}
	qsort(model, nmodel, sizeof *model, cmp_ref);
	CHECK(imap_sort_result_reserve(r, nmodel, key_bytes) == 0, "%s: reserve", name);
	for (size_t i = 0; i < nmodel; i++)
		CHECK(imap_sort_result_append(r, &msgs[model[i]]) == 0, "%s: append", name);
	for (int step = 0; step < 300; step++) {
		uint32_t cand[8], pos[8], uids[8];
		size_t n = 0, want = 1 + rnd(6);
		bool adding = rnd(2) == 0;
		for (size_t t = 0; t < 40 && n < want; t++) {
			uint32_t u = 1 + rnd(NMSG);
			bool dup = false;
			for (size_t i = 0; i < n; i++)
				dup |= cand[i] == u;
			if (!dup && in[u] != adding)
				cand[n++] = u;
		}
		/* ascending, as callers give them */
		for (size_t i = 1; i < n; i++)
			for (size_t j = i; j > 0 && cand[j - 1] > cand[j]; j--) {
				uint32_t t = cand[j];
				cand[j] = cand[j - 1];
				cand[j - 1] = t;
			}
		if (adding) {
			struct imap_sort_rec recs[8];
			for (size_t i = 0; i < n; i++)
				recs[i] = msgs[cand[i]];
			CHECK(imap_sort_result_insert(r, recs, n, pos, uids) == 0, "%s: insert",
			      name);
			for (size_t i = 0; i < n; i++) {
				CHECK(i == 0 || pos[i] > pos[i - 1], "%s: ADDTO positions ascend",
				      name);
				memmove(model + pos[i], model + pos[i] - 1,
				        (nmodel - (pos[i] - 1)) * sizeof *model);
				model[pos[i] - 1] = uids[i];
				nmodel++;
				in[uids[i]] = true;
			}
		} else {
			size_t k = imap_sort_result_remove(r, cand, n, pos, uids);
			CHECK(k == n, "%s: removed %zu of %zu", name, k, n);
			for (size_t i = 0; i < k; i++) {
				CHECK(pos[i] >= 1 && pos[i] <= nmodel &&
				          model[pos[i] - 1] == uids[i],
				      "%s: REMOVEFROM (%u %u) matches the model", name, pos[i],
				      uids[i]);
				memmove(model + pos[i] - 1, model + pos[i],
				        (nmodel - pos[i]) * sizeof *model);
				nmodel--;
				in[uids[i]] = false;
			}
		}
		size_t nref = 0;
		for (uint32_t u = 1; u <= NMSG; u++)
			if (in[u])
				ref[nref++] = u;
		qsort(ref, nref, sizeof *ref, cmp_ref);
		bool same = nref == nmodel && imap_sort_result_count(r) == nref;
		for (size_t i = 0; same && i < nref; i++)
			same = ref[i] == model[i] && imap_sort_result_uid_at(r, i + 1) == ref[i];
		CHECK(same, "%s step %d: model, result and a fresh sort agree", name, step);
		if (!same)
			break;
	}
	imap_sort_result_free(r);
}

static void test_random(void)
{
	for (uint32_t u = 1; u <= NMSG; u++) {
		struct imap_sort_rec *m = &msgs[u];
		m->uid = u;
		m->arrival = 1000 + rnd(20);
		m->date = 5000 + rnd(10);
		m->size = rnd(5);
		for (int f = 0; f < IMAP_SF_COUNT; f++) {
			m->str[f] = subjects[rnd(6)];
			m->len[f] = strlen(m->str[f]);
		}
	}
	spec = (struct imap_sort_spec){.ncrit = 1};
	spec.crit[0].by = IMAP_SORT_BY_ARRIVAL;
	run("ARRIVAL");
	spec.crit[0].reverse = true;
	run("REVERSE ARRIVAL");
	spec = (struct imap_sort_spec){.ncrit = 1};
	spec.crit[0].by = IMAP_SORT_BY_FIELD;
	spec.crit[0].field = IMAP_SF_SUBJECT;
	run("SUBJECT");
	spec = (struct imap_sort_spec){.ncrit = 3};
	spec.crit[0].by = IMAP_SORT_BY_DATE;
	spec.crit[0].reverse = true;
	spec.crit[1].by = IMAP_SORT_BY_FIELD;
	spec.crit[1].field = IMAP_SF_FROM;
	spec.crit[2].by = IMAP_SORT_BY_FIELD;
	spec.crit[2].field = IMAP_SF_SUBJECT;
	spec.crit[2].reverse = true;
	run("REVERSE DATE FROM REVERSE SUBJECT");
	spec = (struct imap_sort_spec){.ncrit = 2};
	spec.crit[0].by = IMAP_SORT_BY_SIZE;
	spec.crit[1].by = IMAP_SORT_BY_FIELD;
	spec.crit[1].field = IMAP_SF_TO;
	run("SIZE TO");
}

static void fmt(bool adding, const uint32_t *pos, const uint32_t *nums, size_t n, const char *want)
{
	struct buf b = {0};
	int r = imap_esearch_format_positioned(&b, adding, pos, nums, n);
	CHECK(r == 0 && b.len == strlen(want) && memcmp(b.data, want, b.len) == 0,
	      "format: \"%.*s\", want \"%s\"", (int)b.len, b.data ? b.data : "", want);
	buf_free(&b);
}

static void test_format(void)
{
	/* RFC 5267 §4.3.3: the preferred "ADDTO (1 2731:2733)" */
	fmt(true, (uint32_t[]){1, 2, 3}, (uint32_t[]){2731, 2732, 2733}, 3, " (1 2731:2733)");
	/* a run in another order is written in its order */
	fmt(true, (uint32_t[]){1, 2, 3, 4}, (uint32_t[]){6, 5, 4, 3}, 4, " (1 6,5,4,3)");
	fmt(true, (uint32_t[]){1, 2, 3, 6}, (uint32_t[]){3, 4, 5, 6}, 4, " (1 3:5 6 6)");
	fmt(true, (uint32_t[]){2, 3, 4, 5}, (uint32_t[]){7, 8, 1, 9}, 4, " (2 7:8,1,9)");
	/* REMOVEFROM: a run shares its position */
	fmt(false, (uint32_t[]){2, 2, 5}, (uint32_t[]){1, 9, 4}, 3, " (2 1,9 5 4)");
	fmt(false, (uint32_t[]){3}, (uint32_t[]){3}, 1, " (3 3)");
}

int main(void)
{
	test_random();
	test_format();
	return check_report("test_imap_sort_context");
}
