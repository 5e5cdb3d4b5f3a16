/* test_dkim: mailauth's DKIM (mailauth/dkim.h): the tag-list parser, the
 * canonicalizations (RFC 6376 §3.4.5's example, empty bodies, one byte at
 * a time), every chasquid case, the dkimpy and MimeKit vectors (RFC 8463
 * Appendix A, Exim's Ed25519, Gmail's folding, negative key records),
 * sign -> verify with both algorithms and both canonicalizations, what
 * tampering does, the checks before DNS (rsa-sha1, x=, i=, h= without
 * From), and the signing cost. The vectors come from
 * $TERN_SHARED/testdata/dkim; without them a SKIPPED line, and the rest
 * runs. The dkimpy round trip is tests/integration/test_dkim_dkimpy.py. */
#include "admin/admin.h"
#include "mailauth/dkim.h"
#include "mailauth/dkim_canon.h"
#include "mailauth/dkim_tags.h"
#include "tests/tools/dkim_dnsfile.h"
#include "tests/unit/check.h"

#include <jansson.h>
#include <sodium.h>
#include <string.h>
#include <time.h>

static char vec[512];

static void test_tags(void)
{
	struct dkim_tags t;
	const char *s = "v=1; a=rsa-sha256;\r\n\th = from : to ;b= ab\r\n cd ;";
	CHECK(dkim_tags_parse(s, strlen(s), &t) == 0 && t.n == 4, "tag list parses");
	const struct dkim_tag *h = dkim_tags_get(&t, "h");
	CHECK(h && h->value_len == 9 && memcmp(h->value, "from : to", 9) == 0, "h= value");
	CHECK(dkim_tag_is(dkim_tags_get(&t, "a"), "rsa-sha256"), "a= value");
	const struct dkim_tag *b = dkim_tags_get(&t, "b");
	CHECK(b && b->value_len == 7, "b= keeps its inner folding");
	CHECK(dkim_tags_parse("", 0, &t) == 0 && t.n == 0, "empty list");
	CHECK(dkim_tags_parse("a=1; a=2", 8, &t) < 0, "duplicate tag refused");
	CHECK(dkim_tags_parse("a=1;;b=2", 8, &t) < 0, "empty tag-spec refused");
	CHECK(dkim_tags_parse("1a=1", 4, &t) < 0, "tag name starts with a letter");
	CHECK(dkim_tags_parse("a", 1, &t) < 0, "tag without '='");
	CHECK(dkim_tags_parse("a=x\x01y", 5, &t) < 0, "control character in a value");
	CHECK(dkim_tags_parse("v=DKIM1: g=*", 12, &t) == 0, "':' is a VALCHAR");
	char many[400] = "";
	for (int i = 0; i < DKIM_TAGS_MAX + 1; i++)
		snprintf(many + strlen(many), sizeof many - strlen(many), "t%d=x;", i);
	CHECK(dkim_tags_parse(many, strlen(many), &t) < 0, "more than DKIM_TAGS_MAX tags");
}

static void sha_b64(const void *p, size_t n, char out[64])
{
	unsigned char h[32];
	crypto_hash_sha256(h, p, n);
	sodium_bin2base64(out, 64, h, 32, sodium_base64_VARIANT_ORIGINAL);
}

static void body_b64(enum dkim_canon c, const char *body, size_t chunk, char out[64])
{
	struct dkim_body b;
	unsigned char h[32];
	dkim_body_init(&b, c, DKIM_BODY_NO_LIMIT);
	size_t n = strlen(body);
	for (size_t i = 0; i < n; i += chunk)
		dkim_body_feed(&b, body + i, n - i < chunk ? n - i : chunk);
	dkim_body_final(&b, h);
	sodium_bin2base64(out, 64, h, 32, sodium_base64_VARIANT_ORIGINAL);
}

