/* email_set: Email/set (RFC 8621 §4.6) updates and destroys, and
 * Email/changes.
 *
 * The loop reads what each update or destroy finds in the store and
 * plans it as IMAP operations on the entries of the message: flag and
 * keyword changes (store_flags_job), copies into the mailboxes added to
 * mailboxIds (store_copy_job), expunges from those removed and, for a
 * destroy, from every mailbox (store_entries_expunge). A move is a copy
 * and an expunge. All of a call's objects go to the writer as one job, so
 * a thousand flag changes are one commit; each object runs in its own
 * savepoint (store_tx_try), so one that fails is undone alone and
 * reported in notUpdated/notDestroyed. The completion publishes what
 * changed to the notification registry, as IMAP's commands do, so IDLE
 * sessions on those mailboxes see it at once.
 *
 * Copies count against the account's quota (overQuota).
 *
 * Creates (email_create.c) run first, in a store job of their own; the
 * updates and destroys are planned after it, so they may name an Email
 * created in the same call by "#creation-id". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "proto/jmap/email_common.h"
#include "proto/jmap/email_create.h"
#include "proto/jmap/email_methods.h"
#include "store/accounts.h"
#include "store/emails.h"
#include "store/entries.h"
#include "store/mail.h"
#include "store/mailboxes.h"
#include "store/notify.h"
#include "store/store.h"

enum op_kind { OP_FLAGS, OP_COPY, OP_EXPUNGE };

struct op {
	enum op_kind kind;
	int64_t mailbox_id; /* the entry's (COPY: the source's) */
	int64_t dst_mailbox_id;
	uint32_t uid;
	enum store_flag_op flag_op;
	uint32_t flags;
	char *keywords; /* space-separated, "" none */
	/* results, on the writer */
	uint32_t new_uid;
	int64_t modseq;
	bool changed;
};

struct obj {
	char *id;
	bool destroy;
	struct op *ops;
	size_t nops, capops;
	int status; /* the savepoint's result */
};

struct set_ctx {
	struct jmap_call *c;
	int64_t account_id;
	uint64_t quota_bytes; /* the account's quota (0: none), for copies */
	struct obj *objs;
	size_t nobjs;
	json_t *not_updated, *not_destroyed, *not_created;
	json_t *created; /* NULL: no creates */
	char old_state[STORE_EMAIL_STATE_MAX];
};

static void ctx_free(struct set_ctx *x)
{
	for (size_t i = 0; i < x->nobjs; i++) {
		for (size_t k = 0; k < x->objs[i].nops; k++)
			free(x->objs[i].ops[k].keywords);
		free(x->objs[i].ops);
		free(x->objs[i].id);
	}
	free(x->objs);
	json_decref(x->not_updated);
	json_decref(x->not_destroyed);
	json_decref(x->not_created);
	json_decref(x->created);
	free(x);
}

static struct op *op_add(struct obj *o, enum op_kind kind)
{
	if (o->nops == o->capops) {
		size_t ncap = o->capops ? o->capops * 2 : 4;
		struct op *p = realloc(o->ops, ncap * sizeof *p);
		if (!p)
			return NULL;
		o->ops = p;
		o->capops = ncap;
	}
	struct op *op = &o->ops[o->nops++];
	*op = (struct op){.kind = kind};
	return op;
}

/* ---- the writer ---- */

static int op_run(struct store_tx *tx, struct op *op, int64_t account_id, uint64_t quota_bytes)
{
	switch (op->kind) {
	case OP_FLAGS: {
		struct store_flag_result res = {0};
		struct store_flags_req q = {.mailbox_id = op->mailbox_id,
		                            .uids = &op->uid,
		                            .n = 1,
		                            .op = op->flag_op,
		                            .flags = op->flags,
		                            .keywords = op->keywords ? op->keywords : "",
		                            .unchangedsince = -1,
		                            .res = &res};
		int r = store_flags_job(tx, &q);
		store_flags_req_clear(&q);
		if (r < 0)
			return r;
		if (res.status < 0)
			return -ESTALE; /* the entry went away since the plan */
		op->changed = res.status == 1;
		op->modseq = res.modseq;
		return 0;
	}
	case OP_COPY: {
		int64_t modseq = 0;
		struct store_copy_req q = {.account_id = account_id,
		                           .src_mailbox_id = op->mailbox_id,
		                           .dst_mailbox_id = op->dst_mailbox_id,
		                           .uids = &op->uid,
		                           .n = 1,
		                           .quota_bytes = quota_bytes,
		                           .new_uids = &op->new_uid,
		                           .new_modseqs = &modseq};
		int r = store_copy_job(tx, &q);
		if (r < 0)
			return r;
		if (!op->new_uid)
			return -ESTALE;
		op->modseq = modseq;
		op->changed = true;
		return 0;
	}
	case OP_EXPUNGE: {
		int r = store_entries_expunge(tx, op->mailbox_id, &op->uid, 1);
		if (r < 0)
			return r;
		if (r == 0)
			return -ESTALE;
		struct store_mailbox mb;
		if (store_mailbox_get(store_tx_reader(tx), op->mailbox_id, &mb) == 1)
			op->modseq = mb.highestmodseq;
		op->changed = true;
		return 0;
	}
	}
	return -EINVAL;
}

