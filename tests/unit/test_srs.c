/* test_srs: the Sender Rewriting Scheme's codec (mailauth/srs.c): what
 * a forwarded message's envelope sender becomes, and whether a bounce to
 * it is taken back (round trips, case, age, forged hashes, SRS1). */
#include "mailauth/srs.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "deliver/srs_key.h"

#include "tests/unit/check.h"

static const unsigned char secret[] = "a secret of the test";
static const struct srs_key key = {secret, sizeof secret - 1};
static const struct srs_key other = {(const unsigned char *)"another", 7};

#define DAY 86400
static const int64_t now = 1796601600; /* 2026-12-07 */

static void test_round_trip(void)
{
	char fwd[SRS_ADDR_MAX], back[SRS_ADDR_MAX];
	CHECK_THAT(srs_forward(&key, "alice@origin.example", "fwd.example", now, fwd, sizeof fwd) ==
	           0);
	CHECK(strncmp(fwd, "SRS0=", 5) == 0, "%s", fwd);
	CHECK(strstr(fwd, "=origin.example=alice@fwd.example") != NULL, "%s", fwd);
	CHECK(strlen(fwd) == strlen("SRS0=HHHH=TT=origin.example=alice@fwd.example"), "%s", fwd);
	CHECK_THAT(srs_reverse(&key, fwd, now, back, sizeof back) == SRS_OK);
	CHECK(strcmp(back, "alice@origin.example") == 0, "%s", back);
	/* a local part with '=' and '+' in it survives */
	CHECK_THAT(srs_forward(&key, "a=b+c@origin.example", "fwd.example", now, fwd, sizeof fwd) ==
	           0);
	CHECK_THAT(srs_reverse(&key, fwd, now, back, sizeof back) == SRS_OK);
	CHECK(strcmp(back, "a=b+c@origin.example") == 0, "%s", back);
}

