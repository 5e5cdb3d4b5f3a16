/* state_snapshots: what each recent state string handed to a client
 * stood for, so a /changes call can work out what changed since it
 * (RFC 8620 §5.2) without a change log in the store.
 *
 * Whenever a method puts a state string into a response (the /get, /set,
 * /query and /changes answers, and so the EventSource push, which reads
 * its states through those methods), it records the snapshot behind it
 * here: for Email and Thread the mailbox marks of store/changes.h, for
 * Mailbox a few fields per mailbox. The snapshots live in memory only: a
 * small ring per account and kind (JMAP_SNAPSHOTS_PER_ACCOUNT, the least
 * recently used goes), bounded overall in count and bytes. A state that is
 * not (or no longer) here, after a restart too, gets cannotCalculateChanges
 * and the client refetches, which RFC 8620 allows.
 *
 * A state string recorded twice with different snapshots (the Email state
 * is a sum of modseqs, so two different stores could in principle give the
 * same string) is ambiguous: it is kept as unknown from then on. */
#ifndef TERN_JMAP_STATE_SNAPSHOTS_H
#define TERN_JMAP_STATE_SNAPSHOTS_H

#include <stddef.h>
#include <stdint.h>

enum jmap_snapshot_kind {
	JMAP_SNAPSHOT_EMAIL = 1, /* Email and Thread (one state string) */
	JMAP_SNAPSHOT_MAILBOX = 2,
	JMAP_SNAPSHOT_ADDRESSBOOK = 3, /* address_book.c: each book's id and a hash */
};

#define JMAP_SNAPSHOTS_PER_ACCOUNT 32
#define JMAP_SNAPSHOTS_MAX 1024
#define JMAP_SNAPSHOTS_MAX_BYTES ((size_t)32 << 20)

/* Records (a copy of) data as what state stands for. Nothing is recorded
 * when memory runs short: the state is then merely unknown later. */
void jmap_snapshot_put(int64_t account_id, enum jmap_snapshot_kind kind, const char *state,
                       const void *data, size_t len);

/* A malloc'd copy of the data recorded for state (*len its size), or NULL
 * when the state is unknown (never recorded, evicted, ambiguous) or
 * memory runs short. */
void *jmap_snapshot_get(int64_t account_id, enum jmap_snapshot_kind kind, const char *state,
                        size_t *len);

/* A state string no real state can equal, for an intermediate state
 * (hasMoreChanges): base + "-" + a counter, into out (outlen bytes).
 * 0, or -ENOSPC. */
int jmap_snapshot_intermediate(const char *base, char *out, size_t outlen);

/* Forgets everything (tests, shutdown). */
void jmap_snapshot_clear(void);

#endif
