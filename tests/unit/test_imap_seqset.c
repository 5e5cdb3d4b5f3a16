/* test_imap_seqset: sequence-set parsing, resolution against a view,
 * and compact formatting. */
#include "proto/imap/imap_int.h"
#include "proto/imap/seqset.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

static const uint32_t view[] = {2, 3, 5, 8, 9, 10, 20};
static const uint32_t nview = 7;

/* Resolve text and render as "1:2,4" (sequence numbers). */
static const char *res(const char *text, bool uid, int *rc_out)
{
	static char out[256];
	struct arena a = {0};
	struct imap_seqset set, r;
	static const uint32_t saved[] = {3, 4, 9};
	int rc = imap_seqset_parse(text, strlen(text), &set, &a);
	if (rc == 0)
		rc = imap_seqset_resolve(view, nview, saved, 3, &set, uid, &r, &a);
	*rc_out = rc;
	out[0] = '\0';
	if (rc == 0) {
		size_t w = 0;
		for (size_t i = 0; i < r.n; i++)
			w += (size_t)snprintf(out + w, sizeof out - w, "%s%u:%u", i ? "," : "",
			                      r.r[i].lo, r.r[i].hi);
	}
	arena_reset(&a);
	return out;
}

#define RES(text, uid, want)                                                                       \
	do {                                                                                       \
		int rc_;                                                                           \
		const char *got = res(text, uid, &rc_);                                            \
		CHECK(rc_ == 0 && strcmp(got, want) == 0, "%s uid=%d: rc=%d got %s want %s", text, \
		      uid, rc_, got, want);                                                        \
	} while (0)

