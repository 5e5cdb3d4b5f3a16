/* dmarc: DMARC (RFC 9989, which obsoletes RFC 7489 and RFC 9091) policy
 * discovery and evaluation, asynchronous.
 *
 * Implementation in progress: this header is committed first so that the
 * SMTP wiring can code against it; the API below is fixed (fields and
 * functions may be added, none renamed or removed).
 *
 * Given the RFC5322.From domain and the SPF and DKIM results, the check
 * walks the DNS tree (RFC 9989 4.10, at most 8 queries) for the policy
 * record and the organizational domains, decides identifier alignment,
 * the DMARC result, and the disposition the domain owner asks for (p, sp
 * for subdomains, np for non-existent subdomains, t=y testing). It never
 * blocks: DNS questions go through a struct spf_resolver. */
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
