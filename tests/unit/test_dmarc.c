/* test_dmarc: DMARC (mailauth/dmarc*.c, RFC 9989) with no network.
 *
 * The record parser against a table covering every tag and the syntax
 * rules of 4.7/4.8 and Appendix A.6 (pct). The evaluation over a fake
 * resolver (a small zone table, the way test_spf fakes struct
 * spf_resolver): every check runs twice, with a resolver that answers
 * inside query() and with one that answers later from a queue, and both
 * must give the same outcome and ask the same questions. Cases: the worked
 * examples of RFC 9989 (4.10, 4.10.2, B.1, B.3.1, B.4.1-3), psd=y/n,
 * deep names and the 8-query limit, strict/relaxed alignment for SPF and
 * DKIM, p/sp/np with the existence test, t=y, legacy pct, several records,
 * temporary failures, invalid policies, and records as big senders publish
 * them. */
#include "check.h"
#include "fake_resolver_testutil.h"
#include "mailauth/dmarc.h"
#include "mailauth/dmarc_record.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* ---- the record parser ---- */

static struct dmarc_record rec;

static bool parse(const char *txt)
{
	return dmarc_record_parse(txt, strlen(txt), &rec) == DMARC_RECORD_OK;
}

static void test_record_basics(void)
{
	CHECK(parse("v=DMARC1; p=reject"), "minimal");
	CHECK(rec.p == DMARC_POLICY_REJECT && rec.sp == DMARC_POLICY_UNSET &&
	          rec.np == DMARC_POLICY_UNSET && rec.psd == DMARC_PSD_U && !rec.testing &&
	          !rec.adkim_strict && !rec.aspf_strict && rec.fo == DMARC_FO_0 && rec.pct == -1 &&
	          !rec.rua.given && !rec.ruf.given && !rec.problem[0],
	      "defaults");

	CHECK(parse("v=DMARC1;p=quarantine;sp=none;np=reject;psd=n;t=y;adkim=s;aspf=s;fo=1:d:s;"
	            "rua=mailto:a@example.com,mailto:b@example.net!10m;ruf=mailto:f@example.com"),
	      "every tag");
	CHECK(rec.p == DMARC_POLICY_QUARANTINE && rec.sp == DMARC_POLICY_NONE &&
	          rec.np == DMARC_POLICY_REJECT && rec.psd == DMARC_PSD_N && rec.testing &&
	          rec.t_given && rec.adkim_strict && rec.aspf_strict &&
	          rec.fo == (DMARC_FO_1 | DMARC_FO_D | DMARC_FO_S) && !rec.problem[0],
	      "every tag values (%s)", rec.problem);
	CHECK(rec.rua.valid == 2 && rec.rua.kept == 2 &&
	          !strcmp(dmarc_record_uri(&rec, &rec.rua, 0), "mailto:a@example.com") &&
	          !strcmp(dmarc_record_uri(&rec, &rec.rua, 1), "mailto:b@example.net") &&
	          rec.ruf.kept == 1 &&
	          !strcmp(dmarc_record_uri(&rec, &rec.ruf, 0), "mailto:f@example.com") &&
	          dmarc_record_uri(&rec, &rec.ruf, 1) == NULL,
	      "URIs kept, the legacy !size dropped");

	/* whitespace around separators and '=', tag names and keyword values
	 * without case (ABNF strings), "DMARC1" with case */
	CHECK(parse("V = DMARC1 ;  P = Reject ; SP=None;ADKIM=S ;"), "case and spaces");
	CHECK(rec.p == DMARC_POLICY_REJECT && rec.sp == DMARC_POLICY_NONE && rec.adkim_strict,
	      "case and spaces values");
	CHECK(!parse("v=dmarc1; p=reject"), "DMARC1 is case-sensitive");
	CHECK(!parse("p=reject; v=DMARC1"), "v= must come first");
	CHECK(!parse("v=DMARC1x; p=none"), "version word");
	CHECK(!parse("v=DMARC2; p=none"), "other version");
	CHECK(!parse(""), "empty");
	CHECK(!parse("v=spf1 -all"), "SPF record");
	CHECK(!parse("; v=DMARC1"), "separator first");
	CHECK(parse("v=DMARC1"), "version alone");
	CHECK(rec.p == DMARC_POLICY_UNSET && dmarc_record_policy_valid(&rec), "no p is usable");
	CHECK(parse("v=DMARC1;"), "trailing separator");
	CHECK(parse("v=DMARC1;;p=none;;"), "empty segments skipped");
	CHECK(rec.p == DMARC_POLICY_NONE, "after empty segments");
	CHECK(parse(" v=DMARC1; p=none"), "leading space tolerated");
}

