/* webhook_event: an outcome or an incoming message as JSON, and their
 * event rows (see webhook_event.h). */
#include "relay/webhook_event.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "mime/header.h"
#include "mime/mime.h"
#include "store/store.h"
#include "store/webhooks.h"

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if none. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len = s[0] < 0x80             ? 1
	             : (s[0] & 0xe0) == 0xc0 ? 2
	             : (s[0] & 0xf0) == 0xe0 ? 3
	             : (s[0] & 0xf8) == 0xf0 ? 4
	                                     : 0;
	if (len == 0 || len > n || (len == 2 && s[0] < 0xc2) || (len == 4 && s[0] > 0xf4))
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if (len == 3 && ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0)))
		return 0; /* overlong, surrogate */
	if (len == 4 && ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90)))
		return 0;
	return len;
}

/* Append s as a JSON string (quotes included); invalid UTF-8 becomes U+FFFD. */
static int json_str(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p);
	int rc = buf_add(b, "\"", 1);
	for (size_t i = 0; i < n && rc == 0;) {
		unsigned char c = p[i];
		if (c == '"' || c == '\\') {
			char esc[2] = {'\\', (char)c};
			rc = buf_add(b, esc, 2);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			char esc[8];
			snprintf(esc, sizeof esc, "\\u%04x", c);
			rc = buf_add(b, esc, 6);
			i++;
		} else {
			size_t len = utf8_seq(p + i, n - i);
			if (len == 0) {
				rc = buf_add(b, "\xef\xbf\xbd", 3);
				i++;
			} else {
				rc = buf_add(b, (const char *)p + i, len);
				i += len;
			}
		}
	}
	return rc == 0 ? buf_add(b, "\"", 1) : rc;
}

static int json_raw(struct buf *b, const char *s)
{
	return buf_adds(b, s);
}

