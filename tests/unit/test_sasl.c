/* Unit tests for proto/sasl: base64, PLAIN, LOGIN, SCRAM (the exchanges of
 * RFC 5802 §5 and RFC 7677 §3, and their error paths), cancel, limits. */
#include "proto/sasl/sasl.h"
#include "auth/scram_keys.h"
#include "proto/sasl/scram.h"

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
	CHECK(!strcmp(sasl_mech_list(), "SCRAM-SHA-256 SCRAM-SHA-1 PLAIN LOGIN"));
	char list[200];
	CHECK(!strcmp(sasl_mech_list_sep(true, " AUTH=", list, sizeof list),
	              "SCRAM-SHA-256-PLUS AUTH=SCRAM-SHA-256 AUTH=SCRAM-SHA-1-PLUS "
	              "AUTH=SCRAM-SHA-1 AUTH=PLAIN AUTH=LOGIN"));
	CHECK(sasl_mech_parse("scram-sha-256-plus", 18) == SASL_MECH_SCRAM_SHA256_PLUS);
	CHECK(sasl_mech_parse("SCRAM-SHA-1", 11) == SASL_MECH_SCRAM_SHA1);
	CHECK(sasl_mech_parse("SCRAM-SHA-512", 13) == SASL_MECH_NONE);
}

/* ---- SCRAM ---- */

/* The RFC examples' user: "user", password "pencil", with their salts. */
static const char *rfc_salt1 = "QSXCR+Q6sek8bf92";
static const char *rfc_salt256 = "W22ZaJ0SNY7soEsUEjb6gQ==";
static int keys_disabled;

static int rfc_keys(const char *user, enum hmac_hash h, struct scram_keys *out)
{
	unsigned char salt[32];
	const char *b = h == HMAC_SHA1 ? rfc_salt1 : rfc_salt256;
	long n = sasl_base64_decode(b, strlen(b), salt, sizeof salt);
	if (keys_disabled || strcmp(user, "user") != 0 || n < 0)
		return -1;
	return scram_keys_derive(h, "pencil", salt, (size_t)n, 4096, out);
}

static const char *unb64(const char *in, char *out)
{
	long n = sasl_base64_decode(in, strlen(in), (unsigned char *)out, 2000);
	out[n < 0 ? 0 : n] = '\0';
	return out;
}

static enum sasl_status step_plain(struct sasl *s, const char *msg)
{
	char enc[2048];
	b64(msg, strlen(msg), enc);
	return step(s, enc);
}

