/* sieve_script_set: SieveScript/set (RFC 9661 §2.2): create, update and
 * destroy scripts, then onSuccessDeactivateScript and
 * onSuccessActivateScript when every one of them succeeded.
 *
 * On the loop, each object is checked and its content read from the blob
 * (an upload, or another script's content) and checked with sieve_check,
 * the same question ManageSieve's PUTSCRIPT asks, so a script that does
 * not compile is refused with invalidSieve and the compiler's
 * "LINE:COL: message". Then one store job makes every change in the
 * order RFC 8620 §5.3 gives (create, update, destroy), with the checks
 * that must not race with another writer (a name taken, the number of
 * scripts, the active one destroyed) made inside it, against the
 * transaction's own view, as ManageSieve's jobs do. The answer comes from
 * the job's completion, after COMMIT.
 *
 * An update may rename a script (its id stays; RFC 9661 §2.2): the new
 * name is checked on the loop (ManageSieve's rules, store/sieve.h) and
 * taken in the job (alreadyExists when another script has it). A rename
 * and activation change a script's `updated`, so its blobId too
 * (sieve_script.h): every script whose blobId changed is reported with
 * the new one, in created or updated.
 *
 * An update, a destroy or onSuccessActivateScript may name a script this
 * same call creates ("#" + its creation id): the op keeps the create's
 * index and the job takes its id once the create has run. */
#include "proto/jmap/methods.h"
#include "proto/jmap/sieve_script.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/utf8.h"
#include "proto/jmap/blob_read.h"
#include "proto/jmap/email_common.h"
#include "sieve/sieve.h"
#include "store/sieve.h"
#include "store/store.h"

enum op_kind { OP_CREATE, OP_UPDATE, OP_DESTROY };

struct op {
	enum op_kind kind;
	char key[256];                       /* the creation id, or the id as the client wrote it */
	int64_t id;                          /* the script's (a create's: set by the job) */
	int ref;                             /* >= 0: the script this call's ops[ref] creates */
	char name[STORE_SIEVE_NAME_MAX + 1]; /* a create's; an update's new one, "" none */
	char *text;                          /* NULL: no new content */
	size_t len;
	/* the job's findings */
	int status;          /* 0 or a negative errno */
	int64_t existing_id; /* -EEXIST: the script that has the name */
	int64_t updated_before;
	struct store_sieve_script after; /* after the job, when it exists */
	bool exists_after;
};

struct sieve_set {
	struct jmap_call *c;
	int64_t account_id;
	struct op *ops;
	size_t n_ops;
	bool deactivate;
	bool activate;
	int64_t activate_id; /* when activate, and activate_ref < 0 */
	int activate_ref;    /* >= 0: the script ops[activate_ref] creates */
	/* the job's findings: the active script before and after */
	bool was_any, now_any, was_exists_after;
	struct store_sieve_script was_info, now_info, was_after;
	char old_state[JMAP_SIEVE_STATE_MAX], new_state[JMAP_SIEVE_STATE_MAX];
	json_t *not_created, *not_updated, *not_destroyed; /* the loop's refusals */
};

static void set_free(struct sieve_set *x)
{
	for (size_t i = 0; i < x->n_ops; i++)
		free(x->ops[i].text);
	free(x->ops);
	json_decref(x->not_created);
	json_decref(x->not_updated);
	json_decref(x->not_destroyed);
	free(x);
}

/* ---- the store job (writer thread: no JSON here) ---- */

/* The account's active script into info: 1, 0 (none) or negative. */
static int active_script(struct store_rd *rd, int64_t account_id, struct store_sieve_script *info)
{
	return store_sieve_get(rd, account_id, NULL, NULL, NULL, info);
}

