/* msgid: the Message-ID, In-Reply-To and References of a message, read
 * from its raw header, as the keys that thread it (store/threads.h).
 *
 * Why here and not in store/: the store does not parse mail. The callers
 * that store a message (SMTP delivery, IMAP APPEND, the relay's DSNs)
 * have its bytes in memory and read these three fields on their own
 * thread before the store job, so the writer thread does no parsing.
 *
 * An id is the text between < and > (RFC 5322 msg-id), without them;
 * comments are skipped; ids with white space inside, empty ones and ones
 * longer than MIME_MSGID_MAX are dropped. Everything lives inside the
 * struct: no allocation, bounded whatever the header holds. */
#ifndef TERN_MIME_MSGID_H
#define TERN_MIME_MSGID_H

#include <stddef.h>

#define MIME_MSGID_MAX 250
#define MIME_MSGID_MAX_PARENTS 32

struct mime_thread_ids {
	const char *message_id; /* NULL when the message has none */
	/* In-Reply-To's first id, then References from last to first (the
	 * nearest ancestor first), duplicates dropped; at most
	 * MIME_MSGID_MAX_PARENTS (the nearest ones are kept). */
	const char *parents[MIME_MSGID_MAX_PARENTS];
	size_t nparents;
	char buf[(MIME_MSGID_MAX + 1) * (MIME_MSGID_MAX_PARENTS + 1)];
	size_t used;
};

/* Read the header of msg[0..len) (up to the blank line) into *out. */
void mime_thread_ids_read(const char *msg, size_t len, struct mime_thread_ids *out);

#endif
