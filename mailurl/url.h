/* url: IMAP URLs (RFC 5092) naming a message or a part of one, the
 * form CATENATE (RFC 4469), URLAUTH (RFC 4467) and BURL (RFC 4468) use:
 *
 *   imap://user;AUTH=*@host:port/mailbox;UIDVALIDITY=n/;UID=n/;SECTION=s
 *       /;PARTIAL=o.l;EXPIRE=date;URLAUTH=access:mech:token
 *
 * or the same from the path on ("/mailbox..."), which a client of this
 * server's own IMAP session sends. Keys are case-insensitive; the text
 * between them is %-decoded. Parsing is pure: what the URL names is found
 * by fetch.h. Every field is bounded; a URL over the bounds is invalid.
 */
#ifndef TERN_MAILURL_URL_H
#define TERN_MAILURL_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAILURL_MAX 8192 /* a URL longer than this is refused */
#define MAILURL_MAILBOX_MAX 1024
#define MAILURL_NAME_MAX 320 /* user names, hosts, access identifiers */
#define MAILURL_SECTION_MAX 512
#define MAILURL_TOKEN_MAX 128

struct mailurl {
	bool has_server; /* "imap://" iserver: an absolute URL */
	char user[MAILURL_NAME_MAX + 1];
	char auth_type[MAILURL_NAME_MAX + 1]; /* ";AUTH=" value, "*" too */
	char host[MAILURL_NAME_MAX + 1];
	uint16_t port; /* 0: none given */
	/* The mailbox as on the IMAP wire (modified UTF-7 or UTF-8), %-decoded;
	 * "" when the URL has no path. */
	char mailbox[MAILURL_MAILBOX_MAX + 1];
	uint32_t uidvalidity;                  /* 0: none given */
	uint32_t uid;                          /* 0: not a message URL */
	char section[MAILURL_SECTION_MAX + 1]; /* "" = the whole message */
	bool has_partial;
	uint32_t partial_off, partial_len; /* len 0: to the end */
	bool has_expire;
	int64_t expire; /* unix seconds */
	/* URLAUTH: "anonymous", "authuser", "user+name", "submit+name" (the
	 * prefix lower-cased, the name %-decoded), and after ':' the
	 * mechanism and token (a URL from GENURLAUTH has them, one given to
	 * GENURLAUTH does not). */
	bool has_urlauth;
	char access[MAILURL_NAME_MAX + 9];
	char mechanism[33];
	char token[MAILURL_TOKEN_MAX + 1];
	/* Bytes of the URL up to the end of ";URLAUTH=<access>": what the
	 * token authorises (RFC 4467 "rump"). */
	size_t rump_len;
};

/* 0, or -EINVAL for anything that is not such a URL (also an empty one,
 * a query "?...", bad %-escapes, numbers out of range, a field too long). */
int mailurl_parse(const char *s, size_t len, struct mailurl *out);

#endif