static int run_create(struct store_tx *tx, int64_t account_id, struct op *o)
{
	struct store_rd *rd = store_tx_reader(tx);
	int64_t have = store_sieve_id_of(rd, account_id, o->name);
	if (have != 0) {
		o->existing_id = have;
		return have < 0 ? (int)have : -EEXIST;
	}
	int64_t n = store_sieve_count(rd, account_id);
	if (n < 0)
		return (int)n;
	if (n >= JMAP_SIEVE_MAX_SCRIPTS)
		return -EDQUOT;
	int r = store_sieve_put(tx, account_id, o->name, o->text, o->len);
	if (r < 0)
		return r;
	o->id = store_sieve_id_of(rd, account_id, o->name);
	return o->id > 0 ? 0 : o->id < 0 ? (int)o->id : -EIO;
}

static int run_update(struct store_tx *tx, int64_t account_id, struct op *o)
{
	struct store_rd *rd = store_tx_reader(tx);
	struct store_sieve_script before;
	int r = store_sieve_get_id(rd, account_id, o->id, NULL, NULL, &before);
	if (r <= 0)
		return r < 0 ? r : -ENOENT;
	o->updated_before = before.updated;
	/* the name first: a taken one refuses the update before any change */
	if (o->name[0] && (r = store_sieve_rename_id(tx, account_id, o->id, o->name)) < 0) {
		if (r == -EEXIST)
			o->existing_id = store_sieve_id_of(rd, account_id, o->name);
		return r;
	}
	return o->text ? store_sieve_replace_id(tx, account_id, o->id, o->text, o->len) : 0;
}

static int run_op(struct store_tx *tx, struct sieve_set *x, struct op *o)
{
	if (o->ref >= 0) { /* a script this call creates: there only if it was */
		if (x->ops[o->ref].status != 0)
			return -ENOENT;
		o->id = x->ops[o->ref].id;
	}
	switch (o->kind) {
	case OP_CREATE:
		return run_create(tx, x->account_id, o);
	case OP_UPDATE:
		return run_update(tx, x->account_id, o);
	default:
		return store_sieve_delete_id(tx, x->account_id, o->id);
	}
}

static int set_job(struct store_tx *tx, void *arg)
{
	struct sieve_set *x = arg;
	struct store_rd *rd = store_tx_reader(tx);
	int r = active_script(rd, x->account_id, &x->was_info);
	if (r < 0)
		return r;
	x->was_any = r == 1;
	bool all_ok = true;
	for (size_t i = 0; i < x->n_ops; i++) {
		struct op *o = &x->ops[i];
		o->status = run_op(tx, x, o);
		if (o->status == -ENOMEM || o->status == -EIO)
			return o->status;
		all_ok &= o->status == 0;
	}
	if (all_ok && x->deactivate && (r = store_sieve_activate(tx, x->account_id, NULL)) < 0)
		return r;
	if (all_ok && x->activate) {
		int64_t id = x->activate_ref >= 0 ? x->ops[x->activate_ref].id : x->activate_id;
		/* RFC 9661: an id that is invalid or names nothing is ignored */
		if ((r = store_sieve_activate_id(tx, x->account_id, id)) < 0 && r != -ENOENT)
			return r;
	}
	for (size_t i = 0; i < x->n_ops; i++) {
		struct op *o = &x->ops[i];
		if (o->status < 0 || o->kind == OP_DESTROY)
			continue;
		r = store_sieve_get_id(rd, x->account_id, o->id, NULL, NULL, &o->after);
		if (r < 0)
			return r;
		o->exists_after = r == 1;
	}
	if ((r = active_script(rd, x->account_id, &x->now_info)) < 0)
		return r;
	x->now_any = r == 1;
	if (x->was_any) {
		r = store_sieve_get_id(rd, x->account_id, x->was_info.id, NULL, NULL,
		                       &x->was_after);
		if (r < 0)
			return r;
		x->was_exists_after = r == 1;
	}
	struct jmap_sieve_list l;
	r = jmap_sieve_list_read(rd, x->account_id, &l);
	if (r == 0)
		jmap_sieve_state_of(&l, x->new_state);
	jmap_sieve_list_free(&l);
	return r;
}

/* ---- the answer (loop) ---- */

