/* args: what every method checks alike: the standard /get and /set
 * arguments (RFC 8620 §5.1, §5.3) and the ids of jmap_int.h ("F123", "M42"). */
#include "proto/jmap/jmap_int.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* RFC 8620 §1.2: an Id is 1-255 characters of the URL-safe base64
 * alphabet. */
static bool is_id(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > 255)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
	}
	return true;
}

/* RFC 8620 §5.1: an id asked more than once is answered once (in "list"
 * or "notFound"). The ids without repeats, first come first, in place of
 * the call's "ids" when there were any; NULL out of memory. */
static json_t *unique_ids(struct jmap_call *c, json_t *ids)
{
	json_t *seen = json_object(), *unique = json_array();
	size_t k;
	json_t *v;
	bool repeats = false;
	json_array_foreach(ids, k, v)
	{
		const char *s = json_string_value(v);
		if (!seen || !unique)
			break;
		if (json_object_get(seen, s)) {
			repeats = true;
			continue;
		}
		if (json_object_set(seen, s, json_true()) < 0 || json_array_append(unique, v) < 0) {
			json_decref(unique);
			unique = NULL;
		}
	}
	json_decref(seen);
	if (!seen || !unique) {
		json_decref(unique);
		return NULL;
	}
	if (!repeats) {
		json_decref(unique);
		return ids;
	}
	if (json_object_set_new(c->args, "ids", unique) < 0)
		return NULL;
	return unique;
}

/* accountId names the account the request runs as; else answered. */
static bool account_ok(struct jmap_call *c)
{
	json_t *acct = json_object_get(c->args, "accountId");
	if (!json_is_string(acct)) {
		jmap_error(c, "invalidArguments", "accountId must be a string");
		return false;
	}
	int64_t id;
	if (!jmap_id_parse(json_string_value(acct), 'A', &id) || id != c->acct->account_id) {
		jmap_error(c, "accountNotFound", NULL);
		return false;
	}
	return true;
}

bool jmap_get_args(struct jmap_call *c, json_t **ids, json_t **properties)
{
	*ids = NULL;
	*properties = NULL;
	if (!account_ok(c))
		return false;
	json_t *v;
	json_t *i = json_object_get(c->args, "ids");
	if (i && !json_is_null(i)) {
		if (!json_is_array(i)) {
			jmap_error(c, "invalidArguments", "ids must be an array of ids or null");
			return false;
		}
		size_t k;
		json_array_foreach(i, k, v)
		{
			if (!json_is_string(v) || !is_id(json_string_value(v))) {
				jmap_error(c, "invalidArguments",
				           "ids must be an array of ids or null");
				return false;
			}
		}
		if (json_array_size(i) > c->acct->limits->max_objects_in_get) {
			jmap_error(c, "requestTooLarge", "more ids than maxObjectsInGet");
			return false;
		}
		if (!(i = unique_ids(c, i))) {
			jmap_error(c, "serverFail", "out of memory");
			return false;
		}
		*ids = i;
	}
	json_t *p = json_object_get(c->args, "properties");
	if (p && !json_is_null(p)) {
		if (!json_is_array(p)) {
			jmap_error(c, "invalidArguments",
			           "properties must be an array of strings or null");
			return false;
		}
		size_t k;
		json_array_foreach(p, k, v)
		{
			if (!json_is_string(v)) {
				jmap_error(c, "invalidArguments",
				           "properties must be an array of strings or null");
				return false;
			}
		}
		*properties = p;
	}
	return true;
}

/* An argument that may be absent or null (NULL then), else must pass is. */
static bool optional(json_t *args, const char *name, int (*is)(const json_t *), json_t **out)
{
	json_t *v = json_object_get(args, name);
	*out = v && !json_is_null(v) ? v : NULL;
	return !*out || is(*out);
}

static int is_object(const json_t *v)
{
	return json_is_object(v);
}

static int is_array(const json_t *v)
{
	return json_is_array(v);
}

static int is_string(const json_t *v)
{
	return json_is_string(v);
}

bool jmap_set_args(struct jmap_call *c, struct jmap_set_args *out)
{
	memset(out, 0, sizeof *out);
	if (!account_ok(c))
		return false;
	json_t *state;
	if (!optional(c->args, "create", is_object, &out->create) ||
	    !optional(c->args, "update", is_object, &out->update) ||
	    !optional(c->args, "destroy", is_array, &out->destroy) ||
	    !optional(c->args, "ifInState", is_string, &state)) {
		jmap_error(c, "invalidArguments",
		           "create and update are objects, destroy an array, ifInState a string");
		return false;
	}
	out->if_in_state = state ? json_string_value(state) : NULL;
	size_t i;
	json_t *v;
	json_array_foreach(out->destroy, i, v)
	{
		if (!json_is_string(v)) {
			jmap_error(c, "invalidArguments", "destroy holds ids");
			return false;
		}
	}
	size_t total = json_object_size(out->create) + json_object_size(out->update) +
	               json_array_size(out->destroy);
	if (total > c->acct->limits->max_objects_in_set) {
		jmap_error(c, "requestTooLarge", "more objects than maxObjectsInSet");
		return false;
	}
	out->total = total;
	return true;
}

bool jmap_changes_args(struct jmap_call *c, const char **since, size_t *max_changes)
{
	if (!account_ok(c))
		return false;
	json_t *s = json_object_get(c->args, "sinceState");
	json_t *max = json_object_get(c->args, "maxChanges");
	if (!json_is_string(s) ||
	    (max && !json_is_null(max) && (!json_is_integer(max) || json_integer_value(max) < 1))) {
		jmap_error(c, "invalidArguments",
		           "sinceState must be a string, maxChanges a positive integer or null");
		return false;
	}
	*since = json_string_value(s);
	*max_changes = json_is_integer(max) ? (size_t)json_integer_value(max) : SIZE_MAX;
	return true;
}

bool jmap_properties_known(struct jmap_call *c, const json_t *properties, const char *const *known,
                           size_t n)
{
	size_t i;
	json_t *v;
	json_array_foreach(properties, i, v)
	{
		size_t k = 0;
		while (k < n && strcmp(known[k], json_string_value(v)) != 0)
			k++;
		if (k == n) {
			jmap_error(c, "invalidArguments", "unknown property in properties");
			return false;
		}
	}
	return true;
}

bool jmap_want(const json_t *properties, const char *prop)
{
	if (!properties)
		return true;
	size_t i;
	json_t *v;
	json_array_foreach(properties, i, v)
	{
		const char *s = json_string_value(v);
		if (s && strcmp(s, prop) == 0)
			return true;
	}
	return false;
}

bool jmap_id_parse(const char *id, char prefix, int64_t *out)
{
	if (!id || id[0] != prefix)
		return false;
	const char *p = id + 1;
	if (*p < '1' || *p > '9')
		return false;
	int64_t v = 0;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		int d = *p - '0';
		if (v > (INT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

json_t *jmap_id_json(char prefix, int64_t n)
{
	char buf[32];
	snprintf(buf, sizeof buf, "%c%" PRId64, prefix, n);
	return json_string(buf);
}
