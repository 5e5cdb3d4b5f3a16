/* submission: EmailSubmission/get, /set, /query and /changes (RFC 8621
 * §7). Why here and not in email_*.c: sending is the one JMAP path that
 * leaves the account, and it goes through deliver/submit.h, the same
 * checks, DKIM signing and store job as SMTP submission.
 *
 * A create names an Email (its id, or "#creation-id" of one created
 * earlier in the request) and the account's identity ("I" + account
 * id). The envelope is the create's, or else the identity's address and
 * the Email's To, Cc and Bcc. The Bcc field is cut from the bytes that
 * go out. Creates run one after another; each is final at once
 * (undoStatus "final": no delayed sending), and kept in memory for
 * EmailSubmission/get, the last SUBMISSIONS_KEPT of the process.
 *
 * onSuccessUpdateEmail / onSuccessDestroyEmail (§7.5) become an implicit
 * Email/set: the EmailSubmission/set response goes out first
 * (jmap_reply_also), then the call itself is handed on to
 * jmap_email_set() under the name "Email/set" with the arguments built
 * here, and its answer ends the call (same call id, as the RFC asks). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deliver/submit.h"
#include "lib/buf.h"
#include "mime/mime.h"
#include "proto/jmap/email_common.h"
#include "proto/jmap/email_methods.h"
#include "proto/jmap/methods.h"
#include "store/emails.h"
#include "store/store.h"

#define SUBMISSIONS_KEPT 256
#define MAX_RCPTS 1000

struct kept {
	int64_t id, account_id;
	json_t *obj; /* the EmailSubmission */
};
static struct kept kept[SUBMISSIONS_KEPT];
static size_t nkept, kept_next;
static int64_t last_id;

/* The state of EmailSubmission (all accounts alike): the last id handed
 * out. Ids grow by one per submission, so the submissions since a state
 * are the kept ones above it, as long as none of them has left the ring. */
static json_t *state_json(int64_t state)
{
	char s[24];
	snprintf(s, sizeof s, "%lld", (long long)state);
	return json_string(s);
}

static void keep(int64_t account_id, int64_t id, json_t *obj)
{
	struct kept *k = &kept[kept_next];
	json_decref(k->obj);
	*k = (struct kept){id, account_id, json_incref(obj)};
	kept_next = (kept_next + 1) % SUBMISSIONS_KEPT;
	if (nkept < SUBMISSIONS_KEPT)
		nkept++;
}

struct sub_ctx {
	struct jmap_call *c;
	int64_t old_state;
	json_t *create; /* borrowed from args: creation id -> object */
	void *iter;     /* the next create */
	json_t *created, *not_created, *not_updated, *not_destroyed;
	json_t *on_update, *on_destroy; /* copies */
	struct buf msg;
	char **rcpts;
	size_t nrcpts;
	char *mail_from;
	struct submit_result res;
	/* the create being sent */
	const char *cid;
	json_t *email_id, *thread_id;
	json_t *envelope;
};

static void rcpts_free(struct sub_ctx *x)
{
	for (size_t i = 0; i < x->nrcpts; i++)
		free(x->rcpts[i]);
	free(x->rcpts);
	x->rcpts = NULL;
	x->nrcpts = 0;
	free(x->mail_from);
	x->mail_from = NULL;
	json_decref(x->envelope);
	x->envelope = NULL;
	json_decref(x->email_id);
	json_decref(x->thread_id);
	x->email_id = x->thread_id = NULL;
	submit_result_free(&x->res);
}

static void ctx_free(struct sub_ctx *x)
{
	rcpts_free(x);
	buf_free(&x->msg);
	json_decref(x->created);
	json_decref(x->not_created);
	json_decref(x->not_updated);
	json_decref(x->not_destroyed);
	json_decref(x->on_update);
	json_decref(x->on_destroy);
	free(x);
}

static int rcpt_add(struct sub_ctx *x, const char *addr)
{
	if (x->nrcpts == MAX_RCPTS)
		return -E2BIG;
	char **p = realloc(x->rcpts, (x->nrcpts + 1) * sizeof *p);
	if (!p)
		return -ENOMEM;
	x->rcpts = p;
	if (!(p[x->nrcpts] = strdup(addr)))
		return -ENOMEM;
	x->nrcpts++;
	return 0;
}

