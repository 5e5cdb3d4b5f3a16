/* dkim_verify: checking a message's DKIM signatures (dkim.h).
 *
 * The message streams through once. The header section is kept
 * (dkim_msg.h); when it ends, the top max_sigs DKIM-Signature fields are
 * parsed, each one's header hash is computed (the headers are all known
 * then), and one body canonicalizer is set up per distinct (c=, l=) pair,
 * shared by the signatures that agree on it. The body then only streams
 * through those. A signature is decided when both its key (given by the
 * caller from DNS) and the end of the body are there, in either order.
 *
 * Per signature, RFC 6376 §6.1 in order: the field (dkim_sig.c), the key
 * record (each TXT record in turn until one fits the algorithm; t=s, h=,
 * revoked p=), the body hash, then the signature. */
#include "mailauth/dkim.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mailauth/dkim_msg.h"
#include "mailauth/dkim_sig.h"

struct sig_state {
	struct dkim_sig sig;
	bool parsed;
	char query[DKIM_NAME_MAX * 2 + 16];
	unsigned char header_hash[32];
	int body; /* index into bodies */
	struct dkim_key_answer key;
	struct dkim_sig_result res;
};

struct dkim_verify {
	int64_t now;
	size_t max_sigs;
	struct dkim_msg msg;
	bool ended;
	size_t nsig;
	struct sig_state *sig;
	struct dkim_bodies bodies;
};

_Static_assert(DKIM_VERIFY_MAX_SIGS <= DKIM_BODIES_MAX, "each signature finds a body hasher");

const char *dkim_result_name(enum dkim_result r)
{
	switch (r) {
	case DKIM_PASS:
		return "pass";
	case DKIM_FAIL:
		return "fail";
	case DKIM_NEUTRAL:
		return "neutral";
	case DKIM_TEMPERROR:
		return "temperror";
	case DKIM_PERMERROR:
		return "permerror";
	default:
		return "none";
	}
}

struct dkim_verify *dkim_verify_new(int64_t now, size_t max_sigs)
{
	struct dkim_verify *v = calloc(1, sizeof *v);
	if (!v)
		return NULL;
	v->now = now;
	v->max_sigs = max_sigs && max_sigs < DKIM_VERIFY_MAX_SIGS ? max_sigs : DKIM_VERIFY_MAX_SIGS;
	return v;
}

void dkim_key_answer_free(struct dkim_key_answer *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->txt[i]);
	memset(a, 0, sizeof *a);
}

void dkim_key_answer_set(struct dkim_key_answer *a, enum dkim_dns status, const char *const *txt,
                         const size_t *txt_len, size_t n)
{
	a->given = true;
	a->status = status;
	for (size_t k = 0; status == DKIM_DNS_OK && k < n && a->n < DKIM_KEY_TXT_MAX; k++) {
		size_t len = txt_len[k] < DKIM_KEY_RECORD_MAX ? txt_len[k] : DKIM_KEY_RECORD_MAX;
		char *copy = malloc(len + 1);
		if (!copy)
			break;
		memcpy(copy, txt[k], len);
		copy[len] = '\0';
		a->txt[a->n] = copy;
		a->txt_len[a->n++] = txt_len[k]; /* too long a record fails to parse */
	}
	if (status == DKIM_DNS_OK && n > 0 && a->n == 0)
		a->status = DKIM_DNS_TEMPFAIL; /* could not keep it */
}

void dkim_verify_free(struct dkim_verify **vp)
{
	struct dkim_verify *v = *vp;
	if (!v)
		return;
	for (size_t i = 0; i < v->nsig; i++)
		dkim_key_answer_free(&v->sig[i].key);
	free(v->sig);
	dkim_msg_free(&v->msg);
	free(v);
	*vp = NULL;
}

static void decide(struct sig_state *s, enum dkim_result r, const char *why)
{
	s->res.result = r;
	s->res.reason = why;
}

