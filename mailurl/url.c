/* url: the IMAP URL parser (url.h). One pass, left to right, over the
 * RFC 5092 grammar for message and part URLs; everything the client sent
 * lands in fixed-size fields, so a hostile URL costs nothing but the
 * parse. */
#include "mailurl/url.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/hex.h"

/* %-decode s[0..n) into out (cap bytes, NUL-terminated). A NUL, or a
 * character RFC 5092 never leaves bare in a field (';' '?' '#' and
 * controls), makes it invalid. */
static int decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%') {
			int h, l;
			if (i + 2 >= n || (h = hex_value(s[i + 1])) < 0 ||
			    (l = hex_value(s[i + 2])) < 0)
				return -EINVAL;
			c = (unsigned char)(h << 4 | l);
			if (c == 0)
				return -EINVAL;
			i += 2;
		} else if (c <= 0x20 || c == 0x7f || c == ';' || c == '?' || c == '#') {
			return -EINVAL;
		}
		if (o + 1 >= cap)
			return -EINVAL;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

static int number(const char *s, size_t n, uint32_t *out, bool nonzero)
{
	uint64_t v = 0;
	if (n == 0 || n > 10)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > UINT32_MAX || (nonzero && v == 0))
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* Does s[*i..n) start with key (upper case, e.g. ";UID=")? Then skip it. */
static bool key(const char *s, size_t n, size_t *i, const char *k)
{
	size_t kl = strlen(k);
	if (n - *i < kl || strncasecmp(s + *i, k, kl) != 0)
		return false;
	*i += kl;
	return true;
}

/* The end of a field: the next ';' or '/' (or ':' for the access
 * identifier), or n. */
static size_t field_end(const char *s, size_t n, size_t i, const char *stops)
{
	while (i < n && !strchr(stops, s[i]))
		i++;
	return i;
}

static int two(const char *p, int *v)
{
	if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]))
		return -EINVAL;
	*v = (p[0] - '0') * 10 + (p[1] - '0');
	return 0;
}

/* RFC 3339 date-time (RFC 4467 ";EXPIRE="), %-decoded, into unix time. */
static int rfc3339(const char *s, int64_t *out)
{
	size_t n = strlen(s);
	int y1, y2, mo, d, h, mi, se;
	if (n < 20 || two(s, &y1) || two(s + 2, &y2) || s[4] != '-' || two(s + 5, &mo) ||
	    s[7] != '-' || two(s + 8, &d) || (s[10] != 'T' && s[10] != 't') || two(s + 11, &h) ||
	    s[13] != ':' || two(s + 14, &mi) || s[16] != ':' || two(s + 17, &se))
		return -EINVAL;
	size_t i = 19;
	if (s[i] == '.') {
		i++;
		size_t f = i;
		while (isdigit((unsigned char)s[i]))
			i++;
		if (i == f)
			return -EINVAL;
	}
	int off = 0;
	if ((s[i] == 'Z' || s[i] == 'z') && s[i + 1] == '\0') {
		off = 0;
	} else if ((s[i] == '+' || s[i] == '-') && n - i == 6 && s[i + 3] == ':') {
		int oh, om;
		if (two(s + i + 1, &oh) || two(s + i + 4, &om) || oh > 23 || om > 59)
			return -EINVAL;
		off = (oh * 60 + om) * 60 * (s[i] == '-' ? -1 : 1);
	} else {
		return -EINVAL;
	}
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return -EINVAL;
	struct tm tm = {.tm_year = y1 * 100 + y2 - 1900,
	                .tm_mon = mo - 1,
	                .tm_mday = d,
	                .tm_hour = h,
	                .tm_min = mi,
	                .tm_sec = se};
	*out = (int64_t)timegm(&tm) - off;
	return 0;
}

/* iserver: [user [";AUTH=" type] "@"] host [":" port], up to the first
 * '/' after it (or the end). */
static int server(const char *s, size_t n, size_t *i, struct mailurl *u)
{
	size_t end = field_end(s, n, *i, "/");
	const char *at = memrchr(s + *i, '@', end - *i);
	size_t hs = *i;
	if (at) {
		size_t ue = (size_t)(at - s), semi = field_end(s, ue, *i, ";");
		if (decode(s + *i, semi - *i, u->user, sizeof u->user) < 0)
			return -EINVAL;
		if (semi < ue) {
			size_t k = semi;
			if (!key(s, ue, &k, ";AUTH=") || k == ue ||
			    decode(s + k, ue - k, u->auth_type, sizeof u->auth_type) < 0)
				return -EINVAL;
		}
		if (!u->user[0] && !u->auth_type[0])
			return -EINVAL;
		hs = ue + 1;
	}
	size_t he = end;
	if (hs < end && s[hs] == '[') { /* IPv6 literal */
		const char *rb = memchr(s + hs, ']', end - hs);
		if (!rb)
			return -EINVAL;
		he = (size_t)(rb - s) + 1;
	} else {
		const char *colon = memchr(s + hs, ':', end - hs);
		if (colon)
			he = (size_t)(colon - s);
	}
	if (he == hs || decode(s + hs, he - hs, u->host, sizeof u->host) < 0)
		return -EINVAL;
	if (he < end) {
		uint32_t port;
		if (s[he] != ':' || number(s + he + 1, end - he - 1, &port, true) < 0 ||
		    port > 65535)
			return -EINVAL;
		u->port = (uint16_t)port;
	}
	*i = end;
	return 0;
}

