/* urlauth: URLAUTH-authorised IMAP URLs (RFC 4467), shared by IMAP
 * (GENURLAUTH, URLFETCH) and SMTP submission (BURL, RFC 4468).
 *
 * The one mechanism is INTERNAL: the token is the hex HMAC-SHA1 of the
 * URL's rump (everything up to ";URLAUTH=<access>") under the mailbox's
 * access key (store/urlauth.h), 160 bits, over RFC 4467's 128. The owner
 * is the user part of the URL: the account whose mailbox and key it
 * names, which must still exist and be enabled when the URL is used; the
 * data is then read with the owner's rights, whoever presents the URL.
 */
#ifndef TERN_MAILURL_URLAUTH_H
#define TERN_MAILURL_URLAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "mailurl/url.h"
#include "store/urlauth.h"

struct store_rd;

#define MAILURL_TOKEN_HEX 40 /* HMAC-SHA1 */

/* token = hex(HMAC-SHA1(key, rump[0..len))), NUL-terminated. 0 or -EIO. */
int mailurl_urlauth_token(const uint8_t key[STORE_URLAUTH_KEY_LEN], const char *rump, size_t len,
                          char token[MAILURL_TOKEN_HEX + 1]);

/* Who presents a URL: an authenticated user of this server (address),
 * acting for itself, or as the submission server for that user (BURL). */
struct mailurl_requester {
	const char *address; /* NULL: not logged in */
	bool submit;
};

/* Does u's access identifier let r use it? anonymous: anyone; authuser:
 * any logged-in user; user+name: that user, not as submission;
 * submit+name: the submission server acting for that user. */
bool mailurl_urlauth_allows(const struct mailurl *u, const struct mailurl_requester *r);

/* Check a full URLAUTH URL (url[0..len) parsed into u) and append its
 * bytes to out: absolute, INTERNAL, not expired at now, allowed for r,
 * the owner's account enabled, the token right for the mailbox's current
 * key, then mailurl_fetch() within max and *read_left (may be NULL).
 * 0, -EACCES (any check failed: the caller says no more than that), or
 * mailurl_fetch()'s errors. */
int mailurl_urlauth_fetch(struct store_rd *rd, const char *url, size_t len, const struct mailurl *u,
                          int64_t now, const struct mailurl_requester *r, size_t max,
                          uint64_t *read_left, struct buf *out);

/* The store's internal mailbox name for a URL's wire name: modified
 * UTF-7 decoded (UTF-8 as is when it is not valid mUTF-7), INBOX in any
 * case made "INBOX". Returns the length or -EINVAL. */
int mailurl_mailbox_name(const char *wire, char *out, size_t cap);

#endif
