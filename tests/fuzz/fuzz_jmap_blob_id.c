/* fuzz_jmap_blob_id: jmap_blob_read (proto/jmap/blob_read.c) on arbitrary
 * blob ids against a real store holding one message and one upload of the
 * account, and one message of another account: no crash or overrun, the
 * answer is found (1) or none (0), never an error, and what is found is
 * one of the account's blobs, never bigger than the message. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/jmap/blob_read.h"
#include "store/accounts.h"
#include "store/mail.h"
#include "store/mailboxes.h"
#include "store/store.h"
#include "store/uploads.h"

static struct store *st;
static int64_t account, other;

static const char msg[] = "From: a@example.org\r\nMIME-Version: 1.0\r\n"
                          "Content-Type: multipart/mixed; boundary=XX\r\n\r\n"
                          "--XX\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
                          "--XX\r\nContent-Type: message/rfc822\r\n\r\n"
                          "Subject: inner\r\n\r\ninner body\r\n--XX--\r\n";

static int setup(struct store_tx *tx, void *arg)
{
	(void)arg;
	int64_t inbox, other_inbox;
	int r = store_domain_add(tx, "example.test");
	if (r < 0 || (r = store_account_add(tx, "u@example.test", "", &account)) < 0 ||
	    (r = store_account_add(tx, "v@example.test", "", &other)) < 0)
		return r;
	if (store_mailbox_find(store_tx_reader(tx), account, "INBOX", &inbox) != 1 ||
	    store_mailbox_find(store_tx_reader(tx), other, "INBOX", &other_inbox) != 1)
		return -EIO;
	struct store_local_rcpt rc[2] = {{.account_id = account, .mailbox_id = inbox},
	                                 {.account_id = other, .mailbox_id = other_inbox}};
	for (int i = 0; i < 2; i++) {
		struct store_delivery d = {.data = msg,
		                           .len = sizeof msg - 1,
		                           .mail_from = "",
		                           .internal_date = 1700000000,
		                           .local = &rc[i],
		                           .nlocal = 1};
		if ((r = store_deliver(tx, &d)) < 0)
			return r;
	}
	struct store_upload_req up = {
	    .account_id = account, .type = "a/b", .data = "xyz", .len = 3};
	return store_upload_job(tx, &up);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!st) {
		char dir[] = "/tmp/tern-fuzz-blob-XXXXXX", err[256];
		if (!mkdtemp(dir) || store_open(&st, dir, NULL, err, sizeof err) < 0 ||
		    store_exec(st, setup, NULL) < 0)
			abort();
	}
	char *id = malloc(size + 1);
	if (!id)
		return 0;
	memcpy(id, data, size);
	id[size] = '\0';
	struct jmap_limits limits = {0};
	struct jmap_account a = {st, account, "u@example.test", &limits, NULL};
	struct buf out = {0};
	char type[64], name[64];
	int r =
	    jmap_blob_read(store_reader(st), &a, id, &out, type, sizeof type, name, sizeof name);
	if (r < 0 || r > 1 || (r == 1 && out.len > sizeof msg) || strnlen(type, sizeof type) == 64)
		abort();
	buf_free(&out);
	free(id);
	return 0;
}
