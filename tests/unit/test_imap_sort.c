/* test_imap_sort: RFC 5256 base subjects, RFC 5051 collation keys,
 * msg-id normalization, the sort record of a parsed message, the
 * RFC 5322 sent time, and both THREAD algorithms on hand-made messages
 * (proto/imap/sort_keys.c, thread.c, dates.c). */
#include "check.h"

#include "lib/buf.h"
#include "mime/mime.h"
#include "proto/imap/dates.h"
#include "proto/imap/sort_keys.h"
#include "proto/imap/thread.h"

#include <string.h>

static void base(const char *subject, const char *want, bool want_reply)
{
	struct buf b = {0};
	bool reply = !want_reply;
	int r = imap_base_subject_of(subject, strlen(subject), &b, &reply);
	CHECK(r == 0 && b.len == strlen(want) && memcmp(b.data ? b.data : "", want, b.len) == 0,
	      "base subject of \"%s\": \"%.*s\", want \"%s\"", subject, (int)b.len,
	      b.data ? b.data : "", want);
	CHECK(reply == want_reply, "reply flag of \"%s\": %d", subject, reply);
	buf_free(&b);
}

static void test_base_subjects(void)
{
	base("Hello", "Hello", false);
	base("Re: Hello", "Hello", true);
	base("RE:   re: Hello  ", "Hello", true);
	base("Fwd: Hello", "Hello", true);
	base("fw: Hello", "Hello", true);
	base("Re [x]: Hello", "Hello", true); /* subj-blob inside subj-refwd */
	base("[PATCH] Hello", "Hello", false);
	base("[PATCH]", "[PATCH]", false); /* nothing would be left */
	base("[PATCH]  ", "[PATCH]", false);
	base("[a] [b] Re: [c] Hello", "Hello", true);
	base("Hello (fwd)", "Hello", true);
	base("Hello (fwd) (FWD)", "Hello", true);
	base("[Fwd: Hello]", "Hello", true);
	base("[fwd: Re: [fwd: Hello] (fwd)]", "Hello", true);
	base("[fwd: Hello", "[fwd: Hello", false);
	base("Re:", "", true);
	base("", "", false);
	base("Rebecca: Hi", "Rebecca: Hi", false);
	base("Re: [fwd: ]", "", true); /* a blob is kept, but step (6) empties it */
	base("tab\there", "tab here", false);
	base("=?UTF-8?Q?Re=3A_caf=C3=A9?=", "caf\xc3\xa9", true);
	base("Re: =?ISO-8859-1?Q?Gr=FC=DFe?=",
	     "Gr\xc3\xbc\xc3\x9f"
	     "e",
	     true);
}

static int key_cmp(const char *a, const char *b)
{
	struct buf x = {0}, y = {0};
	imap_collate_key(a, strlen(a), 255, &x);
	imap_collate_key(b, strlen(b), 255, &y);
	int r =
	    x.len == y.len ? (x.len ? memcmp(x.data, y.data, x.len) : 0) : (x.len < y.len ? -1 : 1);
	if (x.len && y.len && x.len != y.len) {
		size_t l = x.len < y.len ? x.len : y.len;
		int c = memcmp(x.data, y.data, l);
		if (c)
			r = c;
	}
	buf_free(&x);
	buf_free(&y);
	return r < 0 ? -1 : r > 0;
}

static bool key_is(const char *s, const char *want)
{
	struct buf b = {0};
	imap_collate_key(s, strlen(s), 255, &b);
	bool ok = b.len == strlen(want) && memcmp(b.data, want, b.len) == 0;
	buf_free(&b);
	return ok;
}

static void test_collation(void)
{
	CHECK(key_cmp("hello", "HELLO") == 0, "case folds");
	CHECK(key_cmp("\xc3\xa9t\xc3\xa9", "\xc3\x89T\xc3\x89") == 0, "é folds to É");
	CHECK(key_cmp("e\xcc\x81", "\xc3\xa9") == 0, "decomposed é is é");
	/* titlecase first, then NFKD (RFC 5051 step 2): U+FB01 has no simple
	 * titlecase, so it decomposes to "fi" as it is */
	CHECK(key_is("\xef\xac\x81", "fi"), "the ligature fi");
	/* RFC 5051's example: U+01C4 -> titlecase U+01C5 -> D z caron */
	CHECK(key_is("\xc7\x84", "Dz\xcc\x8c"), "DŽ");
	CHECK(key_is("r\xc3\xa9sum\xc3\xa9", "RE\xcc\x81SUME\xcc\x81"), "résumé");
	CHECK(key_cmp("apple", "banana") < 0, "order");
	CHECK(key_cmp("", "a") < 0, "empty first");
	CHECK(key_cmp("ab", "abc") < 0, "prefix first");
	struct buf b = {0};
	imap_collate_key("\xff\xfe", 2, 255, &b); /* not UTF-8: the octets */
	CHECK(b.len == 2 && memcmp(b.data, "\xff\xfe", 2) == 0, "invalid UTF-8 kept");
	buf_free(&b);
	char longs[600];
	memset(longs, 'a', sizeof longs - 1);
	longs[sizeof longs - 1] = '\0';
	imap_collate_key(longs, strlen(longs), IMAP_SORT_KEY_MAX, &b);
	CHECK(b.len == IMAP_SORT_KEY_MAX, "keys are bounded: %zu", b.len);
	buf_free(&b);
}

