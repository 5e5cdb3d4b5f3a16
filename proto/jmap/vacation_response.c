/* vacation_response: VacationResponse/get and /set (RFC 8621 §8) over the
 * webmail's managed Sieve script.
 *
 * tern's out-of-office reply is Sieve's vacation (RFC 5230), and the
 * webmail keeps it in one script, "webmail", whose first line holds the
 * pages' data (sieve_managed.h). The one VacationResponse, "singleton",
 * is read from that line and written by rewriting the script from it, so
 * the Out of office page, JMAP clients and ManageSieve see one reply.
 *
 * Reading. isEnabled is true only when the script is the pages', says the
 * reply is on, and is the active script (otherwise no reply is sent,
 * whatever the line says). subject and textBody are the line's (null when
 * empty: the script then has no :subject and says "I am away."). A
 * missing script, or one whose first line is not the pages', is "no
 * vacation": isEnabled false, everything null.
 *
 * Writing (only an update of "singleton"; create and destroy are the
 * `singleton` SetError). The update is refused with `forbidden` when
 * another script is active (the user's own script is never silently
 * deactivated; activate "webmail" or deactivate the other one first) or
 * when a script named "webmail" exists that the pages did not write (it
 * is the user's). Otherwise one store job reads the script again, applies
 * the patch to its data (rules and :days kept), writes the text anew
 * (sieve_managed.c: the same bytes the page would write), checks it with
 * sieve_check as SieveScript/set does, stores it, and makes it the active
 * script when none is (as the page's saveManaged does). A text that does
 * not compile is `forbidden` with the compiler's message: the page's
 * checks of a rule are not the compiler's (its plainAddress lets through
 * redirect addresses sieve/ refuses), and the script below the first
 * line may have been edited, so a rule of the line may not compile.
 *
 * Dates. Sieve's vacation has none, and tern's sieve/ has neither the
 * date/currentdate extension (RFC 5260) nor relational (RFC 5231), so a
 * script cannot start or stop replying by itself: fromDate and toDate are
 * always null, and setting either to a date is `invalidProperties`.
 * htmlBody likewise: the pages' reply is plain text, so it is null, and
 * only null may be set.
 *
 * The state is "V<webmail's updated>-<the active script's updated>":
 * store/sieve.h's `updated` grows with every put and activation, so it
 * changes whenever the script or the choice of active script does. */
#include "proto/jmap/vacation_response.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "proto/jmap/email_common.h"
#include "proto/jmap/sieve_managed.h"
#include "proto/jmap/sieve_script.h"
#include "sieve/sieve.h"
#include "store/sieve.h"
#include "store/store.h"

#define STATE_MAX 64

/* What the account's scripts say of the vacation reply. */
struct vac_view {
	bool exists;  /* a script named "webmail" */
	bool managed; /* ...whose first line the pages wrote */
	int64_t updated;
	char active[STORE_SIEVE_NAME_MAX + 1]; /* "" none */
	int64_t active_updated;
	struct jmap_managed m; /* the data (empty unless managed) */
};

static int view_read(struct store_rd *rd, int64_t account_id, struct vac_view *v)
{
	*v = (struct vac_view){0};
	struct jmap_sieve_list l;
	int r = jmap_sieve_list_read(rd, account_id, &l);
	for (size_t i = 0; r == 0 && i < l.n; i++) {
		if (l.v[i].active) {
			snprintf(v->active, sizeof v->active, "%s", l.v[i].name);
			v->active_updated = l.v[i].updated;
		}
		if (strcmp(l.v[i].name, JMAP_MANAGED_NAME) == 0) {
			v->exists = true;
			v->updated = l.v[i].updated;
		}
	}
	jmap_sieve_list_free(&l);
	if (r < 0)
		return r;
	char *text = NULL;
	size_t len = 0;
	if (v->exists &&
	    (r = store_sieve_get(rd, account_id, JMAP_MANAGED_NAME, &text, &len, NULL)) < 0)
		return r;
	r = jmap_managed_parse(text ? text : "", text ? len : 0, &v->m);
	free(text);
	if (r < 0)
		return r;
	v->managed = r == 1;
	return 0;
}

static void view_state(const struct vac_view *v, char *out)
{
	snprintf(out, STATE_MAX, "V%" PRId64 "-%" PRId64, v->updated, v->active_updated);
}

static bool view_enabled(const struct vac_view *v)
{
	return v->managed && v->m.enabled && strcmp(v->active, JMAP_MANAGED_NAME) == 0;
}

static json_t *string_or_null(bool managed, const char *s)
{
	return managed && s && s[0] ? json_string(s) : json_null();
}

