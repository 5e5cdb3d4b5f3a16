/* webhook_sign: HMAC-SHA256 over "<t>.<body>" (see webhook_sign.h); the
 * HMAC is tls/hmac.c's, the one SCRAM uses. */
#include "relay/webhook_sign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls/hmac.h"

int webhook_signature(const char *secret, int64_t t, const char *body, size_t len, char *out,
                      size_t outlen)
{
	char prefix[32];
	int plen = snprintf(prefix, sizeof prefix, "%lld.", (long long)t);
	char *msg = malloc((size_t)plen + len + 1);
	if (!msg)
		return -1;
	memcpy(msg, prefix, (size_t)plen);
	if (len)
		memcpy(msg + plen, body, len);
	unsigned char mac[32];
	int rc = hmac_sign(HMAC_SHA256, secret, strlen(secret), msg, (size_t)plen + len, mac);
	free(msg);
	if (rc < 0)
		return -1;
	char hex[65];
	for (size_t i = 0; i < sizeof mac; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	int n = snprintf(out, outlen, "t=%lld,v1=%s", (long long)t, hex);
	return n > 0 && (size_t)n < outlen ? 0 : -1;
}