static void test_canon(void)
{
	char got[64], want[64];
	/* RFC 6376 §3.4.5 */
	const char *body = " C \r\nD \t E\r\n\r\n\r\n";
	sha_b64(" C\r\nD E\r\n", 9, want);
	for (size_t chunk = 1; chunk <= 20; chunk++) {
		body_b64(DKIM_CANON_RELAXED, body, chunk, got);
		CHECK(strcmp(got, want) == 0, "relaxed body, chunks of %zu", chunk);
	}
	sha_b64(" C \r\nD \t E\r\n", 12, want);
	body_b64(DKIM_CANON_SIMPLE, body, 1, got);
	CHECK(strcmp(got, want) == 0, "simple body drops the empty lines at the end");
	body_b64(DKIM_CANON_SIMPLE, "", 1, got);
	CHECK(strcmp(got, "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=") == 0,
	      "simple empty body");
	body_b64(DKIM_CANON_RELAXED, "\r\n\r\n", 1, got);
	CHECK(strcmp(got, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=") == 0,
	      "relaxed empty body");
	sha_b64("a\r\nb\r\n", 6, want);
	body_b64(DKIM_CANON_SIMPLE, "a\nb", 1, got);
	CHECK(strcmp(got, want) == 0, "bare LF is a line end, a last line gets its CRLF");
	sha_b64("a\rb\r\n", 5, want);
	body_b64(DKIM_CANON_RELAXED, "a\rb", 1, got);
	CHECK(strcmp(got, want) == 0, "a lone CR is an ordinary byte");

	/* l=: hashes the first l canonical bytes, counts all */
	struct dkim_body b;
	unsigned char h[32];
	dkim_body_init(&b, DKIM_CANON_SIMPLE, 3);
	dkim_body_feed(&b, "abcdef\r\n", 8);
	dkim_body_final(&b, h);
	sodium_bin2base64(got, 64, h, 32, sodium_base64_VARIANT_ORIGINAL);
	sha_b64("abc", 3, want);
	CHECK(strcmp(got, want) == 0 && b.total == 8, "l=3 hashes 3 bytes of 8");

	/* relaxed header, §3.4.5: "A: X" and "B : Y\t\r\n\tZ  " */
	crypto_hash_sha256_state sha;
	crypto_hash_sha256_init(&sha);
	dkim_header_hash(&sha, DKIM_CANON_RELAXED, "A: X", 4, true);
	dkim_header_hash(&sha, DKIM_CANON_RELAXED, "B : Y\t\r\n\tZ  ", 12, true);
	crypto_hash_sha256_final(&sha, h);
	sodium_bin2base64(got, 64, h, 32, sodium_base64_VARIANT_ORIGINAL);
	sha_b64("a:X\r\nb:Y Z\r\n", 12, want);
	CHECK(strcmp(got, want) == 0, "relaxed header canonicalization");
}

static bool have_vectors(void)
{
	const char *shared = getenv("TERN_SHARED");
	snprintf(vec, sizeof vec, "%s/testdata/dkim", shared ? shared : "../shared");
	char p[600];
	snprintf(p, sizeof p, "%s/chasquid/01-rfc8463.msg", vec);
	FILE *f = fopen(p, "r");
	if (f)
		fclose(f);
	return f != NULL;
}

/* Verifies msg (path under vec) with the DNS of dnspath; chunk bytes at a
 * time. The caller frees. */
static struct dkim_verify *verify_file(const char *msgpath, const char *dnspath, size_t max,
                                       size_t chunk, int64_t now)
{
	char p[700];
	snprintf(p, sizeof p, "%s/%s", vec, msgpath);
	size_t len = 0;
	char *msg = dnsfile_slurp(p, &len);
	struct dnsfile d = {0};
	if (dnspath) { /* under vec, or absolute */
		snprintf(p, sizeof p, "%s%s%s", dnspath[0] == '/' ? "" : vec,
		         dnspath[0] == '/' ? "" : "/", dnspath);
		dnsfile_load(&d, p);
	}
	struct dkim_verify *v = dkim_verify_new(now, max);
	if (!msg || !v) {
		free(msg);
		dkim_verify_free(&v);
		return NULL;
	}
	for (size_t i = 0; i < len; i += chunk) {
		dkim_verify_feed(v, msg + i, len - i < chunk ? len - i : chunk);
		/* answers as soon as the headers are done: before the body ends */
		if (dkim_verify_headers_done(v) && chunk < len && i < chunk)
			for (size_t k = 0; k < dkim_verify_count(v); k++)
				dnsfile_answer(&d, v, k);
	}
	dkim_verify_end(v);
	for (size_t k = 0; k < dkim_verify_count(v); k++)
		dnsfile_answer(&d, v, k);
	dnsfile_free(&d);
	free(msg);
	return v;
}

static void test_chasquid(void)
{
	static const char *const cases[] = {"01-rfc8463",
	                                    "02-too_many_headers",
	                                    "03-bad_message",
	                                    "04-bad_dkim_signature_header",
	                                    "05-dns_temp_error",
	                                    "06-dns_perm_error",
	                                    "07-algo_mismatch",
	                                    "08-our_signature",
	                                    "09-limited_body",
	                                    "10-strict_domain_check_pass",
	                                    "11-strict_domain_check_fail"};
	int done = 0;
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		char m[100], d[100], p[700];
		snprintf(m, sizeof m, "chasquid/%s.msg", cases[c]);
		snprintf(d, sizeof d, "chasquid/%s.dns", cases[c]);
		/* chasquid's policy: 5 signatures at most (ours: 8) */
		for (size_t chunk = 1; chunk <= 4096; chunk *= 4096) {
			struct dkim_verify *v = verify_file(m, d, 5, chunk, 1700000000);
			CHECK(v != NULL, "%s: verified", cases[c]);
			if (!v)
				continue;
			snprintf(p, sizeof p, "%s/chasquid/%s.error", vec, cases[c]);
			char *err = dnsfile_slurp(p, NULL);
			if (err && strcmp(err, "<nil>") != 0)
				CHECK(dkim_verify_error(v) &&
				          strcmp(dkim_verify_error(v), err) == 0,
				      "%s: message error '%s', want '%s'", cases[c],
				      dkim_verify_error(v) ? dkim_verify_error(v) : "(none)", err);
			else
				CHECK(dkim_verify_error(v) == NULL, "%s: no message error",
				      cases[c]);
			free(err);
			snprintf(p, sizeof p, "%s/chasquid/%s.result", vec, cases[c]);
			json_t *want = json_load_file(p, 0, NULL);
			size_t found =
			    want ? json_integer_value(json_object_get(want, "Found")) : 0;
			size_t valid =
			    want ? json_integer_value(json_object_get(want, "Valid")) : 0;
			json_t *res = want ? json_object_get(want, "Results") : NULL;
			CHECK(dkim_verify_count(v) == found, "%s: %zu signatures, want %zu",
			      cases[c], dkim_verify_count(v), found);
			size_t pass = 0;
			for (size_t i = 0; i < dkim_verify_count(v); i++) {
				const struct dkim_sig_result *r = dkim_verify_result(v, i);
				pass += r->result == DKIM_PASS;
				json_t *w = json_array_get(res, i);
				const char *state = json_string_value(json_object_get(w, "State"));
				const char *dom = json_string_value(json_object_get(w, "Domain"));
				const char *sel = json_string_value(json_object_get(w, "Selector"));
				const char *b = json_string_value(json_object_get(w, "B"));
				enum dkim_result r_want =
				    !state                           ? DKIM_PENDING
				    : strcmp(state, "SUCCESS") == 0  ? DKIM_PASS
				    : strcmp(state, "TEMPFAIL") == 0 ? DKIM_TEMPERROR
				                                     : DKIM_FAIL;
				bool same = r->result == r_want ||
				            (r_want == DKIM_FAIL && (r->result == DKIM_PERMERROR ||
				                                     r->result == DKIM_NEUTRAL));
				CHECK(same, "%s #%zu: %s (%s), want %s", cases[c], i,
				      dkim_result_name(r->result), r->reason, state ? state : "?");
				CHECK(dom && sel && strcmp(r->domain, dom) == 0 &&
				          strcmp(r->selector, sel) == 0 &&
				          strncmp(r->b, b, strlen(r->b)) == 0,
				      "%s #%zu: d=%s s=%s b=%s", cases[c], i, r->domain,
				      r->selector, r->b);
			}
			CHECK(pass == valid, "%s: %zu pass, want %zu", cases[c], pass, valid);
			if (strcmp(cases[c], "09-limited_body") == 0) {
				const struct dkim_sig_result *r = dkim_verify_result(v, 0);
				CHECK(r && r->has_l && r->l == 17 && r->body_uncovered == 37,
				      "09: l=17 leaves 37 bytes uncovered (%llu)",
				      r ? (unsigned long long)r->body_uncovered : 0ULL);
			}
			json_decref(want);
			dkim_verify_free(&v);
		}
		done++;
	}
	/* our own cap: 8 */
	struct dkim_verify *v = verify_file("chasquid/02-too_many_headers.msg",
	                                    "chasquid/02-too_many_headers.dns", 0, 4096, 0);
	CHECK(v && dkim_verify_count(v) == 7, "7 signatures under our cap of 8");
	dkim_verify_free(&v);
	printf("chasquid: %d/11 cases\n", done);
}

