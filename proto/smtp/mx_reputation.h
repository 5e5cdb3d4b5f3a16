/* mx_reputation: what DNS says about an mx client, asked at connect while
 * the greeting (and its early-talker delay) goes on: the DNS block and
 * allow lists of [[spam.dnsbl]] (their pure half is mailauth/dnsbl.h) and
 * the forward-confirmed reverse DNS name for Received: (RFC 5321 4.4
 * TCP-info; RFC 8601 2.7.3's iprev).
 *
 * FCrDNS: the PTR names of the address, then the A (or AAAA) records of
 * each of at most MX_REP_MAX_NAMES of them; the first name (in the PTR
 * answer's order) one of whose addresses is the client's is its verified
 * name. A PTR that does not lead back proves nothing: Received: then says
 * "unknown".
 *
 * One struct per session, embedded in it; every query is cancelled by
 * mx_reputation_cancel() (the session closes) so no callback outlives it.
 * The session reads the verdict with the functions below: reject at RCPT,
 * its DNSBL sum at delivery (mx_reputation_score_input(), the spam score).
 * The session allocates the struct only when there is something to ask;
 * every reader takes NULL as "nothing known" (clean, no name).
 * Loop thread only. */
#ifndef TERN_SMTP_MX_REPUTATION_H
#define TERN_SMTP_MX_REPUTATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mailauth/dnsbl.h"
#include "mailauth/junk_score.h"
#include "mailauth/netlist.h"
#include "proto/smtp/smtp.h"

#define MX_REP_MAX_NAMES 10 /* PTR names followed forward */
#define MX_REP_NAME_MAX 254

struct mx_reputation;
struct dns_query;
struct dns_resolver;

/* One query in flight and what it is for. */
struct mx_rep_query {
	struct mx_reputation *r;
	struct dns_query *q; /* NULL once answered or cancelled */
	int kind;            /* MX_REP_Q_* in mx_reputation.c */
	int index;           /* the zone, or the PTR name */
};

typedef void (*mx_reputation_done_fn)(void *ud);

struct mx_reputation {
	const struct smtp_spam_settings *cfg;
	struct dns_resolver *dns;
	bool started; /* checks were asked (an mx client, not trusted) */
	bool exempt;  /* trusted network or authenticated: never junk or reject */
	bool done;    /* every answer is in (or nothing was asked) */
	int family;   /* AF_INET / AF_INET6 of the client */
	uint8_t addr[16];
	char ip[64];

	enum dnsbl_result results[DNSBL_MAX_ZONES];
	unsigned codes[DNSBL_MAX_ZONES];
	struct dnsbl_verdict verdict; /* of the answers in so far */

	char names[MX_REP_MAX_NAMES][MX_REP_NAME_MAX]; /* PTR names */
	size_t nnames;
	int verified; /* index in names of the verified name, -1 if none (yet) */
	bool fcrdns_done;

	struct mx_rep_query qs[DNSBL_MAX_ZONES + 1 + MX_REP_MAX_NAMES];
	size_t nqs, pending;
	mx_reputation_done_fn done_cb;
	void *ud;
};

/* Start the checks for the client at ip (as conn_peer_ip() gives it).
 * Returns true when answers are awaited: done(ud) runs once when the last
 * is in (never from inside this call). false: nothing to wait for (no
 * zones and no FCrDNS, no resolver, a trusted network, an address that
 * does not parse); the verdict is then clean. */
bool mx_reputation_start(struct mx_reputation *r, struct dns_resolver *dns,
                         const struct smtp_spam_settings *cfg, const struct netlist *trusted,
                         const char *ip, mx_reputation_done_fn done, void *ud);
/* Cancel what is still in flight: done will not run. Idempotent. */
void mx_reputation_cancel(struct mx_reputation *r);
/* The session is authenticated: nothing counts against it any more. */
void mx_reputation_exempt(struct mx_reputation *r);

/* Should mail from this client be refused? Then detail gets
 * "<ip> listed by <zone>" for the 554 5.7.1 reply (RFC 5782 suggests
 * naming the list). */
bool mx_reputation_reject(const struct mx_reputation *r, char *detail, size_t cap);
/* Does the DNSBL score send this client's mail to Junk? */
bool mx_reputation_junk(const struct mx_reputation *r);
/* The sum of the weights of the zones that list the client. */
int64_t mx_reputation_score(const struct mx_reputation *r);
/* What the built-in spam score takes from the connection
 * (mailauth/junk_score.h): the DNSBL sum when a zone lists the client, and
 * whether FCrDNS ([spam] fcrdns) ended without a verified name. Leaves in
 * untouched for NULL, an exempt client or one never checked. */
void mx_reputation_score_input(const struct mx_reputation *r, struct junk_input *in);
/* The FCrDNS-verified name of the client, or NULL. */
const char *mx_reputation_name(const struct mx_reputation *r);
/* Count the verdict in the metrics and log it once (at the greeting). */
void mx_reputation_log(const struct mx_reputation *r, uint64_t conn, const char *peer);

#endif