static json_t *failure(int status, const struct op *o)
{
	switch (status) {
	case -EEXIST: {
		json_t *e =
		    jmap_set_error("alreadyExists", "a script by that name exists already", "name");
		if (o->existing_id > 0) {
			char id[JMAP_SIEVE_ID_MAX];
			jmap_sieve_id(o->existing_id, id);
			json_object_set_new(e, "existingId", json_string(id));
		}
		return e;
	}
	case -EDQUOT:
		return jmap_set_error("overQuota", "an account has at most 32 scripts", NULL);
	case -ENOENT:
		return jmap_set_error("notFound", NULL, NULL);
	case -EBUSY:
		return jmap_set_error("sieveIsActive",
		                      "the active script cannot be destroyed: deactivate it first",
		                      NULL);
	default:
		return jmap_set_error("serverFail", "the change could not be saved", NULL);
	}
}

/* obj[id] (in created or updated) for a script whose blobId or isActive
 * changed: merges what changed into it. */
static void report(json_t *map, const char *key, const struct store_sieve_script *s,
                   bool with_active)
{
	json_t *o = json_object_get(map, key);
	if (!json_is_object(o)) {
		o = json_object();
		json_object_set_new(map, key, o);
	}
	char blob[JMAP_SIEVE_ID_MAX];
	jmap_sieve_blob_id(s->id, s->updated, blob);
	json_object_set_new(o, "blobId", json_string(blob));
	if (with_active)
		json_object_set_new(o, "isActive", json_boolean(s->active));
}

/* The activation's changes (RFC 9661: reported with isActive). */
static void report_activation(struct sieve_set *x, json_t *created, json_t *updated)
{
	if (x->was_any == x->now_any && (!x->was_any || x->was_info.id == x->now_info.id))
		return;
	char id[JMAP_SIEVE_ID_MAX];
	if (x->was_any && x->was_exists_after) {
		jmap_sieve_id(x->was_info.id, id);
		report(updated, id, &x->was_after, true);
	}
	if (x->now_any) {
		const char *key = NULL;
		for (size_t i = 0; i < x->n_ops; i++)
			if (x->ops[i].kind == OP_CREATE && x->ops[i].status == 0 &&
			    x->ops[i].id == x->now_info.id)
				key = x->ops[i].key;
		jmap_sieve_id(x->now_info.id, id);
		report(key ? created : updated, key ? key : id, &x->now_info, true);
	}
}

static void set_done(void *arg, int status)
{
	struct sieve_set *x = arg;
	struct jmap_call *c = x->c;
	if (status < 0) {
		set_free(x);
		jmap_server_fail(c, "storing the Sieve scripts");
		return;
	}
	json_t *created = json_object(), *updated = json_object(), *destroyed = json_array();
	for (size_t i = 0; i < x->n_ops; i++) {
		struct op *o = &x->ops[i];
		json_t *fail_map = o->kind == OP_CREATE   ? x->not_created
		                   : o->kind == OP_UPDATE ? x->not_updated
		                                          : x->not_destroyed;
		if (o->status < 0) {
			json_object_set_new(fail_map, o->key, failure(o->status, o));
			continue;
		}
		char id[JMAP_SIEVE_ID_MAX];
		jmap_sieve_id(o->id, id);
		if (o->kind == OP_DESTROY) {
			json_array_append_new(destroyed, json_string(id));
			continue;
		}
		if (!o->exists_after) /* destroyed later in the same request */
			continue;
		if (o->kind == OP_CREATE) {
			json_t *obj = json_pack("{s:s, s:s}", "id", id, "name", o->name);
			json_object_set_new(created, o->key, obj);
			report(created, o->key, &o->after, true);
			jmap_created_add(c, o->key, id);
		} else if (o->after.updated != o->updated_before) { /* text or name */
			report(updated, id, &o->after, false);
		} else if (!json_object_get(updated, id)) {
			json_object_set_new(updated, id, json_null());
		}
	}
	report_activation(x, created, updated);
	json_t *res = jmap_set_response(c, x->old_state, x->new_state, created, updated, destroyed,
	                                x->not_created, x->not_updated, x->not_destroyed);
	set_free(x);
	if (res)
		jmap_reply(c, res);
	else
		jmap_server_fail(c, "out of memory");
}