/* Every signature of msg passes / none does. */
static void expect(const char *msg, const char *dns, size_t nsig, enum dkim_result want,
                   const char *what)
{
	struct dkim_verify *v = verify_file(msg, dns, 0, 1000, 1700000000);
	CHECK(v && dkim_verify_count(v) == nsig, "%s: %zu signatures", what, nsig);
	for (size_t i = 0; v && i < dkim_verify_count(v); i++) {
		const struct dkim_sig_result *r = dkim_verify_result(v, i);
		CHECK(r->result == want, "%s #%zu: %s (%s)", what, i, dkim_result_name(r->result),
		      r->reason);
	}
	dkim_verify_free(&v);
}

static void write_dns(const char *path, const char *const *lines, size_t n)
{
	FILE *f = fopen(path, "w");
	for (size_t i = 0; f && i < n; i++)
		fprintf(f, "%s\n", lines[i]);
	if (f)
		fclose(f);
}

static char *file_line(const char *rel)
{
	char p[700];
	snprintf(p, sizeof p, "%s/%s", vec, rel);
	char *s = dnsfile_slurp(p, NULL);
	return s;
}

static void test_dkimpy_vectors(void)
{
	char tmp[] = "/tmp/test_dkim.XXXXXX";
	if (!mkdtemp(tmp))
		return;
	char dns[600], line1[3000], line2[3000];
	snprintf(dns, sizeof dns, "%s/both.dns", tmp);
	char *rsa = file_line("dkimpy/test.txt"),
	     *ed = file_line("dkimpy/rfc8463-brisbane.dns.txt");
	snprintf(line1, sizeof line1, "test._domainkey.football.example.com: %s",
	         dnsfile_trim(rsa));
	snprintf(line2, sizeof line2, "brisbane._domainkey.football.example.com: %s",
	         dnsfile_trim(ed));
	const char *lines[] = {line1, line2};
	write_dns(dns, lines, 2);
	free(rsa);
	free(ed);
	expect("dkimpy/rfc6376.signed.msg", dns, 2, DKIM_PASS, "RFC 8463 App. A (simple/simple)");
	expect("mimekit/rfc8463-example.msg", dns, 2, DKIM_PASS, "MimeKit RFC 8463 example");
	expect("dkimpy/ed25519test2.msg", "dkimpy/eximtest.dns", 1, DKIM_PASS, "Exim ed25519");
	expect("dkimpy/test2.message", "dkimpy/gmail-20120113.dns.txt", 1, DKIM_PASS,
	       "Gmail degenerate folding");
	char *pub = file_line("mimekit/gmail.pub");
	if (pub) {
		char p[4000] = "p=";
		for (char *s = strtok(pub, "\n"); s; s = strtok(NULL, "\n"))
			if (!strstr(s, "-----"))
				strncat(p, dnsfile_trim(s), sizeof p - strlen(p) - 1);
		snprintf(dns, sizeof dns, "%s/gmail.dns", tmp);
		const char *l[] = {p};
		write_dns(dns, l, 1);
		expect("mimekit/gmail.msg", dns, 1, DKIM_PASS, "MimeKit gmail");
		expect("mimekit/related.msg", dns, 1, DKIM_PASS,
		       "MimeKit 214 KB multipart/related");
		expect("mimekit/multipart-no-end-boundary.msg", dns, 1, DKIM_PASS,
		       "MimeKit no end boundary");
		free(pub);
	}
	check_remove_dir(tmp);
}

