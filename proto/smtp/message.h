/* message: what SMTP does with a received message at end of data: the
 * verdict on its spool, and the trace headers it adds.
 *
 * The spool itself (size limit, the process-wide budget, the bare-LF/CR,
 * NUL and 8-bit scan, "normalize") is mime/spool.h, shared with IMAP
 * APPEND; the header fields are read with mime/header.h. */
#ifndef TERN_SMTP_MESSAGE_H
#define TERN_SMTP_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mime/spool.h"
#include "proto/smtp/replies.h"

/* The end-of-data verdict on a spool: SMTP_R_OK, or the reply to send
 * (SMTP_R_TOO_BIG, SMTP_R_NO_SPACE, SMTP_R_BAD_CONTENT, SMTP_R_BARE_NEWLINE),
 * with *why a detail text for the reply. An empty message (no byte at
 * all, "BDAT 0 LAST" or a DATA of just the dot) is SMTP_R_BAD_CONTENT. 8-bit bytes are accepted
 * whether or not MAIL declared BODY=8BITMIME (message.c says why). */
enum smtp_reply_id smtp_msg_check(const struct mime_spool *m, const char **why);

/* What smtp_body_append() carries from one DATA piece to the next. */
struct smtp_body_state {
	char prev;         /* the last byte of the previous piece */
	bool bol_after_lf; /* the previous piece ended with a bare LF */
};

/* Append a piece of a DATA body (conn's dot mode: the body ends only at
 * <CRLF>.<CRLF>, and a '.' that starts a line after a CRLF is already
 * removed) to the spool. When the spool normalizes bare newlines, a bare
 * LF ends a line as CRLF does, so a '.' that starts the line after it is
 * transparency stuffing too (RFC 5321 4.5.2) and is dropped: a client that
 * writes LF lines stuffs them (smtplib does), and "\n..x\n" is the line
 * ".x". Returns mime_spool_append()'s result. st starts zeroed. */
int smtp_body_append(struct mime_spool *m, struct smtp_body_state *st, const char *data,
                     size_t len);

struct smtp_trace {
	const char *helo;    /* HELO/EHLO argument, "" if none */
	const char *peer_ip; /* "127.0.0.1" / "::1" */
	/* The client's FCrDNS-verified name (mx_reputation.h), or NULL; with
	 * peer_checked and no name, TCP-info says "unknown". */
	const char *peer_name;
	bool peer_checked;
	const char *hostname; /* our name */
	bool esmtp;           /* EHLO (else HELO) */
	bool tls;
	bool auth;
	bool utf8;               /* the transaction said SMTPUTF8 */
	const char *tls_version; /* NULL if unknown */
	const char *tls_cipher;
	const char *id;       /* transaction id */
	const char *for_rcpt; /* the one recipient, or NULL */
	time_t now;
};
/* "Received: ...\r\n" in RFC 5321 4.4 form (TCP-info "(name [ip])" when
 * the name was looked up) with the RFC 3848 / RFC 6531
 * protocol (smtp_with_protocol()). Returns the length, 0 if cap is too
 * small. */
size_t smtp_received_format(char *out, size_t cap, const struct smtp_trace *t);
/* The "with" keyword of a transaction: SMTP; ESMTP, ESMTPA, ESMTPS,
 * ESMTPSA (RFC 3848); for an SMTPUTF8 transaction UTF8SMTP, UTF8SMTPA,
 * UTF8SMTPS, UTF8SMTPSA (RFC 6531 4.3). */
const char *smtp_with_protocol(bool esmtp, bool tls, bool auth, bool utf8);

#endif
