/* dns: the DNS records a domain should publish for tern, for `tern domain
 * dns` and GET /api/admin/domains/NAME/dns.
 *
 * Defaults, chosen once here (README, "DNS records"):
 * - SPF "v=spf1 mx -all": the MX host sends the domain's mail, nobody else.
 * - DMARC "p=quarantine" with aggregate reports to postmaster@DOMAIN: strict
 *   enough to matter, not so strict that a forwarding mistake loses mail.
 * - TLS-RPT reports to postmaster@DOMAIN too.
 * - MTA-STS only when [http] mta_sts_mode serves a policy: a TXT record
 *   without a policy behind it would make senders fetch a 404. Its id is
 *   the start of the SHA-256 of the policy's settings, so it changes
 *   exactly when the policy does (RFC 8461 §3.1).
 * - SRV records (RFC 6186, RFC 8314 §5.1) only for the services a listener
 *   offers, the first listener of each name winning.
 * - autoconfig and autodiscover CNAMEs to the host, where Thunderbird and
 *   Outlook look first; autodiscover over HTTPS needs a certificate for
 *   that name, so Outlook's _autodiscover._tcp SRV (pointing at the host's
 *   own name and HTTPS port) comes too when there is an HTTPS listener.
 * Host names in values end with a dot, as in a zone file. */
#include "admin/admin.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "store/store.h"
#include "tls/tls_compat.h"

struct emit {
	int (*cb)(void *ud, const struct admin_dns_record *r);
	void *ud;
	char name[400]; /* selector._domainkey.domain at their longest */
	char value[1400];
};

static int put(struct emit *e, const char *type)
{
	struct admin_dns_record r = {e->name, type, e->value};
	return e->cb(e->ud, &r);
}

struct dkim_walk {
	struct emit *e;
	const char *domain;
};

static int dkim_record(void *ud, const struct store_dkim_key *k)
{
	struct dkim_walk *w = ud;
	if (k->retired)
		return 0;
	snprintf(w->e->name, sizeof w->e->name, "%s._domainkey.%s", k->selector, w->domain);
	snprintf(w->e->value, sizeof w->e->value, "v=DKIM1; k=%s; p=%s",
	         admin_dkim_key_type(k->algorithm), k->public_key);
	return put(w->e, "TXT");
}

static void policy_id(const struct admin_dns_site *site, char out[17])
{
	char text[700];
	unsigned char d[32];
	int n =
	    snprintf(text, sizeof text, "%s\n%s\n%lld", site->mta_sts_mode,
	             site->mta_sts_mx && site->mta_sts_mx[0] ? site->mta_sts_mx : site->hostname,
	             (long long)site->mta_sts_max_age);
	tc_sha256((const unsigned char *)text,
	          (size_t)n < sizeof text ? (size_t)n : sizeof text - 1, d);
	for (int i = 0; i < 8; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static const char *srv_name(const struct admin_dns_service *s)
{
	switch (s->kind) {
	case ADMIN_SVC_IMAP:
		return s->implicit_tls ? "_imaps._tcp" : "_imap._tcp";
	case ADMIN_SVC_POP3:
		return s->implicit_tls ? "_pop3s._tcp" : "_pop3._tcp";
	default:
		return s->implicit_tls ? "_submissions._tcp" : "_submission._tcp";
	}
}

static int srv_records(struct emit *e, const char *domain, const struct admin_dns_site *site)
{
	int rc = 0;
	for (size_t i = 0; i < site->nservices && rc == 0; i++) {
		const char *name = srv_name(&site->services[i]);
		bool seen = false;
		for (size_t j = 0; j < i; j++)
			seen |= strcmp(srv_name(&site->services[j]), name) == 0;
		if (seen)
			continue;
		snprintf(e->name, sizeof e->name, "%s.%s", name, domain);
		snprintf(e->value, sizeof e->value, "0 1 %d %s.", site->services[i].port,
		         site->hostname);
		rc = put(e, "SRV");
	}
	return rc;
}

int admin_dns_records(struct store_rd *rd, const char *domain, const struct admin_dns_site *site,
                      int (*cb)(void *ud, const struct admin_dns_record *r), void *ud)
{
	int rc = store_domain_exists(rd, domain);
	if (rc <= 0)
		return rc == 0 ? -ENOENT : rc;
	struct emit e = {.cb = cb, .ud = ud};
	const char *host = site->hostname;
#define RECORD(type, namefmt, namearg, ...)                                                        \
	do {                                                                                       \
		snprintf(e.name, sizeof e.name, namefmt, namearg);                                 \
		snprintf(e.value, sizeof e.value, __VA_ARGS__);                                    \
		if ((rc = put(&e, type)) != 0)                                                     \
			return rc;                                                                 \
	} while (0)
	RECORD("MX", "%s", domain, "10 %s.", host);
	RECORD("TXT", "%s", domain, "v=spf1 mx -all");
	struct dkim_walk w = {&e, domain};
	if ((rc = store_dkim_list(rd, domain, dkim_record, &w)) != 0)
		return rc;
	RECORD("TXT", "_dmarc.%s", domain, "v=DMARC1; p=quarantine; rua=mailto:postmaster@%s",
	       domain);
	if (site->mta_sts_mode && site->mta_sts_mode[0]) {
		char id[17];
		policy_id(site, id);
		RECORD("TXT", "_mta-sts.%s", domain, "v=STSv1; id=%s", id);
		RECORD("CNAME", "mta-sts.%s", domain, "%s.", host);
	}
	RECORD("TXT", "_smtp._tls.%s", domain, "v=TLSRPTv1; rua=mailto:postmaster@%s", domain);
	RECORD("CNAME", "autoconfig.%s", domain, "%s.", host);
	RECORD("CNAME", "autodiscover.%s", domain, "%s.", host);
	if ((rc = srv_records(&e, domain, site)) != 0)
		return rc;
	if (site->https_port > 0)
		RECORD("SRV", "_autodiscover._tcp.%s", domain, "0 1 %d %s.", site->https_port,
		       host);
#undef RECORD
	return 0;
}
