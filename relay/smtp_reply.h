/* smtp_reply: assembling multi-line SMTP replies and reading EHLO keywords.
 *
 * A reply is one or more lines "xyz-text" ending with "xyz text" (or a bare
 * "xyz"). smtp_reply_feed() takes one line at a time and says when a reply
 * is complete; the reply keeps the code, the enhanced status code when the
 * first line carries one (RFC 3463 "x.y.z"), and the text of every line
 * joined with "; " (bounded: long replies are truncated, never grown). */
#ifndef TERN_SMTP_CLIENT_REPLY_H
#define TERN_SMTP_CLIENT_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SMTP_REPLY_TEXT 512
#define SMTP_REPLY_MAX_LINES 100

struct smtp_reply {
	int code;          /* 100..599, 0 while incomplete */
	char enhanced[16]; /* "5.1.1" or "" */
	char text[SMTP_REPLY_TEXT];
	size_t nlines;
	bool error; /* a malformed line was seen */
};

/* Feed one line (without CRLF). Returns 1 when the reply is complete, 0 if
 * more lines follow, -1 on a malformed line (code mismatch, no digits, too
 * many lines): the reply is then marked error and complete. Call
 * smtp_reply_reset() before the first line of the next reply. */
int smtp_reply_feed(struct smtp_reply *r, const char *line, size_t len);
void smtp_reply_reset(struct smtp_reply *r);
/* Fill a synthetic reply (for local failures: timeouts, refused TLS...). */
void smtp_reply_set(struct smtp_reply *r, int code, const char *enhanced, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* EHLO extensions we use. */
enum {
	SMTP_EXT_STARTTLS = 1u << 0,
	SMTP_EXT_PIPELINING = 1u << 1,
	SMTP_EXT_SIZE = 1u << 2,
	SMTP_EXT_8BITMIME = 1u << 3,
	SMTP_EXT_SMTPUTF8 = 1u << 4,
	SMTP_EXT_DSN = 1u << 5,
	SMTP_EXT_CHUNKING = 1u << 6,
	SMTP_EXT_AUTH_PLAIN = 1u << 7,
	SMTP_EXT_AUTH_LOGIN = 1u << 8,
	SMTP_EXT_ENHANCED = 1u << 9,
};

/* One EHLO response line's text (after "250-"/"250 "): ORs its extension
 * into *ext; SIZE's argument goes to *max_size (0 = no limit given). */
void smtp_ehlo_keyword(const char *text, size_t len, unsigned *ext, uint64_t *max_size);

#endif