static void test_msgids(void)
{
	char id[64];
	size_t pos = 0;
	const char *v = "<\"01KF8JCEOCBS0045PS\"@xxx.yyy.com> junk <a@b> <nope> <c@d";
	CHECK(imap_msgid_next(v, strlen(v), &pos, id, sizeof id) &&
	          strcmp(id, "01KF8JCEOCBS0045PS@xxx.yyy.com") == 0,
	      "quoted local part: %s", id);
	CHECK(imap_msgid_next(v, strlen(v), &pos, id, sizeof id) && strcmp(id, "a@b") == 0, "2nd");
	CHECK(!imap_msgid_next(v, strlen(v), &pos, id, sizeof id), "no @, unterminated: none");
	pos = 0;
	CHECK(!imap_msgid_next("<a b@c>", 7, &pos, id, sizeof id), "a space is not an id");
	pos = 0;
	CHECK(!imap_msgid_next("<aaaaaaaaaaaaaaaaaaaaa@b>", 25, &pos, id, 8), "too long");
}

static void test_sent_time(void)
{
	int64_t t;
	const char *d = "Sun, 31 Dec 2000 16:01:33 -0800";
	CHECK(imap_parse_rfc5322_time(d, strlen(d), &t) == 0 &&
	          t == imap_days_from_civil(2001, 1, 1) * 86400 + 60 + 33,
	      "RFC 5256 §2.2's example: %lld", (long long)t);
	d = "1 Jan 2001 00:01:33 +0000";
	int64_t u;
	CHECK(imap_parse_rfc5322_time(d, strlen(d), &u) == 0 && u == t, "the same instant");
	d = "1 Jan 2001 (no time)";
	CHECK(imap_parse_rfc5322_time(d, strlen(d), &t) == 0 &&
	          t == imap_days_from_civil(2001, 1, 1) * 86400,
	      "no time: midnight");
	d = "1 Jan 2001 10:00 EST";
	CHECK(imap_parse_rfc5322_time(d, strlen(d), &t) == 0 &&
	          t == imap_days_from_civil(2001, 1, 1) * 86400 + 15 * 3600,
	      "named zone, no seconds");
	d = "1 Jan 2001 10:00:00 +zz";
	CHECK(imap_parse_rfc5322_time(d, strlen(d), &t) == 0 &&
	          t == imap_days_from_civil(2001, 1, 1) * 86400 + 10 * 3600,
	      "an invalid zone is UTC");
	CHECK(imap_parse_rfc5322_time("garbage", 7, &t) < 0, "no date");
}

static void test_record(void)
{
	const char *msg = "From: =?UTF-8?Q?=C3=89mile?= <emile@b.example>\r\n"
	                  "To: undisclosed-recipients:;\r\n"
	                  "Cc: Grp: x@y.example, z@w.example;\r\n"
	                  "Subject: Re: [list] Hello\r\n"
	                  "Date: 1 Jan 2001 00:00:00 +0000\r\n"
	                  "Message-ID: <m1@x>\r\n"
	                  "In-Reply-To: <p0@x>\r\n"
	                  "References: <r1@x> bad <r2@x>\r\n\r\nbody\r\n";
	struct mime_message *m = NULL;
	struct buf rec = {0};
	struct imap_sort_info info;
	CHECK(mime_parse(msg, strlen(msg), &m) == 0, "parse");
	CHECK(imap_sort_record(m, true, &rec) == 0, "record");
	CHECK(imap_sort_record_parse(rec.data, rec.len, &info) == 0, "read back");
#define F(i, s)                                                                                    \
	CHECK(info.f[i].len == strlen(s) && memcmp(info.f[i].p, s, info.f[i].len) == 0,            \
	      "field %d: \"%.*s\" want \"%s\"", i, (int)info.f[i].len, info.f[i].p, s)
	F(IMAP_SF_SUBJECT, "HELLO");
	F(IMAP_SF_FROM, "EMILE");
	F(IMAP_SF_DISPLAYFROM, "E\xcc\x81MILE");
	F(IMAP_SF_TO, "UNDISCLOSED-RECIPIENTS");
	F(IMAP_SF_CC, "X");
	F(IMAP_SF_MSGID, "m1@x");
	F(IMAP_SF_REFS, "r1@x r2@x");
	CHECK((info.flags & IMAP_SORT_HAS_DATE) && (info.flags & IMAP_SORT_REPLY) &&
	          info.sent_time == imap_days_from_civil(2001, 1, 1) * 86400,
	      "flags %u", info.flags);
	CHECK(imap_sort_record_parse(rec.data, rec.len - 1, &info) < 0, "truncated: refused");
	CHECK(imap_sort_record_parse(rec.data, 3, &info) < 0, "short: refused");
	buf_free(&rec);
	mime_free(&m);
}

