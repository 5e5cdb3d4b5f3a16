/* ipnet: lists of networks in config text ("10.0.0.0/8, 2001:db8::/32,
 * 192.0.2.7"), for the addresses that are trusted and never checked
 * ([spam] trusted_networks). An IPv4-mapped IPv6 address
 * (::ffff:192.0.2.7) matches as the IPv4 address it is. */
#ifndef TERN_LIB_IPNET_H
#define TERN_LIB_IPNET_H

#include <stdbool.h>

/* Is every comma- or space-separated entry an address or address/prefix? */
bool ipnet_list_valid(const char *list);
/* Is ip ("192.0.2.7", "::1") in one of the list's networks? A list or an
 * address that does not parse matches nothing. */
bool ipnet_list_match(const char *list, const char *ip);

#endif
