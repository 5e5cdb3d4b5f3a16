/* fuzz_html_sanitize: arbitrary bytes through the webmail's HTML sanitizer
 * (mime/html_sanitize.c).
 *
 * Every output must pass tests/fuzz/html_sanitize_invariants.h (only
 * allowlisted tags and attributes, no on*, values quoted, href/src
 * schemes, no '<' or '>' in text, UTF-8, balanced), stay under the
 * promised size bound, and come out unchanged when sanitized again
 * (unless an image URL was rewritten, which a second pass drops). A cid
 * callback resolves ids that start with 'a' and fails for "fail": then
 * the error comes back and the output buffer is as it was. */
#include "mime/html_sanitize.h"
#include "tests/fuzz/html_sanitize_invariants.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CID_PREFIX "/jmap/download/A1/"

static int cid_url(void *ctx, const char *id, size_t len, struct buf *url)
{
	(void)ctx;
	if (len == 4 && memcmp(id, "fail", 4) == 0)
		return -EIO;
	if (len > 0 && id[0] == 'a')
		return buf_adds(url, CID_PREFIX "B1.2/x?accept=image/png") ? -ENOMEM : 1;
	return 0;
}

static const struct html_sanitize_opts opts = {.cid_url = cid_url};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct buf out = {0};
	buf_adds(&out, "pre");
	unsigned found = 0;
	int rc = html_sanitize(in, size, &opts, &out, &found);
	if (rc != 0) {
		if (rc != -EIO || out.len != 3 || memcmp(out.data, "pre", 4) != 0)
			__builtin_trap();
		buf_free(&out);
		return 0;
	}
	const char *s = out.data + 3;
	size_t n = out.len - 3;
	if (n > (size_t)HTML_SANITIZE_OUT_FACTOR * size + HTML_SANITIZE_OUT_SLACK)
		__builtin_trap();
	if (hsi_check(s, n, CID_PREFIX) != NULL)
		__builtin_trap();
	if (!(found & (HTML_FOUND_REMOTE_IMAGES | HTML_FOUND_CID_IMAGES))) {
		struct buf again = {0};
		if (html_sanitize(s, n, &opts, &again, NULL) != 0 || again.len != n ||
		    (n && memcmp(again.data, s, n) != 0))
			__builtin_trap();
		buf_free(&again);
	}
	buf_free(&out);
	return 0;
}
