/* webhook_addr: the address classifier of webhook URLs (see webhook_addr.h). */
#include "relay/webhook_addr.h"

#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

static bool v4_refused(uint32_t a) /* host order */
{
	uint8_t b0 = (uint8_t)(a >> 24), b1 = (uint8_t)(a >> 16);
	return b0 == 0                             /* unspecified, "this network" */
	       || b0 == 10                         /* private */
	       || b0 == 127                        /* loopback */
	       || (b0 == 169 && b1 == 254)         /* link-local */
	       || (b0 == 172 && (b1 & 0xf0) == 16) /* private 172.16/12 */
	       || (b0 == 192 && b1 == 168)         /* private */
	       || (b0 == 100 && (b1 & 0xc0) == 64) /* shared 100.64/10 */
	       || b0 >= 224;                       /* multicast, reserved, broadcast */
}

bool webhook_addr_refused(const struct sockaddr *sa)
{
	if (!sa)
		return true;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		return v4_refused(ntohl(in->sin_addr.s_addr));
	}
	if (sa->sa_family != AF_INET6)
		return true;
	const uint8_t *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (memcmp(b, mapped, 12) == 0)
		return v4_refused((uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 |
		                  (uint32_t)b[14] << 8 | b[15]);
	static const uint8_t zero[15] = {0};
	if (memcmp(b, zero, 15) == 0) /* :: and ::1 */
		return true;
	return b[0] == 0xff                               /* multicast */
	       || (b[0] & 0xfe) == 0xfc                   /* unique local fc00::/7 */
	       || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) /* link-local fe80::/10 */
	       || (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) /* site-local, deprecated */
	       || memcmp(b, zero, 12) == 0;               /* IPv4-compatible, deprecated */
}
