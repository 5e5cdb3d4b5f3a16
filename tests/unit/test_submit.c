/* test_submit: the submission path (deliver/submit.h) on a real loop and a
 * temporary store: a local delivery with the trace fields added, a remote
 * recipient queued without Return-Path:, both kinds in one message stored
 * as two variants and rolled back together, the sender checks (envelope,
 * header From:, an alias the account owns), refused recipients (unknown,
 * alias loop, malformed, over quota) that store nothing, the shape checks
 * (no recipient, too many, too big, empty, bare LF), a store that is not
 * there, and the Received: field's sanitizing. */
#include "check.h"
#include "deliver/submit.h"
#include "deliver/trace.h"
#include "store/accounts.h"
#include "store/entries.h"
#include "store/mail.h"
#include "store/mailboxes.h"
#include "store/queue.h"
#include "store/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

static struct store *st;
static uv_loop_t loop;
static int64_t alice, bob, carol;

static int setup_job(struct store_tx *tx, void *arg)
{
	(void)arg;
	int rc;
	if ((rc = store_domain_add(tx, "example.test")) < 0 ||
	    (rc = store_account_add(tx, "alice@example.test", "x", &alice)) < 0 ||
	    (rc = store_account_add(tx, "bob@example.test", "x", &bob)) < 0 ||
	    (rc = store_account_add(tx, "carol@example.test", "x", &carol)) < 0 ||
	    (rc = store_alias_add(tx, "info@example.test", "alice@example.test")) < 0 ||
	    (rc = store_alias_add(tx, "loop1@example.test", "loop2@example.test")) < 0 ||
	    (rc = store_alias_add(tx, "loop2@example.test", "loop1@example.test")) < 0)
		return rc;
	return 0;
}

static int quota_job(struct store_tx *tx, void *arg)
{
	(void)arg;
	return store_account_set_quota(tx, "carol@example.test", 1);
}

/* ---- waiting for done() ---- */

static struct {
	bool called;
	int status;
	int calls;
} done_state;

static void on_done(void *ud, int status)
{
	(void)ud;
	done_state.called = true;
	done_state.status = status;
	done_state.calls++;
}

static bool timed_out;
static void on_timeout(uv_timer_t *t)
{
	(void)t;
	timed_out = true;
}

/* Runs the loop until done() ran (or 10 s passed): its status, or -ETIMEDOUT. */
static int wait_done(void)
{
	uv_timer_t timer;
	uv_timer_init(&loop, &timer);
	timed_out = false;
	uv_timer_start(&timer, on_timeout, 10000, 0);
	while (!done_state.called && !timed_out)
		uv_run(&loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&timer, NULL);
	uv_run(&loop, UV_RUN_NOWAIT);
	return done_state.called ? done_state.status : -ETIMEDOUT;
}

/* ---- reading back ---- */

static uint32_t inbox_count(int64_t account)
{
	struct store_rd *rd = store_reader(st);
	int64_t mb = 0;
	struct store_mailbox_counts c = {0};
	if (store_mailbox_find(rd, account, "INBOX", &mb) != 1 ||
	    store_mailbox_counts(rd, mb, &c) < 0)
		return 9999;
	return c.messages;
}

static char *read_message(int64_t message_id)
{
	static char buf[65536];
	ssize_t n = store_message_read(store_reader(st), message_id, 0, buf, sizeof buf - 1);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	return buf;
}

/* The newest message in an account's INBOX (uid = the count). */
static char *inbox_newest(int64_t account)
{
	struct store_rd *rd = store_reader(st);
	int64_t mb = 0;
	struct store_entry e;
	char kw[200];
	if (store_mailbox_find(rd, account, "INBOX", &mb) != 1 ||
	    store_entry_get(rd, mb, inbox_count(account), &e, kw, sizeof kw) != 1)
		return (char *)"";
	return read_message(e.message_id);
}

struct last_row {
	int64_t n;
	int64_t message_id;
	char rcpt[320];
	char mail_from[320];
};

static int row_cb(void *ud, const struct store_queue_row *row)
{
	struct last_row *l = ud;
	l->n++;
	l->message_id = row->message_id;
	snprintf(l->rcpt, sizeof l->rcpt, "%s", row->rcpt);
	snprintf(l->mail_from, sizeof l->mail_from, "%s", row->mail_from);
	return 0;
}

static struct last_row queue_last(void)
{
	struct last_row l = {0};
	store_queue_list(store_reader(st), row_cb, &l);
	return l;
}

/* ---- submitting ---- */

