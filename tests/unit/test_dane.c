/* test_dane: TLSA parsing and chain matching (tls/dane.c) against
 * certificates openssl makes at test time: a self-signed leaf for DANE-EE,
 * a CA and a leaf it signed (name mx.example) for DANE-TA. The expected
 * digests come from openssl too (x509 -outform DER, pkey -pubout), so the
 * test does not check the code against itself. */
#include "tls/dane.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

static char dir[] = "/tmp/test_dane.XXXXXX";

/* Run script in the test's directory. */
static int sh(const char *script)
{
	char cmd[2048];
	snprintf(cmd, sizeof cmd, "cd '%s' && exec >/dev/null 2>&1 && %s", dir, script);
	return system(cmd);
}

/* Read a small binary file made by openssl. */
static size_t slurp(const char *name, uint8_t *buf, size_t cap)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

/* A TLSA record usage/selector/mtype with data from a file. */
static struct dane_tlsa rec(int usage, int sel, int mt, const char *file)
{
	uint8_t rd[3 + DANE_TLSA_DATA_MAX];
	rd[0] = (uint8_t)usage;
	rd[1] = (uint8_t)sel;
	rd[2] = (uint8_t)mt;
	size_t n = slurp(file, rd + 3, DANE_TLSA_DATA_MAX);
	struct dane_tlsa t;
	const char *why = NULL;
	int rc = dane_tlsa_parse(rd, 3 + n, &t, &why);
	CHECK(rc == 0 && n > 0, "record %d %d %d %s parses (%s)", usage, sel, mt, file,
	      why ? why : "");
	return t;
}

static void load(mbedtls_x509_crt *c, const char *name)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	mbedtls_x509_crt_init(c);
	CHECK(mbedtls_x509_crt_parse_file(c, path) == 0, "load %s", name);
}

static void test_parse(void)
{
	struct dane_tlsa t;
	const char *why = NULL;
	uint8_t short_rd[3] = {3, 1, 1};
	CHECK(dane_tlsa_parse(short_rd, 3, &t, &why) == -1 && why, "3 bytes: malformed");
	uint8_t rd[3 + 64] = {3, 1, 1};
	CHECK(dane_tlsa_parse(rd, 3 + 31, &t, &why) == -1, "SHA-256 of 31 bytes: malformed");
	CHECK(dane_tlsa_parse(rd, 3 + 32, &t, &why) == 0 && dane_tlsa_usable(&t) && t.len == 32,
	      "3 1 1 with 32 bytes");
	rd[2] = 2;
	CHECK(dane_tlsa_parse(rd, 3 + 32, &t, &why) == -1, "SHA-512 of 32 bytes: malformed");
	CHECK(dane_tlsa_parse(rd, 3 + 64, &t, &why) == 0 && dane_tlsa_usable(&t), "3 1 2");
	rd[2] = 9;
	CHECK(dane_tlsa_parse(rd, 3 + 5, &t, &why) == 0 && !dane_tlsa_usable(&t),
	      "matching 9: parsed, unusable");
	rd[0] = 1, rd[2] = 1;
	CHECK(dane_tlsa_parse(rd, 3 + 32, &t, &why) == 0 && !dane_tlsa_usable(&t),
	      "usage 1 (PKIX-EE): unusable for SMTP");
	rd[0] = 3, rd[1] = 2;
	CHECK(dane_tlsa_parse(rd, 3 + 32, &t, &why) == 0 && !dane_tlsa_usable(&t),
	      "selector 2: unusable");
	static uint8_t big[3 + DANE_TLSA_DATA_MAX + 1] = {3, 0, 0};
	CHECK(dane_tlsa_parse(big, sizeof big, &t, &why) == -1, "full data too long: malformed");
	CHECK(dane_tlsa_parse(big, sizeof big - 1, &t, &why) == 0, "full data at the bound");
}

