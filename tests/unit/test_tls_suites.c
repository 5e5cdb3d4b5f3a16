/* test_tls_suites: the cipher suite lists of tls/suites.c, by name, as
 * this mbedTLS knows them: people's clients get only ECDHE (or TLS 1.3)
 * with an AEAD; other mail servers also CBC with SHA-2 and RSA key
 * exchange, but never a SHA-1 MAC, CCM (CCM_8's tag is 8 bytes), Camellia
 * or ARIA. The outbound relay uses the second list, so this is where its
 * choice is checked. */
#include "tls/suites.h"

#include <mbedtls/ssl.h>
#include <stdbool.h>
#include <string.h>

#include "check.h"

static bool ends_with(const char *s, const char *end)
{
	size_t n = strlen(s), m = strlen(end);
	return n >= m && strcmp(s + n - m, end) == 0;
}

static int check_list(enum tls_profile p, const char *what)
{
	int known = 0;
	for (const int *id = tls_suites(p); *id; id++) {
		const char *name = mbedtls_ssl_get_ciphersuite_name(*id);
		if (!name || strcmp(name, "unknown") == 0)
			continue; /* not built into this mbedTLS: skipped by it too */
		known++;
		bool tls13 = strncmp(name, "TLS1-3-", 7) == 0;
		bool aead = strstr(name, "-GCM-") || strstr(name, "CHACHA20-POLY1305");
		CHECK(!strstr(name, "CCM") && !strstr(name, "CAMELLIA") && !strstr(name, "ARIA") &&
		          !ends_with(name, "-SHA") && !strstr(name, "NULL") && !strstr(name, "PSK"),
		      "%s: %s is never offered", what, name);
		if (p == TLS_PROFILE_CLIENTS)
			CHECK(tls13 || (aead && strstr(name, "-ECDHE-")),
			      "%s: %s is not ECDHE with an AEAD", what, name);
	}
	return known;
}

int main(void)
{
	int clients = check_list(TLS_PROFILE_CLIENTS, "clients");
	int mta = check_list(TLS_PROFILE_MTA, "mta");
	CHECK(clients >= 4, "clients: %d suites known to this mbedTLS", clients);
	CHECK(mta > clients, "mta: wider than clients (%d vs %d)", mta, clients);
	CHECK(tls_suites(TLS_PROFILE_CLIENTS)[0] != 0, "not empty");
	return check_report("test_tls_suites");
}