static void test_scram_rfc(void)
{
	struct sasl s;
	char enc[2048], dec[2048];

	sasl_scram_test_keys = rfc_keys;
	/* RFC 5802 §5, without an initial response */
	sasl_scram_test_nonce = "3rfcNHYJY1ZVvWVs7j";
	CHECK(start(&s, SASL_MECH_SCRAM_SHA1, NULL) == SASL_CHALLENGE && !strcmp(s.challenge, ""));
	CHECK(step_plain(&s, "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL") == SASL_CHALLENGE);
	CHECK(!strcmp(unb64(s.challenge, dec), "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
	                                       "s=QSXCR+Q6sek8bf92,i=4096"));
	CHECK(!strcmp(s.user, "user"));
	CHECK(step_plain(&s, "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
	                     "p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=") == SASL_CHALLENGE);
	CHECK(!strcmp(unb64(s.challenge, dec), "v=rmF9pqV8S7suAoZWja4dJRkFsKQ="));
	CHECK(step(&s, "") == SASL_DONE);
	CHECK(step(&s, "") == SASL_EPROTO); /* nothing after the end */
	sasl_clear(&s);

	/* RFC 7677 §3, with the client-first as the initial response */
	sasl_scram_test_nonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
	b64("n,,n=user,r=rOprNGfwEbeRWgbNEkqO", 32, enc);
	CHECK(start(&s, SASL_MECH_SCRAM_SHA256, enc) == SASL_CHALLENGE);
	CHECK(!strcmp(unb64(s.challenge, dec),
	              "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
	              "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"));
	CHECK(step_plain(&s, "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
	                     "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=") == SASL_CHALLENGE);
	CHECK(!strcmp(unb64(s.challenge, dec), "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="));
	CHECK(step(&s, "=") == SASL_DONE);
	sasl_clear(&s);

	/* the stored form of the keys round-trips */
	struct scram_keys k, back;
	char text[SCRAM_KEYS_TEXT_MAX];
	CHECK(rfc_keys("user", HMAC_SHA256, &k) == 0 && scram_keys_format(&k, text) == 0);
	CHECK(scram_keys_parse(HMAC_SHA256, text, &back) == 0 && !memcmp(&k, &back, sizeof k));
	CHECK(scram_keys_parse(HMAC_SHA1, text, &back) < 0); /* key lengths differ */
	CHECK(scram_keys_parse(HMAC_SHA256, "", &back) < 0);
	CHECK(scram_keys_parse(HMAC_SHA256, "0,QSXCR+Q6sek8bf92,x,y", &back) < 0);
	char sha1[SCRAM_KEYS_TEXT_MAX], sha256[SCRAM_KEYS_TEXT_MAX];
	CHECK(scram_keys_make("pencil", sha1, sha256) == 0);
	CHECK(scram_keys_parse(HMAC_SHA1, sha1, &back) == 0 && back.iterations == 4096);
	CHECK(scram_keys_parse(HMAC_SHA256, sha256, &back) == 0 && back.salt_len == 16);
	/* a fake salt is stable per user, and differs between users */
	struct scram_keys f1, f2, f3;
	scram_keys_fake(HMAC_SHA256, "nobody@example.com", &f1);
	scram_keys_fake(HMAC_SHA256, "nobody@example.com", &f2);
	scram_keys_fake(HMAC_SHA256, "other@example.com", &f3);
	CHECK(!memcmp(f1.salt, f2.salt, 16) && memcmp(f1.salt, f3.salt, 16) != 0);
	CHECK(f1.iterations == 4096);

	/* the keys are those of SASLprep(password) (RFC 5802 §2.2) */
	struct scram_keys again;
	CHECK(scram_keys_make("pa\xC2\xADss\xE2\x85\xA8w\xC3\xB6rd", sha1, sha256) == 0);
	CHECK(scram_keys_parse(HMAC_SHA256, sha256, &back) == 0);
	CHECK(scram_keys_derive(HMAC_SHA256, "passIXw\xC3\xB6rd", back.salt, back.salt_len,
	                        back.iterations, &again) == 0 &&
	      !memcmp(back.stored_key, again.stored_key, sizeof again.stored_key) &&
	      !memcmp(back.server_key, again.server_key, sizeof again.server_key));
	CHECK(scram_keys_make("cafe\xCC\x81", sha1, sha256) == 0); /* NFD */
	CHECK(scram_keys_parse(HMAC_SHA1, sha1, &back) == 0);
	CHECK(scram_keys_derive(HMAC_SHA1, "caf\xC3\xA9", back.salt, back.salt_len, back.iterations,
	                        &again) == 0 &&
	      !memcmp(back.stored_key, again.stored_key, sizeof again.stored_key));
	/* a password SASLprep refuses gets no keys, and that is no error */
	CHECK(scram_keys_make("tab\there", sha1, sha256) == 0 && !sha1[0] && !sha256[0]);
	CHECK(scram_keys_make("\xC2\xAD", sha1, sha256) == 0 && !sha1[0] && !sha256[0]);
	CHECK(scram_keys_make("a\xC8\xA1", sha1, sha256) == 0 && !sha1[0]); /* unassigned */
}

/* Start a SHA-1 exchange with the RFC nonces; returns the status of
 * feeding client-first. */
static enum sasl_status first(struct sasl *s, enum sasl_mech m, const struct sasl_peer *peer,
                              const char *msg)
{
	sasl_scram_test_nonce = "3rfcNHYJY1ZVvWVs7j";
	CHECK(sasl_start_peer(s, m, NULL, 0, peer) == SASL_CHALLENGE);
	return step_plain(s, msg);
}

#define FINAL1 "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="

