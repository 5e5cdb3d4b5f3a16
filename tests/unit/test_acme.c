/* test_acme: the pure parts of acme/: base64url, the RFC 7638 thumbprint
 * (the RFC's own example and an EC key), DER to r||s, a JWS checked by
 * verifying its signature, the CSR, the URL splitter, the domain list,
 * the challenge table, the tls-alpn-01 certificate (RFC 8737) and its
 * table, and the HTTP response parser (every framing, fed
 * whole and split at every byte, and its errors and limits). */
#include "acme/acme.h"
#include "acme/alpn.h"
#include "acme/b64url.h"
#include "acme/challenge.h"
#include "acme/csr.h"
#include "net/http_client.h"
#include "acme/jws.h"
#include "net/http_resp.h"
#include "tests/unit/check.h"
#include "tls/tls_compat.h"

#include <jansson.h>
#include <string.h>

#include <mbedtls/oid.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_csr.h>

#include "tls/rng.h"

static void test_b64url(void)
{
	static const struct {
		const char *in, *out;
	} v[] = {
	    {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
	    {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}, {"\xfb\xff", "-_8"}};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		char out[32];
		size_t n = b64url_encode(v[i].in, strlen(v[i].in), out, sizeof out);
		CHECK(strcmp(out, v[i].out) == 0 && n == strlen(v[i].out), "b64url(%s) = %s",
		      v[i].in, out);
		CHECK(b64url_len(strlen(v[i].in)) == strlen(v[i].out), "b64url_len");
	}
	char small[4];
	CHECK(b64url_encode("foobar", 6, small, sizeof small) == 0 && small[0] == '\0',
	      "too small a buffer gives nothing");
}

static void test_thumbprints(void)
{
	/* RFC 7638 §3.1; members in another order, with extra whitespace. */
	const char *rsa =
	    "{ \"n\": "
	    "\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR"
	    "1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_"
	    "RN5w6Cf0h4QyQ5v-"
	    "65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyr"
	    "dkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKn"
	    "qDKgw\", \"e\": \"AQAB\", \"kty\": \"RSA\" }";
	char tp[48];
	CHECK(acme_jwk_thumbprint(rsa, tp) == 0 &&
	          strcmp(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs") == 0,
	      "RFC 7638 thumbprint: %s", tp);
	const char *ec = "{\"y\":\"nhI6iD5eFXgBTLt_1p3aip-5VbZeMhxeFSpjfEAf7Ww\",\"x\":"
	                 "\"jJ6Flys3zK9jUhnOHf6G49Dyp5hah6CNP84-gY-n9eo\",\"kty\":\"EC\",\"crv\":"
	                 "\"P-256\"}";
	CHECK(acme_jwk_thumbprint(ec, tp) == 0 &&
	          strcmp(tp, "w9eYdC6_s_tLQ8lH6PUpc0mddazaqtPgeC2IgWDiqY8") == 0,
	      "EC thumbprint: %s", tp);
	CHECK(acme_jwk_thumbprint("{not json", tp) == -1, "bad JSON refused");
}

static void test_der_to_raw(void)
{
	/* r with a leading zero (high bit set), s short. */
	unsigned char der[80] = {0x30, 0, 0x02, 33, 0x00};
	size_t n = 5;
	for (int i = 0; i < 32; i++)
		der[n++] = (unsigned char)(0x80 + i);
	der[n++] = 0x02;
	der[n++] = 2;
	der[n++] = 0x12;
	der[n++] = 0x34;
	der[1] = (unsigned char)(n - 2);
	unsigned char raw[64];
	CHECK(acme_ecdsa_der_to_raw(der, n, raw) == 0, "valid DER");
	CHECK(raw[0] == 0x80 && raw[31] == 0x80 + 31, "r right-aligned");
	bool zeros = true;
	for (int i = 32; i < 62; i++)
		zeros &= raw[i] == 0;
	CHECK(zeros && raw[62] == 0x12 && raw[63] == 0x34, "s padded");
	CHECK(acme_ecdsa_der_to_raw(der, n - 1, raw) == -1, "truncated");
	der[4] = 0x01; /* 33 bytes without a zero: too large */
	CHECK(acme_ecdsa_der_to_raw(der, n, raw) == -1, "r too large");
	CHECK(acme_ecdsa_der_to_raw((const unsigned char *)"", 0, raw) == -1, "empty");
}

static size_t b64url_decode(const char *in, unsigned char *out, size_t max)
{
	size_t n = 0, bits = 0;
	unsigned v = 0;
	for (; *in; in++) {
		const char *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
		const char *p = strchr(a, *in);
		if (!p)
			return 0;
		v = v << 6 | (unsigned)(p - a);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n < max)
				out[n++] = (unsigned char)(v >> bits);
		}
	}
	return n;
}

