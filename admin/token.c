/* token: API token secrets, their digests, and checking one presented.
 *
 * A secret is "tern_" and 32 bytes from getrandom(2) in unpadded
 * base64url: 256 bits, so it needs no slow hash; its SHA-256 is what the
 * store keeps and looks up. The lookup is by digest (an index), so no
 * secret is ever compared byte by byte in variable time; the digest found
 * is still compared in constant time with the one computed, which costs
 * nothing and keeps the check right whatever the store's lookup does.
 *
 * Scopes are text in the store and a list here: "admin" for the admin
 * API; "send" for the sending API (POST /api/v1/send), whose tokens each
 * belong to one account or one domain (store: token_owners). */
#include "admin/admin.h"

#include <string.h>
#include <sys/random.h>

#include "store/tokens.h"
#include "tls/tls_compat.h"

static const char *const scopes[] = {"admin", "send"};

bool admin_scope_valid(const char *scope)
{
	for (size_t i = 0; i < sizeof scopes / sizeof scopes[0]; i++)
		if (scope && strcmp(scope, scopes[i]) == 0)
			return true;
	return false;
}

bool admin_scope_has_owner(const char *scope)
{
	return scope && strcmp(scope, "send") == 0;
}

/* Keep in step with scopes[]. */
const char *admin_scope_names(void)
{
	return "admin, send";
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Unpadded base64url of n bytes into out (4n/3 rounded up, plus NUL). */
static void encode(const unsigned char *in, size_t n, char *out)
{
	size_t o = 0, i = 0;
	for (; i + 3 <= n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64url[v >> 18];
		out[o++] = b64url[(v >> 12) & 63];
		out[o++] = b64url[(v >> 6) & 63];
		out[o++] = b64url[v & 63];
	}
	if (n - i == 1) {
		unsigned v = (unsigned)in[i] << 16;
		out[o++] = b64url[v >> 18];
		out[o++] = b64url[(v >> 12) & 63];
	} else if (n - i == 2) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
		out[o++] = b64url[v >> 18];
		out[o++] = b64url[(v >> 12) & 63];
		out[o++] = b64url[(v >> 6) & 63];
	}
	out[o] = '\0';
}

static void digest_of(const char *secret, size_t len, unsigned char digest[STORE_TOKEN_DIGEST])
{
	tc_sha256((const unsigned char *)secret, len, digest);
}

int admin_token_make(char secret[ADMIN_TOKEN_SIZE], unsigned char digest[STORE_TOKEN_DIGEST])
{
	unsigned char raw[32];
	if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
		return -1;
	memcpy(secret, ADMIN_TOKEN_PREFIX, 5);
	encode(raw, sizeof raw, secret + 5);
	explicit_bzero(raw, sizeof raw);
	digest_of(secret, ADMIN_TOKEN_SIZE - 1, digest);
	return 0;
}

static bool well_formed(const char *s, size_t len)
{
	if (len != ADMIN_TOKEN_SIZE - 1 || memcmp(s, ADMIN_TOKEN_PREFIX, 5) != 0)
		return false;
	for (size_t i = 5; i < len; i++)
		if (!memchr(b64url, s[i], sizeof b64url - 1))
			return false;
	return true;
}

enum admin_auth admin_token_check(struct store_rd *rd, const char *secret, size_t len,
                                  const char *scope, int64_t now, struct store_token *out)
{
	if (!secret || !well_formed(secret, len))
		return ADMIN_AUTH_INVALID;
	unsigned char digest[STORE_TOKEN_DIGEST];
	digest_of(secret, len, digest);
	int rc = store_token_find(rd, digest, out);
	if (rc < 0)
		return ADMIN_AUTH_ERROR;
	if (rc == 0)
		return ADMIN_AUTH_INVALID;
	unsigned char d = 0;
	for (size_t i = 0; i < STORE_TOKEN_DIGEST; i++)
		d |= (unsigned char)(digest[i] ^ out->digest[i]);
	if (d != 0 || (out->expires > 0 && now >= out->expires))
		return ADMIN_AUTH_INVALID;
	return strcmp(out->scope, scope) == 0 ? ADMIN_AUTH_OK : ADMIN_AUTH_SCOPE;
}
