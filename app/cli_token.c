/* cli_token: `tern token create|list|revoke` — API tokens.
 *
 * create prints the secret once, alone on standard output (so that
 * `TOKEN=$(tern token create --scope admin)` works), and a note on
 * standard error; the store keeps only its SHA-256, so a lost secret
 * cannot be shown again: revoke it and create another. list never shows
 * a secret, because there is none to show. Like the other admin commands
 * it writes through store_exec(), safe while `tern serve` runs: a revoked
 * token fails at its next request. */
#include "app/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/admin.h"
#include "store/store.h"

static const char usage[] =
    "usage: tern [--config FILE] token COMMAND\n"
    "\n"
    "  create --scope SCOPE [--account ADDRESS | --domain DOMAIN] [--name NAME]\n"
    "         [--expires DAYS]\n"
    "                    make a token; its secret is printed once, on standard output\n"
    "  list              every token: id, scope, created, last used, expiry, owner, name\n"
    "  revoke ID         delete a token; it stops working at once\n"
    "\n"
    "Scopes: admin (the admin API, /api/admin/); send (POST /api/v1/send), which\n"
    "needs --account (send as that account's addresses and aliases) or --domain\n"
    "(send as any address of that domain).\n";

static int list_cb(void *ud, const struct store_token *t)
{
	char cr[32], used[32], exp[32], owner[32] = "-";
	cli_fmt_time(t->created, cr, sizeof cr);
	cli_fmt_time(t->last_used, used, sizeof used);
	cli_fmt_time(t->expires, exp, sizeof exp);
	if (t->account_id)
		snprintf(owner, sizeof owner, "account:%lld", (long long)t->account_id);
	else if (t->domain_id)
		snprintf(owner, sizeof owner, "domain:%lld", (long long)t->domain_id);
	printf("%-6lld %-8s %-20s %-20s %-20s %-16s %s\n", (long long)t->id, t->scope, cr, used,
	       exp, owner, t->name[0] ? t->name : "-");
	(*(int *)ud)++;
	return 0;
}

static int parse_int(const char *s, int64_t *out)
{
	char *end;
	long long v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v <= 0)
		return -1;
	*out = v;
	return 0;
}

