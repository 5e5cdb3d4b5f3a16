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
	struct deliver_collect *collect; /* deliver/collect.h, or NULL */
};

/* Where a Sieve filing goes, resolved in the job: a mailbox by name. */
struct entry_target {
	const char *mailbox; /* NULL: the entry's mailbox_id as it is */
	bool create;
	bool created;     /* the job made it: announced after the commit */
	int64_t fallback; /* the recipient's own mailbox (implicit keep) */
};

struct redirect {
	int64_t account_id;
	const char *to;
	char from[STORE_ADDR_MAX]; /* the account's address: the envelope sender */
};

/* Loop thread: the runs' outcomes become the job's entries, redirects,
 * vacation replies and reject notice. 1: the one recipient rejected the
 * message at SMTP time (the reason is in the caller's buffer); 0, or
 * -ENOMEM. */
int sieve_apply_outcomes(struct deliver_job *j, const struct sieve_outcome *outs, size_t n);
/* Writer thread, first in the job's transaction: the mailboxes fileinto
 * named (made with :create), then the redirects, vacation replies and
 * reject notice. 0 or the store's negative error. */
int sieve_apply_in_tx(struct store_tx *tx, struct deliver_job *j);

#endif