int main(void)
{
	struct arena a = {0};
	struct imap_seqset s;
	const char *bad[] = {"",     "0",  "1:0",        "a",     "1,", ",1",
	                     "1::2", "01", "4294967296", "1:*:2", "$1", "1 2"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(imap_seqset_parse(bad[i], strlen(bad[i]), &s, &a) == -EINVAL, "bad %s",
		      bad[i]);
	CHECK(imap_seqset_parse("4294967295", 10, &s, &a) == 0 && s.r[0].lo == 4294967295u &&
	          s.r[0].lo != IMAP_SEQ_STAR && !imap_seqset_has_star(&s),
	      "max is a number, not '*'");
	CHECK(imap_seqset_parse("5:1", 3, &s, &a) == 0 && s.r[0].lo == 1 && s.r[0].hi == 5, "rev");
	CHECK(imap_seqset_parse("*:3", 3, &s, &a) == 0 && s.r[0].lo == 3 &&
	          s.r[0].hi == IMAP_SEQ_STAR && imap_seqset_has_star(&s),
	      "star");
	CHECK(imap_seqset_parse("3:*", 3, &s, &a) == 0 && s.r[0].lo == 3 &&
	          s.r[0].hi == IMAP_SEQ_STAR,
	      "star in hi");
	CHECK(imap_seqset_parse("*", 1, &s, &a) == 0 && s.r[0].lo == IMAP_SEQ_STAR &&
	          s.r[0].hi == IMAP_SEQ_STAR,
	      "lone star");
	CHECK(imap_seqset_parse("4294967295:*", 12, &s, &a) == 0 && s.r[0].lo == 4294967295u &&
	          s.r[0].hi == IMAP_SEQ_STAR,
	      "max:star");
	{
		uint32_t lo, hi;
		imap_seqset_parse("*:3", 3, &s, &a);
		imap_seqrange_bounds(&s.r[0], 2, &lo, &hi);
		CHECK(lo == 2 && hi == 3, "bounds: * below the number");
		imap_seqrange_bounds(&s.r[0], 9, &lo, &hi);
		CHECK(lo == 3 && hi == 9, "bounds: * above the number");
	}

	/* sequence numbers */
	RES("1", false, "1:1");
	RES("1:*", false, "1:7");
	RES("*", false, "7:7");
	RES("*:5", false, "5:7");
	RES("3,1,2,6:7", false, "1:3,6:7");
	RES("2:3,3:4", false, "2:4");
	int rc;
	res("8", false, &rc);
	CHECK(rc == -ERANGE, "seq 8 out of range");
	/* 4294967295 is a sequence number like any other: out of range */
	res("1:4294967295", false, &rc);
	CHECK(rc == -ERANGE, "seq 1:4294967295 out of range");
	res("4294967295", false, &rc);
	CHECK(rc == -ERANGE, "seq 4294967295 out of range");
	/* UIDs */
	RES("1:4", true, "1:2");
	RES("4", true, "");
	RES("5:9", true, "3:5");
	RES("21:*", true, "7:7"); /* n:* with n above the max matches the max */
	RES("*", true, "7:7");
	RES("1:4294967295", true, "1:7");
	/* only '*' is the highest UID: 4294967295 is not (issue 14 item 14) */
	RES("21:4294967295", true, "");
	RES("4294967295:21", true, "");
	RES("4294967295", true, "");
	RES("4294967295:*", true, "7:7");
	RES("*:4294967295", true, "7:7");
	RES("20:4294967295", true, "7:7");
	RES("10,2,20", true, "1:1,6:7");
	/* $ = saved UIDs 3, 4, 9: 4 is gone */
	RES("$", true, "2:2,5:5");
	RES("$", false, "2:2,5:5");

	/* a view whose last UID is 4294967295: the number names it, as '*' does */
	{
		static const uint32_t top[] = {5, 4294967295u};
		struct imap_seqset r;
		const char *sets[] = {"4294967295", "*", "6:4294967295", "4294967295:*"};
		for (size_t i = 0; i < 4; i++) {
			imap_seqset_parse(sets[i], strlen(sets[i]), &s, &a);
			CHECK(imap_seqset_resolve(top, 2, NULL, 0, &s, true, &r, &a) == 0 &&
			          r.n == 1 && r.r[0].lo == 2 && r.r[0].hi == 2,
			      "top uid %s", sets[i]);
		}
	}
	/* empty view */
	{
		struct imap_seqset r;
		imap_seqset_parse("1:*", 3, &s, &a);
		CHECK(imap_seqset_resolve(NULL, 0, NULL, 0, &s, true, &r, &a) == 0 && r.n == 0,
		      "uid on empty");
		CHECK(imap_seqset_resolve(NULL, 0, NULL, 0, &s, false, &r, &a) == -ERANGE,
		      "seq on empty");
	}
	/* contains / count */
	{
		struct imap_seqset r;
		imap_seqset_parse("1:2,5,7", 7, &s, &a);
		imap_seqset_resolve(view, nview, NULL, 0, &s, false, &r, &a);
		CHECK(imap_seqset_count(&r) == 4, "count");
		CHECK(imap_seqset_contains(&r, 5) && !imap_seqset_contains(&r, 6) &&
		          imap_seqset_contains(&r, 1) && !imap_seqset_contains(&r, 8),
		      "contains");
	}
	/* format */
	{
		uint32_t v[] = {1, 2, 3, 5, 7, 8, 4294967295u};
		CHECK(strcmp(imap_seqset_format(&a, v, 7), "1:3,5,7:8,4294967295") == 0, "format");
		uint32_t w[] = {9, 3, 4};
		CHECK(strcmp(imap_seqset_format(&a, w, 3), "9,3:4") == 0, "format keeps order");
		CHECK(strcmp(imap_seqset_format(&a, w, 0), "") == 0, "format empty");
	}
	/* PARTIAL ranges (RFC 9394) and the slices they name */
	{
		struct imap_partial p;
		const char *badp[] = {"",       "0:5",    "1:0",  "-1:5",  "1:-5", "1:*",
		                      "-0:-1",  "1",      "-1",   "1:2:3", "01:5", "1:4294967296",
		                      "--1:-2", "-1:--2", "1:2 ", "1,2"};
		for (size_t i = 0; i < sizeof badp / sizeof badp[0]; i++)
			CHECK(imap_partial_parse(badp[i], strlen(badp[i]), &p) == -EINVAL,
			      "bad partial %s", badp[i]);
		CHECK(imap_partial_parse("500:400", 7, &p) == 0 && !p.from_end && p.lo == 400 &&
		          p.hi == 500 && p.first == 500 && p.second == 400,
		      "partial reversed");
		CHECK(imap_partial_parse("-1:-100", 7, &p) == 0 && p.from_end && p.lo == 1 &&
		          p.hi == 100,
		      "partial from the end");
		CHECK(imap_partial_parse("1:4294967295", 12, &p) == 0 && p.hi == 4294967295u,
		      "partial max");
		size_t from, to;
		imap_partial_parse("2:4", 3, &p);
		imap_partial_slice(&p, 10, &from, &to);
		CHECK(from == 1 && to == 4, "slice 2:4");
		imap_partial_slice(&p, 3, &from, &to);
		CHECK(from == 1 && to == 3, "slice 2:4 of 3");
		imap_partial_slice(&p, 1, &from, &to);
		CHECK(from == to, "slice 2:4 of 1: none");
		imap_partial_slice(&p, 0, &from, &to);
		CHECK(from == to, "slice of nothing");
		imap_partial_parse("-1:-3", 5, &p);
		imap_partial_slice(&p, 10, &from, &to);
		CHECK(from == 7 && to == 10, "slice -1:-3");
		imap_partial_slice(&p, 2, &from, &to);
		CHECK(from == 0 && to == 2, "slice -1:-3 of 2");
		imap_partial_parse("-4:-4294967295", 14, &p);
		imap_partial_slice(&p, 10, &from, &to);
		CHECK(from == 0 && to == 7, "slice -4:-max");
		imap_partial_slice(&p, 3, &from, &to);
		CHECK(from == to, "slice -4:-max of 3: none");
		imap_partial_parse("1:4294967295", 12, &p);
		imap_partial_slice(&p, 5, &from, &to);
		CHECK(from == 0 && to == 5, "slice 1:max");
		/* a resolved set's positions */
		struct imap_seqset r, out;
		struct imap_seqrange rr[] = {{1, 3}, {5, 5}, {8, 10}};
		r.r = rr;
		r.n = 3;
		imap_seqset_slice(&r, 2, 5, &out, &a);
		CHECK(out.n == 3 && out.r[0].lo == 3 && out.r[0].hi == 3 && out.r[1].lo == 5 &&
		          out.r[2].lo == 8 && out.r[2].hi == 8,
		      "seqset slice 2:5");
		imap_seqset_slice(&r, 4, 7, &out, &a);
		CHECK(out.n == 1 && out.r[0].lo == 8 && out.r[0].hi == 10,
		      "seqset slice to the end");
		imap_seqset_slice(&r, 7, 7, &out, &a);
		CHECK(out.n == 0, "seqset slice empty");
	}
	arena_reset(&a);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