static void test_scram_errors(void)
{
	struct sasl s;
	char dec[2048];
	const char *ok1 = "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL";

	sasl_scram_test_keys = rfc_keys;
	/* gs2 header */
	CHECK(first(&s, SASL_MECH_SCRAM_SHA1, NULL, "x,,n=user,r=abc") == SASL_EPROTO);
	sasl_clear(&s);
	CHECK(first(&s, SASL_MECH_SCRAM_SHA1, NULL, "n,n=user,r=abc") == SASL_EPROTO);
	sasl_clear(&s);
	CHECK(first(&s, SASL_MECH_SCRAM_SHA1, NULL, "n,,m=ext,n=user,r=abc") == SASL_EPROTO);
	sasl_clear(&s);
	CHECK(first(&s, SASL_MECH_SCRAM_SHA1, NULL, "n,,n=user") == SASL_EPROTO);
	sasl_clear(&s);
	CHECK(first(&s, SASL_MECH_SCRAM_SHA1, NULL, "n,,n=us=er,r=abc") == SASL_EPROTO);
	sasl_clear(&s);
	CHECK(first(&s, SASL_MECH_SCRAM_SHA1, NULL, "n,,n=,r=abc") == SASL_EPROTO);
	sasl_clear(&s);
	/* authzid: the user itself is fine, anyone else is refused */
	CHECK(first(&s, SASL_MECH_SCRAM_SHA1, NULL, "n,a=user,n=user,r=fyko+d2lbbFgONRv9qkxdawL") ==
	      SASL_CHALLENGE);
	sasl_clear(&s);
	CHECK(first(&s, SASL_MECH_SCRAM_SHA1, NULL, "n,a=admin,n=user,r=abc") == SASL_EAUTHZID);
	sasl_clear(&s);
	/* escaped names */
	CHECK(first(&s, SASL_MECH_SCRAM_SHA1, NULL, "n,,n=a=2Cb=3Dc,r=abc") == SASL_CHALLENGE &&
	      !strcmp(s.user, "a,b=c"));
	sasl_clear(&s);
	/* SASLprep'd names (RFC 5802 §5.1), as queries */
	CHECK(first(&s, SASL_MECH_SCRAM_SHA1, NULL, "n,,n=I\xC2\xADX,r=abc") == SASL_CHALLENGE &&
	      !strcmp(s.user, "IX"));
	sasl_clear(&s);
	CHECK(first(&s, SASL_MECH_SCRAM_SHA1, NULL, "n,,n=\xE2\x85\xA8\xC2\xA0x,r=abc") ==
	          SASL_CHALLENGE &&
	      !strcmp(s.user, "IX x"));
	sasl_clear(&s);
	CHECK(first(&s, SASL_MECH_SCRAM_SHA1, NULL, "n,a=I\xC2\xADX,n=IX,r=abc") == SASL_CHALLENGE);
	sasl_clear(&s);
	CHECK(first(&s, SASL_MECH_SCRAM_SHA1, NULL, "n,,n=a\x07,r=abc") == SASL_EPROTO);
	sasl_clear(&s);
	CHECK(first(&s, SASL_MECH_SCRAM_SHA1, NULL, "n,,n=\xC2\xAD,r=abc") == SASL_EPROTO);
	sasl_clear(&s);
	CHECK(first(&s, SASL_MECH_SCRAM_SHA1, NULL,
	            "n,,n=\xD8\xA7"
	            "1,r=abc") == SASL_EPROTO);
	sasl_clear(&s);
	CHECK(first(&s, SASL_MECH_SCRAM_SHA1, NULL, "n,,n=a\xC3,r=abc") == SASL_EPROTO);
	sasl_clear(&s);
	/* channel binding: no -PLUS without a binding; "y" is fine when none
	 * is offered; p= with a plain mechanism is not */
	CHECK(first(&s, SASL_MECH_SCRAM_SHA1, NULL, "y,,n=user,r=abc") == SASL_CHALLENGE);
	sasl_clear(&s);
	CHECK(first(&s, SASL_MECH_SCRAM_SHA1, NULL, "p=tls-unique,,n=user,r=abc") == SASL_EPROTO);
	sasl_clear(&s);
	CHECK(first(&s, SASL_MECH_SCRAM_SHA1_PLUS, NULL, "n,,n=user,r=abc") == SASL_EPROTO);
	sasl_clear(&s);

	/* with a binding offered */
	static const unsigned char cb[12] = "0123456789ab";
	struct sasl_peer peer = {.cb_type = "tls-unique", .cb = cb, .cb_len = sizeof cb};
	CHECK(first(&s, SASL_MECH_SCRAM_SHA1, &peer, "y,,n=user,r=abc") ==
	      SASL_EPROTO); /* downgrade */
	sasl_clear(&s);
	CHECK(first(&s, SASL_MECH_SCRAM_SHA1, &peer, "n,,n=user,r=abc") == SASL_CHALLENGE);
	sasl_clear(&s);
	CHECK(first(&s, SASL_MECH_SCRAM_SHA1_PLUS, &peer, "n,,n=user,r=abc") == SASL_EPROTO);
	sasl_clear(&s);
	CHECK(first(&s, SASL_MECH_SCRAM_SHA1_PLUS, &peer, "p=tls-exporter,,n=user,r=abc") ==
	      SASL_EPROTO);
	sasl_clear(&s);
	/* a -PLUS exchange: c= carries the header and the binding data */
	CHECK(first(&s, SASL_MECH_SCRAM_SHA1_PLUS, &peer, "p=tls-unique,,n=user,r=abc") ==
	      SASL_CHALLENGE);
	char cbind[64], enc[64];
	memcpy(cbind, "p=tls-unique,,", 14);
	memcpy(cbind + 14, cb, sizeof cb);
	sasl_base64_encode((unsigned char *)cbind, 14 + sizeof cb, enc, sizeof enc);
	char final[256];
	snprintf(final, sizeof final,
	         "c=%s,r=abc3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=", enc);
	CHECK(step_plain(&s, final) == SASL_DONE); /* the binding is right, the proof is not */
	sasl_clear(&s);
	CHECK(first(&s, SASL_MECH_SCRAM_SHA1_PLUS, &peer, "p=tls-unique,,n=user,r=abc") ==
	      SASL_CHALLENGE);
	CHECK(step_plain(&s, "c=cD10bHMtdW5pcXVlLCw=,r=abc3rfcNHYJY1ZVvWVs7j,"
	                     "p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=") == SASL_EPROTO); /* no data */
	sasl_clear(&s);

	/* client-final: wrong nonce, wrong c=, missing proof, bad proof */
	CHECK(first(&s, SASL_MECH_SCRAM_SHA1, NULL, ok1) == SASL_CHALLENGE);
	CHECK(step_plain(&s, "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7X,"
	                     "p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=") == SASL_EPROTO);
	sasl_clear(&s);
	CHECK(first(&s, SASL_MECH_SCRAM_SHA1, NULL, ok1) == SASL_CHALLENGE);
	CHECK(step_plain(&s, "c=eSws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
	                     "p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=") == SASL_EPROTO);
	sasl_clear(&s);
	CHECK(first(&s, SASL_MECH_SCRAM_SHA1, NULL, ok1) == SASL_CHALLENGE);
	CHECK(step_plain(&s, "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j") == SASL_EPROTO);
	sasl_clear(&s);
	CHECK(first(&s, SASL_MECH_SCRAM_SHA1, NULL, ok1) == SASL_CHALLENGE);
	CHECK(step_plain(&s, "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
	                     "p=v0X8v3Bz2T0CJGbJQyF0X+HI4Tw=") == SASL_DONE); /* wrong: no v= */
	CHECK(step(&s, "") == SASL_EPROTO);
	sasl_clear(&s);
	CHECK(first(&s, SASL_MECH_SCRAM_SHA1, NULL, ok1) == SASL_CHALLENGE);
	CHECK(step_plain(&s, "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=AAAA") ==
	      SASL_EPROTO); /* proof of the wrong length */
	sasl_clear(&s);
	/* an extension before the proof is carried in AuthMessage: the RFC
	 * proof no longer matches */
	CHECK(first(&s, SASL_MECH_SCRAM_SHA1, NULL, ok1) == SASL_CHALLENGE);
	CHECK(step_plain(&s, "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,x=1,"
	                     "p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=") == SASL_DONE);
	sasl_clear(&s);
	/* an unknown user and a disabled one look the same until the proof */
	CHECK(first(&s, SASL_MECH_SCRAM_SHA1, NULL, "n,,n=nobody,r=fyko+d2lbbFgONRv9qkxdawL") ==
	      SASL_CHALLENGE);
	CHECK(strstr(unb64(s.challenge, dec), ",i=4096") != NULL);
	CHECK(step_plain(&s, FINAL1) == SASL_DONE);
	sasl_clear(&s);
	keys_disabled = 1;
	CHECK(first(&s, SASL_MECH_SCRAM_SHA1, NULL, ok1) == SASL_CHALLENGE);
	CHECK(step_plain(&s, FINAL1) == SASL_DONE);
	keys_disabled = 0;
	sasl_clear(&s);
	/* cancel, bad base64, NUL, oversized, the ack must be empty */
	CHECK(first(&s, SASL_MECH_SCRAM_SHA1, NULL, ok1) == SASL_CHALLENGE);
	CHECK(step(&s, "*") == SASL_CANCELLED);
	sasl_clear(&s);
	CHECK(first(&s, SASL_MECH_SCRAM_SHA1, NULL, ok1) == SASL_CHALLENGE);
	CHECK(step(&s, "!!!!") == SASL_EBASE64);
	sasl_clear(&s);
	char nul[] = "n,,n=us\0er,r=abc";
	char enc2[64];
	sasl_scram_test_nonce = "x";
	CHECK(sasl_start(&s, SASL_MECH_SCRAM_SHA1, NULL, 0) == SASL_CHALLENGE);
	b64(nul, sizeof nul - 1, enc2);
	CHECK(step(&s, enc2) == SASL_EPROTO);
	sasl_clear(&s);
	static char big[SCRAM_MSG_MAX * 2];
	memset(big, 'a', sizeof big - 1);
	memcpy(big, "n,,n=user,r=", 12);
	static char bigenc[SCRAM_MSG_MAX * 3];
	sasl_base64_encode((unsigned char *)big, strlen(big), bigenc, sizeof bigenc);
	CHECK(sasl_start(&s, SASL_MECH_SCRAM_SHA256, bigenc, strlen(bigenc)) == SASL_EPROTO);
	sasl_clear(&s);
	big[12 + SCRAM_CNONCE_MAX + 1] = '\0'; /* fits the buffer, the nonce is too long */
	CHECK(first(&s, SASL_MECH_SCRAM_SHA256, NULL, big) == SASL_EPROTO);
	sasl_clear(&s);
	CHECK(first(&s, SASL_MECH_SCRAM_SHA1, NULL, ok1) == SASL_CHALLENGE);
	CHECK(step_plain(&s, FINAL1) == SASL_CHALLENGE);
	CHECK(step_plain(&s, "x") == SASL_EPROTO);
	sasl_clear(&s);
	sasl_scram_test_nonce = NULL;
	/* a real nonce: 32 base64 characters after the client's */
	CHECK(first(&s, SASL_MECH_SCRAM_SHA256, NULL, ok1) == SASL_CHALLENGE);
	sasl_scram_test_nonce = NULL;
	sasl_clear(&s);
	CHECK(sasl_start(&s, SASL_MECH_SCRAM_SHA256, NULL, 0) == SASL_CHALLENGE);
	CHECK(step_plain(&s, ok1) == SASL_CHALLENGE);
	unb64(s.challenge, dec);
	CHECK(strncmp(dec, "r=fyko+d2lbbFgONRv9qkxdawL", 26) == 0 && strchr(dec, ',') - dec == 58);
	sasl_clear(&s);
	sasl_scram_test_keys = NULL;
}

int main(void)
{
	test_base64();
	test_plain();
	test_login();
	test_scram_rfc();
	test_scram_errors();
	printf("%d checks, %d failures\n", checks, failures);
	return failures ? 1 : 0;
}
