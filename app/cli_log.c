/* cli_log: `tern log level LEVEL`: the running server's log level, changed
 * without a restart (the mechanism is app/log_control.c). */
#include "app/cli.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "app/log_control.h"
#include "lib/log.h"

static const char usage[] = "usage: tern [--config FILE] log level debug|info|warn|error\n"
                            "\n"
                            "Changes the level of the running `tern serve` of this configuration\n"
                            "(its data_dir) until it stops; [server] log_level rules at start.\n";

int cli_log(const struct config *cfg, int argc, char **argv)
{
	if (!cfg) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc != 2 || strcmp(argv[0], "level") != 0) {
		fputs(usage, stderr);
		return 2;
	}
	if (log_level_parse(argv[1]) < 0) {
		fprintf(stderr, "tern log level: unknown level '%s' (debug|info|warn|error)\n",
		        argv[1]);
		return 2;
	}
	char err[1300];
	int rc = log_control_request(cfg->data_dir, argv[1], 5000, err, sizeof err);
	if (rc < 0) {
		fprintf(stderr, "tern log level: %s\n", err);
		return 1;
	}
	printf("log level %s: taken by the running server\n", argv[1]);
	return 0;
}