int mailurl_parse(const char *s, size_t n, struct mailurl *u)
{
	memset(u, 0, sizeof *u);
	size_t i = 0;
	if (n == 0 || n > MAILURL_MAX || memchr(s, '\0', n))
		return -EINVAL;
	if (key(s, n, &i, "IMAP://")) {
		u->has_server = true;
		if (server(s, n, &i, u) < 0)
			return -EINVAL;
		if (i == n)
			return 0; /* the server alone */
	}
	if (s[i] != '/')
		return -EINVAL;
	i++;
	/* enc-mailbox runs to the first ';' (which RFC 5092 never leaves
	 * bare in it); a '/' just before ";UID=" separates the two. */
	size_t me = field_end(s, n, i, ";?#");
	if (me < n && s[me] != ';')
		return -EINVAL; /* a query or a fragment: not a message */
	size_t mlen = me - i;
	if (me < n && mlen && s[me - 1] == '/' && (me - i) > 1)
		mlen--;
	else if (me < n && mlen == 1 && s[i] == '/')
		return -EINVAL;
	if (decode(s + i, mlen, u->mailbox, sizeof u->mailbox) < 0)
		return -EINVAL;
	i = me;
	if (i == n)
		return 0; /* a mailbox URL */
	if (!u->mailbox[0])
		return -EINVAL;
	size_t e;
	if (key(s, n, &i, ";UIDVALIDITY=")) {
		e = field_end(s, n, i, "/;");
		if (number(s + i, e - i, &u->uidvalidity, true) < 0)
			return -EINVAL;
		i = e;
		if (i < n && s[i] == '/')
			i++;
	}
	if (!key(s, n, &i, ";UID="))
		return -EINVAL;
	e = field_end(s, n, i, "/;");
	if (number(s + i, e - i, &u->uid, true) < 0)
		return -EINVAL;
	i = e;
	if (key(s, n, &i, "/;SECTION=")) {
		e = field_end(s, n, i, "/;");
		if (e == i || decode(s + i, e - i, u->section, sizeof u->section) < 0)
			return -EINVAL;
		i = e;
	}
	if (key(s, n, &i, "/;PARTIAL=")) {
		e = field_end(s, n, i, "/;");
		const char *dot = memchr(s + i, '.', e - i);
		size_t ne = dot ? (size_t)(dot - s) : e;
		if (number(s + i, ne - i, &u->partial_off, false) < 0 ||
		    (dot && number(dot + 1, e - ne - 1, &u->partial_len, true) < 0))
			return -EINVAL;
		u->has_partial = true;
		i = e;
	}
	if (i == n)
		return 0;
	if (key(s, n, &i, ";EXPIRE=")) {
		char date[64];
		e = field_end(s, n, i, ";");
		if (decode(s + i, e - i, date, sizeof date) < 0 || rfc3339(date, &u->expire) < 0)
			return -EINVAL;
		u->has_expire = true;
		i = e;
	}
	if (!key(s, n, &i, ";URLAUTH="))
		return -EINVAL;
	e = field_end(s, n, i, ":");
	char access[sizeof u->access];
	if (decode(s + i, e - i, access, sizeof access) < 0)
		return -EINVAL;
	if (strcasecmp(access, "anonymous") == 0 || strcasecmp(access, "authuser") == 0) {
		for (char *p = access; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	} else if (strncasecmp(access, "submit+", 7) == 0 || strncasecmp(access, "user+", 5) == 0) {
		char *plus = strchr(access, '+');
		if (!plus[1])
			return -EINVAL;
		for (char *p = access; p < plus; p++)
			*p = (char)tolower((unsigned char)*p);
	} else {
		return -EINVAL;
	}
	memcpy(u->access, access, sizeof access);
	u->has_urlauth = true;
	u->rump_len = e;
	i = e;
	if (i == n)
		return 0;
	/* ":" mechanism ":" token, the token 32 or more hex digits */
	i++;
	e = field_end(s, n, i, ":");
	if (e == i || e == n || e - i >= sizeof u->mechanism)
		return -EINVAL;
	for (size_t k = i; k < e; k++)
		if (!isalnum((unsigned char)s[k]) && s[k] != '-' && s[k] != '.')
			return -EINVAL;
	memcpy(u->mechanism, s + i, e - i);
	i = e + 1;
	if (n - i < 32 || n - i > MAILURL_TOKEN_MAX)
		return -EINVAL;
	for (size_t k = i; k < n; k++)
		if (hex_value(s[k]) < 0)
			return -EINVAL;
	memcpy(u->token, s + i, n - i);
	return 0;
}
