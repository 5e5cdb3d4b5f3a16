/* Unit tests for proto/sasl: base64, PLAIN, LOGIN, cancel, limits. */
#include "proto/sasl/sasl.h"

#include <stdio.h>
#include <string.h>

static int failures, checks;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		checks++;                                                                          \
		if (!(cond)) {                                                                     \
			failures++;                                                                \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
		}                                                                                  \
	} while (0)

static enum sasl_status start(struct sasl *s, enum sasl_mech m, const char *ir)
{
	return sasl_start(s, m, ir, ir ? strlen(ir) : 0);
}

static enum sasl_status step(struct sasl *s, const char *r)
{
	return sasl_step(s, r, strlen(r));
}

static void b64(const char *plain, size_t n, char *out)
{
	sasl_base64_encode((const unsigned char *)plain, n, out, 2048);
}

static void test_base64(void)
{
	unsigned char out[64];
	char enc[64];
	CHECK(sasl_base64_decode("", 0, out, sizeof out) == 0);
	CHECK(sasl_base64_decode("Zm9v", 4, out, sizeof out) == 3 && !memcmp(out, "foo", 3));
	CHECK(sasl_base64_decode("Zm8=", 4, out, sizeof out) == 2 && !memcmp(out, "fo", 2));
	CHECK(sasl_base64_decode("Zg==", 4, out, sizeof out) == 1 && out[0] == 'f');
	CHECK(sasl_base64_decode("Zg=", 3, out, sizeof out) == -1);
	CHECK(sasl_base64_decode("Z===", 4, out, sizeof out) == -1);
	CHECK(sasl_base64_decode("Zg==Zg==", 8, out, sizeof out) == -1);
	CHECK(sasl_base64_decode("Zm 9", 4, out, sizeof out) == -1);
	CHECK(sasl_base64_decode("Zh==", 4, out, sizeof out) == -1); /* non-canonical */
	CHECK(sasl_base64_decode("Zm9v", 4, out, 2) == -1);
	CHECK(sasl_base64_encode((const unsigned char *)"foob", 4, enc, sizeof enc) == 8 &&
	      !strcmp(enc, "Zm9vYg=="));
	CHECK(sasl_base64_encode((const unsigned char *)"foob", 4, enc, 8) == -1);
	/* round trip over all byte values */
	unsigned char all[256], back[256];
	char big[400];
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	long n = sasl_base64_encode(all, 256, big, sizeof big);
	CHECK(n > 0 && sasl_base64_decode(big, (size_t)n, back, sizeof back) == 256 &&
	      !memcmp(all, back, 256));
}

