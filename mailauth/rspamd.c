/* rspamd: request headers and reply parsing for rspamd's /checkv2; see
 * rspamd.h. */
#include "mailauth/rspamd.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static const char *const action_names[] = {
    [RSPAMD_NO_ACTION] = "no action",     [RSPAMD_GREYLIST] = "greylist",
    [RSPAMD_ADD_HEADER] = "add header",   [RSPAMD_REWRITE_SUBJECT] = "rewrite subject",
    [RSPAMD_SOFT_REJECT] = "soft reject", [RSPAMD_REJECT] = "reject",
    [RSPAMD_UNKNOWN] = "unknown",
};

enum rspamd_action rspamd_action_parse(const char *name)
{
	for (int i = 0; i < RSPAMD_UNKNOWN; i++)
		if (strcmp(name, action_names[i]) == 0)
			return (enum rspamd_action)i;
	return RSPAMD_UNKNOWN;
}

const char *rspamd_action_name(enum rspamd_action a)
{
	return (unsigned)a <= RSPAMD_UNKNOWN ? action_names[a] : "unknown";
}

/* Append "Name: value\r\n" with value's control characters dropped; false
 * (nothing appended) if it does not fit. */
static bool add(char *out, size_t cap, size_t *o, const char *name, const char *value)
{
	size_t start = *o, n = strlen(name);
	if (!value)
		return true;
	if (start + n + 2 >= cap) {
		out[start] = '\0';
		return false;
	}
	memcpy(out + *o, name, n);
	*o += n;
	out[(*o)++] = ':';
	out[(*o)++] = ' ';
	for (const char *p = value; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20 || c == 0x7f)
			continue;
		if (*o + 3 >= cap) {
			*o = start;
			out[start] = '\0';
			return false;
		}
		out[(*o)++] = (char)c;
	}
	out[(*o)++] = '\r';
	out[(*o)++] = '\n';
	out[*o] = '\0';
	return true;
}

size_t rspamd_request_headers(const struct rspamd_envelope *e, char *out, size_t cap)
{
	size_t o = 0;
	if (cap == 0)
		return 0;
	out[0] = '\0';
	if (!add(out, cap, &o, "IP", e->ip) || !add(out, cap, &o, "Helo", e->helo) ||
	    !add(out, cap, &o, "Hostname", e->hostname) ||
	    !add(out, cap, &o, "From", e->mail_from) ||
	    !add(out, cap, &o, "Queue-Id", e->queue_id) || !add(out, cap, &o, "User", e->user)) {
		out[0] = '\0';
		return 0;
	}
	for (size_t i = 0; i < e->nrcpts; i++)
		if (!add(out, cap, &o, "Rcpt", e->rcpts[i]))
			break;
	return o;
}

int rspamd_parse_reply(const char *body, size_t len, struct rspamd_result *out)
{
	memset(out, 0, sizeof *out);
	out->action = RSPAMD_UNKNOWN;
	json_error_t err;
	json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
	if (!root)
		return -1;
	int rc = -1;
	json_t *a = json_object_get(root, "action");
	if (json_is_string(a)) {
		out->action = rspamd_action_parse(json_string_value(a));
		rc = out->action == RSPAMD_UNKNOWN ? -1 : 0;
	}
	json_t *v = json_object_get(root, "score");
	if (json_is_number(v))
		out->score = json_number_value(v);
	v = json_object_get(root, "required_score");
	if (json_is_number(v))
		out->required_score = json_number_value(v);
	v = json_object_get(root, "subject");
	if (json_is_string(v))
		snprintf(out->subject, sizeof out->subject, "%s", json_string_value(v));
	json_decref(root);
	return rc;
}
