/* mailbox_set: Mailbox/set (RFC 8621 §2.5): create, rename or move,
 * (un)subscribe and destroy folders.
 *
 * Every change is one of the store jobs IMAP's CREATE, RENAME, DELETE and
 * (UN)SUBSCRIBE run (store/mailboxes.h), so the two protocols keep the
 * same rules (INBOX stays, a child needs its parent, one mailbox per
 * role), and each is published on the notification registry after its
 * COMMIT like IMAP's, so IMAP NOTIFY/IDLE sessions and the EventSource
 * see it. The changes run one after another, creates first, then
 * updates, then destroys (RFC 8620 §5.3), each against the mailbox list
 * as the previous one left it: a create may name a parent created
 * earlier in the same call ("#c1"), and a rename moves the children.
 *
 * A Mailbox's id is "F" + its UIDVALIDITY (mailbox.c); its name is the
 * last segment of the IMAP name, so a name may not hold the separator
 * '/'. sortOrder is the server's (it follows the role): a create or
 * update may send it, and the created object says the value it got. */
#include "proto/jmap/methods.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store/mailboxes.h"
#include "store/notify.h"
#include "store/store.h"

/* An IMAP name tern keeps, whole and per segment (RFC 8621 §2 asks a
 * server to allow at least 255 octets per name). */
#define PATH_MAX_BYTES 1024
#define NAME_MAX_BYTES 255

static const struct {
	const char *role, *special_use;
} settable_roles[] = {{"archive", "\\Archive"},
                      {"drafts", "\\Drafts"},
                      {"junk", "\\Junk"},
                      {"sent", "\\Sent"},
                      {"trash", "\\Trash"}};

enum step { STEP_CREATE, STEP_SUBSCRIBE_CREATED, STEP_RENAME, STEP_SUBSCRIBE, STEP_DESTROY };

/* job first: the store jobs get this struct as their store_mailbox_req */
struct mset {
	struct store_mailbox_req job;
	struct jmap_call *c;
	struct jmap_set_args a;
	bool remove_emails; /* onDestroyRemoveEmails */
	char old_state[JMAP_MAILBOX_STATE_MAX];
	json_t *created, *updated, *destroyed;
	json_t *not_created, *not_updated, *not_destroyed;
	/* where the run is: the create or update iterator, the destroy index */
	void *create_iter, *update_iter;
	size_t destroy_next;
	/* the change in flight */
	enum step step;
	const char *key; /* creation id or Mailbox id */
	int subscribe;   /* after a create or a rename: -1 none, else 0/1 */
	char name[PATH_MAX_BYTES + 1], newname[PATH_MAX_BYTES + 1];
};

/* A mailbox of the account found by its JMAP id. */
struct found {
	uint32_t uidvalidity;
	int64_t id;
	char path[PATH_MAX_BYTES + 1];
	char special_use[64];
	bool subscribed;
	int hit;
};

static int find_cb(void *ud, const struct store_mailbox *mb)
{
	struct found *f = ud;
	if (mb->uidvalidity != f->uidvalidity || strlen(mb->name) > PATH_MAX_BYTES)
		return 0;
	f->id = mb->id;
	snprintf(f->path, sizeof f->path, "%s", mb->name);
	snprintf(f->special_use, sizeof f->special_use, "%s", mb->special_use);
	f->subscribed = mb->subscribed != 0;
	f->hit = 1;
	return 1;
}

/* 1 and *f for the Mailbox id (or "#creation-id") id, 0 when the account
 * has none, negative on a store error. */
static int find(struct mset *x, const char *id, struct found *f)
{
	memset(f, 0, sizeof *f);
	const char *real = jmap_created_id(x->c, id);
	int64_t v;
	if (!real || !jmap_id_parse(real, 'F', &v) || v > UINT32_MAX)
		return 0;
	f->uidvalidity = (uint32_t)v;
	struct store_rd *rd = store_reader(x->c->acct->store);
	bool begun = store_read_begin(rd);
	int r = store_mailbox_list(rd, x->c->acct->account_id, find_cb, f);
	store_read_end(rd, begun);
	return r < 0 ? r : f->hit;
}

/* A name as JMAP gives it: not empty, no separator, no control
 * character, not too long. NULL when fine, else why not. */
static const char *name_problem(const char *s)
{
	size_t n = strlen(s);
	if (n == 0)
		return "the name is empty";
	if (n > NAME_MAX_BYTES)
		return "the name is too long";
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch < 0x20 || ch == 0x7f)
			return "the name holds a control character";
		if (ch == '/')
			return "the name holds '/', the hierarchy separator";
	}
	return NULL;
}

