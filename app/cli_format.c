/* cli_format: how the CLI writes what several of its commands show. */
#include "app/cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

static const char units[] = "KMGT";

void cli_fmt_size(int64_t bytes, char *out, size_t len)
{
	int u = -1;
	while (u < 3 && bytes >= 1024 && bytes % 1024 == 0) {
		bytes /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(out, len, "%lld", (long long)bytes);
	else
		snprintf(out, len, "%lld%c", (long long)bytes, units[u]);
}

int cli_parse_size(const char *s, int64_t *out)
{
	if (strcasecmp(s, "none") == 0 || strcasecmp(s, "unlimited") == 0) {
		*out = 0;
		return 0;
	}
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (end == s || v < 0 || errno)
		return -1;
	int64_t mult = 1;
	if (*end) {
		const char *u = strchr(units, toupper((unsigned char)*end));
		if (!u || !*u)
			return -1;
		for (const char *p = units; p <= u; p++)
			mult *= 1024;
		end++;
		if (*end == 'i' && end[1] == 'B')
			end++;
		if (*end == 'B' || *end == 'b')
			end++;
	}
	if (*end || v > INT64_MAX / mult)
		return -1;
	*out = v * mult;
	return 0;
}

int cli_transfer_args(const char *cmd, const char *usage, const char *place_name, int argc,
                      char **argv, struct cli_transfer_args *out)
{
	*out = (struct cli_transfer_args){0};
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--mailbox") == 0 || strcmp(argv[i], "--format") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "tern %s: %s needs a value\n\n%s", cmd, argv[i],
				        usage);
				return 2;
			}
			*(argv[i][2] == 'm' ? &out->mailbox : &out->format) = argv[i + 1];
			i++;
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "tern %s: unknown option %s\n\n%s", cmd, argv[i], usage);
			return 2;
		} else if (!out->account) {
			out->account = argv[i];
		} else if (!out->place) {
			out->place = argv[i];
		} else {
			fprintf(stderr, "tern %s: unexpected argument '%s'\n\n%s", cmd, argv[i],
			        usage);
			return 2;
		}
	}
	if (!out->account || !out->place || !out->format) {
		fprintf(stderr, "tern %s: ACCOUNT, --format and %s are needed\n\n%s", cmd,
		        place_name, usage);
		return 2;
	}
	return 0;
}