static int cmd_create(struct store *st, int argc, char **argv)
{
	const char *scope = NULL, *name = "", *account = NULL, *domain = NULL;
	int64_t days = 0;
	for (int i = 1; i < argc; i++) {
		bool has_value = i + 1 < argc;
		if (strcmp(argv[i], "--scope") == 0 && has_value)
			scope = argv[++i];
		else if (strcmp(argv[i], "--account") == 0 && has_value)
			account = argv[++i];
		else if (strcmp(argv[i], "--domain") == 0 && has_value)
			domain = argv[++i];
		else if (strcmp(argv[i], "--name") == 0 && has_value)
			name = argv[++i];
		else if (strcmp(argv[i], "--expires") == 0 && has_value) {
			if (parse_int(argv[++i], &days) < 0 || days > 36500) {
				fprintf(stderr, "tern token create: --expires takes a number of "
				                "days (1 to 36500)\n");
				return 2;
			}
		} else {
			fprintf(stderr, "tern token create: unexpected argument '%s'\n\n%s",
			        argv[i], usage);
			return 2;
		}
	}
	if (!scope || !admin_scope_valid(scope)) {
		fprintf(stderr, "tern token create: %s%s%s; scopes: %s\n",
		        scope ? "unknown scope '" : "needs --scope", scope ? scope : "",
		        scope ? "'" : "", admin_scope_names());
		return 2;
	}
	bool needs_owner = admin_scope_has_owner(scope);
	if (account && domain) {
		fprintf(stderr, "tern token create: --account or --domain, not both\n");
		return 2;
	}
	if (needs_owner && !account && !domain) {
		fprintf(stderr,
		        "tern token create: a %s token needs --account ADDRESS or "
		        "--domain DOMAIN\n",
		        scope);
		return 2;
	}
	if (!needs_owner && (account || domain)) {
		fprintf(stderr, "tern token create: a %s token belongs to no account or domain\n",
		        scope);
		return 2;
	}
	const char *owner = account ? account : domain ? domain : "";
	struct admin_op op;
	if (strlen(owner) >= sizeof op.owner) {
		fprintf(stderr, "tern token create: the account or domain is too long\n");
		return 2;
	}
	if (admin_op_set(&op, ADMIN_TOKEN_CREATE, name, scope) < 0 ||
	    strlen(name) >= STORE_TOKEN_NAME_MAX) {
		fprintf(stderr, "tern token create: the name is too long (at most %d bytes)\n",
		        STORE_TOKEN_NAME_MAX - 1);
		return 2;
	}
	snprintf(op.owner, sizeof op.owner, "%s", owner);
	op.owner_is_domain = domain != NULL;
	if (days)
		op.expires = (int64_t)time(NULL) + days * 86400;
	char secret[ADMIN_TOKEN_SIZE];
	if (admin_token_make(secret, op.digest) < 0) {
		fprintf(stderr, "tern token create: no randomness (getrandom failed)\n");
		return 1;
	}
	int rc = store_exec(st, admin_op_run, &op);
	if (rc < 0) {
		char buf[200];
		explicit_bzero(secret, sizeof secret);
		fprintf(stderr, "tern token create: %s\n",
		        admin_op_error(&op, rc, true, buf, sizeof buf));
		return 1;
	}
	fprintf(stderr,
	        "tern: token %lld created (scope %s); its secret follows, shown only now:\n",
	        (long long)op.new_id, scope);
	printf("%s\n", secret);
	explicit_bzero(secret, sizeof secret);
	return 0;
}

int cli_token(const struct config *cfg, int argc, char **argv)
{
	if (!cfg || argc < 1) {
		fputs(usage, cfg ? stderr : stdout);
		return cfg ? 2 : 0;
	}
	const char *cmd = argv[0];
	if (strcmp(cmd, "create") != 0 && strcmp(cmd, "list") != 0 && strcmp(cmd, "revoke") != 0) {
		fprintf(stderr, "tern token: unknown command '%s'\n\n%s", cmd, usage);
		return 2;
	}
	int64_t id = 0;
	if (strcmp(cmd, "revoke") == 0 && (argc != 2 || parse_int(argv[1], &id) < 0)) {
		fprintf(stderr, "tern token revoke: needs a token id (see `tern token list`)\n");
		return 2;
	}
	struct store *st;
	char err[512];
	if (store_open(&st, cfg->data_dir, NULL, err, sizeof err) < 0) {
		fprintf(stderr, "tern: cannot open the store in %s: %s\n", cfg->data_dir, err);
		return 1;
	}
	int ret = 0;
	if (strcmp(cmd, "create") == 0) {
		ret = cmd_create(st, argc, argv);
	} else if (strcmp(cmd, "list") == 0) {
		int n = 0;
		printf("%-6s %-8s %-20s %-20s %-20s %-16s %s\n", "ID", "SCOPE", "CREATED",
		       "LAST USED", "EXPIRES", "OWNER", "NAME");
		if (admin_tokens(store_reader(st), list_cb, &n) < 0)
			ret = 1;
		printf("%d token%s\n", n, n == 1 ? "" : "s");
	} else {
		struct admin_op op = {.kind = ADMIN_TOKEN_REVOKE, .id = id};
		int rc = store_exec(st, admin_op_run, &op);
		if (rc == -ENOENT) {
			fprintf(stderr, "tern token revoke: no token %lld\n", (long long)id);
			ret = 1;
		} else if (rc < 0) {
			fprintf(stderr, "tern token revoke: failed (%s)\n", strerror(-rc));
			ret = 1;
		} else {
			printf("token %lld revoked\n", (long long)id);
		}
	}
	store_close(&st);
	return ret;
}
