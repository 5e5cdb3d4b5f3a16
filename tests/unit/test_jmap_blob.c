/* test_jmap_blob: jmap_blob_read (proto/jmap/blob_read.c), the one reader
 * of an account's blobs, against a real store: a whole message ("B<id>"),
 * a decoded part ("B<id>.<part>", through the real renderer), an upload
 * ("U<id>", and store_upload_stat/read_at, what a streamed download
 * reads it with), and everything that must be "no such blob": another
 * account's message or upload, malformed ids, parts that do not exist. */
#include "proto/jmap/blob_read.h"
#include "store/accounts.h"
#include "store/entries.h"
#include "store/mail.h"
#include "store/mailboxes.h"
#include "store/store.h"
#include "store/uploads.h"
#include "tests/unit/check.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct store *st;
static int64_t account, other_account, inbox, other_inbox;

static int setup(struct store_tx *tx, void *arg)
{
	(void)arg;
	int r = store_domain_add(tx, "example.test");
	if (r < 0 || (r = store_account_add(tx, "u@example.test", "", &account)) < 0 ||
	    (r = store_account_add(tx, "v@example.test", "", &other_account)) < 0)
		return r;
	if (store_mailbox_find(store_tx_reader(tx), account, "INBOX", &inbox) != 1 ||
	    store_mailbox_find(store_tx_reader(tx), other_account, "INBOX", &other_inbox) != 1)
		return -EIO;
	return 0;
}

struct delivery {
	const char *data;
	int64_t account, mailbox;
	int64_t message_id;
};

static int deliver(struct store_tx *tx, void *arg)
{
	struct delivery *d = arg;
	struct store_local_rcpt r = {.account_id = d->account, .mailbox_id = d->mailbox};
	struct store_delivery sd = {.data = d->data,
	                            .len = strlen(d->data),
	                            .mail_from = "",
	                            .internal_date = 1700000000,
	                            .local = &r,
	                            .nlocal = 1};
	int rc = store_deliver(tx, &sd);
	d->message_id = sd.message_id;
	return rc;
}

static const char multipart[] =
    "From: a@example.org\r\nSubject: parts\r\nMIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=XX\r\n\r\n"
    "--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhello\r\n"
    "--XX\r\nContent-Type: application/pdf; name=\"r\xc3\xa9sum\xc3\xa9.pdf\"\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\nAAECA/8=\r\n--XX--\r\n";

static int read_blob(int64_t acct, const char *id, struct buf *out, char *type, char *name)
{
	struct jmap_limits limits = {0};
	struct jmap_account a = {st, acct, "u@example.test", &limits, NULL};
	buf_reset(out);
	return jmap_blob_read(store_reader(st), &a, id, out, type, 64, name, 64);
}

