/* test_store_webhooks: store/webhooks.c (schema 21): a webhook needs an
 * existing account or domain, a sender finds the webhooks of its account
 * and of its domain (case-insensitively, never for the null sender), due
 * events come oldest first and leave the due list when delivered or
 * failed, a failed one comes back with requeue, and deleting the account
 * takes its webhooks and their events along. */
#include "check.h"
#include "store/accounts.h"
#include "store/store.h"
#include "store/webhooks.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct add_args {
	const char *account, *domain, *url;
	int64_t id;
};

static int setup_job(struct store_tx *tx, void *arg)
{
	(void)arg;
	int r = store_domain_add(tx, "w.test");
	r = r ? r : store_domain_add(tx, "other.test");
	r = r ? r : store_account_add(tx, "app@w.test", "x", NULL);
	return r ? r : store_account_add(tx, "zed@other.test", "x", NULL);
}

static int add_job(struct store_tx *tx, void *arg)
{
	struct add_args *a = arg;
	return store_webhook_add(tx, a->account, a->domain, a->url, "whsec_s", "delivered,bounced",
	                         &a->id);
}

static int64_t add(struct store *st, const char *account, const char *domain, int want)
{
	struct add_args a = {.account = account, .domain = domain, .url = "https://h.test/x"};
	int r = store_exec(st, add_job, &a);
	CHECK(r == want, "add %s %s: %d, want %d", account ? account : "-", domain ? domain : "-",
	      r, want);
	return a.id;
}

struct ids {
	int64_t v[16];
	size_t n;
};

static int hook_cb(void *ud, const struct store_webhook *w)
{
	struct ids *ids = ud;
	if (ids->n < 16)
		ids->v[ids->n++] = w->id;
	return 0;
}

static int event_cb(void *ud, const struct store_webhook_event *e)
{
	struct ids *ids = ud;
	if (ids->n < 16)
		ids->v[ids->n++] = e->id;
	return 0;
}

struct ev_args {
	int64_t hook, now, id, next;
	int op; /* 0 add, 1 delivered, 2 retry, 3 requeue, 4 del hook, 5 del account */
};

static int ev_job(struct store_tx *tx, void *arg)
{
	struct ev_args *a = arg;
	switch (a->op) {
	case 0:
		return store_webhook_event_add(tx, a->hook, "{\"event\":\"delivered\"}", a->now);
	case 1:
		return store_webhook_event_delivered(tx, a->id, a->now);
	case 2:
		return store_webhook_event_retry(tx, a->id, a->now, a->next, "HTTP status 500");
	case 3:
		return store_webhook_event_requeue(tx, a->id, a->now);
	case 4:
		return store_webhook_del(tx, a->hook);
	default:
		return store_account_del(tx, "app@w.test");
	}
}

static int ev(struct store *st, struct ev_args a)
{
	return store_exec(st, ev_job, &a);
}

static struct ids due(struct store *st, int64_t now)
{
	struct ids ids = {.n = 0};
	CHECK_THAT(store_webhook_due(store_reader(st), now, 10, event_cb, &ids) == 0);
	return ids;
}

