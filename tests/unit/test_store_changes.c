/* test_store_changes: store/changes.c, the messages and threads touched
 * since a set of mailbox marks (JMAP Email/changes and Thread/changes),
 * against a real store changed by the same jobs IMAP and SMTP use:
 * delivery, flags, COPY, MOVE, EXPUNGE, mailbox delete and rename. Each
 * case takes the marks, makes one change, and checks the messages named
 * and how (created: exists only now, updated: both, destroyed: existed
 * only then). */
#include "store/accounts.h"
#include "store/changes.h"
#include "store/emails.h"
#include "store/entries.h"
#include "store/mail.h"
#include "store/mailboxes.h"
#include "store/store.h"
#include "store/store_int.h" /* a test job's own SQL */
#include "store/threads.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "check.h"

static struct store *st;
static int64_t account, other_account, inbox, work, other_inbox;

static int setup(struct store_tx *tx, void *arg)
{
	(void)arg;
	int r = store_domain_add(tx, "example.test");
	if (r < 0 || (r = store_account_add(tx, "u@example.test", "", &account)) < 0 ||
	    (r = store_account_add(tx, "v@example.test", "", &other_account)) < 0)
		return r;
	if (store_mailbox_find(store_tx_reader(tx), account, "INBOX", &inbox) <= 0 &&
	    store_mailbox_create(tx, account, "INBOX", "", &inbox) < 0)
		return -EIO;
	if (store_mailbox_find(store_tx_reader(tx), other_account, "INBOX", &other_inbox) <= 0 &&
	    store_mailbox_create(tx, other_account, "INBOX", "", &other_inbox) < 0)
		return -EIO;
	return store_mailbox_create(tx, account, "Work", "", &work) < 0 ? -EIO : 0;
}

struct delivery {
	int64_t account, mailbox;
	const char *msgid, *parent;
	int64_t message_id; /* result */
};

static int deliver(struct store_tx *tx, void *arg)
{
	struct delivery *d = arg;
	char data[256];
	snprintf(data, sizeof data,
	         "From: a@example.test\r\nSubject: %s\r\nMessage-ID: <%s>\r\n\r\nbody\r\n",
	         d->msgid, d->msgid);
	struct store_local_rcpt r = {.account_id = d->account, .mailbox_id = d->mailbox};
	const char *parents[1] = {d->parent};
	struct store_thread_keys keys = {d->msgid, parents, d->parent ? 1 : 0};
	struct store_delivery sd = {.data = data,
	                            .len = strlen(data),
	                            .mail_from = "",
	                            .internal_date = 1700000000,
	                            .local = &r,
	                            .nlocal = 1,
	                            .thread = &keys};
	int rc = store_deliver(tx, &sd);
	d->message_id = sd.message_id;
	return rc;
}

static int64_t put(int64_t mailbox, const char *msgid, const char *parent)
{
	struct delivery d = {
	    .account = account, .mailbox = mailbox, .msgid = msgid, .parent = parent};
	CHECK(store_exec(st, deliver, &d) == 0, "deliver %s", msgid);
	return d.message_id;
}

