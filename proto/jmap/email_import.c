/* email_import: Email/import (RFC 8621 §4.8): messages from blobs (an
 * upload or an existing message's blob, read through blob_read.h) put
 * into a mailbox with keywords and a receivedAt, through the store's
 * append job, as IMAP APPEND does.
 *
 * The loop reads each blob, checks it and plans its append; all of a
 * call's imports go to the writer as one durable job, each in its own
 * savepoint (store_tx_try), so one over quota fails alone. The answer is
 * sent from the completion, after the COMMIT; it publishes the new
 * entries to the notification registry so IDLE sessions see them.
 *
 * An import into several mailboxes is appended to the first and copied to
 * the others in its savepoint (email_put.h, as Email/set create does), so
 * it is in all of them or in none. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "mime/msgid.h"
#include "proto/jmap/blob_read.h"
#include "proto/jmap/email_common.h"
#include "proto/jmap/email_filter.h"
#include "proto/jmap/email_put.h"
#include "proto/jmap/email_methods.h"
#include "store/accounts.h"
#include "store/entries.h"
#include "store/mail.h"
#include "store/emails.h"
#include "store/notify.h"
#include "store/store.h"
#include "store/threads.h"

struct import {
	const char *cid; /* the creation id (borrowed from the args) */
	json_t *err;     /* a SetError planned on the loop, or NULL */
	struct buf data;
	struct mime_thread_ids ids;
	struct store_thread_keys keys;
	struct jmap_email_put put; /* mailboxes, keywords; the new entries */
	int status;                /* the savepoint's result */
};

struct import_ctx {
	struct jmap_call *c;
	struct import *v;
	size_t n;
	char old_state[STORE_EMAIL_STATE_MAX];
};

static void ctx_free(struct import_ctx *x)
{
	for (size_t i = 0; i < x->n; i++) {
		json_decref(x->v[i].err);
		buf_free(&x->v[i].data);
		jmap_email_put_free(&x->v[i].put);
	}
	free(x->v);
	free(x);
}

/* ---- the writer ---- */

static int import_job(struct store_tx *tx, void *arg)
{
	struct import_ctx *x = arg;
	for (size_t i = 0; i < x->n; i++)
		if (!x->v[i].err)
			x->v[i].status = store_tx_try(tx, jmap_email_put_run, &x->v[i].put);
	return 0;
}

/* ---- the completion ---- */

static json_t *created_json(struct import *im)
{
	jmap_email_put_publish(&im->put);
	return json_pack("{s:o, s:o, s:o, s:I}", "id", jmap_id_json('M', im->put.message_id),
	                 "blobId", jmap_id_json('B', im->put.message_id), "threadId",
	                 jmap_id_json('T', im->put.thread_id), "size", (json_int_t)im->put.len);
}

static void import_done(void *arg, int status)
{
	struct import_ctx *x = arg;
	struct jmap_call *c = x->c;
	json_t *created = json_object(), *not_created = json_object();
	for (size_t i = 0; i < x->n; i++) {
		struct import *im = &x->v[i];
		if (im->err) {
			json_object_set(not_created, im->cid, im->err);
			continue;
		}
		if (status < 0 && im->status >= 0)
			im->status = status;
		json_t *ok = im->status >= 0 ? created_json(im) : NULL;
		if (ok) {
			json_object_set_new(created, im->cid, ok);
			continue;
		}
		json_object_set_new(
		    not_created, im->cid,
		    jmap_set_error(im->status == -EDQUOT ? "overQuota" : "serverFail", NULL, NULL));
	}
	char new_state[STORE_EMAIL_STATE_MAX];
	json_t *res = NULL;
	if (jmap_email_state(c->acct, new_state) == 0)
		res =
		    json_pack("{s:O, s:s, s:s}", "accountId", json_object_get(c->args, "accountId"),
		              "oldState", x->old_state, "newState", new_state);
	if (res) {
		json_object_set(res, "created", json_object_size(created) ? created : json_null());
		json_object_set(res, "notCreated",
		                json_object_size(not_created) ? not_created : json_null());
	}
	json_decref(created);
	json_decref(not_created);
	ctx_free(x);
	if (!res)
		jmap_server_fail(c, "reading the state");
	else
		jmap_reply(c, res);
}

/* ---- planning, on the loop ---- */

/* Something like a message: a header field "name:" first, no NUL. */
static bool looks_like_message(const struct buf *b)
{
	if (b->len == 0 || memchr(b->data, '\0', b->len))
		return false;
	size_t i = 0;
	while (i < b->len && b->data[i] > ' ' && b->data[i] < 127 && b->data[i] != ':')
		i++;
	return i > 0 && i < b->len && b->data[i] == ':';
}

