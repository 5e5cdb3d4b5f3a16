/* email_create: Email/set's creates (RFC 8621 §4.6). Why a file of its
 * own: a create is a different path from an update. The loop checks
 * mailboxIds and keywords, builds the bytes (email_build.c, with the
 * account's blobs read through blob_read.h) and reads the threading keys;
 * then one store job appends each message to its first mailbox, as IMAP
 * APPEND does, and copies it to the others, each create in a savepoint so
 * that one over quota fails alone. The completion notifies IDLE sessions
 * and records the new ids for "#ref"s later in the request. */
#include "proto/jmap/email_create.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/buf.h"
#include "mime/msgid.h"
#include "proto/jmap/blob_read.h"
#include "proto/jmap/email_build.h"
#include "proto/jmap/email_common.h"
#include "proto/jmap/email_filter.h"
#include "proto/jmap/email_put.h"
#include "proto/jmap/keywords.h"
#include "store/entries.h"
#include "store/mail.h"
#include "store/mailboxes.h"
#include "store/notify.h"
#include "store/store.h"
#include "store/threads.h"

#define MAX_CREATE_BYTES ((size_t)50 << 20)

struct one {
	char *creation_id;
	struct buf msg;
	struct jmap_email_put put; /* mailboxes, keywords; the new entries */
	struct mime_thread_ids tids;
	struct store_thread_keys keys;
	int status; /* the savepoint's */
};

struct create_ctx {
	struct jmap_call *c;
	uint64_t quota_bytes;
	int64_t account_id;
	struct one *ones;
	size_t n;
	json_t *created, *not_created;
	email_create_done_fn done;
	void *ud;
};

static void ctx_free(struct create_ctx *x)
{
	for (size_t i = 0; i < x->n; i++) {
		free(x->ones[i].creation_id);
		buf_free(&x->ones[i].msg);
		jmap_email_put_free(&x->ones[i].put);
	}
	free(x->ones);
	json_decref(x->created);
	json_decref(x->not_created);
	free(x);
}

/* ---- the writer ---- */

static int create_job(struct store_tx *tx, void *arg)
{
	struct create_ctx *x = arg;
	for (size_t i = 0; i < x->n; i++) {
		x->ones[i].status = store_tx_try(tx, jmap_email_put_run, &x->ones[i].put);
	}
	return 0;
}

/* ---- the completion ---- */

static void create_done(void *arg, int status)
{
	struct create_ctx *x = arg;
	for (size_t i = 0; i < x->n; i++) {
		struct one *o = &x->ones[i];
		if (status < 0 && o->status >= 0)
			o->status = status;
		if (o->status < 0) {
			json_object_set_new(
			    x->not_created, o->creation_id,
			    jmap_set_error(o->status == -EDQUOT ? "overQuota" : "serverFail", NULL,
			                   NULL));
			continue;
		}
		jmap_email_put_publish(&o->put);
		json_t *id = jmap_id_json('M', o->put.message_id);
		char blob[32];
		snprintf(blob, sizeof blob, "B%lld", (long long)o->put.message_id);
		json_object_set_new(x->created, o->creation_id,
		                    json_pack("{s:O, s:s, s:o, s:I}", "id", id, "blobId", blob,
		                              "threadId", jmap_id_json('T', o->put.thread_id),
		                              "size", (json_int_t)o->msg.len));
		jmap_created_add(x->c, o->creation_id, json_string_value(id));
		json_decref(id);
	}
	json_t *created = json_incref(x->created), *not_created = json_incref(x->not_created);
	email_create_done_fn done = x->done;
	void *ud = x->ud;
	ctx_free(x);
	done(ud, created, not_created);
}

/* ---- on the loop ---- */

struct blob_env {
	struct store_rd *rd;
	const struct jmap_account *acct;
};

static int read_blob(void *ud, const char *blob_id, struct buf *out, char *type, size_t typelen,
                     char *name, size_t namelen)
{
	struct blob_env *b = ud;
	return jmap_blob_read(b->rd, b->acct, blob_id, out, type, typelen, name, namelen);
}

