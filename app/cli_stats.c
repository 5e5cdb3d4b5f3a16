/* cli_stats: `tern stats [--json]`: what the store holds (domains,
 * accounts, aliases, mailboxes, messages and bytes, the queue by state),
 * read in one snapshot (store/counts.c) beside a running server. */
#include "app/cli.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "lib/log.h"
#include "store/counts.h"
#include "store/store.h"

static const char usage[] =
    "usage: tern [--config FILE] stats [--json]\n"
    "\n"
    "Counts what the store holds: domains, accounts, aliases, mailboxes,\n"
    "messages and their bytes (as users see them, and as stored once), and\n"
    "the outbound queue by state. Safe while tern serve runs.\n";

int cli_stats(const struct config *cfg, int argc, char **argv)
{
	if (!cfg) {
		fputs(usage, stdout);
		return 0;
	}
	bool json = false;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else {
			fprintf(stderr, "tern stats: unexpected argument '%s'\n\n%s", argv[i],
			        usage);
			return 2;
		}
	}
	/* store_open() would create an empty store: a wrong data_dir must not
	 * look like a server without mail. */
	char db[1100];
	struct stat sb;
	snprintf(db, sizeof db, "%s/tern.db", cfg->data_dir);
	if (stat(db, &sb) != 0) {
		fprintf(stderr, "tern stats: no store at %s (is data_dir right?)\n", db);
		return 1;
	}
	struct store *st;
	char err[512];
	if (store_open(&st, cfg->data_dir, NULL, err, sizeof err) < 0) {
		fprintf(stderr, "tern stats: cannot open the store in %s: %s\n", cfg->data_dir,
		        err);
		return 1;
	}
	struct store_counts c;
	int rc = store_counts_read(store_reader(st), (int64_t)time(NULL), &c);
	store_close(&st);
	if (rc < 0) {
		fprintf(stderr, "tern stats: cannot read the store: %s\n", strerror(-rc));
		return 1;
	}
	if (json) {
		printf("{\"domains\":%lld,\"accounts\":%lld,\"aliases\":%lld,\"mailboxes\":%lld,"
		       "\"messages\":%lld,\"bytes\":%lld,\"stored_messages\":%lld,"
		       "\"stored_bytes\":%lld,\"queue\":{\"queued\":%lld,\"deferred\":%lld,"
		       "\"sending\":%lld,\"bouncing\":%lld,\"total\":%lld}}\n",
		       (long long)c.domains, (long long)c.accounts, (long long)c.aliases,
		       (long long)c.mailboxes, (long long)c.messages, (long long)c.bytes,
		       (long long)c.stored_messages, (long long)c.stored_bytes,
		       (long long)c.queue_queued, (long long)c.queue_deferred,
		       (long long)c.queue_sending, (long long)c.queue_bouncing,
		       (long long)(c.queue_queued + c.queue_deferred + c.queue_sending +
		                   c.queue_bouncing));
		return 0;
	}
	printf("domains          %lld\n"
	       "accounts         %lld\n"
	       "aliases          %lld\n"
	       "mailboxes        %lld\n"
	       "messages         %lld\n"
	       "bytes            %lld\n"
	       "stored messages  %lld\n"
	       "stored bytes     %lld\n"
	       "queue            %lld (queued %lld, deferred %lld, sending %lld, bouncing %lld)\n",
	       (long long)c.domains, (long long)c.accounts, (long long)c.aliases,
	       (long long)c.mailboxes, (long long)c.messages, (long long)c.bytes,
	       (long long)c.stored_messages, (long long)c.stored_bytes,
	       (long long)(c.queue_queued + c.queue_deferred + c.queue_sending + c.queue_bouncing),
	       (long long)c.queue_queued, (long long)c.queue_deferred, (long long)c.queue_sending,
	       (long long)c.queue_bouncing);
	return 0;
}