/* The addresses of the To, Cc and Bcc fields of the message. */
static int rcpts_from_header(struct sub_ctx *x)
{
	struct mime_message *m = NULL;
	int r = mime_parse(x->msg.data, x->msg.len, &m);
	if (r < 0)
		return r;
	static const char *const fields[] = {"To", "Cc", "Bcc"};
	for (size_t f = 0; f < 3 && r == 0; f++) {
		const char *v;
		size_t vlen;
		if (!mime_header_get(m, m->root, fields[f], &v, &vlen))
			continue;
		struct mime_address *a = NULL;
		size_t n = 0;
		if ((r = mime_addresses_parse(v, vlen, &a, &n)) < 0)
			break;
		for (size_t i = 0; i < n && r == 0; i++) {
			if (!a[i].mailbox || !a[i].host)
				continue;
			char addr[512];
			snprintf(addr, sizeof addr, "%s@%s", a[i].mailbox, a[i].host);
			r = rcpt_add(x, addr);
		}
		mime_addresses_free(&a, n);
	}
	mime_free(&m);
	return r;
}

/* Cuts the Bcc field(s) of the header out of msg, in place. */
static void strip_bcc(struct buf *msg)
{
	size_t i = 0;
	while (i < msg->len) {
		if (msg->data[i] == '\r' || msg->data[i] == '\n')
			return; /* the end of the header */
		size_t end = i;
		while (end < msg->len) { /* the field with its folded lines */
			char *nl = memchr(msg->data + end, '\n', msg->len - end);
			end = nl ? (size_t)(nl - msg->data) + 1 : msg->len;
			if (end >= msg->len || (msg->data[end] != ' ' && msg->data[end] != '\t'))
				break;
		}
		if (end - i >= 4 && strncasecmp(msg->data + i, "bcc:", 4) == 0) {
			memmove(msg->data + i, msg->data + end, msg->len - end);
			msg->len -= end - i;
			continue;
		}
		i = end;
	}
}

static int64_t thread_of(const struct jmap_account *a, int64_t mid, int *found);

/* The envelope's addresses: "envelope" of the create, or NULL. NULL or
 * a SetError. */
static json_t *read_envelope(struct sub_ctx *x, json_t *env, int *err)
{
	json_t *from = json_object_get(env, "mailFrom"), *to = json_object_get(env, "rcptTo");
	const char *mf = json_string_value(json_object_get(from, "email"));
	if (!json_is_object(env) || !mf || !json_is_array(to))
		return jmap_set_error("invalidProperties", "envelope has mailFrom and rcptTo",
		                      "envelope");
	json_t *params = json_object_get(from, "parameters");
	if (params && !json_is_null(params) && json_object_size(params))
		return jmap_set_error("invalidProperties", "no SMTP parameters are supported",
		                      "envelope");
	if (!(x->mail_from = strdup(mf))) {
		*err = -ENOMEM;
		return NULL;
	}
	size_t i;
	json_t *t;
	json_array_foreach(to, i, t)
	{
		const char *e = json_string_value(json_object_get(t, "email"));
		if (!e)
			return jmap_set_error("invalidProperties", "rcptTo holds Addresses",
			                      "envelope");
		if ((*err = rcpt_add(x, e)) < 0)
			return *err == -E2BIG
			           ? (*err = 0, jmap_set_error("tooManyRecipients", NULL, NULL))
			           : NULL;
	}
	return NULL;
}

static void next_create(struct sub_ctx *x);

