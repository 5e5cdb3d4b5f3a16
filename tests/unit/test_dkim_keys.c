/* test_dkim_keys: admin/'s DKIM key pairs and names, the store's dkim_keys
 * (add, list without the private key, retire, a selector never reused),
 * and the CLI's sizes for quotas. The key pairs themselves are verified
 * against their p= in tests/integration/test_dkim_admin.py. */
#include "check.h"
#include "admin/admin.h"
#include "app/cli.h"
#include "store/dkim.h"
#include "store/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_sizes(void)
{
	int64_t v;
	CHECK_THAT(cli_parse_size("500M", &v) == 0 && v == 500LL << 20);
	CHECK_THAT(cli_parse_size("2G", &v) == 0 && v == 2LL << 30);
	CHECK_THAT(cli_parse_size("2GB", &v) == 0 && v == 2LL << 30);
	CHECK_THAT(cli_parse_size("2GiB", &v) == 0 && v == 2LL << 30);
	CHECK_THAT(cli_parse_size("1k", &v) == 0 && v == 1024);
	CHECK_THAT(cli_parse_size("1000", &v) == 0 && v == 1000);
	CHECK_THAT(cli_parse_size("0", &v) == 0 && v == 0);
	CHECK_THAT(cli_parse_size("none", &v) == 0 && v == 0);
	CHECK_THAT(cli_parse_size("-1", &v) < 0);
	CHECK_THAT(cli_parse_size("", &v) < 0);
	CHECK_THAT(cli_parse_size("5X", &v) < 0);
	CHECK_THAT(cli_parse_size("1G2", &v) < 0);
	CHECK_THAT(cli_parse_size("99999999999T", &v) < 0);
	char out[32];
	cli_fmt_size(500LL << 20, out, sizeof out);
	CHECK_THAT(strcmp(out, "500M") == 0);
	cli_fmt_size(1000, out, sizeof out);
	CHECK_THAT(strcmp(out, "1000") == 0);
	cli_fmt_size(1536 * 1024, out, sizeof out);
	CHECK_THAT(strcmp(out, "1536K") == 0);
}

static void test_names(void)
{
	enum admin_dkim_alg a;
	CHECK_THAT(admin_dkim_alg_parse("rsa-2048", &a) == 0 && a == ADMIN_DKIM_RSA);
	CHECK_THAT(admin_dkim_alg_parse("ed25519", &a) == 0 && a == ADMIN_DKIM_ED25519);
	CHECK_THAT(admin_dkim_alg_parse("dsa", &a) < 0);
	char sel[32];
	admin_dkim_selector(ADMIN_DKIM_RSA, 1796083200 /* 2026-12-01 */, sel, sizeof sel);
	CHECK_THAT(strcmp(sel, "t202612r") == 0);
	admin_dkim_selector(ADMIN_DKIM_ED25519, 1796083200, sel, sizeof sel);
	CHECK_THAT(strcmp(sel, "t202612e") == 0);
	CHECK_THAT(admin_dkim_selector_valid("s1.mail-2024"));
	CHECK_THAT(!admin_dkim_selector_valid(""));
	CHECK_THAT(!admin_dkim_selector_valid("a b"));
	CHECK_THAT(!admin_dkim_selector_valid("a..b"));
	CHECK_THAT(!admin_dkim_selector_valid(".a"));
	CHECK_THAT(!admin_dkim_selector_valid("a_b"));
	CHECK_THAT(strcmp(admin_dkim_key_type("ed25519-sha256"), "ed25519") == 0);
	CHECK_THAT(strcmp(admin_dkim_key_type("rsa-sha256"), "rsa") == 0);
}

static int collect(void *ud, const struct store_dkim_key *k)
{
	struct store_dkim_key *out = ud;
	out[out[0].id ? (out[1].id ? 2 : 1) : 0] = *k;
	return 0;
}

