/* cli_admin: `tern domain|user|alias ...` — account administration.
 *
 * Each subcommand opens the store without a loop (no writer thread) and
 * makes its change in one store_exec() transaction, so it is safe to run
 * while `tern serve` is running: the server reads through to SQLite and
 * sees the change at once. The change itself, its rules and its error
 * words are admin/'s, shared with the admin API; this file parses argv,
 * reads passwords and prints. */
#include "app/cli.h"
#include "app/first_start.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "admin/admin.h"
#include "auth/auth.h"
#include "auth/scram_keys.h"
#include "store/accounts.h"
#include "store/store.h"

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
	const char *problem = admin_password_problem(out, strlen(out));
	if (problem) {
		fprintf(stderr, "tern: %s\n", problem);
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
	char quota[48] = "";
	if (a->quota_bytes > 0) {
		char size[32];
		cli_fmt_size(a->quota_bytes, size, sizeof size);
		snprintf(quota, sizeof quota, " (quota %s)", size);
	}
	printf("%s%s%s\n", a->address, a->disabled ? " (disabled)" : "", quota);
	return 0;
}
static int print_alias(void *ud, const char *source, const char *target)
{
	printf("%s -> %s\n", source, target);
	return 0;
}

/* Explain a failed op in the words of the command that caused it. */
static int report(const struct admin_op *op, const char *arg, int rc)
{
	if (rc >= 0)
		return 0;
	char buf[400];
	fprintf(stderr, "tern %s %s: %s\n", admin_kind_name(op->kind), arg,
	        admin_op_error(op, rc, true, buf, sizeof buf));
	return 1;
}

/* Run one op in its own transaction; rc as store_exec(). */
static int run(struct store *st, struct admin_op *op, enum admin_kind kind, const char *a,
               const char *b)
{
	if (admin_op_set(op, kind, a, b) < 0)
		return -EINVAL; /* longer than any valid name */
	return store_exec(st, admin_op_run, op);
}

static const char usage_domain[] =
    "usage: tern domain add NAME | list | del NAME | dns NAME\n\n"
    "Domains tern accepts mail for. Deleting a domain that still\n"
    "has accounts is refused. dns prints the records to publish for NAME\n"
    "(A/AAAA hint, MX, SPF, DKIM, DMARC, MTA-STS, TLS-RPT, autoconfig and\n"
    "autodiscover, SRV) as zone-file lines.\n";
static const char usage_user[] =
    "usage: tern user add ADDRESS [--password-stdin]\n"
    "       tern user passwd ADDRESS [--password-stdin]\n"
    "       tern user list\n"
    "       tern user quota ADDRESS SIZE\n"
    "       tern user del ADDRESS\n\n"
    "The password is read from the terminal (twice), or as one line from standard\n"
    "input with --password-stdin. It is never taken from the command line.\n"
    "A new account gets INBOX, Sent, Drafts, Trash, Junk and Archive.\n"
    "SIZE is bytes, or with K, M, G or T (powers of 1024): 500M, 2G; 0 or none\n"
    "for no limit.\n";
static const char usage_alias[] = "usage: tern alias add SOURCE TARGET | list | del SOURCE\n\n"
                                  "SOURCE is an address, or @domain for a catch-all.\n"
                                  "TARGET is a local account or any other address.\n";