static void test_plain(void)
{
	struct sasl s;
	char enc[2048];

	CHECK(sasl_mech_parse("plain", 5) == SASL_MECH_PLAIN);
	CHECK(sasl_mech_parse("LOGIN", 5) == SASL_MECH_LOGIN);
	CHECK(sasl_mech_parse("CRAM-MD5", 8) == SASL_MECH_NONE);

	b64("\0alice@example.test\0secret", 26, enc);
	CHECK(start(&s, SASL_MECH_PLAIN, enc) == SASL_DONE);
	CHECK(!strcmp(s.user, "alice@example.test") && !strcmp(s.pass, "secret"));
	sasl_clear(&s);
	CHECK(s.user[0] == 0 && s.pass[0] == 0);

	/* authzid equal to authcid is fine, another identity is not */
	b64("bob\0bob\0pw", 10, enc);
	CHECK(start(&s, SASL_MECH_PLAIN, enc) == SASL_DONE && !strcmp(s.user, "bob"));
	b64("root\0bob\0pw", 11, enc);
	CHECK(start(&s, SASL_MECH_PLAIN, enc) == SASL_EAUTHZID);

	/* no initial response: empty challenge, then the message */
	CHECK(start(&s, SASL_MECH_PLAIN, NULL) == SASL_CHALLENGE && s.challenge[0] == '\0');
	b64("\0u\0p", 4, enc);
	CHECK(step(&s, enc) == SASL_DONE && !strcmp(s.user, "u") && !strcmp(s.pass, "p"));

	/* empty password is syntactically fine (the check will fail it) */
	b64("\0u\0", 3, enc);
	CHECK(start(&s, SASL_MECH_PLAIN, enc) == SASL_DONE && s.pass[0] == 0);

	CHECK(start(&s, SASL_MECH_PLAIN, NULL) == SASL_CHALLENGE);
	CHECK(step(&s, "*") == SASL_CANCELLED);
	CHECK(start(&s, SASL_MECH_PLAIN, "=") == SASL_EPROTO); /* empty message */
	CHECK(start(&s, SASL_MECH_PLAIN, "not base64!") == SASL_EBASE64);
	/* chasquid's vector: valid base64 of a message without the second NUL */
	CHECK(start(&s, SASL_MECH_PLAIN, "dXNlckB0ZXN0c2VydmVyAHlalala==") == SASL_EBASE64);
	b64("user\0only", 9, enc);
	CHECK(start(&s, SASL_MECH_PLAIN, enc) == SASL_EPROTO);
	b64("\0\0pw", 4, enc);
	CHECK(start(&s, SASL_MECH_PLAIN, enc) == SASL_EPROTO); /* empty user */
	b64("\0u\0p\0w", 6, enc);
	CHECK(start(&s, SASL_MECH_PLAIN, enc) == SASL_EPROTO); /* NUL in password */

	/* over-long user */
	char msg[1200];
	memset(msg, 0, sizeof msg);
	memset(msg + 1, 'u', SASL_USER_MAX + 1);
	b64(msg, SASL_USER_MAX + 5, enc);
	CHECK(start(&s, SASL_MECH_PLAIN, enc) == SASL_EPROTO);
	/* a huge response never overflows */
	static char huge[20000];
	memset(huge, 'A', sizeof huge - 1);
	CHECK(start(&s, SASL_MECH_PLAIN, huge) < 0);
}

static void test_login(void)
{
	struct sasl s;
	char enc[256];

	CHECK(start(&s, SASL_MECH_LOGIN, NULL) == SASL_CHALLENGE &&
	      !strcmp(s.challenge, "VXNlcm5hbWU6"));
	b64("alice", 5, enc);
	CHECK(step(&s, enc) == SASL_CHALLENGE && !strcmp(s.challenge, "UGFzc3dvcmQ6"));
	b64("pw", 2, enc);
	CHECK(step(&s, enc) == SASL_DONE && !strcmp(s.user, "alice") && !strcmp(s.pass, "pw"));

	/* user name as the initial response */
	b64("bob", 3, enc);
	CHECK(start(&s, SASL_MECH_LOGIN, enc) == SASL_CHALLENGE &&
	      !strcmp(s.challenge, "UGFzc3dvcmQ6"));
	CHECK(step(&s, "=") == SASL_DONE && !strcmp(s.user, "bob") && s.pass[0] == 0);

	CHECK(start(&s, SASL_MECH_LOGIN, NULL) == SASL_CHALLENGE);
	CHECK(step(&s, "*") == SASL_CANCELLED);
	CHECK(start(&s, SASL_MECH_LOGIN, NULL) == SASL_CHALLENGE);
	CHECK(step(&s, "=") == SASL_EPROTO); /* empty user */
	CHECK(start(&s, SASL_MECH_LOGIN, NULL) == SASL_CHALLENGE);
	b64("a\0b", 3, enc);
	CHECK(step(&s, enc) == SASL_EPROTO);
	CHECK(start(&s, SASL_MECH_LOGIN, NULL) == SASL_CHALLENGE);
	b64("alice", 5, enc);
	CHECK(step(&s, enc) == SASL_CHALLENGE);
	CHECK(step(&s, "%%%%") == SASL_EBASE64);
	CHECK(sasl_start(&s, SASL_MECH_NONE, NULL, 0) == SASL_EPROTO);
	CHECK(!strcmp(sasl_mech_list(), "PLAIN LOGIN"));
}

int main(void)
{
	test_base64();
	test_plain();
	test_login();
	printf("%d checks, %d failures\n", checks, failures);
	return failures ? 1 : 0;
}