static void test_ee(void)
{
	mbedtls_x509_crt self;
	load(&self, "self.pem");
	const char *why = NULL;
	struct dane_tlsa r[4];
	r[0] = rec(3, 1, 1, "self.spki.sha256");
	CHECK(dane_match_chain(r, 1, &self, "anything", &why) == DANE_MATCH, "3 1 1 matches");
	r[0] = rec(3, 0, 1, "self.der.sha256");
	CHECK(dane_match_chain(r, 1, &self, NULL, &why) == DANE_MATCH, "3 0 1 matches");
	r[0] = rec(3, 1, 2, "self.spki.sha512");
	CHECK(dane_match_chain(r, 1, &self, NULL, &why) == DANE_MATCH, "3 1 2 matches");
	r[0] = rec(3, 0, 0, "self.der");
	CHECK(dane_match_chain(r, 1, &self, NULL, &why) == DANE_MATCH, "3 0 0 matches");
	r[0] = rec(3, 1, 0, "self.spki");
	CHECK(dane_match_chain(r, 1, &self, NULL, &why) == DANE_MATCH, "3 1 0 matches");
	/* The wrong hash, then the wrong one beside a right one. */
	r[0] = rec(3, 1, 1, "self.spki.sha256");
	r[0].data[0] ^= 1;
	CHECK(dane_match_chain(r, 1, &self, NULL, &why) == DANE_NO_MATCH && why,
	      "wrong hash: no match");
	r[1] = rec(3, 0, 1, "self.der.sha256");
	CHECK(dane_match_chain(r, 2, &self, NULL, &why) == DANE_MATCH, "one of two matches");
	/* A right digest under a PKIX usage is not used. */
	r[0] = rec(1, 1, 1, "self.spki.sha256");
	CHECK(dane_match_chain(r, 1, &self, NULL, &why) == DANE_NO_USABLE,
	      "usage 1 alone: no DANE");
	/* DANE-TA on a self-signed leaf: the leaf is not a TA above itself. */
	r[0] = rec(2, 1, 1, "self.spki.sha256");
	CHECK(dane_match_chain(r, 1, &self, "localhost", &why) == DANE_NO_MATCH,
	      "2 1 1 on the leaf alone: no match");
	CHECK(dane_match_chain(r, 1, NULL, "localhost", &why) == DANE_NO_CERT, "no certificate");
	mbedtls_x509_crt_free(&self);
}

static void test_ta(void)
{
	mbedtls_x509_crt chain;
	load(&chain, "chain.pem"); /* leaf, then CA */
	const char *why = NULL;
	struct dane_tlsa r[2];
	r[0] = rec(2, 0, 1, "ca.der.sha256");
	CHECK(dane_match_chain(r, 1, &chain, "mx.example", &why) == DANE_MATCH, "2 0 1 on the CA");
	r[0] = rec(2, 1, 2, "ca.spki.sha512");
	CHECK(dane_match_chain(r, 1, &chain, "mx.example", &why) == DANE_MATCH, "2 1 2 on the CA");
	CHECK(dane_match_chain(r, 1, &chain, "other.example", &why) == DANE_NO_MATCH,
	      "DANE-TA checks the name: %s", why);
	r[0] = rec(3, 0, 1, "ca.der.sha256");
	CHECK(dane_match_chain(r, 1, &chain, "mx.example", &why) == DANE_NO_MATCH,
	      "DANE-EE on the CA's data: no match");
	r[0] = rec(3, 1, 1, "leaf.spki.sha256");
	CHECK(dane_match_chain(r, 1, &chain, "other.example", &why) == DANE_MATCH,
	      "DANE-EE on the leaf: no name check");
	/* A CA that did not sign the leaf: the leaf does not chain to it. */
	mbedtls_x509_crt bad;
	load(&bad, "badchain.pem"); /* leaf, then an unrelated CA */
	r[0] = rec(2, 0, 1, "other.der.sha256");
	CHECK(dane_match_chain(r, 1, &bad, "mx.example", &why) == DANE_NO_MATCH,
	      "TA that is not the leaf's issuer: no match");
	mbedtls_x509_crt_free(&bad);
	mbedtls_x509_crt_free(&chain);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		printf("mkdtemp failed\n");
		return 1;
	}
	const char *mk =
	    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout self.key "
	    "-out self.pem -days 30 -subj /CN=localhost && "
	    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key "
	    "-out ca.pem -days 30 -subj /CN=Test-CA -addext basicConstraints=critical,CA:TRUE && "
	    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "
	    "other.key "
	    "-out other.pem -days 30 -subj /CN=Other-CA -addext basicConstraints=critical,CA:TRUE "
	    "&& "
	    "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key "
	    "-out leaf.csr -subj /CN=mx.example && "
	    "printf 'subjectAltName=DNS:mx.example\\n' > ext && "
	    "openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 "
	    "-extfile ext -out leaf.pem && "
	    "cat leaf.pem ca.pem > chain.pem && cat leaf.pem other.pem > badchain.pem && "
	    "for c in self ca other leaf; do "
	    "openssl x509 -in $c.pem -outform DER -out $c.der && "
	    "openssl x509 -in $c.pem -noout -pubkey | openssl pkey -pubin -outform DER -out "
	    "$c.spki && "
	    "for f in der spki; do openssl dgst -sha256 -binary -out $c.$f.sha256 $c.$f && "
	    "openssl dgst -sha512 -binary -out $c.$f.sha512 $c.$f; done; done";
	if (sh(mk) != 0) {
		printf("SKIPPED: test_dane: openssl could not make the test certificates\n");
		check_remove_dir(dir);
		return 0;
	}
	test_parse();
	test_ee();
	test_ta();
	check_remove_dir(dir);
	return check_report("test_dane");
}
