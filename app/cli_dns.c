/* cli_dns: `tern domain dns NAME` — the records to publish, as zone-file
 * lines an operator can paste.
 *
 * The records are admin/'s (admin_dns_records), built from the store (the
 * domain, its live DKIM keys) and from this configuration: [server]
 * hostname, the [[listen]] entries (SRV ports), [http] mta_sts_*. The
 * admin API builds the same list from the running server's view. A TXT
 * value longer than 255 bytes is split into several quoted strings (RFC
 * 1035 §3.3.14 <character-string>s), which DNS joins back; a DKIM RSA key
 * needs that.
 *
 * The A/AAAA records of the host itself come first, as a hint: this
 * machine's public addresses (getifaddrs) when it has any, else a comment
 * with a placeholder, for a server behind NAT cannot see the address the
 * Internet reaches it by. The admin API, which returns records only, has
 * no such hint. */
#include "app/cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
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

/* Reachable from the Internet: not loopback, private (RFC 1918), shared
 * (RFC 6598), link-local or documentation; for IPv6 global unicast
 * (2000::/3) outside 2001:db8::/32. */
static bool is_public(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		uint32_t a = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);
		return !((a >> 24) == 0 || (a >> 24) == 10 || (a >> 24) == 127 ||
		         (a >> 20) == 0xac1 /* 172.16/12 */ || (a >> 16) == 0xc0a8 ||
		         (a >> 22) == (100u << 2 | 1) /* 100.64/10 */ || (a >> 16) == 0xa9fe ||
		         (a >> 8) == 0xc00002 || (a >> 8) == 0xc63364 || (a >> 8) == 0xcb0071 ||
		         (a >> 28) >= 0xe);
	}
	if (sa->sa_family == AF_INET6) {
		const uint8_t *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		return (b[0] & 0xe0) == 0x20 &&
		       !(b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8);
	}
	return false;
}

/* The host's A and AAAA records: the public addresses seen here, or a
 * placeholder the operator fills in. */
static void print_address_hint(const char *hostname)
{
	struct ifaddrs *list = NULL;
	int found[2] = {0, 0}; /* A, AAAA */
	if (getifaddrs(&list) == 0) {
		for (struct ifaddrs *i = list; i; i = i->ifa_next) {
			if (!i->ifa_addr || !is_public(i->ifa_addr))
				continue;
			bool v6 = i->ifa_addr->sa_family == AF_INET6;
			const void *a =
			    v6 ? (const void *)&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr
			       : (const void *)&((struct sockaddr_in *)i->ifa_addr)->sin_addr;
			char text[INET6_ADDRSTRLEN];
			if (!inet_ntop(i->ifa_addr->sa_family, a, text, sizeof text))
				continue;
			if (!found[0] && !found[1])
				printf("; %s must resolve to this server; its public addresses "
				       "here:\n",
				       hostname);
			printf("%s.\t3600\tIN\t%s\t%s\n", hostname, v6 ? "AAAA" : "A", text);
			found[v6]++;
		}
		freeifaddrs(list);
	}
	if (!found[0] && !found[1])
		printf("; %s must resolve to this server (no public address is configured here:\n"
		       "; behind NAT, give the router's and forward the ports to this machine)\n",
		       hostname);
	if (!found[0])
		printf("; %s.\t3600\tIN\tA\t<this server's public IPv4 address>\n", hostname);
	if (!found[1])
		printf("; %s.\t3600\tIN\tAAAA\t<its public IPv6 address, if it has one>\n",
		       hostname);
}

/* The first HTTPS listener's port, 0 if none. */
static int https_port_of(const struct config *cfg)
{
	for (size_t i = 0; i < cfg->nlisten; i++)
		if (cfg->listen[i].protocol == PROTO_HTTP &&
		    cfg->listen[i].tls == LISTEN_TLS_IMPLICIT)
			return port_of(&cfg->listen[i]);
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
	    .https_port = https_port_of(cfg),
	};
	int rc = admin_domain_exists(rd, domain);
	if (rc == 1) {
		printf("; DNS records for %s (tern, [server] hostname %s)\n", domain,
		       cfg->hostname);
		if (mode == 0)
			printf("; no MTA-STS records: [http] mta_sts_mode is off\n");
		print_address_hint(cfg->hostname);
		rc = admin_dns_records(rd, domain, &site, print_record, NULL);
	} else if (rc == 0) {
		rc = -ENOENT;
	}
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
