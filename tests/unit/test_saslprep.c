/* Unit tests for lib/saslprep: the examples of RFC 4013 §3, each mapping
 * and check of §2, queries against stored strings, and bad input. */
#include "lib/saslprep.h"

#include <stdio.h>
#include <string.h>

static int failures, checks;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		checks++;                                                                          \
		if (!(cond)) {                                                                     \
			failures++;                                                                \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
		}                                                                                  \
	} while (0)

/* Prepare in as use; the result if it is want (NULL: expect error err). */
static void expect(const char *in, enum saslprep_use use, const char *want, int err, int line)
{
	char *out = (char *)1;
	size_t out_len = 99;
	int rc = saslprep(in, strlen(in), use, &out, &out_len);
	checks++;
	if (want ? rc != SASLPREP_OK || out_len != strlen(want) || memcmp(out, want, out_len) != 0
	         : rc != err || out != NULL) {
		failures++;
		fprintf(stderr, "line %d: saslprep(\"%s\") = %d (%s) \"%s\", want %s%s\n", line, in,
		        rc, saslprep_strerror(rc), rc == SASLPREP_OK ? out : "",
		        want ? want : "error ", want ? "" : saslprep_strerror(err));
	}
	if (rc == SASLPREP_OK)
		CHECK(out[out_len] == '\0');
	saslprep_free(rc == SASLPREP_OK ? out : NULL, out_len);
}

#define OK(in, want) expect(in, SASLPREP_QUERY, want, 0, __LINE__)
#define OK_STORED(in, want) expect(in, SASLPREP_STORED, want, 0, __LINE__)
#define FAIL(in, err) expect(in, SASLPREP_QUERY, NULL, err, __LINE__)
#define FAIL_STORED(in, err) expect(in, SASLPREP_STORED, NULL, err, __LINE__)

static void test_rfc4013_examples(void)
{
	/* RFC 4013 §3 */
	OK("I\xC2\xADX", "IX");             /* SOFT HYPHEN mapped to nothing */
	OK("user", "user");                 /* no transformation */
	OK("USER", "USER");                 /* case preserved */
	OK("\xC2\xAA", "a");                /* U+00AA: NFKC */
	OK("\xE2\x85\xA8", "IX");           /* U+2168: NFKC */
	FAIL("\x07", SASLPREP_EPROHIBITED); /* U+0007 */
	FAIL("\xD8\xA7"
	     "1",
	     SASLPREP_EBIDI); /* U+0627 U+0031 */
	/* the same, as stored strings */
	OK_STORED("I\xC2\xADX", "IX");
	OK_STORED("\xE2\x85\xA8", "IX");
	FAIL_STORED("\x07", SASLPREP_EPROHIBITED);
}

static void test_mapping(void)
{
	/* C.1.2 non-ASCII spaces become U+0020 */
	OK("a\xC2\xA0"
	   "b",
	   "a b"); /* U+00A0 NO-BREAK SPACE */
	OK("a\xE2\x80\x83"
	   "b",
	   "a b"); /* U+2003 EM SPACE */
	OK("a\xE3\x80\x80"
	   "b",
	   "a b");        /* U+3000 IDEOGRAPHIC SPACE */
	OK("a b", "a b"); /* ASCII space stays */
	/* B.1 to nothing */
	OK("a\xE2\x80\x8B"
	   "b",
	   "ab"); /* U+200B ZERO WIDTH SPACE */
	OK("a\xEF\xBB\xBF"
	   "b",
	   "ab"); /* U+FEFF */
	OK("a\xEF\xB8\x8F"
	   "b",
	   "ab"); /* U+FE0F VARIATION SELECTOR-16 */
	OK("a\xE1\xA0\x86"
	   "b",
	   "ab"); /* U+1806 MONGOLIAN TODO SOFT HYPHEN */
	/* NFKC: decomposed and composed accents meet */
	OK("cafe\xCC\x81", "caf\xC3\xA9"); /* e + U+0301 -> U+00E9 */
	OK("caf\xC3\xA9", "caf\xC3\xA9");
	OK("\xEF\xAC\x81", "fi"); /* U+FB01 LATIN SMALL LIGATURE FI */
	OK("\xEF\xBC\xA1", "A");  /* U+FF21 FULLWIDTH A */
	OK("pa\xC2\xADss\xE2\x85\xA8w\xC3\xB6rd", "passIXw\xC3\xB6rd");
	/* the fast path copies printable ASCII as it is */
	OK("Pencil ~!@#$%^&*()_+{}|:\"<>?", "Pencil ~!@#$%^&*()_+{}|:\"<>?");
}