/* The UID of message_id in mailbox (0: none). */
static uint32_t uid_of(int64_t mailbox, int64_t message_id)
{
	sqlite3 *db = store_reader(st)->db;
	sqlite3_stmt *q;
	uint32_t uid = 0;
	if (sqlite3_prepare_v2(db,
	                       "SELECT uid FROM mailbox_entries WHERE mailbox_id = ?1 "
	                       "AND message_id = ?2",
	                       -1, &q, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_int64(q, 1, mailbox);
	sqlite3_bind_int64(q, 2, message_id);
	if (sqlite3_step(q) == SQLITE_ROW)
		uid = (uint32_t)sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return uid;
}

struct expunge_arg {
	int64_t mailbox;
	uint32_t uid;
};

static int expunge(struct store_tx *tx, void *arg)
{
	struct expunge_arg *a = arg;
	int r = store_entries_expunge(tx, a->mailbox, &a->uid, 1);
	return r == 1 ? 0 : r < 0 ? r : -ENOENT;
}

static void expunge_msg(int64_t mailbox, int64_t message_id)
{
	struct expunge_arg a = {mailbox, uid_of(mailbox, message_id)};
	CHECK(a.uid && store_exec(st, expunge, &a) == 0, "expunge %lld", (long long)message_id);
}

static int flag(struct store_tx *tx, void *arg)
{
	struct expunge_arg *a = arg;
	int r = store_entries_update_flags(tx, a->mailbox, a->uid, STORE_FLAG_SEEN, 0, NULL, NULL);
	return r < 0 ? r : 0;
}

static void copy_msg(int64_t from, int64_t to, int64_t message_id, bool move)
{
	uint32_t uid = uid_of(from, message_id), new_uid = 0;
	int64_t new_modseq = 0;
	struct store_copy_req q = {.account_id = account,
	                           .src_mailbox_id = from,
	                           .dst_mailbox_id = to,
	                           .uids = &uid,
	                           .n = 1,
	                           .move = move,
	                           .new_uids = &new_uid,
	                           .new_modseqs = &new_modseq};
	CHECK(uid && store_exec(st, store_copy_job, &q) == 1 && new_uid, "copy %lld",
	      (long long)message_id);
}

static int run_sql(struct store_tx *tx, void *arg)
{
	return sqlite3_exec(tx->rd.db, arg, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

/* ---- the marks and what changed since ---- */

static struct store_mailbox_mark *marks;
static size_t nmarks;

static void mark(void)
{
	free(marks);
	CHECK(store_mailbox_marks(store_reader(st), account, &marks, &nmarks) == 0, "marks");
}

/* The changes since the marks as "c<id> u<id> d<id>" (ascending ids), or
 * "error <errno>". */
static const char *changes(bool threads)
{
	static char out[512];
	struct store_change *v;
	size_t n;
	struct store_rd *rd = store_reader(st);
	bool begun = store_read_begin(rd);
	int r = threads ? store_thread_changes(rd, account, marks, nmarks, &v, &n)
	                : store_email_changes(rd, account, marks, nmarks, &v, &n);
	store_read_end(rd, begun);
	if (r < 0) {
		snprintf(out, sizeof out, "error %d", -r);
		return out;
	}
	size_t len = 0;
	out[0] = 0;
	for (size_t i = 0; i < n && len < sizeof out - 40; i++)
		len += (size_t)snprintf(out + len, sizeof out - len, "%s%c%lld", len ? " " : "",
		                        v[i].existed && v[i].exists ? 'u'
		                        : v[i].exists               ? 'c'
		                                                    : 'd',
		                        (long long)v[i].id);
	free(v);
	return out;
}

static const char *expect(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *expect(const char *fmt, ...)
{
	static char out[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out, sizeof out, fmt, ap);
	va_end(ap);
	return out;
}

#define SAME(got, want)                                                                            \
	do {                                                                                       \
		const char *g_ = (got);                                                            \
		char w_[512];                                                                      \
		snprintf(w_, sizeof w_, "%s", (want));                                             \
		CHECK(strcmp(g_, w_) == 0, "got \"%s\", want \"%s\"", g_, w_);                     \
	} while (0)

static void test_state_string(void)
{
	mark();
	char a[STORE_EMAIL_STATE_MAX], b[STORE_EMAIL_STATE_MAX];
	CHECK_THAT(store_email_state(store_reader(st), account, a, sizeof a) == 0);
	CHECK_THAT(store_marks_state(marks, nmarks, b, sizeof b) == 0);
	CHECK(strcmp(a, b) == 0, "state %s, marks say %s", a, b);
	CHECK_THAT(store_marks_state(marks, nmarks, b, 4) == -ENOSPC);
}

static void test_emails(void)
{
	int64_t a = put(inbox, "a@x", NULL), b = put(inbox, "b@x", NULL),
	        c = put(work, "c@x", NULL);

	mark();
	SAME(changes(false), "");

	mark(); /* a new message */
	int64_t d = put(inbox, "d@x", NULL);
	SAME(changes(false), expect("c%lld", (long long)d));

	mark(); /* a flag change */
	struct expunge_arg fa = {inbox, uid_of(inbox, a)};
	CHECK_THAT(store_exec(st, flag, &fa) == 0);
	SAME(changes(false), expect("u%lld", (long long)a));

	mark(); /* a move to another mailbox: the same Email */
	copy_msg(inbox, work, b, true);
	CHECK_THAT(uid_of(inbox, b) == 0 && uid_of(work, b) != 0);
	SAME(changes(false), expect("u%lld", (long long)b));

	mark(); /* a copy: the same Email in one more mailbox */
	copy_msg(work, inbox, c, false);
	SAME(changes(false), expect("u%lld", (long long)c));

	mark(); /* one of two copies expunged: still there */
	expunge_msg(work, c);
	SAME(changes(false), expect("u%lld", (long long)c));

	mark(); /* the last copy expunged: destroyed */
	expunge_msg(inbox, c);
	SAME(changes(false), expect("d%lld", (long long)c));

	mark(); /* created and destroyed within the window: nothing */
	int64_t e = put(inbox, "e@x", NULL);
	expunge_msg(inbox, e);
	SAME(changes(false), "");

	mark(); /* several at once, ascending ids; another account's are not seen */
	struct delivery other = {.account = other_account, .mailbox = other_inbox, .msgid = "o@x"};
	CHECK_THAT(store_exec(st, deliver, &other) == 0);
	expunge_msg(inbox, d);
	int64_t f = put(work, "f@x", NULL);
	/* already \Seen: no change, so no new modseq and nothing to report */
	CHECK_THAT(store_exec(st, flag, &(struct expunge_arg){inbox, uid_of(inbox, a)}) == 0);
	SAME(changes(false), expect("d%lld c%lld", (long long)d, (long long)f));

	mark(); /* a mailbox created since the marks: its entries are touched */
	struct store_mailbox_req mk = {.account_id = account, .name = "New"};
	CHECK_THAT(store_exec(st, store_mailbox_create_job, &mk) == 0);
	copy_msg(work, mk.mailbox_id, f, false);
	int64_t g = put(mk.mailbox_id, "g@x", NULL);
	SAME(changes(false), expect("u%lld c%lld", (long long)f, (long long)g));

	mark(); /* INBOX renamed: its messages move to a new mailbox, still the same Emails */
	struct store_mailbox_req rn = {.account_id = account, .name = "INBOX", .newname = "Old"};
	CHECK_THAT(store_exec(st, store_mailbox_rename_job, &rn) == 0);
	free(rn.uids);
	SAME(changes(false), expect("u%lld", (long long)a));

	mark(); /* a marked mailbox deleted: cannot be calculated */
	struct store_mailbox_req del = {.account_id = account, .name = "New"};
	CHECK_THAT(store_exec(st, store_mailbox_delete_job, &del) == 0);
	SAME(changes(false), expect("error %d", ESTALE));

	mark(); /* an expunged row from before schema 17 (no message named) */
	int64_t h = put(inbox, "h@x", NULL);
	mark();
	expunge_msg(inbox, h);
	CHECK_THAT(store_exec(st, run_sql,
	                      "UPDATE expunged SET message_id = NULL, thread_id = NULL "
	                      "WHERE message_id IS NOT NULL") == 0);
	SAME(changes(false), expect("error %d", ESTALE));
	mark(); /* ... but rows at or below the marks are never read */
	SAME(changes(false), "");

	mark(); /* a UIDVALIDITY changed under the marks */
	CHECK_THAT(store_exec(st, run_sql,
	                      "UPDATE mailboxes SET uidvalidity = uidvalidity + 100000 "
	                      "WHERE name = 'Work'") == 0);
	SAME(changes(false), expect("error %d", ESTALE));

	/* marks out of order are refused, not misread */
	mark();
	if (nmarks >= 2) {
		struct store_mailbox_mark t = marks[0];
		marks[0] = marks[1];
		marks[1] = t;
		SAME(changes(false), expect("error %d", ESTALE));
	}
}

/* The thread of message_id (its own id when it starts one). */
static int64_t thread_of(int64_t message_id)
{
	sqlite3 *db = store_reader(st)->db;
	sqlite3_stmt *q;
	int64_t t = 0;
	if (sqlite3_prepare_v2(db,
	                       "SELECT coalesce(thread_id, message_id) FROM mailbox_entries "
	                       "WHERE message_id = ?1",
	                       -1, &q, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_int64(q, 1, message_id);
	if (sqlite3_step(q) == SQLITE_ROW)
		t = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return t;
}

static void test_threads(void)
{
	int64_t work2;
	CHECK_THAT(store_mailbox_find(store_reader(st), account, "Work", &work2) == 1);
	work = work2;
	mark();
	int64_t root = put(inbox, "root@t", NULL);
	int64_t t = thread_of(root);
	CHECK_THAT(t != 0);
	SAME(changes(true), expect("c%lld", (long long)t));

	mark(); /* a reply joins the thread: updated */
	int64_t reply = put(inbox, "reply@t", "root@t");
	CHECK_THAT(thread_of(reply) == t);
	SAME(changes(true), expect("u%lld", (long long)t));
	SAME(changes(false), expect("c%lld", (long long)reply));

	mark(); /* one message of two expunged: the thread stays (untouched member) */
	expunge_msg(inbox, root);
	SAME(changes(true), expect("u%lld", (long long)t));

	mark(); /* the last one expunged: the thread is destroyed */
	expunge_msg(inbox, reply);
	SAME(changes(true), expect("d%lld", (long long)t));

	mark(); /* a thread made and emptied within the window: nothing */
	int64_t lone = put(inbox, "lone@t", NULL);
	expunge_msg(inbox, lone);
	SAME(changes(true), "");
}

int main(void)
{
	char dir[] = "/tmp/tern-changes-XXXXXX", err[256];
	uv_loop_t *loop = uv_default_loop();
	if (!mkdtemp(dir) || store_open(&st, dir, loop, err, sizeof err) < 0) {
		printf("store_open: %s\n", err);
		return 1;
	}
	CHECK(store_exec(st, setup, NULL) == 0, "setup");
	test_state_string();
	test_emails();
	test_threads();
	free(marks);
	store_close(&st);
	uv_run(loop, UV_RUN_NOWAIT);
	check_remove_dir(dir);
	return check_report("test_store_changes");
}