static void test_record_tags(void)
{
	/* p, sp, np: invalid values are kept as invalid (4.10.1 decides) */
	CHECK(parse("v=DMARC1; p=bogus; rua=mailto:x@example.com"), "invalid p");
	CHECK(rec.p == DMARC_POLICY_INVALID && !dmarc_record_policy_valid(&rec) &&
	          rec.rua.valid == 1 && rec.problem[0],
	      "invalid p kept");
	CHECK(parse("v=DMARC1; p=none; sp=maybe") && !dmarc_record_policy_valid(&rec),
	      "invalid sp");
	CHECK(parse("v=DMARC1; p=none; np=") && rec.np == DMARC_POLICY_INVALID, "empty np");
	CHECK(parse("v=DMARC1; p=none; p=reject") && rec.p == DMARC_POLICY_NONE,
	      "a repeated tag: the first counts");

	/* t, psd, adkim, aspf, fo: a bad value falls back to the default */
	CHECK(parse("v=DMARC1; p=reject; t=maybe") && !rec.testing && !rec.t_given &&
	          rec.problem[0],
	      "invalid t");
	CHECK(parse("v=DMARC1; p=reject; t=n") && !rec.testing && rec.t_given, "t=n");
	CHECK(parse("v=DMARC1; p=reject; psd=y") && rec.psd == DMARC_PSD_Y, "psd=y");
	CHECK(parse("v=DMARC1; p=reject; psd=u") && rec.psd == DMARC_PSD_U && !rec.problem[0],
	      "psd=u");
	CHECK(parse("v=DMARC1; p=reject; psd=x") && rec.psd == DMARC_PSD_U && rec.problem[0],
	      "invalid psd");
	CHECK(parse("v=DMARC1; p=reject; adkim=x; aspf=relaxed") && !rec.adkim_strict &&
	          !rec.aspf_strict,
	      "invalid alignment modes");
	CHECK(parse("v=DMARC1; p=reject; aspf=r; adkim=r") && !rec.adkim_strict && !rec.aspf_strict,
	      "relaxed");
	CHECK(parse("v=DMARC1; fo=d") && rec.fo == DMARC_FO_D, "fo=d");
	CHECK(parse("v=DMARC1; fo=0:1") && rec.fo == DMARC_FO_0, "fo 0 and 1 exclusive");
	CHECK(parse("v=DMARC1; fo=d:d") && rec.fo == DMARC_FO_0, "fo repeated value");
	CHECK(parse("v=DMARC1; fo=s:1") && rec.fo == (DMARC_FO_S | DMARC_FO_1), "fo=s:1");
	CHECK(parse("v=DMARC1; fo=1:") && rec.fo == DMARC_FO_0, "fo trailing colon");
	CHECK(parse("v=DMARC1; fo=x") && rec.fo == DMARC_FO_0, "fo unknown");

	/* legacy pct (Appendix A.6): 0 is t=y, anything else ignored; t wins */
	CHECK(parse("v=DMARC1; p=reject; pct=0") && rec.testing && rec.pct == 0, "pct=0");
	CHECK(parse("v=DMARC1; p=reject; pct=50") && !rec.testing && rec.pct == 50, "pct=50");
	CHECK(parse("v=DMARC1; p=reject; pct=100") && !rec.testing, "pct=100");
	CHECK(parse("v=DMARC1; p=reject; pct=101") && !rec.testing && rec.pct == -1, "pct=101");
	CHECK(parse("v=DMARC1; p=reject; pct=-1") && rec.pct == -1, "pct=-1");
	CHECK(parse("v=DMARC1; p=reject; pct=0; t=n") && !rec.testing, "t=n over pct=0");
	CHECK(parse("v=DMARC1; p=reject; t=y; pct=100") && rec.testing, "t=y with pct=100");

	/* unknown tags (and RFC 7489's ri/rf) are ignored */
	CHECK(parse("v=DMARC1; p=none; ri=86400; rf=afrf; foo=bar") && rec.unknown_tags == 3 &&
	          rec.p == DMARC_POLICY_NONE,
	      "unknown tags");
	CHECK(parse("v=DMARC1; p=none; v=DMARC1") && rec.unknown_tags == 1, "second v=");
	CHECK(parse("v=DMARC1; 1x=2; p=reject") && rec.p == DMARC_POLICY_REJECT && rec.problem[0],
	      "malformed tag name skipped");
	CHECK(parse("v=DMARC1; junk; p=reject") && rec.p == DMARC_POLICY_REJECT, "no '='");

	/* rua/ruf: bad URIs dropped, at most DMARC_MAX_URIS kept */
	CHECK(parse("v=DMARC1; rua=not a uri, mailto:ok@example.com , mailto:x@example.com!5x"),
	      "bad URIs");
	CHECK(rec.rua.valid == 1 && rec.rua.kept == 1 &&
	          !strcmp(dmarc_record_uri(&rec, &rec.rua, 0), "mailto:ok@example.com"),
	      "one good URI of three");
	CHECK(parse("v=DMARC1; p=bogus; rua=:nothing") && rec.rua.valid == 0, "no valid rua");
	CHECK(parse("v=DMARC1; rua=mailto:a%2Cb@example.com, https://r.example.com/x?y=1") &&
	          rec.rua.valid == 2,
	      "escapes and https");
	CHECK(parse("v=DMARC1; rua=mailto:a%2@example.com") && rec.rua.valid == 0, "bad escape");
	char many[2000] = "v=DMARC1; p=none; rua=";
	for (int i = 0; i < 12; i++) {
		char one[64];
		snprintf(one, sizeof one, "%smailto:report%d@example.com", i ? "," : "", i);
		strcat(many, one);
	}
	CHECK(parse(many) && rec.rua.valid == 12 && rec.rua.kept == DMARC_MAX_URIS,
	      "URIs bounded: %zu valid, %zu kept", rec.rua.valid, rec.rua.kept);

	/* a NUL or control byte makes its tag invalid, not the record */
	static const char nul[] = "v=DMARC1; p=re\0ject; sp=none";
	CHECK(dmarc_record_parse(nul, sizeof nul - 1, &rec) == DMARC_RECORD_OK &&
	          rec.p == DMARC_POLICY_INVALID && rec.sp == DMARC_POLICY_NONE,
	      "NUL in a value");
	static const char nulv[] = "v=DMARC1\0; p=reject";
	CHECK(dmarc_record_parse(nulv, sizeof nulv - 1, &rec) == DMARC_RECORD_NOT_DMARC,
	      "NUL in the version");

	/* records as published by big senders (2026) */
	CHECK(parse("v=DMARC1; p=reject; rua=mailto:mailauth-reports@google.com") &&
	          rec.p == DMARC_POLICY_REJECT && rec.rua.kept == 1,
	      "google.com");
	CHECK(parse("v=DMARC1; p=reject; pct=100; rua=mailto:d@rua.agari.com; "
	            "ruf=mailto:d@ruf.agari.com;") &&
	          rec.p == DMARC_POLICY_REJECT && !rec.testing && rec.ruf.kept == 1,
	      "yahoo.com");
	CHECK(parse("v=DMARC1; p=reject; rua=mailto:d@rua.agari.com; "
	            "ruf=mailto:dk@bounce.paypal.com,mailto:d@ruf.agari.com") &&
	          rec.ruf.kept == 2,
	      "paypal.com");
	CHECK(parse("v=DMARC1; p=quarantine; pct=100; fo=1; ri=3600; "
	            "rua=mailto:d@rua.agari.com; ruf=mailto:d@ruf.agari.com") &&
	          rec.p == DMARC_POLICY_QUARANTINE && rec.fo == DMARC_FO_1,
	      "an Agari-managed record with ri");
	CHECK(parse("v=DMARC1; p=none; sp=quarantine; rua=mailto:dmarc@example.org") &&
	          rec.sp == DMARC_POLICY_QUARANTINE,
	      "monitoring with sp");
	/* RFC 9989 B.2.5: a URI list split over two character-strings */
	CHECK(parse("v=DMARC1; p=quarantine; rua=mailto:dmarc-feedback@example.com,"
	            "mailto:tld-test@thirdparty.example.net; t=y") &&
	          rec.rua.kept == 2 && rec.testing,
	      "B.2.5");
	CHECK(!strcmp(dmarc_policy_name(DMARC_POLICY_QUARANTINE), "quarantine") &&
	          !strcmp(dmarc_policy_name(DMARC_POLICY_UNSET), ""),
	      "policy names");
}

/* ---- the fake resolver ---- */

/* One zone entry: a TXT at a _dmarc name, an A/AAAA/MX saying a name
 * exists, or "TEMP" for a temporary failure of that name and type. */
struct zrr {
	const char *name;
	enum dns_qtype type;
	const char *value;
};

struct fake {
	const struct zrr *zone;
	bool deferred, refuse;
	struct fake_queue queue;
	char log[64][300]; /* "TXT _dmarc.example.com" */
	size_t nlog;
	unsigned cancels;
};

static const char *qtype_name(enum dns_qtype t)
{
	static const char *n[] = {"TXT", "A", "AAAA", "MX", "PTR"};
	return n[t];
}

static void fake_answer(void *fake, const char *name, enum dns_qtype t, dns_query_cb cb, void *ud)
{
	struct fake *f = fake;
	static struct dns_answer a;
	dns_answer_init(&a, DNS_Q_NXDOMAIN);
	bool name_exists = false, temp = false;
	for (const struct zrr *z = f->zone; z && z->name; z++) {
		if (strcasecmp(z->name, name) != 0)
			continue;
		name_exists = true;
		if (z->type != t)
			continue;
		if (!strcmp(z->value, "TEMP")) {
			temp = true;
		} else if (t == DNS_Q_A) {
			uint8_t addr[4];
			inet_pton(AF_INET, z->value, addr);
			dns_answer_add_addr(&a, AF_INET, addr);
		} else {
			dns_answer_add_text(&a, z->value, strlen(z->value));
		}
	}
	if (temp)
		dns_answer_init(&a, DNS_Q_TEMP);
	else if (a.nrrs)
		a.status = DNS_Q_DATA;
	else if (name_exists)
		a.status = DNS_Q_NODATA;
	cb(ud, &a);
}

