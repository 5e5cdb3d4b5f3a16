/* cli_webhook: `tern webhook add|list|delete|queue|retry` — delivery
 * webhooks (relay/webhook_runner.h), and incoming-mail ones
 * (deliver/incoming_events.h).
 *
 * add makes the webhook's signing secret and prints it once, with the id;
 * list never shows it again (a lost secret: delete the webhook and add
 * another). add resolves the URL's host and refuses it when an address is
 * loopback, link-local, private, unspecified or multicast, unless
 * [webhooks] allow_private; the runner judges the addresses again before
 * every POST, since DNS can change. queue lists the events not delivered
 * yet (pending, or failed after [webhooks] lifetime), like `tern queue`;
 * retry makes one due now. Writes go through store_exec(), safe while
 * `tern serve` runs. */
#include "app/cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "admin/admin.h"
#include "net/http_client.h"
#include "relay/webhook_addr.h"
#include "store/store.h"
#include "store/webhooks.h"

static const char usage[] =
    "usage: tern [--config FILE] webhook COMMAND\n"
    "\n"
    "  add (--account ADDRESS | --domain DOMAIN) URL [--events LIST]\n"
    "                    POST each outbound outcome of that account's (or domain's)\n"
    "                    mail to URL; LIST is a comma-separated subset of\n"
    "                    delivered,delayed,bounced,incoming (by default\n"
    "                    delivered,delayed,bounced). incoming: each message delivered\n"
    "                    into the account (any account of the domain), after Sieve.\n"
    "                    Prints the id and the signing secret, shown only now.\n"
    "  list              every webhook: id, owner, events, created, URL\n"
    "  delete ID         delete a webhook and its pending events\n"
    "  queue             the events not delivered yet: pending or failed\n"
    "  retry ID          send an event again now (a failed one too)\n";

static int parse_id(const char *s, int64_t *out)
{
	char *end;
	long long v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v <= 0)
		return -1;
	*out = v;
	return 0;
}

/* 0 when the URL is http(s) and its host's addresses may be posted to;
 * else prints why and returns -1. */
