/* fuzz_jmap_request: the JMAP request runner (proto/jmap/api.c) with the
 * server's method table on arbitrary request bodies, as an account of a
 * temporary store with mailboxes and messages. Every body must get
 * exactly one answer, at once (these methods only read), that is JSON. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/jmap/jmap.h"
#include "tests/fuzz/jmap_harness.h"
#include "store/accounts.h"
#include "store/entries.h"
#include "store/mailboxes.h"
#include "store/store.h"

static struct store *st;
static int64_t account;
static int setup(struct store_tx *tx, void *arg)
{
	(void)arg;
	int r = store_domain_add(tx, "example.test");
	if (r < 0)
		return r;
	if ((r = store_account_add(tx, "u@example.test", "", &account)) < 0)
		return r;
	int64_t work;
	if ((r = store_mailbox_create(tx, account, "Work/Deep/er", "", &work)) < 0)
		return r;
	static const char msg[] = "From: a@example.org\r\nSubject: x\r\n\r\nbody\r\n";
	for (int i = 0; i < 3; i++) {
		struct store_append_req aq = {.account_id = account,
		                              .mailbox_id = work,
		                              .data = msg,
		                              .len = sizeof msg - 1,
		                              .flags = (uint32_t)i,
		                              .keywords = ""};
		if ((r = store_append_job(tx, &aq)) < 0)
			return r;
	}
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	static char dir[] = "/tmp/fuzz_jmap_XXXXXX";
	st = fuzz_jmap_store("fuzz_jmap_request", dir, setup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jmap_account acct = {st, account, "u@example.test", &fuzz_jmap_limits, NULL};
	int answers = 0;
	struct jmap_request *r =
	    jmap_request_start(&acct, (const char *)data, size, fuzz_jmap_on_answer, &answers);
	if (r || answers != 1)
		abort();
	return 0;
}
