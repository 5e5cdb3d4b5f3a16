/* fuzz_jmap_vacation: what VacationResponse (proto/jmap/vacation_response.c)
 * reads from outside: the first line of the webmail's managed script
 * (sieve_managed.c; anyone may PUTSCRIPT a "webmail" script), and the
 * arguments of VacationResponse/get and /set. The first byte picks:
 *   0    the bytes are a script's text: read as the pages' data or not;
 *        when read, the text written from it reads back and is a fixed
 *        point (written again, the same bytes), and its vacation part
 *        compiles (sieve_check; a rule may not: the page's plainAddress
 *        lets through redirect addresses the compiler refuses)
 *   1, 2 the arguments object of VacationResponse/get or /set, run through
 *        the real request runner as an account of a temporary store whose
 *        active script is a managed one: exactly one answer, at once (no
 *        writer thread: an update's job cannot be queued, so it answers
 *        serverFail after the loop's checks). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "proto/jmap/jmap.h"
#include "proto/jmap/sieve_managed.h"
#include "sieve/sieve.h"
#include "store/accounts.h"
#include "store/sieve.h"
#include "store/store.h"
#include "tests/fuzz/jmap_harness.h"

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
	static const char managed[] =
	    "# tern-webmail v1 {\"rules\":[],\"vacation\":{\"enabled\":true,\"subject\":\"Away\","
	    "\"body\":\"Back soon.\",\"days\":7}}\r\n# Written by the webmail (Settings: Rules, "
	    "Out "
	    "of office): change it there.\r\nrequire [\"vacation\"];\r\n# Out of office\r\n"
	    "vacation :days 7 :subject \"Away\" \"Back soon.\";\r\n";
	if ((r = store_sieve_put(tx, account, "webmail", managed, sizeof managed - 1)) < 0)
		return r;
	return store_sieve_activate(tx, account, "webmail");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	static char dir[] = "/tmp/fuzz_jmap_vacation_XXXXXX";
	st = fuzz_jmap_store("fuzz_jmap_vacation", dir, setup);
	return 0;
}

static void header(const uint8_t *data, size_t size)
{
	struct jmap_managed m;
	int r = jmap_managed_parse((const char *)data, size, &m);
	if (r < 0)
		abort();
	if (r == 0) {
		if (m.n_rules || m.enabled || m.days != 7 || m.subject[0] || m.body[0])
			abort(); /* not the pages': the empty data */
		jmap_managed_free(&m);
		return;
	}
	struct buf a = {0}, b = {0};
	if (jmap_managed_text(&m, &a) < 0)
		abort();
	char err[256];
	if (a.len <= STORE_SIEVE_SCRIPT_MAX && sieve_check(a.data, a.len, err, sizeof err) < 0) {
		/* the compiler may refuse a rule the page accepts (a redirect
		 * address it finds bad): the reply itself always compiles */
		struct jmap_managed no_rules = m;
		no_rules.n_rules = 0;
		struct buf c = {0};
		if (jmap_managed_text(&no_rules, &c) < 0 ||
		    sieve_check(c.data, c.len, err, sizeof err) < 0) {
			fprintf(stderr, "does not compile: %s\n", err);
			abort();
		}
		buf_free(&c);
	}
	struct jmap_managed again;
	if (jmap_managed_parse(a.data, a.len, &again) != 1 || again.n_rules != m.n_rules ||
	    again.enabled != m.enabled || again.days != m.days ||
	    strcmp(again.subject, m.subject) || strcmp(again.body, m.body))
		abort();
	if (jmap_managed_text(&again, &b) < 0 || a.len != b.len || memcmp(a.data, b.data, a.len))
		abort();
	buf_free(&a);
	buf_free(&b);
	jmap_managed_free(&m);
	jmap_managed_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 70000)
		return 0;
	if (data[0] == 0) {
		header(data + 1, size - 1);
		return 0;
	}
	if (size > 4096)
		return 0;
	struct buf req = {0};
	buf_printf(&req,
	           "{\"using\":[\"urn:ietf:params:jmap:core\","
	           "\"urn:ietf:params:jmap:vacationresponse\"],"
	           "\"methodCalls\":[[\"VacationResponse/%s\",",
	           data[0] % 2 ? "get" : "set");
	buf_add(&req, data + 1, size - 1);
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
