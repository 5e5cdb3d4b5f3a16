/* spf_record: the SPF record syntax (RFC 7208 4.5, 4.6, 5, 6, 12) and its
 * macro language (7): parsing a record into terms, and expanding the
 * domain-specs and explanation strings of those terms. Pure functions: no
 * DNS here (the one macro that needs DNS, %{p}, is resolved by the
 * evaluator in spf.c and handed in as a string). */
#ifndef TERN_SPF_RECORD_H
#define TERN_SPF_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPF_MAX_RECORD 4096 /* bytes of one record (concatenated TXT strings) */
#define SPF_MAX_TERMS 64    /* more is a permerror */
#define SPF_MAX_EXPANSION 4096

enum spf_result {
	SPF_NONE,
	SPF_NEUTRAL,
	SPF_PASS,
	SPF_FAIL,
	SPF_SOFTFAIL,
	SPF_TEMPERROR,
	SPF_PERMERROR
};

enum spf_mech { SPF_ALL, SPF_INCLUDE, SPF_A, SPF_MX, SPF_PTR, SPF_IP4, SPF_IP6, SPF_EXISTS };

struct spf_ip {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
};

struct spf_term {
	enum spf_mech mech;
	enum spf_result qualifier; /* PASS, FAIL, SOFTFAIL or NEUTRAL */
	const char *domain_spec;   /* NUL-terminated in the record's buf, or NULL */
	int cidr4, cidr6;          /* prefix lengths (32/128 when absent) */
	struct spf_ip net;         /* ip4/ip6 */
};

struct spf_record {
	size_t nterms;
	struct spf_term terms[SPF_MAX_TERMS];
	const char *redirect; /* domain-spec or NULL */
	const char *exp;      /* domain-spec or NULL */
	char buf[SPF_MAX_RECORD + 1];
};

/* Whether a TXT record is an SPF version 1 record ("v=spf1" then a space
 * or the end, case-insensitive; 4.5). */
bool spf_record_is_spf1(const char *txt, size_t len);
/* Parse a record (which spf_record_is_spf1 accepted). Returns 0, or -1 with
 * a message in err: any syntax error is a permerror (4.6). */
int spf_record_parse(struct spf_record *rec, const char *txt, size_t len, char *err, size_t errlen);

/* What the macros expand to (7.3). Strings are NUL-terminated. */
struct spf_macro_env {
	const char *sender;    /* s: local@domain */
	const char *domain;    /* d: the current domain */
	struct spf_ip ip;      /* i, c, v */
	const char *helo;      /* h */
	const char *validated; /* p: or NULL for "unknown" */
	const char *receiver;  /* r: exp only; NULL = "unknown" */
	long long timestamp;   /* t: exp only */
};

/* Syntax check of a macro-string; domain: it must also end like a domain
 * name (domain-end), explain: an explain-string (spaces allowed, c/r/t
 * allowed). *uses_p is set when %{p} appears. Returns 0 or -1. */
int spf_macro_check(const char *s, bool domain, bool explain, bool *uses_p);
/* Expand s into out. For a domain (domain=true), the result is shortened
 * from the left to 253 octets (7.3). Returns 0 or -1 (syntax, or longer
 * than outlen). */
int spf_macro_expand(const char *s, const struct spf_macro_env *env, bool domain, bool explain,
                     char *out, size_t outlen);

/* A name usable as a DNS query: labels of 1..63 octets, at most 253 in all,
 * a trailing dot allowed; multi_label: at least two labels. */
bool spf_domain_ok(const char *name, bool multi_label);
const char *spf_result_name(enum spf_result r);

#endif