static const char msg_alice[] = "From: Alice <alice@example.test>\r\n"
                                "To: bob@example.test\r\n"
                                "Subject: hello\r\n"
                                "\r\n"
                                "Hi Bob.\r\n";

static struct submit_req base_req(const char *const *rcpts, size_t n)
{
	return (struct submit_req){
	    .store = st,
	    .hostname = "mail.example.test",
	    .account_id = alice,
	    .login = "alice@example.test",
	    .peer_ip = "192.0.2.7",
	    .with = "HTTPSA",
	    .mail_from = "alice@example.test",
	    .rcpts = rcpts,
	    .nrcpts = n,
	    .msg = msg_alice,
	    .len = sizeof msg_alice - 1,
	};
}

/* submit_start, then the loop until done() when it was accepted. */
static enum deliver_status submit(const struct submit_req *q, struct submit_result *res)
{
	memset(&done_state, 0, sizeof done_state);
	enum deliver_status s = submit_start(q, res, on_done, NULL);
	CHECK(!done_state.called, "done() ran before submit_start returned");
	CHECK(res->status == s, "result status %d, returned %d", res->status, s);
	if (s == DELIVER_OK)
		CHECK(wait_done() >= 0, "job status %d", done_state.status);
	return s;
}

static void test_local(void)
{
	const char *to[] = {"bob@example.test"};
	struct submit_req q = base_req(to, 1);
	struct submit_result res;
	uint32_t before = inbox_count(bob);

	CHECK_THAT(submit(&q, &res) == DELIVER_OK);
	CHECK_THAT(res.nrcpts == 1 && res.rcpts[0].status == DELIVER_OK && !res.rcpts[0].remote);
	CHECK_THAT(done_state.calls == 1);
	CHECK(inbox_count(bob) == before + 1, "bob's INBOX %u", inbox_count(bob));
	const char *m = inbox_newest(bob);
	static const char start[] = "Return-Path: <alice@example.test>\r\n"
	                            "Received: from alice@example.test ([192.0.2.7])\r\n"
	                            "\tby mail.example.test (tern) with HTTPSA id s";
	CHECK(strncmp(m, start, sizeof start - 1) == 0, "local copy starts %.160s", m);
	CHECK_THAT(strstr(m, "\r\nMessage-ID: <") != NULL);
	CHECK_THAT(strstr(m, "@mail.example.test>\r\nDate: ") != NULL);
	CHECK_THAT(strstr(m, "\r\n\r\nHi Bob.\r\n") != NULL);
	submit_result_free(&res);

	/* A message with its own Message-ID: and Date: keeps them, alone. */
	static const char own[] = "From: alice@example.test\r\nMessage-ID: <x@y>\r\n"
	                          "Date: Mon, 7 Dec 2026 01:02:03 +0000\r\n\r\nb\r\n";
	q.msg = own;
	q.len = sizeof own - 1;
	CHECK_THAT(submit(&q, &res) == DELIVER_OK);
	m = inbox_newest(bob);
	CHECK_THAT(strstr(m, "Message-ID: <x@y>") != NULL);
	CHECK_THAT(strstr(m, "Message-ID:") == strstr(m, "Message-ID: <x@y>"));
	CHECK_THAT(strstr(m, "Date:") == strstr(m, "Date: Mon, 7 Dec 2026 01:02:03"));
	submit_result_free(&res);
}

static void test_remote(void)
{
	const char *to[] = {"Someone@Remote.test"};
	struct submit_req q = base_req(to, 1);
	struct submit_result res;
	int64_t before = queue_last().n;

	CHECK_THAT(submit(&q, &res) == DELIVER_OK);
	CHECK_THAT(res.rcpts[0].status == DELIVER_OK && res.rcpts[0].remote);
	struct last_row row = queue_last();
	CHECK(row.n == before + 1, "queue rows %lld", (long long)row.n);
	CHECK_THAT(strcmp(row.rcpt, "Someone@Remote.test") == 0);
	CHECK_THAT(strcmp(row.mail_from, "alice@example.test") == 0);
	const char *m = read_message(row.message_id);
	CHECK(strncmp(m, "Received: from alice@example.test", 33) == 0, "queued copy %.60s", m);
	CHECK_THAT(strstr(m, "Return-Path:") == NULL);
	submit_result_free(&res);
}