/* "2024-01-02T03:04:05Z" (UTCDate) to unix seconds; false if not one. */
/* mailboxIds, keywords and receivedAt of e into o: NULL, or a SetError. */
static json_t *read_props(struct create_ctx *x, json_t *e, struct one *o, int *err)
{
	json_t *bad = jmap_email_put_mailboxes(x->c, store_reader(x->c->acct->store),
	                                       json_object_get(e, "mailboxIds"), &o->put, err);
	if (!bad && *err == 0)
		bad = jmap_email_put_keywords(json_object_get(e, "keywords"), &o->put, err);
	if (bad || *err < 0)
		return bad;
	json_t *ra = json_object_get(e, "receivedAt");
	if (ra && !json_is_null(ra) &&
	    (!json_is_string(ra) ||
	     jmap_utc_date_parse(json_string_value(ra), &o->put.internal_date) < 0 ||
	     o->put.internal_date <= 0))
		return jmap_set_error("invalidProperties", "a UTCDate", "receivedAt");
	return NULL;
}

static void unique_string(char *out, size_t len)
{
	static unsigned serial;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	unsigned rnd = 0;
	FILE *f = fopen("/dev/urandom", "rb");
	if (f) {
		if (fread(&rnd, sizeof rnd, 1, f) != 1)
			rnd = 0;
		fclose(f);
	}
	snprintf(out, len, "%llx%lx%x%x", (long long)ts.tv_sec, (long)ts.tv_nsec, rnd, ++serial);
}

int jmap_email_create(struct jmap_call *c, json_t *create, uint64_t quota_bytes,
                      email_create_done_fn done, void *ud)
{
	struct create_ctx *x = calloc(1, sizeof *x);
	if (!x || !(x->ones = calloc(json_object_size(create) + 1, sizeof *x->ones)) ||
	    !(x->created = json_object()) || !(x->not_created = json_object())) {
		if (x)
			ctx_free(x);
		return -ENOMEM;
	}
	x->c = c;
	x->quota_bytes = quota_bytes;
	x->account_id = c->acct->account_id;
	x->done = done;
	x->ud = ud;
	struct store_rd *rd = store_reader(c->acct->store);
	bool begun = store_read_begin(rd);
	struct blob_env be = {rd, c->acct};
	/* Message-ID's right side: the account's domain, as a mail client
	 * writing the message would. */
	const char *at = c->acct->username ? strrchr(c->acct->username, '@') : NULL;
	const char *host = at && at[1] ? at + 1 : "localhost";
	const char *key;
	json_t *e;
	int err = 0;
	json_object_foreach(create, key, e)
	{
		struct one *o = &x->ones[x->n];
		memset(o, 0, sizeof *o);
		if (!(o->creation_id = strdup(key))) {
			err = -ENOMEM;
			break;
		}
		x->n++;
		json_t *bad = json_is_object(e)
		                  ? read_props(x, e, o, &err)
		                  : jmap_set_error("invalidProperties", "not an object", NULL);
		if (err < 0)
			break;
		if (!bad) {
			char unique[64];
			unique_string(unique, sizeof unique);
			struct email_build_env env = {.now = time(NULL),
			                              .unique = unique,
			                              .hostname = host,
			                              .blob = read_blob,
			                              .blob_ud = &be,
			                              .max_size = MAX_CREATE_BYTES};
			const char *prop = NULL, *why = NULL;
			int r = email_build(e, &env, &o->msg, &prop, &why);
			if (r < 0) {
				err = r;
				break;
			}
			if (r == EMAIL_BUILD_INVALID)
				bad = jmap_set_error("invalidProperties", why, prop);
			else if (r == EMAIL_BUILD_NO_BLOB) {
				bad = jmap_set_error("blobNotFound", why, NULL);
				json_object_set_new(bad, "notFound", json_pack("[s]", prop));
			} else if (r == EMAIL_BUILD_TOO_LARGE)
				bad = jmap_set_error("tooLarge", why, NULL);
		}
		if (bad) {
			json_object_set_new(x->not_created, key, bad);
			x->n--;
			free(o->creation_id);
			buf_free(&o->msg);
			jmap_email_put_free(&o->put);
			continue;
		}
		mime_thread_ids_read(o->msg.data, o->msg.len, &o->tids);
		o->keys = (struct store_thread_keys){o->tids.message_id, o->tids.parents,
		                                     o->tids.nparents};
		o->put.account_id = x->account_id;
		o->put.quota_bytes = x->quota_bytes;
		o->put.data = o->msg.data;
		o->put.len = o->msg.len;
		o->put.thread = &o->keys;
	}
	store_read_end(rd, begun);
	if (err < 0) {
		ctx_free(x);
		return err;
	}
	int r = store_submit(c->acct->store, create_job, create_done, x);
	if (r < 0)
		ctx_free(x);
	return r;
}
