/* dkim_sig: parsing and checking a DKIM-Signature field (dkim_sig.h).
 *
 * What is a syntax error (RFC 8601 "neutral") and what is a well-formed
 * but unacceptable signature ("permerror") is decided here; the reasons
 * use RFC 6376 §3.9 / §6.1.1 words. */
#include "mailauth/dkim_sig.h"

#include <sodium.h>
#include <string.h>
#include <strings.h>

#include "mailauth/dkim_tags.h"

static bool copy_value(const struct dkim_tag *t, char *out, size_t cap)
{
	if (!t || t->value_len == 0 || t->value_len >= cap)
		return false;
	for (size_t i = 0; i < t->value_len; i++)
		if (t->value[i] == ' ' || t->value[i] == '\t' || t->value[i] == '\r' ||
		    t->value[i] == '\n')
			return false;
	memcpy(out, t->value, t->value_len);
	out[t->value_len] = '\0';
	return true;
}

static bool parse_u64(const struct dkim_tag *t, uint64_t *out, unsigned max_digits)
{
	if (!t || t->value_len == 0 || t->value_len > max_digits)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < t->value_len; i++) {
		char c = t->value[i];
		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (uint64_t)(c - '0');
	}
	*out = v;
	return true;
}

static bool parse_canon(const char *s, size_t n, enum dkim_canon *out)
{
	if (n == 6 && memcmp(s, "simple", 6) == 0)
		*out = DKIM_CANON_SIMPLE;
	else if (n == 7 && memcmp(s, "relaxed", 7) == 0)
		*out = DKIM_CANON_RELAXED;
	else
		return false;
	return true;
}

static bool ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* h=: colon-separated field names, with FWS around them. allow_empty: an
 * empty name is skipped (it selects no field), as the ARC test suite has
 * it for the AMS. */
static bool parse_h(const struct dkim_tag *t, struct dkim_sig *s, bool allow_empty)
{
	const char *p = t->value, *end = p + t->value_len;
	s->nh = 0;
	while (p <= end) {
		const char *c = memchr(p, ':', (size_t)(end - p));
		const char *e = c ? c : end;
		const char *a = p, *b = e;
		while (a < b && ws(*a))
			a++;
		while (b > a && ws(b[-1]))
			b--;
		if (a == b && allow_empty) {
			if (!c)
				break;
			p = c + 1;
			continue;
		}
		if (a == b || s->nh == DKIM_H_MAX)
			return false;
		for (const char *q = a; q < b; q++)
			if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
				return false;
		s->h[s->nh].name = a;
		s->h[s->nh].len = (size_t)(b - a);
		s->nh++;
		if (!c)
			break;
		p = c + 1;
	}
	return s->nh > 0 || allow_empty;
}

/* The domain of i= is d= or a subdomain of it (case-insensitive). */
static bool auid_in_domain(const char *auid, const char *d)
{
	const char *at = strrchr(auid, '@');
	if (!at)
		return false;
	const char *ad = at + 1;
	size_t al = strlen(ad), dl = strlen(d);
	if (al == dl)
		return strcasecmp(ad, d) == 0;
	return al > dl && ad[al - dl - 1] == '.' && strcasecmp(ad + al - dl, d) == 0;
}

#define SYNTAX(msg)                                                                                \
	do {                                                                                       \
		*why = msg;                                                                        \
		*syntax = true;                                                                    \
		return -1;                                                                         \
	} while (0)
#define REFUSE(msg)                                                                                \
	do {                                                                                       \
		*why = msg;                                                                        \
		*syntax = false;                                                                   \
		return -1;                                                                         \
	} while (0)