static void publish(struct mset *x, enum notify_kind kind, const char *name, const char *old)
{
	struct notify_event ev = {.mailbox_id = x->job.mailbox_id,
	                          .kind = kind,
	                          .account_id = x->c->acct->account_id,
	                          .name = name,
	                          .old_name = old};
	notify_publish(&ev);
}

static void mset_free(struct mset *x)
{
	json_decref(x->created);
	json_decref(x->updated);
	json_decref(x->destroyed);
	json_decref(x->not_created);
	json_decref(x->not_updated);
	json_decref(x->not_destroyed);
	free(x->job.uids);
	free(x);
}

static void answer(struct mset *x)
{
	struct jmap_call *c = x->c;
	char state[JMAP_MAILBOX_STATE_MAX];
	if (jmap_mailbox_state(c->acct, state) < 0) {
		mset_free(x);
		jmap_error(c, "serverFail", "reading the mailboxes");
		return;
	}
	json_t *res = json_pack("{s:O, s:s, s:s, s:O, s:O, s:O}", "accountId",
	                        json_object_get(c->args, "accountId"), "oldState", x->old_state,
	                        "newState", state, "created", x->created, "updated", x->updated,
	                        "destroyed", x->destroyed);
	jmap_set_failures(res, x->not_created, x->not_updated, x->not_destroyed);
	mset_free(x);
	if (!res)
		jmap_error(c, "serverFail", "out of memory");
	else
		jmap_reply(c, res);
}

static void run_next(struct mset *x);
static void job_done(void *arg, int status);

static void submit(struct mset *x, enum step step, store_job_fn fn)
{
	x->step = step;
	x->job.account_id = x->c->acct->account_id;
	if (store_submit(x->c->acct->store, fn, job_done, x) < 0)
		job_done(x, -EAGAIN);
}

static void refuse(json_t *into, const char *key, const char *type, const char *why,
                   const char *prop)
{
	json_object_set_new(into, key, jmap_set_error(type, why, prop));
}

/* parent + "/" + leaf into out (PATH_MAX_BYTES + 1 bytes); false when
 * it would not fit. */
static bool join(char *out, const char *parent, const char *leaf)
{
	size_t plen = strlen(parent), llen = strlen(leaf);
	if (plen + 1 + llen > PATH_MAX_BYTES)
		return false;
	memcpy(out, parent, plen);
	out[plen] = '/';
	memcpy(out + plen + 1, leaf, llen + 1);
	return true;
}

/* The IMAP name of a child called name under the mailbox parent_id
 * (JSON null: at the top) into out. NULL when fine, else the SetError
 * (its property is parentId). */
static json_t *child_path(struct mset *x, const json_t *parent_id, const char *name, char *out,
                          const char *self_path)
{
	if (!parent_id || json_is_null(parent_id)) {
		if (strcasecmp(name, "INBOX") == 0)
			return jmap_set_error("invalidProperties", "INBOX exists at the top",
			                      "name");
		snprintf(out, PATH_MAX_BYTES + 1, "%s", name);
		return NULL;
	}
	if (!json_is_string(parent_id))
		return jmap_set_error("invalidProperties", "parentId is an id or null", "parentId");
	struct found p;
	int r = find(x, json_string_value(parent_id), &p);
	if (r < 0)
		return jmap_set_error("serverFail", "reading the mailboxes", NULL);
	if (r == 0)
		return jmap_set_error("invalidProperties", "no such parent", "parentId");
	if (self_path && (strcmp(p.path, self_path) == 0 ||
	                  (strncmp(p.path, self_path, strlen(self_path)) == 0 &&
	                   p.path[strlen(self_path)] == '/')))
		return jmap_set_error("invalidProperties", "a mailbox cannot move under itself",
		                      "parentId");
	if (!join(out, p.path, name))
		return jmap_set_error("invalidProperties", "the name is too long", "name");
	return NULL;
}

/* The special use a role asks for ("" for null); NULL when tern cannot
 * give that role. */
static const char *special_use_of(const json_t *role)
{
	if (!role || json_is_null(role))
		return "";
	if (!json_is_string(role))
		return NULL;
	for (size_t i = 0; i < sizeof settable_roles / sizeof settable_roles[0]; i++)
		if (strcmp(json_string_value(role), settable_roles[i].role) == 0)
			return settable_roles[i].special_use;
	return NULL;
}

/* Properties a client may send, and the ones the server sets. */
static bool known_property(const char *p)
{
	static const char *const props[] = {"name", "parentId", "role", "sortOrder",
	                                    "isSubscribed"};
	for (size_t i = 0; i < sizeof props / sizeof props[0]; i++)
		if (strcmp(p, props[i]) == 0)
			return true;
	return false;
}

