/* test_imap_search_parse: the SEARCH key grammar (proto/imap/search_keys.c)
 * from commands parsed by the real IMAP parser one byte at a time, and the
 * evaluation of parsed keys against hand-made messages. */
#include "imap_msg_testutil.h"

#include "proto/imap/search_keys.h"
#include "proto/imap/dates.h"
#include "store/entries.h"
#include "store/mail.h"

#include <errno.h>

static int search(const char *line, struct imap_cmd **cmdp, struct imap_search *q)
{
	const char *err;
	struct imap_cmd *cmd = parse_cmd(line);
	*cmdp = cmd;
	if (!cmd)
		return -100;
	return imap_search_parse(cmd->args, cmd->nargs, &cmd->arena, q, &err);
}

static void done(struct imap_cmd **c)
{
	if (*c)
		imap_cmd_free(c);
}

/* Parse, then match against m. -1 on parse failure. */
static int match(const char *line, const struct imap_search_msg *m)
{
	struct imap_cmd *c;
	struct imap_search q;
	int r = search(line, &c, &q);
	if (r < 0) {
		done(&c);
		return -1;
	}
	/* the header prefilters as the FTS index would answer them: the
	 * message is a candidate when its header text holds the needle */
	uint32_t uid = m->uid;
	for (size_t i = 0; i < q.nfts; i++)
		if (q.fts[i].scope == STORE_FTS_HEADERS && m->headers &&
		    imap_search_substr(m->headers, strlen(m->headers), q.fts[i].needle,
		                       q.fts[i].len)) {
			q.fts[i].uids = &uid;
			q.fts[i].n = 1;
		}
	r = imap_search_match(&q, q.root, m);
	done(&c);
	return r;
}

