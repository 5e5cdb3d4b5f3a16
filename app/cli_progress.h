/* cli_progress: the progress bar of `tern export` and `tern import` on a
 * terminal's stderr, redrawn at most ten times a second; nothing when
 * stderr is not a terminal (the commands print a summary line instead). */
#ifndef TERN_APP_CLI_PROGRESS_H
#define TERN_APP_CLI_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

struct cli_progress {
	bool tty;
	const char *what; /* "export", "import" */
	uint64_t goal;    /* in units (0: unknown) */
	const char *unit; /* "messages", "bytes" */
	uint64_t last_ns;
	bool drawn;
};
void cli_progress_init(struct cli_progress *p, const char *what, const char *unit, uint64_t goal);
/* done of goal units; label: what is being worked on (a mailbox name). */
void cli_progress_update(struct cli_progress *p, uint64_t done, const char *label);
/* Clears the bar (before a message or the summary). */
void cli_progress_clear(struct cli_progress *p);

#endif