static void *fake_query(void *ud, const char *name, enum dns_qtype t, dns_query_cb cb, void *cb_ud)
{
	struct fake *f = ud;
	if (f->refuse)
		return NULL;
	if (f->nlog < 64)
		snprintf(f->log[f->nlog++], sizeof f->log[0], "%s %s", qtype_name(t), name);
	if (!f->deferred) {
		fake_answer(f, name, t, cb, cb_ud);
		return NULL;
	}
	return fake_queue_add(&f->queue, name, t, cb, cb_ud);
}

static void fake_cancel(void *ud, void *handle)
{
	struct fake *f = ud;
	fake_question_cancel(handle);
	f->cancels++;
}

/* Answer the questions queued so far (not those their answers ask). */
static void fake_pump(struct fake *f)
{
	fake_queue_pump(&f->queue, fake_answer, f);
}

/* ---- running a check ---- */

struct got {
	int calls;
	struct dmarc_outcome o;
};

static void on_done(void *ud, const struct dmarc_outcome *o)
{
	struct got *g = ud;
	g->calls++;
	g->o = *o;
}

/* An input: from, "pass:domain" or "softfail:domain" for SPF, DKIM
 * "pass:d" / "fail:d" strings, NULL-terminated. */
struct msg {
	const char *from;
	const char *spf;
	const char *dkim[DMARC_MAX_DKIM + 1];
};

static void make_input(const struct msg *m, struct dmarc_input *in, char store[][300])
{
	memset(in, 0, sizeof *in);
	in->from_domain = m->from;
	in->spf = SPF_NONE;
	if (m->spf) {
		const char *colon = strchr(m->spf, ':');
		in->spf = !strncmp(m->spf, "pass:", 5) ? SPF_PASS : SPF_SOFTFAIL;
		in->spf_domain = colon + 1;
	}
	for (size_t i = 0; i < DMARC_MAX_DKIM && m->dkim[i]; i++) {
		snprintf(store[i], 300, "%s", m->dkim[i]);
		char *colon = strchr(store[i], ':');
		*colon = '\0';
		in->dkim[i].result = !strcmp(store[i], "pass") ? DKIM_PASS : DKIM_FAIL;
		in->dkim[i].domain = colon + 1;
		in->ndkim++;
	}
}

static struct fake last_fake;

/* Run in both modes; the outcome and the questions must agree. */
static struct dmarc_outcome check(const struct zrr *zone, const struct msg *m, int line)
{
	struct dmarc_outcome first = {0};
	char first_log[64][300];
	size_t first_nlog = 0;
	for (int mode = 0; mode < 2; mode++) {
		static struct fake f;
		memset(&f, 0, sizeof f);
		f.zone = zone;
		f.deferred = mode == 1;
		struct spf_resolver res = {.ud = &f, .query = fake_query, .cancel = fake_cancel};
		struct dmarc_input in;
		char store[DMARC_MAX_DKIM][300];
		make_input(m, &in, store);
		struct got g = {0};
		struct dmarc_check *c = dmarc_check_start(&res, &in, on_done, &g);
		if (mode == 0)
			CHECK(c == NULL && g.calls == 1,
			      "line %d: immediate resolver: done at once", line);
		for (int rounds = 0; g.calls == 0 && rounds < 100; rounds++)
			fake_pump(&f);
		CHECK(g.calls == 1, "line %d mode %d: %d callbacks", line, mode, g.calls);
		CHECK(g.o.dns_queries == f.nlog, "line %d: dns_queries %u, asked %zu", line,
		      g.o.dns_queries, f.nlog);
		if (mode == 0) {
			first = g.o;
			first_nlog = f.nlog;
			memcpy(first_log, f.log, sizeof first_log);
		} else {
			bool same = first_nlog == f.nlog;
			for (size_t i = 0; same && i < f.nlog; i++)
				same = !strcmp(first_log[i], f.log[i]);
			CHECK(same && first.result == g.o.result &&
			          first.disposition == g.o.disposition &&
			          first.spf_aligned == g.o.spf_aligned &&
			          first.dkim_aligned == g.o.dkim_aligned &&
			          !strcmp(first.policy_domain, g.o.policy_domain) &&
			          !strcmp(first.org_domain, g.o.org_domain) &&
			          !strcmp(first.policy_text, g.o.policy_text),
			      "line %d: deferred differs from immediate", line);
			last_fake = f;
		}
	}
	return first;
}

/* The questions of the last check were exactly these (NULL-terminated). */
static bool asked(const char *first, ...)
{
	va_list ap;
	va_start(ap, first);
	size_t i = 0;
	bool ok = true;
	for (const char *q = first; q; q = va_arg(ap, const char *), i++) {
		if (i >= last_fake.nlog || strcmp(q, last_fake.log[i]) != 0) {
			printf("  question %zu: want \"%s\", got \"%s\"\n", i, q,
			       i < last_fake.nlog ? last_fake.log[i] : "(none)");
			ok = false;
		}
	}
	va_end(ap);
	if (i != last_fake.nlog) {
		printf("  %zu questions, want %zu\n", last_fake.nlog, i);
		ok = false;
	}
	return ok;
}

#define RESULT(o, r, d)                                                                            \
	CHECK((o).result == (r) && (o).disposition == (d), "result %s/%s, want %s/%s (%s)",        \
	      dmarc_result_name((o).result), dmarc_disposition_name((o).disposition),              \
	      dmarc_result_name(r), dmarc_disposition_name(d), (o).problem)

/* ---- evaluation ---- */

