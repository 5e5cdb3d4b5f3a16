/* threads: which conversation a message belongs to — IMAP's THREADID
 * (RFC 8474) and, later, JMAP's threadId (RFC 8621), the same number.
 *
 * A message joins a thread when it is stored (delivery, APPEND, a DSN),
 * once per account that gets it, and keeps that thread for good: RFC 8474
 * forbids a THREADID to change once reported, so threads never merge or
 * split afterwards. The keys are its Message-ID and the ids it refers to
 * (In-Reply-To, References), which the caller has read from the header
 * (mime/msgid.h): the store does not parse mail. Subjects are not used,
 * as in JMAP.
 *
 * thread_refs maps (account, Message-ID) -> thread for every id seen in
 * either role, so the order of arrival does not matter: a reply that
 * comes first records its parent's id, and the parent then finds it. A
 * new thread is numbered with the id of the message that starts it:
 * message ids are never reused (schema 10), so neither are thread ids. */
#ifndef TERN_STORE_THREADS_H
#define TERN_STORE_THREADS_H

#include <stddef.h>
#include <stdint.h>

struct store_tx;

/* Bounds on what a message may bring (longer ids are ignored; parents
 * past the first STORE_THREAD_MAX_PARENTS are not looked at). */
#define STORE_THREAD_MAX_PARENTS 32
#define STORE_THREAD_MAX_ID 250

struct store_thread_keys {
	const char *message_id;     /* its own Message-ID without <>, or NULL */
	const char *const *parents; /* In-Reply-To, then References last to first */
	size_t nparents;
};

/* The thread of message_id in account_id: the thread of the first of its
 * own Message-ID, then its parents, that the account has seen; else a new
 * thread numbered message_id. Every key is then recorded for that thread
 * (those already known keep theirs). keys may be NULL (a thread of its
 * own). Writer only. Returns 0 with *thread_id set, or negative. */
int store_thread_assign(struct store_tx *tx, int64_t account_id, int64_t message_id,
                        const struct store_thread_keys *keys, int64_t *thread_id);

#endif
