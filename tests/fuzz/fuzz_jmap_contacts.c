/* fuzz_jmap_contacts: JMAP for Contacts (proto/jmap/address_book.c,
 * contact_card*.c) through the request runner on arbitrary request
 * bodies, as an account of a temporary store with its two books and a
 * card. Queries (their filters and sorts), gets, /changes states and
 * /set's judging (patches applied, Cards converted) run for real; with
 * no loop the store takes no job, so every /set is answered at once with
 * its changes failed. Every body must get exactly one answer, at once,
 * that is JSON. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/jmap/jmap.h"
#include "store/accounts.h"
#include "store/contacts.h"
#include "store/store.h"

static struct store *st;
static int64_t account;
static const struct jmap_limits limits = {
    .max_size_upload = 1 << 20,
    .max_concurrent_upload = 2,
    .max_size_request = 1 << 16,
    .max_concurrent_requests = 2,
    .max_calls_in_request = 16,
    .max_objects_in_get = 50,
    .max_objects_in_set = 50,
};

static const char card[] = "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:u1\r\nFN:Ann Example\r\n"
                           "N:Example;Ann;;;\r\nEMAIL;TYPE=work;PREF=1:ann@example.org\r\n"
                           "TEL;VALUE=uri;TYPE=cell:tel:+1-555\r\nNOTE:hello\r\n"
                           "X-FOO;X-P=1:bar\r\nEND:VCARD\r\n";

static int setup(struct store_tx *tx, void *arg)
{
	(void)arg;
	int r = store_domain_add(tx, "example.test");
	if (r < 0)
		return r;
	if ((r = store_account_add(tx, "u@example.test", "", &account)) < 0)
		return r;
	if ((r = store_addressbook_ensure(tx, account)) < 0)
		return r;
	struct store_addressbook b;
	if (store_addressbook_get(store_tx_reader(tx), account, 0, NULL, "default", &b) != 1)
		return -1;
	const char *emails[] = {"ann@example.org"};
	return store_card_put(tx, account, b.id, "u1.vcf", "u1", card, sizeof card - 1, emails, 1,
	                      -1, NULL, NULL);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	static char dir[] = "/tmp/fuzz_jmap_contacts_XXXXXX";
	char err[200];
	if (!mkdtemp(dir) || store_open(&st, dir, NULL, err, sizeof err) < 0 ||
	    store_exec(st, setup, NULL) < 0) {
		fprintf(stderr, "fuzz_jmap_contacts: no store: %s\n", err);
		abort();
	}
	return 0;
}

static void on_answer(void *ud, int status, const char *type, const char *body, size_t len)
{
	int *answers = ud;
	++*answers;
	if ((status != 200 && status != 400) || !type || !*type)
		abort();
	json_t *doc = json_loadb(body, len, 0, NULL);
	if (!doc)
		abort();
	json_decref(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jmap_account acct = {st, account, "u@example.test", &limits, NULL};
	int answers = 0;
	struct jmap_request *r =
	    jmap_request_start(&acct, (const char *)data, size, on_answer, &answers);
	if (r || answers != 1)
		abort();
	return 0;
}