static void test_simple(void)
{
	static const struct zrr zone[] = {
	    {"_dmarc.example.com", DNS_Q_TXT, "v=DMARC1; p=reject; rua=mailto:d@example.com"},
	    {"example.com", DNS_Q_A, "192.0.2.1"},
	    {"sub.example.com", DNS_Q_MX, "mx.example.com"},
	    {"_dmarc.example.com", DNS_Q_TXT, "v=spf1 -all"}, /* not DMARC: ignored */
	    {0}};
	struct dmarc_outcome o;

	o = check(zone, &(struct msg){"example.com", NULL, {"pass:example.com"}}, __LINE__);
	RESULT(o, DMARC_PASS, DMARC_DISP_NONE);
	CHECK(o.dkim_aligned && !o.spf_aligned && !strcmp(o.policy_domain, "example.com") &&
	          !strcmp(o.org_domain, "example.com") && !strcmp(o.policy_text, "reject") &&
	          !strcmp(o.from_domain, "example.com"),
	      "pass fields: %s %s %s", o.policy_domain, o.org_domain, o.policy_text);
	CHECK(asked("TXT _dmarc.example.com", NULL),
	      "identical names: the Author Domain's record, no walk for the org (4.10.2)");

	o = check(zone, &(struct msg){"Example.COM.", "pass:EXAMPLE.com", {NULL}}, __LINE__);
	RESULT(o, DMARC_PASS, DMARC_DISP_NONE);
	CHECK(o.spf_aligned && !strcmp(o.from_domain, "example.com"), "case and trailing dot");

	o = check(zone, &(struct msg){"example.com", "softfail:example.com", {"fail:example.com"}},
	          __LINE__);
	RESULT(o, DMARC_FAIL, DMARC_DISP_REJECT);
	CHECK(!o.spf_aligned && !o.dkim_aligned && !o.testing, "not passing is not aligned");

	o = check(zone, &(struct msg){"example.com", "pass:example.net", {"pass:example.org"}},
	          __LINE__);
	RESULT(o, DMARC_FAIL, DMARC_DISP_REJECT);
	CHECK(asked("TXT _dmarc.example.com", "TXT _dmarc.com", NULL),
	      "unrelated identifiers need no walk");

	/* a subdomain takes p= when the parent's record has no sp= */
	o = check(zone, &(struct msg){"sub.example.com", NULL, {NULL}}, __LINE__);
	RESULT(o, DMARC_FAIL, DMARC_DISP_REJECT);
	CHECK(!strcmp(o.policy_domain, "example.com") && !strcmp(o.org_domain, "example.com"),
	      "subdomain policy domain %s", o.policy_domain);
	CHECK(asked("TXT _dmarc.sub.example.com", "TXT _dmarc.example.com", "TXT _dmarc.com", NULL),
	      "the walk of sub.example.com");

	/* no record anywhere */
	o = check(zone, &(struct msg){"a.b.example.org", "pass:a.b.example.org", {NULL}}, __LINE__);
	RESULT(o, DMARC_NONE, DMARC_DISP_NONE);
	CHECK(o.problem[0] && !o.policy_domain[0] && !o.spf_aligned, "none: %s", o.problem);
	CHECK(asked("TXT _dmarc.a.b.example.org", "TXT _dmarc.b.example.org",
	            "TXT _dmarc.example.org", "TXT _dmarc.org", NULL),
	      "the walk to the root");

	/* malformed From domains */
	o = check(zone, &(struct msg){"exa mple.com", NULL, {NULL}}, __LINE__);
	RESULT(o, DMARC_PERMERROR, DMARC_DISP_NONE);
	o = check(zone, &(struct msg){"", NULL, {NULL}}, __LINE__);
	RESULT(o, DMARC_PERMERROR, DMARC_DISP_NONE);
	o = check(zone, &(struct msg){"a..example.com", NULL, {NULL}}, __LINE__);
	RESULT(o, DMARC_PERMERROR, DMARC_DISP_NONE);
	o = check(zone, &(struct msg){"b\xc3\xa4r.example.com", NULL, {NULL}}, __LINE__);
	RESULT(o, DMARC_PERMERROR, DMARC_DISP_NONE);
	CHECK(last_fake.nlog == 0, "no DNS for a bad From domain");
}

/* RFC 9989 4.10: the walk of a deep name skips to 7 labels. */
static void test_deep_walk(void)
{
	static const struct zrr zone[] = {{"_dmarc.example.com", DNS_Q_TXT, "v=DMARC1; p=none"},
	                                  {0}};
	struct dmarc_outcome o;
	o = check(zone, &(struct msg){"a.b.c.d.e.f.g.h.i.j.mail.example.com", NULL, {NULL}},
	          __LINE__);
	RESULT(o, DMARC_FAIL, DMARC_DISP_NONE);
	CHECK(asked("TXT _dmarc.a.b.c.d.e.f.g.h.i.j.mail.example.com",
	            "TXT _dmarc.g.h.i.j.mail.example.com", "TXT _dmarc.h.i.j.mail.example.com",
	            "TXT _dmarc.i.j.mail.example.com", "TXT _dmarc.j.mail.example.com",
	            "TXT _dmarc.mail.example.com", "TXT _dmarc.example.com", "TXT _dmarc.com",
	            NULL),
	      "4.10's eight queries");

	/* exactly 8 labels: the parent next; 9: skip to 7 */
	o = check(zone, &(struct msg){"a.b.c.d.e.f.example.com", NULL, {NULL}}, __LINE__);
	CHECK(last_fake.nlog == 8 && !strcmp(last_fake.log[1], "TXT _dmarc.b.c.d.e.f.example.com"),
	      "8 labels: %zu queries", last_fake.nlog);
	o = check(zone, &(struct msg){"x.a.b.c.d.e.f.example.com", NULL, {NULL}}, __LINE__);
	CHECK(last_fake.nlog == 8 && !strcmp(last_fake.log[1], "TXT _dmarc.b.c.d.e.f.example.com"),
	      "9 labels: %zu queries, second %s", last_fake.nlog, last_fake.log[1]);

	/* a name of 122 labels still asks 8 questions */
	char deep[300] = "";
	for (int i = 0; i < 120; i++)
		strcat(deep, "a.");
	strcat(deep, "example.com");
	o = check(zone, &(struct msg){deep, NULL, {NULL}}, __LINE__);
	RESULT(o, DMARC_FAIL, DMARC_DISP_NONE);
	CHECK(last_fake.nlog == 8, "122 labels: %zu queries", last_fake.nlog);

	/* a single-label From domain: one question */
	o = check(zone, &(struct msg){"localhost", NULL, {NULL}}, __LINE__);
	RESULT(o, DMARC_NONE, DMARC_DISP_NONE);
	CHECK(asked("TXT _dmarc.localhost", NULL), "one label");
}

/* RFC 9989 B.4.1 and B.4.2 (with the walk's shared names asked once). */
static void test_rfc_b4(void)
{
	static const struct zrr zone[] = {
	    {"_dmarc.example.com", DNS_Q_TXT, "v=DMARC1; p=reject"},
	    {"_dmarc.signing.example.com", DNS_Q_TXT, "v=DMARC1; p=none"},
	    {0}};
	struct dmarc_outcome o;
	o = check(zone,
	          &(struct msg){"example.com", "pass:example.com", {"pass:signing.example.com"}},
	          __LINE__);
	RESULT(o, DMARC_PASS, DMARC_DISP_NONE);
	CHECK(o.spf_aligned && o.dkim_aligned && !strcmp(o.org_domain, "example.com") &&
	          !strcmp(o.policy_domain, "example.com"),
	      "B.4.1");
	CHECK(asked("TXT _dmarc.example.com", "TXT _dmarc.com", "TXT _dmarc.signing.example.com",
	            NULL),
	      "B.4.1 questions");

	o = check(zone,
	          &(struct msg){"a.b.c.d.e.f.g.h.i.j.k.example.com",
	                        "pass:example.com",
	                        {"pass:signing.example.com"}},
	          __LINE__);
	RESULT(o, DMARC_PASS, DMARC_DISP_NONE);
	CHECK(o.spf_aligned && o.dkim_aligned && !strcmp(o.org_domain, "example.com") &&
	          !strcmp(o.policy_domain, "example.com"),
	      "B.4.2");
	CHECK(asked("TXT _dmarc.a.b.c.d.e.f.g.h.i.j.k.example.com",
	            "TXT _dmarc.g.h.i.j.k.example.com", "TXT _dmarc.h.i.j.k.example.com",
	            "TXT _dmarc.i.j.k.example.com", "TXT _dmarc.j.k.example.com",
	            "TXT _dmarc.k.example.com", "TXT _dmarc.example.com", "TXT _dmarc.com",
	            "TXT _dmarc.signing.example.com", NULL),
	      "B.4.2 questions");

	/* the same, failing: the policy domain's p= for the subdomain */
	o = check(zone, &(struct msg){"a.b.c.d.e.f.g.h.i.j.k.example.com", NULL, {NULL}}, __LINE__);
	RESULT(o, DMARC_FAIL, DMARC_DISP_REJECT);
}

