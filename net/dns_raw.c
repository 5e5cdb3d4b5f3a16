/* dns_raw: build a query and read a raw DNS answer for TLSA, and for an
 * A query whose AD bit is wanted (declared in dns_query.h).
 *
 * Why by hand: DANE needs the AD bit of the answer's header, and c-ares
 * 1.18 (Debian 12) parses answers into structures without the header
 * flags and has no TLSA parser. So the TLSA query is built here with AD
 * set (RFC 6840 5.7), sent with ares_send(), and the answer read here:
 * RFC 1035 4.1 wire format, every length checked against the message,
 * name compression pointers skipped (never followed: only the RDATA is
 * kept), at most DNS_Q_MAX_RRS records. c-ares >= 1.22 could give the
 * flags, but this path works on both. */
#include "net/dns_query.h"

#include <string.h>
#include <sys/socket.h>

#define T_A 1
#define T_TLSA 52
#define C_IN 1

size_t dns_build_query(const char *name, uint16_t qtype, uint8_t *out, size_t cap)
{
	size_t nlen = strlen(name);
	if (nlen && name[nlen - 1] == '.')
		nlen--;
	/* header 12 + name (nlen + 2) + type/class 4; names are at most 255 bytes */
	if (nlen == 0 || nlen > 253 || 12 + nlen + 2 + 4 > cap)
		return 0;
	memset(out, 0, 12);
	out[2] = 0x01; /* RD */
	out[3] = 0x20; /* AD: ask a validating resolver to say (RFC 6840 5.7) */
	out[5] = 1;    /* QDCOUNT */
	size_t o = 12;
	const char *p = name, *end = name + nlen;
	while (p < end) {
		const char *dot = memchr(p, '.', (size_t)(end - p));
		size_t l = dot ? (size_t)(dot - p) : (size_t)(end - p);
		if (l == 0 || l > 63)
			return 0;
		out[o++] = (uint8_t)l;
		memcpy(out + o, p, l);
		o += l;
		p += l + (dot ? 1 : 0);
	}
	out[o++] = 0;
	out[o++] = (uint8_t)(qtype >> 8);
	out[o++] = (uint8_t)qtype;
	out[o++] = 0;
	out[o++] = C_IN;
	return o;
}

/* Skip a (possibly compressed) name at *off. 0, or -1 if malformed. */
static int skip_name(const uint8_t *m, size_t len, size_t *off)
{
	size_t o = *off;
	for (int labels = 0; labels < 128; labels++) {
		if (o >= len)
			return -1;
		uint8_t l = m[o];
		if ((l & 0xc0) == 0xc0) { /* pointer: the name ends here */
			if (o + 2 > len)
				return -1;
			*off = o + 2;
			return 0;
		}
		if (l & 0xc0)
			return -1;
		if (l == 0) {
			*off = o + 1;
			return 0;
		}
		o += 1 + (size_t)l;
	}
	return -1;
}

static unsigned u16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

enum dns_qstatus dns_parse_tlsa_answer(const uint8_t *m, size_t len, struct dns_answer *a)
{
	return dns_parse_raw_answer(m, len, T_TLSA, a);
}

enum dns_qstatus dns_parse_raw_answer(const uint8_t *m, size_t len, unsigned want,
                                      struct dns_answer *a)
{
	dns_answer_init(a, DNS_Q_TEMP);
	if (!m || len < 12 || !(m[2] & 0x80)) /* not a response */
		return a->status;
	unsigned rcode = m[3] & 0x0f;
	if (rcode == 3) {
		dns_answer_init(a, DNS_Q_NXDOMAIN);
		a->authenticated = (m[3] & 0x20) != 0;
		return a->status;
	}
	if (rcode != 0)
		return a->status;
	unsigned qd = u16(m + 4), an = u16(m + 6);
	size_t o = 12;
	for (unsigned i = 0; i < qd; i++) {
		if (skip_name(m, len, &o) != 0 || o + 4 > len)
			return a->status;
		o += 4;
	}
	for (unsigned i = 0; i < an; i++) {
		if (skip_name(m, len, &o) != 0 || o + 10 > len)
			goto malformed;
		unsigned type = u16(m + o), cls = u16(m + o + 2), rdlen = u16(m + o + 8);
		o += 10;
		if (rdlen > len - o)
			goto malformed;
		if (type == want && cls == C_IN) {
			if (want == T_A && rdlen == 4)
				dns_answer_add_addr(a, AF_INET, m + o);
			else if (want != T_A)
				dns_answer_add_text(a, (const char *)m + o, rdlen);
		}
		o += rdlen;
	}
	a->status = a->nrrs ? DNS_Q_DATA : DNS_Q_NODATA;
	a->authenticated = (m[3] & 0x20) != 0;
	return a->status;
malformed:
	dns_answer_init(a, DNS_Q_TEMP);
	return a->status;
}
