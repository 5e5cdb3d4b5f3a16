/* lock: one POP3 session per maildrop (RFC 1939 section 8, [IN-USE]).
 *
 * RFC 1939 expects the server to lock the maildrop for the whole
 * TRANSACTION state, so that two sessions never hand out numbers for the
 * same messages and then both apply deletions. tern is one process, so the
 * lock is an in-process set of account ids, loop thread only. A second
 * node sharing the store would need a lock in the store instead; the calls
 * below are the seam.
 */
#ifndef TERN_POP3_LOCK_H
#define TERN_POP3_LOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* true: the caller now holds the lock; false: another session has it (or
 * out of memory, reported the same way: the client retries later). */
bool pop3_lock_acquire(int64_t account_id);
/* Release a lock this caller holds. Releasing an unheld id is a no-op. */
void pop3_lock_release(int64_t account_id);
/* Number of locks held (tests). */
size_t pop3_lock_count(void);

#endif
