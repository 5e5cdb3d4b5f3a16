/* incoming_events: the "incoming" webhook events of a local delivery.
 *
 * Why here: an event must commit with the message it tells of, so it is
 * written by the delivery job itself (job.c), in the transaction that
 * stores the local entries, after Sieve chose their mailboxes. Then a
 * 250 (or the send API's 200) means the message and its events are both
 * on disk, a kill -9 at any point leaves both or neither, and a message
 * that was not stored (rejected, discarded, rolled back) has none.
 *
 * Only the submission path's job writes them: SMTP (from outside or
 * submitted to a local account, an alias's local targets included),
 * JMAP's EmailSubmission and the send API to a local recipient, and a
 * Sieve redirect to a local account. IMAP APPEND and JMAP's Email/import
 * and Email/set are the user's own doing and tell nobody; the DSNs and
 * vacation replies tern writes itself (relay/dsn_deliver.c) neither. */
#ifndef TERN_DELIVER_INCOMING_EVENTS_H
#define TERN_DELIVER_INCOMING_EVENTS_H

struct store_tx;
struct deliver_job;

/* Writer thread, in the job's transaction after store_deliver() wrote
 * j's local entries (j->mbids set): one event per account the message
 * went into, for each webhook of that account or its domain that wants
 * "incoming". When no webhook wants "incoming" this reads nothing but
 * the store's cached answer (store_webhooks_incoming). How many events
 * were added, or the store's negative error (the job fails with it). */
int deliver_incoming_events(struct store_tx *tx, const struct deliver_job *j);

#endif
