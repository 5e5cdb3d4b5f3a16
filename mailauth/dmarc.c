/* dmarc: DMARC evaluation (RFC 9989 4.10, 5.3) as a state machine over
 * the resolver interface of spf.h (contract in dmarc.h).
 *
 * Why a state machine: like SPF, every DNS answer arrives in a callback
 * on the loop (or inside query() from the test fakes), so each answer only
 * records what it learned and run() takes the next step; nothing nests on
 * the C stack and nothing blocks.
 *
 * The steps:
 *   1. the DNS Tree Walk (4.10) from the Author Domain: "_dmarc." + the
 *      domain, then its parent (or, past 8 labels, the 7-label suffix),
 *      then one label less each time: at most 8 TXT queries, stopping at a
 *      record with psd=y or psd=n. From the records found come the
 *      Organizational Domain (4.10.2) and the policy record (4.10.1: the
 *      Author Domain's, else the Organizational Domain's, else the PSD's);
 *   2. identifier alignment (4.4, 4.10.2) of the SPF domain (when SPF
 *      passed) and of each passing DKIM d=: equal names align in both
 *      modes; in relaxed mode a name at or below the Author Domain's
 *      Organizational Domain gets its own Tree Walk and aligns when it
 *      ends at the same Organizational Domain (a name elsewhere cannot);
 *   3. on fail, when the record is a parent's and its np= differs from
 *      what sp=/p= give, whether the Author Domain exists (A, AAAA, MX:
 *      it does not when all three say NXDOMAIN, Appendix A.4).
 * Names already answered in this check are not asked again (a small
 * cache), so the walks of several identifiers share their common part.
 * At most 8 queries per walk, one walk per distinct identifier (at most
 * 1 + DMARC_MAX_DKIM), 3 for existence. */
#include "mailauth/dmarc.h"

#include "mailauth/dmarc_record.h"
#include "mailauth/dns_asker.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WALK_MAX 8   /* queries of one Tree Walk (4.10) */
#define CACHE_MAX 24 /* names remembered within one check */
#define MAX_IDS (1 + DMARC_MAX_DKIM)

enum name_state { NS_NONE, NS_RECORD, NS_TEMP };

/* One Tree Walk: the names to ask, longest first, as offsets of suffixes
 * of the start domain. */
struct walk {
	char domain[256];
	size_t off[WALK_MAX];
	size_t n, i;
	enum name_state state[WALK_MAX];
	enum dmarc_psd psd[WALK_MAX];
	bool done, temp;
	size_t org_off; /* when done and !temp: the Organizational Domain */
};

enum phase { PH_AUTHOR, PH_IDENT, PH_EXIST, PH_DONE };
enum ask_kind { ASK_WALK, ASK_EXIST };

struct ident {
	char domain[256];
	bool is_spf;
};

struct cache_entry {
	char name[256];
	enum name_state state;
	enum dmarc_psd psd;
};

struct dmarc_check {
	struct dns_asker q;
	dmarc_done_cb cb;
	void *ud;
	enum phase phase;
	enum ask_kind kind;

	struct walk author;
	struct dmarc_record author_recs[WALK_MAX]; /* the records of the author walk */
	struct dmarc_record scratch;
	const struct dmarc_record *policy; /* the record that applies */
	bool is_subdomain;                 /* the policy record is a parent's: sp/np */
	enum dmarc_policy p_effective, sp_effective, np_effective;

	struct ident ids[MAX_IDS];
	size_t nids, id_i;
	bool id_walking, id_temp;
	bool org_unknown; /* the author walk failed after the From domain's own record */
	struct walk idw;

	int exist_step; /* 0 A, 1 AAAA, 2 MX */
	int exists;     /* -1 unknown, 0 no, 1 yes */
	bool exist_temp;

	struct cache_entry cache[CACHE_MAX];
	size_t ncache;

	char note[160]; /* the first oddity seen (multiple records, syntax) */
	struct dmarc_outcome out;
};