struct obj_run {
	struct obj *o;
	int64_t account_id;
	uint64_t quota_bytes;
};

static int obj_run(struct store_tx *tx, void *arg)
{
	struct obj_run *a = arg;
	for (size_t i = 0; i < a->o->nops; i++) {
		int r = op_run(tx, &a->o->ops[i], a->account_id, a->quota_bytes);
		if (r < 0)
			return r;
	}
	return 0;
}

static int set_job(struct store_tx *tx, void *arg)
{
	struct set_ctx *x = arg;
	for (size_t i = 0; i < x->nobjs; i++) {
		struct obj_run a = {&x->objs[i], x->account_id, x->quota_bytes};
		x->objs[i].status = store_tx_try(tx, obj_run, &a);
		if (x->objs[i].status < 0)
			for (size_t k = 0; k < x->objs[i].nops; k++)
				x->objs[i].ops[k].changed = false;
	}
	return 0;
}

/* ---- the completion ---- */

static void publish(const struct set_ctx *x, const struct op *op)
{
	if (!op->changed)
		return;
	struct notify_event ev = {.mailbox_id = op->mailbox_id,
	                          .uid = op->uid,
	                          .modseq = op->modseq,
	                          .account_id = x->account_id};
	switch (op->kind) {
	case OP_FLAGS:
		ev.kind = NOTIFY_FLAGS;
		break;
	case OP_COPY:
		ev.kind = NOTIFY_EXISTS;
		ev.mailbox_id = op->dst_mailbox_id;
		ev.uid = op->new_uid;
		break;
	case OP_EXPUNGE:
		ev.kind = NOTIFY_EXPUNGE;
		break;
	}
	notify_publish(&ev);
}

static void answer(struct set_ctx *x, int status)
{
	struct jmap_call *c = x->c;
	char new_state[STORE_EMAIL_STATE_MAX];
	json_t *updated = json_object(), *destroyed = json_array();
	for (size_t i = 0; i < x->nobjs; i++) {
		struct obj *o = &x->objs[i];
		if (status < 0 && o->status >= 0)
			o->status = status;
		if (o->status < 0) {
			const char *type = o->status == -ESTALE   ? "notFound"
			                   : o->status == -EDQUOT ? "overQuota"
			                                          : "serverFail";
			json_object_set_new(o->destroy ? x->not_destroyed : x->not_updated, o->id,
			                    jmap_set_error(type, NULL, NULL));
			continue;
		}
		for (size_t k = 0; k < o->nops; k++)
			publish(x, &o->ops[k]);
		if (o->destroy)
			json_array_append_new(destroyed, json_string(o->id));
		else
			json_object_set_new(updated, o->id, json_null());
	}
	if (jmap_email_state(c->acct, new_state) < 0) {
		json_decref(updated);
		json_decref(destroyed);
		jmap_server_fail(c, "reading the state");
		return;
	}
	json_t *res =
	    json_pack("{s:O, s:s, s:s, s:n, s:o, s:o}", "accountId",
	              json_object_get(c->args, "accountId"), "oldState", x->old_state, "newState",
	              new_state, "created", "updated", updated, "destroyed", destroyed);
	if (res && x->created && json_object_size(x->created))
		json_object_set(res, "created", x->created);
	jmap_set_failures(res, x->not_created, x->not_updated, x->not_destroyed);
	if (!res) {
		jmap_server_fail(c, "out of memory");
		return;
	}
	jmap_reply(c, res);
}

