/* email_get: Email/get (RFC 8621 §4.2).
 *
 * The metadata properties come from the store's entries of the message
 * across the account's mailboxes (store/emails.h): an Email is a message
 * row, its mailboxIds are the mailboxes holding an entry of it, and its
 * keywords are the flags and keywords of those entries (the union: IMAP
 * may set them apart per mailbox, JMAP has one set per Email). Everything
 * else is the message's content, which the renderer (email_render.h)
 * makes from the bytes; they are read only when such a property is
 * asked for. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/buf.h"
#include "proto/jmap/email_common.h"
#include "proto/jmap/email_methods.h"
#include "proto/jmap/email_render.h"
#include "store/emails.h"
#include "store/store.h"

static const char *const metadata_props[] = {
    "id", "blobId", "threadId", "mailboxIds", "keywords", "size", "receivedAt",
};

static bool is_metadata(const char *name)
{
	for (size_t i = 0; i < sizeof metadata_props / sizeof metadata_props[0]; i++)
		if (strcmp(name, metadata_props[i]) == 0)
			return true;
	return false;
}

/* Whether a property beyond the metadata is asked for. */
static bool wants_content(const json_t *properties)
{
	if (!properties)
		return true;
	size_t i;
	json_t *p;
	json_array_foreach(properties, i, p)
	{
		if (json_is_string(p) && !is_metadata(json_string_value(p)))
			return true;
	}
	return false;
}

int jmap_utc_date(int64_t t, char *out, size_t outlen)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm))
		return -EINVAL;
	return strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) ? 0 : -ENOSPC;
}

/* What the entries of one message add up to. */
struct email_meta {
	int64_t thread_id;
	int64_t size;
	int64_t internal_date;
	uint32_t flags;
	json_t *mailbox_ids;
	json_t *keywords;
	int err;
};

static int meta_entry(void *ud, const struct store_email_entry *e)
{
	struct email_meta *m = ud;
	char id[16];
	snprintf(id, sizeof id, "F%u", e->uidvalidity);
	/* The entry with the oldest internal date stands for them all: a
	 * copy's internal date is its source's anyway. */
	if (!json_object_size(m->mailbox_ids) || e->internal_date < m->internal_date) {
		m->internal_date = e->internal_date;
		m->thread_id = e->thread_id;
		m->size = e->size;
	}
	m->flags |= e->flags;
	if (json_object_set_new(m->mailbox_ids, id, json_true()) < 0 ||
	    jmap_keywords_add(m->keywords, e->flags, e->keywords) < 0) {
		m->err = -ENOMEM;
		return -ENOMEM;
	}
	return 0;
}

/* The Email object of message_id, or NULL with *found false when the
 * account has no such message, or NULL and *err on failure. */
static json_t *email_object(struct jmap_call *c, int64_t message_id, const json_t *props,
                            const struct jmap_email_opts *o, bool content, struct buf *raw,
                            bool *found, int *err)
{
	const struct jmap_account *a = c->acct;
	struct email_meta m = {.mailbox_ids = json_object(), .keywords = json_object()};
	json_t *obj = json_object();
	*found = false;
	*err = 0;
	if (!m.mailbox_ids || !m.keywords || !obj) {
		*err = -ENOMEM;
		goto fail;
	}
	int n =
	    store_email_entries(store_reader(a->store), a->account_id, message_id, meta_entry, &m);
	if (n < 0) {
		*err = m.err ? m.err : n;
		goto fail;
	}
	if (n == 0)
		goto fail;
	*found = true;
	char date[32];
	if (json_object_set_new(obj, "id", jmap_id_json('M', message_id)) < 0 ||
	    (jmap_want(props, "blobId") &&
	     json_object_set_new(obj, "blobId", jmap_id_json('B', message_id)) < 0) ||
	    (jmap_want(props, "threadId") &&
	     json_object_set_new(obj, "threadId", jmap_id_json('T', m.thread_id)) < 0) ||
	    (jmap_want(props, "mailboxIds") &&
	     json_object_set(obj, "mailboxIds", m.mailbox_ids) < 0) ||
	    (jmap_want(props, "keywords") && json_object_set(obj, "keywords", m.keywords) < 0) ||
	    (jmap_want(props, "size") &&
	     json_object_set_new(obj, "size", json_integer(m.size)) < 0) ||
	    (jmap_want(props, "receivedAt") &&
	     (jmap_utc_date(m.internal_date, date, sizeof date) < 0 ||
	      json_object_set_new(obj, "receivedAt", json_string(date)) < 0))) {
		*err = -ENOMEM;
		goto fail;
	}
	if (content) {
		int r = jmap_message_bytes(a, message_id, raw);
		if (r == 0)
			r = jmap_email_render(obj, raw->data ? raw->data : "", raw->len, message_id,
			                      o);
		if (r < 0) {
			*err = r;
			goto fail;
		}
	}
	json_decref(m.mailbox_ids);
	json_decref(m.keywords);
	return obj;
fail:
	json_decref(m.mailbox_ids);
	json_decref(m.keywords);
	json_decref(obj);
	return NULL;
}

