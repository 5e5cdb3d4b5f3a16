/* test_imap_store: the store side of the IMAP message commands
 * (store/entries.c, store/msg_index.c with IMAP's indexer from
 * proto/imap/index.c): indexing in idle time, FTS5 substring search of
 * decoded text, entries, flags with UNCHANGEDSINCE, copy/move, expunge,
 * append, and cleanup of the index when a message goes away. */
#include "proto/imap/dates.h"
#include "proto/imap/index.h"
#include "store/accounts.h"
#include "store/entries.h"
#include "store/mail.h"
#include "store/mailboxes.h"
#include "store/msg_index.h"
#include "store/store.h"
#include "store/store_int.h" /* the writer's idle step, and a look at the tables */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "store_jobs_testutil.h"

static int64_t account, inbox, work;

static int setup(struct store_tx *tx, void *arg)
{
	int r = store_domain_add(tx, "example.test");
	if (r < 0)
		return r;
	r = store_account_add(tx, "u@example.test", "", &account);
	if (r < 0)
		return r;
	if (store_mailbox_find(store_tx_reader(tx), account, "INBOX", &inbox) <= 0 &&
	    store_mailbox_create(tx, account, "INBOX", "", &inbox) < 0)
		return -EIO;
	if (store_mailbox_find(store_tx_reader(tx), account, "Work", &work) <= 0 &&
	    store_mailbox_create(tx, account, "Work", "", &work) < 0)
		return -EIO;
	return 0;
}

static const char *M1 = "From: Alice <alice@example.org>\r\nSubject: Hello there\r\n"
                        "Date: Tue, 1 Jul 2003 10:52:37 +0200\r\n\r\nThe Quick brown fox\r\n";
static const char *M2 = "From: Bob <bob@example.org>\r\nSubject: b64\r\nMIME-Version: 1.0\r\n"
                        "Content-Type: text/plain; charset=utf-8\r\n"
                        "Content-Transfer-Encoding: base64\r\n\r\nemVicmEgcXVva2thCg==\r\n";

static int deliver(struct store_tx *tx, void *arg)
{
	const char *m = arg;
	struct store_local_rcpt r = {.account_id = account, .mailbox_id = inbox};
	struct store_delivery d = {
	    .data = m, .len = strlen(m), .mail_from = "", .local = &r, .nlocal = 1};
	return store_deliver(tx, &d);
}

/* The writer's idle work, run to the end: returns how many it indexed. */
static int64_t index_cursor;
static int fn_index_all(struct store_tx *tx, void *arg)
{
	int n = 0, r;
	while ((r = store_index_next(tx, &index_cursor)) > 0)
		n++;
	return r < 0 ? r : n;
}

/* An indexer of another version: IMAP's, counting its calls. */
static int64_t indexed_by_counter;
static int counting_indexer(const char *data, size_t len, struct store_index_data *out)
{
	indexed_by_counter++;
	return imap_index_compute(data, len, true, out);
}

static int count_cb(void *ud, const struct store_entry *e)
{
	(*(int *)ud)++;
	return 0;
}