/* ---- checking the objects (loop) ---- */

/* The content of blob_id into o (text, len), checked; NULL or a SetError. */
static json_t *content(struct jmap_call *c, const char *blob_id, struct op *o)
{
	struct buf text = {0};
	json_t *e = jmap_sieve_content(c, blob_id, "blobId", &text);
	if (e)
		return e;
	o->text = text.data; /* the buffer's memory is the op's now */
	o->len = text.len;
	return NULL;
}

static bool name_ok(const char *name)
{
	return store_sieve_name_valid(name) && utf8_valid(name, strlen(name));
}

/* Whether name is taken in the list or by an earlier create of this call. */
static bool name_taken(const struct jmap_sieve_list *l, const struct sieve_set *x, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].name, name))
			return true;
	for (size_t i = 0; i < x->n_ops; i++)
		if (x->ops[i].kind == OP_CREATE && !strcmp(x->ops[i].name, name))
			return true;
	return false;
}

static json_t *check_create(struct jmap_call *c, const struct jmap_sieve_list *l,
                            struct sieve_set *x, json_t *obj, struct op *o)
{
	if (!json_is_object(obj))
		return jmap_set_error("invalidProperties", "a SieveScript is an object", NULL);
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v)
	{
		if (strcmp(key, "name") && strcmp(key, "blobId"))
			return jmap_set_error("invalidProperties",
			                      !strcmp(key, "id") || !strcmp(key, "isActive")
			                          ? "the server sets it"
			                          : "not a SieveScript property",
			                      key);
	}
	json_t *name = json_object_get(obj, "name");
	if (name && !json_is_null(name)) {
		if (!json_is_string(name) || !name_ok(json_string_value(name)))
			return jmap_set_error(
			    "invalidProperties",
			    "1 to 128 octets of UTF-8, no control character or '/'", "name");
		snprintf(o->name, sizeof o->name, "%s", json_string_value(name));
	} else { /* RFC 9661: the server picks one */
		snprintf(o->name, sizeof o->name, "script");
		for (int n = 2; name_taken(l, x, o->name); n++)
			snprintf(o->name, sizeof o->name, "script-%d", n);
	}
	const char *blob = json_string_value(json_object_get(obj, "blobId"));
	if (!blob)
		return jmap_set_error("invalidProperties", "blobId is required", "blobId");
	return content(c, jmap_created_id(c, blob) ? jmap_created_id(c, blob) : blob, o);
}

static json_t *check_update(struct jmap_call *c, json_t *patch, struct op *o)
{
	if (!json_is_object(patch))
		return jmap_set_error("invalidPatch", "a PatchObject is an object", NULL);
	const char *key;
	json_t *v;
	json_object_foreach(patch, key, v)
	{
		if (!strcmp(key, "blobId") && json_is_string(v))
			continue;
		if (!strcmp(key, "name") && json_is_string(v) && name_ok(json_string_value(v))) {
			snprintf(o->name, sizeof o->name, "%s", json_string_value(v));
			continue;
		}
		return jmap_set_error(
		    "invalidProperties",
		    !strcmp(key, "name") ? "1 to 128 octets of UTF-8, no control character or '/'"
		    : !strcmp(key, "blobId") ? "blobId is a string"
		                             : "the server sets it, or not a SieveScript property",
		    key);
	}
	const char *blob = json_string_value(json_object_get(patch, "blobId"));
	if (!blob)
		return NULL;
	return content(c, jmap_created_id(c, blob) ? jmap_created_id(c, blob) : blob, o);
}

/* The script an id the client gave stands for: its store id into *id, or
 * (for "#" + a creation id of this call) the create's index into *ref.
 * false when it is neither. */
static bool resolve(struct jmap_call *c, const char *id, const struct sieve_set *x, int64_t *out,
                    int *ref)
{
	*ref = -1;
	*out = 0;
	if (id && id[0] == '#') {
		for (size_t i = 0; i < x->n_ops; i++)
			if (x->ops[i].kind == OP_CREATE && !strcmp(x->ops[i].key, id + 1)) {
				*ref = (int)i;
				return true;
			}
	}
	const char *real = id ? jmap_created_id(c, id) : NULL;
	return real && jmap_sieve_id_parse(real, out);
}

