/* cli_queue: `tern queue list|show|retry|delete|bounce`.
 *
 * Like the other admin commands, it opens the store without a loop and
 * changes rows in one store_exec() transaction, safe while `tern serve`
 * runs: the runner reads the queue table on every scan, so a retried row
 * goes out at the next scan and a deleted one is simply gone. A row that
 * the server has claimed (a delivery in progress) is still changed; the
 * running delivery's outcome then updates or removes it as usual.
 *
 *   retry   makes the row (or every row) due now;
 *   delete  removes the row without a bounce (and drops its message
 *           reference);
 *   bounce  makes the row expire now: the runner bounces it to the sender
 *           at its next scan.
 *
 * The changes are admin/'s ops (the admin API runs the same ones); this
 * file parses argv and prints. */
#include "app/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/admin.h"
#include "store/queue.h"
#include "store/store.h"

static const char usage[] =
    "usage: tern [--config FILE] queue COMMAND\n"
    "\n"
    "  list              every queued recipient: id, attempts, next attempt, error\n"
    "  show ID           one row in full\n"
    "  retry ID|--all    make a row (or all rows) due now\n"
    "  delete ID         drop a row without bouncing it\n"
    "  bounce ID         give up on a row now: the sender gets a bounce\n";

static int list_cb(void *ud, const struct store_queue_row *r)
{
	char next[32];
	cli_fmt_time(r->next_attempt, next, sizeof next);
	printf("%-8lld %-3lld %-20s %s -> %s%s%.60s\n", (long long)r->id, (long long)r->attempts,
	       next, r->mail_from[0] ? r->mail_from : "<>", r->rcpt, r->last_error ? "  " : "",
	       r->last_error ? r->last_error : "");
	(*(int *)ud)++;
	return 0;
}

static int show_cb(void *ud, const struct store_queue_row *r)
{
	char next[32], exp[32], cr[32], cl[32];
	cli_fmt_time(r->next_attempt, next, sizeof next);
	cli_fmt_time(r->expires, exp, sizeof exp);
	cli_fmt_time(r->created, cr, sizeof cr);
	cli_fmt_time(r->claimed_until, cl, sizeof cl);
	printf("id:            %lld\n", (long long)r->id);
	printf("message:       %lld (%lld bytes)\n", (long long)r->message_id, (long long)r->size);
	printf("from:          <%s>\n", r->mail_from);
	printf("to:            <%s>\n", r->rcpt);
	printf("notify:        %s\n", r->notify ? r->notify : "-");
	printf("orcpt:         %s\n", r->orcpt ? r->orcpt : "-");
	printf("ret:           %s\n", r->ret ? r->ret : "-");
	printf("envid:         %s\n", r->envid ? r->envid : "-");
	printf("created:       %s\n", cr);
	printf("attempts:      %lld\n", (long long)r->attempts);
	printf("next attempt:  %s\n", next);
	printf("expires:       %s\n", exp);
	printf("claimed until: %s\n", cl);
	printf("last error:    %s\n", r->last_error ? r->last_error : "-");
	return 0;
}

static int parse_id(const char *s, int64_t *id)
{
	char *end;
	long long v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v <= 0)
		return -1;
	*id = v;
	return 0;
}

int cli_queue(const struct config *cfg, int argc, char **argv)
{
	if (!cfg || argc < 1) {
		fputs(usage, cfg ? stderr : stdout);
		return cfg ? 2 : 0;
	}
	struct store *st;
	char err[512];
	if (store_open(&st, cfg->data_dir, NULL, err, sizeof err) < 0) {
		fprintf(stderr, "tern: cannot open the store in %s: %s\n", cfg->data_dir, err);
		return 1;
	}
	int ret = 0;
	const char *cmd = argv[0];
	struct store_rd *rd = store_reader(st);
	if (strcmp(cmd, "list") == 0) {
		int n = 0;
		printf("%-8s %-3s %-20s %s\n", "ID", "TRY", "NEXT ATTEMPT",
		       "FROM -> TO  LAST ERROR");
		if (admin_queue(rd, list_cb, &n) < 0)
			ret = 1;
		printf("%d queued\n", n);
	} else if (strcmp(cmd, "show") == 0 || strcmp(cmd, "retry") == 0 ||
	           strcmp(cmd, "delete") == 0 || strcmp(cmd, "bounce") == 0) {
		struct admin_op op = {
		    .kind = strcmp(cmd, "retry") == 0    ? ADMIN_QUEUE_RETRY
		            : strcmp(cmd, "delete") == 0 ? ADMIN_QUEUE_DELETE
		                                         : ADMIN_QUEUE_BOUNCE,
		};
		bool all = argc >= 2 && strcmp(argv[1], "--all") == 0 && strcmp(cmd, "retry") == 0;
		if (!all && (argc < 2 || parse_id(argv[1], &op.id) < 0)) {
			fprintf(stderr,
			        "tern queue %s: needs a queue id (see `tern queue list`)%s\n", cmd,
			        strcmp(cmd, "retry") == 0 ? " or --all" : "");
			store_close(&st);
			return 2;
		}
		if (strcmp(cmd, "show") == 0) {
			int r = admin_queue_get(rd, op.id, show_cb, NULL);
			if (r == 0) {
				fprintf(stderr, "tern queue show: no queue entry %lld\n",
				        (long long)op.id);
				ret = 1;
			} else if (r < 0)
				ret = 1;
		} else {
			int r = store_exec(st, admin_op_run, &op);
			if (r < 0 && r != -ENOENT) {
				fprintf(stderr, "tern queue %s: failed (%s)\n", cmd, strerror(-r));
				ret = 1;
			} else if (op.changed == 0) {
				fprintf(stderr, "tern queue %s: no queue entry %lld\n", cmd,
				        (long long)op.id);
				ret = 1;
			} else {
				printf("%s: %d entr%s\n",
				       strcmp(cmd, "retry") == 0 ? "due now"
				       : strcmp(cmd, "delete") == 0
				           ? "deleted"
				           : "will bounce at the next scan",
				       op.changed, op.changed == 1 ? "y" : "ies");
			}
		}
	} else {
		fprintf(stderr, "tern queue: unknown command '%s'\n\n%s", cmd, usage);
		ret = 2;
	}
	store_close(&st);
	return ret;
}
