/* identity: Identity/get and Identity/set (RFC 8621 §6): one identity
 * per account ("I" + account id), its own address, which may not be
 * created or destroyed. What the user may change (name, replyTo, bcc,
 * textSignature, htmlSignature) is kept as a JSON object in the account's
 * private IMAP METADATA entry IDENTITY_ENTRY (store/metadata.h), so it
 * needs no table of its own and is backed up with the rest. */
#include "proto/jmap/methods.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/jmap/email_common.h"
#include "store/metadata.h"
#include "store/store.h"

#define IDENTITY_ENTRY "/private/vendor/tern/identity"
#define IDENTITY_MAX_BYTES 65536

static const char *const editable[] = {"name", "replyTo", "bcc", "textSignature", "htmlSignature"};

static int stored_cb(void *ud, const char *name, const void *value, size_t len)
{
	(void)name;
	json_t **out = ud;
	json_decref(*out);
	*out = json_loadb(value, len, 0, NULL);
	return 0;
}

/* The stored settings (a new object; {} when none), or NULL on failure. */
static json_t *stored(const struct jmap_account *a)
{
	json_t *o = NULL;
	struct store_rd *rd = store_reader(a->store);
	bool begun = store_read_begin(rd);
	int r = store_metadata_get(rd, a->account_id, STORE_METADATA_SERVER, IDENTITY_ENTRY, 0,
	                           stored_cb, &o);
	store_read_end(rd, begun);
	if (r < 0) {
		json_decref(o);
		return NULL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		o = json_object();
	}
	return o;
}

static json_t *identity_state(json_t *settings)
{
	/* The state is a hash of what is stored: any change changes it. */
	char *text = json_dumps(settings, JSON_COMPACT | JSON_SORT_KEYS);
	unsigned long h = 5381;
	for (const char *p = text ? text : ""; *p; p++)
		h = h * 33 + (unsigned char)*p;
	free(text);
	char s[24];
	snprintf(s, sizeof s, "%lx", h & 0xffffffffffUL);
	return json_string(s);
}

static json_t *identity_of(const struct jmap_call *c, json_t *settings, json_t *want)
{
	json_t *o = json_pack("{s:o}", "id", jmap_id_json('I', c->acct->account_id));
	static const struct {
		const char *name;
		bool text;
	} props[] = {{"name", true},
	             {"replyTo", false},
	             {"bcc", false},
	             {"textSignature", true},
	             {"htmlSignature", true}};
	for (size_t i = 0; i < sizeof props / sizeof props[0]; i++) {
		if (!jmap_want(want, props[i].name))
			continue;
		json_t *v = json_object_get(settings, props[i].name);
		json_object_set_new(o, props[i].name,
		                    v               ? json_incref(v)
		                    : props[i].text ? json_string("")
		                                    : json_null());
	}
	if (jmap_want(want, "email"))
		json_object_set_new(o, "email", json_string(c->acct->username));
	if (jmap_want(want, "mayDelete"))
		json_object_set_new(o, "mayDelete", json_false());
	return o;
}

void jmap_identity_get(struct jmap_call *c)
{
	static const char *const known[] = {"id",  "name",          "email",         "replyTo",
	                                    "bcc", "textSignature", "htmlSignature", "mayDelete"};
	json_t *ids, *want;
	if (!jmap_get_args(c, &ids, &want) ||
	    !jmap_properties_known(c, want, known, sizeof known / sizeof known[0]))
		return;
	json_t *settings = stored(c->acct);
	if (!settings) {
		jmap_server_fail(c, "reading the identity");
		return;
	}
	json_t *mine = jmap_id_json('I', c->acct->account_id);
	json_t *list = json_array(), *not_found = json_array();
	bool listed = !ids;
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v)
	{
		if (strcmp(json_string_value(v), json_string_value(mine)) == 0)
			listed = true;
		else
			json_array_append(not_found, v);
	}
	if (listed)
		json_array_append_new(list, identity_of(c, settings, want));
	json_decref(mine);
	jmap_reply(c, json_pack("{s:O, s:o, s:o, s:o}", "accountId",
	                        json_object_get(c->args, "accountId"), "state",
	                        identity_state(settings), "list", list, "notFound", not_found));
	json_decref(settings);
}

/* An EmailAddress[] or null. */
static bool addresses_ok(json_t *v)
{
	if (json_is_null(v))
		return true;
	if (!json_is_array(v) || json_array_size(v) > 100)
		return false;
	size_t i;
	json_t *a;
	json_array_foreach(v, i, a)
	{
		json_t *n = json_object_get(a, "name"), *e = json_object_get(a, "email");
		if (!json_is_object(a) || !json_is_string(e) ||
		    !strchr(json_string_value(e), '@') ||
		    (n && !json_is_null(n) && !json_is_string(n)) ||
		    json_object_size(a) != (size_t)1 + (n != NULL))
			return false;
	}
	return true;
}