static void test_both_kinds(void)
{
	const char *to[] = {"bob@example.test", "far@remote.test", "BOB@example.test",
	                    "far@REMOTE.test"};
	struct submit_req q = base_req(to, 4);
	struct submit_result res;
	uint32_t inbox = inbox_count(bob);
	int64_t rows = queue_last().n;

	/* One failed COMMIT: neither the local entry nor the queue row. */
	store_test_fail_next_commits(st, 1);
	memset(&done_state, 0, sizeof done_state);
	CHECK_THAT(submit_start(&q, &res, on_done, NULL) == DELIVER_OK);
	CHECK(wait_done() < 0, "a failed commit reported %d", done_state.status);
	CHECK_THAT(inbox_count(bob) == inbox);
	CHECK_THAT(queue_last().n == rows);
	submit_result_free(&res);

	CHECK_THAT(submit(&q, &res) == DELIVER_OK);
	CHECK_THAT(res.nrcpts == 4);
	CHECK_THAT(!res.rcpts[0].duplicate && !res.rcpts[1].duplicate);
	CHECK_THAT(res.rcpts[2].duplicate && !res.rcpts[2].remote);
	CHECK_THAT(res.rcpts[3].duplicate && res.rcpts[3].remote);
	CHECK(inbox_count(bob) == inbox + 1, "bob's INBOX %u, was %u", inbox_count(bob), inbox);
	struct last_row row = queue_last();
	CHECK(row.n == rows + 1, "queue rows %lld, were %lld", (long long)row.n, (long long)rows);
	char *remote = strdup(read_message(row.message_id));
	CHECK_THAT(strstr(remote, "Return-Path:") == NULL);
	CHECK_THAT(strstr(remote, "Received: from alice") == remote);
	const char *local = inbox_newest(bob);
	CHECK_THAT(strncmp(local, "Return-Path: <alice@example.test>\r\n", 35) == 0);
	/* the same trace fields on both variants */
	CHECK_THAT(strcmp(local + 35, remote) == 0);
	free(remote);
	submit_result_free(&res);
}

static void test_sender(void)
{
	const char *to[] = {"bob@example.test"};
	struct submit_req q = base_req(to, 1);
	struct submit_result res;
	uint32_t inbox = inbox_count(bob);

	q.mail_from = "bob@example.test";
	CHECK_THAT(submit(&q, &res) == DELIVER_NOT_OWNED);
	CHECK_THAT(res.why && strstr(res.why, "Envelope sender"));
	submit_result_free(&res);
	q.mail_from = "";
	CHECK_THAT(submit(&q, &res) == DELIVER_NOT_OWNED);
	submit_result_free(&res);
	q.mail_from = NULL;
	CHECK_THAT(submit(&q, &res) == DELIVER_NOT_OWNED);
	submit_result_free(&res);

	static const char bobs[] = "From: bob@example.test\r\n\r\nx\r\n";
	q = base_req(to, 1);
	q.msg = bobs;
	q.len = sizeof bobs - 1;
	CHECK_THAT(submit(&q, &res) == DELIVER_NOT_OWNED);
	CHECK_THAT(res.why && strcmp(res.why, "Header From: not owned by authenticated user") == 0);
	submit_result_free(&res);

	static const char none[] = "Subject: x\r\n\r\nx\r\n";
	q.msg = none;
	q.len = sizeof none - 1;
	CHECK_THAT(submit(&q, &res) == DELIVER_NOT_OWNED);
	CHECK_THAT(res.why && strcmp(res.why, "Message has no From: header") == 0);
	submit_result_free(&res);

	static const char two[] =
	    "From: alice@example.test\r\nFrom: alice@example.test\r\n\r\nx\r\n";
	q.msg = two;
	q.len = sizeof two - 1;
	CHECK_THAT(submit(&q, &res) == DELIVER_NOT_OWNED);
	submit_result_free(&res);
	CHECK_THAT(inbox_count(bob) == inbox);

	/* An alias of the account is its own. */
	static const char info[] = "From: Info <info@example.test>\r\n\r\nx\r\n";
	q.msg = info;
	q.len = sizeof info - 1;
	q.mail_from = "INFO@example.test";
	CHECK_THAT(submit(&q, &res) == DELIVER_OK);
	CHECK_THAT(inbox_count(bob) == inbox + 1);
	submit_result_free(&res);
}

