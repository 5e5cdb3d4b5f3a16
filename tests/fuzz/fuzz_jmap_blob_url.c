/* fuzz_jmap_blob_url: the download URL's path splitting
 * (http_jmap_download_split, proto/http/jmap_blob.c) on arbitrary paths:
 * no overrun, and what it accepts is an account id > 0, a non-empty blob
 * id of URL-safe characters that fits and a name inside the input without
 * a slash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/http/http_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *path = malloc(size + 1);
	if (!path)
		return 0;
	memcpy(path, data, size);
	path[size] = '\0';
	int64_t acct = 0;
	char blob[256];
	const char *name = NULL;
	if (http_jmap_download_split(path, &acct, blob, sizeof blob, &name)) {
		size_t n = strnlen(blob, sizeof blob);
		if (acct <= 0 || n == 0 || n >= sizeof blob || !name || name < path ||
		    name > path + strlen(path) || strchr(name, '/'))
			abort();
		for (size_t i = 0; i < n; i++)
			if (!strchr(
			        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.",
			        blob[i]))
				abort();
	}
	free(path);
	return 0;
}
