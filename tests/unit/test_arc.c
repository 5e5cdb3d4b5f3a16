/* test_arc: ARC (mailauth/arc.h) against the ValiMail ARC test suite in
 * $TERN_SHARED/testdata/dkim/arc_test_suite (the JSON copies of its YAML
 * files, read with jansson), plus seal -> verify round trips, the
 * trusted-sealer decision and the AAR result scanner.
 *
 * Validation: every test's message is verified with the scenario's TXT
 * records as the only DNS; the expected cv is Pass, Fail or None, and ""
 * (the suite's "the chain had already ended in cv=fail") counts as fail,
 * which RFC 8617 §5.2 makes it. Signing: the message is verified first
 * (the chain status), the Authentication-Results fields of srv-id are
 * consolidated as the suite's README says, and the set sealed with the
 * suite's key, t= and h=; RSA PKCS#1 v1.5 signatures are deterministic,
 * so b= of the AMS and of the AS must be the suite's exactly. */
#include "mailauth/arc.h"
#include "mailauth/dkim_msg.h"
#include "mailauth/dkim_tags.h"
#include "tests/unit/check.h"

#include <jansson.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct dns {
	json_t *records; /* name -> TXT */
};

/* Verifies msg; answers from the scenario's records. Caller frees. */
static struct arc_verify *verify(const char *msg, size_t len, json_t *records, size_t chunk)
{
	struct arc_verify *v = arc_verify_new((int64_t)time(NULL));
	for (size_t off = 0; off < len; off += chunk)
		arc_verify_feed(v, msg + off, len - off < chunk ? len - off : chunk);
	arc_verify_end(v);
	for (size_t k = 0; k < arc_verify_query_count(v); k++) {
		const char *name = arc_verify_query(v, k);
		const char *val = NULL;
		const char *key;
		json_t *j;
		json_object_foreach(records, key, j) if (strcasecmp(key, name) == 0) val =
		    json_string_value(j);
		if (!val) {
			arc_verify_key(v, k, DKIM_DNS_NOKEY, NULL, NULL, 0);
			continue;
		}
		/* YAML block scalars break the record into lines: join them */
		char txt[DKIM_KEY_RECORD_MAX];
		size_t n = 0;
		for (const char *p = val; *p && n + 1 < sizeof txt; p++)
			if (*p != '\n')
				txt[n++] = *p;
		txt[n] = '\0';
		const char *t[1] = {txt};
		size_t tl[1] = {n};
		arc_verify_key(v, k, DKIM_DNS_OK, t, tl, 1);
	}
	return v;
}

static enum arc_status expected(const char *cv)
{
	if (strcasecmp(cv, "pass") == 0)
		return ARC_PASS;
	if (strcasecmp(cv, "none") == 0)
		return ARC_NONE;
	return ARC_FAIL;
}

static char vec[512];

static json_t *load(const char *file)
{
	char p[700];
	snprintf(p, sizeof p, "%s/%s", vec, file);
	return json_load_file(p, 0, NULL);
}

static void validation_suite(json_t *suite)
{
	int total = 0, ok = 0;
	size_t i;
	json_t *scen;
	json_array_foreach(suite, i, scen)
	{
		json_t *records = json_object_get(scen, "txt-records"), *tests, *t;
		tests = json_object_get(scen, "tests");
		const char *name;
		json_object_foreach(tests, name, t)
		{
			const char *msg = json_string_value(json_object_get(t, "message"));
			const char *cv = json_string_value(json_object_get(t, "cv"));
			if (!msg || !cv)
				continue;
			total++;
			size_t len = strlen(msg);
			struct arc_verify *v = verify(msg, len, records, len ? len : 1);
			const struct arc_result *r = arc_verify_result(v);
			/* streaming in small chunks must agree */
			struct arc_verify *v2 = verify(msg, len, records, 7);
			bool same = arc_verify_result(v2)->status == r->status;
			bool good = r->status == expected(cv) && same;
			ok += good;
			CHECK(good, "validation %s: want %s, got %s (%s) i=%u%s", name, cv,
			      arc_status_name(r->status), r->reason, r->failed,
			      same ? "" : " (chunked differs)");
			arc_verify_free(&v);
			arc_verify_free(&v2);
		}
	}
	printf("ARC test suite: validation %d/%d\n", ok, total);
}

