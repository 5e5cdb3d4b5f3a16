/* fuzz_dane: arbitrary bytes as TLSA RDATA (tls/dane.c): the parser never
 * reads past the input, a parsed record keeps at most DANE_TLSA_DATA_MAX
 * bytes, and a SHA-256/512 record has exactly its digest length. Each
 * parsed record is also matched against no certificate. */
#include "tls/dane.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dane_tlsa t;
	const char *why = NULL;
	if (dane_tlsa_parse(data, size, &t, &why) != 0) {
		if (!why)
			abort();
		return 0;
	}
	if (t.len != size - 3 || t.len > DANE_TLSA_DATA_MAX ||
	    (t.mtype == DANE_MT_SHA256 && t.len != 32) ||
	    (t.mtype == DANE_MT_SHA512 && t.len != 64))
		abort();
	enum dane_result r = dane_match_chain(&t, 1, NULL, "mx.example", &why);
	if (r != (dane_tlsa_usable(&t) ? DANE_NO_CERT : DANE_NO_USABLE))
		abort();
	return 0;
}
