/* test_dnsbl: DNSBL query names (RFC 5782 2.1, 2.4), what answers mean
 * (127.0.0.0/8 only, Spamhaus's 127.255.255.x error codes ignored), and
 * the verdict the zones' weights add up to (mailauth/dnsbl.c). */
#include "mailauth/dnsbl.h"
#include "check.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

static void test_names(void)
{
	uint8_t a4[4], a6[16];
	char out[DNSBL_QNAME_MAX];

	inet_pton(AF_INET, "192.0.2.99", a4);
	CHECK(dnsbl_query_name(AF_INET, a4, "bl.example", out, sizeof out), "v4");
	CHECK(!strcmp(out, "99.2.0.192.bl.example"), "v4 name %s", out);
	CHECK(dnsbl_query_name(AF_INET, a4, "bl.example.", out, sizeof out), "trailing dot");
	CHECK(!strcmp(out, "99.2.0.192.bl.example"), "trailing dot not doubled: %s", out);
	/* RFC 5782 2.4's example. */
	inet_pton(AF_INET6, "2001:db8:1:2:3:4:567:89ab", a6);
	CHECK(dnsbl_query_name(AF_INET6, a6, "ugly.example.com", out, sizeof out), "v6");
	CHECK(!strcmp(out, "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2."
	                   "ugly.example.com"),
	      "v6 name %s", out);
	CHECK(!dnsbl_query_name(AF_INET, a4, "", out, sizeof out), "empty zone");
	CHECK(!dnsbl_query_name(AF_INET, a4, ".bl.example", out, sizeof out), "leading dot");
	CHECK(!dnsbl_query_name(AF_INET, a4, "bl..example", out, sizeof out), "empty label");
	CHECK(!dnsbl_query_name(AF_INET, a4, "bl example", out, sizeof out), "space");
	CHECK(!dnsbl_query_name(AF_INET, a4, "bl.example", out, 10), "too small");
	CHECK(out[0] == '\0', "too small leaves an empty string");
	CHECK(!dnsbl_query_name(AF_UNIX, a4, "bl.example", out, sizeof out), "family");
	char longz[300];
	memset(longz, 'a', sizeof longz - 1);
	longz[sizeof longz - 1] = '\0';
	CHECK(!dnsbl_zone_valid(longz), "zone too long");
	memset(longz, 'a', 64);
	strcpy(longz + 64, ".example");
	CHECK(!dnsbl_zone_valid(longz), "label of 64");
	CHECK(dnsbl_zone_valid("zen.spamhaus.org"), "zen");
	CHECK(dnsbl_zone_valid("list.dnswl.org"), "dnswl");
}

static void answer_with(struct dns_answer *a, const char *const *ips)
{
	dns_answer_init(a, DNS_Q_DATA);
	for (; *ips; ips++) {
		uint8_t b[4];
		inet_pton(AF_INET, *ips, b);
		dns_answer_add_addr(a, AF_INET, b);
	}
}

static void test_answers(void)
{
	static struct dns_answer a;
	unsigned code;

	dns_answer_init(&a, DNS_Q_NXDOMAIN);
	CHECK(dnsbl_interpret(&a, &code) == DNSBL_NOT_LISTED, "nxdomain");
	dns_answer_init(&a, DNS_Q_NODATA);
	CHECK(dnsbl_interpret(&a, &code) == DNSBL_NOT_LISTED, "nodata");
	dns_answer_init(&a, DNS_Q_TEMP);
	CHECK(dnsbl_interpret(&a, &code) == DNSBL_ERROR, "temp");

	answer_with(&a, (const char *const[]){"127.0.0.2", NULL});
	CHECK(dnsbl_interpret(&a, &code) == DNSBL_LISTED && code == 2, "127.0.0.2");
	answer_with(&a, (const char *const[]){"127.0.0.10", "127.0.0.4", NULL});
	CHECK(dnsbl_interpret(&a, &code) == DNSBL_LISTED && code == 10, "two codes");
	/* Spamhaus: 127.255.255.252 typo, .254 open resolver, .255 excessive. */
	answer_with(&a, (const char *const[]){"127.255.255.254", NULL});
	CHECK(dnsbl_interpret(&a, &code) == DNSBL_ERROR, "spamhaus error code");
	answer_with(&a, (const char *const[]){"127.255.255.255", "127.0.0.3", NULL});
	CHECK(dnsbl_interpret(&a, &code) == DNSBL_LISTED && code == 3, "error code and a listing");
	/* A hijacking resolver's advertising address is not a listing. */
	answer_with(&a, (const char *const[]){"192.0.2.1", NULL});
	CHECK(dnsbl_interpret(&a, &code) == DNSBL_NOT_LISTED, "outside 127/8");
	uint8_t v6[16] = {0};
	dns_answer_init(&a, DNS_Q_DATA);
	dns_answer_add_addr(&a, AF_INET6, v6);
	CHECK(dnsbl_interpret(&a, NULL) == DNSBL_NOT_LISTED, "an AAAA is no listing");
	uint8_t x[4] = {127, 255, 254, 1};
	CHECK(dnsbl_is_listing(x), "127.255.254.1 is");
}

static void test_verdicts(void)
{
	struct dnsbl_zone z[4] = {
	    {"bl.test", 10, DNSBL_ACTION_REJECT},
	    {"junk.test", 3, DNSBL_ACTION_JUNK},
	    {"wl.test", -20, DNSBL_ACTION_JUNK},
	    {"weird.test", -5, DNSBL_ACTION_REJECT},
	};
	struct dnsbl_verdict v;
	enum dnsbl_result r[4] = {DNSBL_NOT_LISTED, DNSBL_NOT_LISTED, DNSBL_NOT_LISTED,
	                          DNSBL_NOT_LISTED};

	dnsbl_verdict(z, r, 4, &v);
	CHECK(v.score == 0 && !v.reject && v.reject_zone == -1 && v.listed == 0, "clean");
	r[0] = DNSBL_LISTED;
	dnsbl_verdict(z, r, 4, &v);
	CHECK(v.score == 10 && v.reject && v.reject_zone == 0, "rejected");
	r[2] = DNSBL_LISTED;
	dnsbl_verdict(z, r, 4, &v);
	CHECK(v.score == -10 && !v.reject && v.reject_zone == 0 && v.listed == 2,
	      "the allowlist wins");
	r[0] = DNSBL_ERROR;
	r[2] = DNSBL_PENDING;
	r[1] = DNSBL_LISTED;
	dnsbl_verdict(z, r, 4, &v);
	CHECK(v.score == 3 && !v.reject && v.errors == 1, "junk zone only");
	r[1] = DNSBL_NOT_LISTED;
	r[3] = DNSBL_LISTED;
	dnsbl_verdict(z, r, 4, &v);
	CHECK(!v.reject && v.reject_zone == -1 && v.score == -5,
	      "negative reject zone never rejects");
	CHECK(!strcmp(dnsbl_result_name(DNSBL_LISTED), "listed"), "names");
}

int main(void)
{
	test_names();
	test_answers();
	test_verdicts();
	return check_report("test_dnsbl");
}
