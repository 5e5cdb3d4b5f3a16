/* sieve_script_id: the JMAP ids of Sieve scripts and of their content
 * (the scheme is sieve_script.h's): base64url without padding, decoded
 * strictly so that one name has exactly one id. */
#include "proto/jmap/sieve_script.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "store/sieve.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* base64url of s[0..n) into out (NUL-terminated); out has room for
 * 4 * ceil(n / 3) + 1 bytes. */
static void encode(const unsigned char *s, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		size_t chars = n - i >= 3 ? 4 : n - i + 1;
		for (size_t k = 0; k < chars; k++)
			out[o++] = alphabet[(v >> (18 - 6 * k)) & 63];
	}
	out[o] = '\0';
}

static int value(char c)
{
	const char *p = c ? strchr(alphabet, c) : NULL;
	return p ? (int)(p - alphabet) : -1;
}

/* Decode n chars of base64url into out (at most max bytes, then a NUL):
 * the length, or -1 when it is not canonical base64url or too long. */
static long decode(const char *s, size_t n, char *out, size_t max)
{
	if (n % 4 == 1)
		return -1;
	size_t o = 0;
	for (size_t i = 0; i < n; i += 4) {
		size_t chars = n - i >= 4 ? 4 : n - i;
		uint32_t v = 0;
		for (size_t k = 0; k < 4; k++) {
			int d = k < chars ? value(s[i + k]) : 0;
			if (d < 0)
				return -1;
			v = v << 6 | (uint32_t)d;
		}
		size_t bytes = chars - 1;
		/* the bits past the last byte must be zero (one encoding per name) */
		if (bytes < 3 && (v & ((1u << (8 * (3 - bytes))) - 1)) != 0)
			return -1;
		for (size_t k = 0; k < bytes; k++) {
			if (o >= max)
				return -1;
			out[o++] = (char)(v >> (16 - 8 * k));
		}
	}
	out[o] = '\0';
	return (long)o;
}

void jmap_sieve_id(const char *name, char *out)
{
	out[0] = 'S';
	encode((const unsigned char *)name, strlen(name), out + 1);
}

static bool name_of(const char *b64, size_t n, char name[STORE_SIEVE_NAME_MAX + 1])
{
	long len = decode(b64, n, name, STORE_SIEVE_NAME_MAX);
	return len > 0 && (size_t)len == strlen(name) && store_sieve_name_valid(name);
}

bool jmap_sieve_id_name(const char *id, char name[STORE_SIEVE_NAME_MAX + 1])
{
	return id && id[0] == 'S' && name_of(id + 1, strlen(id + 1), name);
}

void jmap_sieve_blob_id(const char *name, int64_t updated, char *out)
{
	out[0] = 'Z';
	encode((const unsigned char *)name, strlen(name), out + 1);
	size_t n = strlen(out);
	snprintf(out + n, JMAP_SIEVE_ID_MAX - n, ".%" PRId64, updated);
}

int jmap_sieve_blob_read(struct store_rd *rd, int64_t account_id, const char *blob_id,
                         struct buf *out)
{
	char name[STORE_SIEVE_NAME_MAX + 1];
	const char *dot = blob_id ? strchr(blob_id, '.') : NULL;
	int64_t version;
	if (!dot || blob_id[0] != 'Z' || !name_of(blob_id + 1, (size_t)(dot - blob_id - 1), name))
		return 0;
	/* the version: jmap_id_parse wants a prefix, the dot is one */
	if (!jmap_id_parse(dot, '.', &version))
		return 0;
	char *text = NULL;
	size_t len = 0;
	struct store_sieve_script info;
	int r = store_sieve_get(rd, account_id, name, &text, &len, &info);
	if (r == 1 && info.updated != version)
		r = 0;
	if (r == 1 && buf_add(out, text, len) < 0)
		r = -ENOMEM;
	free(text);
	return r;
}