int main(void)
{
	char dir[] = "/tmp/tern-jmapblob-XXXXXX", err[256];
	if (!mkdtemp(dir) || store_open(&st, dir, NULL, err, sizeof err) < 0) {
		printf("store_open: %s\n", err);
		return 1;
	}
	CHECK_THAT(store_exec(st, setup, NULL) == 0);
	struct delivery mine = {multipart, account, inbox, 0};
	struct delivery theirs = {"Subject: theirs\r\n\r\nx\r\n", other_account, other_inbox, 0};
	CHECK_THAT(store_exec(st, deliver, &mine) >= 0 && mine.message_id > 0);
	CHECK_THAT(store_exec(st, deliver, &theirs) >= 0 && theirs.message_id > 0);
	static const unsigned char bin[] = {0, 1, 2, 255, 'x'};
	struct store_upload_req up = {
	    .account_id = account, .type = "image/png", .data = bin, .len = sizeof bin};
	struct store_upload_req other_up = {
	    .account_id = other_account, .type = "a/b", .data = bin, .len = 1};
	CHECK_THAT(store_exec(st, store_upload_job, &up) == 0);
	CHECK_THAT(store_exec(st, store_upload_job, &other_up) == 0);

	struct buf out = {0};
	char type[64], name[64], id[64];
	/* the whole message */
	snprintf(id, sizeof id, "B%lld", (long long)mine.message_id);
	CHECK_THAT(read_blob(account, id, &out, type, name) == 1);
	CHECK(out.len == strlen(multipart) && memcmp(out.data, multipart, out.len) == 0,
	      "whole message: %zu bytes", out.len);
	CHECK(strcmp(type, "message/rfc822") == 0 && name[0] == '\0', "type %s", type);
	/* a part, decoded, with its type and name */
	snprintf(id, sizeof id, "B%lld.2", (long long)mine.message_id);
	CHECK_THAT(read_blob(account, id, &out, type, name) == 1);
	CHECK(out.len == 5 && memcmp(out.data, "\0\1\2\3\377", 5) == 0, "part: %zu bytes", out.len);
	CHECK(strcmp(type, "application/pdf") == 0, "part type %s", type);
	CHECK(strcmp(name, "r\xc3\xa9sum\xc3\xa9.pdf") == 0, "part name %s", name);
	snprintf(id, sizeof id, "B%lld.1", (long long)mine.message_id);
	CHECK_THAT(read_blob(account, id, &out, type, name) == 1 && out.len >= 5 &&
	           memcmp(out.data, "hello", 5) == 0);
	/* an upload */
	snprintf(id, sizeof id, "U%lld", (long long)up.id);
	CHECK_THAT(read_blob(account, id, &out, type, name) == 1);
	CHECK(out.len == sizeof bin && memcmp(out.data, bin, sizeof bin) == 0, "upload %zu",
	      out.len);
	CHECK(strcmp(type, "image/png") == 0, "upload type %s", type);

	/* an upload read in place, as a streamed download reads it */
	struct store_upload meta;
	struct store_rd *rd = store_reader(st);
	CHECK_THAT(store_upload_stat(rd, account, up.id, &meta) == 1 && meta.size == sizeof bin &&
	           strcmp(meta.type, "image/png") == 0);
	CHECK_THAT(store_upload_stat(rd, other_account, up.id, &meta) == 0);
	CHECK_THAT(store_upload_stat(rd, account, up.id + 100, &meta) == 0);
	unsigned char slice[8];
	CHECK_THAT(store_upload_read_at(rd, up.id, 0, slice, 2) == 2 && slice[0] == 0 &&
	           slice[1] == 1);
	CHECK_THAT(store_upload_read_at(rd, up.id, 3, slice, sizeof slice) == 2 &&
	           slice[0] == 255 && slice[1] == 'x');
	CHECK_THAT(store_upload_read_at(rd, up.id, sizeof bin, slice, sizeof slice) == 0);
	CHECK_THAT(store_upload_read_at(rd, up.id, 1000, slice, sizeof slice) == 0);
	CHECK_THAT(store_upload_read_at(rd, up.id + 100, 0, slice, sizeof slice) == -ENOENT);

	/* not the account's: no such blob */
	snprintf(id, sizeof id, "B%lld", (long long)theirs.message_id);
	CHECK_THAT(read_blob(account, id, &out, type, name) == 0);
	CHECK_THAT(read_blob(other_account, id, &out, type, name) == 1);
	snprintf(id, sizeof id, "U%lld", (long long)other_up.id);
	CHECK_THAT(read_blob(account, id, &out, type, name) == 0);
	snprintf(id, sizeof id, "B%lld", (long long)mine.message_id);
	CHECK_THAT(read_blob(other_account, id, &out, type, name) == 0);
	/* malformed or missing */
	char b9[64], u9[64], part9[64], dotdot[64], dotend[64], zero[64], upart[64];
	snprintf(b9, sizeof b9, "B%lld", (long long)theirs.message_id + 100);
	snprintf(u9, sizeof u9, "U%lld", (long long)other_up.id + 100);
	snprintf(part9, sizeof part9, "B%lld.9", (long long)mine.message_id);
	snprintf(dotdot, sizeof dotdot, "B%lld.1..2", (long long)mine.message_id);
	snprintf(dotend, sizeof dotend, "B%lld.", (long long)mine.message_id);
	snprintf(zero, sizeof zero, "B%lld.0", (long long)mine.message_id);
	snprintf(upart, sizeof upart, "U%lld.1", (long long)up.id);
	const char *bad[] = {b9,  u9,   part9, dotdot, dotend, zero, upart, "",     "B",
	                     "U", "U0", "B01", "Ux",   "X1",   "b1", "U-1", "B1 2", NULL};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int r = read_blob(account, bad[i], &out, type, name);
		CHECK(r == 0, "%s: %d", bad[i] ? bad[i] : "(null)", r);
	}
	buf_free(&out);
	store_close(&st);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("could not remove %s\n", dir);
	return check_report("test_jmap_blob");
}
