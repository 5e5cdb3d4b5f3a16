/* test_tlsrpt_store: the TLS-RPT counters in the store (store/tlsrpt.c)
 * and the relay's batched writing of them (relay/tlsrpt.c): counts add
 * up per day, domain, policy and result, a list filters by day and
 * domain, old days are pruned, malformed rows are refused, and the
 * relay's counts reach the store in one job at flush and at stop. Also
 * the stored MTA-STS policy cache (store/mta_sts.c) beside them. */
#include "check.h"
#include "relay/tlsrpt.h"
#include "store/store.h"
#include "store/mta_sts.h"
#include "store/tlsrpt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

static struct store_tlsrpt_count rows[4];

static int add_job(struct store_tx *tx, void *arg)
{
	return store_tlsrpt_add(tx, rows, *(size_t *)arg);
}

static int prune_job(struct store_tx *tx, void *arg)
{
	return store_tlsrpt_prune(tx, arg);
}

struct seen {
	int n;
	uint64_t sum;
	char last[4500];
};

static int seen_cb(void *ud, const struct store_tlsrpt_count *c)
{
	struct seen *s = ud;
	s->n++;
	s->sum += c->count;
	snprintf(s->last, sizeof s->last, "%s %s %s %s %s %llu %s", c->day, c->policy_domain,
	         c->policy_type, c->policy_id, c->result, (unsigned long long)c->count,
	         c->policy_string);
	return 0;
}

static struct seen list(struct store *st, const char *day, const char *domain)
{
	struct seen s = {0};
	CHECK_THAT(store_tlsrpt_list(store_reader(st), day, domain, seen_cb, &s) == 0);
	return s;
}

static void set(struct store_tlsrpt_count *c, const char *day, const char *domain, const char *type,
                const char *id, const char *result, uint64_t n)
{
	memset(c, 0, sizeof *c);
	snprintf(c->day, sizeof c->day, "%s", day);
	snprintf(c->policy_domain, sizeof c->policy_domain, "%s", domain);
	snprintf(c->policy_type, sizeof c->policy_type, "%s", type);
	snprintf(c->policy_id, sizeof c->policy_id, "%s", id);
	snprintf(c->result, sizeof c->result, "%s", result);
	c->count = n;
}

static void test_store(struct store *st)
{
	set(&rows[0], "2026-01-02", "Example.COM", "sts", "id1", "success", 3);
	snprintf(rows[0].policy_string, sizeof rows[0].policy_string,
	         "version: STSv1\nmode: enforce");
	set(&rows[1], "2026-01-02", "example.com", "sts", "id1", "certificate-expired", 1);
	set(&rows[2], "2026-01-02", "other.test", "no-policy-found", "", "success", 2);
	set(&rows[3], "2025-11-01", "example.com", "no-policy-found", "", "success", 7);
	size_t n = 4;
	CHECK_THAT(store_exec(st, add_job, &n) == 0);
	n = 1; /* the same row again adds */
	CHECK_THAT(store_exec(st, add_job, &n) == 0);
	struct seen s = list(st, "2026-01-02", "EXAMPLE.com");
	CHECK_THAT(s.n == 2 && s.sum == 7);
	s = list(st, "2026-01-02", NULL);
	CHECK_THAT(s.n == 3 && s.sum == 9);
	s = list(st, NULL, "other.test");
	CHECK_THAT(s.n == 1 &&
	           strcmp(s.last, "2026-01-02 other.test no-policy-found  success 2 ") == 0);
	s = list(st, NULL, NULL);
	CHECK_THAT(s.n == 4 && s.sum == 16);
	s = list(st, "2026-01-02", "example.com");
	/* ordered by result: success last, with its policy lines */
	CHECK_THAT(strcmp(s.last, "2026-01-02 example.com sts id1 success 6 version: STSv1\nmode: "
	                          "enforce") == 0);

	/* malformed rows are refused, nothing of the batch stays */
	set(&rows[0], "2026-01-02", "example.com", "sts", "id1", "success", 1);
	set(&rows[1], "2026-1-2", "example.com", "sts", "id1", "success", 1);
	n = 2;
	CHECK_THAT(store_exec(st, add_job, &n) == -EINVAL);
	set(&rows[1], "2026-01-02", "", "sts", "id1", "success", 1);
	CHECK_THAT(store_exec(st, add_job, &n) == -EINVAL);
	char longname[300];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	set(&rows[1], "2026-01-02", longname, "sts", "id1", "success", 1);
	CHECK_THAT(store_exec(st, add_job, &n) == -EINVAL);
	CHECK_THAT(list(st, NULL, NULL).sum == 16);

	/* pruning takes the days before the one given */
	CHECK_THAT(store_exec(st, prune_job, "2026-01-01") == 1);
	CHECK_THAT(list(st, NULL, NULL).n == 3);
	CHECK_THAT(store_exec(st, prune_job, "2026-01-01") == 0);
}

