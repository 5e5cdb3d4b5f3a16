/* session: the SMTP server session, shared between session.c (the state
 * machine and command table) and deliver.c (SMTP's side of the submission
 * path in deliver/). Not a public API: the entry point is smtp_session_start() in
 * smtp.h.
 *
 * deliver.c is below session.c: it reads the session's fields but calls
 * nothing in session.c. The session takes a reference for a store job and
 * hears of its commit through the callback it gives smtp_deliver_start(). */
#ifndef TERN_SMTP_SESSION_H
#define TERN_SMTP_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "proto/sasl/sasl.h"
#include "proto/smtp/address.h"
#include "proto/smtp/message.h"
#include "proto/smtp/mx_reputation.h"
#include "proto/smtp/replies.h"
#include "proto/smtp/smtp.h"
#include "proto/smtp/judge.h"
#include "auth/auth.h"
#include "deliver/rcpt.h"

struct conn;
struct proto_env;
struct rspamd_check;

/* See the diagram at the top of session.c. */
enum smtp_state {
	SMTP_S_GREETING,   /* accepted, greeting not sent yet (early-talker window) */
	SMTP_S_CONNECTED,  /* greeting sent: HELO/EHLO expected */
	SMTP_S_READY,      /* HELO/EHLO done, no transaction */
	SMTP_S_MAIL,       /* MAIL accepted, no recipient yet */
	SMTP_S_RCPT,       /* at least one recipient: RCPT, DATA or BDAT */
	SMTP_S_DATA,       /* reading a DATA body (conn dot mode) */
	SMTP_S_BDAT,       /* reading a BDAT chunk (conn block mode) */
	SMTP_S_BDAT_WAIT,  /* between BDAT chunks: BDAT, RSET, NOOP, QUIT */
	SMTP_S_AUTH,       /* SASL exchange: lines are client responses */
	SMTP_S_AUTH_CHECK, /* password check running, input paused */
	SMTP_S_JUDGE,      /* mail authentication ending (judge.h), input paused */
	SMTP_S_COMMIT,     /* store job running, input paused */
	SMTP_S_TLS,        /* STARTTLS handshake running */
	SMTP_S_CLOSING,    /* farewell sent, waiting for close */
	SMTP_S_COUNT
};

struct smtp_txn {
	struct smtp_path from;
	struct smtp_mail_params params;
	struct deliver_rcpt *rcpts; /* deliver/rcpt.h */
	size_t nrcpts, cap;
	size_t naccepted; /* RCPTs answered 250, duplicates included (the limit) */
	bool bdat;        /* BDAT used: DATA not allowed any more */
	struct mime_spool msg;
	struct smtp_body_state body; /* DATA: un-stuffing after bare LF */
	bool msg_started;
	bool rspamd_checked; /* rspamd answered: its action decides, not junk_score */
	bool spam_flag;      /* rspamd said "add header"/"rewrite subject": X-Spam, Junk */
	double spam_score;   /* rspamd's score, for X-Spam-Score */
	char id[40];         /* "<sid>.<n>", in Received: and the 250 */
	/* the judge's verdict for deliver.c (mx) */
	const struct buf *auth_fields; /* Authentication-Results to prepend, or NULL */
	bool junk;                     /* DMARC quarantine: into the Junk mailboxes */
	char auth_log[400];            /* verdict fields for the delivered/rejected line */
	int arc_chain;                 /* the verdict's enum arc_status (0: not judged) */
	struct junk_auth auth;         /* the verdict's results for the spam score */
	char forward_domain[256];      /* the first alias to a remote address: its domain */
	char sieve_reason[256];        /* the one recipient's Sieve reject (deliver/job.h) */
};

struct smtp_session {
	struct conn *c;
	const struct proto_env *env;
	const struct smtp_settings *cfg;
	uint64_t idle_timeout_ms; /* the listener's command timeout, 0 = cfg's */
	enum smtp_state state;
	int refs;
	bool closed;       /* conn's closed callback ran: never touch c again */
	bool submission;   /* a submission listener, not MX */
	bool auth_offered; /* AUTH on this listener: submission, or mx with [smtp] mx_auth */
	bool esmtp;
	bool close_after; /* timeout/shutdown while waiting: close after the reply */
	char helo[256];
	int errors;
	uint64_t ntxn;

	/* AUTH */
	bool authenticated;
	struct auth_account acct;
	struct auth_req *auth_req;
	struct sasl sasl;
	enum sasl_mech auth_mech;

	/* greeting delay (early-talker detection) */
	uv_timer_t greet_timer;
	bool timer_open;
	bool greet_delay_over; /* the early-talker delay has passed (or there is none) */

	/* mx: DNSBL and FCrDNS answers (NULL: none asked); the greeting waits
	 * for them until rep_deadline (uv_now), so RCPT and Received: have
	 * them. */
	const struct smtp_spam_settings *spam;
	struct dns_resolver *dns;      /* mx checks' resolver (smtp_ctx), NULL: none */
	const struct netlist *trusted; /* [auth] trusted_networks: never checked */
	bool trusted_client;           /* this client is in it (set before the judge starts) */
	struct mx_reputation *rep;
	uint64_t rep_deadline;
	char rep_detail[320];        /* the 554's "<ip> listed by <zone>" */
	struct rspamd_check *rspamd; /* the message is with rspamd (holds a reference) */

	/* BDAT chunk in progress */
	bool bdat_last;
	uint64_t bdat_size;
	enum smtp_reply_id bdat_error; /* SMTP_R_OK, or the reply owed after the chunk */
	const char *bdat_error_detail;
	enum smtp_state bdat_return;

	struct smtp_txn txn;
	struct smtp_judge *judge; /* mx mail authentication, or NULL (judge.h) */
	const char *authserv_id;  /* whose Authentication-Results fields are removed */
};

/* deliver.c */
/* Resolve a RCPT path to a recipient (out filled, strings allocated, freed
 * with deliver_rcpt_free()). Returns SMTP_R_OK or the reply to send. */
enum smtp_reply_id smtp_rcpt_resolve(struct smtp_session *s, const struct smtp_path *p,
                                     const struct smtp_rcpt_params *rp, struct deliver_rcpt *out);
/* An authenticated session: is addr the account's own address or alias?
 * SMTP_R_OK, SMTP_R_NOT_OWNED or SMTP_R_STORE_FAIL. */
enum smtp_reply_id smtp_sender_owned(struct smtp_session *s, const char *addr, size_t len);
/* A store job finished, on the loop: status >= 0 after COMMIT, or the
 * store's negative error. The session may be closed by then. */
typedef void (*smtp_deliver_done_fn)(void *ud, int status);
/* End of data passed the content checks: check the header From: of an
 * authenticated session, build the message and submit the store job.
 * SMTP_R_OK means the job is queued and done(ud, status) will run once it
 * has finished, never before this returns; anything else is the reply to
 * send now (with *why as its detail text, or NULL), and done will not run. */
enum smtp_reply_id smtp_deliver_start(struct smtp_session *s, smtp_deliver_done_fn done, void *ud,
                                      const char **why);

#endif