static json_t *view_object(const struct vac_view *v, const json_t *want)
{
	json_t *o = json_pack("{s:s}", "id", JMAP_VACATION_ID);
	if (!o)
		return NULL;
	if (jmap_want(want, "isEnabled"))
		json_object_set_new(o, "isEnabled", json_boolean(view_enabled(v)));
	static const char *const always_null[] = {"fromDate", "toDate", "htmlBody"};
	for (size_t i = 0; i < 3; i++)
		if (jmap_want(want, always_null[i]))
			json_object_set_new(o, always_null[i], json_null());
	if (jmap_want(want, "subject"))
		json_object_set_new(o, "subject", string_or_null(v->managed, v->m.subject));
	if (jmap_want(want, "textBody"))
		json_object_set_new(o, "textBody", string_or_null(v->managed, v->m.body));
	return o;
}

/* The view on the loop's reader; false after answering serverFail. */
static bool read_view(struct jmap_call *c, struct vac_view *v)
{
	struct store_rd *rd = store_reader(c->acct->store);
	bool begun = store_read_begin(rd);
	int r = view_read(rd, c->acct->account_id, v);
	store_read_end(rd, begun);
	if (r < 0) {
		jmap_managed_free(&v->m);
		jmap_server_fail(c, "reading the Sieve scripts");
		return false;
	}
	return true;
}

/* ---- VacationResponse/get ---- */

void jmap_vacation_response_get(struct jmap_call *c)
{
	static const char *const known[] = {"id",      "isEnabled", "fromDate", "toDate",
	                                    "subject", "textBody",  "htmlBody"};
	json_t *ids, *want;
	struct vac_view v;
	if (!jmap_get_args(c, &ids, &want) ||
	    !jmap_properties_known(c, want, known, sizeof known / sizeof known[0]) ||
	    !read_view(c, &v))
		return;
	json_t *list = json_array(), *not_found = json_array();
	if (!ids) {
		json_array_append_new(list, view_object(&v, want));
	} else {
		size_t i;
		json_t *id;
		bool listed = false; /* ["singleton", "singleton"]: listed once */
		json_array_foreach(ids, i, id)
		{
			const char *s = jmap_created_id(c, json_string_value(id));
			if (s && strcmp(s, JMAP_VACATION_ID) == 0) {
				if (!listed)
					json_array_append_new(list, view_object(&v, want));
				listed = true;
			} else {
				json_array_append(not_found, id);
			}
		}
	}
	char state[STATE_MAX];
	view_state(&v, state);
	jmap_managed_free(&v.m);
	jmap_reply(c, json_pack("{s:O, s:s, s:o, s:o}", "accountId",
	                        json_object_get(c->args, "accountId"), "state", state, "list", list,
	                        "notFound", not_found));
}

/* ---- VacationResponse/set ---- */

/* What an update of "singleton" changes, read on the loop. */
struct vac_patch {
	bool set_enabled, enabled;
	char *subject; /* NULL: unchanged; "" none */
	char *body;    /* NULL: unchanged; "" none */
};

struct vac_set {
	struct jmap_call *c;
	int64_t account_id;
	struct vac_patch p;
	bool update; /* an update of "singleton" passed the loop's checks */
	/* the job's findings */
	int status; /* the update's: 0 or a negative errno */
	char other[STORE_SIEVE_NAME_MAX + 1];
	char err[256]; /* -EINVAL: the compiler's "LINE:COL: message" */
	char new_state[STATE_MAX];
	char old_state[STATE_MAX];
	json_t *not_created, *not_updated, *not_destroyed;
};

static void set_free(struct vac_set *x)
{
	free(x->p.subject);
	free(x->p.body);
	json_decref(x->not_created);
	json_decref(x->not_updated);
	json_decref(x->not_destroyed);
	free(x);
}

/* The update, against the transaction's own view: x->status says how it
 * went; the return value is only for what must roll the job back. */
static int apply(struct store_tx *tx, struct vac_set *x, struct vac_view *v)
{
	if (v->active[0] && strcmp(v->active, JMAP_MANAGED_NAME) != 0) {
		snprintf(x->other, sizeof x->other, "%s", v->active);
		x->status = -EPERM;
		return 0;
	}
	if (v->exists && !v->managed) {
		x->status = -EEXIST;
		return 0;
	}
	int r = 0;
	if (x->p.set_enabled)
		v->m.enabled = x->p.enabled;
	if (x->p.subject)
		r = jmap_managed_set_string(&v->m.subject, x->p.subject);
	if (r == 0 && x->p.body)
		r = jmap_managed_set_string(&v->m.body, x->p.body);
	struct buf text = {0};
	if (r == 0)
		r = jmap_managed_text(&v->m, &text);
	if (r == -E2BIG || (r == 0 && text.len > STORE_SIEVE_SCRIPT_MAX)) {
		buf_free(&text);
		x->status = -EFBIG;
		return 0;
	}
	/* the page's checks are not the compiler's (a redirect address its
	 * plainAddress lets through), and a script's text below the first line
	 * may have been edited: a rule of the line may not compile */
	if (r == 0 && sieve_check(text.data, text.len, x->err, sizeof x->err) < 0) {
		buf_free(&text);
		x->status = -EINVAL;
		return 0;
	}
	if (r == 0)
		r = store_sieve_put(tx, x->account_id, JMAP_MANAGED_NAME, text.data, text.len);
	buf_free(&text);
	if (r == 0 && !v->active[0])
		r = store_sieve_activate(tx, x->account_id, JMAP_MANAGED_NAME);
	return r;
}

