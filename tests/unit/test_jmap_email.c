/* test_jmap_email: the JMAP Email, Thread and SearchSnippet methods
 * (proto/jmap/email_*.c, thread.c, search_snippet.c) and the store reads
 * under them (store/emails.c), against a real store filled by its own
 * jobs, with IMAP's indexer for the text conditions.
 *
 * The request runner (api.c, args.c) and the renderer (email_render.c)
 * are other parts; the few functions of theirs the methods call are
 * faked here: jmap_reply/jmap_error capture the answer, jmap_get_args and
 * the id helpers do what jmap_int.h says, and the renderer's fake adds
 * one property ("rawLength": the bytes it was given) and records the
 * snippet terms, so the tests check the metadata, the queries and the
 * writes, not the rendering.
 *
 * TERN_JMAP_BENCH_N=100000 adds a timing of Email/query (a mailbox of N
 * messages, sorted by date, limit 50) and Email/get of the 50. */
#include "proto/imap/index.h"
#include "proto/jmap/email_common.h"
#include "proto/jmap/email_filter.h"
#include "proto/jmap/email_methods.h"
#include "proto/jmap/email_query_cache.h"
#include "proto/jmap/email_render.h"
#include "proto/jmap/jmap_int.h"
#include "proto/jmap/query_diff.h"
#include "store/accounts.h"
#include "store/emails.h"
#include "store/entries.h"
#include "store/mail.h"
#include "store/mailboxes.h"
#include "store/msg_index.h"
#include "store/notify.h"
#include "store/store.h"
#include "store/store_int.h" /* the writer's idle indexing step */
#include "store/threads.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "check.h"

/* ---- fakes of the runner and the renderer ---- */

static json_t *answer; /* [name, result] of the last call */
static int render_calls;
static char snippet_terms[256];

void jmap_reply(struct jmap_call *c, json_t *result)
{
	CHECK(answer == NULL, "%s answered twice", c->name);
	json_decref(answer);
	answer = json_pack("[s, o]", c->name, result);
}

void jmap_reply_also(struct jmap_call *c, const char *name, json_t *result)
{
	json_decref(result);
}

void jmap_error(struct jmap_call *c, const char *type, const char *description)
{
	CHECK(answer == NULL, "%s answered twice", c->name);
	json_decref(answer);
	answer = json_pack("[s, {s:s, s:s?}]", "error", "type", type, "description", description);
}

/* Creation ids (the runner's): none were made in these tests. */
int jmap_created_add(struct jmap_call *c, const char *creation_id, const char *id)
{
	(void)c, (void)creation_id, (void)id;
	return 0;
}

const char *jmap_created_id(const struct jmap_call *c, const char *id)
{
	(void)c;
	return id && id[0] == '#' ? NULL : id;
}

/* jmap_id_parse, jmap_id_json, jmap_get_args, jmap_set_args and jmap_want
 * are the real ones (args.c). */

int jmap_email_opts_parse(const json_t *args, const json_t *properties, struct jmap_email_opts *o,
                          const char **why)
{
	memset(o, 0, sizeof *o);
	o->properties = properties;
	if (json_object_get(args, "bodyProperties") &&
	    !json_is_array(json_object_get(args, "bodyProperties"))) {
		*why = "bodyProperties";
		return -1;
	}
	return 0;
}

int jmap_email_render(json_t *obj, const char *raw, size_t len, int64_t message_id,
                      const struct jmap_email_opts *o)
{
	render_calls++;
	return json_object_set_new(obj, "rawLength", json_integer((json_int_t)len));
}

int jmap_email_snippet(json_t *obj, const char *raw, size_t len, const char *const *terms,
                       size_t nterms)
{
	snippet_terms[0] = '\0';
	for (size_t i = 0; i < nterms; i++) {
		strncat(snippet_terms, terms[i], sizeof snippet_terms - strlen(snippet_terms) - 2);
		strcat(snippet_terms, "|");
	}
	json_object_set_new(obj, "subject", json_null());
	json_object_set_new(obj, "preview", json_null());
	return 0;
}

/* ---- the store ---- */

static struct store *st;
static uv_loop_t *loop;
static int64_t account, other_account, inbox, work, archive;
static uint32_t uv_inbox, uv_work, uv_archive;
static struct jmap_limits limits = {.max_objects_in_get = 50, .max_objects_in_set = 20};
static struct jmap_account the_acct;

static int setup(struct store_tx *tx, void *arg)
{
	int r = store_domain_add(tx, "example.test");
	if (r < 0 || (r = store_account_add(tx, "u@example.test", "", &account)) < 0 ||
	    (r = store_account_add(tx, "v@example.test", "", &other_account)) < 0)
		return r;
	int64_t other_inbox;
	if (store_mailbox_find(store_tx_reader(tx), account, "INBOX", &inbox) <= 0 &&
	    store_mailbox_create(tx, account, "INBOX", "", &inbox) < 0)
		return -EIO;
	/* Archive is one of the mailboxes every account starts with */
	if (store_mailbox_create(tx, account, "Work", "", &work) < 0 ||
	    store_mailbox_find(store_tx_reader(tx), account, "Archive", &archive) != 1)
		return -EIO;
	if (store_mailbox_find(store_tx_reader(tx), other_account, "INBOX", &other_inbox) <= 0 &&
	    store_mailbox_create(tx, other_account, "INBOX", "", &other_inbox) < 0)
		return -EIO;
	return 0;
}

struct delivery {
	const char *data;
	int64_t account, mailbox, date;
	const char *msgid;
	const char *parent;
	int64_t message_id; /* result */
};

static int deliver(struct store_tx *tx, void *arg)
{
	struct delivery *d = arg;
	struct store_local_rcpt r = {.account_id = d->account, .mailbox_id = d->mailbox};
	const char *parents[1] = {d->parent};
	struct store_thread_keys keys = {d->msgid, parents, d->parent ? 1 : 0};
	struct store_delivery sd = {.data = d->data,
	                            .len = strlen(d->data),
	                            .mail_from = "",
	                            .internal_date = d->date,
	                            .local = &r,
	                            .nlocal = 1,
	                            .thread = &keys};
	int rc = store_deliver(tx, &sd);
	d->message_id = sd.message_id;
	return rc;
}

static int64_t index_cursor;
static int index_all(struct store_tx *tx, void *arg)
{
	int n = 0, r;
	while ((r = store_index_next(tx, &index_cursor)) > 0)
		n++;
	return r < 0 ? r : n;
}

/* ---- calling a method ---- */

/* Runs method on args (a JSON text, "%A" is the account id) and waits
 * for its answer; returns [name, result] (owned by the test until the
 * next call). */