static json_t *status_error(struct sub_ctx *x, enum deliver_status st)
{
	switch (st) {
	case DELIVER_NOT_OWNED:
		return jmap_set_error("forbiddenFrom", x->res.why, NULL);
	case DELIVER_RELAY_DENIED:
		return jmap_set_error("forbiddenToSend", x->res.why, NULL);
	case DELIVER_NO_SUCH_USER:
	case DELIVER_ALIAS_LOOP:
	case DELIVER_BAD_ADDRESS: {
		json_t *e = jmap_set_error("invalidRecipients", x->res.why, NULL);
		json_t *list = json_array();
		for (size_t i = 0; i < x->res.nrcpts && i < x->nrcpts; i++)
			if (x->res.rcpts && x->res.rcpts[i].status != DELIVER_OK)
				json_array_append_new(list, json_string(x->rcpts[i]));
		json_object_set_new(e, "invalidRecipients", list);
		return e;
	}
	case DELIVER_NO_RCPTS:
		return jmap_set_error("noRecipients", x->res.why, NULL);
	case DELIVER_TOO_MANY_RCPTS:
		return jmap_set_error("tooManyRecipients", x->res.why, NULL);
	case DELIVER_TOO_BIG:
		return jmap_set_error("tooLarge", x->res.why, NULL);
	case DELIVER_MAILBOX_FULL:
		return jmap_set_error("overQuota", x->res.why, NULL);
	case DELIVER_BAD_MESSAGE:
		return jmap_set_error("invalidEmail", x->res.why, NULL);
	default:
		return jmap_set_error("serverFail", x->res.why, NULL);
	}
}

static void sent(void *ud, int status)
{
	struct sub_ctx *x = ud;
	if (status < 0) {
		json_object_set_new(
		    x->not_created, x->cid,
		    jmap_set_error("serverFail", "storing the message failed", NULL));
	} else {
		int64_t id = ++last_id;
		char sid[32], send_at[32];
		snprintf(sid, sizeof sid, "S%lld", (long long)id);
		jmap_utc_date(time(NULL), send_at, sizeof send_at);
		json_t *env = x->envelope;
		if (!env) {
			json_t *to = json_array();
			for (size_t i = 0; i < x->nrcpts; i++)
				json_array_append_new(to, json_pack("{s:s, s:n}", "email",
				                                    x->rcpts[i], "parameters"));
			env = json_pack("{s:{s:s, s:n}, s:o}", "mailFrom", "email", x->mail_from,
			                "parameters", "rcptTo", to);
		} else {
			json_incref(env);
		}
		json_t *obj = json_pack(
		    "{s:s, s:o, s:O, s:O, s:o, s:s, s:s, s:n, s:[], s:[]}", "id", sid, "identityId",
		    jmap_id_json('I', x->c->acct->account_id), "emailId", x->email_id, "threadId",
		    x->thread_id, "envelope", env, "sendAt", send_at, "undoStatus", "final",
		    "deliveryStatus", "dsnBlobIds", "mdnBlobIds");
		if (obj)
			keep(x->c->acct->account_id, id, obj);
		json_object_set_new(x->created, x->cid,
		                    json_pack("{s:s, s:s, s:s}", "id", sid, "sendAt", send_at,
		                              "undoStatus", "final"));
		jmap_created_add(x->c, x->cid, sid);
		json_decref(obj);
	}
	next_create(x);
}

