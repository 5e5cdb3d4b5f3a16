/* spf: SPF evaluation, check_host() of RFC 7208 4, for the MAIL FROM and
 * the HELO identities, asynchronous.
 *
 * The evaluator is a state machine that asks DNS questions through a
 * resolver interface (struct spf_resolver): in the server that is the
 * c-ares resolver of net/ (spf_resolver_dns()), in tests a fake zone. It
 * never blocks; each answer moves it on until the result is known, then
 * the callback gets a struct spf_outcome.
 *
 * Limits (4.6.4): 10 mechanisms/modifiers that query DNS (include, a, mx,
 * ptr, exists, redirect), 2 void lookups, 10 MX names per mx, 10 PTR
 * names per ptr or %{p}; include/redirect loops end at the first limit. */
#ifndef TERN_SPF_H
#define TERN_SPF_H

#include "mailauth/spf_record.h"
#include "net/dns_query.h"

#define SPF_MAX_DNS_MECHS 10
#define SPF_MAX_VOID 2
#define SPF_MAX_NAMES 10

/* Start a query; the answer goes to cb(cb_ud, answer) exactly once unless
 * cancelled, possibly before query() returns (fakes do that). Returns a
 * handle for cancel, or NULL when it could not start (then cb is never
 * called). */
struct spf_resolver {
	void *ud;
	void *(*query)(void *ud, const char *name, enum dns_qtype type, dns_query_cb cb,
	               void *cb_ud);
	void (*cancel)(void *ud, void *handle);
};

/* The c-ares resolver of net/dns.h as an spf_resolver. */
struct spf_resolver spf_resolver_dns(struct dns_resolver *r);

struct spf_request {
	struct spf_ip ip;      /* the SMTP client */
	const char *mail_from; /* the reverse-path without <>; "" or NULL: a HELO check */
	const char *helo;      /* the HELO/EHLO argument */
	const char *receiver;  /* our host name, for %{r} in explanations; may be NULL */
};

struct spf_outcome {
	enum spf_result result;
	char domain[256];       /* the identity's domain checked */
	char sender[600];       /* local@domain as evaluated */
	char explanation[1024]; /* fail only: the exp= text, if any */
	char problem[256];      /* why permerror/temperror/none, for logs */
	unsigned dns_mechs, void_lookups;
};

typedef void (*spf_done_cb)(void *ud, const struct spf_outcome *o);
struct spf_check;

/* Start check_host() for req. cb is called exactly once unless
 * spf_check_cancel() came first. If the result is known before this
 * returns (a malformed identity, or a resolver that answers at once), cb
 * has already run and the return is NULL. */
struct spf_check *spf_check_start(const struct spf_resolver *res, const struct spf_request *req,
                                  spf_done_cb cb, void *ud);
/* No callback afterwards; outstanding queries are cancelled. */
void spf_check_cancel(struct spf_check *c);

/* "1.2.3.4" or "2001:db8::1" (an IPv4-mapped IPv6 becomes IPv4). */
int spf_ip_parse(const char *s, struct spf_ip *ip);
/* Whether addr is in net/prefix (same family). */
bool spf_ip_match(const struct spf_ip *addr, const struct spf_ip *net, int prefix);

#endif
