/* test_store_webhooks: store/webhooks.c (schema 21): a webhook needs an
 * existing account or domain, a sender finds the webhooks of its account
 * and of its domain (case-insensitively, never for the null sender), due
 * events come oldest first and leave the due list when delivered or
 * failed, a failed one comes back with requeue, and deleting the account
 * takes its webhooks and their events along. The "incoming" lookup: only
 * webhooks naming "incoming" (as a whole name), of the account or its
 * domain; its cached "nobody wants incoming" answer is read again after
 * an add in this process and after a commit by another connection (a
 * row written by raw SQLite, as `tern webhook add` or a hand would). */
#include "check.h"
#include "store/accounts.h"
#include "store/mailboxes.h"
#include "store/store.h"
#include "store/webhooks.h"

#include <sqlite3.h>
#include <stdio.h>

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

static int shop_job(struct store_tx *tx, void *arg)
{
	(void)arg;
	int r = store_account_add(tx, "app@w.test", "x", NULL);
	return r ? r : store_account_add(tx, "shop@w.test", "x", NULL);
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

struct incoming_args {
	const char *account; /* the delivery's account */
	struct ids ids;
	int rc;
};

static int incoming_job(struct store_tx *tx, void *arg)
{
	struct incoming_args *a = arg;
	struct store_account acct;
	a->ids.n = 0;
	int r = store_account_lookup(store_tx_reader(tx), a->account, &acct);
	if (r != 1)
		return r < 0 ? r : -ENOENT;
	a->rc = store_webhooks_incoming(tx, acct.id, hook_cb, &a->ids);
	return 0;
}

static struct ids incoming(struct store *st, const char *account)
{
	struct incoming_args a = {.account = account};
	CHECK_THAT(store_exec(st, incoming_job, &a) == 0 && a.rc == 0);
	return a.ids;
}

struct add_events_args {
	const char *account, *domain, *events;
	int64_t id;
};

static int add_events_job(struct store_tx *tx, void *arg)
{
	struct add_events_args *a = arg;
	return store_webhook_add(tx, a->account, a->domain, "https://h.test/in", "whsec_s",
	                         a->events, &a->id);
}

static int64_t add_events(struct store *st, const char *account, const char *domain,
                          const char *events)
{
	struct add_events_args a = {.account = account, .domain = domain, .events = events};
	CHECK_THAT(store_exec(st, add_events_job, &a) == 0);
	return a.id;
}

static void test_incoming(struct store *st, const char *dir)
{
	/* only "delivered,bounced" webhooks (and a name that merely contains
	 * "incoming"): nobody hears */
	add_events(st, NULL, "w.test", "delivered,incomings");
	struct ids r = incoming(st, "app@w.test");
	CHECK(r.n == 0, "none wants incoming: %zu", r.n);
	/* an add here: the cache is asked again */
	int64_t h_acct = add_events(st, "app@w.test", NULL, "bounced,incoming");
	r = incoming(st, "app@w.test");
	CHECK(r.n == 1 && r.v[0] == h_acct, "the account's: %zu", r.n);
	r = incoming(st, "shop@w.test");
	CHECK(r.n == 0, "another account of the domain: %zu", r.n);
	/* another connection adds a domain webhook: seen at the next delivery */
	char path[512];
	snprintf(path, sizeof path, "%s/tern.db", dir);
	sqlite3 *db = NULL;
	CHECK_THAT(sqlite3_open(path, &db) == SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	char *err = NULL;
	CHECK(sqlite3_exec(db,
	                   "INSERT INTO webhooks(domain_id, url, secret, events, created) "
	                   "SELECT id, 'https://h.test/d', 'whsec_d', 'incoming', 0 FROM domains "
	                   "WHERE name = 'w.test'",
	                   NULL, NULL, &err) == SQLITE_OK,
	      "insert: %s", err ? err : "");
	sqlite3_free(err);
	int64_t h_dom = sqlite3_last_insert_rowid(db);
	sqlite3_close(db);
	r = incoming(st, "shop@w.test");
	CHECK(r.n == 1 && r.v[0] == h_dom, "the domain's, added elsewhere: %zu", r.n);
	r = incoming(st, "app@w.test");
	CHECK(r.n == 2 && r.v[0] == h_acct && r.v[1] == h_dom, "both: %zu", r.n);
	r = incoming(st, "zed@other.test");
	CHECK(r.n == 0, "another domain: %zu", r.n);
	/* the mailbox names an event reports */
	struct store_account acct;
	CHECK_THAT(store_account_lookup(store_reader(st), "shop@w.test", &acct) == 1);
	int64_t inbox = 0;
	CHECK_THAT(store_mailbox_find(store_reader(st), acct.id, "INBOX", &inbox) == 1);
	char address[320], name[64];
	CHECK_THAT(store_webhook_mailbox_names(store_reader(st), inbox, address, sizeof address,
	                                       name, sizeof name) == 1 &&
	           strcmp(address, "shop@w.test") == 0 && strcmp(name, "INBOX") == 0);
	CHECK_THAT(store_webhook_mailbox_names(store_reader(st), 999999, address, sizeof address,
	                                       name, sizeof name) == 0);
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

	CHECK_THAT(store_exec(st, shop_job, NULL) == 0);
	test_incoming(st, dir);

	store_close(&st);
	check_remove_dir(dir);
	return check_report("test_store_webhooks");
}