static struct dkim_signing_key *key_from(const char *alg, const char *rel)
{
	char *text = file_line(rel), err[200];
	struct dkim_signing_key *k =
	    text ? dkim_signing_key_load(alg, text, err, sizeof err) : NULL;
	CHECK(k != NULL, "key %s loads", rel);
	free(text);
	return k;
}

/* Verifies msg[0..len) with one key record for any name. */
static const struct dkim_sig_result *verify_mem(struct dkim_verify **vp, const char *msg,
                                                size_t len, const char *record, int64_t now)
{
	*vp = dkim_verify_new(now, 0);
	dkim_verify_feed(*vp, msg, len);
	dkim_verify_end(*vp);
	if (dkim_verify_count(*vp) == 0)
		return NULL;
	size_t rl = record ? strlen(record) : 0;
	dkim_verify_key(*vp, 0, record ? DKIM_DNS_OK : DKIM_DNS_NOKEY, &record, &rl,
	                record ? 1 : 0);
	return dkim_verify_result(*vp, 0);
}

static enum dkim_result sign_verify(struct dkim_signing_key *k, const char *record,
                                    const struct dkim_sign_opts *o, const char *msg,
                                    const char *edit_from, const char *edit_to, const char **reason)
{
	struct buf out = {0};
	char err[200];
	if (dkim_sign(k, "example.com", "test", 1700000000, o, msg, strlen(msg), &out, err,
	              sizeof err) < 0) {
		*reason = "signing failed";
		return DKIM_PENDING;
	}
	buf_adds(&out, msg);
	if (edit_from) { /* replace the first edit_from with edit_to */
		char *at = strstr(out.data, edit_from);
		if (at) {
			struct buf e = {0};
			buf_add(&e, out.data, (size_t)(at - out.data));
			buf_adds(&e, edit_to);
			buf_adds(&e, at + strlen(edit_from));
			buf_free(&out);
			out = e;
		}
	}
	struct dkim_verify *v;
	const struct dkim_sig_result *r = verify_mem(&v, out.data, out.len, record, 1700000100);
	enum dkim_result res = r ? r->result : DKIM_PENDING;
	*reason = r ? r->reason : "no signature";
	dkim_verify_free(&v);
	buf_free(&out);
	return res;
}