static json_t *call(const char *name, void (*fn)(struct jmap_call *), const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static json_t *call(const char *name, void (*fn)(struct jmap_call *), const char *fmt, ...)
{
	static char text[80000];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	json_error_t jerr;
	json_t *args = json_loads(text, 0, &jerr);
	if (!args) {
		printf("bad test JSON: %s: %s\n", text, jerr.text);
		exit(1);
	}
	json_decref(answer);
	answer = NULL;
	struct jmap_call c = {.name = name, .call_id = "c1", .args = args, .acct = &the_acct};
	fn(&c);
	for (int i = 0; !answer && i < 10000; i++)
		uv_run(loop, UV_RUN_ONCE);
	json_decref(args);
	if (!answer) {
		printf("%s: no answer\n", name);
		exit(1);
	}
	return answer;
}

static json_t *result(void)
{
	return json_array_get(answer, 1);
}

static bool is_error(const char *type)
{
	return !strcmp(json_string_value(json_array_get(answer, 0)), "error") &&
	       !strcmp(json_string_value(json_object_get(result(), "type")), type);
}

static bool ok(const char *name)
{
	bool r = !strcmp(json_string_value(json_array_get(answer, 0)), name);
	if (!r) {
		char *s = json_dumps(answer, 0);
		printf("  unexpected answer: %s\n", s);
		free(s);
	}
	return r;
}

/* The ids of a result's "ids" (or list[].id) joined with spaces. */
static const char *ids_of(const json_t *arr)
{
	static char out[4096];
	out[0] = '\0';
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
	{
		const char *s = json_is_string(v) ? json_string_value(v)
		                                  : json_string_value(json_object_get(v, "id"));
		size_t used = strlen(out);
		if (used + 32 >= sizeof out)
			break; /* long lists are only counted */
		snprintf(out + used, sizeof out - used, "%s%s", i ? " " : "", s ? s : "?");
	}
	return out;
}

static char mid_s[8][24];
static int64_t mids[8];

static const char *A(void)
{
	static char b[24];
	snprintf(b, sizeof b, "A%" PRId64, account);
	return b;
}

static const json_t *email_get_one(const char *id, const char *props)
{
	call("Email/get", jmap_email_get,
	     "{\"accountId\":\"%s\",\"ids\":[\"%s\"],\"properties\":%s}", A(), id, props);
	return json_array_get(json_object_get(result(), "list"), 0);
}

static bool has_key(const json_t *obj, const char *k)
{
	return json_object_get(obj, k) != NULL;
}

static int entries_in(int64_t mailbox)
{
	struct store_mailbox_counts cnt;
	if (store_mailbox_counts(store_reader(st), mailbox, &cnt) < 0)
		return -1;
	return (int)cnt.messages;
}

static int events[3];
static void on_event(void *ud, const struct notify_event *ev)
{
	if (ev->kind <= NOTIFY_FLAGS)
		events[ev->kind]++;
}

static const char *state_now(void)
{
	static char s[STORE_EMAIL_STATE_MAX];
	CHECK(jmap_email_state(&the_acct, s) == 0, "state");
	return s;
}

static const int64_t T0 = 1700000000; /* 2023-11-14T22:13:20Z */

static void fill(void)
{
	static struct delivery d[] = {
	    {"From: Alice <alice@example.org>\r\nTo: u@example.test\r\nSubject: Lunch plans\r\n"
	     "Message-ID: <a1@x>\r\n\r\nLet us meet at noon\r\n",
	     0, 0, 0, "a1@x", NULL, 0},
	    {"From: Bob <bob@example.org>\r\nTo: u@example.test\r\nCc: dave@example.org\r\n"
	     "Subject: Re: Lunch plans\r\nMessage-ID: <a2@x>\r\nIn-Reply-To: <a1@x>\r\n\r\n"
	     "Noon is fine\r\n",
	     0, 0, 0, "a2@x", "a1@x", 0},
	    {"From: Carol <carol@example.org>\r\nTo: u@example.test\r\nSubject: Invoice 42\r\n"
	     "X-Priority: 1\r\n\r\nPlease pay the zebra invoice, it is long overdue by now.\r\n"
	     "This line makes it the largest message of the account by some way.\r\n",
	     0, 0, 0, "c1@x", NULL, 0},
	    {"From: Alice <alice@example.org>\r\nTo: u@example.test\r\nSubject: Quarterly "
	     "report\r\n"
	     "\r\nNumbers\r\n",
	     0, 0, 0, "r1@x", NULL, 0},
	    {"From: Mallory <m@example.org>\r\nSubject: other account\r\n\r\nzebra\r\n", 0, 0, 0,
	     "o1@x", NULL, 0},
	};
	int64_t mbs[] = {inbox, inbox, inbox, work, 0};
	int64_t dates[] = {T0, T0 + 100, T0 + 50, T0 + 200, T0};
	for (size_t i = 0; i < 5; i++) {
		d[i].account = i == 4 ? other_account : account;
		d[i].mailbox = mbs[i];
		d[i].date = dates[i];
		CHECK(store_exec(st, deliver, &d[i]) >= 0, "deliver %zu", i);
		mids[i] = d[i].message_id;
		snprintf(mid_s[i], sizeof mid_s[i], "M%" PRId64, mids[i]);
	}
	/* the writer's idle work may have done some of them already */
	CHECK(store_exec(st, index_all, NULL) >= 0 &&
	          store_index_missing_in(store_reader(st), inbox, 0, UINT32_MAX) == 0 &&
	          store_index_missing_in(store_reader(st), work, 0, UINT32_MAX) == 0,
	      "indexed");
}

static int thread_row(void *ud, int64_t thread_id, int64_t message_id)
{
	char *out = ud;
	snprintf(out + strlen(out), 128 - strlen(out), "%" PRId64 ":%" PRId64 " ", thread_id,
	         message_id);
	return 0;
}

static void test_store_reads(void)
{
	struct store_rd *rd = store_reader(st);
	int64_t *ids;
	size_t n;
	int64_t both[] = {mids[2], mids[0], 999999};
	char seen[128] = "";
	CHECK(store_threads_emails(rd, account, both, 3, thread_row, seen) == 3,
	      "three messages in two threads (and none of an unknown one)");
	char want[128];
	snprintf(want, sizeof want,
	         "%" PRId64 ":%" PRId64 " %" PRId64 ":%" PRId64 " %" PRId64 ":%" PRId64 " ",
	         mids[0], mids[0], mids[0], mids[1], mids[2], mids[2]);
	CHECK(!strcmp(seen, want), "by thread, oldest first: %s", seen);
	CHECK(store_threads_emails(rd, other_account, both, 3, thread_row, seen) == 0,
	      "another account's threads: nothing");
	CHECK(store_threads_emails(rd, account, both, STORE_THREADS_MAX + 1, thread_row, seen) ==
	          -E2BIG,
	      "too many threads at once");
	CHECK(store_email_ids(rd, account, 0, &ids, &n) == 0 && n == 4, "account has 4 messages");
	free(ids);
	CHECK(store_email_ids(rd, account, 2, &ids, &n) == 0 && n == 2 && ids[0] == mids[0],
	      "limit");
	free(ids);
	int64_t mb;
	struct store_mailbox m;
	CHECK(store_mailbox_get(rd, work, &m) == 1, "work");
	uv_work = m.uidvalidity;
	CHECK(store_mailbox_get(rd, archive, &m) == 1, "archive");
	uv_archive = m.uidvalidity;
	CHECK(store_mailbox_get(rd, inbox, &m) == 1, "inbox");
	uv_inbox = m.uidvalidity;
	CHECK(store_mailbox_by_uidvalidity(rd, account, uv_work, &mb) == 1 && mb == work,
	      "mailbox by uidvalidity");
	CHECK(store_mailbox_by_uidvalidity(rd, other_account, uv_work, &mb) == 0,
	      "not another account's");
	char s1[STORE_EMAIL_STATE_MAX], s2[STORE_EMAIL_STATE_MAX], tiny[4];
	CHECK(store_email_state(rd, account, s1, sizeof s1) == 0 &&
	          store_email_state(rd, account, s2, sizeof s2) == 0 && !strcmp(s1, s2),
	      "state is stable");
	CHECK(store_email_state(rd, account, tiny, sizeof tiny) == -ENOSPC, "state: small buffer");
	CHECK(store_email_entries(rd, other_account, mids[0], NULL, NULL) == 0,
	      "no entries of another account's message");
}

static void test_get(void)
{
	const json_t *e = email_get_one(mid_s[0], "null");
	CHECK(ok("Email/get"), "get");
	char mb[32], tid[32];
	snprintf(mb, sizeof mb, "F%u", uv_inbox);
	snprintf(tid, sizeof tid, "T%" PRId64, mids[0]);
	CHECK(!strcmp(json_string_value(json_object_get(e, "id")), mid_s[0]), "id");
	CHECK(json_string_value(json_object_get(e, "blobId"))[0] == 'B' &&
	          !strcmp(json_string_value(json_object_get(e, "blobId")) + 1, mid_s[0] + 1),
	      "blobId");
	CHECK(!strcmp(json_string_value(json_object_get(e, "threadId")), tid), "threadId");
	CHECK(json_object_size(json_object_get(e, "mailboxIds")) == 1 &&
	          json_is_true(json_object_get(json_object_get(e, "mailboxIds"), mb)),
	      "mailboxIds");
	CHECK(json_object_size(json_object_get(e, "keywords")) == 0, "no keywords");
	CHECK(!strcmp(json_string_value(json_object_get(e, "receivedAt")), "2023-11-14T22:13:20Z"),
	      "receivedAt %s", json_string_value(json_object_get(e, "receivedAt")));
	int64_t size = json_integer_value(json_object_get(e, "size"));
	CHECK(size > 50 && json_integer_value(json_object_get(e, "rawLength")) == size,
	      "size, and the renderer got every byte");
	CHECK(json_is_string(json_object_get(result(), "state")), "state");

	snprintf(tid, sizeof tid, "T%" PRId64, mids[0]);
	e = email_get_one(mid_s[1], "[\"threadId\"]");
	CHECK(!strcmp(json_string_value(json_object_get(e, "threadId")), tid),
	      "the reply is in its parent's thread");

	render_calls = 0;
	e = email_get_one(mid_s[0], "[\"keywords\", \"size\"]");
	CHECK(render_calls == 0 && has_key(e, "id") && has_key(e, "size") &&
	          !has_key(e, "blobId") && !has_key(e, "rawLength"),
	      "metadata only: id always, no bytes read");

	call("Email/get", jmap_email_get,
	     "{\"accountId\":\"%s\",\"ids\":[\"%s\",\"M999999\",\"Mx\",\"%s\",\"%s\"],"
	     "\"properties\":[\"id\"]}",
	     A(), mid_s[2], mid_s[4], mid_s[2]);
	CHECK(!strcmp(ids_of(json_object_get(result(), "list")), mid_s[2]),
	      "found once though asked twice");
	char nf[128];
	snprintf(nf, sizeof nf, "M999999 Mx %s", mid_s[4]);
	CHECK(!strcmp(ids_of(json_object_get(result(), "notFound")), nf),
	      "notFound: unknown, malformed, another account's: %s",
	      ids_of(json_object_get(result(), "notFound")));

	call("Email/get", jmap_email_get,
	     "{\"accountId\":\"%s\",\"ids\":null,\"properties\":[\"id\"]}", A());
	CHECK(ok("Email/get") && json_array_size(json_object_get(result(), "list")) == 4,
	      "ids null: all 4");
	limits.max_objects_in_get = 3;
	call("Email/get", jmap_email_get, "{\"accountId\":\"%s\",\"ids\":null}", A());
	CHECK(is_error("requestTooLarge"), "ids null over maxObjectsInGet");
	limits.max_objects_in_get = 50;
	call("Email/get", jmap_email_get, "{\"accountId\":\"%s\",\"ids\":[1]}", A());
	CHECK(is_error("invalidArguments"), "an id that is not a string");
	call("Email/get", jmap_email_get, "{\"accountId\":\"A999\",\"ids\":[]}");
	CHECK(is_error("accountNotFound"), "another account id");
	call("Email/get", jmap_email_get, "{\"accountId\":\"%s\",\"ids\":[],\"bodyProperties\":3}",
	     A());
	CHECK(is_error("invalidArguments"), "the renderer's argument check is used");
}

static void test_thread(void)
{
	char t0[32], t2[32];
	snprintf(t0, sizeof t0, "T%" PRId64, mids[0]);
	snprintf(t2, sizeof t2, "T%" PRId64, mids[2]);
	call("Thread/get", jmap_thread_get,
	     "{\"accountId\":\"%s\",\"ids\":[\"%s\",\"%s\",\"T9999\","
	     "\"x\"]}",
	     A(), t0, t2);
	const json_t *list = json_object_get(result(), "list");
	char want[64];
	snprintf(want, sizeof want, "%s %s", mid_s[0], mid_s[1]);
	CHECK(ok("Thread/get") && json_array_size(list) == 2 &&
	          !strcmp(ids_of(json_object_get(json_array_get(list, 0), "emailIds")), want),
	      "thread emailIds by receivedAt");
	CHECK(!strcmp(ids_of(json_object_get(json_array_get(list, 1), "emailIds")), mid_s[2]),
	      "a thread of one");
	CHECK(!strcmp(ids_of(json_object_get(result(), "notFound")), "T9999 x"), "notFound");
	call("Thread/get", jmap_thread_get, "{\"accountId\":\"%s\",\"ids\":null}", A());
	CHECK(is_error("requestTooLarge"), "ids null");
	char st0[STORE_EMAIL_STATE_MAX];
	snprintf(st0, sizeof st0, "%s", state_now());
	call("Thread/changes", jmap_thread_changes, "{\"accountId\":\"%s\",\"sinceState\":\"%s\"}",
	     A(), st0);
	CHECK(ok("Thread/changes") &&
	          !strcmp(json_string_value(json_object_get(result(), "newState")), st0) &&
	          json_array_size(json_object_get(result(), "created")) == 0,
	      "no changes since the current state");
	call("Thread/changes", jmap_thread_changes, "{\"accountId\":\"%s\",\"sinceState\":\"old\"}",
	     A());
	CHECK(is_error("cannotCalculateChanges"), "an older state");
	call("Email/changes", jmap_email_changes, "{\"accountId\":\"%s\"}", A());
	CHECK(is_error("invalidArguments"), "sinceState missing");
	call("Email/changes", jmap_email_changes,
	     "{\"accountId\":\"%s\",\"sinceState\":\"%s\",\"maxChanges\":0}", A(), st0);
	CHECK(is_error("invalidArguments"), "maxChanges 0");
}

/* query_diff: removing, then adding in index order, turns old into cur. */
static void test_query_diff(void)
{
	unsigned seed = 12345;
	int bad = 0;
	for (int round = 0; round < 300; round++) {
		int64_t old[64], cur[64], applied[160];
		size_t nold = 0, ncur = 0;
		for (int64_t id = 1; id <= 60; id++) {
			seed = seed * 1103515245 + 12345;
			if ((seed >> 16) % 3)
				old[nold++] = id;
			seed = seed * 1103515245 + 12345;
			if ((seed >> 16) % 3)
				cur[ncur++] = id;
		}
		/* shuffle a few positions of cur */
		for (int k = 0; k < round % 7 && ncur > 1; k++) {
			seed = seed * 1103515245 + 12345;
			size_t a = (seed >> 16) % ncur, b = (seed >> 8) % ncur;
			int64_t t = cur[a];
			cur[a] = cur[b];
			cur[b] = t;
		}
		struct jmap_query_diff d;
		if (jmap_query_diff(old, nold, cur, ncur, &d) < 0) {
			bad++;
			continue;
		}
		size_t n = 0;
		for (size_t i = 0; i < nold; i++) {
			bool gone = false;
			for (size_t k = 0; k < d.nremoved; k++)
				gone |= d.removed[k] == old[i];
			if (!gone)
				applied[n++] = old[i];
		}
		for (size_t k = 0; k < d.nadded; k++) {
			size_t at = d.added[k].index;
			if (at > n) {
				bad++;
				break;
			}
			memmove(applied + at + 1, applied + at, (n - at) * sizeof *applied);
			applied[at] = d.added[k].id;
			n++;
		}
		if (n != ncur || memcmp(applied, cur, n * sizeof *cur))
			bad++;
		/* with nothing moved, what is in both lists stays */
		if (round % 7 == 0) {
			size_t both = 0;
			for (size_t i = 0; i < nold; i++)
				for (size_t k = 0; k < ncur; k++)
					both += old[i] == cur[k];
			if (d.nremoved != nold - both || d.nadded != ncur - both)
				bad++;
		}
		jmap_query_diff_free(&d);
	}
	CHECK(bad == 0, "query_diff: %d of 300 random cases do not apply", bad);
	int64_t a[] = {5, 4, 3, 2, 1}, b[] = {6, 5, 4, 3, 2, 1};
	struct jmap_query_diff d;
	CHECK(jmap_query_diff(a, 5, b, 6, &d) == 0 && d.nremoved == 0 && d.nadded == 1 &&
	          d.added[0].id == 6 && d.added[0].index == 0,
	      "a new one on top is one addition");
	jmap_query_diff_free(&d);
	CHECK(jmap_query_diff(NULL, 0, NULL, 0, &d) == 0 && d.nremoved == 0 && d.nadded == 0,
	      "empty lists");
	jmap_query_diff_free(&d);
}

/* Email/query's ids for filter, sort and extra arguments (",..." or ""). */
static const char *query(const char *filter, const char *sort, const char *extra)
{
	call("Email/query", jmap_email_query, "{\"accountId\":\"%s\",\"filter\":%s,\"sort\":%s%s}",
	     A(), filter, sort, extra);
	if (strcmp(json_string_value(json_array_get(answer, 0)), "Email/query"))
		return json_string_value(json_object_get(result(), "type"));
	return ids_of(json_object_get(result(), "ids"));
}

static const char *ids(int a, int b, int c, int d)
{
	static char out[128];
	int v[] = {a, b, c, d};
	out[0] = '\0';
	for (int i = 0; i < 4 && v[i] >= 0; i++) {
		if (i)
			strcat(out, " ");
		strcat(out, mid_s[v[i]]);
	}
	return out;
}

#define QUERY_IS(f, s, x, want, what)                                                              \
	do {                                                                                       \
		const char *got_ = query(f, s, x);                                                 \
		CHECK(!strcmp(got_, want), "%s: got \"%s\" want \"%s\"", what, got_, want);        \
	} while (0)

static const char *DESC = "[{\"property\":\"receivedAt\",\"isAscending\":false}]";
static const char *ASC = "[{\"property\":\"receivedAt\"}]";

static void test_query(void)
{
	char f[512];
	snprintf(f, sizeof f, "{\"inMailbox\":\"F%u\"}", uv_inbox);
	QUERY_IS(f, DESC, "", ids(1, 2, 0, -1), "inMailbox, newest first");
	CHECK(
	    json_integer_value(json_object_get(result(), "position")) == 0 &&
	        !strcmp(json_string_value(json_object_get(result(), "queryState")), state_now()) &&
	        !has_key(result(), "total"),
	    "position, queryState, no total unless asked");
	QUERY_IS("null", ASC, "", ids(0, 2, 1, 3), "every mailbox, oldest first");
	QUERY_IS("{}", DESC, ",\"collapseThreads\":true", ids(3, 1, 2, -1), "collapseThreads");
	QUERY_IS("null", "null", "", ids(0, 1, 2, 3), "no sort: by id");
	QUERY_IS(f, DESC, ",\"position\":1,\"limit\":1", ids(2, -1, -1, -1), "position and limit");
	QUERY_IS(f, DESC, ",\"position\":-1", ids(0, -1, -1, -1), "negative position");
	QUERY_IS(f, DESC, ",\"position\":10", "", "past the end");
	char x[256];
	snprintf(x, sizeof x, ",\"anchor\":\"%s\",\"anchorOffset\":-1,\"limit\":2", mid_s[2]);
	QUERY_IS(f, DESC, x, ids(1, 2, -1, -1), "anchor and offset");
	CHECK(json_integer_value(json_object_get(result(), "position")) == 0, "anchor's position");
	snprintf(x, sizeof x, ",\"anchor\":\"%s\",\"anchorOffset\":-5", mid_s[0]);
	QUERY_IS(f, DESC, x, ids(1, 2, 0, -1), "offset before the start clamps to 0");
	snprintf(x, sizeof x, ",\"anchor\":\"%s\"", mid_s[3]);
	QUERY_IS(f, DESC, x, "anchorNotFound", "anchor outside the results");
	QUERY_IS(f, DESC, ",\"calculateTotal\":true,\"limit\":1", ids(1, -1, -1, -1), "total");
	CHECK(json_integer_value(json_object_get(result(), "total")) == 3, "total 3");
	QUERY_IS(f, DESC, ",\"limit\":5000", ids(1, 2, 0, -1), "limit over the cap");
	CHECK(json_integer_value(json_object_get(result(), "limit")) == 1000, "the cap is said");
	QUERY_IS(f, DESC, ",\"limit\":-1", "invalidArguments", "negative limit");
	QUERY_IS(f, DESC, ",\"position\":\"x\"", "invalidArguments", "position not a number");

	QUERY_IS("{\"after\":\"2023-11-14T22:14:10Z\"}", ASC, "", ids(2, 1, 3, -1), "after (>=)");
	QUERY_IS("{\"before\":\"2023-11-14T22:14:10Z\"}", ASC, "", ids(0, -1, -1, -1),
	         "before (<)");
	QUERY_IS("{\"before\":\"2023-11-14 22:14:10\"}", ASC, "", "invalidArguments",
	         "bad UTCDate");
	QUERY_IS("{\"before\":\"2023-02-29T00:00:00Z\"}", ASC, "", "invalidArguments",
	         "no 29 February in 2023");
	QUERY_IS("{\"before\":\"2024-02-29T00:00:00.5Z\"}", ASC, "", ids(0, 2, 1, 3),
	         "29 February 2024, with a fraction");
	call("Email/get", jmap_email_get,
	     "{\"accountId\":\"%s\",\"ids\":[\"%s\"],\"properties\":[\"size\"]}", A(), mid_s[2]);
	int64_t big = json_integer_value(
	    json_object_get(json_array_get(json_object_get(result(), "list"), 0), "size"));
	snprintf(x, sizeof x, "{\"minSize\":%" PRId64 "}", big);
	QUERY_IS(x, ASC, "", ids(2, -1, -1, -1), "minSize");
	snprintf(x, sizeof x, "{\"maxSize\":%" PRId64 ", \"inMailbox\":\"F%u\"}", big, uv_inbox);
	QUERY_IS(x, ASC, "", ids(0, 1, -1, -1), "maxSize (<) and inMailbox");
	QUERY_IS("{\"minSize\":-1}", ASC, "", "invalidArguments", "negative size");

	QUERY_IS("{\"text\":\"zebra\"}", ASC, "", ids(2, -1, -1, -1),
	         "text, not another account's mail");
	QUERY_IS("{\"from\":\"alice\"}", ASC, "", ids(0, 3, -1, -1), "from");
	QUERY_IS("{\"to\":\"u@example\"}", ASC, "", ids(0, 2, 1, 3), "to");
	QUERY_IS("{\"cc\":\"dave\"}", ASC, "", ids(1, -1, -1, -1), "cc");
	QUERY_IS("{\"bcc\":\"dave\"}", ASC, "", "", "bcc: nobody");
	QUERY_IS("{\"subject\":\"INVOICE\"}", ASC, "", ids(2, -1, -1, -1), "subject, any case");
	QUERY_IS("{\"from\":\"invoice\"}", ASC, "", "", "a subject word is not in From");
	QUERY_IS("{\"body\":\"noon\"}", ASC, "", ids(0, 1, -1, -1), "body");
	QUERY_IS("{\"body\":\"alice\"}", ASC, "", "", "body excludes the header");
	QUERY_IS("{\"header\":[\"X-Priority\"]}", ASC, "", ids(2, -1, -1, -1), "header present");
	QUERY_IS("{\"header\":[\"x-priority\",\"1\"]}", ASC, "", ids(2, -1, -1, -1),
	         "header value");
	QUERY_IS("{\"header\":[\"X-Priority\",\"7\"]}", ASC, "", "", "header other value");
	QUERY_IS("{\"header\":[]}", ASC, "", "invalidArguments", "header without a name");
	QUERY_IS("{\"operator\":\"OR\",\"conditions\":[{\"subject\":\"invoice\"},"
	         "{\"subject\":\"report\"}]}",
	         ASC, "", ids(2, 3, -1, -1), "OR");
	snprintf(x, sizeof x, "{\"operator\":\"NOT\",\"conditions\":[{\"inMailbox\":\"F%u\"}]}",
	         uv_inbox);
	QUERY_IS(x, ASC, "", ids(3, -1, -1, -1), "NOT");
	snprintf(
	    x, sizeof x,
	    "{\"operator\":\"AND\",\"conditions\":[{\"inMailbox\":\"F%u\"},{\"text\":\"lunch\"}]}",
	    uv_inbox);
	QUERY_IS(x, DESC, "", ids(1, 0, -1, -1), "AND of mailbox and text");
	snprintf(x, sizeof x, "{\"inMailboxOtherThan\":[\"F%u\"]}", uv_inbox);
	QUERY_IS(x, ASC, "", ids(3, -1, -1, -1), "inMailboxOtherThan");
	QUERY_IS("{\"inMailbox\":\"F1\"}", ASC, "", "", "no such mailbox: nothing");
	QUERY_IS("{\"inMailbox\":\"Fx\"}", ASC, "", "", "malformed mailbox id: nothing");
	QUERY_IS("{\"inMailbox\":7}", ASC, "", "invalidArguments", "mailbox id not a string");

	QUERY_IS("null", "[{\"property\":\"size\"}]", "", ids(3, 0, 1, 2), "sort by size");
	QUERY_IS("null", "[{\"property\":\"subject\"}]", "", ids(2, 0, 3, 1), "sort by subject");
	QUERY_IS("null",
	         "[{\"property\":\"from\",\"isAscending\":false},{\"property\":\"receivedAt\"}]",
	         "", ids(2, 1, 0, 3), "from descending, then date");
	QUERY_IS("null", "[{\"property\":\"sentAt\"}]", "", ids(0, 2, 1, 3),
	         "sentAt without a Date: field is receivedAt");

	QUERY_IS("null", "[{\"property\":\"hasKeyword\"}]", "", "unsupportedSort", "unknown sort");
	QUERY_IS("null", "[{\"property\":\"size\",\"collation\":\"i;klingon\"}]", "",
	         "unsupportedSort", "unknown collation");
	QUERY_IS("null", "{\"property\":\"size\"}", "", "invalidArguments", "sort not an array");
	QUERY_IS("{\"hasAttachment\":\"yes\"}", ASC, "", "invalidArguments",
	         "hasAttachment not a boolean");
	QUERY_IS("{\"hasAttachment\":null}", ASC, "", "invalidArguments", "hasAttachment null");
	QUERY_IS("{\"hasAttachment\":true}", ASC, "", "", "hasAttachment: none of these");
	QUERY_IS("{\"hasAttachment\":false}", ASC, "", ids(0, 2, 1, 3), "hasAttachment false");
	QUERY_IS("{\"colour\":\"red\"}", ASC, "", "unsupportedFilter", "unknown condition");
	QUERY_IS("\"x\"", ASC, "", "invalidArguments", "filter not an object");
	QUERY_IS("{\"operator\":\"XOR\",\"conditions\":[]}", ASC, "", "invalidArguments",
	         "unknown operator");
	QUERY_IS("{\"hasKeyword\":\"a(b\"}", ASC, "", "invalidArguments", "bad keyword");
	char deep[2048] = "";
	for (int i = 0; i < 20; i++)
		strcat(deep, "{\"operator\":\"NOT\",\"conditions\":[");
	strcat(deep, "{}");
	for (int i = 0; i < 20; i++)
		strcat(deep, "]}");
	QUERY_IS(deep, ASC, "", "unsupportedFilter", "nested too deeply");
	call("Email/query", jmap_email_query, "{\"accountId\":\"A0\"}");
	CHECK(is_error("accountNotFound"), "query: wrong account");

	char s0[STORE_EMAIL_STATE_MAX];
	snprintf(s0, sizeof s0, "%s", state_now());
	call("Email/queryChanges", jmap_email_query_changes,
	     "{\"accountId\":\"%s\",\"sinceQueryState\":\"%s\",\"calculateTotal\":true}", A(), s0);
	CHECK(ok("Email/queryChanges") &&
	          json_integer_value(json_object_get(result(), "total")) == 4 &&
	          json_array_size(json_object_get(result(), "added")) == 0,
	      "queryChanges, unchanged");
	call("Email/queryChanges", jmap_email_query_changes,
	     "{\"accountId\":\"%s\",\"sinceQueryState\":\"0.0.0\"}", A());
	CHECK(is_error("cannotCalculateChanges"), "queryChanges, changed");
	call("Email/queryChanges", jmap_email_query_changes, "{\"accountId\":\"%s\"}", A());
	CHECK(is_error("invalidArguments"), "queryChanges without a state");
	call("Email/queryChanges", jmap_email_query_changes,
	     "{\"accountId\":\"%s\",\"sinceQueryState\":\"%s\",\"sort\":[{\"property\":\"x\"}]}",
	     A(), s0);
	CHECK(is_error("unsupportedSort"), "queryChanges checks the sort");

	call("SearchSnippet/get", jmap_search_snippet_get,
	     "{\"accountId\":\"%s\",\"filter\":{\"operator\":\"AND\",\"conditions\":[{\"text\":"
	     "\"zebra\"},{\"operator\":\"NOT\",\"conditions\":[{\"body\":\"cat\"}]},"
	     "{\"subject\":\"invoice\"}]},\"emailIds\":[\"%s\",\"M424242\",\"%s\"]}",
	     A(), mid_s[2], mid_s[4]);
	CHECK(ok("SearchSnippet/get") && !strcmp(snippet_terms, "zebra|invoice|") &&
	          json_array_size(json_object_get(result(), "list")) == 1 &&
	          !strcmp(json_string_value(json_object_get(
	                      json_array_get(json_object_get(result(), "list"), 0), "emailId")),
	                  mid_s[2]),
	      "snippet terms (not under NOT), snippet of the found one: %s", snippet_terms);
	char nf[64];
	snprintf(nf, sizeof nf, "M424242 %s", mid_s[4]);
	CHECK(!strcmp(ids_of(json_object_get(result(), "notFound")), nf), "snippet notFound");
	call("SearchSnippet/get", jmap_search_snippet_get, "{\"accountId\":\"%s\"}", A());
	CHECK(is_error("invalidArguments"), "snippet: emailIds missing");
	call("SearchSnippet/get", jmap_search_snippet_get,
	     "{\"accountId\":\"%s\",\"emailIds\":[],\"filter\":{\"x\":1}}", A());
	CHECK(is_error("unsupportedFilter"), "snippet: bad filter");
}

static int set_quota(struct store_tx *tx, void *arg)
{
	return store_account_set_quota(tx, "u@example.test", *(int64_t *)arg);
}

static json_t *set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *set(const char *fmt, ...)
{
	static char body[70000];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(body, sizeof body, fmt, ap);
	va_end(ap);
	return call("Email/set", jmap_email_set, "{\"accountId\":\"%s\",%s}", A(), body);
}

static const json_t *set_part(const char *part, const char *id)
{
	return json_object_get(json_object_get(result(), part), id);
}

static uint32_t entry_flags(int64_t mailbox, int64_t message_id, char *kw, size_t kwcap)
{
	struct store_entry e;
	for (uint32_t uid = 1; uid < 100; uid++)
		if (store_entry_get(store_reader(st), mailbox, uid, &e, kw, kwcap) == 1 &&
		    e.message_id == message_id)
			return e.flags | 0x80000000u;
	return 0;
}

static void test_set(void)
{
	struct notify_sub *sub_inbox = notify_subscribe(inbox, on_event, NULL);
	struct notify_sub *sub_work = notify_subscribe(work, on_event, NULL);
	struct notify_sub *sub_archive = notify_subscribe(archive, on_event, NULL);
	char s0[STORE_EMAIL_STATE_MAX], kw[256];
	snprintf(s0, sizeof s0, "%s", state_now());
	QUERY_IS("{\"hasKeyword\":\"$flagged\"}", ASC, "", "", "nothing flagged yet (and kept)");
	QUERY_IS("{\"hasKeyword\":\"$flagged\"}", ASC, "", "", "again, from the result cache");

	/* keywords: the whole set */
	set("\"update\":{\"%s\":{\"keywords\":{\"$seen\":true,\"Project-X\":true}}}", mid_s[0]);
	CHECK(ok("Email/set") && json_is_null(set_part("updated", mid_s[0])) &&
	          !strcmp(json_string_value(json_object_get(result(), "oldState")), s0) &&
	          strcmp(json_string_value(json_object_get(result(), "newState")), s0) != 0,
	      "keywords set; the state moved");
	uint32_t fl = entry_flags(inbox, mids[0], kw, sizeof kw);
	CHECK((fl & STORE_FLAG_SEEN) && !strcmp(kw, "project-x"),
	      "store: \\Seen and project-x (%s)", kw);
	CHECK(events[NOTIFY_FLAGS] == 1, "IMAP sessions hear of the flags");
	const json_t *e = email_get_one(mid_s[0], "[\"keywords\"]");
	const json_t *k = json_object_get(e, "keywords");
	CHECK(json_object_size(k) == 2 && json_is_true(json_object_get(k, "$seen")) &&
	          json_is_true(json_object_get(k, "project-x")),
	      "get: keywords round trip, lowercased");

	/* keywords: a patch keeps the others */
	set("\"update\":{\"%s\":{\"keywords/$flagged\":true,\"keywords/$seen\":null}}", mid_s[0]);
	e = email_get_one(mid_s[0], "[\"keywords\"]");
	k = json_object_get(e, "keywords");
	CHECK(json_object_size(k) == 2 && json_is_true(json_object_get(k, "$flagged")) &&
	          json_is_true(json_object_get(k, "project-x")),
	      "patch: $flagged added, $seen removed, project-x kept");
	fl = entry_flags(inbox, mids[0], kw, sizeof kw);
	CHECK((fl & STORE_FLAG_FLAGGED) && !(fl & STORE_FLAG_SEEN), "store flags after the patch");
	char f[160];
	snprintf(f, sizeof f, "{\"hasKeyword\":\"$flagged\"}");
	QUERY_IS(f, ASC, "", ids(0, -1, -1, -1), "hasKeyword after the change");
	QUERY_IS("{\"notKeyword\":\"project-x\"}", ASC, "", ids(2, 1, 3, -1), "notKeyword");

	/* thread keyword conditions: M0 (flagged) and M1 are one thread */
	QUERY_IS("{\"someInThreadHaveKeyword\":\"$flagged\"}", ASC, "", ids(0, 1, -1, -1),
	         "someInThreadHaveKeyword");
	QUERY_IS("{\"allInThreadHaveKeyword\":\"$flagged\"}", ASC, "", "",
	         "allInThreadHaveKeyword: the reply is not flagged");
	QUERY_IS("{\"noneInThreadHaveKeyword\":\"$flagged\"}", ASC, "", ids(2, 3, -1, -1),
	         "noneInThreadHaveKeyword");
	snprintf(f, sizeof f, "{\"inMailbox\":\"F%u\",\"noneInThreadHaveKeyword\":\"$flagged\"}",
	         uv_inbox);
	QUERY_IS(f, ASC, "", ids(2, -1, -1, -1), "a thread condition with inMailbox");
	set("\"update\":{\"%s\":{\"keywords/$flagged\":true}}", mid_s[1]);
	QUERY_IS("{\"allInThreadHaveKeyword\":\"$flagged\"}", ASC, "", ids(0, 1, -1, -1),
	         "allInThreadHaveKeyword once the reply is flagged too");
	set("\"update\":{\"%s\":{\"keywords/$flagged\":null}}", mid_s[1]);
	QUERY_IS("{\"someInThreadHaveKeyword\":\"a(b\"}", ASC, "", "invalidArguments",
	         "a thread condition with a bad keyword");

	/* bad patches */
	set("\"update\":{\"%s\":{\"keywords/a(b\":true},\"%s\":{\"subject\":\"x\"},"
	    "\"M999999\":{\"keywords\":{}},\"%s\":{\"keywords\":{\"$seen\":false}},"
	    "\"%s\":{\"mailboxIds\":{}}}",
	    mid_s[0], mid_s[1], mid_s[2], mid_s[3]);
	CHECK(!strcmp(json_string_value(json_object_get(set_part("notUpdated", mid_s[0]), "type")),
	              "invalidProperties") &&
	          !strcmp(
	              json_string_value(json_object_get(set_part("notUpdated", mid_s[1]), "type")),
	              "invalidProperties") &&
	          !strcmp(
	              json_string_value(json_object_get(set_part("notUpdated", "M999999"), "type")),
	              "notFound") &&
	          set_part("notUpdated", mid_s[2]) && set_part("notUpdated", mid_s[3]) &&
	          json_object_size(json_object_get(result(), "updated")) == 0,
	      "bad keyword, read-only property, unknown id, false value, no mailbox");

	/* a move: copy into Work, expunge from INBOX */
	memset(events, 0, sizeof events);
	set("\"update\":{\"%s\":{\"mailboxIds\":{\"F%u\":true}}}", mid_s[2], uv_work);
	CHECK(json_is_null(set_part("updated", mid_s[2])), "moved");
	CHECK(entries_in(inbox) == 2 && entries_in(work) == 2, "store: INBOX 2, Work 2");
	CHECK(events[NOTIFY_EXISTS] == 1 && events[NOTIFY_EXPUNGE] == 1,
	      "IMAP sessions hear of the copy and the expunge");
	e = email_get_one(mid_s[2], "[\"mailboxIds\"]");
	char mb[32];
	snprintf(mb, sizeof mb, "F%u", uv_work);
	CHECK(json_object_size(json_object_get(e, "mailboxIds")) == 1 &&
	          json_is_true(json_object_get(json_object_get(e, "mailboxIds"), mb)),
	      "get: in Work only");

	/* a patch adds a mailbox: in two at once */
	set("\"update\":{\"%s\":{\"mailboxIds/F%u\":true,\"keywords/$seen\":true}}", mid_s[2],
	    uv_archive);
	e = email_get_one(mid_s[2], "[\"mailboxIds\",\"keywords\"]");
	CHECK(json_object_size(json_object_get(e, "mailboxIds")) == 2 &&
	          json_is_true(json_object_get(json_object_get(e, "keywords"), "$seen")),
	      "in Work and Archive, seen");
	CHECK(entry_flags(archive, mids[2], kw, sizeof kw) & STORE_FLAG_SEEN,
	      "the copy carries the new keyword");
	snprintf(f, sizeof f, "{\"inMailbox\":\"F%u\"}", uv_archive);
	QUERY_IS(f, ASC, "", ids(2, -1, -1, -1), "query sees it in Archive");
	QUERY_IS("{}", ASC, "", ids(0, 2, 1, 3), "an Email in two mailboxes is listed once");

	/* removing the last mailbox is refused; removing one of two is not */
	set("\"update\":{\"%s\":{\"mailboxIds/F%u\":null}}", mid_s[3], uv_work);
	CHECK(set_part("notUpdated", mid_s[3]) && entries_in(work) == 2,
	      "not out of every mailbox");
	set("\"update\":{\"%s\":{\"mailboxIds/F%u\":null}}", mid_s[2], uv_work);
	CHECK(json_is_null(set_part("updated", mid_s[2])) && entries_in(work) == 1 &&
	          entries_in(archive) == 1,
	      "out of Work, still in Archive");
	set("\"update\":{\"%s\":{\"mailboxIds\":{\"F1\":true}}}", mid_s[3]);
	CHECK(!strcmp(json_string_value(json_object_get(set_part("notUpdated", mid_s[3]), "type")),
	              "invalidProperties"),
	      "an unknown mailbox");

	/* a copy over the account's quota */
	int64_t quota = 1;
	CHECK(store_exec(st, set_quota, &quota) == 0, "quota of one byte");
	int in_archive = entries_in(archive);
	set("\"update\":{\"%s\":{\"mailboxIds/F%u\":true}}", mid_s[1], uv_archive);
	CHECK(!strcmp(json_string_value(json_object_get(set_part("notUpdated", mid_s[1]), "type")),
	              "overQuota") &&
	          entries_in(archive) == in_archive,
	      "overQuota, nothing copied");
	quota = 0;
	CHECK(store_exec(st, set_quota, &quota) == 0, "no quota");

	/* ifInState */
	set("\"ifInState\":\"stale\",\"destroy\":[\"%s\"]", mid_s[1]);
	CHECK(is_error("stateMismatch") && entries_in(inbox) == 2,
	      "ifInState mismatch: nothing done");

	/* destroy */
	memset(events, 0, sizeof events);
	set("\"ifInState\":\"%s\",\"destroy\":[\"%s\",\"M999999\",\"%s\"]", state_now(), mid_s[2],
	    mid_s[4]);
	CHECK(ok("Email/set") &&
	          !strcmp(ids_of(json_object_get(result(), "destroyed")), mid_s[2]) &&
	          set_part("notDestroyed", "M999999") && set_part("notDestroyed", mid_s[4]),
	      "destroyed; unknown and another account's not");
	CHECK(entries_in(archive) == 0 && events[NOTIFY_EXPUNGE] == 1, "gone from the store");
	email_get_one(mid_s[2], "[\"id\"]");
	CHECK(!strcmp(ids_of(json_object_get(result(), "notFound")), mid_s[2]), "get: notFound");

	/* a create without a mailbox (creates: test_jmap_submit.py); limits;
	 * bad arguments */
	set("\"create\":{\"k1\":{\"mailboxIds\":{}}}");
	CHECK(!strcmp(json_string_value(json_object_get(
	                  json_object_get(json_object_get(result(), "notCreated"), "k1"), "type")),
	              "invalidProperties"),
	      "create: invalidProperties");
	char many[2048] = "";
	for (int i = 0; i < 21; i++)
		snprintf(many + strlen(many), sizeof many - strlen(many), "%s\"M%d\"", i ? "," : "",
		         i + 1);
	set("\"destroy\":[%s]", many);
	CHECK(is_error("requestTooLarge"), "over maxObjectsInSet");
	set("\"destroy\":{}");
	CHECK(is_error("invalidArguments"), "destroy not an array");
	set("\"destroy\":[1]");
	CHECK(is_error("invalidArguments"), "destroy of a number");
	set("\"update\":{\"%s\":[]}", mid_s[0]);
	CHECK(!strcmp(json_string_value(json_object_get(set_part("notUpdated", mid_s[0]), "type")),
	              "invalidPatch"),
	      "a patch that is not an object");
	set("\"update\":{\"%s\":{\"keywords\":{},\"keywords/$seen\":true}}", mid_s[0]);
	CHECK(!strcmp(json_string_value(json_object_get(set_part("notUpdated", mid_s[0]), "type")),
	              "invalidPatch"),
	      "keywords whole and patched in one patch");
	set("\"destroy\":[\"%s\",\"%s\"]", mid_s[3], mid_s[3]);
	CHECK(!strcmp(ids_of(json_object_get(result(), "destroyed")), mid_s[3]) &&
	          !has_key(result(), "notDestroyed") && entries_in(work) == 0,
	      "an id destroyed twice in one call is answered once");
	set("\"update\":{\"%s\":{}}", mid_s[0]);
	CHECK(json_is_null(set_part("updated", mid_s[0])), "an empty patch");
	call("Email/set", jmap_email_set, "{\"accountId\":\"A999999\"}");
	CHECK(is_error("accountNotFound"), "set: wrong account");

	/* mail not indexed yet is indexed before a text condition is
	 * answered (the writer's idle work has not run: no quiet second) */
	static struct delivery fresh = {
	    "From: Eve <eve@example.org>\r\nSubject: Freshly arrived walrus\r\n\r\nhi\r\n",
	    0,
	    0,
	    T0 + 300,
	    "w1@x",
	    NULL,
	    0};
	fresh.account = account;
	fresh.mailbox = work;
	CHECK(store_exec(st, deliver, &fresh) >= 0, "deliver a fresh one");
	mids[5] = fresh.message_id;
	snprintf(mid_s[5], sizeof mid_s[5], "M%" PRId64, mids[5]);
	CHECK(store_index_missing_in(store_reader(st), work, 0, UINT32_MAX) == 1,
	      "it is not indexed yet");
	QUERY_IS("{\"text\":\"walrus\"}", ASC, "", ids(5, -1, -1, -1),
	         "a text query indexes it first");
	CHECK(store_index_missing_in(store_reader(st), work, 0, UINT32_MAX) == 0, "now indexed");

	/* queryChanges from a kept result: a new message, then a destroy */
	snprintf(f, sizeof f, "{\"inMailbox\":\"F%u\"}", uv_work);
	QUERY_IS(f, DESC, "", ids(5, -1, -1, -1), "Work before");
	char qs[STORE_EMAIL_STATE_MAX];
	snprintf(qs, sizeof qs, "%s", json_string_value(json_object_get(result(), "queryState")));
	static struct delivery fresh2 = {
	    "From: Eve <eve@example.org>\r\nSubject: more\r\n\r\nx\r\n",
	    0,
	    0,
	    T0 + 400,
	    "w2@x",
	    NULL,
	    0};
	fresh2.account = account;
	fresh2.mailbox = work;
	CHECK(store_exec(st, deliver, &fresh2) >= 0, "deliver another");
	mids[6] = fresh2.message_id;
	snprintf(mid_s[6], sizeof mid_s[6], "M%" PRId64, mids[6]);
	call("Email/queryChanges", jmap_email_query_changes,
	     "{\"accountId\":\"%s\",\"filter\":%s,\"sort\":%s,\"sinceQueryState\":\"%s\","
	     "\"calculateTotal\":true}",
	     A(), f, DESC, qs);
	const json_t *added = json_object_get(result(), "added");
	CHECK(ok("Email/queryChanges") &&
	          json_array_size(json_object_get(result(), "removed")) == 0 &&
	          json_array_size(added) == 1 &&
	          !strcmp(json_string_value(json_object_get(json_array_get(added, 0), "id")),
	                  mid_s[6]) &&
	          json_integer_value(json_object_get(json_array_get(added, 0), "index")) == 0 &&
	          json_integer_value(json_object_get(result(), "total")) == 2 &&
	          !strcmp(json_string_value(json_object_get(result(), "oldQueryState")), qs),
	      "queryChanges: the new one added at the top");
	set("\"destroy\":[\"%s\"]", mid_s[5]);
	call("Email/queryChanges", jmap_email_query_changes,
	     "{\"accountId\":\"%s\",\"filter\":%s,\"sort\":%s,\"sinceQueryState\":\"%s\"}", A(), f,
	     DESC, qs);
	CHECK(!strcmp(ids_of(json_object_get(result(), "removed")), mid_s[5]) &&
	          json_array_size(json_object_get(result(), "added")) == 1,
	      "queryChanges: one removed, one added");
	call("Email/queryChanges", jmap_email_query_changes,
	     "{\"accountId\":\"%s\",\"filter\":%s,\"sort\":%s,\"sinceQueryState\":\"%s\","
	     "\"maxChanges\":1}",
	     A(), f, DESC, qs);
	CHECK(is_error("tooManyChanges"), "maxChanges");
	call("Email/queryChanges", jmap_email_query_changes,
	     "{\"accountId\":\"%s\",\"filter\":%s,\"sort\":%s,\"sinceQueryState\":\"%s\"}", A(), f,
	     ASC, qs);
	CHECK(is_error("cannotCalculateChanges"), "another sort: no kept result");

	notify_unsubscribe(sub_inbox);
	notify_unsubscribe(sub_work);
	notify_unsubscribe(sub_archive);
}

/* ---- a kept result brought up to date (email_query.c's advance) ---- */

static int make_inc(struct store_tx *tx, void *arg)
{
	return store_mailbox_create(tx, account, "Inc", "", (int64_t *)arg);
}

static int64_t deliver_to(int64_t mailbox, int i, int64_t date)
{
	char msg[256];
	/* sizes differ with i; dates repeat, so ties are broken by id */
	snprintf(msg, sizeof msg, "From: inc@example.org\r\nSubject: inc %d\r\n\r\n%.*s\r\n", i,
	         i % 13, "xxxxxxxxxxxxxxxxxxxxxxxxxx");
	struct delivery d = {.data = msg, .account = account, .mailbox = mailbox, .date = date};
	CHECK(store_exec(st, deliver, &d) == 0, "deliver %d", i);
	return d.message_id;
}

static void test_query_incremental(void)
{
	int64_t mb;
	CHECK(store_exec(st, make_inc, &mb) == 0, "Inc");
	struct store_mailbox m;
	store_mailbox_get(store_reader(st), mb, &m);
	for (int i = 0; i < 30; i++)
		deliver_to(mb, i, T0 + (i % 7) * 100);
	char in[64], and[256];
	snprintf(in, sizeof in, "{\"inMailbox\":\"F%u\"}", m.uidvalidity);
	snprintf(and, sizeof and,
	         "{\"operator\":\"AND\",\"conditions\":[{\"inMailbox\":\"F%u\"},"
	         "{\"after\":\"2023-11-14T22:15:00Z\"},{\"maxSize\":%d}]}",
	         m.uidvalidity, 60);
	const char *size_desc = "[{\"property\":\"size\",\"isAscending\":false}]";
	struct {
		const char *f, *s;
	} qs[] = {{in, DESC}, {in, ASC}, {in, size_desc}, {in, "[]"}, {and, DESC}, {and, ASC}};
	size_t nq = sizeof qs / sizeof qs[0];
	CHECK(nq == 6, "six queries");
	/* three queries a round, so that the cache's slots hold them all */
	for (int round = 0; round < 4; round++) {
		size_t q3[3] = {(size_t)round * 3 % nq, ((size_t)round * 3 + 1) % nq,
		                ((size_t)round * 3 + 2) % nq};
		jmap_query_cache_clear();
		for (size_t k = 0; k < 3; k++)
			query(qs[q3[k]].f, qs[q3[k]].s, ""); /* kept in this state */
		/* new mail, some with the dates of old ones; mail elsewhere; a
		 * flag change; two messages gone (destroyed, moved out) */
		for (int i = 0; i < 4; i++)
			deliver_to(mb, 100 + round * 10 + i, T0 + ((i + round) % 7) * 100);
		deliver_to(inbox, 200 + round, T0);
		query(in, DESC, "");
		const json_t *list = json_object_get(result(), "ids");
		const char *a = json_string_value(json_array_get(list, 3));
		const char *b = json_string_value(json_array_get(list, 5));
		const char *c = json_string_value(json_array_get(list, 7));
		set("\"update\":{\"%s\":{\"keywords/$seen\":true},\"%s\":{\"mailboxIds\":"
		    "{\"F%u\":true}}},\"destroy\":[\"%s\"]",
		    a, b, uv_work, c);
		CHECK(json_object_size(json_object_get(result(), "updated")) == 2 &&
		          json_array_size(json_object_get(result(), "destroyed")) == 1,
		      "round %d: changed", round);
		/* each as brought up to date from its kept result, then afresh */
		static char kept[3][4096];
		uint64_t advanced = jmap_query_advanced;
		for (size_t k = 0; k < 3; k++)
			snprintf(kept[k], sizeof kept[k], "%s",
			         query(qs[q3[k]].f, qs[q3[k]].s, ""));
		CHECK(jmap_query_advanced - advanced == 3,
		      "round %d: %" PRIu64 " of 3 brought up to date", round,
		      jmap_query_advanced - advanced);
		jmap_query_cache_clear();
		for (size_t k = 0; k < 3; k++) {
			const char *fresh = query(qs[q3[k]].f, qs[q3[k]].s, "");
			CHECK(!strcmp(kept[k], fresh) && *fresh,
			      "round %d query %zu: kept and updated \"%s\", afresh \"%s\"", round,
			      k, kept[k], fresh);
		}
	}
	/* Sorted by receivedAt alone over a mailbox and dates, a query walks
	 * the store's arrival-order index (run_dates); a size condition that
	 * holds for all (minSize 0) makes it read and sort the rows (run):
	 * both give one order, ties (repeated dates) by id alike. */
	char range[256], range_sized[320], in_sized[192];
	snprintf(range, sizeof range,
	         "{\"operator\":\"AND\",\"conditions\":[{\"inMailbox\":\"F%u\"},"
	         "{\"after\":\"2023-11-14T22:15:00Z\"},{\"before\":\"2023-11-14T22:21:40Z\"}]}",
	         m.uidvalidity);
	snprintf(range_sized, sizeof range_sized,
	         "{\"operator\":\"AND\",\"conditions\":[%s,{\"minSize\":0}]}", range);
	snprintf(in_sized, sizeof in_sized,
	         "{\"operator\":\"AND\",\"conditions\":[%s,{\"minSize\":0}]}", in);
	const char *pairs[][2] = {{in, in_sized}, {range, range_sized}};
	for (size_t p = 0; p < 2; p++)
		for (int asc = 0; asc < 2; asc++) {
			static char by_date[4096];
			jmap_query_cache_clear();
			uint64_t walked = jmap_query_by_date;
			snprintf(by_date, sizeof by_date, "%s",
			         query(pairs[p][0], asc ? ASC : DESC, ""));
			CHECK(jmap_query_by_date == walked + 1, "query %zu %s: by the date index",
			      p, asc ? "asc" : "desc");
			const char *sorted = query(pairs[p][1], asc ? ASC : DESC, "");
			CHECK(jmap_query_by_date == walked + 1, "minSize: read and sorted");
			CHECK(*by_date && !strcmp(by_date, sorted),
			      "query %zu %s: by date \"%s\", sorted \"%s\"", p,
			      asc ? "asc" : "desc", by_date, sorted);
			CHECK(p == 0 || strlen(by_date) < strlen(query(in, ASC, "")),
			      "the range leaves some out");
		}
	/* what cannot be brought up to date is worked out afresh */
	uint64_t advanced = jmap_query_advanced;
	jmap_query_cache_clear();
	const char *coll = ",\"collapseThreads\":true";
	query(in, DESC, coll);
	deliver_to(mb, 300, T0);
	query(in, DESC, coll);
	CHECK(jmap_query_advanced == advanced, "collapseThreads: afresh");
}

/* A mailbox of n messages: Email/query sorted by date, limit 50, then
 * Email/get of those 50 (metadata and content through the fake). */
static int bulk(struct store_tx *tx, void *arg)
{
	int64_t n = *(int64_t *)arg, mb;
	int r = store_mailbox_create(tx, account, "Bulk", "", &mb);
	if (r < 0)
		return r;
	char msg[256];
	for (int64_t i = 0; i < n; i++) {
		snprintf(msg, sizeof msg,
		         "From: s%" PRId64 "@example.org\r\nSubject: bulk %" PRId64
		         "\r\n\r\nbody %" PRId64 "\r\n",
		         i % 97, i, i);
		struct store_local_rcpt rc = {.account_id = account, .mailbox_id = mb};
		/* dates not in UID order, so the sort has work to do */
		struct store_delivery d = {.data = msg,
		                           .len = strlen(msg),
		                           .mail_from = "",
		                           .internal_date = T0 + (i * 7919) % n,
		                           .local = &rc,
		                           .nlocal = 1};
		if ((r = store_deliver(tx, &d)) < 0)
			return r;
	}
	return 0;
}

/* CPU time of this thread: the machine the tests run on is shared, and
 * wall time there mostly measures the neighbours (the wall time is
 * printed too). */
static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void bench(int64_t n)
{
	printf("bench: filling a mailbox with %" PRId64 " messages\n", n);
	CHECK(store_exec(st, bulk, &n) == 0, "bulk fill");
	int64_t mb;
	store_mailbox_find(store_reader(st), account, "Bulk", &mb);
	struct store_mailbox m;
	store_mailbox_get(store_reader(st), mb, &m);
	char f[64], get[8192];
	snprintf(f, sizeof f, "{\"inMailbox\":\"F%u\"}", m.uidvalidity);
	double cold = 1e9, warm = 1e9, best_g = 1e9, cold_wall = 1e9;
	for (int round = 0; round < 10; round++) {
		/* even rounds start from an empty result cache */
		if (round % 2 == 0)
			jmap_query_cache_clear();
		double w0 = wall_ms(), t0 = now_ms();
		query(f, DESC, ",\"limit\":50");
		double t1 = now_ms(), w1 = wall_ms();
		if (round % 2 == 0 && w1 - w0 < cold_wall)
			cold_wall = w1 - w0;
		char *list = json_dumps(json_object_get(result(), "ids"), 0);
		snprintf(get, sizeof get, "{\"accountId\":\"%s\",\"ids\":%s}", A(), list);
		free(list);
		CHECK(json_array_size(json_object_get(result(), "ids")) == 50, "50 ids");
		double t2 = now_ms();
		call("Email/get", jmap_email_get, "%s", get);
		double t3 = now_ms();
		CHECK(json_array_size(json_object_get(result(), "list")) == 50, "50 emails");
		double *q = round % 2 == 0 ? &cold : &warm;
		if (t1 - t0 < *q)
			*q = t1 - t0;
		if (t3 - t2 < best_g)
			best_g = t3 - t2;
	}
	/* new mail between two queries: the kept result brought up to date */
	double inc = 1e9;
	for (int round = 0; round < 5; round++) {
		int64_t newest = deliver_to(mb, 1000 + round, T0 + n + round);
		uint64_t advanced = jmap_query_advanced;
		double t0 = now_ms();
		query(f, DESC, ",\"limit\":50");
		double t1 = now_ms();
		CHECK(jmap_query_advanced == advanced + 1, "brought up to date");
		char want[24];
		snprintf(want, sizeof want, "M%" PRId64, newest);
		const char *first =
		    json_string_value(json_array_get(json_object_get(result(), "ids"), 0));
		CHECK(first && !strcmp(first, want), "the new message first: %s, want %s", first,
		      want);
		if (t1 - t0 < inc)
			inc = t1 - t0;
	}
	printf("bench: Email/query after one new message: %.2f ms CPU (the kept result brought "
	       "up to date)\n",
	       inc);
	/* Thread/get of the 50 threads of the first page */
	call("Email/get", jmap_email_get, "%s", get);
	char tget[8192];
	json_t *tids = json_array();
	size_t ti;
	json_t *te;
	json_array_foreach(json_object_get(result(), "list"), ti, te)
	    json_array_append(tids, json_object_get(te, "threadId"));
	char *tl = json_dumps(tids, 0);
	snprintf(tget, sizeof tget, "{\"accountId\":\"%s\",\"ids\":%s}", A(), tl);
	free(tl);
	json_decref(tids);
	double t4 = now_ms();
	call("Thread/get", jmap_thread_get, "%s", tget);
	double t5 = now_ms();
	CHECK(json_array_size(json_object_get(result(), "list")) == 50, "50 threads");
	printf("bench: Thread/get of 50 threads: %.1f ms CPU\n", t5 - t4);

	/* Email/set of 1000 flag changes: one job, one commit */
	query(f, DESC, ",\"limit\":1000");
	static char upd[65536];
	size_t ul = 0;
	json_t *qids = json_object_get(result(), "ids");
	json_array_foreach(qids, ti, te) ul +=
	    (size_t)snprintf(upd + ul, sizeof upd - ul, "%s\"%s\":{\"keywords/$seen\":true}",
	                     ti ? "," : "", json_string_value(te));
	limits.max_objects_in_set = 1000;
	struct store_stats before, after;
	store_get_stats(st, &before);
	double w6 = wall_ms(), t6 = now_ms();
	set("\"update\":{%s}", upd);
	double t7 = now_ms(), w7 = wall_ms();
	store_get_stats(st, &after);
	CHECK(json_object_size(json_object_get(result(), "updated")) == 1000, "1000 updated");
	CHECK(after.jobs - before.jobs == 1, "one store job");
	/* again, now that the fill's aftermath (checkpoint, sync) is over */
	for (char *p = strstr(upd, "$seen"); p; p = strstr(p, "$seen"))
		memcpy(p, "$junk", 5);
	w6 = wall_ms();
	t6 = now_ms();
	set("\"update\":{%s}", upd);
	t7 = now_ms();
	w7 = wall_ms();
	CHECK(json_object_size(json_object_get(result(), "updated")) == 1000, "1000 updated again");
	printf("bench: Email/set of 1000 flag changes: %.1f ms CPU on the loop, %.1f ms wall "
	       "(the writer's share included), %" PRIu64 " commits\n",
	       t7 - t6, w7 - w6,
	       after.commits - before.commits + after.lazy_commits - before.lazy_commits);
	printf("bench: %" PRId64 " messages, sorted by date, limit 50 (best of 5 each, CPU "
	       "time): Email/query %.1f ms cold (%.1f ms wall), %.2f ms from the result cache; "
	       "Email/get of the 50 %.1f ms\n",
	       n, cold, cold_wall, warm, best_g);
}

/* ---- hasAttachment ---- */

static int64_t att_box;
static int att_setup(struct store_tx *tx, void *arg)
{
	(void)arg;
	return store_mailbox_create(tx, account, "Att", "", &att_box);
}

/* The indexer under another version: what raising IMAP_INDEX_VERSION
 * does to a store (its rows dropped now, made again in idle time). */
static int index_other(const char *data, size_t len, struct store_index_data *out)
{
	return imap_index_compute(data, len, true, out);
}

/* Email/query's hasAttachment over a mailbox of a plain message, one
 * with a PDF and one whose only other part is an image its HTML shows
 * (cid:): with the index, without it (a parse per message) and after an
 * indexer version change, alone and with AND/OR/NOT; and queryChanges
 * over it. */
static void test_query_attachment(void)
{
	static struct delivery d[] = {
	    {"From: a@example.org\r\nSubject: plain\r\n\r\nno attachment\r\n", 0, 0, 0, NULL, NULL,
	     0},
	    {"From: a@example.org\r\nSubject: report\r\n"
	     "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nsee attached\r\n--b\r\n"
	     "Content-Type: application/pdf; name=r.pdf\r\n"
	     "Content-Disposition: attachment; filename=r.pdf\r\n\r\n%PDF-1.4\r\n--b--\r\n",
	     0, 0, 0, NULL, NULL, 0},
	    {"From: a@example.org\r\nSubject: logo\r\n"
	     "Content-Type: multipart/related; boundary=r\r\n\r\n--r\r\n"
	     "Content-Type: text/html\r\n\r\n<img src=\"cid:l@x\">\r\n--r\r\n"
	     "Content-Type: image/png\r\nContent-ID: <l@x>\r\n\r\nPNG\r\n--r--\r\n",
	     0, 0, 0, NULL, NULL, 0},
	};
	CHECK(store_exec(st, att_setup, NULL) == 0, "Att mailbox");
	struct store_mailbox mb;
	CHECK(store_mailbox_get(store_reader(st), att_box, &mb) == 1, "Att");
	char att_id[3][24];
	for (int i = 0; i < 3; i++) {
		d[i].account = account;
		d[i].mailbox = att_box;
		d[i].date = T0 + 1000 + i;
		CHECK(store_exec(st, deliver, &d[i]) >= 0, "deliver %d", i);
		snprintf(att_id[i], sizeof att_id[i], "M%" PRId64, d[i].message_id);
	}
	char with[32], without[64];
	snprintf(with, sizeof with, "%s", att_id[1]);
	snprintf(without, sizeof without, "%s %s", att_id[0], att_id[2]);
	char f[512];
	for (int round = 0; round < 3; round++) {
		const char *how = round == 0 ? "not indexed" : round == 1 ? "indexed" : "re-index";
		if (round == 0)
			CHECK(store_index_missing_in(store_reader(st), att_box, 0, UINT32_MAX) == 1,
			      "%s: the messages have no index row yet", how);
		if (round == 1)
			CHECK(store_exec(st, index_all, NULL) >= 0 &&
			          store_index_missing_in(store_reader(st), att_box, 0,
			                                 UINT32_MAX) == 0,
			      "%s: indexed", how);
		if (round == 2) {
			CHECK(store_set_indexer(st, index_other, IMAP_INDEX_VERSION + 1) == 0 &&
			          store_index_missing_in(store_reader(st), att_box, 0,
			                                 UINT32_MAX) == 1,
			      "%s: a new indexer version drops the rows", how);
			/* and some of them made again, by the new version */
			index_cursor = 0;
			struct store_index_req req = {.mailbox_id = att_box, .limit = 1};
			CHECK(store_exec(st, store_index_missing_job, &req) >= 0 && req.done == 1,
			      "%s: one indexed again", how);
		}
		/* the kept results would answer from before: each round reads */
		jmap_query_cache_clear();
		snprintf(f, sizeof f, "{\"inMailbox\":\"F%u\",\"hasAttachment\":true}",
		         mb.uidvalidity);
		const char *got = query(f, ASC, "");
		CHECK(!strcmp(got, with), "%s: true: %s", how, got);
		snprintf(f, sizeof f, "{\"inMailbox\":\"F%u\",\"hasAttachment\":false}",
		         mb.uidvalidity);
		got = query(f, ASC, "");
		CHECK(!strcmp(got, without), "%s: false: %s", how, got);
		snprintf(f, sizeof f,
		         "{\"operator\":\"AND\",\"conditions\":[{\"inMailbox\":\"F%u\"},"
		         "{\"operator\":\"NOT\",\"conditions\":[{\"hasAttachment\":true}]}]}",
		         mb.uidvalidity);
		got = query(f, ASC, "");
		CHECK(!strcmp(got, without), "%s: NOT true: %s", how, got);
		snprintf(f, sizeof f,
		         "{\"operator\":\"AND\",\"conditions\":[{\"inMailbox\":\"F%u\"},"
		         "{\"operator\":\"OR\",\"conditions\":[{\"hasAttachment\":true},"
		         "{\"subject\":\"plain\"}]}]}",
		         mb.uidvalidity);
		got = query(f, ASC, "");
		snprintf(without, sizeof without, "%s %s", att_id[0], att_id[1]);
		CHECK(!strcmp(got, without), "%s: OR with a text condition: %s", how, got);
		snprintf(without, sizeof without, "%s %s", att_id[0], att_id[2]);
		/* across every mailbox: only the one with a PDF of the account */
		got = query("{\"hasAttachment\":true}", ASC, "");
		CHECK(!strcmp(got, with), "%s: every mailbox: %s", how, got);
		snprintf(f, sizeof f,
		         "{\"operator\":\"OR\",\"conditions\":[{\"hasAttachment\":true},"
		         "{\"hasAttachment\":false}]}");
		call("Email/query", jmap_email_query,
		     "{\"accountId\":\"%s\",\"filter\":%s,\"calculateTotal\":true}", A(), f);
		CHECK(ok("Email/query") && json_integer_value(json_object_get(result(), "total")) ==
		                               (json_int_t)entries_in(inbox) + entries_in(work) +
		                                   entries_in(archive) + 3,
		      "%s: true OR false is every Email", how);
	}
	CHECK(store_set_indexer(st, index_other, IMAP_INDEX_VERSION) == 0, "indexer back");

	/* queryChanges: a new message with an attachment is added to the
	 * kept result of hasAttachment true */
	snprintf(f, sizeof f, "{\"inMailbox\":\"F%u\",\"hasAttachment\":true}", mb.uidvalidity);
	query(f, ASC, "");
	char since[STORE_EMAIL_STATE_MAX];
	snprintf(since, sizeof since, "%s",
	         json_string_value(json_object_get(result(), "queryState")));
	CHECK(json_is_true(json_object_get(result(), "canCalculateChanges")),
	      "a hasAttachment query is kept");
	struct delivery more = {d[1].data, account, att_box, T0 + 2000, NULL, NULL, 0};
	CHECK(store_exec(st, deliver, &more) >= 0, "deliver another");
	call("Email/queryChanges", jmap_email_query_changes,
	     "{\"accountId\":\"%s\",\"filter\":%s,\"sort\":%s,\"sinceQueryState\":\"%s\"}", A(), f,
	     ASC, since);
	char want[32];
	snprintf(want, sizeof want, "M%" PRId64, more.message_id);
	CHECK(ok("Email/queryChanges") &&
	          !strcmp(ids_of(json_object_get(result(), "added")), want) &&
	          json_array_size(json_object_get(result(), "removed")) == 0,
	      "queryChanges adds the new one");
}

int main(void)
{
	char dir[] = "/tmp/tern-jmapemail-XXXXXX", err[256];
	loop = uv_default_loop();
	if (!mkdtemp(dir) || store_open(&st, dir, loop, err, sizeof err) < 0) {
		printf("store_open: %s\n", err);
		return 1;
	}
	/* The timing runs alone, without the indexer: the writer's idle
	 * indexing of the bulk mail would be timed with it. */
	const char *bn = getenv("TERN_JMAP_BENCH_N");
	bool timing = bn && atoll(bn) > 0;
	if (!timing)
		imap_index_register(st);
	CHECK(store_exec(st, setup, NULL) == 0, "setup");
	the_acct = (struct jmap_account){
	    .store = st, .account_id = account, .username = "u@example.test", .limits = &limits};
	if (timing) {
		bench(atoll(bn));
	} else {
		test_query_diff();
		fill();
		test_store_reads();
		test_get();
		test_thread();
		test_query();
		test_set();
		test_query_attachment();
		test_query_incremental(); /* last: it adds a mailbox and mail */
	}
	json_decref(answer);
	answer = NULL;
	jmap_query_cache_clear();
	notify_reset();
	store_close(&st);
	uv_run(loop, UV_RUN_NOWAIT);
	check_remove_dir(dir);
	return check_report("test_jmap_email");
}
