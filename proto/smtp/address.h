/* address: the RFC 5321 section 4.1.2 Path grammar and the MAIL/RCPT
 * ESMTP parameters (SIZE, BODY, SMTPUTF8, RET, ENVID, AUTH, NOTIFY, ORCPT).
 *
 * Pure functions over bytes: no allocation, no I/O. Everything a client
 * sends in MAIL and RCPT goes through here before it reaches a log line, a
 * Received: header or the store, so the grammar is also the header-injection
 * defence: nothing below 0x20 and no DEL can pass, quoted local parts
 * included. Non-ASCII (well-formed UTF-8 only) passes only when the caller
 * says SMTPUTF8 was given. */
#ifndef TERN_SMTP_ADDRESS_H
#define TERN_SMTP_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SMTP_LOCAL_MAX 64   /* RFC 5321 4.5.3.1.1 */
#define SMTP_DOMAIN_MAX 255 /* RFC 5321 4.5.3.1.2 */
#define SMTP_PATH_MAX 256   /* RFC 5321 4.5.3.1.3, "<" and ">" included */
#define SMTP_ENVID_MAX 100  /* RFC 3461 4.4 */
#define SMTP_ORCPT_MAX 500  /* RFC 3461 4.2 */

enum smtp_addr_status {
	SMTP_ADDR_OK = 0,
	SMTP_ADDR_ESYNTAX = -1, /* not a path */
	SMTP_ADDR_ELOCAL = -2,  /* local part longer than 64 octets */
	SMTP_ADDR_EDOMAIN = -3, /* domain longer than 255, or a label longer than 63 */
	SMTP_ADDR_EPATH = -4,   /* path longer than 256 */
	SMTP_ADDR_EUTF8 = -5,   /* non-ASCII without SMTPUTF8 */
};

/* Flags for smtp_path_parse(). */
#define SMTP_PATH_NULL_OK 0x1u    /* accept "<>" (reverse-path) */
#define SMTP_PATH_UTF8 0x2u       /* SMTPUTF8: UTF-8 in local part and domain */
#define SMTP_PATH_LENIENT 0x4u    /* accept a Mailbox without "<" ">" */
#define SMTP_PATH_POSTMASTER 0x8u /* accept "<Postmaster>" without a domain */

struct smtp_path {
	/* "local@domain", the source route dropped and a quoted local part
	 * unquoted when its content is a plain dot-string; "" for "<>",
	 * "postmaster" for a bare <Postmaster>. NUL-terminated. */
	char addr[SMTP_PATH_MAX + 1];
	size_t local_len; /* bytes of addr before the '@' */
	bool null;        /* "<>" */
	bool quoted;      /* the local part stays a quoted string */
	bool literal;     /* the domain is an address literal */
	bool utf8;        /* contains non-ASCII */
	bool postmaster;  /* bare <Postmaster> */
};

/* Parse a Reverse-path / Forward-path starting at s[0]. On success *end is
 * the number of bytes used (the rest are parameters). */
int smtp_path_parse(const char *s, size_t len, unsigned flags, struct smtp_path *out, size_t *end);

/* Check a bare RFC 5321 Mailbox (no angle brackets) spanning all of s[0..len). */
int smtp_mailbox_check(const char *s, size_t len, unsigned flags);

/* Domain only (HELO argument, a domain or an address literal). */
bool smtp_domain_valid(const char *s, size_t len, bool utf8);
bool smtp_address_literal_valid(const char *s, size_t len);

/* xtext (RFC 3461 4): xchar is 0x21-0x7E except '+' and '='; "+XX" is
 * upper-case hex. Returns the decoded length, or -1 if not valid xtext. */
int smtp_xtext_check(const char *s, size_t len);

enum smtp_body { SMTP_BODY_NONE = 0, SMTP_BODY_7BIT, SMTP_BODY_8BITMIME };
enum smtp_ret { SMTP_RET_NONE = 0, SMTP_RET_FULL, SMTP_RET_HDRS };

struct smtp_mail_params {
	bool has_size;
	uint64_t size;
	enum smtp_body body;
	bool smtputf8;
	enum smtp_ret ret;
	bool has_envid;
	char envid[SMTP_ENVID_MAX * 3 + 1]; /* as sent (xtext) */
	bool has_auth;                      /* RFC 4954 AUTH=, accepted and ignored */
};

#define SMTP_NOTIFY_NEVER 0x1u
#define SMTP_NOTIFY_SUCCESS 0x2u
#define SMTP_NOTIFY_FAILURE 0x4u
#define SMTP_NOTIFY_DELAY 0x8u

struct smtp_rcpt_params {
	unsigned notify;     /* SMTP_NOTIFY_* bits, 0 = not given */
	char notify_str[32]; /* canonical: "NEVER" or "SUCCESS,FAILURE,DELAY" subset */
	bool has_orcpt;
	char orcpt[SMTP_ORCPT_MAX + 1]; /* "rfc822;xtext" as sent */
};

enum smtp_param_status {
	SMTP_PARAM_OK = 0,
	SMTP_PARAM_ESYNTAX = -1,  /* malformed, duplicate or bad value: 501 */
	SMTP_PARAM_EUNKNOWN = -2, /* keyword not supported: 555 */
};

/* s is what follows the path: *( SP esmtp-param ). Leading and repeated
 * spaces are tolerated. On error, *bad (if not NULL) names the keyword. */
int smtp_mail_params_parse(const char *s, size_t len, struct smtp_mail_params *out,
                           const char **bad);
int smtp_rcpt_params_parse(const char *s, size_t len, struct smtp_rcpt_params *out,
                           const char **bad);

/* Length of a valid UTF-8 sequence at s (1..4), or 0 if malformed. */
size_t smtp_utf8_seq(const unsigned char *s, size_t len);

#endif
