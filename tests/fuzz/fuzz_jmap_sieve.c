/* fuzz_jmap_sieve: what JMAP for Sieve parses from a client
 * (proto/jmap/sieve_script*.c): script ids and script blob ids
 * ("S<id>", "Z<id>.<version>"), and the arguments of
 * SieveScript/get, /query, /changes (its sinceState), /validate and /set,
 * run through the real request runner as an account of a temporary store
 * that holds two scripts. The first byte picks what the rest is:
 *   0  an id: a store id it parses to must format back to the same id
 *   1  a blob id: read as the account's (found only for a current version)
 *   2+ the arguments object of SieveScript/<method>: exactly one answer,
 *      at once (no writer thread: /set's job cannot be queued), as JSON. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"
#include "proto/jmap/blob_read.h"
#include "proto/jmap/jmap.h"
#include "tests/fuzz/jmap_harness.h"
#include "proto/jmap/sieve_script.h"
#include "store/accounts.h"
#include "store/sieve.h"
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
	static const char keep[] = "keep;\r\n";
	static const char file[] = "require \"fileinto\";\r\nfileinto \"Work\";\r\n";
	if ((r = store_sieve_put(tx, account, "a", keep, sizeof keep - 1)) < 0 ||
	    (r = store_sieve_put(tx, account, "my script", file, sizeof file - 1)) < 0)
		return r;
	return store_sieve_activate(tx, account, "a");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	static char dir[] = "/tmp/fuzz_jmap_sieve_XXXXXX";
	st = fuzz_jmap_store("fuzz_jmap_sieve", dir, setup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 4096)
		return 0;
	char text[4097];
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (data[0] == 0) {
		char id[JMAP_SIEVE_ID_MAX];
		int64_t n;
		if (jmap_sieve_id_parse(text, &n)) {
			if (n <= 0)
				abort();
			jmap_sieve_id(n, id);
			if (strcmp(id, text) != 0) /* one id per script */
				abort();
		}
		return 0;
	}
	if (data[0] == 1) {
		struct jmap_account acct = {st, account, "u@example.test", &fuzz_jmap_limits, NULL};
		struct buf out = {0};
		char type[64], fname[64];
		struct store_rd *rd = store_reader(st);
		bool begun = store_read_begin(rd);
		int r =
		    jmap_blob_read(rd, &acct, text, &out, type, sizeof type, fname, sizeof fname);
		store_read_end(rd, begun);
		if (r < 0 || (r == 0 && out.len != 0))
			abort();
		buf_free(&out);
		return 0;
	}
	static const char *const methods[] = {"get", "query", "changes", "validate", "set"};
	struct buf req = {0};
	buf_printf(&req,
	           "{\"using\":[\"urn:ietf:params:jmap:core\",\"urn:ietf:params:jmap:sieve\"],"
	           "\"methodCalls\":[[\"SieveScript/%s\",",
	           methods[(data[0] - 2) % 5]);
	buf_add(&req, text, size - 1);
	buf_adds(&req, ",\"c\"]]}");
	struct jmap_account acct = {st, account, "u@example.test", &fuzz_jmap_limits, NULL};
	int answers = 0;
	struct jmap_request *r =
	    jmap_request_start(&acct, req.data, req.len, fuzz_jmap_on_answer, &answers);
	buf_free(&req);
	if (r || answers != 1)
		abort();
	return 0;
}
