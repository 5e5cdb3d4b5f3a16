/* srs: the Sender Rewriting Scheme's codec (srs.h says the forms and
 * why). The hash covers the fields lowercased and NUL-separated, so an
 * MTA on the way that lowercases the local part changes nothing, and no
 * two splits of the same text hash alike. */
#include "mailauth/srs.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "tls/hmac.h"

static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

static int b32_value(char c)
{
	c = (char)toupper((unsigned char)c);
	const char *p = c ? strchr(b32, c) : NULL;
	return p ? (int)(p - b32) : -1;
}

/* The hash of n fields: HHHH. -1 when a field is absurdly long. */
static int srs_hash(const struct srs_key *k, const char *const *fields, size_t n,
                    char out[SRS_HASH_LEN + 1])
{
	char text[2 * SRS_ADDR_MAX];
	size_t used = 0;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(fields[i]);
		if (used + len + 1 > sizeof text)
			return -1;
		for (size_t c = 0; c < len; c++)
			text[used++] = (char)tolower((unsigned char)fields[i][c]);
		text[used++] = '\0';
	}
	unsigned char mac[HMAC_MAX_LEN];
	if (hmac_sign(HMAC_SHA256, k->secret, k->len, text, used, mac) < 0)
		return -1;
	uint32_t bits = ((uint32_t)mac[0] << 16) | ((uint32_t)mac[1] << 8) | mac[2];
	for (int i = 0; i < SRS_HASH_LEN; i++)
		out[i] = b32[(bits >> (19 - 5 * i)) & 31];
	out[SRS_HASH_LEN] = '\0';
	return 0;
}

/* Equal hashes, whatever their case, in time independent of where they
 * differ. */
static bool hash_equal(const char *given, size_t len, const char *want)
{
	if (len != SRS_HASH_LEN)
		return false;
	unsigned diff = 0;
	for (size_t i = 0; i < SRS_HASH_LEN; i++)
		diff |= (unsigned)(toupper((unsigned char)given[i]) ^ want[i]);
	return diff == 0;
}

static unsigned today(int64_t now)
{
	return (unsigned)((now < 0 ? 0 : now) / 86400 % 1024);
}

/* "SRS0" or "SRS1" and a separator at the start of local: 0 or 1, or -1. */
static int srs_tag(const char *local)
{
	if (strncasecmp(local, "SRS", 3) != 0 || (local[3] != '0' && local[3] != '1') ||
	    !strchr("=+-", local[4]) || !local[4])
		return -1;
	return local[3] - '0';
}

/* Split addr at its last '@' into local[cap] and its domain. */
static int split(const char *addr, char *local, size_t cap, const char **domain)
{
	const char *at = strrchr(addr, '@');
	if (!at || at == addr || !at[1] || (size_t)(at - addr) >= cap)
		return -EINVAL;
	memcpy(local, addr, (size_t)(at - addr));
	local[at - addr] = '\0';
	*domain = at + 1;
	return 0;
}

static int emit(char *out, size_t cap, int n)
{
	if (n < 0 || (size_t)n >= cap || n >= SRS_ADDR_MAX ||
	    (size_t)(strrchr(out, '@') - out) > SRS_LOCAL_MAX) {
		if (cap)
			out[0] = '\0';
		return -ENAMETOOLONG;
	}
	return 0;
}