static bool server_set(const char *p)
{
	static const char *const props[] = {"id",           "totalEmails",   "unreadEmails",
	                                    "totalThreads", "unreadThreads", "myRights"};
	for (size_t i = 0; i < sizeof props / sizeof props[0]; i++)
		if (strcmp(p, props[i]) == 0)
			return true;
	return false;
}

/* A property of o a create or update may not carry: its name, or NULL. */
static const char *bad_property(json_t *o)
{
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v)
	{
		if (!known_property(k) || server_set(k))
			return k;
		if (strcmp(k, "sortOrder") == 0 &&
		    (!json_is_integer(v) || json_integer_value(v) < 0))
			return k;
		if (strcmp(k, "isSubscribed") == 0 && !json_is_boolean(v))
			return k;
	}
	return NULL;
}

/* Starts the next create: true when a job went out. */
static bool next_create(struct mset *x)
{
	while (x->create_iter) {
		x->key = json_object_iter_key(x->create_iter);
		json_t *o = json_object_iter_value(x->create_iter);
		x->create_iter = json_object_iter_next(x->a.create, x->create_iter);
		const char *bad = json_is_object(o) ? bad_property(o) : "";
		json_t *name = json_object_get(o, "name");
		if (bad) {
			refuse(x->not_created, x->key, "invalidProperties",
			       "not a Mailbox property", *bad ? bad : NULL);
			continue;
		}
		if (!json_is_string(name) || name_problem(json_string_value(name))) {
			refuse(x->not_created, x->key, "invalidProperties",
			       json_is_string(name) ? name_problem(json_string_value(name))
			                            : "a name is required",
			       "name");
			continue;
		}
		const char *use = special_use_of(json_object_get(o, "role"));
		if (!use) {
			refuse(x->not_created, x->key, "invalidProperties",
			       "tern gives the roles archive, drafts, junk, sent and trash",
			       "role");
			continue;
		}
		json_t *err = child_path(x, json_object_get(o, "parentId"), json_string_value(name),
		                         x->name, NULL);
		if (err) {
			json_object_set_new(x->not_created, x->key, err);
			continue;
		}
		json_t *sub = json_object_get(o, "isSubscribed");
		/* a new mailbox is subscribed (as IMAP's CREATE makes it);
		 * isSubscribed false takes a second job */
		x->subscribe = json_is_false(sub) ? 0 : -1;
		memset(&x->job, 0, sizeof x->job);
		x->job.name = x->name;
		x->job.special_use = use;
		submit(x, STEP_CREATE, store_mailbox_create_job);
		return true;
	}
	return false;
}

/* Starts the next update: true when a job went out. */
static bool next_update(struct mset *x)
{
	while (x->update_iter) {
		x->key = json_object_iter_key(x->update_iter);
		json_t *o = json_object_iter_value(x->update_iter);
		x->update_iter = json_object_iter_next(x->a.update, x->update_iter);
		struct found f;
		int r = find(x, x->key, &f);
		if (r <= 0) {
			refuse(x->not_updated, x->key, r < 0 ? "serverFail" : "notFound", NULL,
			       NULL);
			continue;
		}
		x->key = jmap_created_id(x->c, x->key); /* "#c1": the id it stands for */
		const char *bad = json_is_object(o) ? bad_property(o) : "";
		if (bad) {
			refuse(x->not_updated, x->key, "invalidProperties",
			       "not a Mailbox property", *bad ? bad : NULL);
			continue;
		}
		json_t *role = json_object_get(o, "role");
		const char *use = role ? special_use_of(role) : NULL;
		if (role && (!use || strcasecmp(use, f.special_use) != 0)) {
			refuse(x->not_updated, x->key, "invalidProperties",
			       "a mailbox's role is set when it is created", "role");
			continue;
		}
		json_t *name = json_object_get(o, "name");
		json_t *parent = json_object_get(o, "parentId");
		const char *slash = strrchr(f.path, '/');
		const char *old_name = slash ? slash + 1 : f.path;
		x->newname[0] = '\0';
		if (name || parent) {
			if (strcmp(f.path, "INBOX") == 0) {
				refuse(x->not_updated, x->key, "forbidden", "INBOX keeps its name",
				       NULL);
				continue;
			}
			if (name &&
			    (!json_is_string(name) || name_problem(json_string_value(name)))) {
				refuse(x->not_updated, x->key, "invalidProperties",
				       json_is_string(name) ? name_problem(json_string_value(name))
				                            : "name is a string",
				       "name");
				continue;
			}
			char parent_path[PATH_MAX_BYTES + 1];
			snprintf(parent_path, sizeof parent_path, "%.*s",
			         slash ? (int)(slash - f.path) : 0, f.path);
			const char *leaf = name ? json_string_value(name) : old_name;
			json_t *err = NULL;
			if (parent) {
				err = child_path(x, parent, leaf, x->newname, f.path);
			} else if (slash) {
				if (!join(x->newname, parent_path, leaf))
					err = jmap_set_error("invalidProperties",
					                     "the name is too long", "name");
			} else if (strcasecmp(leaf, "INBOX") == 0) {
				err = jmap_set_error("invalidProperties", "INBOX exists at the top",
				                     "name");
			} else {
				snprintf(x->newname, sizeof x->newname, "%s", leaf);
			}
			if (err) {
				json_object_set_new(x->not_updated, x->key, err);
				continue;
			}
			if (strcmp(x->newname, f.path) == 0)
				x->newname[0] = '\0';
		}
		json_t *sub = json_object_get(o, "isSubscribed");
		x->subscribe =
		    sub && json_boolean_value(sub) != f.subscribed ? json_is_true(sub) : -1;
		memset(&x->job, 0, sizeof x->job);
		snprintf(x->name, sizeof x->name, "%s", f.path);
		x->job.name = x->name;
		if (x->newname[0]) {
			x->job.newname = x->newname;
			submit(x, STEP_RENAME, store_mailbox_rename_job);
			return true;
		}
		if (x->subscribe >= 0) {
			x->job.subscribe = x->subscribe;
			x->subscribe = -1;
			submit(x, STEP_SUBSCRIBE, store_mailbox_subscribe_job);
			return true;
		}
		json_object_set_new(x->updated, x->key, json_null());
	}
	return false;
}