static void test_case(void)
{
	char fwd[SRS_ADDR_MAX], back[SRS_ADDR_MAX];
	CHECK_THAT(srs_forward(&key, "Alice@Origin.Example", "fwd.example", now, fwd, sizeof fwd) ==
	           0);
	for (char *p = fwd; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	CHECK(strncmp(fwd, "srs0=", 5) == 0, "%s", fwd);
	CHECK_THAT(srs_reverse(&key, fwd, now, back, sizeof back) == SRS_OK);
	CHECK(strcmp(back, "alice@origin.example") == 0, "%s", back);
	for (char *p = fwd; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	CHECK_THAT(srs_reverse(&key, fwd, now, back, sizeof back) == SRS_OK);
}

static void test_expiry(void)
{
	char fwd[SRS_ADDR_MAX], back[SRS_ADDR_MAX];
	CHECK_THAT(srs_forward(&key, "bob@origin.example", "fwd.example", now, fwd, sizeof fwd) ==
	           0);
	CHECK_THAT(srs_reverse(&key, fwd, now + SRS_MAX_AGE_DAYS * DAY, back, sizeof back) ==
	           SRS_OK);
	CHECK_THAT(srs_reverse(&key, fwd, now + (SRS_MAX_AGE_DAYS + 1) * DAY, back, sizeof back) ==
	           SRS_EXPIRED);
	CHECK_THAT(back[0] == '\0');
	/* from the future (a stamp a day ahead) */
	CHECK_THAT(srs_reverse(&key, fwd, now - DAY, back, sizeof back) == SRS_EXPIRED);
	/* the stamp wraps at 1024 days: 1024 days later it looks new again,
	 * as in every SRS implementation; 1030 days is 6 old */
	CHECK_THAT(srs_reverse(&key, fwd, now + 1030 * (int64_t)DAY, back, sizeof back) == SRS_OK);
}

static void test_bad_hash(void)
{
	char fwd[SRS_ADDR_MAX], back[SRS_ADDR_MAX];
	CHECK_THAT(srs_forward(&key, "carol@origin.example", "fwd.example", now, fwd, sizeof fwd) ==
	           0);
	CHECK_THAT(srs_reverse(&other, fwd, now, back, sizeof back) == SRS_BAD_HASH);
	char forged[SRS_ADDR_MAX];
	/* another victim under the same hash and stamp */
	snprintf(forged, sizeof forged, "%.13svictim.example=mallory@fwd.example", fwd);
	CHECK_THAT(srs_reverse(&key, forged, now, back, sizeof back) == SRS_BAD_HASH);
	/* one letter of the hash changed */
	fwd[5] = fwd[5] == 'A' ? 'B' : 'A';
	CHECK_THAT(srs_reverse(&key, fwd, now, back, sizeof back) == SRS_BAD_HASH);
	CHECK_THAT(srs_reverse(&key, "SRS0=AAAA=AA=x.example=y@fwd.example", now, back,
	                       sizeof back) == SRS_BAD_HASH);
	/* malformed ones */
	CHECK_THAT(srs_reverse(&key, "SRS0=AAAA@fwd.example", now, back, sizeof back) ==
	           SRS_MALFORMED);
	CHECK_THAT(srs_reverse(&key, "SRS0=AAAA=A1=x=y@fwd.example", now, back, sizeof back) ==
	           SRS_MALFORMED);
	CHECK_THAT(srs_reverse(&key, "SRS0=AAAA=AA==y@fwd.example", now, back, sizeof back) ==
	           SRS_MALFORMED);
	CHECK_THAT(srs_reverse(&key, "SRS1=AAAA=host@fwd.example", now, back, sizeof back) ==
	           SRS_MALFORMED);
	/* not SRS at all */
	CHECK_THAT(srs_reverse(&key, "alice@fwd.example", now, back, sizeof back) == SRS_NOT_SRS);
	CHECK_THAT(srs_reverse(&key, "SRS2=x@fwd.example", now, back, sizeof back) == SRS_NOT_SRS);
	CHECK_THAT(srs_reverse(&key, "SRS0", now, back, sizeof back) == SRS_NOT_SRS);
	CHECK_THAT(srs_reverse(&key, "", now, back, sizeof back) == SRS_NOT_SRS);
}

static void test_srs1(void)
{
	char first[SRS_ADDR_MAX], second[SRS_ADDR_MAX], third[SRS_ADDR_MAX];
	char back[SRS_ADDR_MAX], orig[SRS_ADDR_MAX];
	const struct srs_key k1 = {(const unsigned char *)"first forwarder", 15};
	CHECK_THAT(
	    srs_forward(&k1, "dave@origin.example", "one.example", now, first, sizeof first) == 0);
	/* we forward what one.example forwarded: SRS1 naming one.example */
	CHECK_THAT(srs_forward(&key, first, "two.example", now, second, sizeof second) == 0);
	CHECK(strncmp(second, "SRS1=", 5) == 0, "%s", second);
	CHECK(strstr(second, "=one.example==") != NULL, "%s", second);
	CHECK(strstr(second, "@two.example") != NULL, "%s", second);
	/* a third forwarder keeps it one level deep, with its own hash */
	CHECK_THAT(srs_forward(&other, second, "three.example", now, third, sizeof third) == 0);
	CHECK(strncmp(third, "SRS1=", 5) == 0 && strstr(third, "=one.example==") != NULL, "%s",
	      third);
	CHECK_THAT(strlen(third) == strlen(second) + 2);
	/* each reverses to the first forwarder's SRS0, which it decodes */
	CHECK_THAT(srs_reverse(&key, second, now, back, sizeof back) == SRS_OK);
	CHECK(strcmp(back, first) == 0, "%s vs %s", back, first);
	CHECK_THAT(srs_reverse(&other, third, now, back, sizeof back) == SRS_OK);
	CHECK(strcmp(back, first) == 0, "%s vs %s", back, first);
	CHECK_THAT(srs_reverse(&key, third, now, back, sizeof back) == SRS_BAD_HASH);
	CHECK_THAT(srs_reverse(&k1, first, now, orig, sizeof orig) == SRS_OK);
	CHECK(strcmp(orig, "dave@origin.example") == 0, "%s", orig);
}

static void test_limits(void)
{
	char fwd[SRS_ADDR_MAX], small[20];
	CHECK_THAT(srs_forward(&key, "", "fwd.example", now, fwd, sizeof fwd) == -EINVAL);
	CHECK_THAT(srs_forward(&key, "noat", "fwd.example", now, fwd, sizeof fwd) == -EINVAL);
	CHECK_THAT(srs_forward(&key, "@x", "fwd.example", now, fwd, sizeof fwd) == -EINVAL);
	CHECK_THAT(srs_forward(&key, "x@", "fwd.example", now, fwd, sizeof fwd) == -EINVAL);
	CHECK_THAT(srs_forward(&key, "a@b.example", "fwd.example", now, small, sizeof small) ==
	           -ENAMETOOLONG);
	/* the local part made stays within RFC 5321's 64 octets: 36 + 28 */
	char sender[100];
	snprintf(sender, sizeof sender, "%036d@origin.example", 0);
	CHECK_THAT(srs_forward(&key, sender, "fwd.example", now, fwd, sizeof fwd) == 0);
	CHECK_THAT(strchr(fwd, '@') - fwd == SRS_LOCAL_MAX);
	snprintf(sender, sizeof sender, "%037d@origin.example", 0);
	CHECK_THAT(srs_forward(&key, sender, "fwd.example", now, fwd, sizeof fwd) == -ENAMETOOLONG);
	char longer[SRS_ADDR_MAX];
	memset(longer, 'a', 300);
	snprintf(longer + 300, sizeof longer - 300, "@%0190d.example", 0);
	CHECK_THAT(srs_forward(&key, longer, "fwd.example", now, fwd, sizeof fwd) == -ENAMETOOLONG);
}

/* deliver/srs_key.c: made once into the data dir, the same after a
 * restart, the config's secret first, a damaged file refused. */
static void test_key_file(void)
{
	char dir[] = "/tmp/tern-srs-XXXXXX";
	CHECK_THAT(mkdtemp(dir) != NULL);
	char err[300], path[400], fwd[SRS_ADDR_MAX], back[SRS_ADDR_MAX];
	snprintf(path, sizeof path, "%s/srs.secret", dir);
	srs_key_set(NULL, 0);
	CHECK_THAT(srs_key_get() == NULL);
	CHECK(srs_key_load("", dir, err, sizeof err) == 0, "%s", err);
	struct stat st;
	CHECK_THAT(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_size == 65);
	CHECK_THAT(srs_key_get() != NULL && srs_key_get()->len == 64);
	CHECK_THAT(srs_forward(srs_key_get(), "a@b.example", "fwd.example", now, fwd, sizeof fwd) ==
	           0);
	srs_key_set(NULL, 0);
	CHECK(srs_key_load(NULL, dir, err, sizeof err) == 0, "%s", err); /* a restart */
	CHECK_THAT(srs_reverse(srs_key_get(), fwd, now, back, sizeof back) == SRS_OK);
	CHECK_THAT(srs_key_load("configured secret", dir, err, sizeof err) == 0);
	CHECK_THAT(srs_reverse(srs_key_get(), fwd, now, back, sizeof back) == SRS_BAD_HASH);
	FILE *f = fopen(path, "w");
	if (f) {
		fputs("short\n", f);
		fclose(f);
	}
	srs_key_set(NULL, 0);
	CHECK_THAT(srs_key_load(NULL, dir, err, sizeof err) == -1 && strstr(err, "too short"));
	CHECK_THAT(srs_key_get() == NULL);
	/* without a key every SRS address is refused, others are not SRS */
	CHECK_THAT(srs_reverse(NULL, fwd, now, back, sizeof back) == SRS_BAD_HASH);
	CHECK_THAT(srs_reverse(NULL, "a@b.example", now, back, sizeof back) == SRS_NOT_SRS);
	check_remove_dir(dir);
}

int main(void)
{
	test_round_trip();
	test_case();
	test_expiry();
	test_bad_hash();
	test_srs1();
	test_limits();
	test_key_file();
	return check_report("test_srs");
}
