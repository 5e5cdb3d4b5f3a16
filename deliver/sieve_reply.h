/* sieve_reply: the message a Sieve vacation action answers with (RFC 5230
 * §5): From the user (or :from), To the envelope sender, the action's
 * Subject, In-Reply-To and References of the original, Auto-Submitted:
 * auto-replied, a fresh Message-ID and Date; the body is the reason, as
 * text/plain UTF-8, or as the MIME entity it is with :mime. It begins
 * with Auto-Submitted:, the line relay/dsn.h's dsn_is_ours() knows, so
 * the relay DKIM-signs it like a DSN (the caller passes a :from only when
 * it is the account's own).
 *
 * The strings come from a script and a message, both untrusted: a field
 * value never carries a CR or LF (they become spaces), a non-ASCII
 * subject is RFC 2047-encoded, every value is cut at a bound, a :from
 * that is not a plain address is replaced by the user's own, and a :mime
 * reason whose header holds anything but Content-* fields goes as text. */
#ifndef TERN_DELIVER_SIEVE_REPLY_H
#define TERN_DELIVER_SIEVE_REPLY_H

#include <stddef.h>
#include <time.h>

struct mime_thread_ids;

struct sieve_reply_params {
	const char *hostname; /* for the Message-ID */
	const char *from;     /* :from, or NULL */
	const char *own;      /* the user's address */
	const char *to;       /* the envelope sender */
	const char *subject;
	const char *reason;
	int mime;                           /* reason is a MIME entity */
	const struct mime_thread_ids *orig; /* the original's ids, or NULL */
	time_t now;
};

/* The message (CRLF, malloc'd, *len its size), or NULL (memory). */
char *sieve_reply_build(const struct sieve_reply_params *p, size_t *len);

#endif