/* RFC 9989 B.4.3: a PSD record with psd=y. */
static void test_rfc_b43_psd(void)
{
	static const struct zrr zone[] = {
	    {"_dmarc.bank.example", DNS_Q_TXT, "v=DMARC1; p=reject; psd=y"},
	    {"_dmarc.giant.bank.example", DNS_Q_TXT, "v=DMARC1; p=quarantine"},
	    {0}};
	struct dmarc_outcome o;
	o = check(zone,
	          &(struct msg){"giant.bank.example",
	                        "pass:mail.giant.bank.example",
	                        {"pass:mail.mega.bank.example"}},
	          __LINE__);
	RESULT(o, DMARC_PASS, DMARC_DISP_NONE);
	CHECK(o.spf_aligned && !o.dkim_aligned && !strcmp(o.org_domain, "giant.bank.example") &&
	          !strcmp(o.policy_domain, "giant.bank.example"),
	      "B.4.3: org %s policy %s", o.org_domain, o.policy_domain);
	CHECK(asked("TXT _dmarc.giant.bank.example", "TXT _dmarc.bank.example",
	            "TXT _dmarc.mail.giant.bank.example", NULL),
	      "B.4.3 questions (mega.bank.example is outside the org domain)");

	o = check(zone,
	          &(struct msg){"giant.bank.example",
	                        "softfail:giant.bank.example",
	                        {"pass:mail.mega.bank.example"}},
	          __LINE__);
	RESULT(o, DMARC_FAIL, DMARC_DISP_QUARANTINE);

	/* a name with no record of its own under the PSD: the PSD's policy,
	 * the org domain one label below it */
	static const struct zrr psd_zone[] = {
	    {"_dmarc.bank.example", DNS_Q_TXT,
	     "v=DMARC1; p=quarantine; sp=quarantine; np=reject; psd=y"},
	    {"small.bank.example", DNS_Q_A, "192.0.2.7"},
	    {0}};
	o = check(psd_zone, &(struct msg){"small.bank.example", NULL, {NULL}}, __LINE__);
	RESULT(o, DMARC_FAIL, DMARC_DISP_QUARANTINE);
	CHECK(!strcmp(o.policy_domain, "bank.example") &&
	          !strcmp(o.org_domain, "small.bank.example") &&
	          !strcmp(o.policy_text, "quarantine"),
	      "PSD policy: %s %s", o.policy_domain, o.org_domain);
	CHECK(asked("TXT _dmarc.small.bank.example", "TXT _dmarc.bank.example",
	            "A small.bank.example", NULL),
	      "PSD questions");
	/* RFC 9091's case: a non-existent name under the PSD gets np= */
	o = check(psd_zone, &(struct msg){"nosuch.bank.example", NULL, {NULL}}, __LINE__);
	RESULT(o, DMARC_FAIL, DMARC_DISP_REJECT);
	CHECK(!strcmp(o.policy_text, "reject"), "np for a non-existent name");
	CHECK(asked("TXT _dmarc.nosuch.bank.example", "TXT _dmarc.bank.example",
	            "A nosuch.bank.example", "AAAA nosuch.bank.example", "MX nosuch.bank.example",
	            NULL),
	      "existence test");
	/* relaxed alignment between two names under the PSD: different orgs */
	o = check(psd_zone, &(struct msg){"small.bank.example", NULL, {"pass:other.bank.example"}},
	          __LINE__);
	RESULT(o, DMARC_FAIL, DMARC_DISP_QUARANTINE);
	CHECK(!o.dkim_aligned, "siblings under a PSD do not align");
	o = check(psd_zone,
	          &(struct msg){"small.bank.example", NULL, {"pass:mail.small.bank.example"}},
	          __LINE__);
	RESULT(o, DMARC_PASS, DMARC_DISP_NONE);
	CHECK(o.dkim_aligned, "a child of the org under a PSD aligns");
	/* a psd=y record at the start of an identifier's walk is its own org */
	static const struct zrr psd_self[] = {
	    {"_dmarc.example", DNS_Q_TXT, "v=DMARC1; p=none; psd=y"},
	    {"_dmarc.sub.example", DNS_Q_TXT, "v=DMARC1; p=reject"},
	    {0}};
	o = check(psd_self, &(struct msg){"sub.example", NULL, {"pass:example"}}, __LINE__);
	RESULT(o, DMARC_FAIL, DMARC_DISP_REJECT);
	CHECK(!strcmp(o.org_domain, "sub.example") && !strcmp(o.policy_domain, "sub.example"),
	      "psd=y above");
}

/* RFC 9989 4.10.2's examples: psd=n, and the record with fewest labels. */
static void test_rfc_4102(void)
{
	static const struct zrr zone[] = {
	    {"_dmarc.mail.example.com", DNS_Q_TXT, "v=DMARC1; p=reject"},
	    {"_dmarc.example.com", DNS_Q_TXT, "v=DMARC1; p=none"},
	    {0}};
	struct dmarc_outcome o;
	o = check(zone, &(struct msg){"a.mail.example.com", NULL, {"pass:example.com"}}, __LINE__);
	RESULT(o, DMARC_PASS, DMARC_DISP_NONE);
	CHECK(!strcmp(o.org_domain, "example.com") && !strcmp(o.policy_domain, "example.com"),
	      "fewest labels: org %s policy %s", o.org_domain, o.policy_domain);
	o = check(zone, &(struct msg){"a.mail.example.com", NULL, {NULL}}, __LINE__);
	RESULT(o, DMARC_FAIL, DMARC_DISP_NONE); /* example.com's p=none, not mail's reject */
	/* the Author Domain's own record applies (p=), while the org is higher */
	o = check(zone, &(struct msg){"mail.example.com", NULL, {"pass:example.com"}}, __LINE__);
	RESULT(o, DMARC_PASS, DMARC_DISP_NONE);
	CHECK(o.dkim_aligned && !strcmp(o.policy_domain, "mail.example.com") &&
	          !strcmp(o.org_domain, "example.com"),
	      "own record");
	o = check(zone, &(struct msg){"mail.example.com", NULL, {"fail:mail.example.com"}},
	          __LINE__);
	RESULT(o, DMARC_FAIL, DMARC_DISP_REJECT);

	static const struct zrr psd_n[] = {
	    {"_dmarc.mail.example.com", DNS_Q_TXT, "v=DMARC1; p=reject; psd=n"},
	    {"_dmarc.example.com", DNS_Q_TXT, "v=DMARC1; p=none"},
	    {0}};
	o = check(psd_n, &(struct msg){"a.mail.example.com", NULL, {"pass:example.com"}}, __LINE__);
	RESULT(o, DMARC_FAIL, DMARC_DISP_REJECT);
	CHECK(!strcmp(o.org_domain, "mail.example.com") &&
	          !strcmp(o.policy_domain, "mail.example.com") && !o.dkim_aligned,
	      "psd=n: org %s", o.org_domain);
	CHECK(asked("TXT _dmarc.a.mail.example.com", "TXT _dmarc.mail.example.com", NULL),
	      "psd=n stops the walk");
	o = check(psd_n, &(struct msg){"a.mail.example.com", NULL, {"pass:b.mail.example.com"}},
	          __LINE__);
	RESULT(o, DMARC_PASS, DMARC_DISP_NONE);
	CHECK(asked("TXT _dmarc.a.mail.example.com", "TXT _dmarc.mail.example.com",
	            "TXT _dmarc.b.mail.example.com", NULL),
	      "psd=n: the identifier's walk ends at the cached psd=n");

	/* 4.10.2's last example: only _dmarc.com, with psd=y */
	static const struct zrr com[] = {{"_dmarc.com", DNS_Q_TXT, "v=DMARC1; p=none; psd=y"},
	                                 {"a.mail.example.com", DNS_Q_A, "192.0.2.9"},
	                                 {0}};
	o = check(com, &(struct msg){"a.mail.example.com", NULL, {NULL}}, __LINE__);
	CHECK(!strcmp(o.org_domain, "example.com") && !strcmp(o.policy_domain, "com"),
	      "psd=y at com: org %s", o.org_domain);
}