static void set_done(void *arg, int status)
{
	struct set_ctx *x = arg;
	answer(x, status);
	ctx_free(x);
}

/* ---- planning, on the loop ---- */

/* The entries of the message as the plan sees them. */
struct entries {
	struct store_email_entry *e;
	char **kw; /* each entry's keywords, copied */
	size_t n, cap;
	int err;
};

static int entry_collect(void *ud, const struct store_email_entry *e)
{
	struct entries *s = ud;
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 4;
		struct store_email_entry *p = realloc(s->e, ncap * sizeof *p);
		char **k = p ? realloc(s->kw, ncap * sizeof *k) : NULL;
		if (p)
			s->e = p;
		if (!p || !k)
			return s->err = -ENOMEM;
		s->kw = k;
		s->cap = ncap;
	}
	if (!(s->kw[s->n] = strdup(e->keywords)))
		return s->err = -ENOMEM;
	s->e[s->n] = *e;
	s->e[s->n].keywords = s->kw[s->n];
	s->n++;
	return 0;
}

static void entries_free(struct entries *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->kw[i]);
	free(s->kw);
	free(s->e);
	memset(s, 0, sizeof *s);
}

/* Keywords as IMAP keeps them: system flags and a keyword list. */
struct kwset {
	uint32_t flags;
	struct buf words; /* space-separated */
};

static int kwset_add(struct kwset *k, const char *norm)
{
	uint32_t f = jmap_keyword_flag(norm);
	if (f) {
		k->flags |= f;
		return 0;
	}
	if (k->words.len && store_keyword_has(k->words.data, norm, strlen(norm)))
		return 0;
	int r = k->words.len ? buf_addc(&k->words, ' ') : 0;
	return r < 0 ? r : buf_adds(&k->words, norm);
}

/* The changes an update asks for, read from its patch. */
struct patch {
	bool set_keywords; /* the whole set: into kw_set */
	struct kwset kw_set, kw_add, kw_del;
	bool set_mailboxes;
	int64_t mb_set[64];
	size_t nmb_set;
	int64_t mb_add[64], mb_del[64];
	size_t nmb_add, nmb_del;
};

static void patch_free(struct patch *p)
{
	buf_free(&p->kw_set.words);
	buf_free(&p->kw_add.words);
	buf_free(&p->kw_del.words);
}

/* A mailbox id of the account: 1 and *mailbox_id, 0 unknown, negative. */
static int mailbox_of(const struct jmap_account *a, const char *id, int64_t *mailbox_id)
{
	int64_t uv;
	if (!jmap_id_parse(id, 'F', &uv) || uv > UINT32_MAX)
		return 0;
	return store_mailbox_by_uidvalidity(store_reader(a->store), a->account_id, (uint32_t)uv,
	                                    mailbox_id);
}

static bool mb_in(const int64_t *set, size_t n, int64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (set[i] == id)
			return true;
	return false;
}

/* Reads the patch into p. NULL, or the SetError to answer with (and
 * *err < 0 on a store failure). */
