/* replies: every SMTP reply tern sends, with its RFC 3463 enhanced code, in
 * one table (replies.c).
 *
 * Session code names a reply by its id and never spells a code by hand, so
 * the codes a client can see are all listed in one place and a test can walk
 * them. The text of an entry may be replaced by a detail string (a reason,
 * the host name); code and enhanced code never change. */
#ifndef TERN_SMTP_REPLIES_H
#define TERN_SMTP_REPLIES_H

#include <stddef.h>

enum smtp_reply_id {
	SMTP_R_GREETING,        /* 220 (no enhanced code), detail = "<host> ESMTP tern" */
	SMTP_R_TLS_GO,          /* 220 2.0.0 */
	SMTP_R_BYE,             /* 221 2.0.0 */
	SMTP_R_AUTH_OK,         /* 235 2.7.0 */
	SMTP_R_HELO,            /* 250 (no enhanced code), detail = host name */
	SMTP_R_OK,              /* 250 2.0.0 */
	SMTP_R_SENDER_OK,       /* 250 2.1.0 */
	SMTP_R_RCPT_OK,         /* 250 2.1.5 */
	SMTP_R_QUEUED,          /* 250 2.0.0, detail = "Ok: queued as <id>" */
	SMTP_R_CHUNK_OK,        /* 250 2.0.0, BDAT chunk received */
	SMTP_R_BURL_MORE,       /* 250 2.5.0, a BURL without LAST resolved (RFC 4468 6) */
	SMTP_R_VRFY,            /* 252 2.5.0 */
	SMTP_R_VRFY_OK,         /* 250 2.1.5, detail = <address> ([smtp] vrfy = true) */
	SMTP_R_EXPN,            /* 502 5.5.1 */
	SMTP_R_HELP,            /* 214 2.0.0 */
	SMTP_R_AUTH_CHALLENGE,  /* 334 (no enhanced code), detail = base64 challenge */
	SMTP_R_DATA_GO,         /* 354 (no enhanced code) */
	SMTP_R_TIMEOUT,         /* 421 4.4.2 */
	SMTP_R_SHUTDOWN,        /* 421 4.4.2 */
	SMTP_R_TOO_MANY_ERRORS, /* 421 4.7.0 */
	SMTP_R_STORE_FAIL,      /* 451 4.3.0 */
	SMTP_R_DMARC_TEMPFAIL,  /* 451 4.4.3 the DMARC policy lookup failed for now (judge.h) */
	SMTP_R_NO_SPACE,        /* 452 4.3.1 (the spool budget is used up) */
	SMTP_R_TOO_MANY_RCPTS,  /* 452 4.5.3 */
	SMTP_R_MAILBOX_FULL,    /* 452 4.2.2 (the account's quota is used up) */
	SMTP_R_AUTH_TEMPFAIL,   /* 454 4.7.0 */
	SMTP_R_TLS_UNAVAIL,     /* 454 4.7.0 */
	SMTP_R_UNKNOWN_CMD,     /* 500 5.5.2 */
	SMTP_R_LINE_TOO_LONG,   /* 500 5.5.6 */
	SMTP_R_SYNTAX,          /* 501 5.5.4 */
	SMTP_R_SENDER_SYNTAX,   /* 501 5.1.7 */
	SMTP_R_RCPT_SYNTAX,     /* 501 5.1.3 */
	SMTP_R_BASE64,          /* 501 5.5.2 */
	SMTP_R_AUTH_CANCELLED,  /* 501 5.7.0 */
	SMTP_R_NOT_IMPL,        /* 502 5.5.1 */
	SMTP_R_WRONG_PROTO,     /* 502 5.7.0 (an HTTP request: the connection is closed) */
	SMTP_R_BAD_SEQUENCE,    /* 503 5.5.1 */
	SMTP_R_ALREADY_AUTH,    /* 503 5.5.1 */
	SMTP_R_AUTH_DISABLED,   /* 503 5.5.1 (no AUTH on this listener) */
	SMTP_R_AUTH_MECH,       /* 504 5.5.4 */
	SMTP_R_AUTH_REQUIRED,   /* 530 5.7.0 */
	SMTP_R_AUTH_FAILED,     /* 535 5.7.8 */
	SMTP_R_AUTH_NEED_TLS,   /* 538 5.7.11 */
	SMTP_R_NO_SUCH_USER,    /* 550 5.1.1 */
	SMTP_R_ALIAS_LOOP,      /* 550 5.4.6 */
	SMTP_R_DMARC_REJECT,    /* 550 5.7.1 DMARC fail, p=reject (judge.h) */
	SMTP_R_TOO_BIG,         /* 552 5.3.4 */
	SMTP_R_NOT_OWNED,       /* 553 5.7.1 */
	SMTP_R_UTF8_REQUIRED,   /* 553 5.6.7 */
	SMTP_R_RELAY_DENIED,    /* 554 5.7.1 */
	SMTP_R_BARE_NEWLINE,    /* 554 5.5.2 */
	SMTP_R_BAD_CONTENT,     /* 554 5.6.0 (NUL, broken header, empty message) */
	SMTP_R_EARLY_TALKER,    /* 554 5.5.1 */
	SMTP_R_SPAM_DEFER,      /* 451 4.7.1 rspamd: soft reject, greylist */
	SMTP_R_SPAM_REJECT,     /* 550 5.7.1 rspamd: reject */
	SMTP_R_SIEVE_REJECT,    /* 550 5.7.1 the recipient's Sieve reject, detail = its reason */
	SMTP_R_LISTED,          /* 554 5.7.1, detail = "<ip> listed by <zone>" (mx_reputation.h) */
	SMTP_R_BURL_NO_RCPT,    /* 554 5.5.0 BURL and no recipient accepted */
	SMTP_R_BURL_TOO_BIG,    /* 554 5.3.4 the message after the URL is over SIZE */
	SMTP_R_BURL_FAILED,     /* 554 5.6.6 the URL named nothing that could be read */
	SMTP_R_BURL_AUTH,       /* 554 5.7.0 the URL's URLAUTH did not verify */
	SMTP_R_BURL_TRUST,      /* 554 5.7.8 the URL names another server */
	SMTP_R_PARAM_UNKNOWN,   /* 555 5.5.4 */
	SMTP_R_COUNT
};

struct smtp_reply_def {
	int code;
	const char *enh;  /* "" for replies that carry none (greeting, 334, 354) */
	const char *text; /* default text */
};

const struct smtp_reply_def *smtp_reply_def(enum smtp_reply_id id);

/* Format one reply line "<code> <enh> <text>\r\n" into buf (truncating the
 * text, never the CRLF). detail replaces the default text when non-NULL.
 * Returns the length written (excluding the NUL). */
size_t smtp_reply_format(char *buf, size_t buflen, enum smtp_reply_id id, const char *detail);

#endif