int main(void)
{
	struct imap_cmd *c;
	struct imap_search q;

	CHECK(search("a SEARCH ALL", &c, &q) == 0 && q.root->kind == IMAP_SK_ALL, "ALL");
	done(&c);
	{
		/* RFC 8474 EMAILID/THREADID, RFC 8514 SAVED* (days: 2015-01-01 = 16436) */
		struct imap_search_msg m = {.seq = 1,
		                            .uid = 1,
		                            .email_id = 42,
		                            .thread_id = 7,
		                            .save_day = 16436,
		                            .internal_day = 1};
		CHECK(match("a SEARCH EMAILID M42", &m) == 1, "EMAILID");
		CHECK(match("a SEARCH EMAILID M43", &m) == 0, "other EMAILID");
		CHECK(match("a SEARCH EMAILID T42", &m) == 0, "a THREADID is no EMAILID");
		CHECK(match("a SEARCH THREADID T7", &m) == 1, "THREADID");
		CHECK(match("a SEARCH THREADID t7", &m) == 0, "ids are case-sensitive");
		CHECK(match("a SEARCH EMAILID M4.2", &m) == -1, "not an objectid");
		CHECK(match("a SEARCH EMAILID", &m) == -1, "no objectid");
		CHECK(match("a SEARCH SAVEDON 1-Jan-2015", &m) == 1, "SAVEDON");
		CHECK(match("a SEARCH SAVEDSINCE 2-Jan-2015", &m) == 0, "SAVEDSINCE");
		CHECK(match("a SEARCH SAVEDBEFORE 2-Jan-2015", &m) == 1, "SAVEDBEFORE");
		CHECK(match("a SEARCH SAVEDATESUPPORTED", &m) == 1, "SAVEDATESUPPORTED");
		CHECK(match("a SEARCH SAVEDON", &m) == -1, "SAVEDON needs a date");
		CHECK(match("a SEARCH SAVEDON 1-Foo-2015", &m) == -1, "SAVEDON bad date");
	}
	CHECK(search("a SEARCH UNSEEN FLAGGED", &c, &q) == 0 && q.root->kind == IMAP_SK_AND &&
	          q.root->nkids == 2 && q.root->kids[0]->neg,
	      "implicit AND");
	done(&c);
	CHECK(search("a SEARCH OR (SEEN FLAGGED) NOT DELETED", &c, &q) == 0 &&
	          q.root->kind == IMAP_SK_OR && q.root->kids[0]->kind == IMAP_SK_AND &&
	          q.root->kids[1]->kind == IMAP_SK_NOT,
	      "OR/NOT/list");
	done(&c);
	CHECK(search("a SEARCH RETURN (MIN MAX COUNT) CHARSET UTF-8 BODY \"hello world\"", &c,
	             &q) == 0 &&
	          q.esearch &&
	          q.ret == (IMAP_SEARCH_RET_MIN | IMAP_SEARCH_RET_MAX | IMAP_SEARCH_RET_COUNT) &&
	          q.nfts == 1 && q.fts[0].scope == STORE_FTS_BODY &&
	          strcmp(q.fts[0].needle, "hello world") == 0,
	      "RETURN CHARSET BODY");
	done(&c);
	CHECK(search("a SEARCH RETURN () TEXT {5+}\r\nhello", &c, &q) == 0 &&
	          q.ret == IMAP_SEARCH_RET_ALL && q.nfts == 1 && q.fts[0].scope == STORE_FTS_TEXT &&
	          q.fts[0].len == 5,
	      "RETURN () and literal");
	done(&c);
	CHECK(search("a SEARCH FROM alice SUBJECT ab HEADER X-Tag \"long enough\"", &c, &q) == 0 &&
	          q.nfts == 2 && q.fts[0].scope == STORE_FTS_HEADERS &&
	          strcmp(q.fts[0].needle, "alice") == 0 && q.root->kids[0]->fts == 0 &&
	          q.root->kids[1]->fts == -1 && q.root->kids[2]->fts == 1 &&
	          (imap_search_needs(q.root) & IMAP_NEED_HEADERS),
	      "header keys of 3+ characters get an FTS prefilter");
	done(&c);
	CHECK(search("a SEARCH CHARSET KOI8-R ALL", &c, &q) == -ENOTSUP, "bad charset");
	done(&c);
	CHECK(search("a SEARCH 1:5,7 UID 2:*", &c, &q) == 0 && q.has_seqset &&
	          q.root->kids[0]->kind == IMAP_SK_SEQ && q.root->kids[1]->kind == IMAP_SK_UID,
	      "sets");
	done(&c);
	CHECK(search("a SEARCH $", &c, &q) == 0 && q.root->kind == IMAP_SK_SEQ &&
	          q.root->set.dollar,
	      "$");
	done(&c);
	CHECK(search("a SEARCH MODSEQ 123", &c, &q) == 0 && q.has_modseq && q.root->num == 123,
	      "MODSEQ");
	done(&c);
	CHECK(search("a SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338", &c, &q) == 0 &&
	          q.root->num == 620162338,
	      "MODSEQ entry");
	done(&c);
	CHECK(search("a SEARCH HEADER X-Mailer \"\" FROM bob SUBJECT {3+}\r\nabc", &c, &q) == 0 &&
	          (imap_search_needs(q.root) & IMAP_NEED_HEADERS) && q.root->nkids == 3,
	      "headers");
	done(&c);
	CHECK(search("a SEARCH SINCE 1-Feb-1994 SENTBEFORE \"5-Mar-2020\" LARGER 10 SMALLER 99", &c,
	             &q) == 0,
	      "dates and sizes");
	done(&c);
	CHECK(search("a SEARCH KEYWORD $Forwarded UNKEYWORD Junk", &c, &q) == 0, "keywords");
	done(&c);

	/* errors */
	const char *bad[] = {
	    "a SEARCH",
	    "a SEARCH BOGUS",
	    "a SEARCH SINCE 32-Jan-2000",
	    "a SEARCH SINCE",
	    "a SEARCH OR SEEN",
	    "a SEARCH NOT",
	    "a SEARCH LARGER x",
	    "a SEARCH KEYWORD \\Seen",
	    "a SEARCH HEADER \"\" x",
	    "a SEARCH RETURN (BOGUS) ALL",
	    "a SEARCH RETURN ALL",
	    "a SEARCH UID x",
	    "a SEARCH ()",
	    "a SEARCH 0",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int r = search(bad[i], &c, &q);
		CHECK(r == -EINVAL || r == -100, "must fail: %s (%d)", bad[i], r);
		done(&c);
	}
	/* nesting is bounded */
	char deep[4096] = "a SEARCH ";
	for (int i = 0; i < 200; i++)
		strcat(deep, "NOT ");
	strcat(deep, "ALL");
	CHECK(search(deep, &c, &q) == -EINVAL, "deep NOT");
	done(&c);

	/* evaluation */
	struct imap_search_msg m = {
	    .seq = 3,
	    .uid = 10,
	    .flags = STORE_FLAG_SEEN | STORE_FLAG_FLAGGED,
	    .keywords = "$Forwarded Work",
	    .size = 1500,
	    .internal_day = imap_days_from_civil(2024, 3, 15),
	    .sent_day = imap_days_from_civil(2024, 3, 14),
	    .modseq = 50,
	    .headers = "From: Alice <alice@example.org>\nSubject: Quarterly Report\nX-Empty: \n",
	};
	CHECK(match("a SEARCH SEEN", &m) == 1, "SEEN");
	CHECK(match("a SEARCH UNSEEN", &m) == 0, "UNSEEN");
	CHECK(match("a SEARCH NOT DELETED FLAGGED", &m) == 1, "NOT DELETED FLAGGED");
	CHECK(match("a SEARCH OR DELETED DRAFT", &m) == 0, "OR false");
	CHECK(match("a SEARCH OR DELETED (SEEN FLAGGED)", &m) == 1, "OR true");
	CHECK(match("a SEARCH KEYWORD work", &m) == 1, "keyword case-insensitive");
	CHECK(match("a SEARCH UNKEYWORD $Forwarded", &m) == 0, "UNKEYWORD");
	/* NIL is a keyword to the grammar (flag-keyword = atom) */
	CHECK(match("a SEARCH KEYWORD NIL", &m) == 0, "KEYWORD NIL parses");
	CHECK(match("a SEARCH UNKEYWORD nil", &m) == 1, "UNKEYWORD nil parses");
	m.keywords = "$Forwarded Work Nil";
	CHECK(match("a SEARCH KEYWORD NIL", &m) == 1, "KEYWORD NIL matches Nil");
	m.keywords = "$Forwarded Work";
	CHECK(match("a SEARCH LARGER 1499 SMALLER 1501", &m) == 1, "sizes");
	CHECK(match("a SEARCH LARGER 1500", &m) == 0, "LARGER strict");
	CHECK(match("a SEARCH ON 15-Mar-2024", &m) == 1, "ON");
	CHECK(match("a SEARCH BEFORE 15-Mar-2024", &m) == 0, "BEFORE strict");
	CHECK(match("a SEARCH SINCE 15-Mar-2024", &m) == 1, "SINCE inclusive");
	CHECK(match("a SEARCH SENTON 14-Mar-2024", &m) == 1, "SENTON");
	CHECK(match("a SEARCH SENTSINCE 15-Mar-2024", &m) == 0, "SENTSINCE");
	CHECK(match("a SEARCH FROM ALICE@example", &m) == 1, "FROM substring");
	CHECK(match("a SEARCH SUBJECT \"quarterly rep\"", &m) == 1, "SUBJECT");
	CHECK(match("a SEARCH TO alice", &m) == 0, "no To");
	m.uid = 11; /* not in any FTS list: the prefilter rules it out */
	struct imap_search_msg m2 = m;
	m2.headers = "Subject: other\n";
	CHECK(match("a SEARCH FROM alice", &m2) == 0, "prefilter: not a candidate");
	CHECK(match("a SEARCH NOT FROM alice", &m2) == 1, "prefilter under NOT");
	CHECK(match("a SEARCH FROM al", &m) == 1, "short needle: no prefilter");
	m.uid = 10;
	CHECK(match("a SEARCH HEADER X-Empty \"\"", &m) == 1, "present header");
	CHECK(match("a SEARCH HEADER X-Missing \"\"", &m) == 0, "missing header");
	CHECK(match("a SEARCH MODSEQ 50", &m) == 1, "MODSEQ >=");
	CHECK(match("a SEARCH MODSEQ 51", &m) == 0, "MODSEQ <");
	CHECK(match("a SEARCH NEW", &m) == 0, "NEW");
	CHECK(match("a SEARCH OLD", &m) == 1, "OLD");

	CHECK(imap_search_substr("Hello World", 11, "o w", 3), "substr");
	CHECK(!imap_search_substr("Hello", 5, "hello!", 6), "substr longer");
	CHECK(imap_search_substr("", 0, "", 0), "empty needle");

	/* WITHIN (RFC 5032): now - interval, inclusive both ways */
	{
		struct imap_search_msg w = m;
		w.internal_date = 1000000;
		const char *keys[][2] = {
		    {"a SEARCH OLDER 100", "1"},   {"a SEARCH OLDER 101", "0"},
		    {"a SEARCH YOUNGER 100", "1"}, {"a SEARCH YOUNGER 99", "0"},
		    {"a SEARCH OLDER 99", "1"},    {"a SEARCH YOUNGER 4294967295", "1"},
		};
		for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
			CHECK(search(keys[i][0], &c, &q) == 0, "parse %s", keys[i][0]);
			q.now = 1000100;
			CHECK(imap_search_match(&q, q.root, &w) == (keys[i][1][0] == '1'), "%s",
			      keys[i][0]);
			done(&c);
		}
		const char *badw[] = {"a SEARCH OLDER 0", "a SEARCH YOUNGER", "a SEARCH OLDER -1",
		                      "a SEARCH YOUNGER 4294967296", "a SEARCH OLDER x"};
		for (size_t i = 0; i < sizeof badw / sizeof badw[0]; i++) {
			CHECK(search(badw[i], &c, &q) == -EINVAL, "must fail: %s", badw[i]);
			done(&c);
		}
	}
	/* RETURN options: PARTIAL, and what combines */
	CHECK(search("a SEARCH RETURN (PARTIAL -1:-50 COUNT) ALL", &c, &q) == 0 &&
	          q.ret == (IMAP_SEARCH_RET_PARTIAL | IMAP_SEARCH_RET_COUNT) &&
	          q.partial.from_end && q.partial.hi == 50,
	      "RETURN PARTIAL");
	done(&c);
	CHECK(search("a SEARCH RETURN (SAVE) ALL", &c, &q) == 0 && q.ret == IMAP_SEARCH_RET_SAVE,
	      "SAVE alone asks for no data");
	done(&c);
	CHECK(search("a SEARCH RETURN () ALL", &c, &q) == 0 && q.ret == IMAP_SEARCH_RET_ALL,
	      "RETURN () is ALL");
	done(&c);
	{
		const char *badr[] = {"a SEARCH RETURN (PARTIAL 1:5 ALL) ALL",
		                      "a SEARCH RETURN (PARTIAL 1:5 PARTIAL 1:5) ALL",
		                      "a SEARCH RETURN (PARTIAL) ALL",
		                      "a SEARCH RETURN (PARTIAL 0:1) ALL",
		                      "a SEARCH RETURN (PARTIAL (1:2)) ALL"};
		for (size_t i = 0; i < sizeof badr / sizeof badr[0]; i++) {
			CHECK(search(badr[i], &c, &q) == -EINVAL, "must fail: %s", badr[i]);
			done(&c);
		}
	}

	printf("test_imap_search_parse: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