/* DER SEQUENCE { INTEGER r, INTEGER s } from r || s. */
static size_t raw_to_der(const unsigned char raw[64], unsigned char *der)
{
	size_t n = 2;
	for (int k = 0; k < 2; k++) {
		const unsigned char *v = raw + 32 * k;
		size_t len = 32;
		while (len > 1 && *v == 0) {
			v++;
			len--;
		}
		bool pad = *v & 0x80;
		der[n++] = 0x02;
		der[n++] = (unsigned char)(len + pad);
		if (pad)
			der[n++] = 0;
		memcpy(der + n, v, len);
		n += len;
	}
	der[0] = 0x30;
	der[1] = (unsigned char)(n - 2);
	return n;
}

static void test_jws(void)
{
	char err[200];
	CHECK(tls_rng_init(err, sizeof err) == 0, "rng");
	struct acme_key k;
	mbedtls_pk_init(&k.pk);
	CHECK(acme_key_generate(&k.pk) == 0 && acme_key_describe(&k) == 0, "key");
	CHECK(strncmp(k.jwk, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"", 31) == 0, "jwk %s",
	      k.jwk);
	CHECK(strlen(k.thumbprint) == 43, "thumbprint length");
	for (int withkid = 0; withkid < 2; withkid++) {
		char *s = acme_jws(&k, "https://ca.example/new-order", "nonce-1",
		                   withkid ? "https://ca.example/acct/1" : NULL,
		                   withkid ? "{\"a\":1}" : "");
		json_t *j = s ? json_loads(s, 0, NULL) : NULL;
		CHECK(j != NULL, "JWS is JSON");
		const char *prot = json_string_value(json_object_get(j, "protected"));
		const char *pay = json_string_value(json_object_get(j, "payload"));
		const char *sig = json_string_value(json_object_get(j, "signature"));
		CHECK(prot && pay && sig, "three members");
		if (!prot || !pay || !sig) {
			json_decref(j);
			free(s);
			continue;
		}
		unsigned char hdr[600];
		size_t hn = b64url_decode(prot, hdr, sizeof hdr - 1);
		hdr[hn] = '\0';
		json_t *h = json_loads((char *)hdr, 0, NULL);
		CHECK(h && strcmp(json_string_value(json_object_get(h, "alg")), "ES256") == 0 &&
		          strcmp(json_string_value(json_object_get(h, "nonce")), "nonce-1") == 0 &&
		          strcmp(json_string_value(json_object_get(h, "url")),
		                 "https://ca.example/new-order") == 0,
		      "protected header %s", hdr);
		CHECK(withkid ? json_object_get(h, "kid") && !json_object_get(h, "jwk")
		              : json_object_get(h, "jwk") && !json_object_get(h, "kid"),
		      "kid xor jwk");
		json_decref(h);
		CHECK(withkid ? strcmp(pay, "eyJhIjoxfQ") == 0 : strcmp(pay, "") == 0, "payload %s",
		      pay);
		unsigned char raw[80], der[80], hash[32];
		CHECK(b64url_decode(sig, raw, sizeof raw) == 64, "r||s is 64 bytes");
		char input[1200];
		snprintf(input, sizeof input, "%s.%s", prot, pay);
		tc_sha256((const unsigned char *)input, strlen(input), hash);
		size_t dn = raw_to_der(raw, der);
		CHECK(mbedtls_pk_verify(&k.pk, MBEDTLS_MD_SHA256, hash, 32, der, dn) == 0,
		      "signature verifies");
		raw[5] ^= 1;
		dn = raw_to_der(raw, der);
		CHECK(mbedtls_pk_verify(&k.pk, MBEDTLS_MD_SHA256, hash, 32, der, dn) != 0,
		      "a changed signature does not");
		json_decref(j);
		free(s);
	}

	/* A CSR for two names, signed by a fresh key. */
	mbedtls_pk_context ck;
	mbedtls_pk_init(&ck);
	CHECK(acme_key_generate(&ck) == 0, "cert key");
	char d1[] = "mail.example.org", d2[] = "imap.example.org";
	char *names[] = {d1, d2};
	unsigned char csr[4096];
	size_t len = 0;
	CHECK(acme_csr_make(&ck, names, 2, csr, sizeof csr, &len) == 0 && len > 100, "CSR made");
	mbedtls_x509_csr parsed;
	mbedtls_x509_csr_init(&parsed);
	CHECK(mbedtls_x509_csr_parse_der(&parsed, csr, len) == 0, "CSR parses");
	char subj[200];
	mbedtls_x509_dn_gets(subj, sizeof subj, &parsed.subject);
	CHECK(strcmp(subj, "CN=mail.example.org") == 0, "subject %s", subj);
	CHECK(memmem(csr, len, d2, strlen(d2)) != NULL, "second name in the SAN");
	mbedtls_x509_csr_free(&parsed);
	CHECK(acme_csr_make(&ck, names, 0, csr, sizeof csr, &len) == -1, "no names refused");
	mbedtls_pk_free(&ck);
	acme_key_free(&k);
}

