/* fuzz_arc: ARC's header-set parser and verifier on arbitrary bytes
 * (mailauth/arc.h, arc_set.h).
 *
 * The first byte picks the target: the set parser (the bytes as a header
 * section, its sets collected, every ARC-Seal and AAR parsed), a whole
 * message through the verifier (fed in chunks whose size the second byte
 * picks; every key query answered with a fixed RSA record, or a DNS
 * error), or the AAR result scanner. Nothing may crash, and what comes
 * back must be in range. */
#include "mailauth/arc.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char record[] =
    "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6w"
    "y5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvH"
    "O9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB";

static void sets(const char *in, size_t len)
{
	struct dkim_msg m = {0};
	dkim_msg_feed(&m, in, len);
	dkim_msg_end_headers(&m);
	static struct arc_sets s;
	static struct arc_seal seal;
	arc_sets_collect(&m, &s);
	if (s.n > ARC_MAX_INSTANCE)
		__builtin_trap();
	for (unsigned i = 1; i <= s.n; i++) {
		const char *why = NULL, *p;
		unsigned inst;
		size_t n;
		if (s.set[i].as && arc_seal_parse(s.set[i].as, &seal, &why) == 0 &&
		    (seal.b_end > s.set[i].as->len || seal.b_off > seal.b_end || !seal.instance))
			__builtin_trap();
		if (s.set[i].aar && arc_aar_parse(s.set[i].aar, &inst, &p, &n) == 0 &&
		    (inst != i || p + n != s.set[i].aar->text + s.set[i].aar->len))
			__builtin_trap();
	}
	dkim_msg_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	uint8_t mode = data[0] % 3, chunk = data[1] ? data[1] : 1;
	const char *in = (const char *)data + 2;
	size_t len = size - 2;
	if (mode == 0) {
		sets(in, len);
		return 0;
	}
	if (mode == 2) {
		char out[16];
		if (arc_aar_method_result(in, len, "dmarc", out, sizeof out) && strlen(out) >= 16)
			__builtin_trap();
		return 0;
	}
	struct arc_verify *v = arc_verify_new(0);
	if (!v)
		return 0;
	for (size_t off = 0; off < len; off += chunk)
		arc_verify_feed(v, in + off, len - off < chunk ? len - off : chunk);
	arc_verify_end(v);
	for (size_t k = 0; k < arc_verify_query_count(v); k++) {
		const char *txt[1] = {record};
		size_t tl[1] = {sizeof record - 1};
		if (chunk & 1)
			arc_verify_key(v, k, DKIM_DNS_OK, txt, tl, 1);
		else
			arc_verify_key(v, k, DKIM_DNS_TEMPFAIL, NULL, NULL, 0);
	}
	const struct arc_result *r = arc_verify_result(v);
	if (r->status > ARC_FAIL || r->instances > ARC_MAX_INSTANCE ||
	    r->oldest_pass > r->instances || !r->reason)
		__builtin_trap();
	arc_verify_free(&v);
	return 0;
}
