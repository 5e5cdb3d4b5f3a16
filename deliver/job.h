/* job: the store job that takes a message in, atomically: the message with
 * its trace fields, one mailbox entry per distinct local mailbox, one queue
 * row per remote recipient.
 *
 * The local copy starts with Return-Path: (RFC 5321 4.4: added at final
 * delivery); the copy queued for relay must not carry it, so when a message
 * has both kinds of recipient the job stores two variants of it, still
 * inside one savepoint: either both are committed or neither is. done runs
 * after COMMIT, and only then are IMAP sessions (and anyone else listening
 * to store/notify.h) told and the queue runner kicked. A submission with
 * remote recipients is DKIM-signed first (relay/dkim_signer.h, in the
 * thread pool): the job is submitted from the signer's completion, with
 * the signatures on top of the copy that goes out, so "done" still means
 * committed and a retry sends the same signed bytes. Mail an alias forwards
 * may be ARC-sealed instead (the caller says by which domain).
 *
 * Before that, the local recipients' active Sieve scripts run
 * (sieve_filter.h, in the thread pool): their actions decide the entries
 * (mailbox, flags, none), and add redirects, vacation replies and reject
 * notices, all in the same transaction; a single recipient's reject ends
 * the job with DELIVER_JOB_REJECTED and nothing stored. A redirect to a
 * local account runs that account's script in a further round (at most
 * SIEVE_MAX_REDIRECT_DEPTH, each account once per message); a remote one
 * is queued from an SRS sender and ARC-sealed by the redirecting
 * account's domain (sieve_apply.c).
 *
 * Local recipients whose DSN NOTIFY asks for SUCCESS get their "delivered"
 * notice (RFC 3461 6.2.1) in the same transaction.
 *
 * The job copies everything it touches (the caller may be gone before it
 * completes) and knows nothing of the caller's life: the caller keeps
 * itself alive for the job if it needs to, and hears of the commit through
 * done. */
#ifndef TERN_DELIVER_JOB_H
#define TERN_DELIVER_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <time.h>

#include "deliver/rcpt.h"
#include "mailauth/arc.h"

struct store;

/* Runs in the job's transaction once the message, its entries and its
 * queue rows are written, for what must commit with them or not at all
 * (the HTTP send API's Idempotency-Key row): queue_rcpts[i] got the queue
 * row queue_ids[i]. A negative return rolls the whole job back and is
 * done's status. Writer thread. */
struct store_tx;
typedef int (*deliver_in_tx_fn)(struct store_tx *tx, void *ud, const char *const *queue_rcpts,
                                const int64_t *queue_ids, size_t nqueue);

struct deliver_job_req {
	struct store *store;
	const char *hostname;  /* [server] hostname ("" is "localhost"): DSNs */
	uint64_t origin;       /* the notifications' origin (a conn id), 0: none */
	time_t now;            /* the internal date */
	const char *mail_from; /* envelope sender, "" for <> */
	const char *ret;       /* DSN RET: "FULL", "HDRS" or NULL */
	const char *envid;     /* DSN ENVID or NULL */
	const struct deliver_rcpt *rcpts;
	size_t nrcpts;
	/* fields that go on top of both copies (Received:, Message-ID:, ...) */
	const char *prefix;
	size_t prefix_len;
	const char *msg; /* the message as submitted, CRLF */
	size_t len;
	bool junk;      /* the local copies go to the Junk mailboxes */
	bool dkim_sign; /* a submission: DKIM-sign the copy that goes out */
	/* mail an alias forwards: ARC-seal the copy that goes out by this
	 * domain with the judge's chain status and Authentication-Results
	 * (NULL: no seal). The status and results (given for any judged
	 * mail) also seal what a recipient's Sieve redirects elsewhere, by
	 * the recipient's domain. */
	const char *arc_domain;
	enum arc_status arc_chain;
	const char *arc_authres;
	size_t arc_authres_len;
	/* A message with one recipient that the recipient's Sieve script
	 * rejects (RFC 5429 reject/ereject) is refused at SMTP time: the
	 * reason goes here and done gets DELIVER_JOB_REJECTED. NULL: no
	 * refusal now (JMAP), the sender gets a failure notice instead, as
	 * with several recipients. */
	char *reject_reason;
	size_t reject_cap;
	deliver_in_tx_fn in_tx; /* or NULL */
	void *in_tx_ud;
	/* A submission by this account: the message's recipients go to its
	 * collected addresses in the job's transaction (deliver/collect.h);
	 * 0: none (mail from outside, forwards). */
	int64_t collect_account_id;
};

/* done's status when the one recipient's script rejected the message:
 * nothing was stored. */
#define DELIVER_JOB_REJECTED (-EPERM)

/* A job finished, on the loop: status >= 0 after COMMIT,
 * DELIVER_JOB_REJECTED, or the store's negative error. */
typedef void (*deliver_done_fn)(void *ud, int status);

/* Build both copies and submit the job (after signing, when asked). 0: the
 * job is under way and done(ud, status) will run once it has finished;
 * a negative errno (-ENOMEM, -EIO: the store refused the job): nothing was
 * stored and done will not run. Loop thread. */
int deliver_job_start(const struct deliver_job_req *req, deliver_done_fn done, void *ud);

#endif