int main(void)
{
	char dir[] = "/tmp/tern-imapstore-XXXXXX", err[256];
	struct store *st;
	if (!mkdtemp(dir) || store_open(&st, dir, NULL, err, sizeof err) < 0) {
		printf("store_open: %s\n", err);
		return 1;
	}
	imap_index_register(st);
	CHECK(store_exec(st, setup, NULL) == 0, "setup");
	CHECK(store_exec(st, deliver, (void *)M1) == 0, "deliver 1");
	CHECK(store_exec(st, deliver, (void *)M2) == 0, "deliver 2");
	struct store_rd *rd = store_reader(st);

	/* delivery does not index; the idle work does, once */
	struct store_entry e;
	char kw[256];
	CHECK(store_entry_get(rd, inbox, 1, &e, kw, sizeof kw) == 1 && !e.indexed,
	      "not indexed in the delivery transaction");
	CHECK(store_index_missing_in(rd, inbox, 0, UINT32_MAX) == 1, "unindexed after delivery");
	CHECK(store_exec(st, fn_index_all, NULL) == 2, "idle work indexes both");
	CHECK(store_exec(st, fn_index_all, NULL) == 0, "then nothing is left");

	/* info */
	CHECK(store_entry_get(rd, inbox, 1, &e, kw, sizeof kw) == 1 && e.indexed &&
	          e.sent_day == imap_days_from_civil(2003, 7, 1),
	      "entry 1 indexed, sent day");
	struct store_index_data info;
	CHECK(store_index_get(rd, e.message_id, &info) == 1 &&
	          strstr(info.envelope, "\"Hello there\"") &&
	          strstr(info.bodystructure, "\"text\"") &&
	          strstr(info.headers, "Subject: Hello there\n"),
	      "info");
	store_index_data_free(&info);
	CHECK(store_index_missing_in(rd, inbox, 0, UINT32_MAX) == 0, "all indexed");

	/* FTS */
	uint32_t *u;
	size_t n;
	CHECK(store_search_text(rd, inbox, "quick BROWN", 11, false, &u, &n) == 0 && n == 1 &&
	          u[0] == 1,
	      "fts phrase");
	free(u);
	CHECK(store_search_text(rd, inbox, "uokk", 4, false, &u, &n) == 0 && n == 1 && u[0] == 2,
	      "fts decoded base64 substring");
	free(u);
	CHECK(store_search_text(rd, inbox, "alice", 5, false, &u, &n) == 0 && n == 0,
	      "BODY excludes headers");
	free(u);
	CHECK(store_search_text(rd, inbox, "alice", 5, true, &u, &n) == 0 && n == 1,
	      "TEXT includes headers");
	free(u);
	CHECK(store_search_text(rd, inbox, "ox", 2, false, &u, &n) == 0 && n == 1 && u[0] == 1,
	      "short needle via LIKE");
	free(u);
	CHECK(store_search_text(rd, inbox, "a\"b", 3, true, &u, &n) == 0 && n == 0, "quote");
	free(u);

	/* flags */
	uint32_t uids[2] = {1, 2};
	struct store_flag_result res[2];
	struct store_flags_req fq = {.mailbox_id = inbox,
	                             .uids = uids,
	                             .n = 2,
	                             .op = STORE_FLAGS_ADD,
	                             .flags = STORE_FLAG_SEEN,
	                             .keywords = "$Work Later",
	                             .unchangedsince = -1,
	                             .res = res};
	CHECK(store_exec(st, fn_flags, &fq) == 0 && res[0].status == 1 && res[1].status == 1 &&
	          strcmp(res[0].keywords, "$Work Later") == 0 && res[1].modseq > res[0].modseq,
	      "flags add");
	int64_t ms1 = res[0].modseq;
	store_flags_req_clear(&fq);
	fq.op = STORE_FLAGS_REMOVE;
	fq.flags = 0;
	fq.keywords = "later";
	fq.unchangedsince = ms1;
	CHECK(store_exec(st, fn_flags, &fq) == 0 && res[0].status == 1 && res[1].status == 2 &&
	          strcmp(res[0].keywords, "$Work") == 0,
	      "unchangedsince: %d %d", res[0].status, res[1].status);
	store_flags_req_clear(&fq);
	fq.op = STORE_FLAGS_ADD;
	fq.keywords = "$work";
	fq.unchangedsince = -1;
	CHECK(store_exec(st, fn_flags, &fq) == 0 && res[0].status == 0, "no-op keeps modseq");
	store_flags_req_clear(&fq);

	/* copy and move */
	uint32_t nu[2];
	int64_t nm[2];
	struct store_copy_req cq = {.account_id = account,
	                            .src_mailbox_id = inbox,
	                            .dst_mailbox_id = work,
	                            .uids = uids,
	                            .n = 2,
	                            .new_uids = nu,
	                            .new_modseqs = nm};
	CHECK(store_exec(st, fn_copy, &cq) == 2 && nu[0] == 1 && nu[1] == 2, "copy");
	cq.move = true;
	CHECK(store_exec(st, fn_copy, &cq) == 2 && nu[0] == 3 && nu[1] == 4 && cq.src_modseq > 0,
	      "move");
	int cnt = 0;
	store_entries_range(rd, inbox, 1, UINT32_MAX - 1, 0, STORE_COLS_INFO, count_cb, &cnt);
	CHECK(cnt == 0, "moved away: %d", cnt);
	store_expunged_uids(rd, inbox, 0, 1, 100, &u, &n);
	CHECK(n == 2 && u[0] == 1 && u[1] == 2, "vanished");
	free(u);
	cq.quota_bytes = 10;
	cq.move = false;
	cq.src_mailbox_id = work;
	CHECK(store_exec(st, fn_copy, &cq) == -EDQUOT, "quota");

	/* expunge in Work: flag 3 deleted */
	uint32_t three = 3;
	fq = (struct store_flags_req){.mailbox_id = work,
	                              .uids = &three,
	                              .n = 1,
	                              .op = STORE_FLAGS_ADD,
	                              .flags = STORE_FLAG_DELETED,
	                              .keywords = "",
	                              .unchangedsince = -1,
	                              .res = res};
	store_exec(st, fn_flags, &fq);
	store_flags_req_clear(&fq);
	uint32_t cand[4] = {1, 2, 3, 4};
	struct store_expunge_req eq = {.mailbox_id = work, .uids = cand, .n = 4};
	CHECK(store_exec(st, fn_expunge, &eq) == 1 && eq.nexpunged == 1 && eq.expunged[0] == 3,
	      "expunge");
	free(eq.expunged);

	/* append */
	struct store_append_req aq = {.account_id = account,
	                              .mailbox_id = work,
	                              .data = M1,
	                              .len = strlen(M1),
	                              .internal_date = 1000,
	                              .flags = STORE_FLAG_DRAFT,
	                              .keywords = "Foo"};
	CHECK(store_exec(st, fn_append, &aq) == 0 && aq.uid == 5 && aq.uidvalidity > 0, "append");
	CHECK(store_entry_get(rd, work, 5, &e, kw, sizeof kw) == 1 && e.flags == STORE_FLAG_DRAFT &&
	          strcmp(kw, "Foo") == 0 && e.internal_date == 1000,
	      "appended entry");

	CHECK(store_exec(st, fn_index_all, NULL) == 1, "the appended copy is a message of its own");

	/* the index goes with the message */
	uint32_t all[3] = {1, 2, 4};
	for (int i = 0; i < 3; i++) {
		fq = (struct store_flags_req){.mailbox_id = work,
		                              .uids = &all[i],
		                              .n = 1,
		                              .op = STORE_FLAGS_ADD,
		                              .flags = STORE_FLAG_DELETED,
		                              .keywords = "",
		                              .unchangedsince = -1,
		                              .res = res};
		store_exec(st, fn_flags, &fq);
		store_flags_req_clear(&fq);
	}
	uint32_t cand5[5] = {1, 2, 3, 4, 5};
	eq = (struct store_expunge_req){.mailbox_id = work, .uids = cand5, .n = 5};
	store_exec(st, fn_expunge, &eq);
	free(eq.expunged);
	sqlite3_stmt *q;
	sqlite3_prepare_v2(rd->db,
	                   "SELECT (SELECT count(*) FROM imap_fts), (SELECT count(*) FROM "
	                   "imap_message_info), (SELECT count(*) FROM messages)",
	                   -1, &q, NULL);
	sqlite3_step(q);
	CHECK(sqlite3_column_int(q, 0) == 1 && sqlite3_column_int(q, 1) == 1 &&
	          sqlite3_column_int(q, 2) == 1,
	      "index cleaned up: fts=%d info=%d msgs=%d", sqlite3_column_int(q, 0),
	      sqlite3_column_int(q, 1), sqlite3_column_int(q, 2));
	sqlite3_finalize(q);

	/* A new indexer version drops what the old one made, and the idle work
	 * makes it again; the same version again drops nothing. */
	/* (the one message left is in one of the two mailboxes) */
#define MISSING()                                                                                  \
	(store_index_missing_in(rd, inbox, 0, UINT32_MAX) == 1 ||                                  \
	 store_index_missing_in(rd, work, 0, UINT32_MAX) == 1)
	CHECK(!MISSING(), "indexed before");
	CHECK(store_set_indexer(st, counting_indexer, IMAP_INDEX_VERSION + 1) == 0, "version up");
	CHECK(MISSING(), "old rows dropped");
	int64_t n0 = indexed_by_counter;
	index_cursor = 0; /* this test's stand-in for the writer's cursor */
	CHECK(store_exec(st, fn_index_all, NULL) >= 0 && indexed_by_counter > n0,
	      "made again by the new indexer");
	CHECK(!MISSING(), "indexed again");
	CHECK(store_set_indexer(st, counting_indexer, IMAP_INDEX_VERSION + 1) == 0 && !MISSING(),
	      "the same version keeps its rows");
#undef MISSING

	store_close(&st);
	check_remove_dir(dir);
	return check_report("test_imap_store");
}