/* ---- THREAD ---- */

struct tm_spec {
	const char *subj; /* base subject key */
	bool reply;
	int64_t date;
	const char *id, *refs;
};

static void thread_case(enum imap_thread_alg alg, const struct tm_spec *sp, size_t n,
                        const char *want, const char *what)
{
	struct imap_thread_msg m[32];
	for (size_t i = 0; i < n; i++) {
		m[i] = (struct imap_thread_msg){
		    .num = (uint32_t)i + 1,
		    .seq = (uint32_t)i + 1,
		    .date = sp[i].date,
		    .subj = sp[i].subj,
		    .subjlen = strlen(sp[i].subj),
		    .reply = sp[i].reply,
		    .msgid = sp[i].id,
		    .msgidlen = strlen(sp[i].id),
		    .refs = sp[i].refs,
		    .refslen = strlen(sp[i].refs),
		};
	}
	struct buf b = {0};
	int r = imap_thread(alg, m, n, &b);
	CHECK(r == 0 && b.len == strlen(want) && memcmp(b.data ? b.data : "", want, b.len) == 0,
	      "%s: got \"%.*s\" want \"%s\"", what, (int)b.len, b.data ? b.data : "", want);
	buf_free(&b);
}

static void test_threads(void)
{
	/* the shape of RFC 5256's THREAD response example: 2; 3 -> 6 ->
	 * (4 -> 23, 44 -> 7 -> 96) */
	const struct tm_spec shape[] = {
	    {"A", false, 1, "2@x", ""},        {"B", false, 2, "3@x", ""},
	    {"B", true, 3, "6@x", "3@x"},      {"B", true, 4, "4@x", "3@x 6@x"},
	    {"B", true, 5, "23@x", "6@x 4@x"}, {"B", true, 6, "44@x", "6@x"},
	    {"B", true, 7, "7@x", "44@x"},     {"B", true, 8, "96@x", "44@x 7@x"},
	};
	thread_case(IMAP_THREAD_REFERENCES, shape, 8, "(1)(2 3 (4 5)(6 7 8))", "RFC shape");
	/* two siblings of a parent we do not have: "((3)(5))" */
	const struct tm_spec dummy[] = {
	    {"X", false, 2, "a@x", "gone@x"},
	    {"Y", false, 1, "b@x", "gone@x"},
	};
	thread_case(IMAP_THREAD_REFERENCES, dummy, 2, "((2)(1))", "dummy parent");
	/* a dummy with one child is promoted to the top */
	const struct tm_spec one[] = {{"X", false, 1, "a@x", "gone@x"}};
	thread_case(IMAP_THREAD_REFERENCES, one, 1, "(1)", "one child promoted");
	/* loops: a refs b, b refs a; a self-reference */
	const struct tm_spec loop[] = {
	    {"L", false, 1, "a@x", "b@x"},
	    {"L", false, 2, "b@x", "a@x"},
	    {"S", false, 3, "s@x", "s@x s@x"},
	};
	thread_case(IMAP_THREAD_REFERENCES, loop, 3, "(2 1)(3)", "loops");
	/* duplicate ids, missing ids */
	const struct tm_spec dup[] = {
	    {"P", false, 1, "p@x", ""},
	    {"Q", false, 2, "p@x", ""},
	    {"R", false, 3, "", "p@x"},
	    {"T", false, 4, "", ""},
	};
	thread_case(IMAP_THREAD_REFERENCES, dup, 4, "(1 3)(2)(4)", "duplicates");
	/* subject merges: two non-replies -> dummy; a reply joins a
	 * non-reply; empty subjects stay apart */
	const struct tm_spec subj[] = {
	    {"T", false, 1, "1@x", ""}, {"T", false, 2, "2@x", ""}, {"O", true, 3, "3@x", ""},
	    {"O", false, 4, "4@x", ""}, {"", false, 5, "5@x", ""},  {"", false, 6, "6@x", ""},
	};
	thread_case(IMAP_THREAD_REFERENCES, subj, 6, "((1)(2))(4 3)(5)(6)", "subjects");
	/* a reply thread merged with a dummy's */
	const struct tm_spec subj2[] = {
	    {"Z", false, 1, "z1@x", "zz@x"},
	    {"Z", false, 2, "z2@x", "zz@x"},
	    {"Z", true, 3, "z3@x", ""},
	};
	thread_case(IMAP_THREAD_REFERENCES, subj2, 3, "((1)(2)(3))", "dummy absorbs by subject");
	/* dates order the siblings, the sequence ties */
	const struct tm_spec dates[] = {
	    {"D", false, 5, "r@x", ""},
	    {"D", true, 9, "c1@x", "r@x"},
	    {"D", true, 7, "c2@x", "r@x"},
	    {"D", true, 7, "c3@x", "r@x"},
	};
	thread_case(IMAP_THREAD_REFERENCES, dates, 4, "(1 (3)(4)(2))", "by date");
	thread_case(IMAP_THREAD_REFERENCES, dates, 0, "", "nothing");
	/* ORDEREDSUBJECT */
	const struct tm_spec os[] = {
	    {"X", false, 4, "", ""}, {"Y", true, 2, "", ""},  {"Y", false, 5, "", ""},
	    {"X", true, 3, "", ""},  {"X", false, 6, "", ""}, {"Z", false, 1, "", ""},
	};
	thread_case(IMAP_THREAD_ORDEREDSUBJECT, os, 6, "(6)(2 3)(4 (1)(5))", "orderedsubject");
}

