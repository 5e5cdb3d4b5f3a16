/* trace: the header fields the submission path adds on top of a message.
 *
 * A message a logged-in user submits gets a Message-ID: and a Date: when
 * the client left them out (RFC 6409 8), whichever protocol it came by.
 * The Received: of an SMTP transaction is SMTP's own (its HELO, TCP-info,
 * "with ESMTPSA": proto/smtp/message.h); a submitter that is not SMTP
 * (JMAP) gets deliver_received_format()'s. */
#ifndef TERN_DELIVER_TRACE_H
#define TERN_DELIVER_TRACE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* RFC 5322 date-time, "Mon, 23 Nov 2026 09:00:00 +0000" (always UTC, in
 * English whatever the locale). The length, 0 if cap is too small. */
size_t deliver_date_format(char *out, size_t cap, time_t t);

/* "Message-ID: <...>\r\n" and "Date: ...\r\n" for those of the two the
 * message (msg, len) lacks, written to out; returns the length (0: both
 * present; a field that does not fit is left out). The Message-ID is
 * "<time.random.id@hostname>" (hostname "" is "localhost"); salt stands in
 * for the random part if getrandom() fails. */
size_t deliver_submission_headers(const char *msg, size_t len, const char *hostname, const char *id,
                                  uint64_t salt, time_t now, char *out, size_t cap);

/* What a submitter that is not SMTP is, for its Received: field. */
struct deliver_trace {
	const char *from;     /* who submitted: "webmail" or the login, printable */
	const char *peer_ip;  /* the client's address, or NULL */
	const char *hostname; /* our name ("" is "localhost") */
	const char *with;     /* the protocol, e.g. "HTTPSA" ... not SMTP's keywords */
	const char *id;       /* the submission's id */
	time_t now;
};

/* "Received: from <from> ([ip]) by <hostname> (tern) with <with> id <id>;
 * <date>\r\n". Characters outside [A-Za-z0-9.-_@+] in from, with and id are
 * written as '_' (a header field must not be split by what a client
 * chose). The length, 0 if cap is too small. */
size_t deliver_received_format(char *out, size_t cap, const struct deliver_trace *t);

#endif
