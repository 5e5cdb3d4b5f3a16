/* cli_input: a file (or "-", standard input) read whole for a command that
 * stores it, with the store's bound on its size checked before anything
 * else: `tern sieve put`, `tern contacts import`. */
#include "app/cli.h"

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