int srs_forward(const struct srs_key *k, const char *sender, const char *our_domain, int64_t now,
                char *out, size_t cap)
{
	char local[SRS_ADDR_MAX], hash[SRS_HASH_LEN + 1];
	const char *domain;
	if (!sender || !our_domain || !our_domain[0])
		return -EINVAL;
	if (strlen(sender) >= SRS_ADDR_MAX)
		return -ENAMETOOLONG;
	if (split(sender, local, sizeof local, &domain) < 0 || strchr(domain, '='))
		return -EINVAL; /* '=' in a domain would not decode */
	int tag = srs_tag(local);
	if (tag == 0 && local[5]) {
		/* SRS0 at another forwarder: SRS1 naming it, its part kept
		 * (with its separator) so that it can decode it itself */
		const char *f[2] = {domain, local + 4};
		if (srs_hash(k, f, 2, hash) < 0)
			return -ENAMETOOLONG;
		return emit(
		    out, cap,
		    snprintf(out, cap, "SRS1=%s=%s=%s@%s", hash, domain, local + 4, our_domain));
	}
	if (tag == 1) {
		/* SRS1=HHHH=host=rest: the same first forwarder, our hash */
		char *h = strchr(local + 5, '=');
		char *host_end = h ? strchr(h + 1, '=') : NULL;
		if (h && host_end && host_end > h + 1 && host_end[1] &&
		    strchr("=+-", host_end[1]) && host_end[2]) {
			*host_end = '\0';
			const char *f[2] = {h + 1, host_end + 1};
			if (srs_hash(k, f, 2, hash) < 0)
				return -ENAMETOOLONG;
			return emit(out, cap,
			            snprintf(out, cap, "SRS1=%s=%s=%s@%s", hash, h + 1,
			                     host_end + 1, our_domain));
		}
		/* not really SRS1: treated as an ordinary local part below */
	}
	unsigned t = today(now);
	char stamp[3] = {b32[(t >> 5) & 31], b32[t & 31], '\0'};
	const char *f[3] = {stamp, domain, local};
	if (srs_hash(k, f, 3, hash) < 0)
		return -ENAMETOOLONG;
	return emit(
	    out, cap,
	    snprintf(out, cap, "SRS0=%s=%s=%s=%s@%s", hash, stamp, domain, local, our_domain));
}

/* The next '='-separated field of *p: its start, and *p after its '='.
 * NULL when there is no '=' left. */
static char *next_field(char **p)
{
	char *start = *p;
	char *eq = strchr(start, '=');
	if (!eq)
		return NULL;
	*eq = '\0';
	*p = eq + 1;
	return start;
}

static enum srs_verdict reverse0(const struct srs_key *k, char *rest, int64_t now, char *out,
                                 size_t cap)
{
	char want[SRS_HASH_LEN + 1];
	char *hash = next_field(&rest);
	char *stamp = hash ? next_field(&rest) : NULL;
	char *domain = stamp ? next_field(&rest) : NULL;
	const char *local = rest;
	if (!domain || !domain[0] || !local[0] || strlen(stamp) != 2)
		return SRS_MALFORMED;
	int hi = b32_value(stamp[0]), lo = b32_value(stamp[1]);
	if (hi < 0 || lo < 0)
		return SRS_MALFORMED;
	char st[3] = {b32[hi], b32[lo], '\0'};
	const char *f[3] = {st, domain, local};
	if (srs_hash(k, f, 3, want) < 0 || !hash_equal(hash, strlen(hash), want))
		return SRS_BAD_HASH;
	unsigned age = (today(now) + 1024 - (unsigned)(hi * 32 + lo)) % 1024;
	if (age > SRS_MAX_AGE_DAYS)
		return SRS_EXPIRED;
	return emit(out, cap, snprintf(out, cap, "%s@%s", local, domain)) < 0 ? SRS_MALFORMED
	                                                                      : SRS_OK;
}

static enum srs_verdict reverse1(const struct srs_key *k, char *rest, char *out, size_t cap)
{
	char want[SRS_HASH_LEN + 1];
	char *hash = next_field(&rest);
	char *host = hash ? next_field(&rest) : NULL;
	/* rest is the first forwarder's part, from its separator on */
	if (!host || !host[0] || !rest[0] || !strchr("=+-", rest[0]) || !rest[1])
		return SRS_MALFORMED;
	const char *f[2] = {host, rest};
	if (srs_hash(k, f, 2, want) < 0 || !hash_equal(hash, strlen(hash), want))
		return SRS_BAD_HASH;
	return emit(out, cap, snprintf(out, cap, "SRS0%s@%s", rest, host)) < 0 ? SRS_MALFORMED
	                                                                       : SRS_OK;
}

enum srs_verdict srs_reverse(const struct srs_key *k, const char *addr, int64_t now, char *out,
                             size_t cap)
{
	char local[SRS_ADDR_MAX];
	const char *domain;
	if (cap)
		out[0] = '\0';
	if (!addr || strlen(addr) >= SRS_ADDR_MAX || split(addr, local, sizeof local, &domain) < 0)
		return SRS_NOT_SRS;
	int tag = srs_tag(local);
	if (tag < 0)
		return SRS_NOT_SRS;
	if (!k || !k->len)
		return SRS_BAD_HASH;
	return tag == 0 ? reverse0(k, local + 5, now, out, cap) : reverse1(k, local + 5, out, cap);
}
