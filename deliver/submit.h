/* submit: the submission path for a submitter that is not SMTP (JMAP's
 * EmailSubmission/set, RFC 8621 7.5): from a logged-in account, an
 * envelope and the message's bytes to a committed message, in one call.
 *
 * It runs what SMTP runs for an authenticated session, in the same order
 * and with the same code (deliver/sender.h, rcpt.h, trace.h, job.h): the
 * envelope sender and the header From: must be the account's own address
 * or alias; every recipient resolves (a local account, alias or catch-all;
 * anything else is relayed, as for any logged-in sender; a full local
 * mailbox refuses); Received:, and Message-ID:/Date: when missing, go on
 * top; the copy that goes out is DKIM-signed; one store job commits the
 * message, the local entries and the queue rows (two variants when both
 * kinds), then IMAP sessions are notified and the queue runner kicked.
 *
 * Unlike SMTP, which takes the recipients it can one RCPT at a time, a
 * submission is all or nothing: if any recipient is refused nothing is
 * stored, and the result says which recipients and why, so JMAP can name
 * them (invalidRecipients) or pick its error from the reason.
 *
 * The caller maps enum deliver_status to its own errors; for JMAP:
 *   DELIVER_NOT_OWNED      forbiddenFrom
 *   DELIVER_RELAY_DENIED   forbiddenToSend (not for a logged-in account today)
 *   DELIVER_NO_SUCH_USER, DELIVER_ALIAS_LOOP, DELIVER_BAD_ADDRESS
 *                          invalidRecipients (res->rcpts says which)
 *   DELIVER_NO_RCPTS       noRecipients
 *   DELIVER_TOO_MANY_RCPTS tooManyRecipients
 *   DELIVER_TOO_BIG        tooLarge
 *   DELIVER_MAILBOX_FULL   overQuota (a local recipient's)
 *   DELIVER_BAD_MESSAGE    invalidEmail
 *   DELIVER_STORE_FAIL, or a negative status in done()   serverFail */
#ifndef TERN_DELIVER_SUBMIT_H
#define TERN_DELIVER_SUBMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deliver/job.h"
#include "deliver/status.h"

struct store;

struct submit_req {
	struct store *store;
	const char *hostname;  /* [server] hostname: Received:, Message-ID:, DSNs */
	int64_t account_id;    /* the logged-in account */
	const char *login;     /* its login name, for Received: "from" */
	const char *peer_ip;   /* the client's address for Received:, or NULL */
	const char *with;      /* Received:'s protocol, NULL: "HTTP" */
	uint64_t origin;       /* the notifications' origin (a conn id), 0: none */
	const char *mail_from; /* envelope sender: an address the account owns */
	const char *const *rcpts;
	size_t nrcpts;
	const char *msg; /* the message, CRLF line ends, no NUL */
	size_t len;
	size_t max_rcpts; /* 0: no limit ([smtp] max_recipients is SMTP's) */
	size_t max_size;  /* bytes, 0: no limit */
	/* run in the store job's transaction (deliver/job.h), or NULL */
	deliver_in_tx_fn in_tx;
	void *in_tx_ud;
};

/* One recipient's outcome, in the order of req->rcpts. */
struct submit_rcpt_outcome {
	enum deliver_status status; /* DELIVER_OK, or why it was refused */
	bool remote;                /* queued for relay (else a local mailbox) */
	bool duplicate;             /* the same mailbox or address as an earlier one */
};

struct submit_result {
	enum deliver_status status;        /* DELIVER_OK, or why nothing was stored */
	const char *why;                   /* a detail text (static) or NULL */
	char id[40];                       /* the submission's id (Received:, Message-ID:, logs) */
	struct submit_rcpt_outcome *rcpts; /* nrcpts entries, NULL if none were looked at */
	size_t nrcpts;
};

/* Free res->rcpts and zero *res. */
void submit_result_free(struct submit_result *res);

/* On the loop, once the store job finished: status >= 0 after COMMIT, or
 * the store's negative error (nothing stored). */
typedef void (*submit_done_fn)(void *ud, int status);

/* Check, resolve and start storing. *res is always filled (free it with
 * submit_result_free()). DELIVER_OK: the job is under way and
 * done(ud, status) runs once it has finished, never before this returns;
 * anything else: refused, nothing stored, done will not run. Loop
 * thread. */
enum deliver_status submit_start(const struct submit_req *req, struct submit_result *res,
                                 submit_done_fn done, void *ud);

#endif
