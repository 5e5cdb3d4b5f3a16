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
#include "tests/fuzz/jmap_harness.h"
#include "store/accounts.h"
#include "store/contacts.h"
#include "store/store.h"

static struct store *st;
static int64_t account;
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
	st = fuzz_jmap_store("fuzz_jmap_contacts", dir, setup);
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
