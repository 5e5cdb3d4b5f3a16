/* arc_verify: ARC chain validation (arc.h), RFC 8617 §5.2.
 *
 * The message streams through once, like dkim_verify.c: the header
 * section is kept (dkim_msg.h); when it ends the sets are collected and
 * checked for structure (arc_set.c), the cv= values are checked (i=1
 * none, later pass, the latest not fail), every AMS and AS is parsed and
 * its header hash computed, and one body canonicalizer is set up per
 * distinct (c=, l=) of the AMSs. The caller then looks up the distinct
 * key names. When every answer and the end of the body are in:
 *   - AMS(N) must verify (else fail); the AMSs below it give oldest-pass;
 *   - every AS from N down to 1 must verify (else fail);
 * and the chain passes. */
#include "mailauth/arc.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ARC_QUERIES (2 * ARC_MAX_INSTANCE)

/* One signature to check: an AMS or an AS. */
struct check {
	bool ready;  /* parsed, hashed, waiting for its key */
	int outcome; /* 0 pending or not checked, 1 verified, -1 failed */
	const char *why;
	enum dkim_alg alg;
	int query; /* index into queries */
	int body;  /* AMS: index into bodies, -1: not hashed */
	unsigned char hash[32];
	const unsigned char *bh; /* AMS: the expected body hash */
	const unsigned char *b;
	size_t b_len;
};

struct arc_verify {
	int64_t now;
	struct dkim_msg msg;
	bool ended;
	struct arc_sets sets;
	struct arc_result res;
	struct arc_instance inst[ARC_MAX_INSTANCE + 1];
	struct dkim_sig *ams;  /* [ARC_MAX_INSTANCE + 1] */
	struct arc_seal *seal; /* [ARC_MAX_INSTANCE + 1] */
	struct check ams_check[ARC_MAX_INSTANCE + 1], as_check[ARC_MAX_INSTANCE + 1];
	size_t nquery;
	char query[ARC_QUERIES][DKIM_NAME_MAX * 2 + 16];
	struct dkim_key_answer answer[ARC_QUERIES];
	struct dkim_bodies bodies; /* of the AMS */
};

const char *arc_status_name(enum arc_status s)
{
	switch (s) {
	case ARC_PASS:
		return "pass";
	case ARC_FAIL:
		return "fail";
	case ARC_NONE:
		return "none";
	default:
		return "pending";
	}
}

struct arc_verify *arc_verify_new(int64_t now)
{
	struct arc_verify *v = calloc(1, sizeof *v);
	if (!v)
		return NULL;
	v->now = now;
	return v;
}

void arc_verify_free(struct arc_verify **vp)
{
	struct arc_verify *v = *vp;
	if (!v)
		return;
	for (size_t q = 0; q < v->nquery; q++)
		dkim_key_answer_free(&v->answer[q]);
	free(v->ams);
	free(v->seal);
	dkim_msg_free(&v->msg);
	free(v);
	*vp = NULL;
}

static void decide(struct arc_verify *v, enum arc_status s, unsigned failed, const char *why)
{
	v->res.status = s;
	v->res.failed = failed;
	v->res.reason = why;
}

/* The index of the query for selector/domain, added if new. */
static int add_query(struct arc_verify *v, const char *selector, const char *domain)
{
	char name[sizeof v->query[0]];
	snprintf(name, sizeof name, "%s._domainkey.%s", selector, domain);
	for (size_t q = 0; q < v->nquery; q++)
		if (strcasecmp(v->query[q], name) == 0)
			return (int)q;
	if (v->nquery == ARC_QUERIES)
		return -1;
	memcpy(v->query[v->nquery], name, sizeof name);
	return (int)v->nquery++;
}

static size_t value_off(const struct dkim_field *f)
{
	return (size_t)((const char *)memchr(f->text, ':', f->len) - f->text) + 1;
}

