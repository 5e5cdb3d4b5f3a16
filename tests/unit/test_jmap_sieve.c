/* test_jmap_sieve: the ids of JMAP for Sieve (proto/jmap/sieve_script_id.c)
 * and sieve_check (sieve/check.c): a name's id and back for names of every
 * length (base64url's three tails), one id per name (non-canonical
 * encodings, padding, '+' '/' and bad names refused), the blob id's form;
 * and the check's answers: empty, too big, a compile error with
 * "LINE:COL", a good script. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "proto/jmap/sieve_script.h"
#include "sieve/sieve.h"

static void round_trip(const char *name, const char *want_id)
{
	char id[JMAP_SIEVE_ID_MAX], back[STORE_SIEVE_NAME_MAX + 1];
	jmap_sieve_id(name, id);
	CHECK(!want_id || strcmp(id, want_id) == 0, "id of '%s': %s", name, id);
	CHECK(jmap_sieve_id_name(id, back) && strcmp(back, name) == 0, "back from %s", id);
}

int main(void)
{
	round_trip("a", "SYQ");
	round_trip("ab", "SYWI");
	round_trip("abc", "SYWJj");
	round_trip("my script", "SbXkgc2NyaXB0");
	round_trip("\xc3\xa9t\xc3\xa9 ~?>", NULL); /* '-' and '_' of the alphabet */
	char longest[STORE_SIEVE_NAME_MAX + 1];
	memset(longest, 'x', STORE_SIEVE_NAME_MAX);
	longest[STORE_SIEVE_NAME_MAX] = '\0';
	round_trip(longest, NULL);

	char name[STORE_SIEVE_NAME_MAX + 1];
	static const char *const bad[] = {
	    "",      "S",     "YQ",   /* no prefix */
	    "SYR",                    /* the last char's spare bits set: not canonical */
	    "SYQ==",                  /* padding */
	    "SY",                     /* one char: no byte */
	    "S+/8",  "SYQ.1", "S YQ", /* not the alphabet */
	    "SYS9i",                  /* "a/b": not a script name */
	    "SAA",                    /* a NUL byte */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(!jmap_sieve_id_name(bad[i], name), "'%s' is not a script id", bad[i]);
	memset(longest, 'A', sizeof longest - 1); /* 128 chars: 96 bytes of NUL */
	CHECK(!jmap_sieve_id_name(longest, name), "NUL bytes");
	char too_long[400] = "S";
	memset(too_long + 1, 'e', 200);
	CHECK(!jmap_sieve_id_name(too_long, name), "a name over 128 bytes");

	char blob[JMAP_SIEVE_ID_MAX];
	jmap_sieve_blob_id("a", 1765100000, blob);
	CHECK(strcmp(blob, "ZYQ.1765100000") == 0, "blob id %s", blob);

	char err[256];
	CHECK(sieve_check("", 0, err, sizeof err) == -ENODATA, "empty");
	static char big[STORE_SIEVE_SCRIPT_MAX + 2];
	memset(big, '#', sizeof big - 1);
	CHECK(sieve_check(big, sizeof big - 1, err, sizeof err) == -EFBIG, "too big");
	static const char bad_script[] = "require \"fileinto\";\nif true {\n  fileinto \"x\"\n}\n";
	CHECK(sieve_check(bad_script, sizeof bad_script - 1, err, sizeof err) == -EINVAL &&
	          strncmp(err, "4:1: ", 5) == 0,
	      "compile error: %s", err);
	CHECK(sieve_check("keep;", 5, err, sizeof err) == 0, "a good one");
	return check_report("test_jmap_sieve");
}
