/* webhook_addr: may a webhook POST go to this address?
 *
 * A webhook's URL is chosen by whoever owns an account or a domain; left
 * unchecked it would make tern call its own admin API, its metrics, or a
 * host on the private network behind it. So every address the URL's host
 * resolves to is classified, at `tern webhook add` and before each POST
 * (DNS can change in between), and the POST connects to the address that
 * was checked. */
#ifndef TERN_RELAY_WEBHOOK_ADDR_H
#define TERN_RELAY_WEBHOOK_ADDR_H

#include <stdbool.h>
#include <sys/socket.h>

/* true for loopback (127/8, ::1), link-local (169.254/16, fe80::/10),
 * private (10/8, 172.16/12, 192.168/16, 100.64/10 shared, fc00::/7),
 * unspecified (0/8, ::), multicast (224/4, ff00::/8), broadcast and other
 * reserved (240/4) addresses, and IPv4 inside IPv6 (::ffff:a.b.c.d) judged
 * as its IPv4; false for a public address. Anything else (unknown family)
 * is refused too. */
bool webhook_addr_refused(const struct sockaddr *sa);

#endif