static int plan_one(struct jmap_call *c, struct store_rd *rd, uint64_t quota, json_t *obj,
                    struct import *im)
{
	const struct jmap_account *a = c->acct;
	if (!json_is_object(obj)) {
		im->err = jmap_set_error("invalidProperties", "an import is an object", NULL);
		return 0;
	}
	json_t *blob = json_object_get(obj, "blobId");
	json_t *received = json_object_get(obj, "receivedAt");
	im->put.account_id = a->account_id;
	im->put.quota_bytes = quota;
	if (!json_is_string(blob)) {
		im->err = jmap_set_error("invalidProperties", "blobId is required", "blobId");
		return 0;
	}
	if (received && !json_is_null(received) &&
	    (!json_is_string(received) ||
	     jmap_utc_date_parse(json_string_value(received), &im->put.internal_date) < 0 ||
	     im->put.internal_date <= 0)) {
		im->err = jmap_set_error("invalidProperties", "receivedAt must be a UTCDate",
		                         "receivedAt");
		return 0;
	}
	int r;
	im->err = jmap_email_put_mailboxes(c, rd, json_object_get(obj, "mailboxIds"), &im->put, &r);
	if (!im->err && r == 0)
		im->err = jmap_email_put_keywords(json_object_get(obj, "keywords"), &im->put, &r);
	if (r < 0 || im->err)
		return r;
	char type[128], name[8];
	r = jmap_blob_read(rd, a, json_string_value(blob), &im->data, type, sizeof type, name,
	                   sizeof name);
	if (r < 0)
		return r;
	if (r == 0) {
		im->err = json_pack("{s:s, s:[O]}", "type", "notFound", "notFound", blob);
		return 0;
	}
	if (!looks_like_message(&im->data)) {
		im->err =
		    jmap_set_error("invalidEmail", "the blob is not an RFC 5322 message", "blobId");
		return 0;
	}
	im->put.data = im->data.data;
	im->put.len = im->data.len;
	mime_thread_ids_read(im->data.data, im->data.len, &im->ids);
	im->keys =
	    (struct store_thread_keys){im->ids.message_id, im->ids.parents, im->ids.nparents};
	im->put.thread = &im->keys;
	return 0;
}

void jmap_email_import(struct jmap_call *c)
{
	if (!jmap_email_account_ok(c))
		return;
	json_t *emails = json_object_get(c->args, "emails");
	json_t *if_in_state = json_object_get(c->args, "ifInState");
	if (!json_is_object(emails) ||
	    (if_in_state && !json_is_null(if_in_state) && !json_is_string(if_in_state))) {
		jmap_error(c, "invalidArguments", "emails is an object, ifInState a string");
		return;
	}
	if (json_object_size(emails) > c->acct->limits->max_objects_in_set) {
		jmap_error(c, "requestTooLarge", "more emails than maxObjectsInSet");
		return;
	}
	struct import_ctx *x = calloc(1, sizeof *x);
	if (!x || !(x->v = calloc(json_object_size(emails) + 1, sizeof *x->v))) {
		free(x);
		jmap_server_fail(c, "out of memory");
		return;
	}
	x->c = c;
	struct store_rd *rd = store_reader(c->acct->store);
	bool begun = store_read_begin(rd);
	struct store_account account;
	int r = store_account_get(rd, c->acct->account_id, &account);
	r = r == 1 ? 0 : r == 0 ? -ENOENT : r;
	uint64_t quota = r == 0 && account.quota_bytes > 0 ? (uint64_t)account.quota_bytes : 0;
	if (r == 0)
		r = jmap_email_state(c->acct, x->old_state);
	if (r == 0 && json_is_string(if_in_state) &&
	    strcmp(json_string_value(if_in_state), x->old_state) != 0) {
		store_read_end(rd, begun);
		ctx_free(x);
		jmap_error(c, "stateMismatch", NULL);
		return;
	}
	const char *key;
	json_t *v;
	bool any = false;
	json_object_foreach(emails, key, v)
	{
		if (r < 0)
			break;
		struct import *im = &x->v[x->n++];
		im->cid = key;
		r = plan_one(c, rd, quota, v, im);
		any |= r == 0 && !im->err;
	}
	store_read_end(rd, begun);
	if (r < 0) {
		ctx_free(x);
		jmap_server_fail(c, "reading the blobs");
		return;
	}
	if (!any) {
		import_done(x, 0);
		return;
	}
	if (store_submit(c->acct->store, import_job, import_done, x) < 0) {
		ctx_free(x);
		jmap_server_fail(c, "the store is not taking changes");
	}
}
