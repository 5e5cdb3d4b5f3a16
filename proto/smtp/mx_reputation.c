/* mx_reputation: the DNSBL/DNSWL and FCrDNS queries of one mx client and
 * the verdict they add up to; see mx_reputation.h for what each means.
 * All queries start at once (the zones and the PTR); each PTR name then
 * gets one forward query of the client's family. */
#include "proto/smtp/mx_reputation.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "lib/log.h"
#include "lib/metrics.h"
#include "net/dns_query.h"

enum { MX_REP_Q_ZONE, MX_REP_Q_PTR, MX_REP_Q_FORWARD };

static void finish_one(struct mx_reputation *r)
{
	if (r->pending > 0)
		r->pending--;
	if (r->pending == 0 && !r->done) {
		r->done = true;
		if (r->done_cb)
			r->done_cb(r->ud);
	}
}

static bool ask(struct mx_reputation *r, struct dns_resolver *dns, const char *name,
                enum dns_qtype type, int kind, int index);

static void on_answer(void *ud, const struct dns_answer *a)
{
	struct mx_rep_query *mq = ud;
	struct mx_reputation *r = mq->r;
	mq->q = NULL;
	switch (mq->kind) {
	case MX_REP_Q_ZONE:
		r->results[mq->index] = dnsbl_interpret(a, &r->codes[mq->index]);
		dnsbl_verdict(r->cfg->dnsbl, r->results, r->cfg->ndnsbl, &r->verdict);
		break;
	case MX_REP_Q_PTR:
		if (a->status == DNS_Q_DATA) {
			for (size_t i = 0; i < a->nrrs && r->nnames < MX_REP_MAX_NAMES; i++) {
				const struct dns_rr *rr = &a->rrs[i];
				if (!rr->text || rr->len == 0 || rr->len >= MX_REP_NAME_MAX ||
				    memchr(rr->text, '\0', rr->len))
					continue;
				size_t k = r->nnames;
				memcpy(r->names[k], rr->text, rr->len);
				r->names[k][rr->len] = '\0';
				/* The PTR name goes into a header: only a
				 * hostname's characters. */
				if (!dnsbl_zone_valid(r->names[k]))
					continue;
				if (ask(r, r->dns, r->names[k],
				        r->family == AF_INET ? DNS_Q_A : DNS_Q_AAAA,
				        MX_REP_Q_FORWARD, (int)k))
					r->nnames++;
			}
		}
		break;
	case MX_REP_Q_FORWARD:
		if (a->status == DNS_Q_DATA) {
			size_t alen = r->family == AF_INET ? 4 : 16;
			for (size_t i = 0; i < a->nrrs; i++)
				if (a->rrs[i].family == r->family &&
				    memcmp(a->rrs[i].addr, r->addr, alen) == 0 &&
				    (r->verified < 0 || mq->index < r->verified))
					r->verified = mq->index;
		}
		break;
	}
	finish_one(r);
}

static bool ask(struct mx_reputation *r, struct dns_resolver *dns, const char *name,
                enum dns_qtype type, int kind, int index)
{
	if (!dns || r->nqs >= sizeof r->qs / sizeof r->qs[0])
		return false;
	struct mx_rep_query *mq = &r->qs[r->nqs];
	*mq = (struct mx_rep_query){.r = r, .kind = kind, .index = index};
	mq->q = dns_query(dns, name, type, on_answer, mq);
	if (!mq->q)
		return false;
	r->nqs++;
	r->pending++;
	return true;
}

static bool parse_ip(struct mx_reputation *r, const char *ip)
{
	if (inet_pton(AF_INET, ip, r->addr) == 1) {
		r->family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, ip, r->addr) != 1)
		return false;
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (memcmp(r->addr, mapped, 12) == 0) {
		memmove(r->addr, r->addr + 12, 4);
		r->family = AF_INET;
	} else {
		r->family = AF_INET6;
	}
	return true;
}