/* Starts the next destroy: true when a job went out. */
static bool next_destroy(struct mset *x)
{
	while (x->destroy_next < json_array_size(x->a.destroy)) {
		x->key = json_string_value(json_array_get(x->a.destroy, x->destroy_next++));
		struct found f;
		int r = find(x, x->key, &f);
		if (r <= 0) {
			refuse(x->not_destroyed, x->key, r < 0 ? "serverFail" : "notFound", NULL,
			       NULL);
			continue;
		}
		x->key = jmap_created_id(x->c, x->key);
		if (strcmp(f.path, "INBOX") == 0) {
			refuse(x->not_destroyed, x->key, "forbidden", "INBOX stays", NULL);
			continue;
		}
		memset(&x->job, 0, sizeof x->job);
		snprintf(x->name, sizeof x->name, "%s", f.path);
		x->job.name = x->name;
		x->job.refuse_if_messages = !x->remove_emails;
		submit(x, STEP_DESTROY, store_mailbox_delete_job);
		return true;
	}
	return false;
}

static void run_next(struct mset *x)
{
	if (next_create(x) || next_update(x) || next_destroy(x))
		return;
	answer(x);
}

/* The SetError for a failed job. */
static json_t *job_error(enum step step, int status)
{
	switch (status) {
	case -EEXIST:
		return jmap_set_error("invalidProperties", "a sibling has that name", "name");
	case -EADDRINUSE:
		return jmap_set_error("invalidProperties", "another mailbox has that role", "role");
	case -ENOTEMPTY:
		return jmap_set_error("mailboxHasChild", NULL, NULL);
	case -EBUSY:
		return jmap_set_error("mailboxHasEmail", NULL, NULL);
	case -ENOENT:
		return jmap_set_error("notFound", NULL, NULL);
	case -EPERM:
		return jmap_set_error("forbidden", NULL, NULL);
	case -EINVAL:
		return jmap_set_error("invalidProperties", "not a name tern can keep",
		                      step == STEP_CREATE ? "name" : "parentId");
	case -ENOSPC:
	case -EDQUOT:
		return jmap_set_error("overQuota", NULL, NULL);
	default:
		return jmap_set_error("serverFail", "the store did not take the change", NULL);
	}
}

static json_t *created_object(struct mset *x)
{
	struct store_mailbox mb;
	struct store_rd *rd = store_reader(x->c->acct->store);
	if (store_mailbox_get(rd, x->job.mailbox_id, &mb) != 1)
		return NULL;
	json_t *o = json_object();
	json_object_set_new(o, "id", jmap_id_json('F', mb.uidvalidity));
	/* server-set values, and what may differ from the create */
	json_object_set_new(o, "totalEmails", json_integer(0));
	json_object_set_new(o, "unreadEmails", json_integer(0));
	json_object_set_new(o, "totalThreads", json_integer(0));
	json_object_set_new(o, "unreadThreads", json_integer(0));
	json_object_set_new(o, "myRights",
	                    json_pack("{s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b}",
	                              "mayReadItems", 1, "mayAddItems", 1, "mayRemoveItems", 1,
	                              "maySetSeen", 1, "maySetKeywords", 1, "mayCreateChild", 1,
	                              "mayRename", 1, "mayDelete", 1, "maySubmit", 1));
	json_object_set_new(o, "isSubscribed", json_boolean(x->subscribe != 0));
	return o;
}

