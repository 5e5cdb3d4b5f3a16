/* fuzz_jmap_email_build: Email/set create objects (arbitrary JSON) through
 * proto/jmap/email_build.c, the part of sending a client controls whole.
 *
 * Beyond crashes and leaks: a build either succeeds, into bytes with
 * CRLF line ends only, no NUL, a header that ends, within max_size, that
 * mime/ parses; or fails with a known result and the property named. */
#include "proto/jmap/email_build.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "mime/mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int blob(void *ud, const char *blob_id, struct buf *out, char *type, size_t typelen,
                char *name, size_t namelen)
{
	(void)ud;
	if (blob_id[0] != 'B')
		return 0;
	snprintf(type, typelen, "%s", blob_id[1] == '1' ? "" : "image/png");
	snprintf(name, namelen, "%s", blob_id + 1);
	return buf_adds(out, blob_id) < 0 ? -1 : 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *o = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	if (!o)
		return 0;
	struct email_build_env env = {.now = 1700000000,
	                              .unique = "fz",
	                              .hostname = "h.test",
	                              .blob = blob,
	                              .max_size = 1 << 16};
	struct buf out = {0};
	const char *prop = NULL, *why = NULL;
	int r = email_build(o, &env, &out, &prop, &why);
	if (r == EMAIL_BUILD_OK) {
		if (out.len > env.max_size)
			abort();
		if (!out.data || !memmem(out.data, out.len, "\r\n\r\n", 4))
			abort(); /* the header ends */
		for (size_t i = 0; i < out.len; i++) {
			char c = out.data[i];
			if (c == '\0' || (c == '\n' && (i == 0 || out.data[i - 1] != '\r')) ||
			    (c == '\r' && (i + 1 == out.len || out.data[i + 1] != '\n')))
				abort();
		}
		struct mime_message *m = NULL;
		if (mime_parse(out.data, out.len, &m) == 0)
			mime_free(&m);
	} else if (r > 0) {
		if (r != EMAIL_BUILD_INVALID && r != EMAIL_BUILD_NO_BLOB &&
		    r != EMAIL_BUILD_TOO_LARGE)
			abort();
		if (!prop)
			abort();
	}
	buf_free(&out);
	json_decref(o);
	return 0;
}
