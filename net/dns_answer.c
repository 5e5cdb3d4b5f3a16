/* dns_answer: filling a struct dns_answer (declared in dns_query.h).
 *
 * Why a file of its own: both the c-ares parsers' results (dns_query.c)
 * and the raw TLSA reader (dns_raw.c) fill answers, and the tests' fakes
 * do too; the bounded pool is one place. */
#include "net/dns_query.h"

#include <netinet/in.h>
#include <string.h>

void dns_answer_init(struct dns_answer *a, enum dns_qstatus st)
{
	a->status = st;
	a->truncated = false;
	a->authenticated = false;
	a->nrrs = 0;
	a->pool_used = 0;
}

struct dns_rr *dns_answer_add_text(struct dns_answer *a, const char *text, size_t len)
{
	if (a->nrrs >= DNS_Q_MAX_RRS || len + 1 > DNS_Q_POOL - a->pool_used) {
		a->truncated = true;
		return NULL;
	}
	struct dns_rr *rr = &a->rrs[a->nrrs++];
	memset(rr, 0, sizeof *rr);
	char *p = a->pool + a->pool_used;
	memcpy(p, text, len);
	p[len] = '\0';
	a->pool_used += len + 1;
	rr->text = p;
	rr->len = len;
	return rr;
}

struct dns_rr *dns_answer_add_addr(struct dns_answer *a, int family, const void *addr)
{
	if (a->nrrs >= DNS_Q_MAX_RRS) {
		a->truncated = true;
		return NULL;
	}
	struct dns_rr *rr = &a->rrs[a->nrrs++];
	memset(rr, 0, sizeof *rr);
	rr->family = family;
	memcpy(rr->addr, addr, family == AF_INET ? 4 : 16);
	return rr;
}