/* ---- names ---- */

const char *dmarc_result_name(enum dmarc_result r)
{
	switch (r) {
	case DMARC_NONE:
		return "none";
	case DMARC_PASS:
		return "pass";
	case DMARC_FAIL:
		return "fail";
	case DMARC_TEMPERROR:
		return "temperror";
	case DMARC_PERMERROR:
		return "permerror";
	}
	return "permerror";
}

const char *dmarc_disposition_name(enum dmarc_disposition d)
{
	switch (d) {
	case DMARC_DISP_NONE:
		return "none";
	case DMARC_DISP_QUARANTINE:
		return "quarantine";
	case DMARC_DISP_REJECT:
		return "reject";
	}
	return "none";
}

/* A domain name as DMARC compares it: lower case, no trailing dot,
 * 1..253 octets, labels of 1..63 letters, digits, '-' or '_'. */
static bool normalize_domain(const char *in, char out[256])
{
	if (!in)
		return false;
	size_t len = strlen(in);
	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return false;
	size_t label = 0;
	for (size_t i = 0; i < len; i++) {
		char ch = in[i];
		if (ch == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		           ch == '_') {
			label++;
		} else if (ch >= 'A' && ch <= 'Z') {
			ch = (char)(ch - 'A' + 'a');
			label++;
		} else {
			return false;
		}
		if (label > 63)
			return false;
		out[i] = ch;
	}
	if (label == 0)
		return false;
	out[len] = '\0';
	return true;
}

static size_t count_labels(const char *d)
{
	size_t n = 1;
	for (; *d; d++)
		n += *d == '.';
	return n;
}

/* The offset in d of its suffix of k labels (k >= 1, k <= labels). */
static size_t suffix_offset(const char *d, size_t k)
{
	size_t len = strlen(d), seen = 0;
	for (size_t i = len; i > 0; i--) {
		if (d[i - 1] == '.' && ++seen == k)
			return i;
	}
	return 0;
}

/* name is parent or a subdomain of parent (both normalized). */
static bool at_or_below(const char *name, const char *parent)
{
	size_t n = strlen(name), p = strlen(parent);
	if (n == p)
		return strcmp(name, parent) == 0;
	return n > p && name[n - p - 1] == '.' && strcmp(name + n - p, parent) == 0;
}

/* ---- the Tree Walk ---- */

static void walk_init(struct walk *w, const char *domain)
{
	memset(w, 0, sizeof *w);
	snprintf(w->domain, sizeof w->domain, "%s", domain);
	size_t x = count_labels(domain);
	w->off[w->n++] = 0;
	/* step 4: one label less, or straight to 7 labels when x >= 8 */
	size_t k = x - 1 < 7 ? x - 1 : 7;
	for (; k >= 1; k--)
		w->off[w->n++] = suffix_offset(domain, k);
}

static const char *walk_name(const struct walk *w, size_t i)
{
	return w->domain + w->off[i];
}

/* Record the answer for the current name; stop on psd=y/n or TEMP. */
static void walk_learn(struct walk *w, enum name_state st, enum dmarc_psd psd)
{
	size_t i = w->i++;
	w->state[i] = st;
	w->psd[i] = psd;
	if (st == NS_TEMP) {
		w->temp = true;
		w->done = true;
	} else if (st == NS_RECORD && psd != DMARC_PSD_U) {
		w->done = true;
	} else if (w->i >= w->n) {
		w->done = true;
	}
	if (!w->done || w->temp)
		return;
	/* 4.10.2: from the longest name with a record to the shortest. */
	size_t shortest = SIZE_MAX;
	for (size_t j = 0; j < w->i; j++) {
		if (w->state[j] != NS_RECORD)
			continue;
		if (w->psd[j] == DMARC_PSD_N) {
			w->org_off = w->off[j];
			return;
		}
		if (w->psd[j] == DMARC_PSD_Y && j != 0) {
			w->org_off = suffix_offset(w->domain, count_labels(walk_name(w, j)) + 1);
			return;
		}
		shortest = j;
	}
	w->org_off = shortest == SIZE_MAX ? 0 : w->off[shortest];
}