static json_t *patch_read(const struct jmap_account *a, json_t *patch, struct patch *p, int *err)
{
	const char *key;
	json_t *v;
	char norm[JMAP_KEYWORD_MAX + 1];
	*err = 0;
	if (!json_is_object(patch))
		return jmap_set_error("invalidPatch", "a PatchObject is a JSON object", NULL);
	json_object_foreach(patch, key, v)
	{
		if (!strcmp(key, "keywords")) {
			const char *kw;
			json_t *t;
			if (!json_is_object(v))
				return jmap_set_error("invalidProperties", "keywords is an object",
				                      key);
			p->set_keywords = true;
			json_object_foreach(v, kw, t)
			{
				if (!json_is_true(t) || jmap_keyword_norm(kw, norm) < 0)
					return jmap_set_error("invalidProperties", "not a keyword",
					                      key);
				if ((*err = kwset_add(&p->kw_set, norm)) < 0)
					return NULL;
			}
		} else if (!strncmp(key, "keywords/", 9)) {
			if (jmap_keyword_norm(key + 9, norm) < 0 ||
			    !(json_is_true(v) || json_is_null(v)))
				return jmap_set_error("invalidProperties", "not a keyword",
				                      "keywords");
			if ((*err = kwset_add(json_is_true(v) ? &p->kw_add : &p->kw_del, norm)) < 0)
				return NULL;
		} else if (!strcmp(key, "mailboxIds") || !strncmp(key, "mailboxIds/", 11)) {
			bool whole = key[10] == '\0';
			const char *id;
			json_t *t;
			if (whole && (!json_is_object(v) || json_object_size(v) == 0))
				return jmap_set_error("invalidProperties",
				                      "an Email is in at least one mailbox",
				                      "mailboxIds");
			if (whole)
				p->set_mailboxes = true;
			json_t *one = NULL;
			if (!whole) {
				if (!(json_is_true(v) || json_is_null(v)))
					return jmap_set_error("invalidProperties", "true or null",
					                      "mailboxIds");
				one = json_pack("{s:O}", key + 11, v);
				if (!one) {
					*err = -ENOMEM;
					return NULL;
				}
			}
			json_object_foreach(whole ? v : one, id, t)
			{
				int64_t mbid = 0;
				int r = mailbox_of(a, id, &mbid);
				if (r < 0) {
					*err = r;
					json_decref(one);
					return NULL;
				}
				json_t *bad = NULL;
				if (whole && !json_is_true(t))
					bad = jmap_set_error("invalidProperties",
					                     "mailboxIds values are true",
					                     "mailboxIds");
				else if (r == 0 && !(!whole && json_is_null(t)))
					bad = jmap_set_error("invalidProperties", "no such mailbox",
					                     "mailboxIds");
				else if ((whole             ? p->nmb_set
				          : json_is_true(t) ? p->nmb_add
				                            : p->nmb_del) >= 64)
					bad = jmap_set_error("invalidProperties",
					                     "too many mailboxes", "mailboxIds");
				if (bad) {
					json_decref(one);
					return bad;
				}
				if (r == 0)
					continue;
				if (whole)
					p->mb_set[p->nmb_set++] = mbid;
				else if (json_is_true(t))
					p->mb_add[p->nmb_add++] = mbid;
				else
					p->mb_del[p->nmb_del++] = mbid;
			}
			json_decref(one);
		} else {
			return jmap_set_error("invalidProperties",
			                      "only keywords and mailboxIds can change", key);
		}
	}
	/* RFC 8620 §5.3: a property and a path into it in one patch. */
	if ((p->set_keywords &&
	     (p->kw_add.flags || p->kw_add.words.len || p->kw_del.flags || p->kw_del.words.len)) ||
	    (p->set_mailboxes && (p->nmb_add || p->nmb_del)))
		return jmap_set_error("invalidPatch", "a property is set whole and patched at once",
		                      NULL);
	return NULL;
}

/* Plans an update of the message's entries s by patch p into o. NULL, or
 * the SetError. */
static json_t *plan_update(struct obj *o, const struct entries *s, const struct patch *p, int *err)
{
	*err = -ENOMEM;
	/* The mailboxes it is to be in. */
	int64_t target[128];
	size_t nt = 0;
	if (p->set_mailboxes) {
		for (size_t i = 0; i < p->nmb_set; i++)
			if (!mb_in(target, nt, p->mb_set[i]))
				target[nt++] = p->mb_set[i];
	} else {
		for (size_t i = 0; i < s->n && nt < 64; i++)
			if (!mb_in(target, nt, s->e[i].mailbox_id) &&
			    !mb_in(p->mb_del, p->nmb_del, s->e[i].mailbox_id))
				target[nt++] = s->e[i].mailbox_id;
		for (size_t i = 0; i < p->nmb_add; i++)
			if (!mb_in(target, nt, p->mb_add[i]))
				target[nt++] = p->mb_add[i];
	}
	if (nt == 0) {
		*err = 0;
		return jmap_set_error("invalidProperties", "an Email is in at least one mailbox",
		                      "mailboxIds");
	}
	/* Keywords first, on the entries that stay and the one copies come
	 * from, so that the copies carry the new keywords. */
	for (size_t i = 0; i < s->n; i++) {
		const struct store_email_entry *e = &s->e[i];
		if (p->set_keywords) {
			struct op *op = op_add(o, OP_FLAGS);
			if (!op || !(op->keywords =
			                 strdup(p->kw_set.words.data ? p->kw_set.words.data : "")))
				return NULL;
			op->mailbox_id = e->mailbox_id;
			op->uid = e->uid;
			op->flag_op = STORE_FLAGS_SET;
			op->flags = p->kw_set.flags | (e->flags & STORE_FLAG_DELETED);
		}
		const struct kwset *ks[2] = {&p->kw_add, &p->kw_del};
		for (int k = 0; k < 2; k++) {
			if (!ks[k]->flags && !ks[k]->words.len)
				continue;
			struct op *op = op_add(o, OP_FLAGS);
			if (!op ||
			    !(op->keywords = strdup(ks[k]->words.data ? ks[k]->words.data : "")))
				return NULL;
			op->mailbox_id = e->mailbox_id;
			op->uid = e->uid;
			op->flag_op = k == 0 ? STORE_FLAGS_ADD : STORE_FLAGS_REMOVE;
			op->flags = ks[k]->flags;
		}
	}
	for (size_t i = 0; i < nt; i++) {
		bool held = false;
		for (size_t k = 0; k < s->n; k++)
			held |= s->e[k].mailbox_id == target[i];
		if (held)
			continue;
		struct op *op = op_add(o, OP_COPY);
		if (!op)
			return NULL;
		op->mailbox_id = s->e[0].mailbox_id;
		op->uid = s->e[0].uid;
		op->dst_mailbox_id = target[i];
	}
	for (size_t i = 0; i < s->n; i++) {
		if (mb_in(target, nt, s->e[i].mailbox_id))
			continue;
		struct op *op = op_add(o, OP_EXPUNGE);
		if (!op)
			return NULL;
		op->mailbox_id = s->e[i].mailbox_id;
		op->uid = s->e[i].uid;
	}
	*err = 0;
	return NULL;
}