/* A chain as deep as the mailbox: nothing recurses. */
static void test_deep_chain(void)
{
	enum { N = 200000 };
	struct imap_thread_msg *m = calloc(N, sizeof *m);
	char *ids = malloc((size_t)N * 16);
	for (size_t i = 0; i < N; i++) {
		char *id = ids + i * 16;
		snprintf(id, 16, "%zu@x", i);
		m[i] = (struct imap_thread_msg){.num = (uint32_t)i + 1,
		                                .seq = (uint32_t)i + 1,
		                                .date = (int64_t)i,
		                                .subj = "S",
		                                .subjlen = 1,
		                                .msgid = id,
		                                .msgidlen = strlen(id)};
		if (i > 0) {
			m[i].refs = ids + (i - 1) * 16;
			m[i].refslen = strlen(m[i].refs);
		}
	}
	struct buf b = {0};
	CHECK(imap_thread(IMAP_THREAD_REFERENCES, m, N, &b) == 0 && b.len > 0 && b.data[0] == '(' &&
	          b.data[b.len - 1] == ')',
	      "deep chain");
	buf_free(&b);
	free(m);
	free(ids);
}

/* Many threads at the top level (the radix sort of big sibling sets) in
 * (date, sequence) order: equal dates by sequence, negative dates, and
 * dates too far apart for the radix sort's 32 bits (qsort then). */
static void big_top_level(int64_t spread, const char *what)
{
	enum { N = 3000 };
	struct imap_thread_msg *m = calloc(N, sizeof *m);
	char *ids = malloc((size_t)N * 16), *subj = malloc((size_t)N * 16);
	for (size_t i = 0; i < N; i++) {
		snprintf(ids + i * 16, 16, "%zu@x", i);
		snprintf(subj + i * 16, 16, "s%zu", i);
		/* date order: i % 7 descending, then i ascending among equals */
		m[i] = (struct imap_thread_msg){.num = (uint32_t)i + 1,
		                                .seq = (uint32_t)i + 1,
		                                .date = (int64_t)(6 - i % 7) * spread - 5,
		                                .subj = subj + i * 16,
		                                .subjlen = strlen(subj + i * 16),
		                                .msgid = ids + i * 16,
		                                .msgidlen = strlen(ids + i * 16)};
	}
	struct buf want = {0}, got = {0};
	for (size_t g = 7; g-- > 0;) /* i % 7 == 6 has the least date */
		for (size_t i = 0; i < N; i++)
			if (i % 7 == g)
				buf_printf(&want, "(%zu)", i + 1);
	CHECK(imap_thread(IMAP_THREAD_REFERENCES, m, N, &got) == 0 && got.len == want.len &&
	          memcmp(got.data, want.data, want.len) == 0,
	      "%s", what);
	buf_free(&want);
	buf_free(&got);
	free(m);
	free(ids);
	free(subj);
}

static void test_big_top_level(void)
{
	big_top_level(1, "big top level, close dates");
	big_top_level(INT64_C(1) << 40, "big top level, far dates");
}

int main(void)
{
	test_base_subjects();
	test_collation();
	test_msgids();
	test_sent_time();
	test_record();
	test_threads();
	test_deep_chain();
	test_big_top_level();
	return check_report("test_imap_sort");
}
