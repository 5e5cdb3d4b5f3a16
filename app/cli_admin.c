/* cli_admin: `tern domain|user|alias ...` — account administration.
 *
 * Each subcommand opens the store without a loop (no writer thread) and
 * makes its change in one store_exec() transaction, so it is safe to run
 * while `tern serve` is running: the server reads through to SQLite and
 * sees the change at once. */
#include "app/cli.h"
#include "app/first_start.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "auth/auth.h"
#include "store/accounts.h"
#include "store/store.h"

struct admin_op {
	const char *a; /* first argument (domain, address, alias source) */
	const char *b; /* second argument (hash, alias target) */
	int (*fn)(struct store_tx *tx, const char *a, const char *b);
};

static int run_op(struct store_tx *tx, void *arg)
{
	struct admin_op *op = arg;
	return op->fn(tx, op->a, op->b);
}

static int op_domain_add(struct store_tx *tx, const char *a, const char *b)
{
	return store_domain_add(tx, a);
}
static int op_domain_del(struct store_tx *tx, const char *a, const char *b)
{
	return store_domain_del(tx, a);
}
static int op_user_add(struct store_tx *tx, const char *a, const char *b)
{
	return store_account_add(tx, a, b, NULL);
}
static int op_user_passwd(struct store_tx *tx, const char *a, const char *b)
{
	return store_account_set_password(tx, a, b);
}
static int op_user_del(struct store_tx *tx, const char *a, const char *b)
{
	return store_account_del(tx, a);
}
static int op_alias_add(struct store_tx *tx, const char *a, const char *b)
{
	return store_alias_add(tx, a, b);
}
static int op_alias_del(struct store_tx *tx, const char *a, const char *b)
{
	return store_alias_del(tx, a);
}

static int open_store(const struct config *cfg, struct store **st)
{
	char err[512];
	if (store_open(st, cfg->data_dir, NULL, err, sizeof err) < 0) {
		fprintf(stderr, "tern: cannot open the store in %s: %s\n", cfg->data_dir, err);
		return -1;
	}
	return 0;
}

/* Read a password: one line from stdin, or twice from the terminal with
 * echo off. Returns 0 or -1 (message printed). */
static int read_password(bool from_stdin, char *out, size_t outlen)
{
	if (from_stdin) {
		if (!fgets(out, (int)outlen, stdin)) {
			fprintf(stderr, "tern: --password-stdin: no password on standard input\n");
			return -1;
		}
		out[strcspn(out, "\r\n")] = '\0';
	} else {
		FILE *tty = fopen("/dev/tty", "r+");
		if (!tty) {
			fprintf(stderr,
			        "tern: no terminal to ask for the password; pipe it in with "
			        "--password-stdin\n");
			return -1;
		}
		struct termios old, quiet;
		int fd = fileno(tty);
		tcgetattr(fd, &old);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		char again[1024];
		fputs("New password: ", tty);
		fflush(tty);
		tcsetattr(fd, TCSAFLUSH, &quiet);
		bool ok = fgets(out, (int)outlen, tty) != NULL;
		fputs("\nRepeat password: ", tty);
		fflush(tty);
		ok = ok && fgets(again, sizeof again, tty) != NULL;
		tcsetattr(fd, TCSAFLUSH, &old);
		fputs("\n", tty);
		fclose(tty);
		if (!ok) {
			fprintf(stderr, "tern: no password entered\n");
			return -1;
		}
		out[strcspn(out, "\r\n")] = '\0';
		again[strcspn(again, "\r\n")] = '\0';
		bool same = strcmp(out, again) == 0;
		explicit_bzero(again, sizeof again);
		if (!same) {
			fprintf(stderr, "tern: the passwords do not match; nothing changed\n");
			return -1;
		}
	}
	if (strlen(out) < 8) {
		fprintf(stderr, "tern: the password must have at least 8 characters\n");
		return -1;
	}
	return 0;
}

static int print_domain(void *ud, const char *name)
{
	printf("%s\n", name);
	return 0;
}
static int print_account(void *ud, const struct store_account *a)
{
	printf("%s%s\n", a->address, a->disabled ? " (disabled)" : "");
	return 0;
}
static int print_alias(void *ud, const char *source, const char *target)
{
	printf("%s -> %s\n", source, target);
	return 0;
}

/* Explain a store error in the words of the command that caused it. */
static int report(const char *what, const char *arg, int rc)
{
	if (rc >= 0)
		return 0;
	const char *hint = "";
	char domain_hint[400] = "";
	const char *at = arg ? strrchr(arg, '@') : NULL;
	switch (-rc) {
	case EEXIST:
		hint = "it already exists";
		break;
	case ENOENT:
		if (strcmp(what, "user add") == 0 || strcmp(what, "alias add") == 0) {
			snprintf(domain_hint, sizeof domain_hint,
			         "its domain is not local; add it first with: tern domain add %s",
			         at ? at + 1 : arg);
			hint = domain_hint;
		} else {
			hint = "no such entry (see the list subcommand)";
		}
		break;
	case ENOTEMPTY:
		hint = "it still has accounts; delete them first with: tern user del ADDRESS";
		break;
	case EINVAL:
		hint = "malformed name or address";
		break;
	default:
		hint = strerror(-rc);
	}
	fprintf(stderr, "tern %s %s: %s\n", what, arg ? arg : "", hint);
	return 1;
}

static const char usage_domain[] = "usage: tern domain add NAME | list | del NAME\n\n"
                                   "Domains tern accepts mail for. Deleting a domain that still\n"
                                   "has accounts is refused.\n";
