/* sieve_filter: the recipients' Sieve scripts run over a message being
 * delivered, and what each run decided, in the store's terms.
 *
 * Where it runs: in the delivery layer, between the protocols and the
 * store job (deliver/job.c), for every local recipient whose account has
 * an active script: SMTP and JMAP submissions alike; IMAP APPEND never
 * comes this way. The scripts are taken compiled from sieve_cache.h on
 * the loop, with what a run may ask about the account (its address, its
 * mailbox names for mailboxexists); the runs themselves go to libuv's
 * thread pool (sieve_filter_set_loop(); without a loop, as in unit tests,
 * they run inline, bounded by the engine's step limit). Nothing here
 * writes: the job applies the outcomes in its one transaction.
 *
 * A run that fails (the engine's limits, conflicting actions) is an
 * implicit keep with the reason logged. A redirect is refused (implicit
 * keep instead, logged) when the message already carries more than
 * SIEVE_MAX_RECEIVED Received fields: a loop between two forwarders. */
#ifndef TERN_DELIVER_SIEVE_FILTER_H
#define TERN_DELIVER_SIEVE_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct store_rd;

#define SIEVE_MAX_RECEIVED 30

/* One mailbox entry a run asked for. */
struct sieve_filing {
	char *mailbox;      /* fileinto's name; NULL: the recipient's own (keep) */
	bool create;        /* fileinto :create */
	bool explicit_keep; /* not the implicit keep: the junk verdict does not apply */
	uint32_t flags;     /* STORE_FLAG_* */
	char *keywords;     /* space-separated, or NULL */
};

/* A vacation response to send, if (handle, to) was not answered within
 * days: the whole message, from the null sender to `to`. */
struct sieve_vacation_reply {
	char *to, *handle;
	unsigned days;
	char *msg;
	size_t len;
};

/* What one local recipient's script decided. */
struct sieve_outcome {
	bool ran;       /* the recipient had an active script */
	bool discarded; /* no entry at all (discard, or reject) */
	struct sieve_filing *filings;
	size_t nfilings;
	char **redirects; /* addresses */
	size_t nredirects;
	char *reject;                          /* reject/ereject's reason, or NULL */
	struct sieve_vacation_reply *vacation; /* or NULL */
};

struct sieve_filter_rcpt {
	int64_t account_id;
	const char *envelope_to; /* the RCPT address */
};

struct sieve_filter;

/* The thread pool's loop (the server's); NULL: runs happen inline. */
void sieve_filter_set_loop(uv_loop_t *loop);

/* Loop thread: take the scripts of the local recipients rcpts[0..n) for
 * the message msg[0..len) (the local copy, header first; the caller keeps
 * it until done) of envelope sender mail_from. NULL with *rc 0 when no
 * recipient has an active script (deliver as usual), NULL with *rc < 0 on
 * failure, else the filter. hostname: the Message-ID of vacation replies. */
struct sieve_filter *sieve_filter_prepare(struct store_rd *rd, const char *hostname,
                                          const char *mail_from, const char *msg, size_t len,
                                          uint64_t size, const struct sieve_filter_rcpt *rcpts,
                                          size_t n, int *rc);
/* Run them (in the pool, or inline without a loop) and call
 * done(ud, outcomes, n) on the loop: outcomes[i] is rcpts[i]'s, owned by
 * the filter. rc: 0, or -ENOMEM (done not called). */
typedef void (*sieve_filter_done_fn)(void *ud, struct sieve_filter *f,
                                     const struct sieve_outcome *outcomes, size_t n);
int sieve_filter_start(struct sieve_filter *f, sieve_filter_done_fn done, void *ud);
void sieve_filter_free(struct sieve_filter *f);

/* How many Received fields the header of msg[0..len) has. */
unsigned sieve_count_received(const char *msg, size_t len);

#endif
