/* cli_dkim: `tern dkim keygen|list|retire` — DKIM keys per domain.
 *
 * keygen makes the key pair here, synchronously (RSA-2048 takes well
 * under a second), and stores it with one store_exec(), like the other
 * admin commands: safe while `tern serve` runs. Without --algorithm it
 * makes both an RSA and an Ed25519 key (RFC 8463 §4 recommends signing
 * with both while verifiers catch up), with selectors "tYYYYMMr" and
 * "tYYYYMMe"; --selector applies to a single key only. Neither keygen nor
 * list ever prints a private key: the store has it for the signer, and
 * the public half is what `tern domain dns` publishes. */
#include "app/cli.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "admin/admin.h"
#include "store/store.h"

static const char usage[] =
    "usage: tern [--config FILE] dkim COMMAND\n"
    "\n"
    "  keygen DOMAIN [--selector S] [--algorithm rsa-2048|ed25519]\n"
    "                    make a key pair and store it; without --algorithm, one of\n"
    "                    each (selectors tYYYYMMr and tYYYYMMe)\n"
    "  list [DOMAIN]     the keys: domain, selector, algorithm, created, retired\n"
    "  retire DOMAIN SELECTOR\n"
    "                    stop publishing and signing with a key; its selector is\n"
    "                    never reused\n"
    "\n"
    "Private keys are never printed. Publish the TXT records `tern domain dns\n"
    "DOMAIN` shows.\n";

static int keygen_one(struct store *st, const char *domain, enum admin_dkim_alg alg,
                      const char *selector)
{
	char sel[STORE_DKIM_SELECTOR_MAX];
	if (selector)
		snprintf(sel, sizeof sel, "%s", selector);
	else
		admin_dkim_selector(alg, (int64_t)time(NULL), sel, sizeof sel);
	struct admin_op op;
	if (admin_op_set(&op, ADMIN_DKIM_ADD, domain, sel) < 0 || !admin_dkim_selector_valid(sel)) {
		fprintf(stderr, "tern dkim keygen %s: malformed selector '%s'\n", domain, sel);
		return 2;
	}
	static struct admin_dkim_key key; /* 5 KiB: not on the stack */
	char err[200];
	if (admin_dkim_generate(alg, &key, err, sizeof err) < 0) {
		fprintf(stderr, "tern dkim keygen %s: %s\n", domain, err);
		return 1;
	}
	op.key = &key;
	int rc = store_exec(st, admin_op_run, &op);
	admin_dkim_key_wipe(&key);
	if (rc < 0) {
		fprintf(stderr, "tern dkim keygen %s %s: %s\n", domain, sel,
		        admin_op_error(&op, rc, true, err, sizeof err));
		return 1;
	}
	printf("dkim key %s._domainkey.%s (%s) created\n", sel, domain, admin_dkim_alg_name(alg));
	return 0;
}

static int cmd_keygen(struct store *st, int argc, char **argv)
{
	const char *domain = NULL, *selector = NULL, *alg_name = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--selector") == 0 && i + 1 < argc)
			selector = argv[++i];
		else if (strcmp(argv[i], "--algorithm") == 0 && i + 1 < argc)
			alg_name = argv[++i];
		else if (!domain && argv[i][0] != '-')
			domain = argv[i];
		else {
			fprintf(stderr, "tern dkim keygen: unexpected argument '%s'\n\n%s", argv[i],
			        usage);
			return 2;
		}
	}
	enum admin_dkim_alg alg;
	if (!domain || (alg_name && admin_dkim_alg_parse(alg_name, &alg) < 0)) {
		fprintf(stderr, "tern dkim keygen: %s\n\n%s",
		        domain ? "--algorithm is rsa-2048 or ed25519" : "needs a DOMAIN", usage);
		return 2;
	}
	if (selector && !alg_name) {
		fprintf(stderr, "tern dkim keygen: --selector names one key; give --algorithm "
		                "too\n");
		return 2;
	}
	if (alg_name)
		return keygen_one(st, domain, alg, selector);
	int rc = keygen_one(st, domain, ADMIN_DKIM_RSA, NULL);
	return rc ? rc : keygen_one(st, domain, ADMIN_DKIM_ED25519, NULL);
}

static int list_cb(void *ud, const struct store_dkim_key *k)
{
	char cr[32], ret[32];
	cli_fmt_time(k->created, cr, sizeof cr);
	cli_fmt_time(k->retired, ret, sizeof ret);
	printf("%-30s %-16s %-15s %-20s %s\n", k->domain, k->selector, k->algorithm, cr, ret);
	(*(int *)ud)++;
	return 0;
}

int cli_dkim(const struct config *cfg, int argc, char **argv)
{
	if (!cfg || argc < 1) {
		fputs(usage, cfg ? stderr : stdout);
		return cfg ? 2 : 0;
	}
	const char *cmd = argv[0];
	bool list = strcmp(cmd, "list") == 0, retire = strcmp(cmd, "retire") == 0;
	if (!list && !retire && strcmp(cmd, "keygen") != 0) {
		fprintf(stderr, "tern dkim: unknown command '%s'\n\n%s", cmd, usage);
		return 2;
	}
	if ((list && argc > 2) || (retire && argc != 3)) {
		fputs(usage, stderr);
		return 2;
	}
	struct store *st;
	char err[512];
	if (store_open(&st, cfg->data_dir, NULL, err, sizeof err) < 0) {
		fprintf(stderr, "tern: cannot open the store in %s: %s\n", cfg->data_dir, err);
		return 1;
	}
	int ret = 0;
	if (list) {
		int n = 0;
		printf("%-30s %-16s %-15s %-20s %s\n", "DOMAIN", "SELECTOR", "ALGORITHM", "CREATED",
		       "RETIRED");
		if (admin_dkim_keys(store_reader(st), argc == 2 ? argv[1] : NULL, list_cb, &n) < 0)
			ret = 1;
		printf("%d key%s\n", n, n == 1 ? "" : "s");
	} else if (retire) {
		struct admin_op op;
		int rc = admin_op_set(&op, ADMIN_DKIM_RETIRE, argv[1], argv[2]) < 0
		             ? -EINVAL
		             : store_exec(st, admin_op_run, &op);
		if (rc < 0) {
			fprintf(stderr, "tern dkim retire %s %s: %s\n", argv[1], argv[2],
			        admin_op_error(&op, rc, true, err, sizeof err));
			ret = 1;
		} else {
			printf("dkim key %s._domainkey.%s retired\n", argv[2], argv[1]);
		}
	} else {
		ret = cmd_keygen(st, argc, argv);
	}
	store_close(&st);
	return ret;
}
