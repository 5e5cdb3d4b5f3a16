/* arc_set: grouping ARC fields into sets and parsing ARC-Seal and
 * ARC-Authentication-Results (arc_set.h).
 *
 * i= must be digits without a leading zero, 1..50: "i=0", "i=", "i=01"
 * or "i=x" on any ARC field breaks the whole chain, as does a field
 * twice for one instance or a set that lacks one (RFC 8617 §4.2.1,
 * §5.2 step 2). */
#include "mailauth/arc_set.h"

#include <sodium.h>
#include <string.h>
#include <strings.h>

#include "mailauth/dkim_tags.h"

static bool ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static size_t value_start(const struct dkim_field *f)
{
	const char *colon = memchr(f->text, ':', f->len);
	return colon ? (size_t)(colon - f->text) + 1 : f->len;
}

/* "1".."50", no leading zero. 0 otherwise. */
static unsigned parse_instance(const char *s, size_t n)
{
	if (n == 0 || n > 2 || s[0] == '0')
		return 0;
	unsigned v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	return v <= ARC_MAX_INSTANCE ? v : 0;
}

int arc_aar_parse(const struct dkim_field *f, unsigned *instance, const char **payload,
                  size_t *payload_len)
{
	const char *p = f->text + value_start(f), *end = f->text + f->len;
	while (p < end && ws(*p))
		p++;
	if (p == end || *p != 'i')
		return -1;
	p++;
	while (p < end && ws(*p))
		p++;
	if (p == end || *p != '=')
		return -1;
	p++;
	while (p < end && ws(*p))
		p++;
	const char *d = p;
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	unsigned i = parse_instance(d, (size_t)(p - d));
	while (p < end && ws(*p))
		p++;
	if (!i || p == end || *p != ';')
		return -1;
	p++;
	while (p < end && ws(*p))
		p++;
	*instance = i;
	*payload = p;
	*payload_len = (size_t)(end - p);
	return 0;
}

unsigned arc_field_instance(const struct dkim_field *f)
{
	if (dkim_field_is(f, "ARC-Authentication-Results", 26)) {
		unsigned i;
		const char *p;
		size_t n;
		return arc_aar_parse(f, &i, &p, &n) == 0 ? i : 0;
	}
	struct dkim_tags tags;
	size_t off = value_start(f);
	if (dkim_tags_parse(f->text + off, f->len - off, &tags) < 0)
		return 0;
	const struct dkim_tag *t = dkim_tags_get(&tags, "i");
	return t ? parse_instance(t->value, t->value_len) : 0;
}

void arc_sets_collect(const struct dkim_msg *m, struct arc_sets *out)
{
	memset(out, 0, sizeof *out);
	for (size_t k = 0; k < m->nfield; k++) {
		const struct dkim_field *f = &m->field[k];
		const struct dkim_field **slot;
		if (f->name_len < 4 || strncasecmp(f->text, "ARC-", 4) != 0)
			continue;
		bool aar = dkim_field_is(f, "ARC-Authentication-Results", 26),
		     ams = dkim_field_is(f, "ARC-Message-Signature", 21),
		     as = dkim_field_is(f, "ARC-Seal", 8);
		if (!aar && !ams && !as)
			continue;
		out->any = true;
		if (out->error)
			continue;
		unsigned i = arc_field_instance(f);
		if (!i) {
			out->error = "ARC field with an invalid instance (i=)";
			continue;
		}
		slot = aar ? &out->set[i].aar : ams ? &out->set[i].ams : &out->set[i].as;
		if (*slot) {
			out->error = "duplicate ARC field for one instance";
			continue;
		}
		*slot = f;
		if (i > out->n)
			out->n = i;
	}
	if (out->error)
		return;
	for (unsigned i = 1; i <= out->n; i++)
		if (!out->set[i].aar || !out->set[i].ams || !out->set[i].as) {
			out->error = "incomplete ARC set, or a gap in the instances";
			return;
		}
}

bool arc_domain_ok(const char *d)
{
	size_t label = 0, n = 0;
	for (const char *p = d; *p; p++, n++) {
		char c = *p;
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		           (c >= '0' && c <= '9') || c == '-' || c == '_') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return n > 0 && n < 254 && label > 0;
}

static bool copy_token(const struct dkim_tag *t, char *out, size_t cap)
{
	if (!t || t->value_len == 0 || t->value_len >= cap)
		return false;
	memcpy(out, t->value, t->value_len);
	out[t->value_len] = '\0';
	for (size_t i = 0; i < t->value_len; i++)
		if (ws(out[i]))
			return false;
	return true;
}

int arc_seal_parse(const struct dkim_field *f, struct arc_seal *s, const char **why)
{
	memset(s, 0, sizeof *s);
	s->t = -1;
	struct dkim_tags tags;
	size_t off = value_start(f);
	if (dkim_tags_parse(f->text + off, f->len - off, &tags) < 0) {
		*why = "ARC-Seal syntax error";
		return -1;
	}
	const struct dkim_tag *a = dkim_tags_get(&tags, "a"), *b = dkim_tags_get(&tags, "b"),
	                      *cv = dkim_tags_get(&tags, "cv"), *d = dkim_tags_get(&tags, "d"),
	                      *i = dkim_tags_get(&tags, "i"), *sel = dkim_tags_get(&tags, "s"),
	                      *t = dkim_tags_get(&tags, "t");
	if (!a || !b || !cv || !d || !i || !sel) {
		*why = "ARC-Seal missing required tag";
		return -1;
	}
	if (dkim_tags_get(&tags, "h")) {
		*why = "ARC-Seal with h= (RFC 8617 4.1.3)";
		return -1;
	}
	if (dkim_tag_is(a, "rsa-sha256"))
		s->alg = DKIM_ALG_RSA_SHA256;
	else if (dkim_tag_is(a, "ed25519-sha256"))
		s->alg = DKIM_ALG_ED25519_SHA256;
	else {
		*why = "ARC-Seal unsupported algorithm";
		return -1;
	}
	if (dkim_tag_is(cv, "none"))
		s->cv = ARC_CV_NONE;
	else if (dkim_tag_is(cv, "pass"))
		s->cv = ARC_CV_PASS;
	else if (dkim_tag_is(cv, "fail"))
		s->cv = ARC_CV_FAIL;
	else {
		*why = "ARC-Seal cv= invalid";
		return -1;
	}
	s->instance = parse_instance(i->value, i->value_len);
	if (!s->instance) {
		*why = "ARC-Seal i= invalid";
		return -1;
	}
	if (!copy_token(d, s->domain, sizeof s->domain) || !arc_domain_ok(s->domain) ||
	    !copy_token(sel, s->selector, sizeof s->selector) || !arc_domain_ok(s->selector)) {
		*why = "ARC-Seal d= or s= invalid";
		return -1;
	}
	if (t) {
		if (t->value_len == 0 || t->value_len > 12) {
			*why = "ARC-Seal t= invalid";
			return -1;
		}
		int64_t v = 0;
		for (size_t k = 0; k < t->value_len; k++) {
			if (t->value[k] < '0' || t->value[k] > '9') {
				*why = "ARC-Seal t= invalid";
				return -1;
			}
			v = v * 10 + (t->value[k] - '0');
		}
		s->t = v;
	}
	if (sodium_base642bin(s->b, sizeof s->b, b->value, b->value_len, " \t\r\n", &s->b_len, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    s->b_len == 0) {
		*why = "ARC-Seal b= malformed";
		return -1;
	}
	s->b_off = off + b->value_off;
	s->b_end = (size_t)(b->value + b->value_len - f->text);
	return 0;
}