/* RFC 9989 B.1 (alignment examples), B.3.1, strict and relaxed modes. */
static void test_alignment(void)
{
	static const struct zrr zone[] = {
	    {"_dmarc.example.com", DNS_Q_TXT,
	     "v=DMARC1; p=reject; aspf=r; rua=mailto:dmarc-feedback@example.com"},
	    {"_dmarc.strict.example", DNS_Q_TXT, "v=DMARC1; p=reject; aspf=s; adkim=s"},
	    {"_dmarc.mixed.example", DNS_Q_TXT, "v=DMARC1; p=quarantine; aspf=s"},
	    {"child.example.com", DNS_Q_A, "192.0.2.1"},
	    {"child.strict.example", DNS_Q_A, "192.0.2.1"},
	    {0}};
	struct dmarc_outcome o;
	/* B.1.1 */
	o = check(zone, &(struct msg){"example.com", "pass:example.com", {NULL}}, __LINE__);
	CHECK(o.result == DMARC_PASS && o.spf_aligned, "B.1.1 example 1");
	o = check(zone, &(struct msg){"example.com", "pass:child.example.com", {NULL}}, __LINE__);
	CHECK(o.result == DMARC_PASS && o.spf_aligned, "B.1.1 example 2");
	o = check(zone, &(struct msg){"child.example.com", "pass:example.net", {NULL}}, __LINE__);
	CHECK(o.result == DMARC_FAIL && !o.spf_aligned, "B.1.1 example 3");
	/* B.1.2 */
	o = check(zone, &(struct msg){"example.com", NULL, {"pass:example.com"}}, __LINE__);
	CHECK(o.result == DMARC_PASS && o.dkim_aligned, "B.1.2 example 1");
	o = check(zone, &(struct msg){"child.example.com", NULL, {"pass:example.com"}}, __LINE__);
	CHECK(o.result == DMARC_PASS && o.dkim_aligned, "B.1.2 example 2");
	o = check(zone, &(struct msg){"child.example.com", NULL, {"pass:example.net"}}, __LINE__);
	CHECK(o.result == DMARC_FAIL && !o.dkim_aligned, "B.1.2 example 3");
	/* B.3.1 */
	o = check(zone, &(struct msg){"example.com", "pass:mail.example.com", {"pass:example.com"}},
	          __LINE__);
	RESULT(o, DMARC_PASS, DMARC_DISP_NONE);
	CHECK(o.spf_aligned && o.dkim_aligned, "B.3.1 both aligned");

	/* strict: only identical names */
	o = check(
	    zone,
	    &(struct msg){"child.strict.example", "pass:strict.example", {"pass:strict.example"}},
	    __LINE__);
	RESULT(o, DMARC_FAIL, DMARC_DISP_REJECT);
	CHECK(!o.spf_aligned && !o.dkim_aligned, "strict parent does not align");
	o = check(zone, &(struct msg){"strict.example", "pass:bounce.strict.example", {NULL}},
	          __LINE__);
	RESULT(o, DMARC_FAIL, DMARC_DISP_REJECT);
	CHECK(asked("TXT _dmarc.strict.example", NULL) && !strcmp(o.org_domain, "strict.example"),
	      "strict: a string comparison, no walk (4.10.2)");
	o = check(zone, &(struct msg){"strict.example", "pass:STRICT.example", {NULL}}, __LINE__);
	CHECK(o.result == DMARC_PASS && o.spf_aligned, "strict identical");
	o = check(zone, &(struct msg){"strict.example", NULL, {"pass:strict.example."}}, __LINE__);
	CHECK(o.result == DMARC_PASS && o.dkim_aligned, "strict DKIM identical (trailing dot)");
	/* aspf=s with adkim=r */
	o = check(
	    zone,
	    &(struct msg){"mixed.example", "pass:bounce.mixed.example", {"pass:sig.mixed.example"}},
	    __LINE__);
	CHECK(o.result == DMARC_PASS && !o.spf_aligned && o.dkim_aligned, "aspf=s, adkim=r");

	/* several signatures: one aligned is enough; failing ones do not count */
	o = check(zone,
	          &(struct msg){"example.com",
	                        NULL,
	                        {"fail:example.com", "pass:esp.example.net", "pass:example.com"}},
	          __LINE__);
	RESULT(o, DMARC_PASS, DMARC_DISP_NONE);
	o = check(zone,
	          &(struct msg){"example.com", NULL, {"fail:example.com", "pass:esp.example.net"}},
	          __LINE__);
	RESULT(o, DMARC_FAIL, DMARC_DISP_REJECT);
	/* eight passing signatures under the org: walks share the cache */
	o = check(zone,
	          &(struct msg){"example.com",
	                        NULL,
	                        {"pass:a.example.net", "pass:b.example.net", "pass:c.example.net",
	                         "pass:d.example.net", "pass:e.example.net", "pass:f.example.net",
	                         "pass:g.example.net", "pass:x.example.com"}},
	          __LINE__);
	RESULT(o, DMARC_PASS, DMARC_DISP_NONE);
	CHECK(asked("TXT _dmarc.example.com", "TXT _dmarc.com", "TXT _dmarc.x.example.com", NULL),
	      "only the signature under the org walks");
}

