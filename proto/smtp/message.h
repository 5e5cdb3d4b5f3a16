/* message: the DATA/BDAT spool of one SMTP transaction and the header work
 * done at end of data (checks, trace headers, From: extraction).
 *
 * The spool is a growing RAM buffer with a hard limit: bytes past the
 * limit are counted but not kept, so a client that ignores SIZE costs us at
 * most the limit. All spools of the process together have a budget
 * (smtp_spool_set_budget, [smtp] spool_memory): a message that would go
 * over it is read to its end and answered 452 4.3.1, so many clients
 * sending big messages at once get "try later", not an exhausted server. (DESIGN.md's "spill to a
 * temp file" is not needed while store_deliver() takes the message as one buffer; the limit bounds
 * it.)
 *
 * Every byte is scanned as it arrives for bare LF, bare CR, NUL and 8-bit
 * bytes, across piece boundaries, for DATA and BDAT alike. With the
 * "normalize" bare-newline policy, a bare LF or bare CR is stored as CRLF. */
#ifndef TERN_SMTP_MESSAGE_H
#define TERN_SMTP_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "proto/smtp/replies.h"

#define SMTP_MSG_BARE_LF 0x1u
#define SMTP_MSG_BARE_CR 0x2u
#define SMTP_MSG_NUL 0x4u
#define SMTP_MSG_8BIT 0x8u

struct smtp_msg {
	char *buf;
	size_t len, cap;
	size_t max;     /* limit on stored bytes */
	uint64_t seen;  /* bytes received (after normalization), even past the limit */
	bool normalize; /* store bare LF / bare CR as CRLF */
	bool prev_cr;   /* the last byte seen was a CR not yet followed by anything */
	bool no_space;  /* the spool budget (or memory) ran out: the rest was dropped */
	unsigned flags; /* SMTP_MSG_* seen so far */
};

/* The most all spools together may hold (default: no limit). Loop thread. */
void smtp_spool_set_budget(size_t bytes);
size_t smtp_spool_in_use(void);

void smtp_msg_init(struct smtp_msg *m, size_t max, bool normalize);
/* Append a piece. Returns 0, or -ENOMEM. Over the limit, bytes are dropped
 * and smtp_msg_too_big() becomes true. */
int smtp_msg_append(struct smtp_msg *m, const char *data, size_t len);
/* The body is complete: a trailing lone CR becomes a bare CR. */
int smtp_msg_end(struct smtp_msg *m);
bool smtp_msg_too_big(const struct smtp_msg *m);
void smtp_msg_free(struct smtp_msg *m);

/* The end-of-data verdict: SMTP_R_OK, or the reply to send (SMTP_R_TOO_BIG,
 * SMTP_R_BAD_CONTENT, SMTP_R_BARE_NEWLINE), with *why a detail text for the reply. */
enum smtp_reply_id smtp_msg_check(const struct smtp_msg *m, bool allow_8bit, const char **why);

/* Header fields of a message, in order. *pos starts at 0. Returns 1 with
 * the field filled, 0 at the end of the header section, -1 if the header
 * is malformed (a line that is neither "name:" nor a continuation). */
struct smtp_header {
	const char *name;
	size_t name_len;
	const char *value; /* after the colon, folding included, line end excluded */
	size_t value_len;
};
int smtp_header_next(const char *data, size_t len, size_t *pos, struct smtp_header *h);
/* Whole header section well-formed? 0 or -1. */
int smtp_header_check(const char *data, size_t len);
/* Number of fields with that name (case-insensitive), or -1 if malformed. */
int smtp_header_count(const char *data, size_t len, const char *name);

/* The addr-specs of an RFC 5322 address-list / mailbox-list field value
 * (display names, comments, groups and angle brackets stripped). cb gets
 * each one (not NUL-terminated) and returns 0 to go on. Returns the number
 * found, or -1 if the value is unparsable, or cb's non-zero value. */
int smtp_header_addresses(const char *value, size_t len,
                          int (*cb)(void *ud, const char *addr, size_t alen), void *ud);

/* RFC 5322 date-time, "Mon, 23 Nov 2026 09:00:00 +0000" (always UTC, in
 * English whatever the locale). */
size_t smtp_date_format(char *out, size_t cap, time_t t);

struct smtp_trace {
	const char *helo;     /* HELO/EHLO argument, "" if none */
	const char *peer_ip;  /* "127.0.0.1" / "::1" */
	const char *hostname; /* our name */
	bool esmtp;           /* EHLO (else HELO) */
	bool tls;
	bool auth;
	const char *tls_version; /* NULL if unknown */
	const char *tls_cipher;
	const char *id;       /* transaction id */
	const char *for_rcpt; /* the one recipient, or NULL */
	time_t now;
};
/* "Received: ...\r\n" in RFC 5321 4.4 form with the RFC 3848 protocol
 * (SMTP, ESMTP, ESMTPA, ESMTPS, ESMTPSA). Returns the length, 0 if cap is
 * too small. */
size_t smtp_received_format(char *out, size_t cap, const struct smtp_trace *t);
/* The RFC 3848 "with" keyword for a session. */
const char *smtp_with_protocol(bool esmtp, bool tls, bool auth);

#endif
