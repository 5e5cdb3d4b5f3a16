/* cli_sieve: `tern sieve list|put|get|activate|delete` — an account's Sieve
 * scripts (store/sieve.h).
 *
 * put compiles the script first (sieve/sieve.h) and stores nothing when it
 * does not compile: the error goes to standard error as "LINE:COL:
 * message", the exit status is 1. So the server never meets a script it
 * cannot run. Like the other admin commands each change is one
 * store_exec() transaction, safe while `tern serve` runs: the next
 * delivery sees the new active script. */
#include "app/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sieve/sieve.h"
#include "store/accounts.h"
#include "store/sieve.h"
#include "store/store.h"

static const char usage[] =
    "usage: tern [--config FILE] sieve COMMAND\n"
    "\n"
    "  list ACCOUNT                the account's scripts; the active one is marked\n"
    "  put ACCOUNT NAME FILE       compile FILE ('-': standard input) and store it as NAME;\n"
    "                              a syntax error is printed as LINE:COL: message\n"
    "  get ACCOUNT NAME            print a script\n"
    "  activate ACCOUNT NAME       make NAME the script that runs at delivery\n"
    "  activate ACCOUNT --none     no script runs\n"
    "  delete ACCOUNT NAME         delete a script (not the active one)\n";

struct sieve_op {
	char kind; /* 'p' put, 'a' activate, 'd' delete */
	int64_t account_id;
	const char *name;
	const char *text;
	size_t len;
};

static int sieve_op_run(struct store_tx *tx, void *arg)
{
	struct sieve_op *o = arg;
	switch (o->kind) {
	case 'p':
		return store_sieve_put(tx, o->account_id, o->name, o->text, o->len);
	case 'a':
		return store_sieve_activate(tx, o->account_id, o->name);
	default:
		return store_sieve_delete(tx, o->account_id, o->name);
	}
}

static int list_cb(void *ud, const struct store_sieve_script *s)
{
	char t[32];
	cli_fmt_time(s->updated, t, sizeof t);
	printf("%-6s %-8zu %-20s %s\n", s->active ? "active" : "-", s->size, t, s->name);
	(*(int *)ud)++;
	return 0;
}

static int cmd_put(struct store *st, int64_t account_id, const char *name, const char *path)
{
	char *text;
	size_t len;
	if (cli_read_input("sieve put", path, STORE_SIEVE_SCRIPT_MAX, &text, &len) < 0)
		return 1;
	char err[256];
	int rc = sieve_check(text, len, err, sizeof err);
	if (rc < 0) {
		if (rc == -EINVAL) /* the compiler's "LINE:COL: message", as it is */
			fprintf(stderr, "%s\n", err);
		else
			fprintf(stderr, "tern sieve put: %s: %s\n", path, err);
		free(text);
		return 1;
	}
	struct sieve_op op = {'p', account_id, name, text, len};
	rc = store_exec(st, sieve_op_run, &op);
	free(text);
	if (rc < 0) {
		fprintf(stderr, "tern sieve put: failed (%s)\n", strerror(-rc));
		return 1;
	}
	printf("script %s stored\n", name);
	return 0;
}

static int cmd_get(struct store *st, int64_t account_id, const char *name)
{
	char *text = NULL;
	size_t len = 0;
	int rc = store_sieve_get(store_reader(st), account_id, name, &text, &len, NULL);
	if (rc <= 0) {
		fprintf(stderr, "tern sieve get: %s\n", rc == 0 ? "no such script" : strerror(-rc));
		return 1;
	}
	fwrite(text, 1, len, stdout);
	free(text);
	return 0;
}

static int cmd_change(struct store *st, char kind, int64_t account_id, const char *name)
{
	struct sieve_op op = {kind, account_id, name, NULL, 0};
	int rc = store_exec(st, sieve_op_run, &op);
	const char *cmd = kind == 'a' ? "activate" : "delete";
	if (rc == -ENOENT) {
		fprintf(stderr, "tern sieve %s: no such script (see tern sieve list)\n", cmd);
		return 1;
	}
	if (rc == -EBUSY) {
		fprintf(stderr,
		        "tern sieve delete: %s is the active script; `tern sieve activate "
		        "ACCOUNT --none` first\n",
		        name);
		return 1;
	}
	if (rc < 0) {
		fprintf(stderr, "tern sieve %s: failed (%s)\n", cmd, strerror(-rc));
		return 1;
	}
	if (kind == 'a' && name)
		printf("script %s is active\n", name);
	else if (kind == 'a')
		printf("no script is active\n");
	else
		printf("script %s deleted\n", name);
	return 0;
}

/* How many arguments after the command each one takes. */
static int wanted_args(const char *cmd)
{
	if (strcmp(cmd, "list") == 0)
		return 1;
	if (strcmp(cmd, "put") == 0)
		return 3;
	if (strcmp(cmd, "get") == 0 || strcmp(cmd, "activate") == 0 || strcmp(cmd, "delete") == 0)
		return 2;
	return -1;
}

int cli_sieve(const struct config *cfg, int argc, char **argv)
{
	if (!cfg || argc < 1) {
		fputs(usage, cfg ? stderr : stdout);
		return cfg ? 2 : 0;
	}
	const char *cmd = argv[0];
	int want = wanted_args(cmd);
	if (want < 0) {
		fprintf(stderr, "tern sieve: unknown command '%s'\n\n%s", cmd, usage);
		return 2;
	}
	if (argc - 1 != want) {
		fprintf(stderr, "tern sieve %s: wrong number of arguments\n\n%s", cmd, usage);
		return 2;
	}
	const char *name = want >= 2 ? argv[2] : NULL;
	bool none = strcmp(cmd, "activate") == 0 && strcmp(argv[2], "--none") == 0;
	if (name && !none && !store_sieve_name_valid(name)) {
		fprintf(stderr,
		        "tern sieve %s: a script name has 1 to %d bytes, no '/' and no control "
		        "characters\n",
		        cmd, STORE_SIEVE_NAME_MAX);
		return 2;
	}
	struct store *st;
	int64_t account_id;
	if (cli_open_account(cfg, "sieve", cmd, argv[1], &st, &account_id) < 0)
		return 1;
	int ret;
	if (strcmp(cmd, "list") == 0) {
		int n = 0;
		printf("%-6s %-8s %-20s %s\n", "ACTIVE", "SIZE", "UPDATED", "NAME");
		ret = store_sieve_list(store_reader(st), account_id, list_cb, &n) < 0 ? 1 : 0;
		printf("%d script%s\n", n, n == 1 ? "" : "s");
	} else if (strcmp(cmd, "put") == 0) {
		ret = cmd_put(st, account_id, name, argv[3]);
	} else if (strcmp(cmd, "get") == 0) {
		ret = cmd_get(st, account_id, name);
	} else {
		ret = cmd_change(st, cmd[0], account_id, none ? NULL : name);
	}
	store_close(&st);
	return ret;
}
