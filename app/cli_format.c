/* cli_format: how the CLI writes what several of its commands show. */
#include "app/cli.h"

#include <stdio.h>
#include <time.h>

void cli_fmt_time(int64_t t, char *out, size_t len)
{
	if (t <= 0) {
		snprintf(out, len, "-");
		return;
	}
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