static const char *const msg1 =
    "From: Alice <alice@example.com>\r\nTo: bob@example.net\r\nSubject: hi\r\n"
    "Date: Sun, 6 Dec 2026 18:00:00 +0000\r\nMessage-ID: <1@example.com>\r\n"
    "X-Mailer: test\r\n\r\nHello  there \r\n\r\nBob.\r\n\r\n\r\n";

static void test_sign_verify(void)
{
	struct dkim_signing_key *rsa = key_from("rsa-sha256", "dkimpy/test.private");
	struct dkim_signing_key *ed = key_from("ed25519-sha256", "dkimpy/ed25519test.key");
	char *rsa_rec = file_line("dkimpy/test.txt"), *ed_rec = file_line("dkimpy/ed25519test.dns");
	if (!rsa || !ed || !rsa_rec || !ed_rec)
		goto out;
	dnsfile_trim(rsa_rec);
	dnsfile_trim(ed_rec);
	const char *why;
	static const struct dkim_sign_opts canons[] = {{DKIM_CANON_RELAXED, DKIM_CANON_RELAXED},
	                                               {DKIM_CANON_SIMPLE, DKIM_CANON_SIMPLE},
	                                               {DKIM_CANON_RELAXED, DKIM_CANON_SIMPLE},
	                                               {DKIM_CANON_SIMPLE, DKIM_CANON_RELAXED}};
	for (size_t c = 0; c < 4; c++) {
		CHECK(sign_verify(rsa, rsa_rec, &canons[c], msg1, NULL, NULL, &why) == DKIM_PASS,
		      "rsa round trip, canon %zu: %s", c, why);
		CHECK(sign_verify(ed, ed_rec, &canons[c], msg1, NULL, NULL, &why) == DKIM_PASS,
		      "ed25519 round trip, canon %zu: %s", c, why);
	}
	/* tampering */
	CHECK(sign_verify(ed, ed_rec, NULL, msg1, "Bob.", "Eve.", &why) == DKIM_FAIL &&
	          strstr(why, "body hash"),
	      "tampered body fails: %s", why);
	CHECK(sign_verify(ed, ed_rec, NULL, msg1, "Subject: hi", "Subject: ho", &why) ==
	              DKIM_FAIL &&
	          strstr(why, "signature did not"),
	      "tampered signed header fails: %s", why);
	CHECK(sign_verify(ed, ed_rec, NULL, msg1, "X-Mailer:", "X-Added: 1\r\nX-Mailer:", &why) ==
	          DKIM_PASS,
	      "an added unsigned header passes: %s", why);
	CHECK(sign_verify(rsa, rsa_rec, NULL, msg1,
	                  "X-Mailer:", "To: eve@example.org\r\nX-Mailer:", &why) == DKIM_FAIL,
	      "an added over-signed header fails: %s", why);
	CHECK(sign_verify(ed, ed_rec, NULL, msg1,
	                  "X-Mailer:", "Cc: eve@example.org\r\nX-Mailer:", &why) == DKIM_PASS,
	      "an added Cc passes: only From, To, Subject, Date, Message-ID are over-signed: %s",
	      why);
	CHECK(sign_verify(ed, ed_rec, NULL, msg1, "Hello  there \r\n", "Hello there\r\n", &why) ==
	          DKIM_PASS,
	      "relaxed body survives whitespace changes: %s", why);
	/* what is decided before DNS, and the key record's checks */
	struct {
		const char *from, *to, *record;
		enum dkim_result want;
		const char *reason;
	} cases[] = {
	    {"a=ed25519-sha256", "a=rsa-sha1", NULL, DKIM_PERMERROR, "rsa-sha1"},
	    {"a=ed25519-sha256", "a=hmac-md5", NULL, DKIM_PERMERROR, "unsupported algorithm"},
	    {"v=1;", "v=2;", NULL, DKIM_NEUTRAL, "incompatible version"},
	    {"d=example.com;", "d=example.com; i=joe@example.org;", NULL, DKIM_PERMERROR, "i="},
	    {"d=example.com;", "d=example.com; i=joe@sub.example.com;", NULL, DKIM_PASS, ""},
	    {"d=example.com;", "d=example.com; i=joe@sub.example.com;",
	     "v=DKIM1; k=ed25519; t=s; p=yi50DjK5O9pqbFpNHklsv9lqaS0ArSYu02qp1S0DW1Y=",
	     DKIM_PERMERROR, "t=s"},
	    {"d=example.com;", "d=example.com; x=1600000000;", NULL, DKIM_PERMERROR, "expired"},
	    {"d=example.com;", "d=example.com; x=1800000000;", NULL, DKIM_FAIL,
	     "signature did not"},
	    {"h=from:from:", "h=", NULL, DKIM_PERMERROR, "From field not signed"},
	    {"d=example.com;", "d=example.com; q=http;", NULL, DKIM_PERMERROR, "query method"},
	    {"d=example.com;", "d=example.com; l=x;", NULL, DKIM_NEUTRAL, "l= malformed"},
	    {"v=1;", "", NULL, DKIM_NEUTRAL, "missing required tag"},
	    {"c=relaxed/relaxed;", "c=relaxed/fancy;", NULL, DKIM_NEUTRAL, "c= malformed"},
	    {NULL, NULL, "v=DKIM1; k=ed25519; p=", DKIM_PERMERROR, "revoked"},
	    {NULL, NULL, "v=DKIM1; k=rsa; p=yi50DjK5O9pqbFpNHklsv9lqaS0ArSYu02qp1S0DW1Y=",
	     DKIM_PERMERROR, "inappropriate key algorithm"},
	    {NULL, NULL, "k=ed25519; h=sha1; p=yi50DjK5O9pqbFpNHklsv9lqaS0ArSYu02qp1S0DW1Y=",
	     DKIM_PERMERROR, "hash"},
	    {NULL, NULL, "k=ed25519; s=tlsrpt; p=yi50DjK5O9pqbFpNHklsv9lqaS0ArSYu02qp1S0DW1Y=",
	     DKIM_PERMERROR, "not for email"},
	    {NULL, NULL, "k=ed25519; v=DKIM1; p=yi50DjK5O9pqbFpNHklsv9lqaS0ArSYu02qp1S0DW1Y=",
	     DKIM_PERMERROR, "version"},
	    {NULL, NULL, "k=ed25519; p=AAAA", DKIM_PERMERROR, "not an Ed25519"},
	    {NULL, NULL,
	     "k=ed25519; t=y:s; p=yi50DjK5O9pqbFpNHklsv9lqaS0ArSYu02qp1S0DW1Y=", DKIM_PASS, ""},
	    {NULL, NULL, "", DKIM_PERMERROR, "no p="},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		enum dkim_result r = sign_verify(ed, cases[i].record ? cases[i].record : ed_rec,
		                                 NULL, msg1, cases[i].from, cases[i].to, &why);
		/* the signature no longer verifies after the edit, but the check
		 * under test comes first */
		if (cases[i].want == DKIM_PASS && cases[i].from)
			CHECK(r == DKIM_FAIL, "case %zu: edited, %s (%s)", i, dkim_result_name(r),
			      why);
		else
			CHECK(r == cases[i].want && strstr(why, cases[i].reason),
			      "case %zu: %s (%s)", i, dkim_result_name(r), why);
	}
	/* no key in DNS; dkimpy's negative key records with an RSA signature */
	CHECK(sign_verify(ed, NULL, NULL, msg1, NULL, NULL, &why) == DKIM_PERMERROR &&
	          strstr(why, "no key"),
	      "no key: %s", why);
	static const char *const bad[] = {"dkimpy/badversion.txt", "dkimpy/badk.txt",
	                                  "dkimpy/test_bad.txt", "dkimpy/test_tlsrpt.txt"};
	for (size_t i = 0; i < 4; i++) {
		char *rec = file_line(bad[i]);
		CHECK(rec && sign_verify(rsa, dnsfile_trim(rec), NULL, msg1, NULL, NULL, &why) ==
		                 DKIM_PERMERROR,
		      "%s refused: %s", bad[i], why);
		free(rec);
	}
	/* signing refuses a message without From */
	char *nofrom = file_line("dkimpy/test_nofrom.message"), err[200];
	struct buf out = {0};
	CHECK(nofrom && dkim_sign(ed, "example.com", "s", 1, NULL, nofrom, strlen(nofrom), &out,
	                          err, sizeof err) < 0,
	      "no From: not signed");
	free(nofrom);
	/* the field: folded at 78, over-signed h= */
	buf_reset(&out);
	CHECK(dkim_sign(rsa, "example.com", "test", 1, NULL, msg1, strlen(msg1), &out, err,
	                sizeof err) == 0,
	      "signs");
	size_t longest = 0, col = 0;
	for (size_t i = 0; i < out.len; i++) {
		if (out.data[i] == '\r')
			longest = col > longest ? col : longest, col = 0;
		else if (out.data[i] != '\n')
			col++;
	}
	CHECK(longest <= 78, "lines of at most 78 characters (%zu)", longest);
	CHECK(strstr(out.data, "from:from:") && strstr(out.data, "cc") == NULL,
	      "From over-signed: %s", out.data);
	buf_free(&out);
out:
	free(rsa_rec);
	free(ed_rec);
	dkim_signing_key_free(&rsa);
	dkim_signing_key_free(&ed);
}

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Keys as `tern dkim keygen` makes them: sign, verify against their p=,
 * and the cost of an RSA-2048 + Ed25519 dual signature on 4 KiB. */