static const char usage_user[] =
    "usage: tern user add ADDRESS [--password-stdin]\n"
    "       tern user passwd ADDRESS [--password-stdin]\n"
    "       tern user list\n"
    "       tern user del ADDRESS\n\n"
    "The password is read from the terminal (twice), or as one line from standard\n"
    "input with --password-stdin. It is never taken from the command line.\n"
    "A new account gets INBOX, Sent, Drafts, Trash, Junk and Archive.\n";
static const char usage_alias[] = "usage: tern alias add SOURCE TARGET | list | del SOURCE\n\n"
                                  "SOURCE is an address, or @domain for a catch-all.\n"
                                  "TARGET is a local account or any other address.\n";

static int cmd_domain(struct store *st, int argc, char **argv)
{
	struct store_rd *rd = store_reader(st);
	if (argc == 1 && strcmp(argv[0], "list") == 0)
		return store_domain_list(rd, print_domain, NULL) < 0 ? 1 : 0;
	if (argc == 2 && (strcmp(argv[0], "add") == 0 || strcmp(argv[0], "del") == 0)) {
		bool add = argv[0][0] == 'a';
		struct admin_op op = {argv[1], NULL, add ? op_domain_add : op_domain_del};
		int rc = store_exec(st, run_op, &op);
		if (rc == 0)
			printf("domain %s %s\n", argv[1], add ? "added" : "deleted");
		return report(add ? "domain add" : "domain del", argv[1], rc);
	}
	fputs(usage_domain, stderr);
	return 2;
}

static int cmd_user(const struct config *cfg, struct store *st, int argc, char **argv)
{
	struct store_rd *rd = store_reader(st);
	bool pw_stdin = false;
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "--password-stdin") == 0) {
			pw_stdin = true;
			memmove(&argv[i], &argv[i + 1], sizeof(char *) * (size_t)(argc - i - 1));
			argc--;
			i--;
		}
	if (argc == 1 && strcmp(argv[0], "list") == 0)
		return store_account_list(rd, print_account, NULL) < 0 ? 1 : 0;
	if (argc == 2 && strcmp(argv[0], "del") == 0) {
		struct admin_op op = {argv[1], NULL, op_user_del};
		int rc = store_exec(st, run_op, &op);
		if (rc == 0)
			printf("user %s deleted\n", argv[1]);
		return report("user del", argv[1], rc);
	}
	if (argc == 2 && (strcmp(argv[0], "add") == 0 || strcmp(argv[0], "passwd") == 0)) {
		bool add = argv[0][0] == 'a';
		if (!strchr(argv[1], '@')) {
			fprintf(stderr, "tern user %s: '%s' is not an address (user@domain)\n",
			        argv[0], argv[1]);
			return 2;
		}
		if (!add) {
			struct store_account acct;
			if (store_account_lookup(rd, argv[1], &acct) != 1)
				return report("user passwd", argv[1], -ENOENT);
		}
		char password[1024], hash[256], err[256];
		if (read_password(pw_stdin, password, sizeof password) < 0)
			return 1;
		int rc = auth_hash_password(password, hash, sizeof hash, err, sizeof err);
		explicit_bzero(password, sizeof password);
		if (rc < 0) {
			fprintf(stderr, "tern: %s\n", err);
			return 1;
		}
		struct admin_op op = {argv[1], hash, add ? op_user_add : op_user_passwd};
		rc = store_exec(st, run_op, &op);
		if (rc == 0)
			printf(add ? "user %s added (INBOX, Sent, Drafts, Trash, Junk, Archive)\n"
			           : "password of %s changed\n",
			       argv[1]);
		if (rc == 0 && !add && first_start_password_changed(cfg, argv[1]))
			printf("removed %s/%s (the first start's password)\n", cfg->data_dir,
			       FIRST_START_PASSWORD_FILE);
		return report(add ? "user add" : "user passwd", argv[1], rc);
	}
	fputs(usage_user, stderr);
	return 2;
}

static int cmd_alias(struct store *st, int argc, char **argv)
{
	struct store_rd *rd = store_reader(st);
	if (argc == 1 && strcmp(argv[0], "list") == 0)
		return store_alias_list(rd, print_alias, NULL) < 0 ? 1 : 0;
	if (argc == 3 && strcmp(argv[0], "add") == 0) {
		struct admin_op op = {argv[1], argv[2], op_alias_add};
		int rc = store_exec(st, run_op, &op);
		if (rc == 0)
			printf("alias %s -> %s added\n", argv[1], argv[2]);
		return report("alias add", argv[1], rc);
	}
	if (argc == 2 && strcmp(argv[0], "del") == 0) {
		struct admin_op op = {argv[1], NULL, op_alias_del};
		int rc = store_exec(st, run_op, &op);
		if (rc == 0)
			printf("alias %s deleted\n", argv[1]);
		return report("alias del", argv[1], rc);
	}
	fputs(usage_alias, stderr);
	return 2;
}

int cli_admin(const struct config *cfg, const char *cmd, int argc, char **argv)
{
	const char *usage = strcmp(cmd, "domain") == 0 ? usage_domain
	                    : strcmp(cmd, "user") == 0 ? usage_user
	                                               : usage_alias;
	if (!cfg) { /* --help */
		fputs(usage, stdout);
		return 0;
	}
	if (argc == 0) {
		fputs(usage, stderr);
		return 2;
	}
	struct store *st;
	if (open_store(cfg, &st) < 0)
		return 1;
	int rc;
	if (strcmp(cmd, "domain") == 0)
		rc = cmd_domain(st, argc, argv);
	else if (strcmp(cmd, "user") == 0)
		rc = cmd_user(cfg, st, argc, argv);
	else
		rc = cmd_alias(st, argc, argv);
	store_close(&st);
	return rc;
}
