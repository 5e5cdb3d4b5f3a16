/* dmarc: DMARC (RFC 9989, which obsoletes RFC 7489 and RFC 9091) policy
 * discovery and evaluation, asynchronous.
 *
 * Given the RFC5322.From domain and the SPF and DKIM results, the check
 * walks the DNS tree (RFC 9989 4.10, at most 8 queries per walk) for the
 * policy record and the Organizational Domains, decides identifier
 * alignment, the DMARC result, and the disposition the domain owner asks
 * for (p, sp for subdomains, np for non-existent subdomains, t=y testing).
 * It never blocks: DNS questions go through a struct spf_resolver
 * (spf_resolver_dns() in the server, a fake zone in tests).
 *
 * Results (RFC 8601 words):
 *   none       no DMARC policy record for the From domain (or only names
 *              with several records, which count as none);
 *   pass       a passing SPF or DKIM identifier is aligned;
 *   fail       none is; `disposition` is what the record asks for;
 *   temperror  a DNS question failed for now (policy lookup, an
 *              identifier's walk when nothing else aligned, or the
 *              existence test np= needs): answer 4xx at most, never pass;
 *   permerror  the From domain is not a domain name, or the record's
 *              p/sp/np is invalid and it has no valid rua= (4.10.1).
 * The disposition is DMARC_DISP_NONE unless the result is fail. With t=y
 * (or the legacy pct=0) it is one level below the policy: reject gives
 * quarantine, quarantine gives none. policy_text is the p/sp/np that
 * applied before t= lowered it ("" when no record applied); on pass a
 * subdomain's is sp= (or p=), np= only being looked at on fail.
 * org_domain is the From domain's Organizational Domain, or the From
 * domain itself when the RFC needs no walk for it (its own record, and
 * every identifier identical or in strict mode). */
#ifndef TERN_MAILAUTH_DMARC_H
#define TERN_MAILAUTH_DMARC_H

#include <stdbool.h>
#include <stddef.h>

#include "mailauth/dkim.h" /* enum dkim_result */
#include "mailauth/spf.h"  /* struct spf_resolver (a generic async resolver), enum spf_result */

enum dmarc_result { DMARC_NONE, DMARC_PASS, DMARC_FAIL, DMARC_TEMPERROR, DMARC_PERMERROR };
enum dmarc_disposition { DMARC_DISP_NONE, DMARC_DISP_QUARANTINE, DMARC_DISP_REJECT };

/* RFC 8601 words: none pass fail temperror permerror */
const char *dmarc_result_name(enum dmarc_result r);
/* none quarantine reject */
const char *dmarc_disposition_name(enum dmarc_disposition d);

#define DMARC_MAX_DKIM 8

struct dmarc_input {
	const char *from_domain; /* RFC5322.From domain (ASCII/A-label), required */
	enum spf_result spf;     /* SPF result for MAIL FROM (or HELO when MAIL FROM was <>) */
	const char *spf_domain;  /* the domain SPF checked */
	size_t ndkim;
	struct {
		enum dkim_result result;
		const char *domain;
	} dkim[DMARC_MAX_DKIM]; /* d= of each signature */
};

struct dmarc_outcome {
	enum dmarc_result result;
	/* What the record asks for this message after p/sp/np, t=, pct. */
	enum dmarc_disposition disposition;
	bool testing; /* t=y (or legacy pct=0) */
	bool spf_aligned, dkim_aligned;
	char from_domain[256], policy_domain[256], org_domain[256];
	/* "none" "quarantine" "reject": the p/sp/np that applied, for A-R policy.dmarc */
	char policy_text[16];
	char problem[256]; /* for logs: why none/temperror/permerror */
	unsigned
	    dns_queries; /* questions asked (not counting those answered from the check's cache) */
};

typedef void (*dmarc_done_cb)(void *ud, const struct dmarc_outcome *o);
struct dmarc_check;

/* Like spf_check_start: cb exactly once unless cancelled; NULL return when cb already ran. */
struct dmarc_check *dmarc_check_start(const struct spf_resolver *res, const struct dmarc_input *in,
                                      dmarc_done_cb cb, void *ud);
/* No callback afterwards; outstanding queries are cancelled. */
void dmarc_check_cancel(struct dmarc_check *c);

#endif
