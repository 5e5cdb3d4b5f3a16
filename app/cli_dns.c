/* cli_dns: `tern domain dns NAME` — the records to publish, as zone-file
 * lines an operator can paste.
 *
 * The records are admin/'s (admin_dns_records), built from the store (the
 * domain, its live DKIM keys) and from this configuration: [server]
 * hostname, the [[listen]] entries (SRV ports), [http] mta_sts_*. The
 * admin API builds the same list from the running server's view. A TXT
 * value longer than 255 bytes is split into several quoted strings (RFC
 * 1035 §3.3.14 <character-string>s), which DNS joins back; a DKIM RSA key
 * needs that. */
#include "app/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin.h"

static int port_of(const struct config_listen *l)
{
	const char *colon = strrchr(l->address, ':');
	return colon ? atoi(colon + 1) : 0;
}

/* The mail listeners, implicit TLS first (RFC 8314 §3.3). */
static size_t services_of(const struct config *cfg, struct admin_dns_service *out, size_t max)
{
	static const struct {
		enum listen_protocol protocol;
		enum admin_svc kind;
	} kinds[] = {{PROTO_SUBMISSION, ADMIN_SVC_SUBMISSION},
	             {PROTO_IMAP, ADMIN_SVC_IMAP},
	             {PROTO_POP3, ADMIN_SVC_POP3}};
	size_t n = 0;
	for (size_t k = 0; k < 3; k++)
		for (int tls = 1; tls >= 0; tls--)
			for (size_t i = 0; i < cfg->nlisten && n < max; i++) {
				const struct config_listen *l = &cfg->listen[i];
				if (l->protocol == kinds[k].protocol &&
				    (l->tls == LISTEN_TLS_IMPLICIT) == tls)
					out[n++] = (struct admin_dns_service){kinds[k].kind, tls,
					                                      port_of(l)};
			}
	return n;
}

static int print_record(void *ud, const struct admin_dns_record *r)
{
	printf("%s.\t3600\tIN\t%s\t", r->name, r->type);
	if (strcmp(r->type, "TXT") != 0) {
		printf("%s\n", r->value);
		return 0;
	}
	size_t len = strlen(r->value);
	const char *p = r->value;
	if (len > 255)
		fputs("( ", stdout);
	do {
		size_t n = len > 255 ? 255 : len;
		printf("\"%.*s\"%s", (int)n, p, len > n ? "\n\t\t\t\t  " : "");
		p += n;
		len -= n;
	} while (len);
	printf("%s\n", p - r->value > 255 ? " )" : "");
	return 0;
}

int cli_domain_dns(const struct config *cfg, struct store_rd *rd, const char *domain)
{
	static const char *const modes[] = {"", "none", "testing", "enforce"};
	struct admin_dns_service svc[CONFIG_MAX_LISTEN];
	int mode = cfg->http.mta_sts_mode;
	struct admin_dns_site site = {
	    .hostname = cfg->hostname,
	    .services = svc,
	    .nservices = services_of(cfg, svc, CONFIG_MAX_LISTEN),
	    .mta_sts_mode = mode >= 0 && mode < 4 ? modes[mode] : "",
	    .mta_sts_mx = cfg->http.mta_sts_mx,
	    .mta_sts_max_age = cfg->http.mta_sts_max_age,
	};
	printf("; DNS records for %s (tern, [server] hostname %s)\n", domain, cfg->hostname);
	if (mode == 0)
		printf("; no MTA-STS records: [http] mta_sts_mode is off\n");
	int rc = admin_dns_records(rd, domain, &site, print_record, NULL);
	if (rc == -ENOENT) {
		fprintf(stderr, "tern domain dns %s: not a local domain (see: tern domain list)\n",
		        domain);
		return 1;
	}
	if (rc < 0) {
		fprintf(stderr, "tern domain dns %s: %s\n", domain, strerror(-rc));
		return 1;
	}
	return 0;
}