static void setup_signature(struct dkim_verify *v, struct sig_state *s, const struct dkim_field *f)
{
	const char *why = NULL;
	bool syntax = false;
	size_t value_off = (size_t)((const char *)memchr(f->text, ':', f->len) - f->text) + 1;
	if (dkim_sig_parse(f->text, f->len, value_off, v->now, &s->sig, &why, &syntax) < 0) {
		/* what did parse is still worth reporting */
		snprintf(s->res.domain, sizeof s->res.domain, "%s", s->sig.domain);
		snprintf(s->res.selector, sizeof s->res.selector, "%s", s->sig.selector);
		decide(s, syntax ? DKIM_NEUTRAL : DKIM_PERMERROR, why);
		return;
	}
	struct dkim_sig *g = &s->sig;
	s->parsed = true;
	s->res.alg = g->alg;
	snprintf(s->res.domain, sizeof s->res.domain, "%s", g->domain);
	snprintf(s->res.selector, sizeof s->res.selector, "%s", g->selector);
	snprintf(s->res.auid, sizeof s->res.auid, "%s", g->auid);
	s->res.has_l = g->has_l;
	s->res.l = g->l;
	char b64[DKIM_SIG_MAX * 4 / 3 + 8];
	sodium_bin2base64(b64, sizeof b64, g->b, g->b_len, sodium_base64_VARIANT_ORIGINAL);
	snprintf(s->res.b, sizeof s->res.b, "%.8s", b64);
	snprintf(s->query, sizeof s->query, "%s._domainkey.%s", g->selector, g->domain);

	/* the header hash: the h= fields, then this field with b= emptied */
	crypto_hash_sha256_state sha;
	crypto_hash_sha256_init(&sha);
	dkim_msg_hash_fields(&v->msg, &sha, g->header_canon, g->h, g->nh);
	if (dkim_header_hash_unsigned(&sha, g->header_canon, f->text, f->len, g->b_off, g->b_end) <
	    0) {
		s->parsed = false;
		decide(s, DKIM_TEMPERROR, "out of memory");
		return;
	}
	crypto_hash_sha256_final(&sha, s->header_hash);

	/* a body canonicalizer: shared with an earlier signature that agrees */
	s->body = dkim_bodies_get(&v->bodies, g->body_canon, g->has_l ? g->l : DKIM_BODY_NO_LIMIT);
}

static void headers_done(struct dkim_verify *v)
{
	if (v->msg.error)
		return;
	size_t n = 0;
	for (size_t f = 0; f < v->msg.nfield && n < v->max_sigs; f++)
		if (dkim_field_is(&v->msg.field[f], "DKIM-Signature", 14))
			n++;
	if (n == 0)
		return;
	v->sig = calloc(n, sizeof *v->sig);
	if (!v->sig) {
		v->msg.error = "out of memory";
		return;
	}
	for (size_t f = 0; f < v->msg.nfield && v->nsig < n; f++)
		if (dkim_field_is(&v->msg.field[f], "DKIM-Signature", 14))
			setup_signature(v, &v->sig[v->nsig++], &v->msg.field[f]);
}

void dkim_verify_feed(struct dkim_verify *v, const void *data, size_t len)
{
	if (v->ended)
		return;
	if (dkim_msg_take(&v->msg, &data, &len))
		headers_done(v);
	if (!len)
		return;
	dkim_bodies_feed(&v->bodies, data, len);
}

bool dkim_verify_headers_done(const struct dkim_verify *v)
{
	return v->msg.done;
}

const char *dkim_verify_error(const struct dkim_verify *v)
{
	return v->msg.error;
}

size_t dkim_verify_count(const struct dkim_verify *v)
{
	return v->nsig;
}

const char *dkim_verify_query(const struct dkim_verify *v, size_t i)
{
	return i < v->nsig && v->sig[i].parsed && v->sig[i].res.result == DKIM_PENDING
	           ? v->sig[i].query
	           : NULL;
}

