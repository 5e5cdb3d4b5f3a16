/* sieve_script_id: the JMAP ids of Sieve scripts and of their content
 * (the scheme is sieve_script.h's): the store's script id in decimal,
 * parsed strictly (no sign, no leading zero) so that one script has
 * exactly one id. */
#include "proto/jmap/sieve_script.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "store/sieve.h"

void jmap_sieve_id(int64_t id, char *out)
{
	snprintf(out, JMAP_SIEVE_ID_MAX, "S%" PRId64, id);
}

bool jmap_sieve_id_parse(const char *id, int64_t *out)
{
	return jmap_id_parse(id, 'S', out);
}

void jmap_sieve_blob_id(int64_t id, int64_t updated, char *out)
{
	snprintf(out, JMAP_SIEVE_ID_MAX, "Z%" PRId64 ".%" PRId64, id, updated);
}

/* "Z<id>.<updated>" into its two numbers: false when it is not that. */
static bool blob_id_parse(const char *blob_id, int64_t *id, int64_t *version)
{
	const char *dot = blob_id ? strchr(blob_id, '.') : NULL;
	char head[32];
	size_t n = dot ? (size_t)(dot - blob_id) : 0;
	if (!dot || n >= sizeof head)
		return false;
	memcpy(head, blob_id, n);
	head[n] = '\0';
	/* jmap_id_parse wants a prefix: the dot is the version's */
	return jmap_id_parse(head, 'Z', id) && jmap_id_parse(dot, '.', version);
}

int jmap_sieve_blob_read(struct store_rd *rd, int64_t account_id, const char *blob_id,
                         struct buf *out)
{
	int64_t id, version;
	if (!blob_id_parse(blob_id, &id, &version))
		return 0;
	char *text = NULL;
	size_t len = 0;
	struct store_sieve_script info;
	int r = store_sieve_get_id(rd, account_id, id, &text, &len, &info);
	/* another version's bytes are not these: RFC 8620 §6, a blob id
	 * names one content for good */
	if (r == 1 && info.updated != version)
		r = 0;
	if (r == 1 && buf_add(out, text, len) < 0)
		r = -ENOMEM;
	free(text);
	return r;
}