/* Tries one create; true when it is under way (sent() goes on). */
static bool send_one(struct sub_ctx *x, const char *cid, json_t *o)
{
	const struct jmap_account *a = x->c->acct;
	x->cid = cid;
	rcpts_free(x);
	buf_reset(&x->msg);
	json_t *bad = NULL;
	int err = 0;
	const char *key;
	json_t *v;
	if (!json_is_object(o)) {
		bad = jmap_set_error("invalidProperties", "an EmailSubmission is an object", NULL);
		goto refuse;
	}
	json_object_foreach(o, key, v)
	{
		if (strcmp(key, "identityId") && strcmp(key, "emailId") &&
		    strcmp(key, "envelope")) {
			bad = jmap_set_error("invalidProperties", "not a property that can be set",
			                     key);
			goto refuse;
		}
	}
	int64_t iid, mid;
	if (!jmap_id_parse(json_string_value(json_object_get(o, "identityId")), 'I', &iid) ||
	    iid != a->account_id) {
		bad = jmap_set_error("invalidProperties", "not this account's identity",
		                     "identityId");
		goto refuse;
	}
	const char *eid = jmap_created_id(x->c, json_string_value(json_object_get(o, "emailId")));
	int found = 0;
	int64_t tid = 0;
	if (eid && jmap_id_parse(eid, 'M', &mid))
		tid = thread_of(a, mid, &found);
	if (found < 0) {
		err = found;
		goto refuse;
	}
	if (!found) {
		bad = jmap_set_error("invalidProperties", "no such Email", "emailId");
		goto refuse;
	}
	if ((err = jmap_message_bytes(a, mid, &x->msg)) < 0)
		goto refuse;
	x->email_id = json_string(eid);
	x->thread_id = jmap_id_json('T', tid);
	json_t *env = json_object_get(o, "envelope");
	if (env && !json_is_null(env)) {
		if ((bad = read_envelope(x, env, &err)) || err < 0)
			goto refuse;
		x->envelope = json_incref(env);
	} else {
		if (!(x->mail_from = strdup(a->username))) {
			err = -ENOMEM;
			goto refuse;
		}
		if ((err = rcpts_from_header(x)) < 0) {
			if (err == -E2BIG) {
				err = 0;
				bad = jmap_set_error("tooManyRecipients", NULL, NULL);
			}
			goto refuse;
		}
	}
	strip_bcc(&x->msg);
	struct submit_req q = {.store = a->store,
	                       .hostname = a->hostname ? a->hostname : "localhost",
	                       .account_id = a->account_id,
	                       .login = a->username,
	                       .with = "HTTP",
	                       .mail_from = x->mail_from,
	                       .rcpts = (const char *const *)x->rcpts,
	                       .nrcpts = x->nrcpts,
	                       .msg = x->msg.data ? x->msg.data : "",
	                       .len = x->msg.len,
	                       .max_rcpts = MAX_RCPTS};
	enum deliver_status st = submit_start(&q, &x->res, sent, x);
	if (st == DELIVER_OK)
		return true;
	bad = status_error(x, st);
refuse:
	if (!bad)
		bad = jmap_set_error("serverFail", err ? strerror(-err) : NULL, NULL);
	json_object_set_new(x->not_created, cid, bad);
	return false;
}

/* The implicit Email/set of onSuccessUpdateEmail/onSuccessDestroyEmail,
 * for the submissions created: NULL when there is nothing to do. */
static json_t *implicit_args(struct sub_ctx *x)
{
	json_t *update = json_object(), *destroy = json_array();
	const char *key;
	json_t *v;
	json_object_foreach(x->on_update, key, v)
	{
		const char *sid = jmap_created_id(x->c, key);
		for (size_t i = 0; sid && i < nkept; i++) {
			char s[32];
			snprintf(s, sizeof s, "S%lld", (long long)kept[i].id);
			if (kept[i].account_id == x->c->acct->account_id && !strcmp(s, sid))
				json_object_set(
				    update,
				    json_string_value(json_object_get(kept[i].obj, "emailId")), v);
		}
	}
	size_t i;
	json_array_foreach(x->on_destroy, i, v)
	{
		const char *sid = jmap_created_id(x->c, json_string_value(v));
		for (size_t k = 0; sid && k < nkept; k++) {
			char s[32];
			snprintf(s, sizeof s, "S%lld", (long long)kept[k].id);
			if (kept[k].account_id == x->c->acct->account_id && !strcmp(s, sid))
				json_array_append(destroy, json_object_get(kept[k].obj, "emailId"));
		}
	}
	if (!json_object_size(update) && !json_array_size(destroy)) {
		json_decref(update);
		json_decref(destroy);
		return NULL;
	}
	return json_pack("{s:O, s:o, s:o}", "accountId", json_object_get(x->c->args, "accountId"),
	                 "update", update, "destroy", destroy);
}