/* p / sp / np, the existence test, t=y and legacy pct. */
static void test_policies(void)
{
	static const struct zrr zone[] = {
	    {"_dmarc.example.com", DNS_Q_TXT, "v=DMARC1; p=reject; sp=none"},
	    {"_dmarc.np.example", DNS_Q_TXT, "v=DMARC1; p=reject; sp=quarantine; np=reject"},
	    {"_dmarc.nponly.example", DNS_Q_TXT, "v=DMARC1; p=none; np=reject"},
	    {"_dmarc.same.example", DNS_Q_TXT, "v=DMARC1; p=quarantine; np=quarantine"},
	    {"_dmarc.test.example", DNS_Q_TXT, "v=DMARC1; p=reject; t=y"},
	    {"_dmarc.testq.example", DNS_Q_TXT, "v=DMARC1; p=quarantine; t=y"},
	    {"_dmarc.pct0.example", DNS_Q_TXT, "v=DMARC1; p=reject; pct=0"},
	    {"_dmarc.pct50.example", DNS_Q_TXT, "v=DMARC1; p=reject; pct=50"},
	    {"_dmarc.nop.example", DNS_Q_TXT, "v=DMARC1"},
	    {"_dmarc.badp.example", DNS_Q_TXT, "v=DMARC1; p=rejectt"},
	    {"_dmarc.badprua.example", DNS_Q_TXT,
	     "v=DMARC1; p=reject; sp=x; rua=mailto:r@x.example"},
	    {"sub.example.com", DNS_Q_A, "192.0.2.1"},
	    {"here.np.example", DNS_Q_MX, "mx.np.example"},
	    {"v6.np.example", DNS_Q_AAAA, "2001:db8::1"},
	    {"tmp.np.example", DNS_Q_A, "TEMP"},
	    {"tmp.np.example", DNS_Q_AAAA, "TEMP"},
	    {"tmp.np.example", DNS_Q_MX, "TEMP"},
	    {0}};
	struct dmarc_outcome o;

	o = check(zone, &(struct msg){"example.com", NULL, {NULL}}, __LINE__);
	RESULT(o, DMARC_FAIL, DMARC_DISP_REJECT);
	CHECK(!strcmp(o.policy_text, "reject"), "p for the org itself");
	o = check(zone, &(struct msg){"sub.example.com", NULL, {NULL}}, __LINE__);
	RESULT(o, DMARC_FAIL, DMARC_DISP_NONE);
	CHECK(!strcmp(o.policy_text, "none"), "p=reject sp=none: %s", o.policy_text);
	o = check(zone, &(struct msg){"nx.example.com", NULL, {NULL}}, __LINE__);
	RESULT(o, DMARC_FAIL, DMARC_DISP_NONE);
	CHECK(last_fake.nlog == 3, "no np: no existence test (%zu questions)", last_fake.nlog);

	/* np: only for names that do not exist (NXDOMAIN for A, AAAA and MX) */
	o = check(zone, &(struct msg){"gone.np.example", NULL, {NULL}}, __LINE__);
	RESULT(o, DMARC_FAIL, DMARC_DISP_REJECT);
	o = check(zone, &(struct msg){"here.np.example", NULL, {NULL}}, __LINE__);
	RESULT(o, DMARC_FAIL, DMARC_DISP_QUARANTINE);
	CHECK(!strcmp(o.policy_text, "quarantine"), "MX: exists");
	o = check(zone, &(struct msg){"v6.np.example", NULL, {NULL}}, __LINE__);
	RESULT(o, DMARC_FAIL, DMARC_DISP_QUARANTINE);
	CHECK(asked("TXT _dmarc.v6.np.example", "TXT _dmarc.np.example", "TXT _dmarc.example",
	            "A v6.np.example", NULL),
	      "NODATA for A already says it exists");
	o = check(zone, &(struct msg){"tmp.np.example", NULL, {NULL}}, __LINE__);
	RESULT(o, DMARC_TEMPERROR, DMARC_DISP_NONE);
	o = check(zone, &(struct msg){"np.example", NULL, {NULL}}, __LINE__);
	RESULT(o, DMARC_FAIL, DMARC_DISP_REJECT); /* np never applies to the domain itself */
	CHECK(last_fake.nlog == 1, "no existence test for the policy domain");
	o = check(zone, &(struct msg){"gone.nponly.example", NULL, {NULL}}, __LINE__);
	RESULT(o, DMARC_FAIL, DMARC_DISP_REJECT);
	o = check(zone, &(struct msg){"gone.same.example", NULL, {NULL}}, __LINE__);
	RESULT(o, DMARC_FAIL, DMARC_DISP_QUARANTINE);
	CHECK(last_fake.nlog == 3, "np equal to p: no existence test");
	o = check(zone, &(struct msg){"gone.np.example", NULL, {"pass:gone.np.example"}}, __LINE__);
	RESULT(o, DMARC_PASS, DMARC_DISP_NONE);
	CHECK(last_fake.nlog == 3, "pass: no existence test");

	/* t=y: one level lower; pct=0 the same; pct=50 ignored */
	o = check(zone, &(struct msg){"test.example", NULL, {NULL}}, __LINE__);
	RESULT(o, DMARC_FAIL, DMARC_DISP_QUARANTINE);
	CHECK(o.testing && !strcmp(o.policy_text, "reject"), "t=y reject");
	o = check(zone, &(struct msg){"testq.example", NULL, {NULL}}, __LINE__);
	RESULT(o, DMARC_FAIL, DMARC_DISP_NONE);
	CHECK(o.testing && !strcmp(o.policy_text, "quarantine"), "t=y quarantine");
	o = check(zone, &(struct msg){"pct0.example", NULL, {NULL}}, __LINE__);
	RESULT(o, DMARC_FAIL, DMARC_DISP_QUARANTINE);
	CHECK(o.testing, "pct=0 is t=y");
	o = check(zone, &(struct msg){"pct50.example", NULL, {NULL}}, __LINE__);
	RESULT(o, DMARC_FAIL, DMARC_DISP_REJECT);
	CHECK(!o.testing, "pct=50 ignored");

	/* no p: none; invalid p without rua: permerror; with rua: p=none */
	o = check(zone, &(struct msg){"nop.example", NULL, {NULL}}, __LINE__);
	RESULT(o, DMARC_FAIL, DMARC_DISP_NONE);
	CHECK(!strcmp(o.policy_text, "none"), "absent p is none");
	o = check(zone, &(struct msg){"badp.example", NULL, {NULL}}, __LINE__);
	RESULT(o, DMARC_PERMERROR, DMARC_DISP_NONE);
	CHECK(o.problem[0], "permerror says why");
	o = check(zone, &(struct msg){"badprua.example", NULL, {NULL}}, __LINE__);
	RESULT(o, DMARC_FAIL, DMARC_DISP_NONE);
	CHECK(!strcmp(o.policy_text, "none"), "invalid sp with rua: p=none");
}

