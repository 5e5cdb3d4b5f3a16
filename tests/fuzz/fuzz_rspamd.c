/* fuzz_rspamd: rspamd's JSON reply (mailauth/rspamd.c) on arbitrary
 * bytes, and the request headers built from them as an envelope.
 *
 * Beyond crashes: a parse that succeeds names a known action; the header
 * block has no bare CR or LF inside a value (every CR is followed by LF
 * and ends a line). */
#include "mailauth/rspamd.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* MUST() is compiled out of release builds; these checks are not. */
#define MUST(c) ((c) ? (void)0 : abort())

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rspamd_result r;
	if (rspamd_parse_reply((const char *)data, size, &r) == 0)
		MUST(r.action < RSPAMD_UNKNOWN);

	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	const char *rcpts[2] = {s, s};
	struct rspamd_envelope e = {.ip = "192.0.2.1",
	                            .helo = s,
	                            .mail_from = s,
	                            .rcpts = rcpts,
	                            .nrcpts = 2,
	                            .queue_id = "q",
	                            .user = s};
	char h[RSPAMD_HEADERS_MAX];
	size_t n = rspamd_request_headers(&e, h, sizeof h);
	MUST(n < sizeof h && strlen(h) == n);
	for (size_t i = 0; i < n; i++) {
		if (h[i] == '\r')
			MUST(i + 1 < n && h[i + 1] == '\n');
		if (h[i] == '\n')
			MUST(i > 0 && h[i - 1] == '\r');
	}
	free(s);
	return 0;
}