/* The suite's AR consolidation: every Authentication-Results field of
 * srv_id, in order, its results joined with "; ". */
static void consolidate(const char *msg, const char *srv_id, struct buf *out)
{
	struct dkim_msg m = {0};
	dkim_msg_feed(&m, msg, strlen(msg));
	dkim_msg_end_headers(&m);
	buf_adds(out, srv_id);
	size_t idlen = strlen(srv_id);
	for (size_t f = 0; f < m.nfield; f++) {
		const struct dkim_field *fl = &m.field[f];
		if (!dkim_field_is(fl, "Authentication-Results", 22))
			continue;
		const char *p = memchr(fl->text, ':', fl->len) + 1, *end = fl->text + fl->len;
		while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
			p++;
		if ((size_t)(end - p) <= idlen || strncasecmp(p, srv_id, idlen) != 0 ||
		    p[idlen] != ';')
			continue;
		p += idlen + 1;
		while (p < end) {
			const char *semi = memchr(p, ';', (size_t)(end - p));
			const char *e = semi ? semi : end, *a = p, *b = e;
			while (a < b && (*a == ' ' || *a == '\t' || *a == '\r' || *a == '\n'))
				a++;
			while (b > a &&
			       (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r' || b[-1] == '\n'))
				b--;
			if (b > a) {
				buf_adds(out, ";\r\n  ");
				buf_add(out, a, (size_t)(b - a));
			}
			p = semi ? semi + 1 : end;
		}
	}
	buf_addc(out, '\0');
	dkim_msg_free(&m);
}

/* The b= of the field named name in out (whitespace removed). */
static void field_b(const char *out, const char *name, char *b, size_t cap)
{
	b[0] = '\0';
	const char *f = strstr(out, name);
	if (!f)
		return;
	const char *end = strstr(f, "\r\n");
	while (end && (end[2] == ' ' || end[2] == '\t'))
		end = strstr(end + 2, "\r\n");
	const char *v = strstr(f, " b=");
	if (!v || (end && v > end))
		v = strstr(f, "\tb=");
	if (!v || (end && v > end))
		return;
	size_t n = 0;
	for (const char *p = v + 3; *p && *p != ';' && n + 1 < cap; p++)
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			b[n++] = *p;
	b[n] = '\0';
}

static void want_b(const char *text, char *b, size_t cap)
{
	b[0] = '\0';
	struct dkim_tags tags;
	if (!text || dkim_tags_parse(text, strlen(text), &tags) < 0)
		return;
	const struct dkim_tag *t = dkim_tags_get(&tags, "b");
	size_t n = 0;
	for (size_t i = 0; t && i < t->value_len && n + 1 < cap; i++)
		if (t->value[i] != ' ' && t->value[i] != '\n' && t->value[i] != '\t')
			b[n++] = t->value[i];
	b[n] = '\0';
}

static void signing_suite(json_t *suite)
{
	int total = 0, ok = 0;
	size_t i;
	json_t *scen;
	json_array_foreach(suite, i, scen)
	{
		json_t *records = json_object_get(scen, "txt-records"), *t;
		const char *domain = json_string_value(json_object_get(scen, "domain"));
		const char *sel = json_string_value(json_object_get(scen, "sel"));
		const char *pem = json_string_value(json_object_get(scen, "privatekey"));
		char err[200];
		struct dkim_signing_key *key =
		    dkim_signing_key_load("rsa-sha256", pem, err, sizeof err);
		CHECK(key, "signing key: %s", err);
		if (!key)
			continue;
		const char *name;
		json_object_foreach(json_object_get(scen, "tests"), name, t)
		{
			const char *msg = json_string_value(json_object_get(t, "message"));
			const char *hs = json_string_value(json_object_get(t, "sig-headers"));
			const char *srv = json_string_value(json_object_get(t, "srv-id"));
			const char *ams = json_string_value(json_object_get(t, "AMS"));
			const char *as = json_string_value(json_object_get(t, "AS"));
			int64_t now = (int64_t)json_integer_value(json_object_get(t, "t"));
			if (!msg || !hs || !srv)
				continue;
			total++;
			struct arc_verify *v = verify(msg, strlen(msg), records, strlen(msg) + 1);
			enum arc_status chain = arc_verify_result(v)->status;
			arc_verify_free(&v);
			char hcopy[512], *names[64];
			size_t nn = 0;
			snprintf(hcopy, sizeof hcopy, "%s", hs);
			for (char *s = strtok(hcopy, ":"); s && nn < 64; s = strtok(NULL, ":"))
				names[nn++] = s;
			struct buf authres = {0}, out = {0};
			consolidate(msg, srv, &authres);
			int rc =
			    arc_seal(key, domain, sel, now, (const char *const *)names, nn, chain,
			             authres.data, msg, strlen(msg), &out, err, sizeof err);
			bool good;
			if (!ams || !*ams) {
				good = rc == 1;
				CHECK(good, "signing %s: must not seal, rc %d", name, rc);
			} else {
				buf_addc(&out, '\0');
				char got_ams[1024], got_as[1024], w_ams[1024], w_as[1024];
				field_b(rc == 0 ? out.data : "", "ARC-Message-Signature:", got_ams,
				        sizeof got_ams);
				field_b(rc == 0 ? out.data : "", "ARC-Seal:", got_as,
				        sizeof got_as);
				want_b(ams, w_ams, sizeof w_ams);
				want_b(as, w_as, sizeof w_as);
				good = rc == 0 && strcmp(got_ams, w_ams) == 0 &&
				       strcmp(got_as, w_as) == 0;
				CHECK(good,
				      "signing %s (chain %s): rc %d %s\n%s\nwant AMS b=%s\nwant AS "
				      "b=%s",
				      name, arc_status_name(chain), rc, rc < 0 ? err : "",
				      rc == 0 ? out.data : "", w_ams, w_as);
			}
			ok += good;
			buf_free(&authres);
			buf_free(&out);
		}
		dkim_signing_key_free(&key);
	}
	printf("ARC test suite: signing %d/%d\n", ok, total);
}

/* Seal a plain message, seal again (a second hop), verify both; then the
 * trusted-sealer decision on the result. */
static void round_trip(void)
{
	json_t *suite = load("arc-draft-sign-tests.json");
	if (!suite)
		return;
	json_t *scen = json_array_get(suite, 0);
	const char *pem = json_string_value(json_object_get(scen, "privatekey"));
	json_t *records = json_object_get(scen, "txt-records");
	char err[200];
	struct dkim_signing_key *key = dkim_signing_key_load("rsa-sha256", pem, err, sizeof err);
	const char *msg =
	    "From: a@d1.example\r\nTo: b@example.org\r\nSubject: hi\r\n"
	    "DKIM-Signature: v=1; a=rsa-sha256; d=d1.example; b=x\r\n\r\nbody  \r\n\r\n";
	struct buf one = {0}, two = {0}, m1 = {0}, m2 = {0};
	int rc = arc_seal(key, "example.org", "dummy", 1000, NULL, 0, ARC_NONE,
	                  "lists.example.org; dkim=pass header.d=d1.example; dmarc=pass\r\n", msg,
	                  strlen(msg), &one, err, sizeof err);
	CHECK(rc == 0, "seal hop 1: %d %s", rc, err);
	buf_add(&m1, one.data, one.len);
	buf_adds(&m1, "Received: from somewhere\r\n");
	buf_adds(&m1, msg);
	struct arc_verify *v = verify(m1.data, m1.len, records, 5);
	CHECK(arc_verify_result(v)->status == ARC_PASS, "hop 1 verifies: %s",
	      arc_verify_result(v)->reason);
	const char *trusted[] = {"Example.ORG"}, *other[] = {"elsewhere.example"}, *why;
	unsigned inst;
	CHECK(arc_trusted_override(v, trusted, 1, &inst, &why) && inst == 1, "trusted: %s", why);
	CHECK(!arc_trusted_override(v, other, 1, &inst, &why), "untrusted sealer");
	/* the list changes the subject: DKIM would break; hop 2 seals */
	const char *sub = strstr(m1.data, "Subject: hi");
	buf_add(&m2, m1.data, (size_t)(sub - m1.data));
	buf_adds(&m2, "Subject: [list] hi");
	buf_adds(&m2, sub + 11);
	rc = arc_seal(key, "example.org", "dummy", 2000, NULL, 0, arc_verify_result(v)->status,
	              "mx.example.org; arc=pass; dmarc=fail", m2.data, m2.len, &two, err,
	              sizeof err);
	arc_verify_free(&v);
	CHECK(rc == 0, "seal hop 2: %d %s", rc, err);
	struct buf m3 = {0};
	buf_add(&m3, two.data, two.len);
	buf_add(&m3, m2.data, m2.len);
	v = verify(m3.data, m3.len, records, 64);
	const struct arc_result *r = arc_verify_result(v);
	CHECK(r->status == ARC_PASS && r->instances == 2 && r->oldest_pass == 2,
	      "hop 2 verifies: %s %s n=%u oldest=%u", arc_status_name(r->status), r->reason,
	      r->instances, r->oldest_pass);
	CHECK(arc_trusted_override(v, trusted, 1, &inst, &why) && inst == 1, "oldest trusted: %s",
	      why);
	arc_verify_free(&v);
	/* what the trusted sealer's AAR says decides */
	static const struct {
		const char *authres;
		bool override;
	} aars[] = {
	    {"fwd.example; dkim=fail header.d=x; dkim=pass header.d=y", true},
	    {"fwd.example; spf=pass smtp.mailfrom=a@y", true},
	    {"fwd.example; dkim=fail; spf=neutral", false},
	    {"fwd.example; dmarc=fail (p=reject); dkim=pass", false},
	    {"fwd.example; dmarc=none; dmarc=pass", true},
	};
	for (size_t k = 0; k < sizeof aars / sizeof *aars; k++) {
		struct buf set = {0};
		rc = arc_seal(key, "example.org", "dummy", 1000, NULL, 0, ARC_NONE, aars[k].authres,
		              msg, strlen(msg), &set, err, sizeof err);
		buf_adds(&set, msg);
		v = verify(set.data, set.len, records, 64);
		bool o = arc_trusted_override(v, trusted, 1, &inst, &why);
		CHECK(rc == 0 && o == aars[k].override, "override for %s: %d (%s)", aars[k].authres,
		      o, why);
		arc_verify_free(&v);
		buf_free(&set);
	}
	/* a changed body breaks AMS(2): fail */
	buf_adds(&m3, "tampered\r\n");
	v = verify(m3.data, m3.len, records, 64);
	CHECK(arc_verify_result(v)->status == ARC_FAIL && arc_verify_result(v)->failed == 2,
	      "tampered body fails: %s", arc_verify_result(v)->reason);
	CHECK(!arc_trusted_override(v, trusted, 1, &inst, &why), "no override on a failed chain");
	arc_verify_free(&v);
	/* a DNS temporary failure is a temporary fail */
	v = arc_verify_new(0);
	arc_verify_feed(v, m2.data, m2.len);
	arc_verify_end(v);
	for (size_t k = 0; k < arc_verify_query_count(v); k++)
		arc_verify_key(v, k, DKIM_DNS_TEMPFAIL, NULL, NULL, 0);
	CHECK(arc_verify_result(v)->status == ARC_FAIL && arc_verify_result(v)->temporary,
	      "tempfail");
	arc_verify_free(&v);
	buf_free(&one);
	buf_free(&two);
	buf_free(&m1);
	buf_free(&m2);
	buf_free(&m3);
	dkim_signing_key_free(&key);
	json_decref(suite);
}

/* Ed25519 (RFC 8463 keys work for ARC too): seal, verify, with dkimpy's
 * test key from $TERN_SHARED/testdata/dkim/dkimpy. */
static void ed25519_round_trip(void)
{
	char p[700], seed[128] = "", rec[256] = "";
	snprintf(p, sizeof p, "%s/../dkimpy/ed25519test.key", vec);
	FILE *f = fopen(p, "r");
	if (f) {
		if (!fgets(seed, sizeof seed, f))
			seed[0] = '\0';
		fclose(f);
	}
	snprintf(p, sizeof p, "%s/../dkimpy/ed25519test.dns", vec);
	f = fopen(p, "r");
	if (f) {
		if (!fgets(rec, sizeof rec, f))
			rec[0] = '\0';
		fclose(f);
	}
	rec[strcspn(rec, "\r\n")] = '\0';
	seed[strcspn(seed, "\r\n")] = '\0';
	if (!*seed || !*rec) {
		printf("SKIPPED: ARC ed25519 round trip: %s not found\n", p);
		return;
	}
	char err[200];
	struct dkim_signing_key *key =
	    dkim_signing_key_load("ed25519-sha256", seed, err, sizeof err);
	CHECK(key, "ed25519 key: %s", err);
	if (!key)
		return;
	const char *msg = "From: a@example.com\r\nSubject: s\r\n\r\nbody\r\n";
	struct buf out = {0};
	int rc = arc_seal(key, "example.com", "test", 5, NULL, 0, ARC_NONE, "mx.example.com; none",
	                  msg, strlen(msg), &out, err, sizeof err);
	CHECK(rc == 0 && strstr(out.data, "a=ed25519-sha256"), "ed25519 seal: %d %s", rc, err);
	buf_adds(&out, msg);
	json_t *records = json_object();
	json_object_set_new(records, "test._domainkey.example.com", json_string(rec));
	struct arc_verify *v = verify(out.data, out.len, records, 3);
	CHECK(arc_verify_result(v)->status == ARC_PASS, "ed25519 verify: %s",
	      arc_verify_result(v)->reason);
	arc_verify_free(&v);
	json_decref(records);
	buf_free(&out);
	dkim_signing_key_free(&key);
}

static void aar_scanner(void)
{
	const char *p = "mx.example.org (comment; x=y); spf=pass smtp.mailfrom=a@b; "
	                "dkim/1 = pass (good; sig) header.d=b; DMARC=Fail (p=reject) header.from=b";
	char r[32];
	CHECK(arc_aar_method_result(p, strlen(p), "spf", r, sizeof r) && !strcmp(r, "pass"), "spf");
	CHECK(arc_aar_method_result(p, strlen(p), "dkim", r, sizeof r) && !strcmp(r, "pass"),
	      "dkim");
	CHECK(arc_aar_method_result(p, strlen(p), "dmarc", r, sizeof r) && !strcmp(r, "fail"),
	      "dmarc");
	CHECK(!arc_aar_method_result(p, strlen(p), "x", r, sizeof r), "comment is no result");
	CHECK(!arc_aar_method_result("a; arc", 6, "arc", r, sizeof r), "no '='");
}

static void sealers_list(void)
{
	const char *out[3];
	char why[100];
	char l1[] = " list.example.org, Lists.Example.NET.\tx_y.example ,";
	int n = arc_sealers_parse(l1, out, 3, why, sizeof why);
	CHECK(n == 3 && strcmp(out[0], "list.example.org") == 0 &&
	          strcmp(out[1], "Lists.Example.NET") == 0 && strcmp(out[2], "x_y.example") == 0,
	      "sealers: three names (%d)", n);
	char l2[] = "";
	CHECK(arc_sealers_parse(l2, out, 3, why, sizeof why) == 0, "sealers: empty");
	char l3[] = "a.example, b..example";
	CHECK(arc_sealers_parse(l3, out, 3, why, sizeof why) == -1, "sealers: empty label");
	char l4[] = "a.example;b.example";
	CHECK(arc_sealers_parse(l4, out, 3, why, sizeof why) == -1, "sealers: bad character");
	char l5[] = "a,b,c,d";
	CHECK(arc_sealers_parse(l5, out, 3, why, sizeof why) == -1, "sealers: too many");
}

int main(void)
{
	aar_scanner();
	sealers_list();
	const char *shared = getenv("TERN_SHARED");
	snprintf(vec, sizeof vec, "%s/testdata/dkim/arc_test_suite", shared ? shared : "../shared");
	json_t *val = load("arc-draft-validation-tests.json"),
	       *sig = load("arc-draft-sign-tests.json");
	if (!val || !sig) {
		printf("SKIPPED: test_arc: ARC test suite %s/arc-draft-*-tests.json not found\n",
		       vec);
	} else {
		validation_suite(val);
		signing_suite(sig);
		round_trip();
		ed25519_round_trip();
	}
	json_decref(val);
	json_decref(sig);
	return check_report("test_arc");
}