static void finish(struct sub_ctx *x)
{
	struct jmap_call *c = x->c;
	json_t *res = json_pack("{s:O, s:o, s:o, s:O, s:n, s:n}", "accountId",
	                        json_object_get(c->args, "accountId"), "oldState",
	                        state_json(x->old_state), "newState", state_json(last_id),
	                        "created", x->created, "updated", "destroyed");
	jmap_set_failures(res, x->not_created, x->not_updated, x->not_destroyed);
	json_t *then = implicit_args(x);
	ctx_free(x);
	if (!res) {
		json_decref(then);
		jmap_server_fail(c, "out of memory");
		return;
	}
	if (!then) {
		jmap_reply(c, res);
		return;
	}
	jmap_reply_also(c, "EmailSubmission/set", res);
	/* The call goes on as the implicit Email/set: the runner frees the
	 * arguments it then holds when the call answers. */
	json_t *old = c->args;
	c->args = then;
	c->name = "Email/set";
	json_decref(old);
	jmap_email_set(c);
}

static void next_create(struct sub_ctx *x)
{
	while (x->iter) {
		const char *cid = json_object_iter_key(x->iter);
		json_t *o = json_object_iter_value(x->iter);
		x->iter = json_object_iter_next(x->create, x->iter);
		if (send_one(x, cid, o))
			return;
	}
	finish(x);
}

static int entry_seen(void *ud, const struct store_email_entry *e)
{
	*(int64_t *)ud = e->thread_id;
	return 0;
}

/* The thread of an Email of the account; *found 1, 0 or negative. */
static int64_t thread_of(const struct jmap_account *a, int64_t mid, int *found)
{
	int64_t tid = 0;
	struct store_rd *rd = store_reader(a->store);
	bool begun = store_read_begin(rd);
	int r = store_email_entries(rd, a->account_id, mid, entry_seen, &tid);
	store_read_end(rd, begun);
	*found = r < 0 ? r : r > 0;
	return tid;
}

void jmap_email_submission_set(struct jmap_call *c)
{
	struct jmap_set_args a;
	if (!jmap_set_args(c, &a))
		return;
	json_t *create = a.create, *update = a.update, *destroy = a.destroy;
	json_t *on_update = json_object_get(c->args, "onSuccessUpdateEmail");
	json_t *on_destroy = json_object_get(c->args, "onSuccessDestroyEmail");
	if ((on_update && !json_is_null(on_update) && !json_is_object(on_update)) ||
	    (on_destroy && !json_is_null(on_destroy) && !json_is_array(on_destroy))) {
		jmap_error(c, "invalidArguments",
		           "onSuccessUpdateEmail is an object, onSuccessDestroyEmail an array");
		return;
	}
	if (a.if_in_state) {
		json_t *now = state_json(last_id);
		bool same = now && !strcmp(json_string_value(now), a.if_in_state);
		json_decref(now);
		if (!same) {
			jmap_error(c, "stateMismatch", NULL);
			return;
		}
	}
	struct sub_ctx *x = calloc(1, sizeof *x);
	if (!x || !(x->created = json_object()) || !(x->not_created = json_object())) {
		if (x)
			ctx_free(x);
		jmap_server_fail(c, "out of memory");
		return;
	}
	x->c = c;
	x->old_state = last_id;
	x->on_update = json_is_object(on_update) ? json_deep_copy(on_update) : json_object();
	x->on_destroy = json_is_array(on_destroy) ? json_deep_copy(on_destroy) : json_array();
	json_t *not_updated = x->not_updated = json_object();
	json_t *not_destroyed = x->not_destroyed = json_object();
	const char *key;
	json_t *v;
	size_t i;
	json_object_foreach(update, key, v) /* only undoStatus could change: all final */
	    json_object_set_new(
	        not_updated, key,
	        jmap_set_error("cannotUnsend", "submissions are final at once", NULL));
	json_array_foreach(destroy, i, v) json_object_set_new(
	    not_destroyed, json_string_value(v), jmap_set_error("forbidden", NULL, NULL));
	x->create = json_is_object(create) ? create : NULL;
	x->iter = x->create ? json_object_iter(x->create) : NULL;
	next_create(x);
}