/* arc: an ARC-Message-Signature rather than a DKIM-Signature. */
static int parse_sig(const char *field, size_t len, size_t value_off, int64_t now, bool arc,
                     struct dkim_sig *s, const char **why, bool *syntax)
{
	memset(s, 0, sizeof *s);
	s->t = s->x = -1;
	struct dkim_tags tags;
	if (value_off > len || dkim_tags_parse(field + value_off, len - value_off, &tags) < 0)
		SYNTAX("signature syntax error");
	const struct dkim_tag *v = dkim_tags_get(&tags, "v");
	if (!arc && !v)
		SYNTAX("signature missing required tag (v=)");
	if (!arc && !dkim_tag_is(v, "1"))
		SYNTAX("incompatible version");
	const struct dkim_tag *a = dkim_tags_get(&tags, "a"), *b = dkim_tags_get(&tags, "b"),
	                      *bh = dkim_tags_get(&tags, "bh"), *d = dkim_tags_get(&tags, "d"),
	                      *h = dkim_tags_get(&tags, "h"), *sel = dkim_tags_get(&tags, "s");
	if (!a || !b || !bh || !d || !h || !sel)
		SYNTAX("signature missing required tag");
	if (!copy_value(d, s->domain, sizeof s->domain) ||
	    !copy_value(sel, s->selector, sizeof s->selector))
		SYNTAX("signature d= or s= malformed");
	if (!(arc && h->value_len == 0) && !parse_h(h, s, arc))
		SYNTAX("signature h= malformed");
	size_t n = 0;
	if (sodium_base642bin(s->bh, sizeof s->bh, bh->value, bh->value_len, " \t\r\n", &n, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    n != sizeof s->bh)
		SYNTAX("signature bh= malformed");
	if (sodium_base642bin(s->b, sizeof s->b, b->value, b->value_len, " \t\r\n", &s->b_len, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    s->b_len == 0)
		SYNTAX("signature b= malformed");
	/* emptied for hashing: from the '=' to the value's last character,
	 * the whitespace before a ';' kept (as dkimpy and OpenDKIM do) */
	s->b_off = value_off + b->value_off;
	s->b_end = (size_t)(b->value + b->value_len - field);
	const struct dkim_tag *c = dkim_tags_get(&tags, "c");
	/* an AMS without c= is relaxed/relaxed, as the ARC test suite and
	 * dkimpy have it (DKIM's default is simple/simple) */
	s->header_canon = s->body_canon = arc ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE;
	if (c) {
		const char *slash = memchr(c->value, '/', c->value_len);
		size_t hl = slash ? (size_t)(slash - c->value) : c->value_len;
		if (!parse_canon(c->value, hl, &s->header_canon) ||
		    (slash && !parse_canon(slash + 1, c->value_len - hl - 1, &s->body_canon)))
			SYNTAX("signature c= malformed");
	}
	const struct dkim_tag *l = dkim_tags_get(&tags, "l");
	if (l) {
		if (!parse_u64(l, &s->l,
		               18)) /* 76 digits allowed; past 10^18, larger than any body */
			SYNTAX("signature l= malformed");
		s->has_l = true;
	}
	uint64_t tv;
	const struct dkim_tag *t = dkim_tags_get(&tags, "t"), *x = dkim_tags_get(&tags, "x");
	if (t) {
		if (!parse_u64(t, &tv, 12))
			SYNTAX("signature t= malformed");
		s->t = (int64_t)tv;
	}
	if (x) {
		if (!parse_u64(x, &tv, 12))
			SYNTAX("signature x= malformed");
		s->x = (int64_t)tv;
	}
	const struct dkim_tag *i = dkim_tags_get(&tags, "i");
	if (arc) {
		uint64_t inst;
		if (!parse_u64(i, &inst, 2) || inst < 1 || inst > DKIM_ARC_INSTANCE_MAX ||
		    i->value[0] == '0')
			SYNTAX("signature i= is not an ARC instance (1..50)");
		s->instance = (unsigned)inst;
		i = NULL;
	}
	if (i) {
		if (!copy_value(i, s->auid, sizeof s->auid) || !strchr(s->auid, '@'))
			SYNTAX("signature i= malformed");
	} else {
		s->auid[0] = '@';
		memcpy(s->auid + 1, s->domain, strlen(s->domain) + 1);
	}
	const struct dkim_tag *q = dkim_tags_get(&tags, "q");
	/* now the well-formed signature's acceptability */
	if (dkim_tag_is(a, "rsa-sha256"))
		s->alg = DKIM_ALG_RSA_SHA256;
	else if (dkim_tag_is(a, "ed25519-sha256"))
		s->alg = DKIM_ALG_ED25519_SHA256;
	else if (dkim_tag_is(a, "rsa-sha1"))
		REFUSE("rsa-sha1 is not accepted (RFC 8301)");
	else
		REFUSE("unsupported algorithm");
	if (q && !dkim_tag_is(q, "dns/txt"))
		REFUSE("unsupported query method");
	if (!auid_in_domain(s->auid, s->domain))
		REFUSE("domain mismatch (i= not within d=)");
	bool from = false, seal = false;
	for (size_t k = 0; k < s->nh; k++) {
		if (s->h[k].len == 4 && strncasecmp(s->h[k].name, "from", 4) == 0)
			from = true;
		if (s->h[k].len == 8 && strncasecmp(s->h[k].name, "arc-seal", 8) == 0)
			seal = true;
	}
	if (!arc && !from)
		REFUSE("From field not signed");
	if (arc && seal)
		REFUSE("ARC-Message-Signature signs ARC-Seal (RFC 8617 4.1.2)");
	if (s->x >= 0 && s->t >= 0 && s->x < s->t)
		REFUSE("signature expired before it was made (x= < t=)");
	if (s->x >= 0 && now > s->x)
		REFUSE("signature expired");
	return 0;
}

int dkim_sig_parse(const char *field, size_t len, size_t value_off, int64_t now, struct dkim_sig *s,
                   const char **why, bool *syntax)
{
	return parse_sig(field, len, value_off, now, false, s, why, syntax);
}

int dkim_sig_parse_ams(const char *field, size_t len, size_t value_off, int64_t now,
                       struct dkim_sig *s, const char **why, bool *syntax)
{
	return parse_sig(field, len, value_off, now, true, s, why, syntax);
}