static int check_url(const struct config *cfg, const char *url)
{
	char host[256], port[16];
	int portn;
	bool https;
	char *path = malloc(STORE_WEBHOOK_URL_MAX);
	int r = path && strlen(url) < STORE_WEBHOOK_URL_MAX
	            ? http_url_split(url, host, sizeof host, &portn, path, STORE_WEBHOOK_URL_MAX,
	                             &https)
	            : -1;
	free(path);
	if (r < 0) {
		fprintf(stderr, "tern webhook add: '%s' is not an http:// or https:// URL\n", url);
		return -1;
	}
	snprintf(port, sizeof port, "%d", portn);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	int g = getaddrinfo(host, port, &hints, &res);
	if (g != 0) {
		fprintf(stderr, "tern webhook add: cannot resolve %s: %s\n", host, gai_strerror(g));
		return -1;
	}
	int ret = 0;
	for (struct addrinfo *ai = res; ai && ret == 0; ai = ai->ai_next) {
		if (cfg->webhooks.allow_private || !webhook_addr_refused(ai->ai_addr))
			continue;
		char txt[64] = "?";
		const void *a =
		    ai->ai_family == AF_INET6
		        ? (const void *)&((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr
		        : (const void *)&((const struct sockaddr_in *)ai->ai_addr)->sin_addr;
		inet_ntop(ai->ai_family, a, txt, sizeof txt);
		fprintf(stderr,
		        "tern webhook add: %s resolves to %s, a loopback, link-local, private or "
		        "otherwise non-public address; refused (see [webhooks] allow_private)\n",
		        host, txt);
		ret = -1;
	}
	freeaddrinfo(res);
	return ret;
}

struct add_op {
	const char *account, *domain, *url, *events;
	char secret[STORE_WEBHOOK_SECRET_MAX];
	int64_t id;
};

static int add_job(struct store_tx *tx, void *arg)
{
	struct add_op *op = arg;
	return store_webhook_add(tx, op->account, op->domain, op->url, op->secret, op->events,
	                         &op->id);
}

static int cmd_add(const struct config *cfg, struct store *st, int argc, char **argv)
{
	struct add_op op = {.events = "delivered,delayed,bounced"};
	for (int i = 1; i < argc; i++) {
		bool has_value = i + 1 < argc;
		if (strcmp(argv[i], "--account") == 0 && has_value)
			op.account = argv[++i];
		else if (strcmp(argv[i], "--domain") == 0 && has_value)
			op.domain = argv[++i];
		else if (strcmp(argv[i], "--events") == 0 && has_value)
			op.events = argv[++i];
		else if (argv[i][0] != '-' && !op.url)
			op.url = argv[i];
		else {
			fprintf(stderr, "tern webhook add: unexpected argument '%s'\n\n%s", argv[i],
			        usage);
			return 2;
		}
	}
	if ((op.account == NULL) == (op.domain == NULL) || !op.url) {
		fprintf(stderr, "tern webhook add: needs --account ADDRESS or --domain DOMAIN (one "
		                "of them) and a URL\n");
		return 2;
	}
	if (!admin_webhook_events_valid(op.events)) {
		fprintf(stderr, "tern webhook add: --events takes delivered, delayed, bounced and "
		                "incoming, comma-separated\n");
		return 2;
	}
	if (check_url(cfg, op.url) < 0)
		return 1;
	if (admin_webhook_secret(op.secret) < 0) {
		fprintf(stderr, "tern webhook add: no randomness for the secret\n");
		return 1;
	}
	int rc = store_exec(st, add_job, &op);
	if (rc < 0) {
		fprintf(stderr, "tern webhook add: %s\n",
		        rc == -ENOENT ? (op.account ? "no such account" : "no such domain")
		                      : strerror(-rc));
		explicit_bzero(op.secret, sizeof op.secret);
		return 1;
	}
	fprintf(stderr, "tern: webhook %lld added; its signing secret follows, shown only now\n",
	        (long long)op.id);
	printf("id %lld\nsecret %s\n", (long long)op.id, op.secret);
	explicit_bzero(op.secret, sizeof op.secret);
	return 0;
}

static int list_cb(void *ud, const struct store_webhook *w)
{
	char cr[32];
	cli_fmt_time(w->created, cr, sizeof cr);
	printf("%-6lld %-8s %-30s %-26s %-20s %s\n", (long long)w->id,
	       w->account_id ? "account" : "domain", w->owner, w->events, cr, w->url);
	(*(int *)ud)++;
	return 0;
}

static int queue_cb(void *ud, const struct store_webhook_event *e)
{
	char next[32], cr[32];
	cli_fmt_time(e->created, cr, sizeof cr);
	cli_fmt_time(e->failed_at ? 0 : e->next_attempt, next, sizeof next);
	printf("%-8lld %-7lld %-7s %-8lld %-20s %-20s %s\n", (long long)e->id,
	       (long long)e->webhook_id, e->failed_at ? "failed" : "pending",
	       (long long)e->attempts, cr, next, e->last_error[0] ? e->last_error : "-");
	(*(int *)ud)++;
	return 0;
}

struct id_op {
	int64_t id;
	bool retry;
};

static int id_job(struct store_tx *tx, void *arg)
{
	struct id_op *op = arg;
	return op->retry ? store_webhook_event_requeue(tx, op->id, (int64_t)time(NULL))
	                 : store_webhook_del(tx, op->id);
}

int cli_webhook(const struct config *cfg, int argc, char **argv)
{
	if (!cfg || argc < 1) {
		fputs(usage, cfg ? stderr : stdout);
		return cfg ? 2 : 0;
	}
	const char *cmd = argv[0];
	bool by_id = strcmp(cmd, "delete") == 0 || strcmp(cmd, "retry") == 0;
	if (!by_id && strcmp(cmd, "add") != 0 && strcmp(cmd, "list") != 0 &&
	    strcmp(cmd, "queue") != 0) {
		fprintf(stderr, "tern webhook: unknown command '%s'\n\n%s", cmd, usage);
		return 2;
	}
	struct id_op op = {.retry = strcmp(cmd, "retry") == 0};
	if (by_id && (argc != 2 || parse_id(argv[1], &op.id) < 0)) {
		fprintf(stderr, "tern webhook %s: needs an id (see `tern webhook %s`)\n", cmd,
		        op.retry ? "queue" : "list");
		return 2;
	}
	if (!by_id && strcmp(cmd, "add") != 0 && argc != 1) {
		fprintf(stderr, "tern webhook %s: takes no arguments\n", cmd);
		return 2;
	}
	struct store *st;
	char err[512];
	if (store_open(&st, cfg->data_dir, NULL, err, sizeof err) < 0) {
		fprintf(stderr, "tern: cannot open the store in %s: %s\n", cfg->data_dir, err);
		return 1;
	}
	int ret = 0, n = 0;
	if (strcmp(cmd, "add") == 0) {
		ret = cmd_add(cfg, st, argc, argv);
	} else if (strcmp(cmd, "list") == 0) {
		printf("%-6s %-8s %-30s %-26s %-20s %s\n", "ID", "OWNER", "", "EVENTS", "CREATED",
		       "URL");
		if (store_webhook_list(store_reader(st), list_cb, &n) < 0)
			ret = 1;
		printf("%d webhook%s\n", n, n == 1 ? "" : "s");
	} else if (strcmp(cmd, "queue") == 0) {
		printf("%-8s %-7s %-7s %-8s %-20s %-20s %s\n", "EVENT", "WEBHOOK", "STATE",
		       "ATTEMPTS", "CREATED", "NEXT", "LAST ERROR");
		if (store_webhook_undelivered(store_reader(st), queue_cb, &n) < 0)
			ret = 1;
		printf("%d event%s not delivered\n", n, n == 1 ? "" : "s");
	} else {
		int rc = store_exec(st, id_job, &op);
		if (rc == -ENOENT) {
			fprintf(stderr, "tern webhook %s: no %s %lld\n", cmd,
			        op.retry ? "undelivered event" : "webhook", (long long)op.id);
			ret = 1;
		} else if (rc < 0) {
			fprintf(stderr, "tern webhook %s: failed (%s)\n", cmd, strerror(-rc));
			ret = 1;
		} else {
			printf(op.retry ? "event %lld due now\n" : "webhook %lld deleted\n",
			       (long long)op.id);
		}
	}
	store_close(&st);
	return ret;
}
