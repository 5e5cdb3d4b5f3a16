/* cli_verify: `tern verify [--quick] [FILE]`: the checks of store/verify.h
 * on the configured store (also while the server runs: one read-only
 * snapshot) or on FILE (a backup, or a copy of tern.db). One line per
 * finding, then a summary; exit 0 clean, 1 findings, 2 could not run. */
#include "app/cli.h"

#include <stdio.h>
#include <string.h>

#include "store/verify.h"

static const char usage_verify[] =
    "usage: tern [--config FILE] verify [--quick] [FILE]\n\n"
    "Checks the store (or FILE: a backup, or a copy of tern.db) read-only:\n"
    "SQLite's integrity_check (quick_check with --quick) and foreign keys;\n"
    "messages no entry holds, entries whose message is gone, reference counts;\n"
    "per mailbox UIDs below UIDNEXT and used once, MODSEQs up to HIGHESTMODSEQ,\n"
    "UIDVALIDITY; queue rows; IMAP index rows of messages that are gone.\n"
    "Prints one line per finding and a summary. Exit 0: clean, 1: findings,\n"
    "2: could not run. Safe while the server runs.\n";

static void print_finding(void *ud, const char *check, const char *detail)
{
	printf("%s: %s\n", check, detail);
}

int cli_verify(const struct config *cfg, int argc, char **argv)
{
	if (!cfg) {
		fputs(usage_verify, stdout);
		return 0;
	}
	bool quick = false;
	const char *file = NULL;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			quick = true;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "tern verify: unknown option %s (see tern verify --help)\n",
			        argv[i]);
			return 2;
		} else if (file) {
			fprintf(stderr, "tern verify: one FILE only ('%s' is one too many)\n",
			        argv[i]);
			return 2;
		} else {
			file = argv[i];
		}
	}
	char path[4200];
	if (file)
		snprintf(path, sizeof path, "%s", file);
	else
		snprintf(path, sizeof path, "%s/tern.db", cfg->data_dir);
	char err[1024];
	struct store_verify_summary sum;
	if (store_verify(path, quick, print_finding, NULL, &sum, err, sizeof err) < 0) {
		fprintf(stderr, "tern verify: %s: could not check\n", err);
		return 2;
	}
	printf("verify %s: %d checks, %lld findings; %lld messages, %lld mailbox entries in %lld "
	       "mailboxes, %lld queue rows\n",
	       path, sum.checks, (long long)sum.findings, (long long)sum.messages,
	       (long long)sum.entries, (long long)sum.mailboxes, (long long)sum.queue);
	return sum.findings ? 1 : 0;
}