static struct cache_entry *cache_find(struct dmarc_check *c, const char *name)
{
	for (size_t i = 0; i < c->ncache; i++)
		if (strcmp(c->cache[i].name, name) == 0)
			return &c->cache[i];
	return NULL;
}

static void cache_put(struct dmarc_check *c, const char *name, enum name_state st,
                      enum dmarc_psd psd)
{
	if (c->ncache >= CACHE_MAX || cache_find(c, name))
		return;
	struct cache_entry *e = &c->cache[c->ncache++];
	snprintf(e->name, sizeof e->name, "%s", name);
	e->state = st;
	e->psd = psd;
}

__attribute__((format(printf, 2, 3))) static void add_note(struct dmarc_check *c, const char *fmt,
                                                           ...)
{
	if (c->note[0])
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->note, sizeof c->note, fmt, ap);
	va_end(ap);
}

/* The DMARC records among a TXT answer (4.10 steps 2 and 6): exactly one
 * counts, several are all discarded. */
static enum name_state read_txt(struct dmarc_check *c, const char *name, const struct dns_answer *a,
                                struct dmarc_record *keep, enum dmarc_psd *psd)
{
	*psd = DMARC_PSD_U;
	if (a->status == DNS_Q_TEMP)
		return NS_TEMP;
	if (a->status != DNS_Q_DATA)
		return NS_NONE;
	size_t found = 0;
	for (size_t i = 0; i < a->nrrs; i++) {
		if (dmarc_record_parse(a->rrs[i].text, a->rrs[i].len, &c->scratch) !=
		    DMARC_RECORD_OK)
			continue;
		if (++found == 1) {
			*psd = c->scratch.psd;
			if (keep)
				*keep = c->scratch;
			if (c->scratch.problem[0])
				add_note(c, "_dmarc.%s: %s", name, c->scratch.problem);
		}
	}
	if (found > 1) {
		add_note(c, "_dmarc.%s: several DMARC records, all ignored", name);
		*psd = DMARC_PSD_U;
		return NS_NONE;
	}
	return found ? NS_RECORD : NS_NONE;
}

static void on_answer(void *ud, const struct dns_answer *a);
static bool run(struct dmarc_check *c);

static void ask(struct dmarc_check *c, const char *name, enum dns_qtype type, enum ask_kind kind)
{
	c->kind = kind;
	c->out.dns_queries++;
	dns_asker_ask(&c->q, name, type, on_answer, c);
}

/* Move the current walk on: answer names from the cache, ask the first
 * one that is not there. */
static void walk_step(struct dmarc_check *c, struct walk *w, bool use_cache)
{
	while (!w->done) {
		const char *name = walk_name(w, w->i);
		struct cache_entry *e = use_cache ? cache_find(c, name) : NULL;
		if (!e) {
			char q[300];
			snprintf(q, sizeof q, "_dmarc.%s", name);
			ask(c, q, DNS_Q_TXT, ASK_WALK);
			return;
		}
		walk_learn(w, e->state, e->psd);
	}
}

/* ---- deciding ---- */

/* The result; fmt (NULL: none) says why, else the first note if any. */
__attribute__((format(printf, 3, 4))) static void finish(struct dmarc_check *c, enum dmarc_result r,
                                                         const char *fmt, ...)
{
	c->out.result = r;
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->out.problem, sizeof c->out.problem, fmt, ap);
		va_end(ap);
	} else if (c->note[0]) {
		snprintf(c->out.problem, sizeof c->out.problem, "%s", c->note);
	}
	c->phase = PH_DONE;
}

static enum dmarc_policy or_else(enum dmarc_policy p, enum dmarc_policy fallback)
{
	return p == DMARC_POLICY_UNSET ? fallback : p;
}

