/* tlsrpt: the TLS-RPT counters (tlsrpt.h): a small bounded table, loop
 * thread only. When it is full the oldest day's rows make room. */
#include "relay/tlsrpt.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/log.h"

#define TLSRPT_ROWS 1024

struct tlsrpt_row {
	char domain[256];
	char result[40];
	char day[11]; /* YYYY-MM-DD */
	uint64_t count;
};

static struct tlsrpt_row rows[TLSRPT_ROWS];
static size_t nrows;

static void today(char day[11])
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(day, 11, "%Y-%m-%d", &tm);
}

static struct tlsrpt_row *find(const char *domain, const char *result, const char *day)
{
	for (size_t i = 0; i < nrows; i++)
		if (strcmp(rows[i].day, day) == 0 && strcmp(rows[i].result, result) == 0 &&
		    strcasecmp(rows[i].domain, domain) == 0)
			return &rows[i];
	return NULL;
}

void tlsrpt_count(const char *policy_domain, const char *result)
{
	char day[11];
	today(day);
	struct tlsrpt_row *r = find(policy_domain, result, day);
	if (!r) {
		if (nrows == TLSRPT_ROWS) {
			size_t oldest = 0;
			for (size_t i = 1; i < nrows; i++)
				if (strcmp(rows[i].day, rows[oldest].day) < 0)
					oldest = i;
			rows[oldest] = rows[--nrows];
		}
		r = &rows[nrows++];
		memset(r, 0, sizeof *r);
		snprintf(r->domain, sizeof r->domain, "%s", policy_domain);
		snprintf(r->result, sizeof r->result, "%s", result);
		memcpy(r->day, day, sizeof r->day);
	}
	r->count++;
	log_info("tlsrpt domain=%s day=%s result=%s count=%llu", r->domain, r->day, r->result,
	         (unsigned long long)r->count);
}

uint64_t tlsrpt_get(const char *policy_domain, const char *result)
{
	char day[11];
	today(day);
	struct tlsrpt_row *r = find(policy_domain, result, day);
	return r ? r->count : 0;
}

void tlsrpt_clear(void)
{
	nrows = 0;
}