static void setup_ams(struct arc_verify *v, unsigned i)
{
	struct check *c = &v->ams_check[i];
	struct dkim_sig *g = &v->ams[i];
	const struct dkim_field *f = v->sets.set[i].ams;
	bool syntax;
	c->body = -1;
	if (dkim_sig_parse_ams(f->text, f->len, value_off(f), v->now, g, &c->why, &syntax) < 0)
		return;
	if (g->instance != i || !arc_domain_ok(g->domain) || !arc_domain_ok(g->selector)) {
		c->why = "ARC-Message-Signature d=, s= or i= invalid";
		return;
	}
	snprintf(v->inst[i].ams_domain, sizeof v->inst[i].ams_domain, "%s", g->domain);
	c->body = dkim_bodies_get(&v->bodies, g->body_canon, g->has_l ? g->l : DKIM_BODY_NO_LIMIT);
	if (c->body < 0) {
		c->why = "too many body canonicalizations";
		return;
	}
	crypto_hash_sha256_state sha;
	crypto_hash_sha256_init(&sha);
	dkim_msg_hash_fields(&v->msg, &sha, g->header_canon, g->h, g->nh);
	if (dkim_header_hash_unsigned(&sha, g->header_canon, f->text, f->len, g->b_off, g->b_end) <
	    0) {
		c->why = "out of memory";
		return;
	}
	crypto_hash_sha256_final(&sha, c->hash);
	c->query = add_query(v, g->selector, g->domain);
	if (c->query < 0)
		return;
	c->alg = g->alg;
	c->bh = g->bh;
	c->b = g->b;
	c->b_len = g->b_len;
	c->ready = true;
}

/* AS(i) signs sets 1..i in order, AAR, AMS, AS, relaxed; its own b=
 * emptied (RFC 8617 §5.1.1). */
static void setup_as(struct arc_verify *v, unsigned i)
{
	struct check *c = &v->as_check[i];
	struct arc_seal *s = &v->seal[i];
	const struct dkim_field *f = v->sets.set[i].as;
	if (arc_seal_parse(f, s, &c->why) < 0)
		return;
	crypto_hash_sha256_state sha;
	crypto_hash_sha256_init(&sha);
	for (unsigned k = 1; k <= i; k++) {
		const struct arc_set *set = &v->sets.set[k];
		dkim_header_hash(&sha, DKIM_CANON_RELAXED, set->aar->text, set->aar->len, true);
		dkim_header_hash(&sha, DKIM_CANON_RELAXED, set->ams->text, set->ams->len, true);
		if (k < i)
			dkim_header_hash(&sha, DKIM_CANON_RELAXED, set->as->text, set->as->len,
			                 true);
	}
	if (dkim_header_hash_unsigned(&sha, DKIM_CANON_RELAXED, f->text, f->len, s->b_off,
	                              s->b_end) < 0) {
		c->why = "out of memory";
		return;
	}
	crypto_hash_sha256_final(&sha, c->hash);
	c->query = add_query(v, s->selector, s->domain);
	if (c->query < 0)
		return;
	c->alg = s->alg;
	c->b = s->b;
	c->b_len = s->b_len;
	c->body = -1;
	c->ready = true;
}

static void headers_done(struct arc_verify *v)
{
	if (v->msg.error) {
		decide(v, ARC_NONE, 0, v->msg.error);
		return;
	}
	arc_sets_collect(&v->msg, &v->sets);
	unsigned n = v->sets.n;
	v->res.instances = n;
	if (!v->sets.any)
		return decide(v, ARC_NONE, 0, "");
	if (v->sets.error)
		return decide(v, ARC_FAIL, 0, v->sets.error);
	v->ams = calloc(n + 1, sizeof *v->ams);
	v->seal = calloc(n + 1, sizeof *v->seal);
	if (!v->ams || !v->seal)
		return decide(v, ARC_FAIL, 0, "out of memory");
	for (unsigned i = 1; i <= n; i++) {
		struct arc_instance *in = &v->inst[i];
		in->i = i;
		unsigned ii;
		arc_aar_parse(v->sets.set[i].aar, &ii, &in->aar, &in->aar_len);
		setup_as(v, i);
		in->cv = v->seal[i].cv;
		snprintf(in->seal_domain, sizeof in->seal_domain, "%s", v->seal[i].domain);
		snprintf(in->seal_selector, sizeof in->seal_selector, "%s", v->seal[i].selector);
	}
	for (unsigned i = n; i >= 1; i--)
		setup_ams(v, i);
	/* what fails before any key is looked at */
	for (unsigned i = n; i >= 1; i--)
		if (!v->as_check[i].ready)
			return decide(v, ARC_FAIL, i,
			              v->as_check[i].why ? v->as_check[i].why
			                                 : "ARC-Seal not usable");
	if (v->seal[n].cv == ARC_CV_FAIL)
		return decide(v, ARC_FAIL, n, "the chain already failed (latest cv=fail)");
	for (unsigned i = 1; i <= n; i++)
		if ((i == 1) != (v->seal[i].cv == ARC_CV_NONE) || v->seal[i].cv == ARC_CV_FAIL)
			return decide(v, ARC_FAIL, i, "ARC-Seal cv= does not fit its instance");
	if (!v->ams_check[n].ready)
		return decide(v, ARC_FAIL, n,
		              v->ams_check[n].why ? v->ams_check[n].why
		                                  : "ARC-Message-Signature not usable");
}

