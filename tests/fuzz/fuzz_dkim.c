/* fuzz_dkim: DKIM's parsers on arbitrary bytes (mailauth/dkim.h).
 *
 * The first byte picks the target: the tag-list parser, the key-record
 * parser, or a whole message through the verifier (fed in chunks whose
 * size the second byte picks, so the streaming state machines see every
 * split), its signatures answered with fixed RSA and Ed25519 key records,
 * then signed with a fixed Ed25519 key. Nothing may crash, and the
 * results must be ones the API names. */
#include "mailauth/dkim.h"
#include "mailauth/dkim_key.h"
#include "mailauth/dkim_tags.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const records[] = {
    "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
    "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6w"
    "y5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvH"
    "O9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	uint8_t mode = data[0] % 3, chunk = data[1] ? data[1] : 1;
	const char *in = (const char *)data + 2;
	size_t len = size - 2;
	if (mode == 0) {
		struct dkim_tags t;
		if (dkim_tags_parse(in, len, &t) == 0)
			for (size_t i = 0; i < t.n; i++)
				if (t.tag[i].name < in ||
				    t.tag[i].value + t.tag[i].value_len > in + len ||
				    t.tag[i].value_end > len ||
				    t.tag[i].value_off > t.tag[i].value_end)
					__builtin_trap();
		return 0;
	}
	if (mode == 1) {
		static struct dkim_key_record k;
		const char *why = NULL;
		if (dkim_key_record_parse(in, len, &k, &why) < 0 && !why)
			__builtin_trap();
		if (dkim_key_record_parse(in, len, &k, &why) == 0 && !k.revoked) {
			unsigned char hash[32] = {0}, sig[64] = {0};
			dkim_key_verify(&k, hash, sig, sizeof sig, &why);
		}
		return 0;
	}
	struct dkim_verify *v = dkim_verify_new(1700000000, 0);
	if (!v)
		return 0;
	for (size_t i = 0; i < len; i += chunk)
		dkim_verify_feed(v, in + i, len - i < chunk ? len - i : chunk);
	dkim_verify_end(v);
	for (size_t i = 0; i < dkim_verify_count(v); i++) {
		size_t rl[2] = {strlen(records[0]), strlen(records[1])};
		dkim_verify_key(v, i, (enum dkim_dns)(i % 4), records, rl, 2);
		const struct dkim_sig_result *r = dkim_verify_result(v, i);
		if (!r || r->result < DKIM_PENDING || r->result > DKIM_PERMERROR || !r->reason ||
		    (r->result != DKIM_PASS && !r->reason[0] && r->result != DKIM_PENDING))
			__builtin_trap();
	}
	dkim_verify_free(&v);

	static struct dkim_signing_key *key;
	char err[200];
	if (!key)
		key = dkim_signing_key_load("ed25519-sha256",
		                            "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=", err,
		                            sizeof err);
	struct buf out = {0};
	if (key &&
	    dkim_sign(key, "example.com", "s", 1, NULL, in, len, &out, err, sizeof err) == 0 &&
	    (out.len < 16 || memcmp(out.data, "DKIM-Signature:", 15) != 0))
		__builtin_trap();
	buf_free(&out);
	return 0;
}