static void test_store(void)
{
	char dir[] = "/tmp/tern-dkim-XXXXXX", err[256];
	CHECK_THAT(mkdtemp(dir) != NULL);
	struct store *st;
	CHECK_THAT(store_open(&st, dir, NULL, err, sizeof err) == 0);

	struct admin_op op;
	CHECK_THAT(admin_op_set(&op, ADMIN_DOMAIN_ADD, "example.test", NULL) == 0);
	CHECK_THAT(store_exec(st, admin_op_run, &op) == 0);

	static struct admin_dkim_key rsa, ed;
	CHECK_THAT(admin_dkim_generate(ADMIN_DKIM_RSA, &rsa, err, sizeof err) == 0);
	CHECK_THAT(strncmp(rsa.private_key, "-----BEGIN RSA PRIVATE KEY-----", 31) == 0);
	CHECK_THAT(strncmp(rsa.public_key, "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA", 44) ==
	           0);
	CHECK_THAT(admin_dkim_generate(ADMIN_DKIM_ED25519, &ed, err, sizeof err) == 0);
	CHECK_THAT(strlen(ed.private_key) == 44 && strlen(ed.public_key) == 44);

	CHECK_THAT(admin_op_set(&op, ADMIN_DKIM_ADD, "example.test", "r1") == 0);
	op.key = &rsa;
	CHECK_THAT(store_exec(st, admin_op_run, &op) == 0);
	CHECK_THAT(admin_op_set(&op, ADMIN_DKIM_ADD, "example.test", "e1") == 0);
	op.key = &ed;
	CHECK_THAT(store_exec(st, admin_op_run, &op) == 0);
	CHECK_THAT(store_exec(st, admin_op_run, &op) == -EEXIST);
	CHECK_THAT(admin_op_set(&op, ADMIN_DKIM_ADD, "other.test", "e1") == 0);
	op.key = &ed;
	CHECK_THAT(store_exec(st, admin_op_run, &op) == -ENOENT);
	CHECK_THAT(admin_op_set(&op, ADMIN_DKIM_ADD, "example.test", "bad sel") == 0);
	op.key = &ed;
	CHECK_THAT(store_exec(st, admin_op_run, &op) == -EINVAL);

	struct store_dkim_key keys[3];
	memset(keys, 0, sizeof keys);
	CHECK_THAT(admin_dkim_keys(store_reader(st), "example.test", collect, keys) == 0);
	CHECK_THAT(strcmp(keys[0].selector, "r1") == 0 &&
	           strcmp(keys[0].algorithm, "rsa-sha256") == 0);
	CHECK_THAT(strcmp(keys[1].selector, "e1") == 0 &&
	           strcmp(keys[1].algorithm, "ed25519-sha256") == 0);
	CHECK_THAT(strcmp(keys[1].public_key, ed.public_key) == 0 && keys[1].retired == 0);
	CHECK_THAT(keys[2].id == 0);

	CHECK_THAT(admin_op_set(&op, ADMIN_DKIM_RETIRE, "example.test", "e1") == 0);
	CHECK_THAT(store_exec(st, admin_op_run, &op) == 0);
	CHECK_THAT(store_exec(st, admin_op_run, &op) == -ENOENT);
	memset(keys, 0, sizeof keys);
	CHECK_THAT(admin_dkim_keys(store_reader(st), NULL, collect, keys) == 0);
	CHECK_THAT(keys[1].retired > 0 && keys[0].retired == 0);
	CHECK_THAT(admin_op_set(&op, ADMIN_DKIM_ADD, "example.test", "E1") == 0);
	op.key = &ed;
	CHECK_THAT(store_exec(st, admin_op_run, &op) == -EEXIST); /* never reused, any case */

	admin_dkim_key_wipe(&rsa);
	admin_dkim_key_wipe(&ed);
	store_close(&st);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	CHECK_THAT(system(cmd) == 0);
}

int main(void)
{
	test_sizes();
	test_names();
	test_store();
	return check_report("test_dkim_keys");
}
