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
#include "proto/jmap/keywords.h"
#include "store/entries.h"
#include "store/mail.h"
#include "store/mailboxes.h"
#include "store/notify.h"
#include "store/store.h"
#include "store/threads.h"

#define MAX_MAILBOXES 64
#define MAX_CREATE_BYTES ((size_t)50 << 20)

struct one {
	char *creation_id;
	struct buf msg;
	struct buf keywords;
	uint32_t flags;
	int64_t internal_date;
	int64_t mailboxes[MAX_MAILBOXES];
	uint32_t uids[MAX_MAILBOXES];
	int64_t modseqs[MAX_MAILBOXES];
	size_t nmailboxes;
	struct mime_thread_ids tids;
	struct store_thread_keys keys;
	/* results */
	int status;
	int64_t message_id, thread_id;
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
		buf_free(&x->ones[i].keywords);
	}
	free(x->ones);
	json_decref(x->created);
	json_decref(x->not_created);
	free(x);
}

/* ---- the writer ---- */

static int one_run(struct store_tx *tx, void *arg)
{
	struct create_ctx *x = ((void **)arg)[0];
	struct one *o = ((void **)arg)[1];
	struct store_append_req q = {.account_id = x->account_id,
	                             .mailbox_id = o->mailboxes[0],
	                             .data = o->msg.data,
	                             .len = o->msg.len,
	                             .internal_date = o->internal_date,
	                             .flags = o->flags,
	                             .keywords = o->keywords.data ? o->keywords.data : "",
	                             .quota_bytes = x->quota_bytes,
	                             .thread = &o->keys};
	int r = store_append_job(tx, &q);
	if (r < 0)
		return r;
	o->uids[0] = q.uid;
	o->modseqs[0] = q.modseq;
	struct store_entry e;
	char kw[8];
	r = store_entry_get(store_tx_reader(tx), o->mailboxes[0], q.uid, &e, kw, sizeof kw);
	if (r <= 0)
		return r < 0 ? r : -EIO;
	o->message_id = e.message_id;
	o->thread_id = e.thread_id;
	for (size_t i = 1; i < o->nmailboxes; i++) {
		struct store_copy_req cq = {.account_id = x->account_id,
		                            .src_mailbox_id = o->mailboxes[0],
		                            .dst_mailbox_id = o->mailboxes[i],
		                            .uids = &o->uids[0],
		                            .n = 1,
		                            .quota_bytes = x->quota_bytes,
		                            .new_uids = &o->uids[i],
		                            .new_modseqs = &o->modseqs[i]};
		if ((r = store_copy_job(tx, &cq)) < 0)
			return r;
		if (!o->uids[i])
			return -EIO;
	}
	return 0;
}

static int create_job(struct store_tx *tx, void *arg)
{
	struct create_ctx *x = arg;
	for (size_t i = 0; i < x->n; i++) {
		void *a[2] = {x, &x->ones[i]};
		x->ones[i].status = store_tx_try(tx, one_run, a);
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
		for (size_t k = 0; k < o->nmailboxes; k++) {
			struct notify_event ev = {.kind = NOTIFY_EXISTS,
			                          .mailbox_id = o->mailboxes[k],
			                          .uid = o->uids[k],
			                          .modseq = o->modseqs[k],
			                          .account_id = x->account_id};
			notify_publish(&ev);
		}
		json_t *id = jmap_id_json('M', o->message_id);
		char blob[32];
		snprintf(blob, sizeof blob, "B%lld", (long long)o->message_id);
		json_object_set_new(x->created, o->creation_id,
		                    json_pack("{s:O, s:s, s:o, s:I}", "id", id, "blobId", blob,
		                              "threadId", jmap_id_json('T', o->thread_id), "size",
		                              (json_int_t)o->msg.len));
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
static bool utc_date(const char *s, int64_t *out)
{
	struct tm tm = {0};
	int used = 0;
	if (!s ||
	    sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	           &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used) != 6 ||
	    used != 20 || s[used])
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	time_t t = timegm(&tm);
	if (t < 0)
		return false;
	*out = t;
	return true;
}

/* mailboxIds, keywords and receivedAt of e into o: NULL, or a SetError. */
static json_t *read_props(struct create_ctx *x, json_t *e, struct one *o, int *err)
{
	const struct jmap_account *a = x->c->acct;
	json_t *mbs = json_object_get(e, "mailboxIds");
	*err = 0;
	if (!json_is_object(mbs) || json_object_size(mbs) == 0)
		return jmap_set_error("invalidProperties", "an Email is in at least one mailbox",
		                      "mailboxIds");
	const char *key;
	json_t *v;
	json_object_foreach(mbs, key, v)
	{
		const char *id = jmap_created_id(x->c, key);
		int64_t uv, mbid = 0;
		int r = 0;
		if (!json_is_true(v) || o->nmailboxes == MAX_MAILBOXES)
			return jmap_set_error("invalidProperties", "mailboxIds values are true",
			                      "mailboxIds");
		if (id && jmap_id_parse(id, 'F', &uv) && uv <= UINT32_MAX)
			r = store_mailbox_by_uidvalidity(store_reader(a->store), a->account_id,
			                                 (uint32_t)uv, &mbid);
		if (r < 0) {
			*err = r;
			return NULL;
		}
		if (r == 0)
			return jmap_set_error("invalidProperties", "no such mailbox", "mailboxIds");
		bool dup = false;
		for (size_t k = 0; k < o->nmailboxes; k++)
			dup |= o->mailboxes[k] == mbid;
		if (!dup)
			o->mailboxes[o->nmailboxes++] = mbid;
	}
	json_t *kws = json_object_get(e, "keywords");
	if (kws && !json_is_null(kws)) {
		if (!json_is_object(kws))
			return jmap_set_error("invalidProperties", "keywords is an object",
			                      "keywords");
		char norm[JMAP_KEYWORD_MAX + 1];
		json_object_foreach(kws, key, v)
		{
			if (!json_is_true(v) || jmap_keyword_norm(key, norm) < 0)
				return jmap_set_error("invalidProperties", "not a keyword",
				                      "keywords");
			uint32_t f = jmap_keyword_flag(norm);
			if (f) {
				o->flags |= f;
				continue;
			}
			if (o->keywords.len &&
			    store_keyword_has(o->keywords.data, norm, strlen(norm)))
				continue;
			if ((o->keywords.len && buf_addc(&o->keywords, ' ') < 0) ||
			    buf_adds(&o->keywords, norm) < 0) {
				*err = -ENOMEM;
				return NULL;
			}
		}
	}
	json_t *ra = json_object_get(e, "receivedAt");
	if (ra && !json_is_null(ra) && !utc_date(json_string_value(ra), &o->internal_date))
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
	/* Message-ID's right side: the account's domain (jmap_account has no
	 * [server] hostname). */
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
			buf_free(&o->keywords);
			continue;
		}
		mime_thread_ids_read(o->msg.data, o->msg.len, &o->tids);
		o->keys = (struct store_thread_keys){o->tids.message_id, o->tids.parents,
		                                     o->tids.nparents};
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