static int cmd_domain(const struct config *cfg, struct store *st, int argc, char **argv)
{
	struct store_rd *rd = store_reader(st);
	if (argc == 1 && strcmp(argv[0], "list") == 0)
		return admin_domains(rd, print_domain, NULL) < 0 ? 1 : 0;
	if (argc == 2 && strcmp(argv[0], "dns") == 0)
		return cli_domain_dns(cfg, rd, argv[1]);
	if (argc == 2 && (strcmp(argv[0], "add") == 0 || strcmp(argv[0], "del") == 0)) {
		bool add = argv[0][0] == 'a';
		struct admin_op op;
		int rc = run(st, &op, add ? ADMIN_DOMAIN_ADD : ADMIN_DOMAIN_DEL, argv[1], NULL);
		if (rc == 0)
			printf("domain %s %s\n", argv[1], add ? "added" : "deleted");
		return report(&op, argv[1], rc);
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
		return admin_users(rd, print_account, NULL) < 0 ? 1 : 0;
	if (argc == 3 && strcmp(argv[0], "quota") == 0) {
		struct admin_op op;
		int64_t bytes;
		if (cli_parse_size(argv[2], &bytes) < 0) {
			fprintf(stderr,
			        "tern user quota: '%s' is not a size (500M, 2G, 1048576, or 0 "
			        "or none for no limit)\n",
			        argv[2]);
			return 2;
		}
		if (admin_op_set(&op, ADMIN_USER_QUOTA, argv[1], NULL) < 0)
			return report(&op, argv[1], -EINVAL);
		op.quota = bytes;
		int rc = store_exec(st, admin_op_run, &op);
		if (rc == 0) {
			char size[32];
			cli_fmt_size(bytes, size, sizeof size);
			printf("quota of %s set to %s\n", argv[1],
			       bytes ? size : "none (no limit)");
		}
		return report(&op, argv[1], rc);
	}
	if (argc == 2 && strcmp(argv[0], "del") == 0) {
		struct admin_op op;
		int rc = run(st, &op, ADMIN_USER_DEL, argv[1], NULL);
		if (rc == 0)
			printf("user %s deleted\n", argv[1]);
		return report(&op, argv[1], rc);
	}
	if (argc == 2 && (strcmp(argv[0], "add") == 0 || strcmp(argv[0], "passwd") == 0)) {
		bool add = argv[0][0] == 'a';
		if (!strchr(argv[1], '@')) {
			fprintf(stderr, "tern user %s: '%s' is not an address (user@domain)\n",
			        argv[0], argv[1]);
			return 2;
		}
		struct admin_op op;
		if (admin_op_set(&op, add ? ADMIN_USER_ADD : ADMIN_USER_PASSWD, argv[1], NULL) < 0)
			return report(&op, argv[1], -EINVAL);
		if (!add && admin_user_get(rd, argv[1], NULL) != 1)
			return report(&op, argv[1], -ENOENT);
		int check = add ? admin_user_add_check(rd, argv[1]) : 0;
		if (check < 0) /* before asking for a password that could not be used */
			return report(&op, argv[1], check);
		char password[1024], hash[256], err[256];
		if (read_password(pw_stdin, password, sizeof password) < 0)
			return 1;
		int rc = auth_hash_password(password, hash, sizeof hash, err, sizeof err);
		if (rc == 0 && admin_op_set(&op, op.kind, argv[1], hash) == 0 &&
		    scram_keys_make(password, op.scram_sha1, op.scram_sha256) < 0) {
			snprintf(err, sizeof err, "making the SCRAM keys failed");
			rc = -1;
		}
		explicit_bzero(password, sizeof password);
		explicit_bzero(hash, sizeof hash);
		if (rc < 0) {
			fprintf(stderr, "tern: %s\n", err);
			return 1;
		}
		rc = store_exec(st, admin_op_run, &op);
		if (rc == 0)
			printf(add ? "user %s added (INBOX, Sent, Drafts, Trash, Junk, Archive)\n"
			           : "password of %s changed\n",
			       argv[1]);
		if (rc == 0 && !add && first_start_password_changed(cfg, argv[1]))
			printf("removed %s/%s (the first start's password)\n", cfg->data_dir,
			       FIRST_START_PASSWORD_FILE);
		return report(&op, argv[1], rc);
	}
	fputs(usage_user, stderr);
	return 2;
}

static int cmd_alias(struct store *st, int argc, char **argv)
{
	struct store_rd *rd = store_reader(st);
	if (argc == 1 && strcmp(argv[0], "list") == 0)
		return admin_aliases(rd, print_alias, NULL) < 0 ? 1 : 0;
	if (argc == 3 && strcmp(argv[0], "add") == 0) {
		struct admin_op op;
		int rc = run(st, &op, ADMIN_ALIAS_ADD, argv[1], argv[2]);
		if (rc == 0)
			printf("alias %s -> %s added\n", argv[1], argv[2]);
		return report(&op, argv[1], rc);
	}
	if (argc == 2 && strcmp(argv[0], "del") == 0) {
		struct admin_op op;
		int rc = run(st, &op, ADMIN_ALIAS_DEL, argv[1], NULL);
		if (rc == 0)
			printf("alias %s deleted\n", argv[1]);
		return report(&op, argv[1], rc);
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
		rc = cmd_domain(cfg, st, argc, argv);
	else if (strcmp(cmd, "user") == 0)
		rc = cmd_user(cfg, st, argc, argv);
	else
		rc = cmd_alias(st, argc, argv);
	store_close(&st);
	return rc;
}
