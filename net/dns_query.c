/* dns_query: single typed queries on the c-ares channel of net/dns.c
 * (contract in dns_query.h).
 *
 * Why a file of its own: dns.c answers one question for the relay (where
 * to deliver), hiding the DNS outcome in DNS_TEMP/DNS_PERM. Mail
 * authentication asks many small questions and needs the raw outcome. The
 * channel, its sockets and its timer are shared (dns_internal.h).
 *
 * TLSA goes out with ares_send() instead (dns_raw.c says why).
 *
 * ares_query() (no search list) already maps the rcode: NXDOMAIN ->
 * ARES_ENOTFOUND, NOERROR without answers -> ARES_ENODATA. The c-ares
 * parsers then turn the answer into records; an answer with records of
 * other types only (a CNAME chain ending nowhere) parses to ARES_ENODATA.
 */
#include "net/dns_query.h"
#include "lib/metrics.h"
#include "net/dns_internal.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

#define DNS_QBUF 300 /* header, a name of at most 255 bytes, type and class */

struct dns_query {
	struct dns_resolver *r;
	enum dns_qtype type;
	dns_query_cb cb;
	void *ud;
	bool cancelled;
	bool starting; /* inside ares_query(): an immediate answer is not passed on */
	bool failed_at_start;
};

const char *dns_qstatus_name(enum dns_qstatus st)
{
	switch (st) {
	case DNS_Q_DATA:
		return "data";
	case DNS_Q_NODATA:
		return "nodata";
	case DNS_Q_NXDOMAIN:
		return "nxdomain";
	default:
		return "temporary failure";
	}
}

void dns_reverse_name(int family, const uint8_t *a, char *out, size_t outlen)
{
	if (family == AF_INET) {
		snprintf(out, outlen, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2], a[1], a[0]);
		return;
	}
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (int i = 15; i >= 0 && o + 4 < outlen; i--) {
		out[o++] = hex[a[i] & 15];
		out[o++] = '.';
		out[o++] = hex[a[i] >> 4];
		out[o++] = '.';
	}
	snprintf(out + o, outlen - o, "ip6.arpa");
}

static enum dns_qstatus status_of(int st)
{
	switch (st) {
	case ARES_SUCCESS:
		return DNS_Q_DATA;
	case ARES_ENODATA:
		return DNS_Q_NODATA;
	case ARES_ENOTFOUND:
		return DNS_Q_NXDOMAIN;
	default:
		metric_add(MET_DNS_FAILURES, 1);
		return DNS_Q_TEMP;
	}
}

/* Parse abuf into a by the query type; returns an ARES_* status. */
static int parse_answer(enum dns_qtype type, const unsigned char *abuf, int alen,
                        struct dns_answer *a)
{
	int st;
	switch (type) {
	case DNS_Q_TXT: {
		struct ares_txt_ext *txt = NULL;
		st = ares_parse_txt_reply_ext(abuf, alen, &txt);
		if (st != ARES_SUCCESS)
			return st;
		/* Concatenate the strings of one RR in place in the pool. */
		struct dns_rr *cur = NULL;
		for (struct ares_txt_ext *t = txt; t; t = t->next) {
			if (t->record_start) {
				cur = dns_answer_add_text(a, (const char *)t->txt, t->length);
				continue;
			}
			if (!cur) /* its record did not fit */
				continue;
			/* cur is the last record: its NUL is the pool's last used byte. */
			if (t->length > DNS_Q_POOL - a->pool_used) {
				a->truncated = true;
				cur = NULL;
				continue;
			}
			char *end = (char *)cur->text + cur->len;
			memcpy(end, t->txt, t->length);
			end[t->length] = '\0';
			cur->len += t->length;
			a->pool_used += t->length;
		}
		ares_free_data(txt);
		return ARES_SUCCESS;
	}
	case DNS_Q_A: {
		struct hostent *h = NULL;
		st = ares_parse_a_reply(abuf, alen, &h, NULL, NULL);
		if (st != ARES_SUCCESS)
			return st;
		for (char **p = h->h_addr_list; p && *p; p++)
			dns_answer_add_addr(a, AF_INET, *p);
		ares_free_hostent(h);
		return a->nrrs ? ARES_SUCCESS : ARES_ENODATA;
	}
	case DNS_Q_AAAA: {
		struct hostent *h = NULL;
		st = ares_parse_aaaa_reply(abuf, alen, &h, NULL, NULL);
		if (st != ARES_SUCCESS)
			return st;
		for (char **p = h->h_addr_list; p && *p; p++)
			dns_answer_add_addr(a, AF_INET6, *p);
		ares_free_hostent(h);
		return a->nrrs ? ARES_SUCCESS : ARES_ENODATA;
	}
	case DNS_Q_MX: {
		struct ares_mx_reply *mx = NULL;
		st = ares_parse_mx_reply(abuf, alen, &mx);
		if (st != ARES_SUCCESS)
			return st;
		for (struct ares_mx_reply *m = mx; m; m = m->next) {
			struct dns_rr *rr = dns_answer_add_text(a, m->host, strlen(m->host));
			if (rr)
				rr->pref = m->priority;
		}
		ares_free_data(mx);
		return ARES_SUCCESS;
	}
	case DNS_Q_TLSA: /* sent with ares_send: the raw answer, header included */
	case DNS_Q_A_DNSSEC:
		switch (dns_parse_raw_answer(abuf, (size_t)alen, type == DNS_Q_TLSA ? 52 : 1, a)) {
		case DNS_Q_DATA:
			return ARES_SUCCESS;
		case DNS_Q_NODATA:
			return ARES_ENODATA;
		case DNS_Q_NXDOMAIN:
			return ARES_ENOTFOUND;
		default:
			return ARES_EBADRESP;
		}
	case DNS_Q_PTR: {
		struct hostent *h = NULL;
		/* The address is only copied into the hostent; any will do. */
		static const uint8_t any[4];
		st = ares_parse_ptr_reply(abuf, alen, any, 4, AF_INET, &h);
		if (st != ARES_SUCCESS)
			return st;
		if (h->h_name)
			dns_answer_add_text(a, h->h_name, strlen(h->h_name));
		for (char **p = h->h_aliases; p && *p; p++)
			dns_answer_add_text(a, *p, strlen(*p));
		ares_free_hostent(h);
		return a->nrrs ? ARES_SUCCESS : ARES_ENODATA;
	}
	}
	return ARES_EBADRESP;
}