static void job_done(void *arg, int status)
{
	struct mset *x = arg;
	switch (x->step) {
	case STEP_CREATE:
		if (status < 0) {
			json_object_set_new(x->not_created, x->key, job_error(x->step, status));
			break;
		}
		publish(x, NOTIFY_MAILBOX_CREATED, x->name, NULL);
		json_t *o = created_object(x);
		const char *id = o ? json_string_value(json_object_get(o, "id")) : NULL;
		if (!id || jmap_created_add(x->c, x->key, id) < 0) {
			json_decref(o);
			json_object_set_new(x->not_created, x->key,
			                    jmap_set_error("serverFail", "out of memory", NULL));
			break;
		}
		json_object_set_new(x->created, x->key, o);
		if (x->subscribe == 0) {
			x->job.subscribe = 0;
			submit(x, STEP_SUBSCRIBE_CREATED, store_mailbox_subscribe_job);
			return;
		}
		break;
	case STEP_SUBSCRIBE_CREATED:
		/* the mailbox exists; only its subscription did not change */
		if (status < 0)
			json_object_set_new(json_object_get(x->created, x->key), "isSubscribed",
			                    json_true());
		else
			publish(x, NOTIFY_SUBSCRIPTION, x->name, NULL);
		break;
	case STEP_RENAME:
		if (status < 0) {
			json_object_set_new(x->not_updated, x->key, job_error(x->step, status));
			break;
		}
		publish(x, NOTIFY_MAILBOX_RENAMED, x->newname, x->name);
		if (x->subscribe >= 0) {
			snprintf(x->name, sizeof x->name, "%s", x->newname);
			x->job.name = x->name;
			x->job.newname = NULL;
			x->job.subscribe = x->subscribe;
			x->subscribe = -1;
			submit(x, STEP_SUBSCRIBE, store_mailbox_subscribe_job);
			return;
		}
		json_object_set_new(x->updated, x->key, json_null());
		break;
	case STEP_SUBSCRIBE:
		if (status < 0) {
			json_object_set_new(x->not_updated, x->key, job_error(x->step, status));
			break;
		}
		publish(x, NOTIFY_SUBSCRIPTION, x->name, NULL);
		json_object_set_new(x->updated, x->key, json_null());
		break;
	case STEP_DESTROY:
		if (status < 0) {
			json_object_set_new(x->not_destroyed, x->key, job_error(x->step, status));
			break;
		}
		publish(x, NOTIFY_MAILBOX_DELETED, x->name, NULL);
		json_array_append_new(x->destroyed, json_string(x->key));
		break;
	}
	run_next(x);
}

void jmap_mailbox_set(struct jmap_call *c)
{
	struct jmap_set_args a;
	if (!jmap_set_args(c, &a))
		return;
	json_t *remove = json_object_get(c->args, "onDestroyRemoveEmails");
	if (remove && !json_is_boolean(remove)) {
		jmap_error(c, "invalidArguments", "onDestroyRemoveEmails is a boolean");
		return;
	}
	struct mset *x = calloc(1, sizeof *x);
	if (!x || !(x->created = json_object()) || !(x->updated = json_object()) ||
	    !(x->destroyed = json_array()) || !(x->not_created = json_object()) ||
	    !(x->not_updated = json_object()) || !(x->not_destroyed = json_object())) {
		if (x)
			mset_free(x);
		jmap_error(c, "serverFail", "out of memory");
		return;
	}
	x->c = c;
	x->a = a;
	x->remove_emails = json_is_true(remove);
	if (jmap_mailbox_state(c->acct, x->old_state) < 0) {
		mset_free(x);
		jmap_error(c, "serverFail", "reading the mailboxes");
		return;
	}
	if (a.if_in_state && strcmp(a.if_in_state, x->old_state) != 0) {
		mset_free(x);
		jmap_error(c, "stateMismatch", NULL);
		return;
	}
	x->create_iter = a.create ? json_object_iter(a.create) : NULL;
	x->update_iter = a.update ? json_object_iter(a.update) : NULL;
	run_next(x);
}
