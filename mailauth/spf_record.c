/* spf_record: parsing an SPF record into terms (RFC 7208 4.6, 5, 6, 12).
 *
 * Why parse the whole record before evaluating it: 4.6 makes any syntax
 * error a permerror even when an earlier mechanism would have matched, so
 * the evaluator in spf.c only ever walks a record that is known good. The
 * record is copied into spf_record.buf and split there; terms point into
 * it. Bounded: SPF_MAX_RECORD bytes, SPF_MAX_TERMS terms. */
#include "mailauth/spf_record.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

bool spf_record_is_spf1(const char *txt, size_t len)
{
	return len >= 6 && strncasecmp(txt, "v=spf1", 6) == 0 && (len == 6 || txt[6] == ' ');
}

const char *spf_result_name(enum spf_result r)
{
	static const char *names[] = {"none",     "neutral",   "pass",     "fail",
	                              "softfail", "temperror", "permerror"};
	return (unsigned)r <= SPF_PERMERROR ? names[r] : "?";
}

bool spf_domain_ok(const char *name, bool multi_label)
{
	size_t len = strlen(name);
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return false;
	size_t labels = 0, l = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || name[i] == '.') {
			if (l == 0 || l > 63)
				return false;
			labels++;
			l = 0;
		} else {
			l++;
		}
	}
	return !multi_label || labels >= 2;
}

/* dec-octet without leading zeros (12). */
static bool parse_ip4(const char *s, uint8_t out[4])
{
	for (int i = 0; i < 4; i++) {
		if (!isdigit((unsigned char)*s))
			return false;
		unsigned v = 0;
		const char *start = s;
		while (isdigit((unsigned char)*s) && s - start < 4)
			v = v * 10 + (unsigned)(*s++ - '0');
		if (v > 255 || (s - start > 1 && *start == '0') || s - start > 3)
			return false;
		out[i] = (uint8_t)v;
		if (i < 3 && *s++ != '.')
			return false;
	}
	return *s == '\0';
}

