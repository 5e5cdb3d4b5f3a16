/* hmac: see hmac.h. */
#include "tls/hmac.h"

#include <mbedtls/md.h>
#include <string.h>

static const mbedtls_md_info_t *info(enum hmac_hash h)
{
	return mbedtls_md_info_from_type(h == HMAC_SHA1 ? MBEDTLS_MD_SHA1 : MBEDTLS_MD_SHA256);
}

size_t hmac_len(enum hmac_hash h)
{
	return h == HMAC_SHA1 ? 20 : 32;
}

int hmac_digest(enum hmac_hash h, const void *in, size_t len, unsigned char *out)
{
	const mbedtls_md_info_t *md = info(h);
	return md && mbedtls_md(md, in, len, out) == 0 ? 0 : -1;
}

int hmac_sign(enum hmac_hash h, const void *key, size_t klen, const void *in, size_t len,
              unsigned char *out)
{
	const mbedtls_md_info_t *md = info(h);
	return md && mbedtls_md_hmac(md, key, klen, in, len, out) == 0 ? 0 : -1;
}

int hmac_pbkdf2(enum hmac_hash h, const void *password, size_t plen, const unsigned char *salt,
                size_t slen, unsigned iterations, unsigned char *out)
{
	const mbedtls_md_info_t *md = info(h);
	size_t n = hmac_len(h);
	unsigned char u[HMAC_MAX_LEN];
	static const unsigned char one[4] = {0, 0, 0, 1}; /* INT(1): the first block */
	mbedtls_md_context_t ctx;
	int rc = -1;

	if (!md || iterations < 1)
		return -1;
	mbedtls_md_init(&ctx);
	if (mbedtls_md_setup(&ctx, md, 1) != 0 ||
	    mbedtls_md_hmac_starts(&ctx, password, plen) != 0 ||
	    mbedtls_md_hmac_update(&ctx, salt, slen) != 0 ||
	    mbedtls_md_hmac_update(&ctx, one, sizeof one) != 0 ||
	    mbedtls_md_hmac_finish(&ctx, u) != 0)
		goto out;
	memcpy(out, u, n);
	for (unsigned i = 1; i < iterations; i++) {
		if (mbedtls_md_hmac_reset(&ctx) != 0 || mbedtls_md_hmac_update(&ctx, u, n) != 0 ||
		    mbedtls_md_hmac_finish(&ctx, u) != 0)
			goto out;
		for (size_t k = 0; k < n; k++)
			out[k] ^= u[k];
	}
	rc = 0;
out:
	mbedtls_md_free(&ctx);
	memset(u, 0, sizeof u);
	return rc;
}