static void test_url_and_domains(void)
{
	char host[64], path[64];
	int port;
	CHECK(http_url_split("https://ca.example/dir", host, sizeof host, &port, path, sizeof path,
	                     NULL) == 0 &&
	          strcmp(host, "ca.example") == 0 && port == 443 && strcmp(path, "/dir") == 0,
	      "plain URL");
	CHECK(http_url_split("https://localhost:14000", host, sizeof host, &port, path, sizeof path,
	                     NULL) == 0 &&
	          port == 14000 && strcmp(path, "/") == 0,
	      "port, no path");
	CHECK(http_url_split("https://[::1]:8443/a?b#c", host, sizeof host, &port, path,
	                     sizeof path, NULL) == 0 &&
	          strcmp(host, "::1") == 0 && port == 8443 && strcmp(path, "/a?b") == 0,
	      "IPv6 literal");
	const char *bad[] = {"ftp://ca.example/", "https://",         "https://:80/",
	                     "https://a:0/",      "https://a:99999/", "https://a:x/",
	                     "https://u@a/",      "https://a/b c",    "https://[::1/"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(http_url_split(bad[i], host, sizeof host, &port, path, sizeof path, NULL) ==
		          -1,
		      "refused: %s", bad[i]);

	char buf[256], *names[4];
	CHECK(acme_split_domains(" Mail.Example.org, imap.example.org ", buf, sizeof buf, names,
	                         4) == 2 &&
	          strcmp(names[0], "mail.example.org") == 0 &&
	          strcmp(names[1], "imap.example.org") == 0,
	      "list split and lower-cased");
	const char *bad_lists[] = {"",
	                           " , ",
	                           "localhost",
	                           "a..example",
	                           ".a.example",
	                           "a.example.",
	                           "bad name.example",
	                           "a_b.example",
	                           ("a.example,b.example,c.example,"
	                            "d.example,e.example")};
	for (size_t i = 0; i < sizeof bad_lists / sizeof bad_lists[0]; i++)
		CHECK(acme_split_domains(bad_lists[i], buf, sizeof buf, names, 4) == -1,
		      "refused list: %s", bad_lists[i]);
}

static void test_challenges(void)
{
	CHECK(acme_challenge_add("tok-EN_1", "tok-EN_1.thumb") == 0, "add");
	CHECK(acme_challenge_add("bad/token", "x") == -1, "a slash is not base64url");
	CHECK(acme_challenge_add("", "x") == -1, "empty token");
	const char *ka = acme_challenge_lookup("tok-EN_1", 8);
	CHECK(ka && strcmp(ka, "tok-EN_1.thumb") == 0, "lookup");
	CHECK(acme_challenge_lookup("tok-EN_", 7) == NULL, "prefix is not a match");
	CHECK(acme_challenge_lookup("../x", 4) == NULL, "junk");
	acme_challenge_remove("tok-EN_1");
	CHECK(acme_challenge_lookup("tok-EN_1", 8) == NULL && acme_challenge_count() == 0,
	      "removed");
	char t[16];
	int added = 0;
	for (int i = 0; i < ACME_MAX_CHALLENGES + 5; i++) {
		snprintf(t, sizeof t, "t%d", i);
		added += acme_challenge_add(t, "k") == 0;
	}
	CHECK(added == ACME_MAX_CHALLENGES, "the table is bounded");
	for (int i = 0; i < ACME_MAX_CHALLENGES + 5; i++) {
		snprintf(t, sizeof t, "t%d", i);
		acme_challenge_remove(t);
	}
	CHECK(acme_challenge_count() == 0, "emptied");
}

/* Feed whole, then split at every position: the same result. Returns the
 * final rc of the whole feed (with eof applied when eof is set). */
static int parse_all(const char *in, size_t len, bool head, bool eof, struct http_resp *out)
{
	int whole = 0;
	for (size_t split = 0; split <= len; split++) {
		struct http_resp r;
		http_resp_init(&r);
		r.head_request = head;
		int rc = http_resp_feed(&r, in, split);
		if (rc == 0 && split < len)
			rc = http_resp_feed(&r, in + split, len - split);
		if (rc == 0 && eof)
			rc = http_resp_eof(&r);
		if (split == 0) {
			whole = rc;
			*out = r;
			continue;
		}
		bool same = rc == whole && r.status == out->status && r.body_len == out->body_len &&
		            (r.body_len == 0 || memcmp(r.body, out->body, r.body_len) == 0);
		CHECK(same, "split at %zu differs (rc %d vs %d)", split, rc, whole);
		http_resp_free(&r);
		if (!same)
			break;
	}
	/* One byte at a time. */
	struct http_resp r;
	http_resp_init(&r);
	r.head_request = head;
	int rc = 0;
	for (size_t i = 0; i < len && rc == 0; i++)
		rc = http_resp_feed(&r, in + i, 1);
	if (rc == 0 && eof)
		rc = http_resp_eof(&r);
	CHECK(rc == whole && r.body_len == out->body_len, "bytewise differs");
	http_resp_free(&r);
	return whole;
}

#define S(x) x, sizeof x - 1

static void test_resp(void)
{
	struct http_resp r;
	int rc = parse_all(S("HTTP/1.1 201 Created\r\nReplay-Nonce: abc\r\nLocation: "
	                     "https://ca/acct/1\r\ncontent-type: application/json\r\n"
	                     "Content-Length: 7\r\nRetry-After: 3\r\nLink: "
	                     "<https://ca/dir>;rel=\"index\", <https://ca/up>;rel=\"up\"\r\n\r\n"
	                     "{\"a\":1}trailing junk"),
	                   false, false, &r);
	CHECK(rc == 1 && r.status == 201 && strcmp(r.nonce, "abc") == 0 &&
	          strcmp(r.location, "https://ca/acct/1") == 0 && r.retry_after == 3 &&
	          strcmp(r.link_up, "https://ca/up") == 0 &&
	          strcmp(r.content_type, "application/json") == 0 && r.body_len == 7 &&
	          strcmp(r.body, "{\"a\":1}") == 0,
	      "Content-Length response");
	http_resp_free(&r);

	rc = parse_all(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nWiki"
	                 "\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-T: 1\r\n\r\n"),
	               false, false, &r);
	CHECK(rc == 1 && r.body_len == 23 && strcmp(r.body, "Wikipedia in\r\n\r\nchunks.") == 0,
	      "chunked: %s", r.body ? r.body : "(null)");
	http_resp_free(&r);

	rc = parse_all(S("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\nuntil close"), false,
	               true, &r);
	CHECK(rc == 1 && r.status == 200 && strcmp(r.body, "until close") == 0,
	      "1xx skipped, body until EOF");
	http_resp_free(&r);

	rc = parse_all(S("HTTP/1.1 200 OK\nReplay-Nonce: n2\nContent-Length: 10\n\n"), true, false,
	               &r);
	CHECK(rc == 1 && strcmp(r.nonce, "n2") == 0 && r.body_len == 0, "HEAD with bare LF");
	http_resp_free(&r);

	rc = parse_all(S("HTTP/1.1 204 No Content\r\n\r\n"), false, false, &r);
	CHECK(rc == 1 && r.body_len == 0, "204");
	http_resp_free(&r);

	rc = parse_all(
	    S("HTTP/1.1 503 Busy\r\nRetry-After: 99999999999\r\nContent-Length: 0\r\n\r\n"), false,
	    false, &r);
	CHECK(rc == 1 && r.retry_after == 86400, "Retry-After capped: %ld", r.retry_after);
	http_resp_free(&r);

	rc = parse_all(S("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"), false, true, &r);
	CHECK(rc == -1, "truncated body at EOF");
	http_resp_free(&r);

	static const char *bad[] = {
	    "HTTP/2 200 OK\r\n\r\n",
	    "HTTP/1.1 20 OK\r\n\r\n",
	    "HTTP/1.1 200OK\r\n\r\n",
	    "garbage\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFF\r\n",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n",
	    "HTTP/1.1 200 OK\r\n folded: x\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nNo Colon\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		rc = parse_all(bad[i], strlen(bad[i]), false, false, &r);
		CHECK(rc == -1 && r.state == HTTP_RESP_ERROR && r.error, "refused: %s", bad[i]);
		CHECK(http_resp_feed(&r, "x", 1) == -1, "the error sticks");
		http_resp_free(&r);
	}

	/* Limits: a head that never ends; a body over the bound. */
	char *big = malloc(HTTP_RESP_MAX_HEAD + 100);
	memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
	memset(big + 20, 'a', HTTP_RESP_MAX_HEAD + 80);
	http_resp_init(&r);
	CHECK(http_resp_feed(&r, big, HTTP_RESP_MAX_HEAD + 100) == -1, "head bounded");
	http_resp_free(&r);
	free(big);
	char hdr[100];
	snprintf(hdr, sizeof hdr, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n",
	         HTTP_RESP_MAX_BODY + 1);
	http_resp_init(&r);
	CHECK(http_resp_feed(&r, hdr, strlen(hdr)) == -1, "declared body bounded");
	http_resp_free(&r);
	http_resp_init(&r);
	http_resp_feed(&r, S("HTTP/1.1 200 OK\r\n\r\n"));
	char chunk[65536];
	memset(chunk, 'b', sizeof chunk);
	rc = 0;
	for (int i = 0; i < 20 && rc == 0; i++)
		rc = http_resp_feed(&r, chunk, sizeof chunk);
	CHECK(rc == -1 && r.body_len <= HTTP_RESP_MAX_BODY, "body until close bounded");
	http_resp_free(&r);
}

