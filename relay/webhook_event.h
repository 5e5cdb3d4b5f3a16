/* webhook_event: what a webhook is told of one outbound outcome.
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
 * built by hand (the relay floor has no JSON library): every string goes
 * through json_escape, which also replaces invalid UTF-8, so a remote
 * host's reply cannot break the document. */
#ifndef TERN_RELAY_WEBHOOK_EVENT_H
#define TERN_RELAY_WEBHOOK_EVENT_H

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

/* The event's JSON (malloc'd), or NULL (out of memory). */
char *webhook_event_json(const struct webhook_outcome *o);
/* The Message-ID field's value in the header of data (the first one, at
 * most outlen - 1 bytes, trimmed), into out: 0, or -1 when there is none. */
int webhook_message_id(const char *data, size_t len, char *out, size_t outlen);
/* Add an event row for every webhook of o->sender that wants o->event:
 * how many were added, or negative (a store error: the transaction
 * fails). */
int webhook_event_record(struct store_tx *tx, const struct webhook_outcome *o);
/* The same with the JSON built beforehand (webhook_event_json(), on the
 * loop), for an event of `event` about mail from sender. */
int webhook_event_record_json(struct store_tx *tx, const char *sender, const char *event,
                              const char *json, int64_t now);

#endif
