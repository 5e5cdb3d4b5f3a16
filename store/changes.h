/* changes: what changed in an account's mail since a state a client was
 * given, for JMAP's Email/changes and Thread/changes (RFC 8620 §5.2).
 *
 * tern keeps no change log. A state is instead described by a mark per
 * mailbox (id, UIDVALIDITY, HIGHESTMODSEQ, UIDNEXT) taken when the state
 * string was handed out; with the per-mailbox modseqs and the `expunged`
 * rows (which name their message since schema 17) that is enough to tell
 * which messages were touched since, and whether each existed then and
 * exists now:
 *
 *   touched  = entries with modseq > mark.highestmodseq (every entry of a
 *              mailbox the marks do not name), and expunged rows with
 *              modseq > mark.highestmodseq
 *   existed  = an entry of the message in a marked mailbox with
 *              uid < mark.uidnext that is still there, or was expunged
 *              after mark.highestmodseq
 *   exists   = any entry of the message in the account now
 *
 * A marked mailbox that is gone or has another UIDVALIDITY, or an expunged
 * row without its message (written before schema 17), makes the changes
 * unknowable: -ESTALE, and the client refetches. Reads only, on the
 * reader's connection; run them inside store_read_begin() so the marks
 * of "now" and the changes agree. */
#ifndef TERN_STORE_CHANGES_H
#define TERN_STORE_CHANGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store_rd;

/* One mailbox as it stood when a state was handed out. */
struct store_mailbox_mark {
	int64_t mailbox_id;
	int64_t highestmodseq;
	uint32_t uidvalidity;
	uint32_t uidnext;
};

/* The account's mailboxes now, by ascending mailbox id. *v malloc'd
 * (NULL when *n is 0). 0 or a negative errno. */
int store_mailbox_marks(struct store_rd *rd, int64_t account_id, struct store_mailbox_mark **v,
                        size_t *n);

/* The Email/Thread state string of these marks: the same string
 * store_email_state() reads ("<sum of modseqs>.<mailboxes>.<sum of
 * uidvalidities>" in hex). 0, or -ENOSPC when out is too small. */
int store_marks_state(const struct store_mailbox_mark *v, size_t n, char *out, size_t outlen);

/* One touched message, or one touched thread. */
struct store_change {
	int64_t id;        /* message id (threads: thread id) */
	int64_t thread_id; /* the message's thread (threads: the thread id) */
	bool existed;      /* at the marks */
	bool exists;       /* now */
};

/* The messages of account_id touched since the marks `since` (n of them,
 * ascending mailbox ids), ascending by id, each once with existed/exists
 * as described above (messages that neither existed nor exist are left
 * out). *out malloc'd (NULL when *nout is 0). 0, -ESTALE (cannot be
 * calculated), or a negative errno. */
int store_email_changes(struct store_rd *rd, int64_t account_id,
                        const struct store_mailbox_mark *since, size_t n, struct store_change **out,
                        size_t *nout);

/* The same at thread level: the threads of the touched messages,
 * ascending by thread id; a thread existed when one of its messages did,
 * exists when one of its messages does. */
int store_thread_changes(struct store_rd *rd, int64_t account_id,
                         const struct store_mailbox_mark *since, size_t n,
                         struct store_change **out, size_t *nout);

#endif
