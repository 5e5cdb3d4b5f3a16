/* webhook_event: what a webhook is told of one outbound outcome, or of
 * mail delivered into an account.
 *
 * The queue's record job (scheduler.c) calls webhook_event_record() for
 * each recipient it records, inside its own transaction: the event rows
 * commit with the outcome, or neither does. The JSON:
 *
 *   {"event": "delivered"|"delayed"|"bounced", "message_id": "<...>" or
 *    the store's message id as a number when the message has none,
 *    "queue_id", "recipient", "sender", "smtp": {"code", "enhanced",
 *    "reply"}, "mta", "timestamp", "attempts"}
 *
 * The delivery job (deliver/incoming_events.c) calls
 * webhook_incoming_record() for each account a message was filed into, in
 * the transaction that stores it:
 *
 *   {"event": "incoming", "account", "mailbox" (the first one it was
 *    filed into), "mailboxes" (all of them, for this account), "message_id"
 *    (the Message-ID field as written, or null), "from" (the envelope
 *    sender, "" for <>), "header_from" and "subject" (the fields' values
 *    unfolded with their RFC 2047 words decoded to UTF-8, at most
 *    WEBHOOK_FIELD_MAX bytes, or null), "size" (as stored), "received_at",
 *    "spam" (the delivery's junk verdict), "authentication_results" (the
 *    value of the field tern added, or null)}
 *
 * Both are built by hand (the relay floor has no JSON library): every
 * string goes through json_str, which also replaces invalid UTF-8, so a
 * remote host's reply or a sender's header cannot break the document. */
#ifndef TERN_RELAY_WEBHOOK_EVENT_H
#define TERN_RELAY_WEBHOOK_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store_tx;

struct webhook_outcome {
	const char *event;      /* "delivered", "delayed", "bounced" */
	const char *message_id; /* the Message-ID header's value, or NULL */
	int64_t store_message_id;
	int64_t queue_id;
	const char *recipient, *sender;
	int code;
	const char *enhanced, *reply, *mta; /* "" when none */
	int64_t timestamp, attempts;
};

/* Mail delivered into one account. */
struct webhook_incoming {
	const char *account;          /* the account's address */
	const char *const *mailboxes; /* where it went for this account, >= 1 */
	size_t nmailboxes;
	const char *mail_from; /* the envelope sender, "" for <> */
	const char *data;      /* the message as stored: its header is read */
	size_t len;
	int64_t received_at;
	bool spam;
	const char *authres; /* the Authentication-Results field tern added, or NULL */
	size_t authres_len;
};

/* Longest "header_from", "subject" and "authentication_results", in bytes
 * (cut at a character's start). */
#define WEBHOOK_FIELD_MAX 1024

/* The event's JSON (malloc'd), or NULL (out of memory). */
char *webhook_event_json(const struct webhook_outcome *o);
/* The Message-ID field's value in the header of data (the first one, at
 * most outlen - 1 bytes, trimmed), into out: 0, or -1 when there is none. */
int webhook_message_id(const char *data, size_t len, char *out, size_t outlen);
/* Add an event row for every webhook of o->sender that wants o->event:
 * how many were added, or negative (a store error: the transaction
 * fails). */
int webhook_event_record(struct store_tx *tx, const struct webhook_outcome *o);
/* The "incoming" event's JSON (malloc'd), or NULL (out of memory). */
char *webhook_incoming_json(const struct webhook_incoming *in);
/* Add an "incoming" event row, due at now, for every webhook of the
 * account account_id or its domain that wants it (store_webhooks_incoming:
 * nothing is read when no webhook wants "incoming"): how many were added,
 * or negative (a store error: the transaction fails). */
int webhook_incoming_record(struct store_tx *tx, int64_t account_id,
                            const struct webhook_incoming *in, int64_t now);
/* The same with the JSON built beforehand (webhook_event_json(), on the
 * loop), for an event of `event` about mail from sender. */
int webhook_event_record_json(struct store_tx *tx, const char *sender, const char *event,
                              const char *json, int64_t now);

#endif
