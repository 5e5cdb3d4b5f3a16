/* cli_input: what an account's commands (`tern sieve`, `tern contacts`)
 * take before they act: the store opened and the account found, and a
 * file (or "-", standard input) read whole, with the store's bound on its
 * size checked before anything else. */
#include "app/cli.h"
#include "store/accounts.h"
#include "store/store.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_read_input(const char *cmd, const char *path, size_t max, char **out, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "tern %s: cannot read %s: %s\n", cmd, path, strerror(errno));
		return -1;
	}
	char *buf = malloc(max + 1);
	size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
	bool bad = !buf || ferror(f);
	if (f != stdin)
		fclose(f);
	if (bad) {
		fprintf(stderr, "tern %s: cannot read %s\n", cmd, path);
		free(buf);
		return -1;
	}
	if (n > max) {
		fprintf(stderr, "tern %s: %s is larger than %zu bytes\n", cmd, path, max);
		free(buf);
		return -1;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

int cli_open_account(const struct config *cfg, const char *group, const char *cmd,
                     const char *address, struct store **st, int64_t *account_id)
{
	char err[512];
	if (store_open(st, cfg->data_dir, NULL, err, sizeof err) < 0) {
		fprintf(stderr, "tern: cannot open the store in %s: %s\n", cfg->data_dir, err);
		return -1;
	}
	struct store_account acct;
	if (store_account_lookup(store_reader(*st), address, &acct) <= 0) {
		fprintf(stderr, "tern %s %s: no account %s\n", group, cmd, address);
		store_close(st);
		return -1;
	}
	*account_id = acct.id;
	return 0;
}
