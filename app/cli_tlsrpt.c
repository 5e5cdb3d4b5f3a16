/* cli_tlsrpt: `tern tlsrpt show [--day YYYY-MM-DD] [--domain D] [--json]`
 * — the relay's TLS-RPT (RFC 8460) counters from the store.
 *
 * Without --json: one line per day, policy domain, policy and result.
 * With --json: the report of RFC 8460 section 4 for one UTC day (today
 * without --day): organization-name is [server] domain, contact-info
 * postmaster@ it, a random report-id, and one `policies` entry per policy
 * domain and policy with its summary and failure-details. Only reads the
 * store (the relay writes it); sending reports is not done here. */
#include "app/cli.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store.h"
#include "store/tlsrpt.h"

static const char usage[] =
    "usage: tern [--config FILE] tlsrpt show [--day YYYY-MM-DD] [--domain D] [--json]\n"
    "\n"
    "  show              the TLS-RPT counters of outbound sessions: day, policy\n"
    "                    domain, policy type and id, result, count\n"
    "  --json            the RFC 8460 report (section 4) of one day, today\n"
    "                    (UTC) unless --day is given\n";

static void json_str(const char *s)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

static bool valid_day(const char *d)
{
	if (strlen(d) != 10 || d[4] != '-' || d[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !isdigit((unsigned char)d[i]))
			return false;
	return true;
}

static int print_row(void *ud, const struct store_tlsrpt_count *c)
{
	printf("%-10s %-30s %-15s %-20s %-28s %llu\n", c->day, c->policy_domain, c->policy_type,
	       c->policy_id[0] ? c->policy_id : "-", c->result, (unsigned long long)c->count);
	(*(int *)ud)++;
	return 0;
}

/* ---- the RFC 8460 report ---- */

/* The rows of one policy (domain, type, id) come together: the list is
 * ordered by them. */
struct report {
	int npolicies;
	struct store_tlsrpt_count cur; /* key of the open policy; count unused */
	bool open;
	uint64_t ok, failed;
	int nfail;
	char *fails; /* ",{...}" of failure-details, built as we go */
	size_t fails_len;
};

static void close_policy(struct report *r)
{
	if (!r->open)
		return;
	printf("%s\n    {\n      \"policy\": {\n        \"policy-type\": ",
	       r->npolicies ? "," : "");
	json_str(r->cur.policy_type);
	printf(",\n        \"policy-string\": [");
	/* the policy's lines, one array element each */
	char *lines = r->cur.policy_string;
	int n = 0;
	for (char *line = lines; *lines && line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		printf("%s", n++ ? ", " : "");
		json_str(line);
		line = nl ? nl + 1 : NULL;
	}
	printf("],\n        \"policy-domain\": ");
	json_str(r->cur.policy_domain);
	printf("\n      },\n      \"summary\": {\n"
	       "        \"total-successful-session-count\": %llu,\n"
	       "        \"total-failure-session-count\": %llu\n      },\n"
	       "      \"failure-details\": [%s%s\n    }",
	       (unsigned long long)r->ok, (unsigned long long)r->failed, r->fails ? r->fails : "",
	       r->nfail ? "\n      ]" : "]");
	free(r->fails);
	r->fails = NULL;
	r->fails_len = 0;
	r->nfail = 0;
	r->ok = r->failed = 0;
	r->open = false;
	r->npolicies++;
}

static bool same_policy(const struct store_tlsrpt_count *a, const struct store_tlsrpt_count *b)
{
	return strcmp(a->policy_domain, b->policy_domain) == 0 &&
	       strcmp(a->policy_type, b->policy_type) == 0 &&
	       strcmp(a->policy_id, b->policy_id) == 0;
}

static int report_row(void *ud, const struct store_tlsrpt_count *c)
{
	struct report *r = ud;
	if (r->open && !same_policy(&r->cur, c))
		close_policy(r);
	if (!r->open) {
		r->cur = *c;
		r->open = true;
	} else if (c->policy_string[0]) {
		memcpy(r->cur.policy_string, c->policy_string, sizeof c->policy_string);
	}
	if (strcmp(c->result, "success") == 0) {
		r->ok += c->count;
		return 0;
	}
	r->failed += c->count;
	char item[256];
	int n = snprintf(item, sizeof item,
	                 "%s\n        {\"result-type\": \"%s\", \"failed-session-count\": %llu}",
	                 r->nfail ? "," : "", c->result, (unsigned long long)c->count);
	char *f = realloc(r->fails, r->fails_len + (size_t)n + 1);
	if (!f)
		return -1;
	memcpy(f + r->fails_len, item, (size_t)n + 1);
	r->fails = f;
	r->fails_len += (size_t)n;
	r->nfail++;
	return 0;
}

static int print_report(struct store *st, const struct config *cfg, const char *day,
                        const char *domain)
{
	unsigned char rnd[16];
	randombytes_buf(rnd, sizeof rnd);
	rnd[6] = (unsigned char)((rnd[6] & 0x0f) | 0x40); /* a version 4 UUID */
	rnd[8] = (unsigned char)((rnd[8] & 0x3f) | 0x80);
	char id[40];
	int k = 0;
	for (int i = 0; i < 16; i++)
		k += snprintf(id + k, sizeof id - (size_t)k, "%s%02x",
		              i == 4 || i == 6 || i == 8 || i == 10 ? "-" : "", rnd[i]);
	char contact[300];
	snprintf(contact, sizeof contact, "postmaster@%s", cfg->domain);
	printf("{\n  \"organization-name\": ");
	json_str(cfg->domain);
	printf(",\n  \"date-range\": {\n    \"start-datetime\": \"%sT00:00:00Z\",\n"
	       "    \"end-datetime\": \"%sT23:59:59Z\"\n  },\n  \"contact-info\": ",
	       day, day);
	json_str(contact);
	printf(",\n  \"report-id\": \"%s\",\n  \"policies\": [", id);
	static struct report r; /* 4 KiB of policy string: not on the stack */
	memset(&r, 0, sizeof r);
	int rc = store_tlsrpt_list(store_reader(st), day, domain, report_row, &r);
	close_policy(&r);
	printf("%s]\n}\n", r.npolicies ? "\n  " : "");
	return rc < 0 ? 1 : 0;
}

int cli_tlsrpt(const struct config *cfg, int argc, char **argv)
{
	if (!cfg || argc < 1) {
		fputs(usage, cfg ? stderr : stdout);
		return cfg ? 2 : 0;
	}
	if (strcmp(argv[0], "show") != 0) {
		fprintf(stderr, "tern tlsrpt: unknown command '%s'\n\n%s", argv[0], usage);
		return 2;
	}
	const char *day = NULL, *domain = NULL;
	bool json = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--day") == 0 && i + 1 < argc)
			day = argv[++i];
		else if (strcmp(argv[i], "--domain") == 0 && i + 1 < argc)
			domain = argv[++i];
		else if (strcmp(argv[i], "--json") == 0)
			json = true;
		else {
			fprintf(stderr, "tern tlsrpt show: unexpected argument '%s'\n\n%s", argv[i],
			        usage);
			return 2;
		}
	}
	if (day && !valid_day(day)) {
		fprintf(stderr, "tern tlsrpt show: --day is YYYY-MM-DD\n");
		return 2;
	}
	char today[11];
	if (json && !day) {
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(today, sizeof today, "%Y-%m-%d", &tm);
		day = today;
	}
	if (sodium_init() < 0)
		return 1;
	struct store *st;
	char err[512];
	if (store_open(&st, cfg->data_dir, NULL, err, sizeof err) < 0) {
		fprintf(stderr, "tern: cannot open the store in %s: %s\n", cfg->data_dir, err);
		return 1;
	}
	int ret = 0;
	if (json) {
		ret = print_report(st, cfg, day, domain);
	} else {
		int n = 0;
		printf("%-10s %-30s %-15s %-20s %-28s %s\n", "DAY", "POLICY-DOMAIN", "POLICY-TYPE",
		       "POLICY-ID", "RESULT", "COUNT");
		if (store_tlsrpt_list(store_reader(st), day, domain, print_row, &n) < 0)
			ret = 1;
		printf("%d row%s\n", n, n == 1 ? "" : "s");
	}
	store_close(&st);
	return ret;
}
