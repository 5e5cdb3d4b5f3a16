/* auth_results: the Authentication-Results header field (RFC 8601) that
 * the mx listener prepends, and the test for one whose authserv-id is
 * ours (section 5: those are removed before delivery, since only we may
 * speak for our authserv-id).
 *
 * Pure formatting: the session gathers the verdicts (SPF, each DKIM
 * signature, ARC, DMARC) and this turns them into the field, folded at 78
 * columns, property values quoted where RFC 2045's token does not allow
 * them as they are. */
#ifndef TERN_MAILAUTH_AUTH_RESULTS_H
#define TERN_MAILAUTH_AUTH_RESULTS_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"
#include "mailauth/arc.h"
#include "mailauth/dkim.h"
#include "mailauth/dmarc.h"
#include "mailauth/spf.h"

#define AUTH_RESULTS_MAX_DKIM DKIM_VERIFY_MAX_SIGS

struct auth_results {
	const char *authserv_id; /* required: our host name or the configured id */
	/* SPF: the identity checked: the MAIL FROM address ("" for <>), and
	 * the HELO name; mail_from set gives smtp.mailfrom, else smtp.helo. */
	bool spf_checked;
	enum spf_result spf;
	const char *spf_mail_from; /* local@domain, or NULL/"" when the HELO identity was checked */
	const char *spf_helo;
	/* DKIM: one result per signature; none checked and dkim_checked:
	 * "dkim=none". */
	bool dkim_checked;
	size_t ndkim;
	const struct dkim_sig_result *dkim[AUTH_RESULTS_MAX_DKIM];
	/* ARC (RFC 8617 §6, the registry entries of RFC 8601's methods):
	 * "arc=pass header.oldest-pass=K smtp.remote-ip=IP"; oldest-pass is
	 * given when the chain passes and not every AMS verified (K > 1). */
	bool arc_checked;
	enum arc_status arc;       /* PENDING counts as none */
	unsigned arc_oldest_pass;  /* arc_result.oldest_pass */
	const char *arc_remote_ip; /* the client's address, or NULL */
	/* DMARC */
	bool dmarc_checked;
	enum dmarc_result dmarc;
	const char *dmarc_from;   /* header.from */
	const char *dmarc_policy; /* policy.dmarc: "none" "quarantine" "reject", or NULL */
	/* A comment after the DMARC result, for a failure not enforced
	 * (RFC 8617 §7.2.1: "arc=pass as[2].d=... as[2].s=..."), or NULL;
	 * parentheses, backslashes and control characters are escaped or
	 * dropped. */
	const char *dmarc_comment;
};

/* Append "Authentication-Results: ...\r\n" to out. Method results with
 * nothing to say are left out; with no method at all the field is
 * "authserv-id; none" (RFC 8601 2.2). 0, or -1 when out of memory. */
int auth_results_format(const struct auth_results *ar, struct buf *out);

/* Is value (an Authentication-Results field body, folding included) one
 * whose authserv-id equals id, compared case-insensitively? Leading CFWS
 * is skipped. */
bool auth_results_is_ours(const char *value, size_t len, const char *id);

#endif