static void test_store_keys_and_cost(void)
{
	static struct admin_dkim_key rk, ek;
	char err[200], rec[1200];
	CHECK(admin_dkim_generate(ADMIN_DKIM_RSA, &rk, err, sizeof err) == 0, "RSA-2048 key");
	CHECK(admin_dkim_generate(ADMIN_DKIM_ED25519, &ek, err, sizeof err) == 0, "Ed25519 key");
	struct dkim_signing_key *rsa =
	    dkim_signing_key_load("rsa-sha256", rk.private_key, err, sizeof err);
	struct dkim_signing_key *ed =
	    dkim_signing_key_load("ed25519-sha256", ek.private_key, err, sizeof err);
	CHECK(rsa && ed, "the store's private keys load: %s", err);
	if (!rsa || !ed)
		goto out;
	const char *why;
	snprintf(rec, sizeof rec, "v=DKIM1; k=rsa; p=%s", rk.public_key);
	CHECK(sign_verify(rsa, rec, NULL, msg1, NULL, NULL, &why) == DKIM_PASS, "rsa-2048: %s",
	      why);
	snprintf(rec, sizeof rec, "v=DKIM1; k=ed25519; p=%s", ek.public_key);
	CHECK(sign_verify(ed, rec, NULL, msg1, NULL, NULL, &why) == DKIM_PASS, "ed25519: %s", why);

	struct buf msg = {0}, out = {0};
	buf_adds(&msg, msg1);
	while (msg.len < 4096 - 64)
		buf_adds(&msg, "The quick brown fox jumps over the lazy dog, again and again.\r\n");
	int n = 100;
	double t[2];
	struct dkim_signing_key *keys[2] = {rsa, ed};
	for (int k = 0; k < 2; k++) {
		double t0 = cpu_now();
		for (int i = 0; i < n; i++) {
			buf_reset(&out);
			dkim_sign(keys[k], "example.com", "s", 1, NULL, msg.data, msg.len, &out,
			          err, sizeof err);
		}
		t[k] = (cpu_now() - t0) / n;
	}
	printf("DKIM signing, 4 KiB message, CPU per signature: rsa-sha256 (2048) %.3f ms "
	       "(%.0f/s per core), ed25519-sha256 %.3f ms (%.0f/s per core); both %.3f ms\n",
	       t[0] * 1e3, 1 / t[0], t[1] * 1e3, 1 / t[1], (t[0] + t[1]) * 1e3);
	buf_free(&msg);
	buf_free(&out);
out:
	dkim_signing_key_free(&rsa);
	dkim_signing_key_free(&ed);
	admin_dkim_key_wipe(&rk);
	admin_dkim_key_wipe(&ek);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_tags();
	test_canon();
	test_store_keys_and_cost();
	if (!have_vectors()) {
		printf("SKIPPED: dkim vectors: %s/chasquid not found\n", vec);
	} else {
		test_chasquid();
		test_dkimpy_vectors();
		test_sign_verify();
	}
	return check_report("test_dkim");
}