bool mx_reputation_start(struct mx_reputation *r, struct dns_resolver *dns,
                         const struct smtp_spam_settings *cfg, const struct netlist *trusted,
                         const char *ip, mx_reputation_done_fn done, void *ud)
{
	memset(r, 0, sizeof *r);
	r->cfg = cfg;
	r->verified = -1;
	r->verdict.reject_zone = -1;
	r->done = true;
	snprintf(r->ip, sizeof r->ip, "%s", ip);
	if (!cfg || !dns || !parse_ip(r, ip))
		return false;
	struct spf_ip addr;
	if (trusted && spf_ip_parse(ip, &addr) == 0 && netlist_has_ip(trusted, &addr)) {
		r->exempt = true;
		return false;
	}
	r->dns = dns;
	r->done = false;
	r->started = true;
	r->done_cb = done;
	r->ud = ud;
	r->pending = 1; /* held until every query is asked: done never runs inside */
	for (size_t i = 0; i < cfg->ndnsbl && i < DNSBL_MAX_ZONES; i++) {
		char name[DNSBL_QNAME_MAX];
		if (dnsbl_query_name(r->family, r->addr, cfg->dnsbl[i].zone, name, sizeof name) &&
		    ask(r, dns, name, DNS_Q_A, MX_REP_Q_ZONE, (int)i))
			r->results[i] = DNSBL_PENDING;
		else
			r->results[i] = DNSBL_ERROR;
	}
	if (cfg->fcrdns) {
		char name[DNSBL_QNAME_MAX];
		dns_reverse_name(r->family, r->addr, name, sizeof name);
		ask(r, dns, name, DNS_Q_PTR, MX_REP_Q_PTR, 0);
	}
	r->pending--;
	if (r->pending == 0) {
		r->done = true;
		r->done_cb = NULL;
		return false;
	}
	return true;
}

void mx_reputation_cancel(struct mx_reputation *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nqs; i++)
		if (r->qs[i].q) {
			dns_query_cancel(r->qs[i].q);
			r->qs[i].q = NULL;
		}
	r->pending = 0;
	r->done_cb = NULL;
}

void mx_reputation_exempt(struct mx_reputation *r)
{
	if (!r)
		return;
	r->exempt = true;
}

bool mx_reputation_reject(const struct mx_reputation *r, char *detail, size_t cap)
{
	if (!r || r->exempt || !r->started || !r->verdict.reject || r->verdict.reject_zone < 0)
		return false;
	if (detail && cap)
		snprintf(detail, cap, "%s listed by %s", r->ip,
		         r->cfg->dnsbl[r->verdict.reject_zone].zone);
	return true;
}

bool mx_reputation_junk(const struct mx_reputation *r)
{
	return r && !r->exempt && r->started && r->verdict.listed > 0 &&
	       r->verdict.score >= r->cfg->junk_score;
}

int64_t mx_reputation_score(const struct mx_reputation *r)
{
	return !r || r->exempt ? 0 : r->verdict.score;
}

void mx_reputation_score_input(const struct mx_reputation *r, struct junk_input *in)
{
	if (!r || r->exempt || !r->started)
		return;
	in->dnsbl_listed = r->verdict.listed > 0;
	in->dnsbl_score = r->verdict.score;
	/* Only a finished lookup proves there is no name. */
	in->fcrdns_missing = r->cfg->fcrdns && r->done && r->verified < 0;
}

const char *mx_reputation_name(const struct mx_reputation *r)
{
	return r && r->verified >= 0 && (size_t)r->verified < r->nnames ? r->names[r->verified]
	                                                                : NULL;
}

void mx_reputation_log(const struct mx_reputation *r, uint64_t conn, const char *peer)
{
	if (!r || !r->started)
		return;
	char lists[512] = "";
	size_t o = 0;
	for (size_t i = 0; i < r->cfg->ndnsbl && i < DNSBL_MAX_ZONES; i++) {
		if (r->results[i] != DNSBL_LISTED && r->results[i] != DNSBL_ERROR &&
		    r->results[i] != DNSBL_PENDING)
			continue;
		int n = snprintf(lists + o, sizeof lists - o, "%s%s:%s", o ? "," : "",
		                 r->cfg->dnsbl[i].zone,
		                 r->results[i] == DNSBL_LISTED  ? "listed"
		                 : r->results[i] == DNSBL_ERROR ? "error"
		                                                : "pending");
		if (n < 0 || (size_t)n >= sizeof lists - o)
			break;
		o += (size_t)n;
	}
	const char *verdict = mx_reputation_reject(r, NULL, 0) ? "reject"
	                      : mx_reputation_junk(r)          ? "junk"
	                                                       : "clean";
	metric_add(!strcmp(verdict, "reject") ? MET_REP_REJECT
	           : !strcmp(verdict, "junk") ? MET_REP_JUNK
	                                      : MET_REP_CLEAN,
	           1);
	if (!r->done)
		metric_add(MET_REP_TIMEOUT, 1);
	if (r->cfg->fcrdns && r->done)
		metric_add(mx_reputation_name(r) ? MET_FCRDNS_PASS : MET_FCRDNS_FAIL, 1);
	const char *name = mx_reputation_name(r);
	log_session(LOG_INFO, conn, peer, "smtp",
	            "event=reputation verdict=%s score=%lld lists=\"%s\" fcrdns=%s complete=%d",
	            verdict, (long long)r->verdict.score, lists, name ? name : "none", r->done);
}