static void test_refused_rcpts(void)
{
	const char *to[] = {"bob@example.test", "nobody@example.test", "loop1@example.test",
	                    "no-at-sign", NULL};
	struct submit_req q = base_req(to, 5);
	struct submit_result res;
	uint32_t inbox = inbox_count(bob);
	int64_t rows = queue_last().n;

	CHECK_THAT(submit(&q, &res) == DELIVER_NO_SUCH_USER);
	CHECK_THAT(res.nrcpts == 5);
	CHECK_THAT(res.rcpts[0].status == DELIVER_OK);
	CHECK_THAT(res.rcpts[1].status == DELIVER_NO_SUCH_USER);
	CHECK(res.rcpts[2].status == DELIVER_ALIAS_LOOP, "loop: %s",
	      deliver_status_name(res.rcpts[2].status));
	CHECK(res.rcpts[3].status == DELIVER_BAD_ADDRESS, "no-at-sign: %s",
	      deliver_status_name(res.rcpts[3].status));
	CHECK(res.rcpts[4].status == DELIVER_BAD_ADDRESS, "NULL: %s",
	      deliver_status_name(res.rcpts[4].status));
	CHECK_THAT(done_state.calls == 0);
	CHECK_THAT(inbox_count(bob) == inbox);
	CHECK_THAT(queue_last().n == rows);
	submit_result_free(&res);

	/* carol's quota is used up once she has any mail. */
	const char *to_carol[] = {"carol@example.test"};
	q = base_req(to_carol, 1);
	CHECK_THAT(submit(&q, &res) == DELIVER_OK);
	submit_result_free(&res);
	CHECK_THAT(store_exec(st, quota_job, NULL) == 0);
	CHECK_THAT(submit(&q, &res) == DELIVER_MAILBOX_FULL);
	CHECK_THAT(res.rcpts[0].status == DELIVER_MAILBOX_FULL);
	CHECK_THAT(inbox_count(carol) == 1);
	submit_result_free(&res);
}

static void test_shape(void)
{
	const char *to[] = {"bob@example.test", "alice@example.test"};
	struct submit_req q = base_req(to, 0);
	struct submit_result res;

	CHECK_THAT(submit(&q, &res) == DELIVER_NO_RCPTS);
	submit_result_free(&res);
	q = base_req(to, 2);
	q.max_rcpts = 1;
	CHECK_THAT(submit(&q, &res) == DELIVER_TOO_MANY_RCPTS);
	submit_result_free(&res);
	q.max_rcpts = 2;
	q.max_size = q.len - 1;
	CHECK_THAT(submit(&q, &res) == DELIVER_TOO_BIG);
	submit_result_free(&res);
	q.max_size = q.len;
	q.len = 0;
	CHECK_THAT(submit(&q, &res) == DELIVER_BAD_MESSAGE);
	submit_result_free(&res);
	static const char lf[] = "From: alice@example.test\n\nx\n";
	q.msg = lf;
	q.len = sizeof lf - 1;
	CHECK_THAT(submit(&q, &res) == DELIVER_BAD_MESSAGE);
	submit_result_free(&res);
	static const char nul[] = "From: alice@example.test\r\n\r\nx\0y\r\n";
	q.msg = nul;
	q.len = sizeof nul - 1;
	CHECK_THAT(submit(&q, &res) == DELIVER_BAD_MESSAGE);
	submit_result_free(&res);
	q = base_req(to, 2);
	q.store = NULL;
	CHECK_THAT(submit(&q, &res) == DELIVER_STORE_FAIL);
	submit_result_free(&res);
}

static void test_received(void)
{
	char out[512];
	struct deliver_trace t = {
	    .from = "evil\r\nBcc: x@y",
	    .peer_ip = "2001:db8::1\r\nX: y",
	    .hostname = "",
	    .with = "HTTP",
	    .id = "a b",
	    .now = 0,
	};
	size_t n = deliver_received_format(out, sizeof out, &t);
	CHECK(n && strcmp(out, "Received: from evil__Bcc__x@y ([IPv6:2001:db8::1])\r\n"
	                       "\tby localhost (tern) with HTTP id a_b;\r\n"
	                       "\tThu, 1 Jan 1970 00:00:00 +0000\r\n") == 0,
	      "got %s", out);
	CHECK_THAT(deliver_received_format(out, 40, &t) == 0);
	t.from = NULL;
	t.peer_ip = NULL;
	n = deliver_received_format(out, sizeof out, &t);
	CHECK_THAT(n && strncmp(out, "Received: from unknown\r\n", 24) == 0);
}

int main(void)
{
	char dir[] = "/tmp/tern-submit-XXXXXX", err[256];
	CHECK_THAT(mkdtemp(dir) != NULL);
	CHECK_THAT(uv_loop_init(&loop) == 0);
	CHECK_THAT(store_open(&st, dir, &loop, err, sizeof err) == 0);
	CHECK_THAT(store_exec(st, setup_job, NULL) == 0);

	test_local();
	test_remote();
	test_both_kinds();
	test_sender();
	test_refused_rcpts();
	test_shape();
	test_received();

	store_close(&st);
	uv_run(&loop, UV_RUN_NOWAIT);
	CHECK_THAT(uv_loop_close(&loop) == 0);
	check_remove_dir(dir);
	return check_report("test_submit");
}
