/* fuzz_sasl: the server side of SASL (proto/sasl: PLAIN, LOGIN, SCRAM-SHA-1
 * and SCRAM-SHA-256, with and without -PLUS), fed an exchange of arbitrary
 * client responses, as SMTP AUTH, IMAP AUTHENTICATE and POP3 AUTH do.
 *
 * Input: byte 0 picks the mechanism (low 3 bits), whether the first line
 * is an initial response (bit 3), and a channel binding for -PLUS (bit 4);
 * the rest is lines split at '\n'. A line is base64-encoded before it is
 * fed, so the mechanisms' parsers see arbitrary bytes, unless it starts
 * with '!' (the rest goes in as it is: the base64 decoder, "*" and "=").
 * SCRAM finds the keys of "user" (password "pencil", RFC 5802's) through
 * the test hook and uses a fixed server nonce, so a fuzzer that learns
 * RFC 5802's example can reach the proof check.
 *
 * Beyond crashes: a challenge is NUL-terminated standard base64; DONE
 * leaves a user within SASL_USER_MAX (and for PLAIN and LOGIN a password
 * within SASL_PASS_MAX); after SCRAM's DONE a further step is refused;
 * sasl_clear() leaves no secret behind. */
#include "auth/scram_keys.h"
#include "proto/sasl/sasl.h"
#include "proto/sasl/scram.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct scram_keys keys[2]; /* SHA-1, SHA-256: derived once */
static bool have_keys;

static int fuzz_keys(const char *user, enum hmac_hash h, struct scram_keys *out)
{
	if (strcmp(user, "user") != 0)
		return -1;
	*out = keys[h == HMAC_SHA256];
	return 0;
}

static bool base64_ok(const char *s)
{
	size_t n = strlen(s);
	if (n % 4)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		             (c >= '0' && c <= '9') || c == '+' || c == '/';
		if (!alpha && !(c == '=' && i >= n - 2))
			return false;
	}
	return true;
}

/* Feeds line [p, p+n): encoded unless it starts with '!'. */
static enum sasl_status feed(struct sasl *s, bool first, const struct sasl_peer *peer,
                             enum sasl_mech mech, const uint8_t *p, size_t n)
{
	static char enc[8192];
	const char *line = enc;
	size_t len;
	if (n && p[0] == '!') {
		line = (const char *)p + 1;
		len = n - 1;
	} else {
		long e = sasl_base64_encode(p, n, enc, sizeof enc);
		if (e < 0)
			return SASL_EPROTO;
		len = (size_t)(e ? e : 1);
		if (!e)
			enc[0] = '=', enc[1] = '\0'; /* the empty response */
	}
	return first ? sasl_start_peer(s, mech, line, len, peer) : sasl_step(s, line, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!have_keys) {
		static const unsigned char salt[] = "fuzz salt 16 byt";
		if (scram_keys_derive(HMAC_SHA1, "pencil", salt, 16, 4096, &keys[0]) < 0 ||
		    scram_keys_derive(HMAC_SHA256, "pencil", salt, 16, 4096, &keys[1]) < 0)
			__builtin_trap();
		have_keys = true;
		sasl_scram_test_keys = fuzz_keys;
		sasl_scram_test_nonce = "3rfcNHYJY1ZVvWVs7j";
	}
	if (size < 1)
		return 0;
	static const enum sasl_mech mechs[8] = {SASL_MECH_PLAIN,        SASL_MECH_LOGIN,
	                                        SASL_MECH_SCRAM_SHA1,   SASL_MECH_SCRAM_SHA1_PLUS,
	                                        SASL_MECH_SCRAM_SHA256, SASL_MECH_SCRAM_SHA256_PLUS,
	                                        SASL_MECH_PLAIN,        SASL_MECH_SCRAM_SHA256};
	enum sasl_mech mech = mechs[data[0] & 7];
	bool initial = data[0] & 8;
	static const unsigned char cb[32] = "channel binding data 32 bytes!!";
	struct sasl_peer peer = {.ip = "127.0.0.1"};
	if (data[0] & 16) {
		peer.cb_type = "tls-exporter";
		peer.cb = cb;
		peer.cb_len = sizeof cb;
	}
	struct sasl s;
	memset(&s, 0, sizeof s);
	const uint8_t *p = data + 1, *end = data + size;
	enum sasl_status st;
	if (initial) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		st = feed(&s, true, &peer, mech, p, n);
		p += n + (nl != NULL);
	} else {
		st = sasl_start_peer(&s, mech, NULL, 0, &peer);
	}
	for (int steps = 0; steps < 16; steps++) {
		if (st == SASL_CHALLENGE) {
			if (!s.challenge || !base64_ok(s.challenge))
				__builtin_trap();
		} else {
			if (st == SASL_DONE &&
			    (strlen(s.user) > SASL_USER_MAX || strlen(s.pass) > SASL_PASS_MAX))
				__builtin_trap();
			/* SCRAM's exchange is over: nothing more is taken (PLAIN
			 * and LOGIN leave that to the protocol, which stops) */
			if (st == SASL_DONE && sasl_is_scram(mech) && sasl_step(&s, "=", 1) >= 0)
				__builtin_trap();
			break;
		}
		if (p >= end)
			break;
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		st = feed(&s, false, &peer, mech, p, n);
		p += n + (nl != NULL);
	}
	sasl_clear(&s);
	static const char zero[SASL_PASS_MAX + 1];
	if (memcmp(s.pass, zero, sizeof zero) != 0 || s.scram)
		__builtin_trap();
	return 0;
}