static void test_prohibited(void)
{
	FAIL("a\x7F", SASLPREP_EPROHIBITED);             /* C.2.1 DEL */
	FAIL("a\tb", SASLPREP_EPROHIBITED);              /* C.2.1 TAB */
	FAIL("a\xC2\x85", SASLPREP_EPROHIBITED);         /* C.2.2 U+0085 */
	FAIL("a\xE2\x80\x8E", SASLPREP_EPROHIBITED);     /* C.8 U+200E LRM */
	FAIL("a\xEE\x80\x80", SASLPREP_EPROHIBITED);     /* C.3 U+E000 private use */
	FAIL("a\xEF\xBF\xBE", SASLPREP_EPROHIBITED);     /* C.4 U+FFFE */
	FAIL("a\xEF\xBF\xBD", SASLPREP_EPROHIBITED);     /* C.6 U+FFFD */
	FAIL("a\xE2\xBF\xB0", SASLPREP_EPROHIBITED);     /* C.7 U+2FF0 */
	FAIL("a\xF3\xA0\x80\x81", SASLPREP_EPROHIBITED); /* C.9 U+E0001 tag */
	FAIL("a\xF0\x9D\x85\xB3", SASLPREP_EPROHIBITED); /* C.2.2 U+1D173 */
}

static void test_bidi(void)
{
	OK("\xD8\xA7\xD8\xA8", "\xD8\xA7\xD8\xA8"); /* all AL */
	OK("\xD8\xA7"
	   "1\xD8\xA8",
	   "\xD8\xA7"
	   "1\xD8\xA8");                   /* AL, digit, AL */
	FAIL("1\xD8\xA7", SASLPREP_EBIDI); /* RandAL not first */
	FAIL("\xD8\xA7"
	     "a\xD8\xA8",
	     SASLPREP_EBIDI); /* RandAL and L */
	FAIL("\xD7\x90"
	     "a",
	     SASLPREP_EBIDI); /* Hebrew then L */
}

static void test_unassigned(void)
{
	/* U+0221 is unassigned in Unicode 3.2 (assigned in 4.0) */
	OK("a\xC8\xA1", "a\xC8\xA1");
	FAIL_STORED("a\xC8\xA1", SASLPREP_EUNASSIGNED);
	/* U+50000 unassigned everywhere */
	OK("a\xF1\x90\x80\x80", "a\xF1\x90\x80\x80");
	FAIL_STORED("a\xF1\x90\x80\x80", SASLPREP_EUNASSIGNED);
}

static void test_bad_input(void)
{
	char *out;
	size_t n;
	FAIL("a\xC3", SASLPREP_EUTF8);         /* truncated */
	FAIL("a\xC0\xAF", SASLPREP_EUTF8);     /* overlong */
	FAIL("a\xED\xA0\x80", SASLPREP_EUTF8); /* a surrogate */
	FAIL("a\xFF", SASLPREP_EUTF8);
	CHECK(saslprep("a\0\xC3\xA9", 4, SASLPREP_QUERY, &out, &n) == SASLPREP_EUTF8 && !out);
	/* empty, before or after the mapping (RFC 5802 §5.1: abort) */
	FAIL("", SASLPREP_EEMPTY);
	FAIL("\xC2\xAD", SASLPREP_EEMPTY);
	FAIL("\xE2\x80\x8B\xC2\xAD", SASLPREP_EEMPTY);
	FAIL_STORED("\xC2\xAD", SASLPREP_EEMPTY);
	/* bounded input; the NFKC expansion is allocated as needed */
	static char big[SASLPREP_IN_MAX + 4];
	memset(big, 'a', sizeof big);
	CHECK(saslprep(big, SASLPREP_IN_MAX + 1, SASLPREP_QUERY, &out, &n) == SASLPREP_ETOOLONG);
	/* U+FDFA (3 bytes) expands to 18 code points, 33 bytes */
	for (size_t i = 0; i + 3 <= SASLPREP_IN_MAX; i += 3)
		memcpy(big + i, "\xEF\xB7\xBA", 3);
	size_t len = SASLPREP_IN_MAX / 3 * 3;
	int rc = saslprep(big, len, SASLPREP_QUERY, &out, &n);
	CHECK(rc == SASLPREP_EBIDI || rc == SASLPREP_OK); /* AL letters and spaces */
	if (rc == SASLPREP_OK) {
		CHECK(n == len / 3 * 33);
		saslprep_free(out, n);
	}
	CHECK(saslprep("\xEF\xB7\xBA", 3, SASLPREP_QUERY, &out, &n) == SASLPREP_OK && n == 33);
	saslprep_free(out, n);
}

int main(void)
{
	test_rfc4013_examples();
	test_mapping();
	test_prohibited();
	test_bidi();
	test_unassigned();
	test_bad_input();
	printf("test_saslprep: %d checks, %d failures\n", checks, failures);
	return failures ? 1 : 0;
}