/* "/" ( "0" / %x31-39 0*2DIGIT ), at most max. */
static bool parse_cidr(const char *s, int max, int *out)
{
	if (!isdigit((unsigned char)s[0]) || (s[0] == '0' && s[1]) || strlen(s) > 3)
		return false;
	int v = 0;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return false;
		v = v * 10 + (*s - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

/* The "/digits" at the end of arg, or NULL: a '/' elsewhere is part of
 * the domain-spec (macro-literal allows it; 7.1). */
static char *trailing_cidr(char *arg)
{
	char *slash = strrchr(arg, '/');
	if (!slash || !slash[1] || strspn(slash + 1, "0123456789") != strlen(slash + 1))
		return NULL;
	return slash;
}

/* Split a trailing dual-cidr-length off arg (a/mx) in place. */
static bool split_dual_cidr(char *arg, struct spf_term *t)
{
	char *slash = trailing_cidr(arg);
	if (slash && slash > arg && slash[-1] == '/') {
		if (!parse_cidr(slash + 1, 128, &t->cidr6))
			return false;
		slash[-1] = '\0';
		slash = trailing_cidr(arg);
	}
	if (slash) {
		if (!parse_cidr(slash + 1, 32, &t->cidr4))
			return false;
		*slash = '\0';
	}
	return true;
}

static int fail(char *err, size_t errlen, const char *what, const char *term)
{
	snprintf(err, errlen, "%s: \"%.80s\"", what, term);
	return -1;
}

static int parse_directive(struct spf_record *rec, char *term, char *err, size_t errlen)
{
	if (rec->nterms >= SPF_MAX_TERMS)
		return fail(err, errlen, "too many terms", term);
	struct spf_term *t = &rec->terms[rec->nterms];
	memset(t, 0, sizeof *t);
	t->cidr4 = 32;
	t->cidr6 = 128;
	t->qualifier = SPF_PASS;
	char *p = term;
	switch (*p) {
	case '+':
		p++;
		break;
	case '-':
		t->qualifier = SPF_FAIL;
		p++;
		break;
	case '~':
		t->qualifier = SPF_SOFTFAIL;
		p++;
		break;
	case '?':
		t->qualifier = SPF_NEUTRAL;
		p++;
		break;
	}
	size_t nl = strcspn(p, ":/");
	char sep = p[nl];
	p[nl] = '\0';
	char *arg = sep ? p + nl + 1 : NULL; /* after ':' (or after '/' for cidr) */
	static const struct {
		const char *name;
		enum spf_mech mech;
	} mechs[] = {{"all", SPF_ALL}, {"include", SPF_INCLUDE}, {"a", SPF_A},
	             {"mx", SPF_MX},   {"ptr", SPF_PTR},         {"ip4", SPF_IP4},
	             {"ip6", SPF_IP6}, {"exists", SPF_EXISTS}};
	size_t m;
	for (m = 0; m < sizeof mechs / sizeof mechs[0]; m++)
		if (strcasecmp(p, mechs[m].name) == 0)
			break;
	if (m == sizeof mechs / sizeof mechs[0])
		return fail(err, errlen, "unknown mechanism", term);
	t->mech = mechs[m].mech;
	bool uses_p = false;
	switch (t->mech) {
	case SPF_ALL:
		if (sep)
			return fail(err, errlen, "all takes no argument", term);
		break;
	case SPF_INCLUDE:
	case SPF_EXISTS:
		if (sep != ':' || spf_macro_check(arg, true, false, &uses_p) != 0)
			return fail(err, errlen, "bad domain-spec", term);
		t->domain_spec = arg;
		break;
	case SPF_PTR:
		if (sep == '/')
			return fail(err, errlen, "ptr takes no cidr", term);
		if (sep == ':') {
			if (spf_macro_check(arg, true, false, &uses_p) != 0)
				return fail(err, errlen, "bad domain-spec", term);
			t->domain_spec = arg;
		}
		break;
	case SPF_A:
	case SPF_MX:
		if (sep == '/') {
			arg[-1] = '/'; /* the cidr alone: split it from "/..." */
			if (!split_dual_cidr(arg - 1, t) || arg[-1] != '\0')
				return fail(err, errlen, "bad cidr length", term);
		} else if (sep == ':') {
			if (!split_dual_cidr(arg, t) ||
			    spf_macro_check(arg, true, false, &uses_p) != 0)
				return fail(err, errlen, "bad domain-spec or cidr", term);
			t->domain_spec = arg;
		}
		break;
	case SPF_IP4:
	case SPF_IP6: {
		if (sep != ':')
			return fail(err, errlen, "ip4/ip6 need an address", term);
		bool v4 = t->mech == SPF_IP4;
		char *slash = strchr(arg, '/');
		if (slash) {
			*slash = '\0';
			if (!parse_cidr(slash + 1, v4 ? 32 : 128, v4 ? &t->cidr4 : &t->cidr6))
				return fail(err, errlen, "bad cidr length", term);
		}
		t->net.family = v4 ? AF_INET : AF_INET6;
		if (v4 ? !parse_ip4(arg, t->net.addr) : inet_pton(AF_INET6, arg, t->net.addr) != 1)
			return fail(err, errlen, "bad address", term);
		break;
	}
	}
	rec->nterms++;
	return 0;
}

static int parse_modifier(struct spf_record *rec, char *term, char *eq, char *err, size_t errlen)
{
	*eq = '\0';
	char *value = eq + 1;
	bool uses_p = false;
	const char **slot = NULL;
	if (strcasecmp(term, "redirect") == 0)
		slot = &rec->redirect;
	else if (strcasecmp(term, "exp") == 0)
		slot = &rec->exp;
	if (slot) {
		if (*slot)
			return fail(err, errlen, "modifier given twice", term);
		if (spf_macro_check(value, true, false, &uses_p) != 0)
			return fail(err, errlen, "bad domain-spec", term);
		*slot = value;
		return 0;
	}
	/* Unknown modifiers are ignored (6), but must be well-formed. */
	if (spf_macro_check(value, false, false, &uses_p) != 0)
		return fail(err, errlen, "bad modifier value", term);
	return 0;
}

/* name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ) followed by '='. */
static char *modifier_eq(char *term)
{
	if (!isalpha((unsigned char)term[0]))
		return NULL;
	char *p = term + 1;
	while (isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '.')
		p++;
	return *p == '=' ? p : NULL;
}

int spf_record_parse(struct spf_record *rec, const char *txt, size_t len, char *err, size_t errlen)
{
	rec->nterms = 0;
	rec->redirect = rec->exp = NULL;
	if (len > SPF_MAX_RECORD) {
		snprintf(err, errlen, "record longer than %d bytes", SPF_MAX_RECORD);
		return -1;
	}
	if (!spf_record_is_spf1(txt, len)) {
		snprintf(err, errlen, "not an SPF record");
		return -1;
	}
	memcpy(rec->buf, txt, len);
	rec->buf[len] = '\0';
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)rec->buf[i] < 0x20 || (unsigned char)rec->buf[i] > 0x7e) {
			snprintf(err, errlen, "control or non-ASCII character in record");
			return -1;
		}
	char *p = rec->buf + 6;
	while (*p) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		char *term = p;
		while (*p && *p != ' ')
			p++;
		if (*p)
			*p++ = '\0';
		char *eq = modifier_eq(term);
		int r = eq ? parse_modifier(rec, term, eq, err, errlen)
		           : parse_directive(rec, term, err, errlen);
		if (r != 0)
			return -1;
	}
	return 0;
}
