/* fuzz_spf_record: the SPF record parser and macro language
 * (mailauth/spf_record.c, spf_macro.c) on arbitrary bytes, then check_host()
 * (mailauth/spf.c) over a fake zone where every name holds the input as its
 * TXT record: a record from any DNS server reaches all three.
 *
 * Beyond crashes: a parsed record holds at most SPF_MAX_TERMS terms; every
 * domain-spec the parser kept passes the macro syntax check again, and its
 * expansion is at most 253 octets (plus a trailing dot); evaluation ends
 * with exactly one callback, within the DNS limits. */
#include "mailauth/spf.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct zone {
	const uint8_t *data;
	size_t size;
	unsigned queries;
};

static void *fake_query(void *ud, const char *name, enum dns_qtype t, dns_query_cb cb, void *cb_ud)
{
	struct zone *z = ud;
	static struct dns_answer a;
	dns_answer_init(&a, DNS_Q_DATA);
	z->queries++;
	static const uint8_t lo[16] = {127, 0, 0, 1};
	switch (t) {
	case DNS_Q_TXT:
		dns_answer_add_text(&a, (const char *)z->data, z->size);
		break;
	case DNS_Q_A:
		dns_answer_add_addr(&a, AF_INET, lo);
		break;
	case DNS_Q_AAAA:
		a.status = DNS_Q_NODATA;
		break;
	case DNS_Q_MX:
		dns_answer_add_text(&a, "mx.example.com", 14);
		break;
	case DNS_Q_PTR:
		if (z->size & 1)
			a.status = DNS_Q_NXDOMAIN;
		else
			dns_answer_add_text(&a, "host.example.com", 16);
		break;
	case DNS_Q_TLSA: /* SPF never asks */
	case DNS_Q_A_DNSSEC:
		a.status = DNS_Q_NODATA;
		break;
	}
	cb(cb_ud, &a);
	return NULL;
}

static void on_done(void *ud, const struct spf_outcome *o)
{
	int *calls = ud;
	(*calls)++;
	if ((unsigned)o->result > SPF_PERMERROR || o->dns_mechs > SPF_MAX_DNS_MECHS + 1 ||
	    o->void_lookups > SPF_MAX_VOID + 1)
		abort();
}

static void expand_spec(const char *spec, const struct spf_macro_env *env)
{
	bool p = false;
	char out[600];
	if (!spec || spf_macro_check(spec, true, false, &p) != 0)
		abort(); /* the parser let it through */
	if (spf_macro_expand(spec, env, true, false, out, sizeof out) != 0)
		return;
	size_t len = strlen(out);
	if (len > 253 + (len && out[len - 1] == '.')) /* 253, not counting a trailing dot */
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct spf_record rec;
	char err[200];
	struct spf_macro_env env = {.sender = "strong-bad@email.example.com",
	                            .domain = "email.example.com",
	                            .helo = "mx.example.org",
	                            .validated = "host.example.com"};
	spf_ip_parse(size & 2 ? "2001:db8::1" : "192.0.2.3", &env.ip);
	if (spf_record_parse(&rec, (const char *)data, size, err, sizeof err) == 0) {
		if (rec.nterms > SPF_MAX_TERMS)
			abort();
		for (size_t i = 0; i < rec.nterms; i++)
			if (rec.terms[i].domain_spec)
				expand_spec(rec.terms[i].domain_spec, &env);
		if (rec.redirect)
			expand_spec(rec.redirect, &env);
		if (rec.exp)
			expand_spec(rec.exp, &env);
	}
	/* The input as an explanation string (a TXT record named by exp=). */
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	bool p = false;
	char out[SPF_MAX_EXPANSION];
	if (spf_macro_check(s, false, true, &p) == 0 &&
	    spf_macro_expand(s, &env, false, true, out, sizeof out) != 0 && strlen(s) < 64)
		abort(); /* a short valid string cannot overflow 4 KiB... unless macros grow it */
	free(s);

	struct zone z = {.data = data, .size = size};
	struct spf_resolver res = {.ud = &z, .query = fake_query};
	struct spf_request req = {.mail_from = "user@example.com", .helo = "mx.example.org"};
	req.ip = env.ip;
	int calls = 0;
	struct spf_check *c = spf_check_start(&res, &req, on_done, &calls);
	if (c || calls != 1)
		abort(); /* the fake answers at once, so the check has ended */
	return 0;
}
