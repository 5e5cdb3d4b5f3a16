/* netlist: parse and match the [auth] override lists (netlist.h). */
#include "mailauth/netlist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

static bool name_ok(const char *s, size_t n)
{
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(c == '.' || c == '-' || c == '_' || (c >= '0' && c <= '9') ||
		      (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
			return false;
	}
	return true;
}

static int add_item(struct netlist *l, const char *item, bool allow_names, char *err, size_t errlen)
{
	char addr[64];
	const char *slash = strchr(item, '/');
	size_t alen = slash ? (size_t)(slash - item) : strlen(item);
	struct spf_ip ip;
	if (alen < sizeof addr) {
		memcpy(addr, item, alen);
		addr[alen] = '\0';
		if (spf_ip_parse(addr, &ip) == 0) {
			int max = ip.family == AF_INET6 ? 128 : 32, prefix = max;
			if (slash) {
				char *end;
				long p = strtol(slash + 1, &end, 10);
				if (!slash[1] || *end || p < 0 || p > max) {
					snprintf(err, errlen, "bad prefix length in \"%s\"", item);
					return -1;
				}
				prefix = (int)p;
			}
			if (l->nnets == NETLIST_MAX_NETS) {
				snprintf(err, errlen, "more than %d networks", NETLIST_MAX_NETS);
				return -1;
			}
			l->nets[l->nnets].net = ip;
			l->nets[l->nnets].prefix = prefix;
			l->nnets++;
			return 0;
		}
	}
	size_t n = strlen(item);
	if (n && item[n - 1] == '.')
		n--;
	if (!allow_names || slash || !name_ok(item, n)) {
		snprintf(err, errlen, "\"%s\" is not an address or CIDR block%s", item,
		         allow_names ? " or a domain name" : "");
		return -1;
	}
	if (l->nnames == NETLIST_MAX_NAMES) {
		snprintf(err, errlen, "more than %d names", NETLIST_MAX_NAMES);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		l->names[l->nnames][i] =
		    (char)((item[i] >= 'A' && item[i] <= 'Z') ? item[i] + 32 : item[i]);
	l->names[l->nnames][n] = '\0';
	l->nnames++;
	return 0;
}

int netlist_parse(struct netlist *l, const char *text, bool allow_names, char *err, size_t errlen)
{
	memset(l, 0, sizeof *l);
	const char *p = text ? text : "";
	while (*p) {
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		size_t n = strcspn(p, ", \t");
		if (n == 0)
			break;
		char item[300];
		if (n >= sizeof item) {
			snprintf(err, errlen, "an item of %zu characters", n);
			return -1;
		}
		memcpy(item, p, n);
		item[n] = '\0';
		if (add_item(l, item, allow_names, err, errlen) < 0)
			return -1;
		p += n;
	}
	return 0;
}

bool netlist_has_ip(const struct netlist *l, const struct spf_ip *ip)
{
	for (size_t i = 0; i < l->nnets; i++)
		if (spf_ip_match(ip, &l->nets[i].net, l->nets[i].prefix))
			return true;
	return false;
}

bool netlist_has_name(const struct netlist *l, const char *name)
{
	size_t n = strlen(name);
	if (n && name[n - 1] == '.')
		n--;
	for (size_t i = 0; i < l->nnames; i++)
		if (strlen(l->names[i]) == n && strncasecmp(l->names[i], name, n) == 0)
			return true;
	return false;
}
