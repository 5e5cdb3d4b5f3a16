/* test_quickstart: what `tern quickstart` accepts as an address and a
 * host name, the passwords it makes, and the config it writes, which the
 * config loader must take as it is (tests/integration/test_quickstart.py
 * runs the command itself). */
#include "app/config.h"
#include "app/quickstart.h"
#include "check.h"

#include <string.h>

static void test_names(void)
{
	static const char *const good[] = {"you@example.org", "a.b+tag@mail.example.co.uk",
	                                   "x_y-z@EXAMPLE.ORG", "o'neil@example.org"};
	static const char *const bad[] = {
	    "nobody",           "@example.org",     "a@b",
	    "a b@example.org",  "a@-x.example.org", "a..b@example.org",
	    ".a@example.org",   "a.@example.org",   "a@example.123",
	    "a\"b@example.org", "a@exa_mple.org",   "a@example..org",
	    "a@example.org.",   "a@x-.example.org", "a@"};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		char buf[320], *domain = NULL;
		snprintf(buf, sizeof buf, "%s", good[i]);
		CHECK(quickstart_valid_address(buf, &domain), "%s is an address", good[i]);
		CHECK(domain && strchr(buf, '@') + 1 == domain, "%s: domain", good[i]);
	}
	char upper[] = "x@EXAMPLE.ORG", *domain;
	CHECK(quickstart_valid_address(upper, &domain) && strcmp(domain, "example.org") == 0,
	      "the domain is lowercased: %s", upper);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char buf[320];
		snprintf(buf, sizeof buf, "%s", bad[i]);
		CHECK(!quickstart_valid_address(buf, &domain), "%s is not an address", bad[i]);
	}
	char longlocal[100];
	memset(longlocal, 'a', 65);
	snprintf(longlocal + 65, sizeof longlocal - 65, "@example.org");
	CHECK(!quickstart_valid_address(longlocal, &domain), "a local part over 64");
	char label[80] = "";
	memset(label, 'a', 64);
	strcat(label, ".org");
	CHECK(!quickstart_valid_hostname(label), "a label over 63");
	CHECK(quickstart_valid_hostname("mail.example.org"), "mail.example.org");
	CHECK(quickstart_valid_hostname("xn--bcher-kva.example"), "an A-label");
	CHECK(!quickstart_valid_hostname("localhost"), "one label");
	CHECK(!quickstart_valid_hostname("10.0.0.1"), "an IPv4 address");
}

static void test_passwords(void)
{
	char a[QUICKSTART_PASSWORD_LEN + 1], b[QUICKSTART_PASSWORD_LEN + 1];
	CHECK(quickstart_password(a) == 0 && quickstart_password(b) == 0, "made");
	CHECK(strlen(a) == QUICKSTART_PASSWORD_LEN, "length %zu", strlen(a));
	CHECK(strcmp(a, b) != 0, "two differ");
	CHECK(strspn(a, "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789") == strlen(a),
	      "only unambiguous characters: %s", a);
	/* every character of the alphabet turns up, none favoured much */
	int seen[256] = {0};
	for (int i = 0; i < 2000; i++) {
		CHECK(quickstart_password(a) == 0, "made");
		for (size_t j = 0; a[j]; j++)
			seen[(unsigned char)a[j]]++;
	}
	int lo = 1 << 30, hi = 0;
	for (const char *c = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"; *c; c++) {
		lo = seen[(unsigned char)*c] < lo ? seen[(unsigned char)*c] : lo;
		hi = seen[(unsigned char)*c] > hi ? seen[(unsigned char)*c] : hi;
	}
	/* 48000 draws of 56: about 857 each */
	CHECK(lo > 650 && hi < 1070, "spread %d..%d", lo, hi);
}

static void test_config_text(void)
{
	static char text[16384];
	for (int acme = 0; acme < 2; acme++) {
		struct quickstart_site site = {"you@example.org", "example.org", "mail.example.org",
		                               "/var/lib/tern \"x\\y", acme};
		CHECK(quickstart_config_text(&site, text, sizeof text) == 0, "fits");
		static struct config cfg;
		char err[512] = "";
		config_defaults(&cfg);
		CHECK(config_load_string(&cfg, "quickstart", text, strlen(text), err, sizeof err) ==
		          0,
		      "loads: %s", err);
		CHECK(strcmp(cfg.data_dir, "/var/lib/tern \"x\\y") == 0, "data_dir escaped: %s",
		      cfg.data_dir);
		CHECK(strcmp(cfg.hostname, "mail.example.org") == 0 &&
		          strcmp(cfg.domain, "example.org") == 0,
		      "names");
		CHECK(cfg.nacme == (size_t)(acme ? 2 : 0), "acme entries %zu", cfg.nacme);
		CHECK(cfg.nlisten == 9 || cfg.nlisten == 18, "listeners %zu", cfg.nlisten);
		int ports = 0;
		for (size_t i = 0; i < cfg.nlisten; i++) {
			const char *colon = strrchr(cfg.listen[i].address, ':');
			char port[16];
			snprintf(port, sizeof port, " %s ", colon + 1);
			ports += strstr(" 25 587 465 110 995 143 993 80 443 ", port) != NULL;
			CHECK(strncmp(cfg.listen[i].address, "[::]:", 5) == 0 ||
			          strncmp(cfg.listen[i].address, "0.0.0.0:", 8) == 0,
			      "every interface: %s", cfg.listen[i].address);
		}
		CHECK(ports == (int)cfg.nlisten, "standard ports only");
		CHECK(cfg.http.mta_sts_mode == 2, "MTA-STS testing");
	}
	struct quickstart_site site = {"you@example.org", "example.org", "mail.example.org",
	                               "/data", true};
	CHECK(quickstart_config_text(&site, text, 100) < 0, "too small a buffer is said");
}

int main(void)
{
	test_names();
	test_passwords();
	test_config_text();
	return check_report("test_quickstart");
}