/* The store job (writer thread): the loop's JSON is not touched here. */
static int set_job(struct store_tx *tx, void *arg)
{
	struct vac_set *x = arg;
	struct store_rd *rd = store_tx_reader(tx);
	struct vac_view v;
	int r = view_read(rd, x->account_id, &v);
	if (r == 0 && x->update)
		r = apply(tx, x, &v);
	jmap_managed_free(&v.m);
	if (r < 0)
		return r;
	if ((r = view_read(rd, x->account_id, &v)) == 0)
		view_state(&v, x->new_state);
	jmap_managed_free(&v.m);
	return r;
}

static json_t *failure(const struct vac_set *x)
{
	char why[2 * STORE_SIEVE_NAME_MAX + 256];
	switch (x->status) {
	case -EPERM:
		snprintf(why, sizeof why,
		         "another Sieve script (\"%s\") is active: the vacation reply lives in the "
		         "webmail's script \"" JMAP_MANAGED_NAME "\"; activate that one, or "
		         "deactivate \"%s\", first",
		         x->other, x->other);
		return jmap_set_error("forbidden", why, NULL);
	case -EEXIST:
		return jmap_set_error(
		    "forbidden",
		    "the Sieve script \"" JMAP_MANAGED_NAME
		    "\" was not written by the webmail (its first line is not the "
		    "webmail's): rename or remove it first",
		    NULL);
	case -EFBIG:
		return jmap_set_error("tooLarge", "the Sieve script would be over 64 KiB", NULL);
	case -EINVAL:
		snprintf(why, sizeof why,
		         "the webmail's rules do not compile as the script would be written (%s): "
		         "change them in the webmail's Rules page first",
		         x->err);
		return jmap_set_error("forbidden", why, NULL);
	default:
		return jmap_set_error("serverFail", "the Sieve script could not be written", NULL);
	}
}

static void set_done(void *arg, int status)
{
	struct vac_set *x = arg;
	struct jmap_call *c = x->c;
	if (status < 0) {
		set_free(x);
		jmap_server_fail(c, "storing the Sieve script");
		return;
	}
	json_t *updated = json_object();
	if (x->update && x->status == 0)
		json_object_set_new(updated, JMAP_VACATION_ID, json_null());
	else if (x->update)
		json_object_set_new(x->not_updated, JMAP_VACATION_ID, failure(x));
	json_t *res =
	    jmap_set_response(c, x->old_state, x->new_state, json_object(), updated, json_array(),
	                      x->not_created, x->not_updated, x->not_destroyed);
	set_free(x);
	if (res)
		jmap_reply(c, res);
	else
		jmap_server_fail(c, "out of memory");
}

/* A String or null for subject/textBody into *out ("" for null): NULL,
 * or why not. */