void jmap_email_get(struct jmap_call *c)
{
	json_t *ids, *props;
	if (!jmap_get_args(c, &ids, &props))
		return;
	struct jmap_email_opts o;
	const char *why = NULL;
	if (jmap_email_opts_parse(c->args, props, &o, &why) < 0) {
		jmap_error(c, "invalidArguments", why);
		return;
	}
	const struct jmap_account *a = c->acct;
	struct store_rd *rd = store_reader(a->store);
	bool begun = store_read_begin(rd);
	char state[STORE_EMAIL_STATE_MAX];
	int64_t *all = NULL;
	size_t nall = 0;
	json_t *res = NULL, *list = json_array(), *not_found = json_array(), *seen = json_object();
	struct buf raw = {0};
	const char *fail = "out of memory";
	if (!list || !not_found || !seen)
		goto fail;
	if (jmap_email_state(a, state) < 0) {
		fail = "reading the state";
		goto fail;
	}
	if (!ids) {
		/* "All": refused when there are more than one /get may return,
		 * so a mailbox of 100k messages is never rendered in one reply. */
		size_t max = a->limits->max_objects_in_get;
		if (store_email_ids(rd, a->account_id, max + 1, &all, &nall) < 0) {
			fail = "listing the messages";
			goto fail;
		}
		if (nall > max) {
			store_read_end(rd, begun);
			free(all);
			json_decref(list);
			json_decref(not_found);
			json_decref(seen);
			jmap_error(c, "requestTooLarge",
			           "ids null: more Emails than maxObjectsInGet");
			return;
		}
	}
	bool content = wants_content(props);
	size_t count = ids ? json_array_size(ids) : nall;
	for (size_t i = 0; i < count; i++) {
		int64_t mid = 0;
		const char *sid = NULL;
		char idbuf[24];
		if (ids) {
			json_t *v = json_array_get(ids, i);
			sid = json_string_value(v);
			if (!sid) {
				store_read_end(rd, begun);
				json_decref(list);
				json_decref(not_found);
				json_decref(seen);
				jmap_error(c, "invalidArguments", "ids must be strings");
				return;
			}
			if (json_object_get(seen, sid))
				continue;
			if (json_object_set_new(seen, sid, json_true()) < 0)
				goto fail;
		} else {
			mid = all[i];
			snprintf(idbuf, sizeof idbuf, "M%lld", (long long)mid);
			sid = idbuf;
		}
		bool found = false;
		int err = 0;
		json_t *obj = NULL;
		if (!ids || jmap_id_parse(sid, 'M', &mid))
			obj = email_object(c, mid, props, &o, content, &raw, &found, &err);
		if (err < 0) {
			fail = "reading a message";
			goto fail;
		}
		if (found ? json_array_append_new(list, obj) < 0
		          : json_array_append_new(not_found, json_string(sid)) < 0)
			goto fail;
	}
	res = json_pack("{s:O, s:s, s:o, s:o}", "accountId", json_object_get(c->args, "accountId"),
	                "state", state, "list", list, "notFound", not_found);
	list = not_found = NULL;
	if (!res)
		goto fail;
	store_read_end(rd, begun);
	buf_free(&raw);
	free(all);
	json_decref(seen);
	jmap_reply(c, res);
	return;
fail:
	store_read_end(rd, begun);
	buf_free(&raw);
	free(all);
	json_decref(list);
	json_decref(not_found);
	json_decref(seen);
	jmap_server_fail(c, fail);
}