int main(void)
{
	char dir[] = "/tmp/tern-test-webhooks-XXXXXX", err[256];
	if (!mkdtemp(dir))
		return 1;
	struct store *st = NULL;
	if (store_open(&st, dir, NULL, err, sizeof err) < 0) {
		fprintf(stderr, "store_open: %s\n", err);
		return 1;
	}
	CHECK_THAT(store_exec(st, setup_job, NULL) == 0);
	int64_t h_app = add(st, "app@w.test", NULL, 0);
	int64_t h_dom = add(st, NULL, "W.TEST", 0);
	add(st, "ghost@w.test", NULL, -ENOENT);
	add(st, NULL, "nowhere.test", -ENOENT);
	add(st, "app@w.test", "w.test", -EINVAL);
	add(st, NULL, NULL, -EINVAL);

	struct store_rd *rd = store_reader(st);
	struct ids ids = {.n = 0};
	CHECK_THAT(store_webhooks_of_sender(rd, "App@W.test", hook_cb, &ids) == 0 && ids.n == 2 &&
	           ids.v[0] == h_app && ids.v[1] == h_dom);
	ids.n = 0; /* another account of the domain: only the domain's */
	CHECK_THAT(store_webhooks_of_sender(rd, "shop@w.test", hook_cb, &ids) == 0 && ids.n == 1 &&
	           ids.v[0] == h_dom);
	ids.n = 0;
	CHECK_THAT(store_webhooks_of_sender(rd, "zed@other.test", hook_cb, &ids) == 0 &&
	           ids.n == 0);
	CHECK_THAT(store_webhooks_of_sender(rd, "", hook_cb, &ids) == 0 && ids.n == 0);
	CHECK_THAT(store_webhooks_of_sender(rd, "nodomain@", hook_cb, &ids) == 0 && ids.n == 0);
	ids.n = 0;
	CHECK_THAT(store_webhook_list(rd, hook_cb, &ids) == 0 && ids.n == 2);

	CHECK_THAT(ev(st, (struct ev_args){.hook = h_app, .now = 200}) == 0);
	CHECK_THAT(ev(st, (struct ev_args){.hook = h_dom, .now = 100}) == 0);
	CHECK_THAT(ev(st, (struct ev_args){.hook = h_app, .now = 300}) == 0);
	struct ids d = due(st, 250);
	CHECK(d.n == 2 && d.v[0] == 2 && d.v[1] == 1, "due: %zu", d.n); /* oldest first */
	int64_t e1 = 1, e2 = 2, e3 = 3;
	CHECK_THAT(ev(st, (struct ev_args){.op = 1, .id = e2, .now = 260}) == 0);
	CHECK_THAT(ev(st, (struct ev_args){.op = 1, .id = e2, .now = 261}) == -ENOENT);
	CHECK_THAT(ev(st, (struct ev_args){.op = 2, .id = e1, .now = 260, .next = 500}) == 0);
	d = due(st, 400);
	CHECK(d.n == 1 && d.v[0] == e3, "due after marks: %zu", d.n);
	d = due(st, 500);
	CHECK_THAT(d.n == 2);
	/* failed (next 0): out of the due list, still undelivered; requeued: due */
	CHECK_THAT(ev(st, (struct ev_args){.op = 2, .id = e1, .now = 510, .next = 0}) == 0);
	d = due(st, 10000);
	CHECK_THAT(d.n == 1 && d.v[0] == e3);
	ids.n = 0;
	CHECK_THAT(store_webhook_undelivered(rd, event_cb, &ids) == 0 && ids.n == 2);
	CHECK_THAT(ev(st, (struct ev_args){.op = 3, .id = e1, .now = 600}) == 0);
	CHECK_THAT(ev(st, (struct ev_args){.op = 3, .id = e2, .now = 600}) == -ENOENT);
	d = due(st, 600);
	CHECK_THAT(d.n == 2 && d.v[0] == e3 && d.v[1] == e1); /* by next attempt */
	/* delivered rows older than a week go as others are marked */
	CHECK_THAT(ev(st, (struct ev_args){.op = 1, .id = e3, .now = 260 + 7 * 86400 + 1}) == 0);
	ids.n = 0;
	CHECK_THAT(store_webhook_undelivered(rd, event_cb, &ids) == 0 && ids.n == 1);

	/* the account goes: its webhook and that webhook's events with it */
	CHECK_THAT(ev(st, (struct ev_args){.op = 5}) == 0);
	ids.n = 0;
	CHECK_THAT(store_webhook_list(rd, hook_cb, &ids) == 0 && ids.n == 1 && ids.v[0] == h_dom);
	ids.n = 0;
	CHECK_THAT(store_webhook_undelivered(rd, event_cb, &ids) == 0 && ids.n == 0);
	CHECK_THAT(ev(st, (struct ev_args){.op = 4, .hook = h_dom}) == 0);
	CHECK_THAT(ev(st, (struct ev_args){.op = 4, .hook = h_dom}) == -ENOENT);

	store_close(&st);
	check_remove_dir(dir);
	return check_report("test_store_webhooks");
}