static const char *patch_string(json_t *v, bool one_line, char **out)
{
	if (!json_is_null(v) && !json_is_string(v))
		return "a String or null";
	const char *s = json_is_string(v) ? json_string_value(v) : "";
	if (json_is_string(v) && json_string_length(v) != strlen(s))
		return "no NUL character";
	for (const unsigned char *p = (const unsigned char *)s; one_line && *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return "the subject is one line: no control characters";
	free(*out);
	*out = strdup(s);
	return *out ? NULL : "out of memory";
}

/* The patch into p: NULL, or the SetError. */
static json_t *check_patch(json_t *patch, struct vac_patch *p)
{
	if (!json_is_object(patch))
		return jmap_set_error("invalidPatch", "a PatchObject is an object", NULL);
	json_t *bad = json_array();
	const char *why = NULL, *key;
	json_t *v;
	json_object_foreach(patch, key, v)
	{
		const char *w = NULL;
		if (!strcmp(key, "isEnabled")) {
			if (json_is_boolean(v)) {
				p->set_enabled = true;
				p->enabled = json_is_true(v);
			} else {
				w = "isEnabled is a Boolean";
			}
		} else if (!strcmp(key, "subject")) {
			w = patch_string(v, true, &p->subject);
		} else if (!strcmp(key, "textBody")) {
			w = patch_string(v, false, &p->body);
		} else if (!strcmp(key, "fromDate") || !strcmp(key, "toDate")) {
			if (!json_is_null(v))
				w = "only null: the vacation reply is a Sieve script, and this "
				    "server's "
				    "Sieve has no dates (RFC 5260 currentdate), so it cannot start "
				    "or stop "
				    "by itself";
		} else if (!strcmp(key, "htmlBody")) {
			if (!json_is_null(v))
				w = "only null: the vacation reply is plain text (textBody)";
		} else if (!strcmp(key, "id")) {
			if (!json_is_string(v) ||
			    strcmp(json_string_value(v), JMAP_VACATION_ID) != 0)
				w = "the server sets it";
		} else {
			w = "not a VacationResponse property";
		}
		if (w) {
			json_array_append_new(bad, json_string(key));
			if (!why)
				why = w;
		}
	}
	if (!json_array_size(bad)) {
		json_decref(bad);
		return NULL;
	}
	json_t *e = jmap_set_error("invalidProperties", why, NULL);
	json_object_set_new(e, "properties", bad);
	return e;
}

/* The reply the patch asks for compiles on its own: NULL, or the SetError
 * (a body over 64 KiB, or text Sieve cannot hold). */
static json_t *check_reply(const struct vac_patch *p)
{
	struct jmap_managed m;
	if (jmap_managed_empty(&m) < 0)
		return jmap_set_error("serverFail", "out of memory", NULL);
	m.enabled = true;
	struct buf text = {0};
	int r = 0;
	if (p->subject)
		r = jmap_managed_set_string(&m.subject, p->subject);
	if (r == 0 && p->body)
		r = jmap_managed_set_string(&m.body, p->body);
	if (r == 0)
		r = jmap_managed_text(&m, &text);
	jmap_managed_free(&m);
	char err[256];
	json_t *e = NULL;
	if (r == -E2BIG || (r == 0 && text.len > STORE_SIEVE_SCRIPT_MAX))
		e = jmap_set_error("tooLarge", "the Sieve script would be over 64 KiB", NULL);
	else if (r < 0)
		e = jmap_set_error("serverFail", "out of memory", NULL);
	else if (sieve_check(text.data, text.len, err, sizeof err) < 0)
		e = jmap_set_error("invalidProperties", err, p->body ? "textBody" : "subject");
	buf_free(&text);
	return e;
}

void jmap_vacation_response_set(struct jmap_call *c)
{
	struct jmap_set_args a;
	if (!jmap_set_args(c, &a))
		return;
	struct vac_view v;
	if (!read_view(c, &v))
		return;
	struct vac_set *x = calloc(1, sizeof *x);
	if (!x || !(x->not_created = json_object()) || !(x->not_updated = json_object()) ||
	    !(x->not_destroyed = json_object())) {
		jmap_managed_free(&v.m);
		if (x)
			set_free(x);
		jmap_server_fail(c, "out of memory");
		return;
	}
	x->c = c;
	x->account_id = c->acct->account_id;
	view_state(&v, x->old_state);
	jmap_managed_free(&v.m);
	if (a.if_in_state && strcmp(a.if_in_state, x->old_state) != 0) {
		set_free(x);
		jmap_error(c, "stateMismatch", NULL);
		return;
	}
	const char *key;
	json_t *val;
	size_t i;
	/* RFC 8621 §8: there is one, and it cannot be made or removed */
	json_object_foreach(a.create, key, val)
	{
		json_object_set_new(x->not_created, key,
		                    jmap_set_error("singleton",
		                                   "an account has one VacationResponse, "
		                                   "\"singleton\": update it",
		                                   NULL));
	}
	json_array_foreach(a.destroy, i, val)
	{
		json_object_set_new(x->not_destroyed, json_string_value(val),
		                    jmap_set_error("singleton",
		                                   "the VacationResponse cannot be destroyed: set "
		                                   "isEnabled to false",
		                                   NULL));
	}
	json_object_foreach(a.update, key, val)
	{
		const char *id = jmap_created_id(c, key);
		json_t *e = NULL;
		if (!id || strcmp(id, JMAP_VACATION_ID) != 0)
			e = jmap_set_error("notFound", NULL, NULL);
		else if (!(e = check_patch(val, &x->p)))
			e = check_reply(&x->p);
		if (e)
			json_object_set_new(x->not_updated, key, e);
		else
			x->update = true;
	}
	snprintf(x->new_state, sizeof x->new_state, "%s", x->old_state);
	if (!x->update) { /* nothing to write: answered now */
		set_done(x, 0);
		return;
	}
	if (store_submit(c->acct->store, set_job, set_done, x) < 0) {
		set_free(x);
		jmap_server_fail(c, "the store is not taking changes");
	}
}
