/* ipnet: address/prefix lists from the config; see ipnet.h. */
#include "lib/ipnet.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct ipnet_addr {
	int family;
	uint8_t b[16];
};

static bool parse_addr(const char *s, struct ipnet_addr *a)
{
	if (inet_pton(AF_INET, s, a->b) == 1) {
		a->family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, a->b) != 1)
		return false;
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (memcmp(a->b, mapped, 12) == 0) {
		memmove(a->b, a->b + 12, 4);
		a->family = AF_INET;
	} else {
		a->family = AF_INET6;
	}
	return true;
}

/* One entry (len bytes at s): parse into net and prefix. */
static bool parse_net(const char *s, size_t len, struct ipnet_addr *net, unsigned *prefix)
{
	char buf[64];
	if (len == 0 || len >= sizeof buf)
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	char *slash = strchr(buf, '/');
	long p = -1;
	if (slash) {
		*slash = '\0';
		char *end;
		if (!slash[1] || slash[1] == '-' || slash[1] == '+')
			return false;
		p = strtol(slash + 1, &end, 10);
		if (*end)
			return false;
	}
	if (!parse_addr(buf, net))
		return false;
	long max = net->family == AF_INET ? 32 : 128;
	if (p < 0)
		p = max;
	if (p > max)
		return false;
	*prefix = (unsigned)p;
	return true;
}

static bool in_net(const struct ipnet_addr *a, const struct ipnet_addr *net, unsigned prefix)
{
	if (a->family != net->family)
		return false;
	unsigned full = prefix / 8, rest = prefix % 8;
	if (memcmp(a->b, net->b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a->b[full] & mask) == (net->b[full] & mask);
}

/* Calls each entry; stops at the first that fails to parse (false) or
 * matches (*hit set). */
static bool walk(const char *list, const struct ipnet_addr *a, bool *hit)
{
	const char *p = list;
	*hit = false;
	while (*p) {
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		size_t n = strcspn(p, ", \t");
		struct ipnet_addr net;
		unsigned prefix;
		if (!parse_net(p, n, &net, &prefix))
			return false;
		if (a && in_net(a, &net, prefix)) {
			*hit = true;
			return true;
		}
		p += n;
	}
	return true;
}

bool ipnet_list_valid(const char *list)
{
	bool hit;
	return walk(list, NULL, &hit);
}

bool ipnet_list_match(const char *list, const char *ip)
{
	struct ipnet_addr a;
	bool hit;
	if (!parse_addr(ip, &a))
		return false;
	return walk(list, &a, &hit) && hit;
}