/* The author walk has ended: find the policy record (4.10.1). */
static void author_decided(struct dmarc_check *c)
{
	struct walk *w = &c->author;
	if (w->temp && w->state[0] != NS_RECORD) {
		finish(c, DMARC_TEMPERROR, "temporary DNS failure for _dmarc.%s",
		       walk_name(w, w->i - 1));
		return;
	}
	if (w->temp) {
		/* The From domain's own record is the policy; only its
		 * Organizational Domain is unknown, which matters (temperror)
		 * only if no identifier aligns without it. */
		c->org_unknown = true;
	} else {
		snprintf(c->out.org_domain, sizeof c->out.org_domain, "%s", w->domain + w->org_off);
	}
	size_t idx = SIZE_MAX;
	if (w->state[0] == NS_RECORD) {
		idx = 0;
	} else {
		for (size_t j = 1; j < w->i && idx == SIZE_MAX; j++)
			if (w->state[j] == NS_RECORD && w->off[j] == w->org_off)
				idx = j;
		for (size_t j = 1; j < w->i && idx == SIZE_MAX; j++)
			if (w->state[j] == NS_RECORD && w->psd[j] == DMARC_PSD_Y)
				idx = j; /* the PSD's record (RFC 9989, was RFC 9091) */
	}
	if (idx == SIZE_MAX) {
		finish(c, DMARC_NONE, "no DMARC policy record for %s%s%s", w->domain,
		       c->note[0] ? "; " : "", c->note);
		return;
	}
	c->policy = &c->author_recs[idx];
	c->is_subdomain = idx != 0;
	snprintf(c->out.policy_domain, sizeof c->out.policy_domain, "%s", walk_name(w, idx));
	const struct dmarc_record *r = c->policy;
	c->out.testing = r->testing;
	if (!dmarc_record_policy_valid(r)) {
		if (r->rua.valid == 0) {
			finish(c, DMARC_PERMERROR,
			       "_dmarc.%s: invalid p=, sp= or np= and no valid rua=: not applied",
			       c->out.policy_domain);
			return;
		}
		/* 4.10.1: as if the record said p=none */
		c->p_effective = c->sp_effective = c->np_effective = DMARC_POLICY_NONE;
	} else {
		c->p_effective = or_else(r->p, DMARC_POLICY_NONE); /* 4.7: absent p is none */
		c->sp_effective = or_else(r->sp, c->p_effective);
		c->np_effective = or_else(r->np, c->sp_effective);
	}
	c->phase = PH_IDENT;
}

static enum dmarc_disposition disposition_of(enum dmarc_policy p, bool testing)
{
	/* t=y: not applied beyond the next lower policy (4.7) */
	if (p == DMARC_POLICY_REJECT)
		return testing ? DMARC_DISP_QUARANTINE : DMARC_DISP_REJECT;
	if (p == DMARC_POLICY_QUARANTINE)
		return testing ? DMARC_DISP_NONE : DMARC_DISP_QUARANTINE;
	return DMARC_DISP_NONE;
}

static void apply_policy(struct dmarc_check *c, enum dmarc_policy p, bool failed)
{
	snprintf(c->out.policy_text, sizeof c->out.policy_text, "%s", dmarc_policy_name(p));
	c->out.disposition = failed ? disposition_of(p, c->out.testing) : DMARC_DISP_NONE;
}

/* Alignment has been decided for every identifier. */
static void identifiers_decided(struct dmarc_check *c)
{
	enum dmarc_policy applies = c->is_subdomain ? c->sp_effective : c->p_effective;
	if (c->out.spf_aligned || c->out.dkim_aligned) {
		apply_policy(c, applies, false);
		finish(c, DMARC_PASS, NULL);
		return;
	}
	if (c->id_temp) {
		apply_policy(c, applies, false);
		if (c->org_unknown)
			finish(c, DMARC_TEMPERROR,
			       "temporary DNS failure for _dmarc.%s (the From domain's "
			       "Organizational Domain)",
			       walk_name(&c->author, c->author.i - 1));
		else
			finish(
			    c, DMARC_TEMPERROR,
			    "temporary DNS failure finding an identifier's Organizational Domain");
		return;
	}
	if (c->is_subdomain && c->np_effective != c->sp_effective) {
		c->phase = PH_EXIST; /* np= or sp= depends on whether the domain exists */
		return;
	}
	apply_policy(c, applies, true);
	finish(c, DMARC_FAIL, NULL);
}

