/* spf: check_host() (RFC 7208 4-6) as a state machine over a resolver
 * interface (contract in spf.h).
 *
 * Why a state machine and not recursion: every DNS answer arrives in a
 * callback on the loop, and include/redirect nest evaluations. The nesting
 * is an explicit stack of frames (one per record being walked; include
 * pushes, redirect replaces the top), and step() does one thing for the
 * current state: ask a question or decide. Answers only record what they
 * learned and pick the next state, so a resolver that answers before
 * query() returns (the test fakes) never makes the stack grow.
 *
 * %{p} needs DNS too: before a term whose domain-spec uses it is expanded,
 * the validated name is resolved once (PTR, then A/AAAA of each name) and
 * the machine returns to the state it was in. */
#include "mailauth/spf.h"

#include "mailauth/dns_asker.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

enum op { OP_RECORD, OP_A, OP_MX, OP_MX_ADDR, OP_PTR, OP_PTR_ADDR, OP_EXISTS, OP_EXP };
enum state { ST_FETCH, ST_TERMS, ST_MX_ADDR, ST_PTR, ST_PTR_ADDR, ST_EXP, ST_EXP_TEXT, ST_DONE };

struct frame {
	char domain[256];
	struct spf_record *rec;
	size_t ti; /* the term being evaluated */
	bool via_redirect;
};

struct spf_check {
	struct dns_asker q;
	spf_done_cb cb;
	void *ud;
	struct spf_ip ip;
	char helo[256];
	char receiver[256];
	bool has_receiver;
	struct frame frames[SPF_MAX_DNS_MECHS + 2];
	size_t depth;
	enum state state;
	enum op op;

	/* the mechanism being evaluated (a, mx, ptr, exists) */
	char target[256];
	char names[SPF_MAX_NAMES][256];
	size_t nnames, name_i;

	/* %{p}: 0 not asked, 1 resolving, 2 known */
	int p_state;
	bool ptr_for_p;
	enum state p_resume;
	int p_rank;
	char p_name[256];

	char exp_text[SPF_MAX_EXPANSION];
	struct spf_outcome out;
};

/* ---- addresses ---- */

int spf_ip_parse(const char *s, struct spf_ip *ip)
{
	memset(ip, 0, sizeof *ip);
	if (inet_pton(AF_INET, s, ip->addr) == 1) {
		ip->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, ip->addr) != 1)
		return -1;
	ip->family = AF_INET6;
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (memcmp(ip->addr, mapped, 12) == 0) {
		memmove(ip->addr, ip->addr + 12, 4);
		memset(ip->addr + 4, 0, 12);
		ip->family = AF_INET;
	}
	return 0;
}