/* Several records at one name, non-DMARC TXT, temporary failures. */
static void test_records_and_errors(void)
{
	static const struct zrr zone[] = {
	    {"_dmarc.two.example", DNS_Q_TXT, "v=DMARC1; p=reject"},
	    {"_dmarc.two.example", DNS_Q_TXT, "v=DMARC1; p=none"},
	    {"_dmarc.org.example", DNS_Q_TXT, "v=DMARC1; p=quarantine"},
	    {"_dmarc.sub.org.example", DNS_Q_TXT, "v=DMARC1; p=reject"},
	    {"_dmarc.sub.org.example", DNS_Q_TXT, "v=DMARC1; p=none"},
	    {"_dmarc.sub.org.example", DNS_Q_TXT, "google-site-verification=abc"},
	    {"_dmarc.spf.example", DNS_Q_TXT, "v=spf1 -all"},
	    {"_dmarc.spf.example", DNS_Q_TXT, "v=DMARC1; p=reject"},
	    {"_dmarc.tmp.example", DNS_Q_TXT, "TEMP"},
	    {0}};
	static const struct zrr tld_temp[] = {
	    {"_dmarc.ok.example", DNS_Q_TXT, "v=DMARC1; p=reject"},
	    {"_dmarc.example", DNS_Q_TXT, "TEMP"},
	    {0}};
	struct dmarc_outcome o;
	o = check(zone, &(struct msg){"two.example", NULL, {NULL}}, __LINE__);
	RESULT(o, DMARC_NONE, DMARC_DISP_NONE);
	CHECK(strstr(o.problem, "several"), "several records: %s", o.problem);
	o = check(zone, &(struct msg){"sub.org.example", NULL, {NULL}}, __LINE__);
	RESULT(o, DMARC_FAIL, DMARC_DISP_QUARANTINE);
	CHECK(!strcmp(o.policy_domain, "org.example"), "several at the author: the org's");
	o = check(zone, &(struct msg){"spf.example", NULL, {NULL}}, __LINE__);
	RESULT(o, DMARC_FAIL, DMARC_DISP_REJECT);

	/* temporary failures while looking for the policy */
	o = check(zone, &(struct msg){"tmp.example", "pass:tmp.example", {NULL}}, __LINE__);
	RESULT(o, DMARC_TEMPERROR, DMARC_DISP_NONE);
	o = check(tld_temp, &(struct msg){"ok.example", "pass:bounce.ok.example", {NULL}},
	          __LINE__);
	RESULT(o, DMARC_TEMPERROR, DMARC_DISP_NONE); /* the walk could not end at _dmarc.example */
	CHECK(strstr(o.problem, "_dmarc.example"), "temperror says where: %s", o.problem);
	/* the From domain's own record, the walk above it failing: an
	 * identical identifier still passes, a relaxed one cannot tell */
	o = check(tld_temp,
	          &(struct msg){"ok.example", "pass:bounce.ok.example", {"pass:ok.example"}},
	          __LINE__);
	RESULT(o, DMARC_PASS, DMARC_DISP_NONE);
	CHECK(o.dkim_aligned && !o.spf_aligned && !strcmp(o.policy_domain, "ok.example"),
	      "own record, org unknown");
	o = check(tld_temp, &(struct msg){"sub.ok.example", "pass:ok.example", {NULL}}, __LINE__);
	RESULT(o, DMARC_TEMPERROR, DMARC_DISP_NONE); /* no own record: the policy is unknown */
	static const struct zrr zone2[] = {{"_dmarc.ok.test", DNS_Q_TXT, "v=DMARC1; p=reject"},
	                                   {"_dmarc.idtmp.ok.test", DNS_Q_TXT, "TEMP"},
	                                   {0}};
	o = check(zone2, &(struct msg){"ok.test", NULL, {"pass:idtmp.ok.test"}}, __LINE__);
	RESULT(o, DMARC_TEMPERROR, DMARC_DISP_NONE);
	o = check(zone2, &(struct msg){"ok.test", "pass:ok.test", {"pass:idtmp.ok.test"}},
	          __LINE__);
	RESULT(o, DMARC_PASS, DMARC_DISP_NONE); /* SPF aligned: the temperror does not matter */

	/* a resolver that cannot start queries */
	struct fake f = {.zone = zone, .refuse = true};
	struct spf_resolver res = {.ud = &f, .query = fake_query, .cancel = fake_cancel};
	struct dmarc_input in = {.from_domain = "ok.example"};
	struct got g = {0};
	CHECK(dmarc_check_start(&res, &in, on_done, &g) == NULL && g.calls == 1 &&
	          g.o.result == DMARC_TEMPERROR,
	      "refused queries: temperror");
}

/* Cancelling with a question outstanding: no callback, the query cancelled. */
static void test_cancel(void)
{
	static const struct zrr zone[] = {{"_dmarc.example.com", DNS_Q_TXT, "v=DMARC1; p=reject"},
	                                  {0}};
	static struct fake f;
	memset(&f, 0, sizeof f);
	f.zone = zone;
	f.deferred = true;
	struct spf_resolver res = {.ud = &f, .query = fake_query, .cancel = fake_cancel};
	struct dmarc_input in = {.from_domain = "sub.example.com"};
	struct got g = {0};
	struct dmarc_check *c = dmarc_check_start(&res, &in, on_done, &g);
	CHECK(c != NULL && g.calls == 0, "pending");
	fake_pump(&f); /* first answer; the second question is out */
	CHECK(g.calls == 0 && f.queue.nq - f.queue.head == 1, "second question out");
	dmarc_check_cancel(c);
	CHECK(f.cancels == 1, "query cancelled");
	fake_pump(&f);
	CHECK(g.calls == 0, "no callback after cancel");
	dmarc_check_cancel(NULL);
}

/* Big senders' records, with their usual mail streams. */
static void test_real_world(void)
{
	static const struct zrr zone[] = {
	    {"_dmarc.google.com", DNS_Q_TXT,
	     "v=DMARC1; p=reject; rua=mailto:mailauth-reports@google.com"},
	    {"_dmarc.yahoo.com", DNS_Q_TXT,
	     "v=DMARC1; p=reject; pct=100; rua=mailto:d@rua.agari.com; "
	     "ruf=mailto:d@ruf.agari.com;"},
	    {"_dmarc.paypal.com", DNS_Q_TXT,
	     "v=DMARC1; p=reject; rua=mailto:d@rua.agari.com; "
	     "ruf=mailto:dk@bounce.paypal.com,mailto:d@ruf.agari.com"},
	    {"_dmarc.gmail.com", DNS_Q_TXT,
	     "v=DMARC1; p=none; sp=quarantine; rua=mailto:mailauth-reports@google.com"},
	    {"accounts.google.com", DNS_Q_A, "192.0.2.10"},
	    {0}};
	struct dmarc_outcome o;
	o = check(zone,
	          &(struct msg){"accounts.google.com",
	                        "pass:google.com",
	                        {"pass:accounts.google.com", "pass:gappssmtp.com"}},
	          __LINE__);
	RESULT(o, DMARC_PASS, DMARC_DISP_NONE);
	CHECK(o.spf_aligned && o.dkim_aligned && !strcmp(o.policy_domain, "google.com"),
	      "google.com");
	o = check(zone, &(struct msg){"yahoo.com", "pass:yahoo.com", {"pass:yahoo.com"}}, __LINE__);
	RESULT(o, DMARC_PASS, DMARC_DISP_NONE);
	/* a forwarded yahoo.com message: SPF of the forwarder, DKIM broken */
	o = check(zone, &(struct msg){"yahoo.com", "pass:lists.example.org", {"fail:yahoo.com"}},
	          __LINE__);
	RESULT(o, DMARC_FAIL, DMARC_DISP_REJECT);
	/* a PayPal phish sent from elsewhere */
	o = check(zone, &(struct msg){"paypal.com", "pass:phish.example", {"pass:phish.example"}},
	          __LINE__);
	RESULT(o, DMARC_FAIL, DMARC_DISP_REJECT);
	CHECK(!strcmp(o.policy_text, "reject"), "paypal.com");
	/* gmail.com: p=none */
	o = check(zone, &(struct msg){"gmail.com", "pass:spam.example", {NULL}}, __LINE__);
	RESULT(o, DMARC_FAIL, DMARC_DISP_NONE);
	o = check(zone, &(struct msg){"mail.gmail.com", NULL, {NULL}}, __LINE__);
	RESULT(o, DMARC_FAIL, DMARC_DISP_QUARANTINE);
}

int main(void)
{
	test_record_basics();
	test_record_tags();
	test_simple();
	test_deep_walk();
	test_rfc_b4();
	test_rfc_b43_psd();
	test_rfc_4102();
	test_alignment();
	test_policies();
	test_records_and_errors();
	test_cancel();
	test_real_world();
	CHECK(!strcmp(dmarc_result_name(DMARC_TEMPERROR), "temperror") &&
	          !strcmp(dmarc_disposition_name(DMARC_DISP_QUARANTINE), "quarantine"),
	      "names");
	return check_report("test_dmarc");
}
