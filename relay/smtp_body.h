/* smtp_body: what the outbound client needs to know about, and do to, a message.
 *
 * smtp_body_stuff() produces the DATA form of a message: every line that
 * starts with "." gets another ".", bare LF becomes CRLF, the last line is
 * terminated, and "." CRLF ends it (RFC 5321 4.5.2). BDAT sends the bytes
 * as they are.
 *
 * smtp_body_analyze() looks for 8-bit bytes (header and body separately:
 * 8-bit headers are an internationalized message that needs SMTPUTF8,
 * RFC 6532; an 8-bit body needs 8BITMIME) and counts Received: headers for
 * loop detection. */
#ifndef TERN_SMTP_CLIENT_BODY_H
#define TERN_SMTP_CLIENT_BODY_H

#include <stdbool.h>
#include <stddef.h>

struct smtp_body_info {
	bool header_8bit;
	bool body_8bit;
	unsigned received; /* count of Received: header fields */
	size_t header_len; /* bytes up to and including the blank line */
};

void smtp_body_analyze(const char *data, size_t len, struct smtp_body_info *out);

/* Returns a malloc'ed dot-stuffed copy ending in ".\r\n" (its length in
 * *out_len), or NULL when out of memory. */
char *smtp_body_stuff(const char *data, size_t len, size_t *out_len);

/* True if s has a byte >= 0x80. */
bool smtp_is_8bit(const char *s);

#endif
