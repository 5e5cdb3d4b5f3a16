/* tlsrpt: the TLS-RPT counters (tlsrpt.h): a small bounded table, loop
 * thread only, each row with its count since start and the part of it
 * not yet in the store. A timer hands the unwritten parts to the writer
 * in one job; one job at a time. When the table is full, the oldest
 * day's row makes room (its unwritten part is submitted first). */
#include "relay/tlsrpt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/log.h"
#include "relay/mta_sts.h"
#include "store/store.h"
#include "store/tlsrpt.h"

#define TLSRPT_ROWS 256

struct tlsrpt_row {
	struct store_tlsrpt_count key; /* count: not yet written */
	uint64_t total;                /* since start */
};

static struct tlsrpt_row rows[TLSRPT_ROWS];
static size_t nrows;

static struct store *store;
static uv_timer_t timer;
static bool timer_open, in_flight, dirty;
static char pruned_day[11];

static void day_of(time_t t, char day[11])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(day, 11, "%Y-%m-%d", &tm);
}

/* The policy lines of RFC 8460 4.4's policy-string, joined by '\n'. */
static void policy_lines(const struct mta_sts_policy *p, char *out, size_t len)
{
	int n = snprintf(out, len, "version: STSv1\nmode: %s", mta_sts_mode_name(p->mode));
	for (size_t i = 0; i < p->nmx && n > 0 && (size_t)n < len; i++)
		n += snprintf(out + n, len - (size_t)n, "\nmx: %s", p->mx[i]);
	if (n > 0 && (size_t)n < len)
		snprintf(out + n, len - (size_t)n, "\nmax_age: %ld", p->max_age);
}

static void policy_of(const char *domain, const char *result, struct store_tlsrpt_count *k)
{
	const char *id = NULL;
	const struct mta_sts_policy *p = mta_sts_cached(domain, &id);
	if (p) {
		snprintf(k->policy_type, sizeof k->policy_type, "sts");
		snprintf(k->policy_id, sizeof k->policy_id, "%s", id ? id : "");
		policy_lines(p, k->policy_string, sizeof k->policy_string);
	} else {
		snprintf(k->policy_type, sizeof k->policy_type, "%s",
		         strncmp(result, "sts-", 4) == 0 ? "sts" : "no-policy-found");
	}
}

static struct tlsrpt_row *find(const struct store_tlsrpt_count *k)
{
	for (size_t i = 0; i < nrows; i++) {
		const struct store_tlsrpt_count *r = &rows[i].key;
		if (strcmp(r->day, k->day) == 0 && strcmp(r->result, k->result) == 0 &&
		    strcmp(r->policy_type, k->policy_type) == 0 &&
		    strcmp(r->policy_id, k->policy_id) == 0 &&
		    strcasecmp(r->policy_domain, k->policy_domain) == 0)
			return &rows[i];
	}
	return NULL;
}

void tlsrpt_count(const char *policy_domain, const char *result)
{
	static struct store_tlsrpt_count k; /* 4 KiB: not on the stack */
	memset(&k, 0, sizeof k);
	day_of(time(NULL), k.day);
	snprintf(k.policy_domain, sizeof k.policy_domain, "%s", policy_domain);
	snprintf(k.result, sizeof k.result, "%s", result);
	policy_of(policy_domain, result, &k);
	struct tlsrpt_row *r = find(&k);
	if (!r) {
		if (nrows == TLSRPT_ROWS) {
			tlsrpt_flush();
			size_t oldest = 0;
			for (size_t i = 1; i < nrows; i++)
				if (strcmp(rows[i].key.day, rows[oldest].key.day) < 0)
					oldest = i;
			if (rows[oldest].key.count)
				log_warn("tlsrpt event=counts_dropped domain=%s count=%llu",
				         rows[oldest].key.policy_domain,
				         (unsigned long long)rows[oldest].key.count);
			rows[oldest] = rows[--nrows];
		}
		r = &rows[nrows++];
		r->key = k;
		r->total = 0;
	} else {
		/* The policy string may have changed with the same id: keep the last. */
		memcpy(r->key.policy_string, k.policy_string, sizeof k.policy_string);
	}
	r->key.count++;
	r->total++;
	dirty = true;
	log_info("tlsrpt domain=%s day=%s result=%s count=%llu", r->key.policy_domain, r->key.day,
	         r->key.result, (unsigned long long)r->total);
}

uint64_t tlsrpt_get(const char *policy_domain, const char *result)
{
	char day[11];
	day_of(time(NULL), day);
	uint64_t n = 0;
	for (size_t i = 0; i < nrows; i++)
		if (strcmp(rows[i].key.day, day) == 0 && strcmp(rows[i].key.result, result) == 0 &&
		    strcasecmp(rows[i].key.policy_domain, policy_domain) == 0)
			n += rows[i].total;
	return n;
}

void tlsrpt_clear(void)
{
	nrows = 0;
	dirty = false;
}

/* ---- writing ---- */

struct flush_job {
	char prune_before[11]; /* "" = no pruning */
	size_t n;
	struct store_tlsrpt_count rows[];
};

static int flush_run(struct store_tx *tx, void *arg)
{
	struct flush_job *j = arg;
	int rc = store_tlsrpt_add(tx, j->rows, j->n);
	if (rc == 0 && j->prune_before[0]) {
		int gone = store_tlsrpt_prune(tx, j->prune_before);
		rc = gone < 0 ? gone : 0;
	}
	return rc;
}

static void flush_done(void *arg, int status)
{
	struct flush_job *j = arg;
	in_flight = false;
	if (status < 0)
		log_error("tlsrpt event=flush_failed rows=%zu err=%d", j->n, status);
	free(j);
}

void tlsrpt_flush(void)
{
	if (!store || in_flight || !dirty)
		return;
	size_t n = 0;
	for (size_t i = 0; i < nrows; i++)
		n += rows[i].key.count > 0;
	struct flush_job *j = calloc(1, sizeof *j + n * sizeof j->rows[0]);
	if (!j)
		return;
	for (size_t i = 0; i < nrows; i++)
		if (rows[i].key.count > 0) {
			j->rows[j->n++] = rows[i].key;
			rows[i].key.count = 0;
		}
	char today[11];
	time_t now = time(NULL);
	day_of(now, today);
	if (strcmp(pruned_day, today) != 0) {
		day_of(now - (time_t)TLSRPT_KEEP_DAYS * 86400, j->prune_before);
		memcpy(pruned_day, today, sizeof today);
	}
	dirty = false;
	in_flight = true;
	if (store_submit(store, flush_run, flush_done, j) < 0) {
		log_error("tlsrpt event=flush_failed rows=%zu err=submit", j->n);
		in_flight = false;
		free(j);
	}
}

static void on_timer(uv_timer_t *t)
{
	(void)t;
	tlsrpt_flush();
}

void tlsrpt_start(uv_loop_t *loop, struct store *s)
{
	store = s;
	pruned_day[0] = '\0';
	dirty = true; /* prune once at start */
	if (!timer_open && uv_timer_init(loop, &timer) == 0) {
		timer_open = true;
		uv_timer_start(&timer, on_timer, TLSRPT_FLUSH_MS, TLSRPT_FLUSH_MS);
		uv_unref((uv_handle_t *)&timer);
	}
}

void tlsrpt_stop(void)
{
	in_flight = false; /* the writer runs every queued job at store_close() */
	tlsrpt_flush();
	store = NULL;
	if (timer_open) {
		uv_timer_stop(&timer);
		uv_close((uv_handle_t *)&timer, NULL);
		timer_open = false;
	}
}
