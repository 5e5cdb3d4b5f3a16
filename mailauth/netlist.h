/* netlist: the address lists of the [auth] mail-authentication overrides
 * ("trusted_networks", "dmarc_trusted_forwarders"): IPv4/IPv6 addresses
 * and CIDR blocks, and (where allowed) HELO domain names, separated by
 * commas or blanks. Parsed once at startup, matched per connection.
 * Bounded: NETLIST_MAX_NETS blocks, NETLIST_MAX_NAMES names. */
#ifndef TERN_MAILAUTH_NETLIST_H
#define TERN_MAILAUTH_NETLIST_H

#include <stdbool.h>
#include <stddef.h>

#include "mailauth/spf.h"

#define NETLIST_MAX_NETS 64
#define NETLIST_MAX_NAMES 16

struct netlist {
	size_t nnets, nnames;
	struct {
		struct spf_ip net;
		int prefix;
	} nets[NETLIST_MAX_NETS];
	char names[NETLIST_MAX_NAMES][254];
};

/* 0, or -1 with err naming the bad item. allow_names: an item that is not
 * an address is a domain name (lower-cased, trailing dot dropped). */
int netlist_parse(struct netlist *l, const char *text, bool allow_names, char *err, size_t errlen);
bool netlist_has_ip(const struct netlist *l, const struct spf_ip *ip);
/* Case-insensitive, a trailing dot ignored. */
bool netlist_has_name(const struct netlist *l, const char *name);

#endif