static bool mode_strict(const struct dmarc_check *c, const struct ident *id)
{
	return id->is_spf ? c->policy->aspf_strict : c->policy->adkim_strict;
}

static bool *aligned_flag(struct dmarc_check *c, const struct ident *id)
{
	return id->is_spf ? &c->out.spf_aligned : &c->out.dkim_aligned;
}

/* Take the next identifier, or decide. */
static void ident_step(struct dmarc_check *c)
{
	if (c->id_walking) {
		if (!c->idw.done) {
			walk_step(c, &c->idw, true);
			return;
		}
		c->id_walking = false;
		struct ident *id = &c->ids[c->id_i++];
		if (c->idw.temp)
			c->id_temp = true;
		else if (strcmp(c->idw.domain + c->idw.org_off, c->out.org_domain) == 0)
			*aligned_flag(c, id) = true;
		return;
	}
	if (c->id_i >= c->nids) {
		identifiers_decided(c);
		return;
	}
	struct ident *id = &c->ids[c->id_i];
	if (*aligned_flag(c, id)) { /* another signature aligned already */
		c->id_i++;
		return;
	}
	if (strcmp(id->domain, c->out.from_domain) == 0) {
		*aligned_flag(c, id) = true; /* identical: strict, and so relaxed too */
		c->id_i++;
		return;
	}
	if (!mode_strict(c, id) && c->org_unknown) {
		c->id_temp = true; /* relaxed, but the From domain's org is unknown */
		c->id_i++;
		return;
	}
	if (mode_strict(c, id) || !at_or_below(id->domain, c->out.org_domain)) {
		c->id_i++; /* no walk can give it the author's Organizational Domain */
		return;
	}
	walk_init(&c->idw, id->domain);
	c->id_walking = true;
}

static void exist_step(struct dmarc_check *c)
{
	static const enum dns_qtype types[3] = {DNS_Q_A, DNS_Q_AAAA, DNS_Q_MX};
	if (c->exists < 0 && c->exist_step < 3) {
		ask(c, c->out.from_domain, types[c->exist_step], ASK_EXIST);
		return;
	}
	if (c->exists < 0 && c->exist_temp) {
		apply_policy(c, c->sp_effective, false);
		finish(c, DMARC_TEMPERROR,
		       "temporary DNS failure checking whether the From domain exists (np=)");
		return;
	}
	apply_policy(c, c->exists == 0 ? c->np_effective : c->sp_effective, true);
	finish(c, DMARC_FAIL, NULL);
}

/* The Author Domain has a record of its own (so it is the policy): is
 * its Organizational Domain needed? Only for relaxed alignment of an
 * identifier that is not the Author Domain itself (4.10.2 lists when no
 * evaluation is needed: identical names, strict alignment). */
static bool author_org_needed(const struct dmarc_check *c)
{
	const struct dmarc_record *r = &c->author_recs[0];
	for (size_t i = 0; i < c->nids; i++) {
		const struct ident *id = &c->ids[i];
		bool strict = id->is_spf ? r->aspf_strict : r->adkim_strict;
		if (!strict && strcmp(id->domain, c->out.from_domain) != 0)
			return true;
	}
	return false;
}

