/* test_jmap_sieve: the ids of JMAP for Sieve (proto/jmap/sieve_script_id.c)
 * and sieve_check (sieve/check.c): a script's id and back ("S" + the
 * store's id in decimal, one id per script: leading zeros, signs, other
 * prefixes and the old base64url ids refused), the blob id's form; the
 * script blobs read from a real store: the current version only, the
 * account's own only, a rename keeping the id but not the blob id; the
 * state SieveScript/changes reads; and the check's answers: empty, too
 * big, a compile error with "LINE:COL", a good script. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "lib/buf.h"
#include "proto/jmap/sieve_script.h"
#include "sieve/sieve.h"
#include "store/accounts.h"
#include "store/sieve.h"
#include "store/store.h"

static void ids(void)
{
	char id[JMAP_SIEVE_ID_MAX];
	int64_t n = 0;
	jmap_sieve_id(42, id);
	CHECK(strcmp(id, "S42") == 0, "id %s", id);
	CHECK_THAT(jmap_sieve_id_parse(id, &n) && n == 42);
	jmap_sieve_id(INT64_MAX, id);
	CHECK_THAT(jmap_sieve_id_parse(id, &n) && n == INT64_MAX);
	static const char *const bad[] = {
	    "",
	    "S",
	    "42",
	    "Z42",
	    "S0",
	    "S042",
	    "S-1",
	    "S+1",
	    "S 1",
	    "S1 ",
	    "S1a",
	    "SYQ",                  /* the base64url ids before schema 24 */
	    "S9223372036854775808", /* over INT64_MAX */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(!jmap_sieve_id_parse(bad[i], &n), "'%s' is not a script id", bad[i]);

	char blob[JMAP_SIEVE_ID_MAX];
	jmap_sieve_blob_id(7, 1765100000, blob);
	CHECK(strcmp(blob, "Z7.1765100000") == 0, "blob id %s", blob);
}

static int64_t alice, bob, work_id, home_id;

static int setup(struct store_tx *tx, void *arg)
{
	(void)arg;
	int r = store_domain_add(tx, "example.test");
	if (r == 0)
		r = store_account_add(tx, "alice@example.test", "x", &alice);
	if (r == 0)
		r = store_account_add(tx, "bob@example.test", "x", &bob);
	if (r == 0)
		r = store_sieve_put(tx, alice, "work", "keep;", 5);
	if (r == 0)
		r = store_sieve_put(tx, alice, "home", "stop;", 5);
	return r;
}

static int rename_work(struct store_tx *tx, void *arg)
{
	(void)arg;
	return store_sieve_rename_id(tx, alice, work_id, "office");
}

/* What a blob id reads as alice (or bob): 1 and the text, 0, negative. */
static int read_blob(int64_t account, const char *blob_id, char *text, size_t size, struct store *s)
{
	struct buf out = {0};
	int r = jmap_sieve_blob_read(store_reader(s), account, blob_id, &out);
	snprintf(text, size, "%.*s", (int)out.len, out.data ? out.data : "");
	buf_free(&out);
	return r;
}

static void blobs_and_state(void)
{
	char dir[] = "/tmp/test_jmap_sieve.XXXXXX";
	struct store *s = NULL;
	char err[256], text[64];
	if (!mkdtemp(dir) || store_open(&s, dir, NULL, err, sizeof err) < 0) {
		CHECK(0, "store: %s", err);
		return;
	}
	CHECK_THAT(store_exec(s, setup, NULL) == 0);
	struct store_rd *rd = store_reader(s);
	work_id = store_sieve_id_of(rd, alice, "work");
	home_id = store_sieve_id_of(rd, alice, "home");
	CHECK(work_id > 0 && home_id > work_id, "ids %lld %lld", (long long)work_id,
	      (long long)home_id);

	struct jmap_sieve_list l;
	CHECK_THAT(jmap_sieve_list_read(rd, alice, &l) == 0 && l.n == 2);
	char state1[JMAP_SIEVE_STATE_MAX], blob[JMAP_SIEVE_ID_MAX], old_blob[JMAP_SIEVE_ID_MAX];
	jmap_sieve_state_of(&l, state1);
	const struct store_sieve_script *work = l.v[0].id == work_id ? &l.v[0] : &l.v[1];
	jmap_sieve_blob_id(work->id, work->updated, old_blob);
	jmap_sieve_list_free(&l);

	CHECK_THAT(read_blob(alice, old_blob, text, sizeof text, s) == 1 &&
	           strcmp(text, "keep;") == 0);
	CHECK_THAT(read_blob(bob, old_blob, text, sizeof text, s) == 0); /* alice's */
	static const char *const bad[] = {"Z", "Z.1", "Z1.", "Z01.5", "Zx.5", "Z1.5.5", "S1.5", ""};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(read_blob(alice, bad[i], text, sizeof text, s) == 0, "blob '%s'", bad[i]);

	/* a rename keeps the id; the blob of before is another version */
	CHECK_THAT(store_exec(s, rename_work, NULL) == 0);
	struct store_sieve_script info;
	CHECK_THAT(store_sieve_get_id(rd, alice, work_id, NULL, NULL, &info) == 1 &&
	           strcmp(info.name, "office") == 0 && info.size == 5);
	CHECK_THAT(read_blob(alice, old_blob, text, sizeof text, s) == 0);
	jmap_sieve_blob_id(work_id, info.updated, blob);
	CHECK_THAT(read_blob(alice, blob, text, sizeof text, s) == 1 && strcmp(text, "keep;") == 0);

	/* the state: another one after the rename, same count and highest id */
	char state2[JMAP_SIEVE_STATE_MAX];
	CHECK_THAT(jmap_sieve_list_read(rd, alice, &l) == 0);
	jmap_sieve_state_of(&l, state2);
	jmap_sieve_list_free(&l);
	char tail1[64], tail2[64];
	CHECK(strcmp(state1, state2) != 0 && sscanf(state1, "%*d-%63s", tail1) == 1 &&
	          sscanf(state2, "%*d-%63s", tail2) == 1 && strcmp(tail1, tail2) == 0,
	      "states %s %s", state1, state2);
	store_close(&s);
	check_remove_dir(dir);
}

int main(void)
{
	ids();
	blobs_and_state();

	char err[256];
	CHECK(sieve_check("", 0, err, sizeof err) == -ENODATA, "empty");
	static char big[STORE_SIEVE_SCRIPT_MAX + 2];
	memset(big, '#', sizeof big - 1);
	CHECK(sieve_check(big, sizeof big - 1, err, sizeof err) == -EFBIG, "too big");
	static const char bad_script[] = "require \"fileinto\";\nif true {\n  fileinto \"x\"\n}\n";
	CHECK(sieve_check(bad_script, sizeof bad_script - 1, err, sizeof err) == -EINVAL &&
	          strncmp(err, "4:1: ", 5) == 0,
	      "compile error: %s", err);
	CHECK(sieve_check("keep;", 5, err, sizeof err) == 0, "a good one");
	return check_report("test_jmap_sieve");
}