static int plan_destroy(struct obj *o, const struct entries *s)
{
	for (size_t i = 0; i < s->n; i++) {
		struct op *op = op_add(o, OP_EXPUNGE);
		if (!op)
			return -ENOMEM;
		op->mailbox_id = s->e[i].mailbox_id;
		op->uid = s->e[i].uid;
	}
	return 0;
}

/* Reads the entries of an id; 1 found, 0 not, negative. */
static int entries_of(const struct jmap_account *a, const char *id, struct entries *s)
{
	int64_t mid;
	if (!jmap_id_parse(id, 'M', &mid))
		return 0;
	int r = store_email_entries(store_reader(a->store), a->account_id, mid, entry_collect, s);
	if (r < 0)
		return s->err ? s->err : r;
	return r > 0;
}

static struct obj *obj_new(struct set_ctx *x, const char *id, bool destroy)
{
	struct obj *o = &x->objs[x->nobjs];
	*o = (struct obj){.destroy = destroy};
	if (!(o->id = strdup(id)))
		return NULL;
	x->nobjs++;
	return o;
}

static bool listed(json_t *ids, const char *id)
{
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v)
	{
		if (json_is_string(v) && !strcmp(json_string_value(v), id))
			return true;
	}
	return false;
}

/* Plans every update and destroy; answers the ones that fail at once in
 * notUpdated/notDestroyed. 0 or a negative errno. */