void jmap_sieve_script_set(struct jmap_call *c)
{
	struct jmap_set_args a;
	if (!jmap_set_args(c, &a))
		return;
	json_t *act = json_object_get(c->args, "onSuccessActivateScript");
	json_t *deact = json_object_get(c->args, "onSuccessDeactivateScript");
	if ((act && !json_is_null(act) && !json_is_string(act)) ||
	    (deact && !json_is_null(deact) && !json_is_boolean(deact))) {
		jmap_error(c, "invalidArguments",
		           "onSuccessActivateScript is an Id, onSuccessDeactivateScript a Boolean");
		return;
	}
	struct jmap_sieve_list l;
	struct store_rd *rd = store_reader(c->acct->store);
	bool begun = store_read_begin(rd);
	int r = jmap_sieve_list_read(rd, c->acct->account_id, &l);
	store_read_end(rd, begun);
	struct sieve_set *x = calloc(1, sizeof *x);
	if (r < 0 || !x || !(x->ops = calloc(a.total ? a.total : 1, sizeof *x->ops)) ||
	    !(x->not_created = json_object()) || !(x->not_updated = json_object()) ||
	    !(x->not_destroyed = json_object())) {
		jmap_sieve_list_free(&l);
		if (x)
			set_free(x);
		jmap_server_fail(c, "reading the Sieve scripts");
		return;
	}
	x->c = c;
	x->account_id = c->acct->account_id;
	jmap_sieve_state_of(&l, x->old_state);
	if (a.if_in_state && strcmp(a.if_in_state, x->old_state) != 0) {
		jmap_sieve_list_free(&l);
		set_free(x);
		jmap_error(c, "stateMismatch", NULL);
		return;
	}
	const char *key;
	json_t *v;
	size_t i;
	json_object_foreach(a.create, key, v)
	{
		struct op *o = &x->ops[x->n_ops];
		*o = (struct op){.kind = OP_CREATE, .ref = -1};
		snprintf(o->key, sizeof o->key, "%s", key);
		json_t *e = check_create(c, &l, x, v, o);
		if (e) {
			free(o->text);
			json_object_set_new(x->not_created, key, e);
		} else {
			x->n_ops++;
		}
	}
	json_object_foreach(a.update, key, v)
	{
		struct op *o = &x->ops[x->n_ops];
		*o = (struct op){.kind = OP_UPDATE, .ref = -1};
		snprintf(o->key, sizeof o->key, "%s", key);
		json_t *e = NULL;
		if (!resolve(c, key, x, &o->id, &o->ref))
			e = jmap_set_error("notFound", NULL, NULL);
		else
			e = check_update(c, v, o);
		if (e) {
			free(o->text);
			json_object_set_new(x->not_updated, key, e);
		} else {
			x->n_ops++;
		}
	}
	json_array_foreach(a.destroy, i, v)
	{
		struct op *o = &x->ops[x->n_ops];
		*o = (struct op){.kind = OP_DESTROY, .ref = -1};
		snprintf(o->key, sizeof o->key, "%s", json_string_value(v));
		if (!resolve(c, o->key, x, &o->id, &o->ref))
			json_object_set_new(x->not_destroyed, o->key,
			                    jmap_set_error("notFound", NULL, NULL));
		else
			x->n_ops++;
	}
	jmap_sieve_list_free(&l);
	bool refused = json_object_size(x->not_created) || json_object_size(x->not_updated) ||
	               json_object_size(x->not_destroyed);
	/* RFC 9661: only if every change succeeds; the job checks its own */
	if (!refused) {
		x->deactivate = json_is_true(deact);
		x->activate = json_is_string(act) && resolve(c, json_string_value(act), x,
		                                             &x->activate_id, &x->activate_ref);
	}
	if (store_submit(c->acct->store, set_job, set_done, x) < 0) {
		set_free(x);
		jmap_server_fail(c, "the store is not taking changes");
	}
}