/* What the parser saw of acmeIdentifier (accepted by this callback). */
static struct {
	int seen, critical;
	unsigned char value[64];
	size_t len;
} ext;

static int ext_cb(void *ctx, mbedtls_x509_crt const *crt, mbedtls_x509_buf const *oid, int critical,
                  const unsigned char *p, const unsigned char *end)
{
	(void)ctx, (void)crt;
	static const unsigned char want[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x1f};
	if (oid->len != sizeof want || memcmp(oid->p, want, sizeof want) != 0 ||
	    (size_t)(end - p) > sizeof ext.value)
		return -1;
	ext.seen++;
	ext.critical = critical;
	ext.len = (size_t)(end - p);
	memcpy(ext.value, p, ext.len);
	return 0;
}

static void test_alpn_cert(void)
{
	char err[200];
	CHECK(tls_rng_init(err, sizeof err) == 0, "rng");
	mbedtls_pk_context k;
	mbedtls_pk_init(&k);
	CHECK(acme_key_generate(&k) == 0, "key");
	const char *keyauth = "tok.thumb";
	unsigned char der[2048], h[32];
	size_t len = 0;
	CHECK(acme_alpn_make_cert("mail.example.org", keyauth, &k, der, sizeof der, &len) == 0,
	      "made");
	mbedtls_x509_crt c;
	mbedtls_x509_crt_init(&c);
	CHECK(mbedtls_x509_crt_parse_der_with_ext_cb(&c, der, len, 1, ext_cb, NULL) == 0, "parses");
	tc_sha256((const unsigned char *)keyauth, strlen(keyauth), h);
	CHECK(ext.seen == 1 && ext.critical && ext.len == 34 && ext.value[0] == 0x04 &&
	          ext.value[1] == 0x20 && memcmp(ext.value + 2, h, 32) == 0,
	      "acmeIdentifier: critical OCTET STRING of SHA-256(key authorization)");
	const mbedtls_x509_sequence *san = &c.subject_alt_names;
	CHECK(san->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2) && san->buf.len == 16 &&
	          memcmp(san->buf.p, "mail.example.org", 16) == 0 && san->next == NULL,
	      "one dNSName, the domain");
	CHECK(mbedtls_pk_get_type(&c.pk) == MBEDTLS_PK_ECKEY, "EC key");
	mbedtls_x509_crt_free(&c);
	mbedtls_pk_free(&k);

	/* The table behind the TLS hook. */
	struct mbedtls_x509_crt *crt = NULL;
	struct mbedtls_pk_context *key = NULL;
	CHECK(acme_alpn_add("a.example", keyauth) == 0 && acme_alpn_add("b.example", keyauth) == 0,
	      "added");
	CHECK(acme_alpn_lookup(NULL, "b.example", &crt, &key) == 0 && crt && key, "found");
	CHECK(acme_alpn_lookup(NULL, "c.example", &crt, &key) == -1, "unknown name");
	acme_alpn_remove("a.example");
	CHECK(acme_alpn_count() == 1 && acme_alpn_lookup(NULL, "a.example", &crt, &key) == -1,
	      "removed");
	acme_alpn_clear();
	CHECK(acme_alpn_count() == 0, "cleared");
}

int main(void)
{
	test_b64url();
	test_thumbprints();
	test_der_to_raw();
	test_jws();
	test_url_and_domains();
	test_challenges();
	test_alpn_cert();
	test_resp();
	return check_report("test_acme");
}
