/* fuzz_webhook_incoming: the "incoming" webhook event's reader of foreign
 * bytes (relay/webhook_event.h): a received message's header (Message-ID,
 * From and Subject, RFC 2047 words decoded, a long value cut) and the
 * Authentication-Results field, turned into JSON.
 *
 * The input is the message; from its first NUL on it is also the
 * Authentication-Results text. jansson must parse the JSON back, with
 * header_from and subject strings or null, never longer than
 * WEBHOOK_FIELD_MAX bytes. */
#include "relay/webhook_event.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_field(json_t *doc, const char *name)
{
	json_t *v = json_object_get(doc, name);
	if (!v)
		abort();
	if (json_is_null(v))
		return;
	if (!json_is_string(v) || json_string_length(v) > WEBHOOK_FIELD_MAX)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *msg = (const char *)data;
	const char *nul = memchr(msg, '\0', size);
	char *box = malloc(size + 1); /* a mailbox name and a sender from the input too */
	if (!box)
		return 0;
	memcpy(box, data, size);
	box[size] = '\0';
	const char *boxes[] = {"INBOX", box};
	struct webhook_incoming in = {
	    .account = "bob@t.test",
	    .mailboxes = boxes,
	    .nmailboxes = 2,
	    .mail_from = box,
	    .data = msg,
	    .len = size,
	    .received_at = (int64_t)size,
	    .spam = size % 2,
	    .authres = nul ? nul + 1 : NULL,
	    .authres_len = nul ? size - (size_t)(nul + 1 - msg) : 0,
	};
	char *j = webhook_incoming_json(&in);
	if (j) {
		json_error_t err;
		json_t *doc = json_loads(j, 0, &err);
		if (!doc)
			abort();
		check_field(doc, "header_from");
		check_field(doc, "subject");
		check_field(doc, "authentication_results");
		json_t *mid = json_object_get(doc, "message_id");
		if (!mid || !(json_is_null(mid) || json_is_string(mid)))
			abort();
		if (json_integer_value(json_object_get(doc, "size")) != (json_int_t)size)
			abort();
		json_decref(doc);
		free(j);
	}
	free(box);
	return 0;
}
