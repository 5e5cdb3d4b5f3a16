/* dnsbl: query names, answers and verdicts of DNS block/allow lists
 * (RFC 5782); see dnsbl.h for why they are read as they are. */
#include "mailauth/dnsbl.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

bool dnsbl_zone_valid(const char *zone)
{
	size_t n = strnlen(zone, DNSBL_ZONE_MAX + 1), label = 0;
	if (n == 0 || n > DNSBL_ZONE_MAX || zone[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)zone[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
		if (++label > 63)
			return false;
	}
	return true;
}

bool dnsbl_query_name(int family, const uint8_t *a, const char *zone, char *out, size_t outlen)
{
	if (!dnsbl_zone_valid(zone) || outlen == 0)
		return false;
	size_t zl = strlen(zone);
	if (zone[zl - 1] == '.') /* a trailing dot is allowed and not doubled */
		zl--;
	int n;
	if (family == AF_INET) {
		n = snprintf(out, outlen, "%u.%u.%u.%u.%.*s", a[3], a[2], a[1], a[0], (int)zl,
		             zone);
	} else if (family == AF_INET6) {
		static const char hex[] = "0123456789abcdef";
		char nib[65];
		size_t o = 0;
		for (int i = 15; i >= 0; i--) {
			nib[o++] = hex[a[i] & 15];
			nib[o++] = '.';
			nib[o++] = hex[a[i] >> 4];
			nib[o++] = '.';
		}
		nib[o] = '\0';
		n = snprintf(out, outlen, "%s%.*s", nib, (int)zl, zone);
	} else {
		out[0] = '\0';
		return false;
	}
	if (n < 0 || (size_t)n >= outlen) {
		out[0] = '\0';
		return false;
	}
	return true;
}

bool dnsbl_is_listing(const uint8_t a[4])
{
	if (a[0] != 127)
		return false;
	/* 127.255.255.0/24: Spamhaus's error codes (open resolver, quota,
	 * typo), not a listing. */
	return !(a[1] == 255 && a[2] == 255);
}

enum dnsbl_result dnsbl_interpret(const struct dns_answer *a, unsigned *code)
{
	if (code)
		*code = 0;
	switch (a->status) {
	case DNS_Q_NXDOMAIN:
	case DNS_Q_NODATA:
		return DNSBL_NOT_LISTED;
	case DNS_Q_TEMP:
		return DNSBL_ERROR;
	case DNS_Q_DATA:
		break;
	}
	bool list_error = false;
	for (size_t i = 0; i < a->nrrs && i < DNS_Q_MAX_RRS; i++) {
		const struct dns_rr *rr = &a->rrs[i];
		if (rr->family != AF_INET)
			continue;
		if (dnsbl_is_listing(rr->addr)) {
			if (code)
				*code = rr->addr[3];
			return DNSBL_LISTED;
		}
		if (rr->addr[0] == 127)
			list_error = true;
	}
	return list_error ? DNSBL_ERROR : DNSBL_NOT_LISTED;
}

void dnsbl_verdict(const struct dnsbl_zone *zones, const enum dnsbl_result *results, size_t n,
                   struct dnsbl_verdict *v)
{
	memset(v, 0, sizeof *v);
	v->reject_zone = -1;
	if (n > DNSBL_MAX_ZONES)
		n = DNSBL_MAX_ZONES;
	for (size_t i = 0; i < n; i++) {
		if (results[i] == DNSBL_ERROR)
			v->errors++;
		if (results[i] != DNSBL_LISTED)
			continue;
		v->listed++;
		/* Weights are bounded by the config; saturate anyway. */
		int64_t w = zones[i].weight;
		if (w > 1000000)
			w = 1000000;
		if (w < -1000000)
			w = -1000000;
		v->score += w;
		if (zones[i].action == DNSBL_ACTION_REJECT && zones[i].weight > 0 &&
		    v->reject_zone < 0)
			v->reject_zone = (int)i;
	}
	v->reject = v->reject_zone >= 0 && v->score > 0;
}

const char *dnsbl_result_name(enum dnsbl_result r)
{
	switch (r) {
	case DNSBL_PENDING:
		return "pending";
	case DNSBL_NOT_LISTED:
		return "not_listed";
	case DNSBL_LISTED:
		return "listed";
	case DNSBL_ERROR:
		return "error";
	}
	return "?";
}