static void step(struct dmarc_check *c)
{
	switch (c->phase) {
	case PH_AUTHOR:
		if (!c->author.done && c->author.i == 1 && c->author.state[0] == NS_RECORD &&
		    !author_org_needed(c)) {
			c->author.done = true; /* 4.10.2: the Author Domain serves as its own */
			c->author.org_off = 0;
		}
		if (!c->author.done)
			walk_step(c, &c->author, false);
		else
			author_decided(c);
		break;
	case PH_IDENT:
		ident_step(c);
		break;
	case PH_EXIST:
		exist_step(c);
		break;
	case PH_DONE:
		break;
	}
}

static void handle_answer(struct dmarc_check *c, const struct dns_answer *a)
{
	if (c->kind == ASK_EXIST) {
		if (a->status == DNS_Q_DATA || a->status == DNS_Q_NODATA)
			c->exists = 1;
		else if (a->status == DNS_Q_TEMP)
			c->exist_temp = true;
		if (++c->exist_step >= 3 && c->exists < 0 && !c->exist_temp)
			c->exists = 0; /* NXDOMAIN three times */
		return;
	}
	bool author = c->phase == PH_AUTHOR;
	struct walk *w = author ? &c->author : &c->idw;
	const char *name = walk_name(w, w->i);
	enum dmarc_psd psd;
	enum name_state st = read_txt(c, name, a, author ? &c->author_recs[w->i] : NULL, &psd);
	cache_put(c, name, st, psd);
	walk_learn(w, st, psd);
}

/* Step until a question is outstanding or the check is done; then the
 * callback and the end. Returns whether the check ended. */
static bool run(struct dmarc_check *c)
{
	c->q.in_run = true;
	while (c->phase != PH_DONE && !c->q.waiting)
		step(c);
	c->q.in_run = false;
	if (c->phase != PH_DONE)
		return false;
	c->cb(c->ud, &c->out);
	free(c);
	return true;
}

static void on_answer(void *ud, const struct dns_answer *a)
{
	struct dmarc_check *c = ud;
	dns_asker_answered(&c->q);
	handle_answer(c, a);
	if (!c->q.in_run)
		run(c);
}

/* ---- entry points ---- */

struct dmarc_check *dmarc_check_start(const struct spf_resolver *res, const struct dmarc_input *in,
                                      dmarc_done_cb cb, void *ud)
{
	struct dmarc_check *c = calloc(1, sizeof *c);
	if (!c) {
		struct dmarc_outcome o = {.result = DMARC_TEMPERROR};
		snprintf(o.problem, sizeof o.problem, "out of memory");
		cb(ud, &o);
		return NULL;
	}
	c->q.res = *res;
	c->cb = cb;
	c->ud = ud;
	c->exists = -1;
	if (!normalize_domain(in->from_domain, c->out.from_domain)) {
		snprintf(c->out.from_domain, sizeof c->out.from_domain, "%.255s",
		         in->from_domain ? in->from_domain : "");
		finish(c, DMARC_PERMERROR, "the From domain is not a valid domain name");
		return run(c) ? NULL : c;
	}
	if (in->spf == SPF_PASS && normalize_domain(in->spf_domain, c->ids[c->nids].domain))
		c->ids[c->nids++].is_spf = true;
	size_t ndkim = in->ndkim < DMARC_MAX_DKIM ? in->ndkim : DMARC_MAX_DKIM;
	for (size_t i = 0; i < ndkim; i++) {
		if (in->dkim[i].result != DKIM_PASS ||
		    !normalize_domain(in->dkim[i].domain, c->ids[c->nids].domain))
			continue;
		bool dup = false; /* the same d= twice needs one look */
		for (size_t j = 0; j < c->nids; j++)
			dup = dup || (!c->ids[j].is_spf &&
			              !strcmp(c->ids[j].domain, c->ids[c->nids].domain));
		if (!dup)
			c->nids++;
	}
	walk_init(&c->author, c->out.from_domain);
	c->phase = PH_AUTHOR;
	return run(c) ? NULL : c;
}

void dmarc_check_cancel(struct dmarc_check *c)
{
	if (!c)
		return;
	dns_asker_cancel(&c->q);
	free(c);
}