void arc_verify_feed(struct arc_verify *v, const void *data, size_t len)
{
	if (v->ended)
		return;
	if (dkim_msg_take(&v->msg, &data, &len))
		headers_done(v);
	if (!len)
		return;
	if (v->res.status != ARC_PENDING)
		return;
	dkim_bodies_feed(&v->bodies, data, len);
}

bool arc_verify_headers_done(const struct arc_verify *v)
{
	return v->msg.done;
}

size_t arc_verify_query_count(const struct arc_verify *v)
{
	return v->res.status == ARC_PENDING ? v->nquery : 0;
}

const char *arc_verify_query(const struct arc_verify *v, size_t k)
{
	return k < arc_verify_query_count(v) ? v->query[k] : NULL;
}

static void check_one(struct arc_verify *v, struct check *c)
{
	if (!c->ready || c->outcome)
		return;
	const struct dkim_key_answer *a = &v->answer[c->query];
	c->outcome = -1;
	if (a->status == DKIM_DNS_TEMPFAIL) {
		c->why = "key unavailable (DNS temporary error)";
		return;
	}
	if (a->status != DKIM_DNS_OK || a->n == 0) {
		c->why = "no key for signature";
		return;
	}
	if (c->bh && sodium_memcmp(c->bh, v->bodies.hash[c->body], 32) != 0) {
		c->why = "body hash did not verify";
		return;
	}
	if (dkim_key_verify_txt((const char *const *)a->txt, a->txt_len, a->n, c->alg, c->hash,
	                        c->b, c->b_len, &c->why) == 0)
		c->outcome = 1;
}

/* Everything is in: RFC 8617 §5.2 steps 3 to 6. */
static void finish(struct arc_verify *v)
{
	for (size_t q = 0; q < v->nquery; q++)
		if (!v->answer[q].given)
			return;
	unsigned n = v->sets.n;
	for (unsigned i = 1; i <= n; i++) {
		check_one(v, &v->ams_check[i]);
		check_one(v, &v->as_check[i]);
		v->inst[i].ams_ok = v->ams_check[i].outcome == 1;
		v->inst[i].seal_ok = v->as_check[i].outcome == 1;
	}
	unsigned oldest = 0;
	for (unsigned i = n; i >= 1 && v->ams_check[i].outcome == 1; i--)
		oldest = i;
	v->res.oldest_pass = oldest;
	const struct dkim_key_answer *a;
	if (v->ams_check[n].outcome != 1) {
		a = &v->answer[v->ams_check[n].query];
		v->res.temporary = a->status == DKIM_DNS_TEMPFAIL;
		return decide(v, ARC_FAIL, n, v->ams_check[n].why);
	}
	for (unsigned i = n; i >= 1; i--)
		if (v->as_check[i].outcome != 1) {
			a = &v->answer[v->as_check[i].query];
			v->res.temporary = a->status == DKIM_DNS_TEMPFAIL;
			return decide(v, ARC_FAIL, i, v->as_check[i].why);
		}
	decide(v, ARC_PASS, 0, "");
}

void arc_verify_key(struct arc_verify *v, size_t k, enum dkim_dns status, const char *const *txt,
                    const size_t *txt_len, size_t n)
{
	if (!arc_verify_query(v, k) || v->answer[k].given)
		return;
	dkim_key_answer_set(&v->answer[k], status, txt, txt_len, n);
	if (v->ended)
		finish(v);
}

void arc_verify_end(struct arc_verify *v)
{
	if (v->ended)
		return;
	v->ended = true;
	if (!v->msg.done) {
		dkim_msg_end_headers(&v->msg);
		headers_done(v);
	}
	if (v->res.status != ARC_PENDING)
		return;
	dkim_bodies_final(&v->bodies);
	finish(v);
}

const struct arc_result *arc_verify_result(const struct arc_verify *v)
{
	return &v->res;
}

const struct arc_instance *arc_verify_instance(const struct arc_verify *v, unsigned i)
{
	return i >= 1 && i <= v->sets.n && !v->sets.error && v->res.status != ARC_PENDING
	           ? &v->inst[i]
	           : NULL;
}