static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dns_query *q = arg;
	if (q->starting) { /* c-ares gave up at once (bad name, no memory) */
		q->failed_at_start = true;
		return;
	}
	if (q->cancelled || dns_resolver_closing(q->r) || status == ARES_EDESTRUCTION ||
	    status == ARES_ECANCELLED) {
		free(q);
		return;
	}
	struct dns_answer *a = malloc(sizeof *a);
	if (!a) {
		free(q);
		return;
	}
	dns_answer_init(a, DNS_Q_DATA);
	/* ares_send (TLSA) may hand over an NXDOMAIN or empty answer with its
	 * status mapped (c-ares 1.34) or not (1.18): the raw answer decides. */
	bool raw = (q->type == DNS_Q_TLSA || q->type == DNS_Q_A_DNSSEC) && abuf && alen > 0 &&
	           (status == ARES_SUCCESS || status == ARES_ENOTFOUND || status == ARES_ENODATA);
	if (status == ARES_SUCCESS || raw) {
		status = parse_answer(q->type, abuf, alen, a);
		if (status != ARES_SUCCESS && status != ARES_ENODATA && status != ARES_ENOTFOUND)
			status = ARES_EBADRESP;
	}
	if (status != ARES_SUCCESS) {
		bool ad = a->authenticated; /* an authenticated denial stays so */
		dns_answer_init(a, status_of(status));
		a->authenticated = ad && status != ARES_EBADRESP;
	}
	q->cb(q->ud, a);
	free(a);
	free(q);
}

struct dns_query *dns_query(struct dns_resolver *r, const char *name, enum dns_qtype type,
                            dns_query_cb cb, void *ud)
{
	static const int types[] = {
	    [DNS_Q_TXT] = ns_t_txt,   [DNS_Q_A] = ns_t_a,     [DNS_Q_AAAA] = ns_t_aaaa,
	    [DNS_Q_MX] = ns_t_mx,     [DNS_Q_PTR] = ns_t_ptr, [DNS_Q_TLSA] = 52,
	    [DNS_Q_A_DNSSEC] = ns_t_a};
	if (!r || dns_resolver_closing(r) || !name || !*name || strlen(name) > 253 ||
	    (unsigned)type > DNS_Q_A_DNSSEC)
		return NULL;
	bool raw = type == DNS_Q_TLSA || type == DNS_Q_A_DNSSEC;
	uint8_t qbuf[DNS_QBUF];
	size_t qlen = 0;
	if (raw && (qlen = dns_build_query(name, (uint16_t)types[type], qbuf, sizeof qbuf)) == 0)
		return NULL;
	struct dns_query *q = calloc(1, sizeof *q);
	if (!q)
		return NULL;
	q->r = r;
	q->type = type;
	q->cb = cb;
	q->ud = ud;
	metric_add(MET_DNS_LOOKUPS, 1);
	q->starting = true;
	if (raw) /* the AD bit set in the query, the raw answer back */
		ares_send(dns_resolver_channel(r), qbuf, (int)qlen, on_answer, q);
	else
		ares_query(dns_resolver_channel(r), name, ns_c_in, types[type], on_answer, q);
	q->starting = false;
	if (q->failed_at_start) {
		free(q);
		return NULL;
	}
	dns_resolver_kick(r);
	return q;
}

void dns_query_cancel(struct dns_query *q)
{
	if (q)
		q->cancelled = true;
}

#pragma GCC diagnostic pop
