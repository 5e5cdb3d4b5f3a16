/* job_int: the submission job's state, shared by job.c (build, sign,
 * store, answer) and sieve_apply.c (what the recipients' Sieve runs turn
 * the job's entries into). Inside deliver/ only. */
#ifndef TERN_DELIVER_JOB_INT_H
#define TERN_DELIVER_JOB_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deliver/job.h"
#include "deliver/sieve_filter.h"
#include "mailauth/srs.h"
#include "store/accounts.h"
#include "store/mail.h"
#include "store/threads.h"

struct store_tx;
struct deliver_collect;

struct deliver_job {
	deliver_done_fn done; /* the caller's completion */
	void *ud;
	uint64_t origin; /* for notifications */
	char *local_data;
	size_t local_len;
	char *remote_data;
	size_t remote_len;
	char *mail_from;
	const char *ret;
	char *envid;
	struct store_local_rcpt *local;
	size_t nlocal;
	struct store_remote_rcpt *remote;
	size_t nremote;
	int64_t *queue_ids;       /* nremote: the rows store_deliver made */
	const char **queue_rcpts; /* nremote: their recipients, for in_tx */
	deliver_in_tx_fn in_tx;   /* the caller's part of the transaction, or NULL */
	void *in_tx_ud;
	char **strings; /* everything the remote array points to */
	size_t nstrings;
	uint32_t *uids;
	int64_t *modseqs;
	int64_t *mbids; /* the mailbox each local copy went into */
	bool junk;
	int64_t internal_date;
	/* local recipients whose NOTIFY asks for SUCCESS (RFC 3461 4.1) */
	struct dsn_rcpt *delivered;
	size_t ndelivered;
	const char *hostname;
	struct store *store;
	/* deliver_job_start() is still running (a signer built without
	 * threads completes inline): a failure is its return value then, so
	 * done never runs before it returns */
	bool starting;
	bool failed_early;
	/* Message-ID and references, read on the loop (store/threads.h) */
	struct mime_thread_ids *tids;
	struct store_thread_keys thread;
	size_t retpath_len; /* local_data starts with Return-Path: of this length */
	/* then the caller's prefix (trace, Authentication-Results: tern's own
	 * fields, never the sender's) of this length */
	size_t prefix_len;
	/* what happens after the Sieve runs, copied from the request */
	bool dkim_sign;
	char *arc_domain;
	enum arc_status arc_chain;
	char *arc_authres;
	size_t arc_authres_len;
	char *reject_reason; /* the caller's buffer, or NULL */
	size_t reject_cap;
	bool single_rcpt;
	/* Sieve (sieve_filter.h): the runs' outcomes live in the filter */
	struct sieve_filter *filter;
	char **rcpt_addrs; /* the local recipients' addresses, in local order */
	size_t nrcpt_addrs;
	struct entry_target *targets; /* per local entry, after the runs */
	struct redirect *redirects;
	size_t nredirects;
	const struct sieve_vacation_reply **vacations;
	int64_t *vacation_accounts;
	size_t nvacations;
	char *reject_dsn; /* the notice of a reject with several recipients */
	size_t reject_dsn_len;
	char **owned; /* strings made while applying the outcomes */
	size_t nowned;
	/* Redirects to local accounts run those accounts' scripts in further
	 * rounds (sieve_apply.c): round 0 is the message's own recipients
	 * (local, rcpt_addrs), round k the local targets of round k-1's
	 * redirects (round_local, round_addrs). The entries of every round
	 * gather in applied until sieve_apply_finish(). */
	unsigned round;
	struct store_local_rcpt *round_local;
	char **round_addrs;
	size_t nround;
	struct store_local_rcpt *next_local; /* the next round's, being gathered */
	char **next_addrs;
	size_t nnext;
	int64_t *ran; /* every account whose script ran for this message */
	size_t nran;
	struct sieve_filter **more_filters; /* rounds after the first (they own outcomes) */
	size_t nmore_filters;
	struct applied_entries {
		struct store_local_rcpt *local;
		struct entry_target *targets;
		size_t n, cap;
	} applied;
	bool applying;  /* sieve_apply_outcomes() ran: finish replaces local */
	size_t sealing; /* the redirect being ARC-sealed (job.c) */
	bool seal_inline, seal_inline_done;
	struct deliver_collect *collect; /* deliver/collect.h, or NULL */
	size_t incoming_events;          /* "incoming" webhook events written */
};

/* Where a Sieve filing goes, resolved in the job: a mailbox by name. */
struct entry_target {
	const char *mailbox; /* NULL: the entry's mailbox_id as it is */
	bool create;
	bool created;     /* the job made it: announced after the commit */
	int64_t fallback; /* the recipient's own mailbox (implicit keep) */
};

/* A redirect to a remote address (a local one is a further round). */
struct redirect {
	int64_t account_id; /* the redirecting account */
	const char *to;     /* the address queued for */
	/* the envelope sender: SRS of the message's (mailauth/srs.h) at the
	 * account's domain, "" for <>, or the account's address when no SRS
	 * secret is loaded or the result is too long */
	char from[SRS_ADDR_MAX];
	char domain[256]; /* the account's domain: it ARC-seals the copy */
	char *data;       /* the sealed copy (ARC set on top), or NULL: unsealed */
	size_t len;
};

/* How many rounds of local redirect targets' scripts may follow the
 * recipients' own (a chain A -> B -> C -> ... deeper than this ends in
 * the last target's INBOX). */
#define SIEVE_MAX_REDIRECT_DEPTH 4

/* Loop thread: the runs' outcomes become the job's entries, redirects,
 * vacation replies and reject notice. 1: the one recipient rejected the
 * message at SMTP time (the reason is in the caller's buffer); 0, or
 * -ENOMEM. */
int sieve_apply_outcomes(struct deliver_job *j, const struct sieve_outcome *outs, size_t n);
/* Loop thread, after sieve_apply_outcomes(): the local targets of this
 * round's redirects become the next round (job.c runs their scripts with
 * sieve_filter_prepare over round_local / round_addrs). The number of
 * recipients in the new round, 0 when there is none, or -ENOMEM. */
int sieve_apply_next_round(struct deliver_job *j);
/* What the rounds and redirects own, freed with the job. */
void sieve_apply_free(struct deliver_job *j);
/* Loop thread, once no round is left: the gathered entries become the
 * job's local recipients. 0 or -ENOMEM. */
int sieve_apply_finish(struct deliver_job *j);
/* Writer thread, first in the job's transaction: the mailboxes fileinto
 * named (made with :create), then the redirects, vacation replies and
 * reject notice. 0 or the store's negative error. */
int sieve_apply_in_tx(struct store_tx *tx, struct deliver_job *j);

#endif
