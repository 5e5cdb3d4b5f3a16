/* test_throttle: the two guess budgets of auth/throttle.c, on an explicit
 * clock: networks (IPv6 by /64), attempts charged when they start,
 * refunds, the per-account slowdown and the owner's known networks. */
#include "auth/auth.h"
#include "auth/throttle.h"

#include <stdio.h>
#include <string.h>

#include "check.h"

static const struct auth_settings settings = {
    .fail_delay_ms = 100,
    .fail_max_delay_ms = 400,
    .fail_limit = 20,
    .fail_window = 600,
    .account_fail_limit = 5,
    .account_fail_interval_ms = 1000,
    .domain = "example.test",
};

static void test_networks(void)
{
	char n[THROTTLE_NET_MAX];
	throttle_network("192.0.2.7", n, sizeof n);
	CHECK(strcmp(n, "192.0.2.7") == 0, "v4: %s", n);
	throttle_network("::ffff:192.0.2.7", n, sizeof n);
	CHECK(strcmp(n, "192.0.2.7") == 0, "mapped v4: %s", n);
	throttle_network("2001:db8:0:1:ffff:1:2:3", n, sizeof n);
	CHECK(strcmp(n, "2001:db8:0:1::/64") == 0, "v6 /64: %s", n);
	char m[THROTTLE_NET_MAX];
	throttle_network("2001:db8:0:1::9", m, sizeof m);
	CHECK(strcmp(n, m) == 0, "one /64, one network: %s %s", n, m);
	throttle_network("2001:db8:0:2::9", m, sizeof m);
	CHECK(strcmp(n, m) != 0, "another /64: %s", m);
	throttle_network("not an address", n, sizeof n);
	CHECK(strcmp(n, "not an address") == 0, "kept as it is: %s", n);
}

/* Parallel guesses: each is charged when it starts, so the 21st is
 * refused even though none has finished. */
static void test_charged_at_start(void)
{
	struct throttle *t = throttle_new(&settings);
	int go = 0, refused = 0;
	for (int i = 0; i < 150; i++) {
		char acct[64];
		snprintf(acct, sizeof acct, "user%d@example.test", i); /* no account budget */
		if (throttle_begin(t, "198.51.100.1", acct, 1000) == THROTTLE_GO)
			go++;
		else
			refused++;
	}
	CHECK(go == 20 && refused == 130, "go %d refused %d", go, refused);
	/* IPv6: every address of the /64 is the same client. */
	go = 0;
	for (int i = 0; i < 40; i++) {
		char ip[64], acct[64];
		snprintf(ip, sizeof ip, "2001:db8::%x", i + 1);
		snprintf(acct, sizeof acct, "v6user%d@example.test", i);
		go += throttle_begin(t, ip, acct, 1000) == THROTTLE_GO;
	}
	CHECK(go == 20, "one budget per /64: %d", go);
	/* The window passes: the network may try again. */
	CHECK(throttle_begin(t, "198.51.100.1", "late@example.test", 1000 + 600001) == THROTTLE_GO,
	      "after the window");
	throttle_free(&t);
	CHECK(t == NULL, "freed");
}

static void test_refund_and_delay(void)
{
	struct throttle *t = throttle_new(&settings);
	const char *ip = "203.0.113.5", *a = "alice@example.test";
	/* 30 logins that succeed never throttle (each charge is refunded). */
	for (int i = 0; i < 30; i++) {
		CHECK(throttle_begin(t, ip, a, 1000 + (uint64_t)i) == THROTTLE_GO, "login %d", i);
		CHECK(throttle_end(t, ip, a, true, 1000 + (uint64_t)i) == 0, "no delay on success");
	}
	/* Failures wait longer each time: 100, 200, 400, 400. */
	uint64_t d[4];
	for (int i = 0; i < 4; i++) {
		CHECK(throttle_begin(t, ip, "bob@example.test", 2000) == THROTTLE_GO, "guess %d",
		      i);
		d[i] = throttle_end(t, ip, "bob@example.test", false, 2000);
	}
	CHECK(d[0] == 100 && d[1] == 200 && d[2] == 400 && d[3] == 400,
	      "delays %llu %llu %llu %llu", (unsigned long long)d[0], (unsigned long long)d[1],
	      (unsigned long long)d[2], (unsigned long long)d[3]);
	/* A check that could not run is refunded and teaches nothing. */
	CHECK(throttle_begin(t, "203.0.113.99", "carol@example.test", 3000) == THROTTLE_GO,
	      "begin");
	throttle_cancel(t, "203.0.113.99", "carol@example.test", 3000);
	throttle_free(&t);
}