/* The domain part of i= equals d= (t=s). */
static bool auid_is_domain(const struct dkim_sig *g)
{
	const char *at = strrchr(g->auid, '@');
	return at && strcasecmp(at + 1, g->domain) == 0;
}

/* Both the key and the body are there: decide signature s. */
static void finish(struct dkim_verify *v, struct sig_state *s)
{
	struct dkim_key_answer *a = &s->key;
	const struct dkim_sig *g = &s->sig;
	if (a->status == DKIM_DNS_TEMPFAIL)
		return decide(s, DKIM_TEMPERROR, "key unavailable (DNS temporary error)");
	if (a->status == DKIM_DNS_PERMFAIL)
		return decide(s, DKIM_PERMERROR, "key unavailable (DNS error)");
	if (a->status == DKIM_DNS_NOKEY || a->n == 0)
		return decide(s, DKIM_PERMERROR, "no key for signature");
	struct dkim_body *body = &v->bodies.body[s->body];
	const unsigned char *bh = v->bodies.hash[s->body];
	if (g->has_l)
		s->res.body_uncovered = body->total > g->l ? body->total - g->l : 0;
	const char *why = NULL;
	enum dkim_result r = DKIM_PERMERROR;
	struct dkim_key_record *k = malloc(sizeof *k);
	if (!k)
		return decide(s, DKIM_TEMPERROR, "out of memory");
	for (size_t i = 0; i < a->n; i++) {
		const char *w = NULL;
		if (dkim_key_record_parse(a->txt[i], a->txt_len[i], k, &w) < 0) {
			/* keep the first reason: a later record may fit */
		} else if (k->key_type != g->alg) {
			w = "inappropriate key algorithm";
		} else if (k->revoked) {
			w = "key revoked";
		} else if (!k->sha256_ok) {
			w = "inappropriate hash algorithm (key h=)";
		} else if (k->strict && !auid_is_domain(g)) {
			w = "domain mismatch (key t=s, i= is not d=)";
		} else if (g->has_l && body->total < g->l) {
			r = DKIM_FAIL, why = "body shorter than l=";
			s->res.testing = k->testing;
			break;
		} else if (sodium_memcmp(bh, g->bh, 32) != 0) {
			r = DKIM_FAIL, why = "body hash did not verify";
			s->res.testing = k->testing;
			break;
		} else {
			int rc = dkim_key_verify(k, s->header_hash, g->b, g->b_len, &w);
			s->res.testing = k->testing;
			if (rc == 0) {
				r = DKIM_PASS, why = "";
				break;
			}
			if (rc == -1) {
				r = DKIM_FAIL, why = "signature did not verify";
				break;
			}
		}
		if (!why)
			why = w;
	}
	free(k);
	decide(s, r, why ? why : "no usable key");
}

void dkim_verify_key(struct dkim_verify *v, size_t i, enum dkim_dns status, const char *const *txt,
                     const size_t *txt_len, size_t n)
{
	if (!dkim_verify_query(v, i) || v->sig[i].key.given)
		return;
	dkim_key_answer_set(&v->sig[i].key, status, txt, txt_len, n);
	if (v->ended)
		finish(v, &v->sig[i]);
}

void dkim_verify_end(struct dkim_verify *v)
{
	if (v->ended)
		return;
	v->ended = true;
	if (!v->msg.done) {
		dkim_msg_end_headers(&v->msg);
		headers_done(v);
	}
	dkim_bodies_final(&v->bodies);
	for (size_t i = 0; i < v->nsig; i++)
		if (v->sig[i].parsed && v->sig[i].res.result == DKIM_PENDING && v->sig[i].key.given)
			finish(v, &v->sig[i]);
}

const struct dkim_sig_result *dkim_verify_result(const struct dkim_verify *v, size_t i)
{
	return i < v->nsig ? &v->sig[i].res : NULL;
}