bool spf_ip_match(const struct spf_ip *a, const struct spf_ip *net, int prefix)
{
	if (a->family != net->family)
		return false;
	int bits = a->family == AF_INET ? 32 : 128;
	if (prefix > bits)
		prefix = bits;
	int full = prefix / 8, rest = prefix % 8;
	if (memcmp(a->addr, net->addr, (size_t)full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a->addr[full] & mask) == (net->addr[full] & mask);
}

/* ---- helpers ---- */

static struct frame *top(struct spf_check *c)
{
	return &c->frames[c->depth - 1];
}

static void finish(struct spf_check *c, enum spf_result r, const char *problem)
{
	c->out.result = r;
	if (problem && !c->out.problem[0])
		snprintf(c->out.problem, sizeof c->out.problem, "%s", problem);
	c->state = ST_DONE;
}

static void on_answer(void *ud, const struct dns_answer *a);

static void ask(struct spf_check *c, const char *name, enum dns_qtype type, enum op op)
{
	c->op = op;
	dns_asker_ask(&c->q, name, type, on_answer, c);
}

static enum dns_qtype addr_type(const struct spf_check *c)
{
	return c->ip.family == AF_INET ? DNS_Q_A : DNS_Q_AAAA;
}

static bool uses_p(const char *spec, bool explain)
{
	bool p = false;
	if (spf_macro_check(spec, false, explain, &p) != 0)
		return false;
	return p;
}

/* If spec needs %{p} and it is not known yet, start resolving it and
 * return true: the caller stops, the machine comes back to this state. */
static bool need_p(struct spf_check *c, const char *spec, bool explain)
{
	if (!spec || c->p_state == 2 || !uses_p(spec, explain))
		return false;
	c->p_state = 1;
	c->ptr_for_p = true;
	c->p_resume = c->state;
	c->p_rank = 0;
	c->p_name[0] = '\0';
	c->state = ST_PTR;
	return true;
}

static bool expand(struct spf_check *c, const char *spec, bool domain, bool explain, char *out,
                   size_t outlen)
{
	struct spf_macro_env env = {
	    .sender = c->out.sender,
	    .domain = top(c)->domain,
	    .ip = c->ip,
	    .helo = c->helo,
	    .validated = c->p_state == 2 && c->p_name[0] ? c->p_name : NULL,
	    .receiver = c->has_receiver ? c->receiver : NULL,
	    .timestamp = (long long)time(NULL),
	};
	char buf[SPF_MAX_EXPANSION];
	if (spf_macro_expand(spec, &env, domain, explain, buf, sizeof buf) != 0 ||
	    strlen(buf) >= outlen)
		return false;
	memcpy(out, buf, strlen(buf) + 1);
	return true;
}

/* The target of a mechanism: its expanded domain-spec or the current
 * domain. False (and the check finished) on a bad expansion. */
static bool target_of(struct spf_check *c, const char *spec)
{
	if (!spec) {
		snprintf(c->target, sizeof c->target, "%s", top(c)->domain);
		return true;
	}
	if (!expand(c, spec, true, false, c->target, sizeof c->target)) {
		finish(c, SPF_PERMERROR, "macro expansion failed");
		return false;
	}
	return true;
}

static bool count_dns_mech(struct spf_check *c)
{
	if (++c->out.dns_mechs > SPF_MAX_DNS_MECHS) {
		finish(c, SPF_PERMERROR, "more than 10 DNS-querying mechanisms (4.6.4)");
		return false;
	}
	return true;
}

static bool count_void(struct spf_check *c)
{
	if (++c->out.void_lookups > SPF_MAX_VOID) {
		finish(c, SPF_PERMERROR, "more than 2 void lookups (4.6.4)");
		return false;
	}
	return true;
}

/* ---- frames ---- */

static void pop_frame(struct spf_check *c)
{
	free(top(c)->rec);
	top(c)->rec = NULL;
	c->depth--;
}

static void frame_result(struct spf_check *c, enum spf_result r, const char *problem);

static void mech_done(struct spf_check *c, bool matched)
{
	struct frame *f = top(c);
	if (matched) {
		frame_result(c, f->rec->terms[f->ti].qualifier, NULL);
		return;
	}
	f->ti++;
	c->state = ST_TERMS;
}

/* The result of the record on top of the stack. */
static void frame_result(struct spf_check *c, enum spf_result r, const char *problem)
{
	struct frame *f = top(c);
	if (r == SPF_TEMPERROR || r == SPF_PERMERROR) {
		finish(c, r, problem);
		return;
	}
	if (r == SPF_NONE && f->via_redirect) {
		finish(c, SPF_PERMERROR, "redirect= names a domain without an SPF record");
		return;
	}
	if (c->depth == 1) {
		if (r == SPF_FAIL && f->rec && f->rec->exp) {
			c->out.result = SPF_FAIL;
			c->state = ST_EXP;
			return;
		}
		finish(c, r, problem);
		return;
	}
	pop_frame(c);
	if (r == SPF_NONE) {
		finish(c, SPF_PERMERROR, "include: names a domain without an SPF record");
		return;
	}
	mech_done(c, r == SPF_PASS); /* 5.2: only pass matches */
}

static void push_frame(struct spf_check *c, const char *domain)
{
	if (c->depth >= sizeof c->frames / sizeof c->frames[0]) {
		finish(c, SPF_PERMERROR, "include nesting too deep");
		return;
	}
	struct frame *f = &c->frames[c->depth++];
	memset(f, 0, sizeof *f);
	snprintf(f->domain, sizeof f->domain, "%s", domain);
	c->state = ST_FETCH;
}

/* ---- steps ---- */

static void no_match_left(struct spf_check *c)
{
	struct frame *f = top(c);
	const char *spec = f->rec->redirect;
	if (!spec) {
		frame_result(c, SPF_NEUTRAL, NULL);
		return;
	}
	if (need_p(c, spec, false) || !count_dns_mech(c) || !target_of(c, spec))
		return;
	if (!spf_domain_ok(c->target, false)) {
		finish(c, SPF_PERMERROR, "redirect= to a malformed domain");
		return;
	}
	free(f->rec);
	f->rec = NULL;
	snprintf(f->domain, sizeof f->domain, "%s", c->target);
	f->ti = 0;
	f->via_redirect = true;
	c->state = ST_FETCH;
}

static void eval_term(struct spf_check *c)
{
	struct frame *f = top(c);
	if (f->ti >= f->rec->nterms) {
		no_match_left(c);
		return;
	}
	const struct spf_term *t = &f->rec->terms[f->ti];
	switch (t->mech) {
	case SPF_ALL:
		mech_done(c, true);
		return;
	case SPF_IP4:
	case SPF_IP6:
		mech_done(c,
		          spf_ip_match(&c->ip, &t->net, t->mech == SPF_IP4 ? t->cidr4 : t->cidr6));
		return;
	default:
		break;
	}
	if (need_p(c, t->domain_spec, false) || !count_dns_mech(c) || !target_of(c, t->domain_spec))
		return;
	/* A target that is no domain name matches nothing (and asks nothing). */
	bool valid = spf_domain_ok(c->target, false);
	switch (t->mech) {
	case SPF_INCLUDE:
		if (!valid) {
			finish(c, SPF_PERMERROR, "include: of a malformed domain");
			return;
		}
		push_frame(c, c->target);
		return;
	case SPF_A:
		if (valid)
			ask(c, c->target, addr_type(c), OP_A);
		else
			mech_done(c, false);
		return;
	case SPF_MX:
		if (valid)
			ask(c, c->target, DNS_Q_MX, OP_MX);
		else
			mech_done(c, false);
		return;
	case SPF_EXISTS:
		if (valid)
			ask(c, c->target, DNS_Q_A, OP_EXISTS);
		else
			mech_done(c, false);
		return;
	case SPF_PTR:
		c->ptr_for_p = false;
		c->state = ST_PTR;
		return;
	default:
		return;
	}
}

static void step(struct spf_check *c)
{
	switch (c->state) {
	case ST_FETCH:
		ask(c, top(c)->domain, DNS_Q_TXT, OP_RECORD);
		return;
	case ST_TERMS:
		eval_term(c);
		return;
	case ST_MX_ADDR:
		if (c->name_i >= c->nnames)
			mech_done(c, false);
		else
			ask(c, c->names[c->name_i], addr_type(c), OP_MX_ADDR);
		return;
	case ST_PTR: {
		char rev[80];
		dns_reverse_name(c->ip.family, c->ip.addr, rev, sizeof rev);
		ask(c, rev, DNS_Q_PTR, OP_PTR);
		return;
	}
	case ST_PTR_ADDR:
		if (c->name_i >= c->nnames) {
			if (c->ptr_for_p) {
				c->p_state = 2;
				c->state = c->p_resume;
			} else {
				mech_done(c, false);
			}
		} else {
			ask(c, c->names[c->name_i], addr_type(c), OP_PTR_ADDR);
		}
		return;
	case ST_EXP: {
		char dom[256];
		const char *spec = top(c)->rec->exp;
		if (need_p(c, spec, false))
			return;
		if (!expand(c, spec, true, false, dom, sizeof dom) || !spf_domain_ok(dom, false)) {
			finish(c, SPF_FAIL, NULL);
			return;
		}
		ask(c, dom, DNS_Q_TXT, OP_EXP);
		return;
	}
	case ST_EXP_TEXT:
		if (need_p(c, c->exp_text, true))
			return;
		bool dummy = false;
		if (spf_macro_check(c->exp_text, false, true, &dummy) != 0 ||
		    !expand(c, c->exp_text, false, true, c->out.explanation,
		            sizeof c->out.explanation))
			c->out.explanation[0] = '\0';
		finish(c, SPF_FAIL, NULL);
		return;
	case ST_DONE:
		return;
	}
}

/* ---- answers ---- */

static bool same_or_sub(const char *name, const char *domain)
{
	size_t nl = strlen(name), dl = strlen(domain);
	if (nl && name[nl - 1] == '.')
		nl--;
	if (dl && domain[dl - 1] == '.')
		dl--;
	if (nl < dl || strncasecmp(name + nl - dl, domain, dl) != 0)
		return false;
	return nl == dl || name[nl - dl - 1] == '.';
}

static bool addr_matches(const struct spf_check *c, const struct dns_answer *a, int prefix)
{
	for (size_t i = 0; i < a->nrrs; i++) {
		struct spf_ip ip = {.family = a->rrs[i].family};
		memcpy(ip.addr, a->rrs[i].addr, 16);
		if (spf_ip_match(&c->ip, &ip, prefix))
			return true;
	}
	return false;
}

static int cidr_of(struct spf_check *c)
{
	const struct spf_term *t = &top(c)->rec->terms[top(c)->ti];
	return c->ip.family == AF_INET ? t->cidr4 : t->cidr6;
}

static void got_record(struct spf_check *c, const struct dns_answer *a)
{
	struct frame *f = top(c);
	if (a->status == DNS_Q_TEMP) {
		frame_result(c, SPF_TEMPERROR, "DNS failure fetching the SPF record");
		return;
	}
	const struct dns_rr *found = NULL;
	size_t n = 0;
	for (size_t i = 0; a->status == DNS_Q_DATA && i < a->nrrs; i++)
		if (spf_record_is_spf1(a->rrs[i].text, a->rrs[i].len)) {
			found = &a->rrs[i];
			n++;
		}
	if (n == 0) {
		frame_result(c, SPF_NONE, "no SPF record");
		return;
	}
	if (n > 1) {
		frame_result(c, SPF_PERMERROR, "more than one SPF record (4.5)");
		return;
	}
	f->rec = malloc(sizeof *f->rec);
	char err[200];
	if (!f->rec) {
		frame_result(c, SPF_TEMPERROR, "out of memory");
		return;
	}
	if (spf_record_parse(f->rec, found->text, found->len, err, sizeof err) != 0) {
		char problem[256];
		snprintf(problem, sizeof problem, "%.40s: %.200s", f->domain, err);
		frame_result(c, SPF_PERMERROR, problem);
		return;
	}
	f->ti = 0;
	c->state = ST_TERMS;
}

static void got_names(struct spf_check *c, const struct dns_answer *a, bool filter)
{
	c->nnames = c->name_i = 0;
	for (size_t i = 0; i < a->nrrs && c->nnames < SPF_MAX_NAMES; i++) {
		const char *name = a->rrs[i].text;
		if (!name[0] || strcmp(name, ".") == 0 || strlen(name) >= 256)
			continue;
		if (filter && !same_or_sub(name, c->target))
			continue;
		snprintf(c->names[c->nnames++], 256, "%s", name);
	}
}

static void handle_answer(struct spf_check *c, const struct dns_answer *a)
{
	switch (c->op) {
	case OP_RECORD:
		got_record(c, a);
		return;
	case OP_A:
	case OP_EXISTS:
		if (a->status == DNS_Q_TEMP) {
			finish(c, SPF_TEMPERROR, "DNS failure");
		} else if (a->status != DNS_Q_DATA) {
			if (count_void(c))
				mech_done(c, false);
		} else {
			mech_done(c, c->op == OP_EXISTS || addr_matches(c, a, cidr_of(c)));
		}
		return;
	case OP_MX:
		if (a->status == DNS_Q_TEMP) {
			finish(c, SPF_TEMPERROR, "DNS failure (MX)");
		} else if (a->status != DNS_Q_DATA) {
			if (count_void(c))
				mech_done(c, false);
		} else if (a->nrrs > SPF_MAX_NAMES) {
			finish(c, SPF_PERMERROR, "more than 10 MX names (4.6.4)");
		} else {
			got_names(c, a, false);
			c->state = ST_MX_ADDR;
		}
		return;
	case OP_MX_ADDR:
		if (a->status == DNS_Q_TEMP) {
			finish(c, SPF_TEMPERROR, "DNS failure (MX address)");
		} else if (a->status == DNS_Q_DATA && addr_matches(c, a, cidr_of(c))) {
			mech_done(c, true);
		} else {
			c->name_i++;
		}
		return;
	case OP_PTR:
		/* 5.5: a DNS error makes ptr not match; %{p} becomes "unknown". */
		if (a->status == DNS_Q_DATA) {
			got_names(c, a, !c->ptr_for_p);
		} else {
			c->nnames = c->name_i = 0;
		}
		c->state = ST_PTR_ADDR;
		return;
	case OP_PTR_ADDR: {
		bool validated = a->status == DNS_Q_DATA && addr_matches(c, a, 128);
		const char *name = c->names[c->name_i++];
		if (!validated)
			return;
		if (!c->ptr_for_p) {
			mech_done(c, true);
			return;
		}
		/* 7.3: the current domain, else a subdomain of it, else any. */
		int rank = strcasecmp(name, top(c)->domain) == 0 ? 3
		           : same_or_sub(name, top(c)->domain)   ? 2
		                                                 : 1;
		if (rank > c->p_rank) {
			c->p_rank = rank;
			snprintf(c->p_name, sizeof c->p_name, "%s", name);
		}
		if (rank == 3)
			c->name_i = c->nnames;
		return;
	}
	case OP_EXP:
		if (a->status == DNS_Q_DATA && a->nrrs == 1 && a->rrs[0].len < sizeof c->exp_text &&
		    strlen(a->rrs[0].text) == a->rrs[0].len) {
			memcpy(c->exp_text, a->rrs[0].text, a->rrs[0].len + 1);
			c->state = ST_EXP_TEXT;
		} else {
			finish(c, SPF_FAIL, NULL);
		}
		return;
	}
}

/* Runs steps until a question is outstanding or the result is known;
 * then delivers and frees. Returns true when c is gone. */
static bool run(struct spf_check *c)
{
	c->q.in_run = true;
	while (!c->q.waiting && c->state != ST_DONE)
		step(c);
	c->q.in_run = false;
	if (c->state != ST_DONE)
		return false;
	c->cb(c->ud, &c->out);
	while (c->depth > 0)
		pop_frame(c);
	free(c);
	return true;
}

static void on_answer(void *ud, const struct dns_answer *a)
{
	struct spf_check *c = ud;
	dns_asker_answered(&c->q);
	handle_answer(c, a);
	if (!c->q.in_run)
		run(c);
}

/* ---- entry points ---- */

struct spf_check *spf_check_start(const struct spf_resolver *res, const struct spf_request *req,
                                  spf_done_cb cb, void *ud)
{
	struct spf_check *c = calloc(1, sizeof *c);
	if (!c) {
		struct spf_outcome o = {.result = SPF_TEMPERROR};
		snprintf(o.problem, sizeof o.problem, "out of memory");
		cb(ud, &o);
		return NULL;
	}
	c->q.res = *res;
	c->cb = cb;
	c->ud = ud;
	c->ip = req->ip;
	snprintf(c->helo, sizeof c->helo, "%s", req->helo ? req->helo : "");
	if (req->receiver) {
		snprintf(c->receiver, sizeof c->receiver, "%s", req->receiver);
		c->has_receiver = true;
	}
	const char *mf = req->mail_from ? req->mail_from : "";
	const char *at = strrchr(mf, '@');
	const char *domain;
	if (!*mf) { /* 2.4: the HELO identity, postmaster@helo */
		domain = c->helo;
		snprintf(c->out.sender, sizeof c->out.sender, "postmaster@%s", domain);
	} else if (!at) {
		domain = mf;
		snprintf(c->out.sender, sizeof c->out.sender, "postmaster@%s", domain);
	} else {
		domain = at + 1;
		if (at == mf)
			snprintf(c->out.sender, sizeof c->out.sender, "postmaster%s", at);
		else
			snprintf(c->out.sender, sizeof c->out.sender, "%s", mf);
	}
	snprintf(c->out.domain, sizeof c->out.domain, "%s", domain);
	c->depth = 1;
	snprintf(c->frames[0].domain, sizeof c->frames[0].domain, "%s", domain);
	/* 4.3: a malformed or single-label domain: none. */
	size_t dl = strlen(domain);
	if (dl >= 256 || !spf_domain_ok(domain, true) || strspn(domain, "0123456789.") == dl ||
	    strchr(domain, '[')) {
		finish(c, SPF_NONE, "the identity's domain is not a fully qualified domain name");
	} else {
		c->state = ST_FETCH;
	}
	return run(c) ? NULL : c;
}

void spf_check_cancel(struct spf_check *c)
{
	if (!c)
		return;
	dns_asker_cancel(&c->q);
	while (c->depth > 0)
		pop_frame(c);
	free(c);
}

/* ---- the c-ares resolver ---- */

static void *dns_res_query(void *ud, const char *name, enum dns_qtype type, dns_query_cb cb,
                           void *cb_ud)
{
	return dns_query(ud, name, type, cb, cb_ud);
}

static void dns_res_cancel(void *ud, void *handle)
{
	dns_query_cancel(handle);
}

struct spf_resolver spf_resolver_dns(struct dns_resolver *r)
{
	return (struct spf_resolver){.ud = r, .query = dns_res_query, .cancel = dns_res_cancel};
}