void jmap_email_submission_get(struct jmap_call *c)
{
	static const char *const known[] = {
	    "id",     "identityId", "emailId",        "threadId",   "envelope",
	    "sendAt", "undoStatus", "deliveryStatus", "dsnBlobIds", "mdnBlobIds"};
	json_t *ids, *want;
	if (!jmap_get_args(c, &ids, &want) ||
	    !jmap_properties_known(c, want, known, sizeof known / sizeof known[0]))
		return;
	json_t *list = json_array(), *not_found = json_array();
	for (size_t i = 0; i < nkept; i++) {
		if (kept[i].account_id != c->acct->account_id)
			continue;
		const char *id = json_string_value(json_object_get(kept[i].obj, "id"));
		bool asked = !ids;
		size_t k;
		json_t *v;
		json_array_foreach(ids, k, v) asked |= !strcmp(json_string_value(v), id);
		if (!asked)
			continue;
		json_t *o = json_object();
		const char *p;
		json_object_foreach(kept[i].obj, p, v) if (!strcmp(p, "id") || jmap_want(want, p))
		    json_object_set(o, p, v);
		json_array_append_new(list, o);
	}
	size_t k;
	json_t *v;
	json_array_foreach(ids, k, v)
	{
		bool seen = false;
		size_t j;
		json_t *o;
		json_array_foreach(list, j, o) seen |=
		    !strcmp(json_string_value(json_object_get(o, "id")), json_string_value(v));
		if (!seen)
			json_array_append(not_found, v);
	}
	jmap_reply(c, json_pack("{s:O, s:o, s:o, s:o}", "accountId",
	                        json_object_get(c->args, "accountId"), "state", state_json(last_id),
	                        "list", list, "notFound", not_found));
}

void jmap_email_submission_query(struct jmap_call *c)
{
	if (!jmap_email_account_ok(c))
		return;
	json_t *ids = json_array();
	for (size_t i = 0; i < nkept; i++)
		if (kept[i].account_id == c->acct->account_id)
			json_array_append(ids, json_object_get(kept[i].obj, "id"));
	jmap_reply(c, json_pack("{s:O, s:o, s:b, s:i, s:o, s:I}", "accountId",
	                        json_object_get(c->args, "accountId"), "queryState",
	                        state_json(last_id), "canCalculateChanges", 0, "position", 0, "ids",
	                        ids, "total", (json_int_t)json_array_size(ids)));
}

/* The oldest id still kept (0: none kept yet). */
static int64_t oldest_kept(void)
{
	if (!nkept)
		return 0;
	return kept[nkept < SUBMISSIONS_KEPT ? 0 : kept_next].id;
}

void jmap_email_submission_changes(struct jmap_call *c)
{
	const char *s;
	size_t limit;
	if (!jmap_changes_args(c, &s, &limit))
		return;
	char *end;
	errno = 0;
	long long from = strtoll(s, &end, 10);
	/* a state never handed out, or submissions since it that the ring
	 * no longer holds */
	if (!*s || *end || errno || from < 0 || from > last_id ||
	    (from < last_id && oldest_kept() > from + 1)) {
		jmap_error(c, "cannotCalculateChanges", NULL);
		return;
	}
	json_t *created = json_array();
	int64_t upto = from;
	bool more = false;
	/* the ring from oldest to newest: ids ascending */
	size_t first = nkept < SUBMISSIONS_KEPT ? 0 : kept_next;
	for (size_t n = 0; created && n < nkept; n++) {
		const struct kept *k = &kept[(first + n) % SUBMISSIONS_KEPT];
		if (k->id <= from)
			continue;
		if (k->account_id == c->acct->account_id) {
			if (json_array_size(created) == limit) {
				more = true;
				break;
			}
			json_array_append(created, json_object_get(k->obj, "id"));
		}
		upto = k->id;
	}
	if (!more)
		upto = last_id;
	json_t *res = created ? json_pack("{s:O, s:O, s:o, s:b, s:o, s:[], s:[]}", "accountId",
	                                  json_object_get(c->args, "accountId"), "oldState",
	                                  json_object_get(c->args, "sinceState"), "newState",
	                                  state_json(upto), "hasMoreChanges", more, "created",
	                                  created, "updated", "destroyed")
	                      : NULL;
	if (!res) {
		jmap_server_fail(c, "out of memory");
		return;
	}
	jmap_reply(c, res);
}
