/* fuzz_webhook_event: the webhook event's two readers of foreign bytes
 * (relay/webhook_event.h): the Message-ID lookup over a message's header,
 * and the JSON built around a remote host's reply and the addresses.
 *
 * The bytes are the message for the lookup, whose answer must fit and
 * come from the input; then split at the first NUL into reply and
 * recipient for the JSON, which jansson must parse back, with the
 * reply's text intact when it was valid UTF-8 without NUL. */
#include "relay/webhook_event.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[64];
	if (webhook_message_id((const char *)data, size, out, sizeof out) == 0) {
		size_t n = strlen(out);
		if (n == 0 || n >= sizeof out || !memmem(data, size, out, n))
			abort();
	}
	char *buf = malloc(size + 2);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = buf[size + 1] = '\0';
	const char *reply = buf;
	const char *rcpt = buf + strlen(buf) + 1;
	if (rcpt > buf + size)
		rcpt = "";
	struct webhook_outcome o = {
	    .event = "delayed",
	    .message_id = size % 2 ? out : NULL,
	    .store_message_id = (int64_t)size,
	    .queue_id = 1,
	    .recipient = rcpt,
	    .sender = reply,
	    .code = 451,
	    .enhanced = "4.0.0",
	    .reply = reply,
	    .mta = rcpt,
	    .timestamp = 0,
	    .attempts = 1,
	};
	if (!(size % 2) || webhook_message_id((const char *)data, size, out, sizeof out) < 0)
		o.message_id = NULL;
	char *j = webhook_event_json(&o);
	if (j) {
		json_error_t err;
		json_t *doc = json_loads(j, 0, &err);
		if (!doc)
			abort();
		const char *back =
		    json_string_value(json_object_get(json_object_get(doc, "smtp"), "reply"));
		if (!back)
			abort();
		json_t *probe = json_string(reply); /* NULL unless valid UTF-8 */
		if (probe && strcmp(back, reply) != 0)
			abort();
		json_decref(probe);
		json_decref(doc);
		free(j);
	}
	free(buf);
	return 0;
}