static int plan(struct set_ctx *x, json_t *update, json_t *destroy)
{
	const struct jmap_account *a = x->c->acct;
	const char *id;
	json_t *patch;
	int r;
	json_object_foreach(update, id, patch)
	{
		if (listed(destroy, id)) { /* RFC 8620 §5.3: the destroy wins */
			json_object_set_new(x->not_updated, id,
			                    jmap_set_error("willDestroy", NULL, NULL));
			continue;
		}
		struct entries s = {0};
		const char *real = jmap_created_id(x->c, id);
		if ((r = real ? entries_of(a, real, &s) : 0) < 0) {
			entries_free(&s);
			return r;
		}
		if (r == 0) {
			entries_free(&s);
			json_object_set_new(x->not_updated, id,
			                    jmap_set_error("notFound", NULL, NULL));
			continue;
		}
		struct patch p = {0};
		json_t *bad = patch_read(a, patch, &p, &r);
		struct obj *o = NULL;
		if (!bad && r == 0) {
			if (!(o = obj_new(x, id, false)))
				r = -ENOMEM;
			else
				bad = plan_update(o, &s, &p, &r);
		}
		patch_free(&p);
		entries_free(&s);
		if (r < 0) {
			json_decref(bad);
			return r;
		}
		if (bad) {
			if (o) { /* nothing of it runs */
				for (size_t k = 0; k < o->nops; k++)
					free(o->ops[k].keywords);
				free(o->ops);
				free(o->id);
				x->nobjs--;
			}
			json_object_set_new(x->not_updated, id, bad);
		}
	}
	size_t i;
	json_t *v;
	json_array_foreach(destroy, i, v)
	{
		id = json_string_value(v);
		struct entries s = {0};
		const char *real = jmap_created_id(x->c, id);
		if ((r = real ? entries_of(a, real, &s) : 0) < 0) {
			entries_free(&s);
			return r;
		}
		bool twice = false;
		for (size_t k = 0; k < x->nobjs; k++)
			twice |= x->objs[k].destroy && !strcmp(x->objs[k].id, id);
		if (twice) { /* RFC 8620 §5.3: each id once in the response */
			entries_free(&s);
			continue;
		}
		if (r == 0) {
			entries_free(&s);
			json_object_set_new(x->not_destroyed, id,
			                    jmap_set_error("notFound", NULL, NULL));
			continue;
		}
		struct obj *o = obj_new(x, id, true);
		r = o ? plan_destroy(o, &s) : -ENOMEM;
		entries_free(&s);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The updates and destroys, planned on the loop now (after any
 * creates) and run as one store job. */
static void update_and_destroy(struct set_ctx *x)
{
	struct jmap_call *c = x->c;
	json_t *update = json_object_get(c->args, "update");
	json_t *destroy = json_object_get(c->args, "destroy");
	struct store_rd *rd = store_reader(c->acct->store);
	bool begun = store_read_begin(rd);
	int r = plan(x, json_is_object(update) ? update : NULL,
	             json_is_array(destroy) ? destroy : NULL);
	store_read_end(rd, begun);
	if (r < 0) {
		ctx_free(x);
		jmap_server_fail(c, "reading the messages");
		return;
	}
	bool copies = false, any = false;
	for (size_t k = 0; k < x->nobjs; k++)
		for (size_t j = 0; j < x->objs[k].nops; j++) {
			any = true;
			copies |= x->objs[k].ops[j].kind == OP_COPY;
		}
	if (!any) {
		set_done(x, 0);
		return;
	}
	/* Flags and expunges may be lazy, as IMAP's STORE and EXPUNGE are;
	 * a copy makes new entries, which a reply promises are on disk. */
	r = copies ? store_submit(c->acct->store, set_job, set_done, x)
	           : store_submit_lazy(c->acct->store, set_job, set_done, x);
	if (r < 0) {
		ctx_free(x);
		jmap_server_fail(c, "the store is not taking changes");
	}
}

static void after_create(void *ud, json_t *created, json_t *not_created)
{
	struct set_ctx *x = ud;
	x->created = created;
	json_object_update(x->not_created, not_created);
	json_decref(not_created);
	update_and_destroy(x);
}

void jmap_email_set(struct jmap_call *c)
{
	struct jmap_set_args a;
	if (!jmap_set_args(c, &a))
		return;
	json_t *create = a.create;
	size_t total = a.total;
	struct set_ctx *x = calloc(1, sizeof *x);
	if (!x || !(x->objs = calloc(total + 1, sizeof *x->objs)) ||
	    !(x->not_updated = json_object()) || !(x->not_destroyed = json_object()) ||
	    !(x->not_created = json_object())) {
		if (x)
			ctx_free(x);
		jmap_server_fail(c, "out of memory");
		return;
	}
	x->c = c;
	x->account_id = c->acct->account_id;
	struct store_rd *rd = store_reader(c->acct->store);
	bool begun = store_read_begin(rd);
	struct store_account account;
	int r = store_account_get(rd, x->account_id, &account);
	if (r == 1) {
		x->quota_bytes = account.quota_bytes > 0 ? (uint64_t)account.quota_bytes : 0;
		r = 0;
	} else if (r == 0) {
		r = -ENOENT;
	}
	if (r == 0)
		r = jmap_email_state(c->acct, x->old_state);
	if (r == 0 && a.if_in_state && strcmp(a.if_in_state, x->old_state) != 0) {
		store_read_end(rd, begun);
		ctx_free(x);
		jmap_error(c, "stateMismatch", NULL);
		return;
	}
	store_read_end(rd, begun);
	if (r < 0) {
		ctx_free(x);
		jmap_server_fail(c, "reading the account");
		return;
	}
	if (json_object_size(create)) {
		r = jmap_email_create(c, create, x->quota_bytes, after_create, x);
		if (r < 0) {
			ctx_free(x);
			jmap_server_fail(c, "creating the Emails");
		}
		return;
	}
	update_and_destroy(x);
}