char *webhook_event_json(const struct webhook_outcome *o)
{
	struct buf b = {0};
	char num[64];
	int rc = json_raw(&b, "{\"event\":");
	rc = rc ? rc : json_str(&b, o->event);
	rc = rc ? rc : json_raw(&b, ",\"message_id\":");
	if (o->message_id)
		rc = rc ? rc : json_str(&b, o->message_id);
	else {
		snprintf(num, sizeof num, "%lld", (long long)o->store_message_id);
		rc = rc ? rc : json_raw(&b, num);
	}
	snprintf(num, sizeof num, ",\"queue_id\":%lld,\"recipient\":", (long long)o->queue_id);
	rc = rc ? rc : json_raw(&b, num);
	rc = rc ? rc : json_str(&b, o->recipient);
	rc = rc ? rc : json_raw(&b, ",\"sender\":");
	rc = rc ? rc : json_str(&b, o->sender);
	snprintf(num, sizeof num, ",\"smtp\":{\"code\":%d,\"enhanced\":", o->code);
	rc = rc ? rc : json_raw(&b, num);
	rc = rc ? rc : json_str(&b, o->enhanced);
	rc = rc ? rc : json_raw(&b, ",\"reply\":");
	rc = rc ? rc : json_str(&b, o->reply);
	rc = rc ? rc : json_raw(&b, "},\"mta\":");
	rc = rc ? rc : json_str(&b, o->mta);
	snprintf(num, sizeof num, ",\"timestamp\":%lld,\"attempts\":%lld}", (long long)o->timestamp,
	         (long long)o->attempts);
	rc = rc ? rc : json_raw(&b, num);
	if (rc != 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_take(&b);
}

/* Append s[0..n) as a JSON string, cut to at most WEBHOOK_FIELD_MAX bytes
 * at the start of a character (json_str replaces what is not UTF-8). */
static int json_str_cut(struct buf *b, const char *s, size_t n)
{
	if (n > WEBHOOK_FIELD_MAX) {
		n = WEBHOOK_FIELD_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	struct buf t = {0};
	int rc = buf_add(&t, s, n);
	rc = rc ? rc : json_str(b, t.data ? t.data : "");
	buf_free(&t);
	return rc;
}

/* Header fields read raw at most this long: a decoded value longer than
 * WEBHOOK_FIELD_MAX is cut anyway, and encoded words at most triple it. */
#define RAW_FIELD_MAX (4 * WEBHOOK_FIELD_MAX)

/* Append the first field called name in the header of data[0..len) as a
 * JSON string (unfolded, RFC 2047 words decoded), or null when there is
 * none. */
static int json_field(struct buf *b, const char *data, size_t len, const char *name)
{
	size_t pos = 0, nl, vl;
	const char *n, *v;
	while (mime_header_next(data, &pos, len, &n, &nl, &v, &vl) == 1) {
		if (nl != strlen(name) || strncasecmp(n, name, nl) != 0)
			continue;
		struct buf dec = {0};
		int rc = mime_decode_header_value(v, vl < RAW_FIELD_MAX ? vl : RAW_FIELD_MAX, &dec);
		rc = rc ? rc : json_str_cut(b, dec.data ? dec.data : "", dec.len);
		buf_free(&dec);
		return rc;
	}
	return json_raw(b, "null");
}

char *webhook_incoming_json(const struct webhook_incoming *in)
{
	struct buf b = {0};
	char num[96], msgid[512];
	const char *data = in->data ? in->data : "";
	int rc = json_raw(&b, "{\"event\":\"incoming\",\"account\":");
	rc = rc ? rc : json_str(&b, in->account);
	rc = rc ? rc : json_raw(&b, ",\"mailbox\":");
	rc = rc ? rc : json_str(&b, in->nmailboxes ? in->mailboxes[0] : "INBOX");
	rc = rc ? rc : json_raw(&b, ",\"mailboxes\":[");
	for (size_t i = 0; i < in->nmailboxes && rc == 0; i++) {
		if (i)
			rc = json_raw(&b, ",");
		rc = rc ? rc : json_str(&b, in->mailboxes[i]);
	}
	rc = rc ? rc : json_raw(&b, "],\"message_id\":");
	if (webhook_message_id(data, in->len, msgid, sizeof msgid) == 0)
		rc = rc ? rc : json_str(&b, msgid);
	else
		rc = rc ? rc : json_raw(&b, "null");
	rc = rc ? rc : json_raw(&b, ",\"from\":");
	rc = rc ? rc : json_str(&b, in->mail_from);
	rc = rc ? rc : json_raw(&b, ",\"header_from\":");
	rc = rc ? rc : json_field(&b, data, in->len, "From");
	rc = rc ? rc : json_raw(&b, ",\"subject\":");
	rc = rc ? rc : json_field(&b, data, in->len, "Subject");
	snprintf(num, sizeof num, ",\"size\":%zu,\"received_at\":%lld,\"spam\":%s", in->len,
	         (long long)in->received_at, in->spam ? "true" : "false");
	rc = rc ? rc : json_raw(&b, num);
	rc = rc ? rc : json_raw(&b, ",\"authentication_results\":");
	if (in->authres && in->authres_len)
		rc = rc ? rc
		        : json_field(&b, in->authres, in->authres_len, "Authentication-Results");
	else
		rc = rc ? rc : json_raw(&b, "null");
	rc = rc ? rc : json_raw(&b, "}");
	if (rc != 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_take(&b);
}

int webhook_message_id(const char *data, size_t len, char *out, size_t outlen)
{
	static const char name[] = "message-id:";
	size_t nl = sizeof name - 1;
	for (size_t i = 0; i < len;) {
		size_t eol = i;
		while (eol < len && data[eol] != '\n')
			eol++;
		size_t line = eol - i;
		if (line == 0 || (line == 1 && data[i] == '\r'))
			return -1; /* end of the header */
		if (line > nl && strncasecmp(data + i, name, nl) == 0) {
			size_t a = i + nl, z = eol;
			while (a < z && (data[a] == ' ' || data[a] == '\t'))
				a++;
			while (z > a && isspace((unsigned char)data[z - 1]))
				z--;
			if (z == a || outlen == 0 || memchr(data + a, '\0', z - a))
				return -1; /* none, or not text */
			size_t n = z - a < outlen - 1 ? z - a : outlen - 1;
			memcpy(out, data + a, n);
			out[n] = '\0';
			return 0;
		}
		i = eol + 1;
	}
	return -1;
}

struct record_ctx {
	struct store_tx *tx;
	const struct webhook_outcome *o;   /* an outcome's JSON is built from o, */
	const struct webhook_incoming *in; /* an incoming one from in, or json is given */
	const char *event;
	int64_t now;
	const char *json;
	char *owned; /* json when built here */
	int added;
};

/* Does the comma-separated list name event? */
static bool wants(const char *list, const char *event)
{
	size_t n = strlen(event);
	for (const char *p = list; *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == n && strncasecmp(p, event, n) == 0)
			return true;
		p += len + (end ? 1 : 0);
	}
	return false;
}

static int record_cb(void *ud, const struct store_webhook *w)
{
	struct record_ctx *rc = ud;
	if (!wants(w->events, rc->event))
		return 0;
	if (!rc->json) {
		rc->owned = rc->in ? webhook_incoming_json(rc->in) : webhook_event_json(rc->o);
		if (!rc->owned)
			return -ENOMEM;
		rc->json = rc->owned;
	}
	int r = store_webhook_event_add(rc->tx, w->id, rc->json, rc->now);
	if (r == 0)
		rc->added++;
	return r;
}

int webhook_event_record(struct store_tx *tx, const struct webhook_outcome *o)
{
	struct record_ctx rc = {.tx = tx, .o = o, .event = o->event, .now = o->timestamp};
	int r = store_webhooks_of_sender(store_tx_reader(tx), o->sender, record_cb, &rc);
	free(rc.owned);
	return r < 0 ? r : rc.added;
}

int webhook_event_record_json(struct store_tx *tx, const char *sender, const char *event,
                              const char *json, int64_t now)
{
	struct record_ctx rc = {.tx = tx, .event = event, .now = now, .json = json};
	int r = store_webhooks_of_sender(store_tx_reader(tx), sender, record_cb, &rc);
	return r < 0 ? r : rc.added;
}

int webhook_incoming_record(struct store_tx *tx, int64_t account_id,
                            const struct webhook_incoming *in, int64_t now)
{
	struct record_ctx rc = {.tx = tx, .in = in, .event = "incoming", .now = now};
	int r = store_webhooks_incoming(tx, account_id, record_cb, &rc);
	free(rc.owned);
	return r < 0 ? r : rc.added;
}
