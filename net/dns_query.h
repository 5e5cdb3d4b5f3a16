/* dns_query: single DNS queries (TXT, A, AAAA, MX, PTR, TLSA) on the
 * resolver of net/dns.h, for mail authentication and DANE.
 *
 * Unlike dns_resolve_mx(), which hides how an answer went, these tell the
 * four outcomes apart, because SPF's void-lookup limit and its temperror
 * depend on them (RFC 7208 4.6.4, 2.6.6):
 *   DNS_Q_DATA     NOERROR with at least one record of the type asked for;
 *   DNS_Q_NODATA   NOERROR and no such record (also a CNAME leading nowhere);
 *   DNS_Q_NXDOMAIN the name does not exist;
 *   DNS_Q_TEMP     SERVFAIL, REFUSED, a timeout, a malformed answer.
 *
 * TXT: each RR is one record, its character-strings concatenated without
 * anything between them (RFC 7208 3.3); several RRs stay apart. MX: the
 * exchange names with preferences. PTR: the names. A/AAAA: addresses.
 * TLSA (for DANE, RFC 7672): each RR's RDATA as it came (binary, in
 * `text`/`len`), and `authenticated`: the AD bit of the answer's header.
 * The query goes out with AD set (RFC 6840 5.7) so a validating resolver
 * reports it; AD only means something from a validating resolver on a
 * trusted path (a local unbound in `[queue] dns_servers`). c-ares 1.18
 * hides the header in its parsed results, so TLSA is sent with ares_send()
 * and the raw answer parsed here (dns_parse_tlsa_answer, bounded).
 * DNS_Q_A_DNSSEC is an A query sent the same way, for its AD bit: whether
 * the resolver validated the name's zone (RFC 7672 2.2: a TLSA lookup
 * that fails for a host in a signed zone must not be taken for "no TLSA";
 * an authenticated NODATA/NXDOMAIN says signed just as well).
 * Answers are bounded (DNS_Q_MAX_RRS records, DNS_Q_POOL bytes of text);
 * what does not fit is dropped and `truncated` set.
 *
 * Cancellable like dns_resolve_mx(): after dns_query_cancel() the callback
 * is never called. Loop thread only. */
#ifndef TERN_DNS_QUERY_H
#define TERN_DNS_QUERY_H

#include "net/dns.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_Q_MAX_RRS 32
#define DNS_Q_POOL 8192

enum dns_qtype { DNS_Q_TXT, DNS_Q_A, DNS_Q_AAAA, DNS_Q_MX, DNS_Q_PTR, DNS_Q_TLSA, DNS_Q_A_DNSSEC };
enum dns_qstatus { DNS_Q_DATA = 0, DNS_Q_NODATA, DNS_Q_NXDOMAIN, DNS_Q_TEMP };

struct dns_rr {
	int family;       /* A/AAAA: AF_INET or AF_INET6 */
	uint8_t addr[16]; /* A: first 4 bytes */
	unsigned pref;    /* MX */
	const char *text; /* TXT (may hold NULs), MX/PTR name: NUL-terminated in pool */
	size_t len;       /* bytes of text */
};

struct dns_answer {
	enum dns_qstatus status;
	bool truncated;
	bool authenticated; /* TLSA and A_DNSSEC only: the answer's AD bit */
	size_t nrrs;
	struct dns_rr rrs[DNS_Q_MAX_RRS];
	size_t pool_used;
	char pool[DNS_Q_POOL];
};

typedef void (*dns_query_cb)(void *ud, const struct dns_answer *a);
struct dns_query;

/* Start a query for name (no search list, no trailing dot needed). Returns
 * a handle for dns_query_cancel(), or NULL if it could not start (then cb
 * is never called). cb is never called from inside dns_query(). */
struct dns_query *dns_query(struct dns_resolver *r, const char *name, enum dns_qtype type,
                            dns_query_cb cb, void *ud);
void dns_query_cancel(struct dns_query *q);

/* Pure helpers, exposed for tests and fakes. */
void dns_answer_init(struct dns_answer *a, enum dns_qstatus st);
/* Append one record's text (copied into the pool, NUL-terminated). Returns
 * the record, or NULL (and sets truncated) when it does not fit. */
struct dns_rr *dns_answer_add_text(struct dns_answer *a, const char *text, size_t len);
struct dns_rr *dns_answer_add_addr(struct dns_answer *a, int family, const void *addr);
const char *dns_qstatus_name(enum dns_qstatus st);
/* Parse a raw DNS answer (header and all) for TLSA: the rcode to a status,
 * the AD bit, the TLSA RRs of the answer section (others, like a CNAME,
 * skipped). A malformed message is DNS_Q_TEMP. Returns a->status. */
enum dns_qstatus dns_parse_tlsa_answer(const uint8_t *msg, size_t len, struct dns_answer *a);
/* The same for any record type want (1: A, kept as addresses; others as
 * RDATA in text/len). */
enum dns_qstatus dns_parse_raw_answer(const uint8_t *msg, size_t len, unsigned want,
                                      struct dns_answer *a);
/* Build the TLSA query for name with RD and AD set (RFC 6840 5.7). Returns
 * its length, or 0 if name does not fit or is not a valid name. */
size_t dns_build_query(const char *name, uint16_t qtype, uint8_t *out, size_t cap);
/* The reverse-lookup name of an address (RFC 1035 3.5, RFC 3596 2.5). */
void dns_reverse_name(int family, const uint8_t *addr, char *out, size_t outlen);

#endif
