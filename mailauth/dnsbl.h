/* dnsbl: the pure half of DNS blocklists and allowlists (RFC 5782): the
 * name to look up for a client address in a zone, what an answer means,
 * and the verdict the weights of the listing zones add up to.
 *
 * A DNSBL is asked with the client's address reversed under the zone
 * (192.0.2.99 in bl.example -> 99.2.0.192.bl.example; IPv6 as 32 reversed
 * nibbles, RFC 5782 2.4). A listing is an A record in 127.0.0.0/8 (2.3);
 * anything else is not a listing: some resolvers rewrite NXDOMAIN to an
 * advertising page, and Spamhaus answers 127.255.255.x for refused or
 * malformed queries (an open resolver, a quota), which must never block
 * mail. An allowlist (DNSWL) is the same protocol with a negative weight.
 *
 * The verdict is a sum: every listing zone adds its weight (negative for an
 * allowlist). A client is rejected when a zone configured with action
 * "reject" lists it and the sum stays positive (an allowlist can save a
 * client from a blocklist); its mail goes to Junk when the sum reaches the
 * junk threshold. Nothing here does I/O: proto/smtp/mx_reputation.c asks
 * the questions. */
#ifndef TERN_MAILAUTH_DNSBL_H
#define TERN_MAILAUTH_DNSBL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/dns_query.h"

#define DNSBL_MAX_ZONES 16
#define DNSBL_ZONE_MAX 200 /* a zone name; the query name adds at most 64 */
#define DNSBL_QNAME_MAX 300

/* Order as the config's choice "junk|reject". */
enum dnsbl_action { DNSBL_ACTION_JUNK = 0, DNSBL_ACTION_REJECT };

/* One [[spam.dnsbl]] entry. */
struct dnsbl_zone {
	char zone[DNSBL_ZONE_MAX + 1];
	int64_t weight; /* negative: an allowlist */
	enum dnsbl_action action;
};

/* What one zone said about the client. */
enum dnsbl_result {
	DNSBL_PENDING = 0, /* not answered (yet): counts as not listed */
	DNSBL_NOT_LISTED,
	DNSBL_LISTED,
	DNSBL_ERROR, /* a timeout, SERVFAIL, or the list's own error code */
};

/* The query name for an address (family AF_INET/AF_INET6, addr 4 or 16
 * bytes) in zone. Returns false if zone is not a usable name or the result
 * does not fit in out. */
bool dnsbl_query_name(int family, const uint8_t *addr, const char *zone, char *out, size_t outlen);
/* Is zone a name a query can be built under: 1..DNSBL_ZONE_MAX bytes of
 * letters, digits, '-', '_' and dots, labels of 1..63, no leading dot? */
bool dnsbl_zone_valid(const char *zone);

/* What an answer to the A query means. *code gets the listing's last octet
 * (127.0.0.2 -> 2) when listed, for the log. */
enum dnsbl_result dnsbl_interpret(const struct dns_answer *a, unsigned *code);
/* One address of an answer: a listing (127.0.0.0/8 but not 127.255.255.x)? */
bool dnsbl_is_listing(const uint8_t a[4]);

struct dnsbl_verdict {
	int64_t score;   /* the weights of the listing zones, summed */
	int reject_zone; /* index of the first "reject" zone that lists it, or -1 */
	bool reject;     /* reject_zone >= 0 and score > 0 */
	unsigned listed; /* how many zones list it (allowlists included) */
	unsigned errors; /* how many zones could not be asked */
};

/* Sum the results (one per zone, n of them) into v. */
void dnsbl_verdict(const struct dnsbl_zone *zones, const enum dnsbl_result *results, size_t n,
                   struct dnsbl_verdict *v);

const char *dnsbl_result_name(enum dnsbl_result r);

#endif
