/* test_smtp_greet_pass: the table of addresses that waited for the SMTP
 * greeting (proto/smtp/greet_pass.h): passes, their expiry, revocation,
 * address forms, and the bound on memory under a flood of addresses. */
#include "proto/smtp/greet_pass.h"
#include "tests/unit/check.h"

#include <stdio.h>

static void test_basic(void)
{
	struct smtp_greet_pass *p = smtp_greet_pass_new(1000);
	CHECK(p != NULL, "new");
	CHECK(!smtp_greet_pass_check(p, "192.0.2.7", 0), "empty table");
	smtp_greet_pass_grant(p, "192.0.2.7", 1000, 5000);
	CHECK(smtp_greet_pass_check(p, "192.0.2.7", 1000), "granted");
	CHECK(smtp_greet_pass_check(p, "192.0.2.7", 5999), "still valid");
	CHECK(!smtp_greet_pass_check(p, "192.0.2.7", 6000), "expired at until");
	CHECK(!smtp_greet_pass_check(p, "192.0.2.8", 1000), "another address");
	/* IPv4-mapped IPv6 is the IPv4 address */
	CHECK(smtp_greet_pass_check(p, "::ffff:192.0.2.7", 2000), "mapped form");
	smtp_greet_pass_grant(p, "2001:db8::1", 1000, 5000);
	CHECK(smtp_greet_pass_check(p, "2001:0db8:0:0::1", 1000), "ipv6 spelled otherwise");
	CHECK(!smtp_greet_pass_check(p, "2001:db8::2", 1000), "ipv6 neighbour");
	/* a pass runs from when it was earned; earning it again renews it */
	smtp_greet_pass_grant(p, "192.0.2.7", 5000, 5000);
	CHECK(smtp_greet_pass_check(p, "192.0.2.7", 9999), "renewed");
	CHECK(smtp_greet_pass_count(p) == 2, "count %zu", smtp_greet_pass_count(p));
	smtp_greet_pass_revoke(p, "192.0.2.7");
	CHECK(!smtp_greet_pass_check(p, "192.0.2.7", 6000), "revoked");
	CHECK(smtp_greet_pass_count(p) == 1, "count after revoke %zu", smtp_greet_pass_count(p));
	smtp_greet_pass_revoke(p, "192.0.2.7"); /* twice: nothing */
	smtp_greet_pass_revoke(p, "198.51.100.1");
	CHECK(smtp_greet_pass_count(p) == 1, "count after no-op revokes");
	/* nonsense never passes, and ttl 0 grants nothing */
	smtp_greet_pass_grant(p, "not an address", 0, 5000);
	CHECK(!smtp_greet_pass_check(p, "not an address", 0), "unparsable");
	smtp_greet_pass_grant(p, "203.0.113.9", 0, 0);
	CHECK(!smtp_greet_pass_check(p, "203.0.113.9", 0), "ttl 0");
	CHECK(!smtp_greet_pass_check(NULL, "192.0.2.7", 0), "no table");
	smtp_greet_pass_free(&p);
	CHECK(p == NULL, "free clears");
	smtp_greet_pass_free(&p);
}

/* A flood of addresses never takes the table past its limit, and the
 * newest passes are kept: the victims are the oldest. */
static void test_bounded(void)
{
	struct smtp_greet_pass *p = smtp_greet_pass_new(1000);
	char ip[64];
	size_t n = 100000;
	for (size_t i = 0; i < n; i++) {
		snprintf(ip, sizeof ip, "2001:db8::%zx:%zx", i >> 16, i & 0xffff);
		smtp_greet_pass_grant(p, ip, i, 1000000);
	}
	CHECK(smtp_greet_pass_slots(p) == 1024, "slots %zu", smtp_greet_pass_slots(p));
	CHECK(smtp_greet_pass_count(p) <= 1024, "count %zu", smtp_greet_pass_count(p));
	size_t recent = 0;
	for (size_t i = n - 100; i < n; i++) {
		snprintf(ip, sizeof ip, "2001:db8::%zx:%zx", i >> 16, i & 0xffff);
		recent += smtp_greet_pass_check(p, ip, n);
	}
	CHECK(recent >= 95, "the newest passes are kept: %zu of 100", recent);
	size_t old = 0;
	for (size_t i = 0; i < 1000; i++) {
		snprintf(ip, sizeof ip, "2001:db8::%zx:%zx", i >> 16, i & 0xffff);
		old += smtp_greet_pass_check(p, ip, n);
	}
	CHECK(old < 50, "the oldest passes went first: %zu of 1000 left", old);
	smtp_greet_pass_free(&p);

	/* Below the limit the table grows instead of forgetting passes (a
	 * window of 16 full of live passes is all but impossible at this load,
	 * but the hash is seeded at random: a handful may go). */
	p = smtp_greet_pass_new(65536);
	for (size_t i = 0; i < 20000; i++) {
		snprintf(ip, sizeof ip, "10.%zu.%zu.%zu", i >> 16, (i >> 8) & 255, i & 255);
		smtp_greet_pass_grant(p, ip, 0, 1000);
	}
	size_t kept = 0;
	for (size_t i = 0; i < 20000; i++) {
		snprintf(ip, sizeof ip, "10.%zu.%zu.%zu", i >> 16, (i >> 8) & 255, i & 255);
		kept += smtp_greet_pass_check(p, ip, 0);
	}
	CHECK(kept >= 19990, "kept %zu of 20000 in %zu slots", kept, smtp_greet_pass_slots(p));
	CHECK(smtp_greet_pass_slots(p) <= 65536, "slots %zu", smtp_greet_pass_slots(p));
	/* Once they have expired, new addresses reuse their slots. */
	for (size_t i = 0; i < 20000; i++) {
		snprintf(ip, sizeof ip, "172.16.%zu.%zu", (i >> 8) & 255, i & 255);
		smtp_greet_pass_grant(p, ip, 2000, 1000);
	}
	CHECK(smtp_greet_pass_slots(p) <= 65536, "slots after reuse %zu", smtp_greet_pass_slots(p));
	smtp_greet_pass_free(&p);
}

int main(void)
{
	test_basic();
	test_bounded();
	return check_report("test_smtp_greet_pass");
}
