/* dns_internal: what the other query kinds of net/ (dns_query.c) need of
 * the resolver in dns.c, its c-ares channel and timer, without making the
 * resolver's struct public. Not for use outside net/. */
#ifndef TERN_DNS_INTERNAL_H
#define TERN_DNS_INTERNAL_H

#include "net/dns.h"

#include <ares.h>
#include <stdbool.h>

/* The c-ares channel queries are started on. */
ares_channel dns_resolver_channel(struct dns_resolver *r);
/* True once dns_resolver_free() has started: start nothing new. */
bool dns_resolver_closing(const struct dns_resolver *r);
/* Re-arm the retransmission timer after starting a query. */
void dns_resolver_kick(struct dns_resolver *r);

#endif