static struct store_mta_sts_policy pol;

static int put_job(struct store_tx *tx, void *arg)
{
	return store_mta_sts_put(tx, &pol, *(int64_t *)arg);
}

static int pol_cb(void *ud, const struct store_mta_sts_policy *p)
{
	char *out = ud;
	size_t n = strlen(out);
	snprintf(out + n, 400 - n, "%.60s %s %lld|", p->domain, p->id, (long long)p->expires);
	return 0;
}

static void test_mta_sts_store(struct store *st)
{
	int64_t now = 1000;
	memset(&pol, 0, sizeof pol);
	snprintf(pol.domain, sizeof pol.domain, "A.test");
	snprintf(pol.id, sizeof pol.id, "id1");
	pol.text = "version: STSv1\nmode: enforce\nmx: mx.a.test\nmax_age: 86400\n";
	pol.expires = 2000;
	CHECK_THAT(store_exec(st, put_job, &now) == 0);
	snprintf(pol.domain, sizeof pol.domain, "b.test");
	pol.expires = 1500;
	CHECK_THAT(store_exec(st, put_job, &now) == 0);
	snprintf(pol.domain, sizeof pol.domain, "a.test"); /* replaces */
	snprintf(pol.id, sizeof pol.id, "id2");
	pol.expires = 3000;
	CHECK_THAT(store_exec(st, put_job, &now) == 0);
	char seen[400] = "";
	CHECK_THAT(store_mta_sts_list(store_reader(st), 1000, pol_cb, seen) == 0);
	CHECK_THAT(strcmp(seen, "a.test id2 3000|b.test id1 1500|") == 0);
	seen[0] = '\0';
	CHECK_THAT(store_mta_sts_list(store_reader(st), 1600, pol_cb, seen) == 0);
	CHECK_THAT(strcmp(seen, "a.test id2 3000|") == 0);
	pol.id[0] = '\0';
	CHECK_THAT(store_exec(st, put_job, &now) == -EINVAL);
}

static void test_relay(void)
{
	char dir[] = "/tmp/tern-test-tlsrpt-relay-XXXXXX", err[256];
	if (!mkdtemp(dir))
		return;
	uv_loop_t loop;
	uv_loop_init(&loop);
	struct store *st = NULL;
	CHECK_THAT(store_open(&st, dir, &loop, err, sizeof err) == 0);
	if (!st)
		return;
	tlsrpt_clear();
	tlsrpt_start(&loop, st);
	for (int i = 0; i < 100; i++)
		tlsrpt_count("relay.test", TLSRPT_SUCCESS);
	tlsrpt_count("relay.test", "starttls-not-supported");
	tlsrpt_count("relay.test", "sts-policy-fetch-error");
	CHECK_THAT(tlsrpt_get("relay.test", TLSRPT_SUCCESS) == 100);
	struct store_stats before, after;
	store_get_stats(st, &before);
	tlsrpt_flush(); /* one job for every count so far */
	for (int i = 0; i < 200 && list(st, NULL, "relay.test").sum < 102; i++) {
		uv_run(&loop, UV_RUN_NOWAIT);
		usleep(5000);
	}
	store_get_stats(st, &after);
	CHECK_THAT(after.jobs - before.jobs == 1);
	char day[11];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(day, sizeof day, "%Y-%m-%d", &tm);
	struct seen s = list(st, day, "relay.test");
	CHECK_THAT(s.n == 3 && s.sum == 102);
	/* an sts-* failure is of type sts even without a cached policy */
	CHECK_THAT(strstr(s.last, " sts  sts-policy-fetch-error 1") != NULL);

	/* counts after the flush go at stop, added to the stored ones */
	tlsrpt_count("relay.test", TLSRPT_SUCCESS);
	tlsrpt_stop();
	store_close(&st);
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK_THAT(store_open(&st, dir, NULL, err, sizeof err) == 0);
	s = list(st, day, "relay.test");
	CHECK_THAT(s.n == 3 && s.sum == 103);
	store_close(&st);
	uv_loop_close(&loop);
	check_remove_dir(dir);
}

int main(void)
{
	char dir[] = "/tmp/tern-test-tlsrpt-XXXXXX", err[256];
	if (!mkdtemp(dir))
		return 1;
	struct store *st = NULL;
	if (store_open(&st, dir, NULL, err, sizeof err) < 0) {
		fprintf(stderr, "store_open: %s\n", err);
		return 1;
	}
	test_store(st);
	test_mta_sts_store(st);
	store_close(&st);
	check_remove_dir(dir);
	test_relay();
	return check_report("test_tlsrpt_store");
}
