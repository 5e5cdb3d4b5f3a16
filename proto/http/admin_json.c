/* admin_json: the admin API's JSON, in and out.
 *
 * In: a body must say it is JSON (Content-Type: application/json, 415
 * otherwise) and be one object. Members the endpoint does not know are
 * refused (400 naming the member), not ignored: a misspelt "pasword"
 * must not create an account with no password change applied, and a
 * client that sends a field this version does not know learns it at
 * once. Duplicate members are refused too (JSON_REJECT_DUPLICATES).
 * Out: compact JSON, times in RFC 3339 UTC, never a password hash. */
#include "proto/http/admin_json.h"
#include "proto/http/http_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "store/accounts.h"
#include "store/dkim.h"
#include "store/queue.h"

void http_json_respond(struct http_session *s, int status, json_t *body, const char *extra)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (!text) {
		static const char oom[] = "{\"error\":\"out of memory\"}\n";
		http_respond(s, 500, "application/json", extra, oom, sizeof oom - 1,
		             HTTP_R_NOSTORE);
		return;
	}
	size_t len = strlen(text);
	char *line = realloc(text, len + 2);
	if (line) {
		text = line;
		text[len++] = '\n';
		text[len] = '\0';
	}
	http_respond(s, status, "application/json", extra, text, len, HTTP_R_NOSTORE);
	free(text);
}

void http_json_error(struct http_session *s, int status, const char *msg, const char *extra)
{
	http_json_respond(s, status, json_pack("{s:s}", "error", msg), extra);
}

json_t *http_json_time(int64_t t)
{
	if (t <= 0)
		return json_null();
	time_t tt = (time_t)t;
	struct tm tm;
	char out[32];
	gmtime_r(&tt, &tm);
	strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(out);
}

static json_t *str_or_null(const char *v)
{
	return v ? json_string(v) : json_null();
}

json_t *http_json_user(const struct store_account *a)
{
	return json_pack("{s:s, s:b, s:I, s:o}", "address", a->address, "disabled",
	                 a->disabled != 0, "quota_bytes", (json_int_t)a->quota_bytes, "created",
	                 http_json_time(a->created));
}

json_t *http_json_queue_row(const struct store_queue_row *r)
{
	json_t *o =
	    json_pack("{s:I, s:I, s:s, s:s, s:I, s:I}", "id", (json_int_t)r->id, "message_id",
	              (json_int_t)r->message_id, "from", r->mail_from, "to", r->rcpt, "size",
	              (json_int_t)r->size, "attempts", (json_int_t)r->attempts);
	if (!o)
		return NULL;
	json_object_set_new(o, "created", http_json_time(r->created));
	json_object_set_new(o, "next_attempt", http_json_time(r->next_attempt));
	json_object_set_new(o, "expires", http_json_time(r->expires));
	json_object_set_new(o, "claimed_until", http_json_time(r->claimed_until));
	json_object_set_new(o, "last_error", str_or_null(r->last_error));
	json_object_set_new(o, "notify", str_or_null(r->notify));
	json_object_set_new(o, "orcpt", str_or_null(r->orcpt));
	json_object_set_new(o, "ret", str_or_null(r->ret));
	json_object_set_new(o, "envid", str_or_null(r->envid));
	json_object_set_new(o, "delay_dsn_sent", json_boolean(r->delay_dsn_sent));
	json_object_set_new(o, "cancelled", json_boolean(r->cancelled));
	return o;
}

/* Content-Type names JSON: application/json, any parameters. */
static bool is_json_type(const struct http_field *f)
{
	static const char want[] = "application/json";
	size_t n = sizeof want - 1;
	if (f->value_len < n || strncasecmp(f->value, want, n) != 0)
		return false;
	return f->value_len == n || f->value[n] == ';' || f->value[n] == ' ' || f->value[n] == '\t';
}

int http_json_members(struct http_session *s, const char *const *names, json_t **values, size_t n,
                      json_t **doc, char *err, size_t errlen)
{
	*doc = NULL;
	for (size_t i = 0; i < n; i++)
		values[i] = NULL;
	if (s->body.len == 0)
		return 0;
	const struct http_field *ct = http_request_field(s->req, "Content-Type");
	if (!ct || !is_json_type(ct)) {
		snprintf(err, errlen, "the body must be JSON (Content-Type: application/json)");
		return 415;
	}
	json_error_t je;
	json_t *root = json_loadb(s->body.data, s->body.len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		snprintf(err, errlen, "bad JSON at line %d column %d: %s", je.line, je.column,
		         je.text);
		return 400;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		snprintf(err, errlen, "the body must be a JSON object");
		return 400;
	}
	const char *key;
	json_t *value;
	json_object_foreach(root, key, value)
	{
		size_t i = 0;
		while (i < n && strcmp(key, names[i]) != 0)
			i++;
		if (i == n) {
			snprintf(err, errlen, "unknown field \"%.60s\"", key);
			json_decref(root);
			return 400;
		}
		values[i] = value;
	}
	*doc = root;
	return 0;
}

int http_json_fields(struct http_session *s, const char *const *names, const char **values,
                     size_t n, json_t **doc, char *err, size_t errlen)
{
	json_t *v[HTTP_JSON_FIELDS_MAX];
	if (n > HTTP_JSON_FIELDS_MAX) {
		snprintf(err, errlen, "too many fields");
		return 500;
	}
	int status = http_json_members(s, names, v, n, doc, err, errlen);
	for (size_t i = 0; i < n; i++) {
		values[i] = NULL;
		if (status != 0 || !v[i])
			continue;
		if (!json_is_string(v[i])) {
			snprintf(err, errlen, "\"%s\" must be a string", names[i]);
			json_decref(*doc);
			*doc = NULL;
			return 400;
		}
		values[i] = json_string_value(v[i]);
	}
	return status;
}

json_t *http_json_dkim_key(const struct store_dkim_key *k)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "domain", k->domain, "selector", k->selector,
	                      "algorithm", k->algorithm, "public_key", k->public_key);
	if (!o)
		return NULL;
	json_object_set_new(o, "created", http_json_time(k->created));
	json_object_set_new(o, "retired", http_json_time(k->retired));
	return o;
}