/* Rotating addresses against one account: past its budget, one guess a
 * second from unknown networks; its owner's network is never held back. */
static void test_account_budget(void)
{
	struct throttle *t = throttle_new(&settings);
	const char *a = "Dave@Example.TEST";
	CHECK(throttle_begin(t, "192.0.2.1", a, 1000) == THROTTLE_GO, "owner logs in");
	throttle_end(t, "192.0.2.1", a, true, 1000);
	int go = 0, refused = 0;
	for (int i = 0; i < 100; i++) {
		char ip[32];
		snprintf(ip, sizeof ip, "10.0.%d.%d", i / 250, i % 250 + 1);
		/* 100 guesses within one second, from 100 networks */
		if (throttle_begin(t, ip, "dave@example.test", 2000 + (uint64_t)i) == THROTTLE_GO) {
			go++;
			throttle_end(t, ip, "dave@example.test", false, 2000 + (uint64_t)i);
		} else {
			refused++;
		}
	}
	CHECK(go == 6 && refused == 94, "budget of 5 then one per second: go %d refused %d", go,
	      refused);
	CHECK(throttle_begin(t, "10.9.9.9", a, 2500) == THROTTLE_ACCOUNT,
	      "still within the second");
	CHECK(throttle_begin(t, "10.9.9.9", a, 3100) == THROTTLE_GO, "the next second's guess");
	throttle_end(t, "10.9.9.9", a, false, 3100);
	/* The owner, from where it logged in before, is not slowed. */
	for (int i = 0; i < 3; i++) {
		CHECK(throttle_begin(t, "192.0.2.1", a, 3200) == THROTTLE_GO, "owner %d", i);
		throttle_end(t, "192.0.2.1", a, true, 3200);
	}
	/* A new network of the owner's gets through at the slow rate, and
	 * once it succeeded it is known too. */
	CHECK(throttle_begin(t, "192.0.2.200", a, 4200) == THROTTLE_GO, "owner elsewhere, slowly");
	throttle_end(t, "192.0.2.200", a, true, 4200);
	CHECK(throttle_begin(t, "192.0.2.200", a, 4201) == THROTTLE_GO, "now known");
	throttle_end(t, "192.0.2.200", a, true, 4201);
	throttle_free(&t);
}

/* Memory is bounded: a flood of networks and accounts reuses the tables,
 * and an account with known networks outlasts strangers' entries. */
static void test_bounded(void)
{
	struct throttle *t = throttle_new(&settings);
	const char *a = "erin@example.test";
	CHECK(throttle_begin(t, "192.0.2.50", a, 10) == THROTTLE_GO, "erin");
	throttle_end(t, "192.0.2.50", a, true, 10);
	for (int i = 0; i < 200000; i++) {
		char ip[32], acct[64];
		snprintf(ip, sizeof ip, "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
		snprintf(acct, sizeof acct, "nobody%d@example.test", i);
		if (throttle_begin(t, ip, acct, 20 + (uint64_t)i / 1000) == THROTTLE_GO)
			throttle_end(t, ip, acct, false, 20 + (uint64_t)i / 1000);
	}
	for (int i = 0; i < 10; i++) {
		char ip[32];
		snprintf(ip, sizeof ip, "172.16.0.%d", i + 1);
		if (throttle_begin(t, ip, a, 500) == THROTTLE_GO)
			throttle_end(t, ip, a, false, 500);
	}
	CHECK(throttle_begin(t, "192.0.2.50", a, 501) == THROTTLE_GO,
	      "erin's network still known after the flood");
	throttle_free(&t);
}

int main(void)
{
	test_networks();
	test_charged_at_start();
	test_refund_and_delay();
	test_account_budget();
	test_bounded();
	return check_report("test_throttle");
}