/* Applies patch to settings: NULL, or a SetError. */
static json_t *apply(const struct jmap_call *c, json_t *settings, json_t *patch)
{
	if (!json_is_object(patch))
		return jmap_set_error("invalidPatch", "a PatchObject is an object", NULL);
	const char *key;
	json_t *v;
	json_object_foreach(patch, key, v)
	{
		bool ok = false;
		for (size_t i = 0; i < sizeof editable / sizeof editable[0]; i++)
			ok |= !strcmp(key, editable[i]);
		if (!ok) {
			if (!strcmp(key, "email") && json_is_string(v) &&
			    !strcmp(json_string_value(v), c->acct->username))
				continue; /* unchanged */
			return jmap_set_error("invalidProperties", "the server sets it", key);
		}
		bool text = strcmp(key, "replyTo") && strcmp(key, "bcc");
		if (text ? !json_is_string(v) : !addresses_ok(v))
			return jmap_set_error("invalidProperties",
			                      text ? "a string" : "an EmailAddress[] or null", key);
		json_object_set(settings, key, v);
	}
	return NULL;
}

struct id_set {
	struct jmap_call *c;
	json_t *settings, *updated, *not_updated, *not_created, *not_destroyed, *old_state;
	char *text;
	const char *names[1];
	const void *values[1];
	size_t lens[1];
	struct store_metadata_set req;
};

static void id_set_free(struct id_set *x)
{
	json_decref(x->settings);
	json_decref(x->updated);
	json_decref(x->not_updated);
	json_decref(x->not_created);
	json_decref(x->not_destroyed);
	json_decref(x->old_state);
	free(x->text);
	free(x);
}

static void answer(struct id_set *x, int status)
{
	struct jmap_call *c = x->c;
	if (status < 0) {
		id_set_free(x);
		jmap_server_fail(c, "storing the identity");
		return;
	}
	json_t *res =
	    json_pack("{s:O, s:O, s:o, s:n, s:O, s:n}", "accountId",
	              json_object_get(c->args, "accountId"), "oldState", x->old_state, "newState",
	              identity_state(x->settings), "created", "updated", x->updated, "destroyed");
	jmap_set_failures(res, x->not_created, x->not_updated, x->not_destroyed);
	id_set_free(x);
	if (!res)
		jmap_server_fail(c, "out of memory");
	else
		jmap_reply(c, res);
}

static int store_job(struct store_tx *tx, void *arg)
{
	struct id_set *x = arg;
	return store_metadata_set_job(tx, &x->req);
}

static void stored_done(void *arg, int status)
{
	answer(arg, status);
}

void jmap_identity_set(struct jmap_call *c)
{
	struct jmap_set_args a;
	if (!jmap_set_args(c, &a))
		return;
	json_t *create = a.create, *update = a.update, *destroy = a.destroy;
	struct id_set *x = calloc(1, sizeof *x);
	if (!x) {
		jmap_server_fail(c, "out of memory");
		return;
	}
	x->c = c;
	x->settings = stored(c->acct);
	x->updated = json_object();
	x->not_updated = json_object();
	x->not_created = json_object();
	x->not_destroyed = json_object();
	if (!x->settings || !x->updated || !x->not_updated || !x->not_created ||
	    !x->not_destroyed || !(x->old_state = identity_state(x->settings))) {
		id_set_free(x);
		jmap_server_fail(c, "reading the identity");
		return;
	}
	if (a.if_in_state && strcmp(a.if_in_state, json_string_value(x->old_state)) != 0) {
		id_set_free(x);
		jmap_error(c, "stateMismatch", NULL);
		return;
	}
	const char *key;
	json_t *v;
	size_t i;
	json_object_foreach(create, key, v) json_object_set_new(
	    x->not_created, key, jmap_set_error("forbidden", "an account has one identity", NULL));
	json_array_foreach(destroy, i, v)
	    json_object_set_new(x->not_destroyed, json_string_value(v),
	                        jmap_set_error("forbidden", "the account's identity stays", NULL));
	json_t *mine = jmap_id_json('I', c->acct->account_id);
	bool changed = false;
	json_object_foreach(update, key, v)
	{
		const char *id = jmap_created_id(c, key);
		if (!id || strcmp(id, json_string_value(mine))) {
			json_object_set_new(x->not_updated, key,
			                    jmap_set_error("notFound", NULL, NULL));
			continue;
		}
		json_t *trial = json_deep_copy(x->settings);
		json_t *bad = trial ? apply(c, trial, v) : jmap_set_error("serverFail", NULL, NULL);
		if (bad) {
			json_decref(trial);
			json_object_set_new(x->not_updated, key, bad);
			continue;
		}
		json_decref(x->settings);
		x->settings = trial;
		json_object_set_new(x->updated, key, json_null());
		changed = true;
	}
	json_decref(mine);
	if (!changed) {
		answer(x, 0);
		return;
	}
	x->text = json_dumps(x->settings, JSON_COMPACT | JSON_SORT_KEYS);
	if (!x->text || strlen(x->text) > IDENTITY_MAX_BYTES) {
		bool big = x->text != NULL;
		id_set_free(x);
		if (big)
			jmap_error(c, "requestTooLarge", "the identity's settings are too large");
		else
			jmap_server_fail(c, "out of memory");
		return;
	}
	x->names[0] = IDENTITY_ENTRY;
	x->values[0] = x->text;
	x->lens[0] = strlen(x->text);
	x->req = (struct store_metadata_set){.account_id = c->acct->account_id,
	                                     .mailbox_id = STORE_METADATA_SERVER,
	                                     .n = 1,
	                                     .names = x->names,
	                                     .values = x->values,
	                                     .lens = x->lens};
	if (store_submit(c->acct->store, store_job, stored_done, x) < 0) {
		id_set_free(x);
		jmap_server_fail(c, "the store is not taking changes");
	}
}
