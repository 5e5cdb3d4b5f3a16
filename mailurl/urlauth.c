/* urlauth: INTERNAL tokens, access identifiers and the checks before a
 * URLAUTH URL's bytes are handed out (urlauth.h). */
#include "mailurl/urlauth.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <mbedtls/md.h>

#include "lib/mutf7.h"
#include "lib/utf8.h"
#include "mailurl/fetch.h"
#include "store/accounts.h"
#include "store/mailboxes.h"

int mailurl_urlauth_token(const uint8_t key[STORE_URLAUTH_KEY_LEN], const char *rump, size_t len,
                          char token[MAILURL_TOKEN_HEX + 1])
{
	unsigned char mac[20];
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA1);
	if (!md || mbedtls_md_hmac(md, key, STORE_URLAUTH_KEY_LEN, (const unsigned char *)rump, len,
	                           mac) != 0)
		return -EIO;
	for (size_t i = 0; i < sizeof mac; i++)
		snprintf(token + 2 * i, 3, "%02x", mac[i]);
	return 0;
}

bool mailurl_urlauth_allows(const struct mailurl *u, const struct mailurl_requester *r)
{
	if (strcmp(u->access, "anonymous") == 0)
		return true;
	if (!r->address)
		return false;
	if (strcmp(u->access, "authuser") == 0)
		return !r->submit;
	if (strncmp(u->access, "user+", 5) == 0)
		return !r->submit && strcasecmp(u->access + 5, r->address) == 0;
	if (strncmp(u->access, "submit+", 7) == 0)
		return r->submit && strcasecmp(u->access + 7, r->address) == 0;
	return false;
}

int mailurl_mailbox_name(const char *wire, char *out, size_t cap)
{
	size_t n = strlen(wire);
	ssize_t m = mutf7_decode(wire, n, out, cap);
	if (m < 0) {
		if (n >= cap || !utf8_valid(wire, n))
			return -EINVAL;
		memcpy(out, wire, n + 1);
		m = (ssize_t)n;
	}
	if (strncasecmp(out, "INBOX", 5) == 0 && (out[5] == '\0' || out[5] == '/'))
		memcpy(out, "INBOX", 5);
	return (int)m;
}

/* Constant-time comparison of the token sent with the one computed. */
static bool token_equal(const char *a, const char *b)
{
	size_t n = strlen(b);
	if (strlen(a) != n)
		return false;
	unsigned char d = 0;
	for (size_t i = 0; i < n; i++)
		d |= (unsigned char)((a[i] | 0x20) ^ b[i]); /* hex digits: any case */
	return d == 0;
}

int mailurl_urlauth_fetch(struct store_rd *rd, const char *url, size_t len, const struct mailurl *u,
                          int64_t now, const struct mailurl_requester *r, size_t max,
                          uint64_t *read_left, struct buf *out)
{
	struct store_account owner;
	int64_t mailbox_id;
	uint8_t key[STORE_URLAUTH_KEY_LEN];
	char name[MAILURL_MAILBOX_MAX * 2 + 1], want[MAILURL_TOKEN_HEX + 1];
	if (!u->has_server || !u->user[0] || !u->has_urlauth || !u->uid ||
	    strcasecmp(u->mechanism, "INTERNAL") != 0 || u->rump_len > len)
		return -EACCES;
	if ((u->has_expire && u->expire < now) || !mailurl_urlauth_allows(u, r))
		return -EACCES;
	if (store_account_lookup(rd, u->user, &owner) != 1 || owner.disabled)
		return -EACCES;
	if (mailurl_mailbox_name(u->mailbox, name, sizeof name) < 0 ||
	    store_mailbox_find(rd, owner.id, name, &mailbox_id) != 1 ||
	    store_urlauth_key_get(rd, mailbox_id, key) != 1 ||
	    mailurl_urlauth_token(key, url, u->rump_len, want) < 0 || !token_equal(u->token, want))
		return -EACCES;
	return mailurl_fetch(rd, owner.id, name, u, max, read_left, out);
}
