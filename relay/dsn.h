/* dsn: RFC 3464 delivery status notifications (bounces and delay notices).
 *
 * dsn_build() writes a complete RFC 5322 message, multipart/report;
 * report-type=delivery-status, with three parts:
 *   1. a human-readable explanation (text/plain, UTF-8);
 *   2. message/delivery-status: per-message fields (Reporting-MTA,
 *      Original-Envelope-Id from ENVID, Arrival-Date) and one block per
 *      recipient (Original-Recipient from ORCPT, Final-Recipient, Action,
 *      Status, Remote-MTA, Diagnostic-Code, Last-Attempt-Date, and
 *      Will-Retry-Until for delays);
 *   3. the original message (message/rfc822) with RET=FULL, otherwise its
 *      header only (text/rfc822-headers).
 * It is sent from the null sender `<>` (the caller's envelope), so a DSN
 * that fails can never produce another one.
 *
 * dsn_wanted() is the policy: no DSN for a null sender (never bounce a
 * bounce), none when NOTIFY says NEVER or lacks the event. */
#ifndef TERN_DSN_H
#define TERN_DSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum dsn_action { DSN_FAILED = 0, DSN_DELAYED, DSN_DELIVERED, DSN_RELAYED };

struct dsn_rcpt {
	const char *rcpt;  /* final recipient address */
	const char *orcpt; /* "rfc822;addr" or NULL */
	enum dsn_action action;
	const char *status;     /* "5.1.1" */
	const char *remote_mta; /* host name or NULL */
	const char *diagnostic; /* the remote reply "550 5.1.1 no such user", or NULL */
	const char *reason;     /* human-readable, for part 1 */
};

struct dsn_info {
	const char *reporting_mta; /* our host name */
	const char *postmaster;    /* From: address, "postmaster@domain" */
	const char *to;            /* the original envelope sender */
	const char *envid;         /* or NULL */
	bool ret_full;
	time_t arrival;       /* when the message was queued */
	time_t retry_until;   /* for DSN_DELAYED */
	const char *original; /* the original message */
	size_t original_len;
	const struct dsn_rcpt *rcpts;
	size_t nrcpts;
};

/* Returns a malloc'ed message (CRLF) and its length, or NULL (ENOMEM). */
char *dsn_build(const struct dsn_info *info, size_t *len);

/* Is this queued message (null sender) a DSN tern built, as opposed to a
 * message from outside with a null sender that an alias forwards? Ours
 * begin with dsn_build()'s From line, and so are Sieve vacation replies,
 * which begin with "Auto-Submitted: auto-replied (vacation)"
 * (deliver/sieve_reply.c: From the account's own address); whatever
 * passed through our SMTP begins with the Received field it prepended. The
 * relay DKIM-signs ours only: it must not sign a forged "From:
 * postmaster@our.domain". */
bool dsn_is_ours(const char *data, size_t len);

/* Should a DSN of this kind go to this sender for a recipient with this
 * NOTIFY value (NULL = not given: failures and delays are reported)? */
bool dsn_wanted(const char *mail_from, const char *notify, enum dsn_action action);

/* "5.1.1" from a reply's enhanced code, else from its class (5.0.0/4.0.0).
 * out needs 16 bytes. */
void dsn_status_from_reply(int code, const char *enhanced, char *out);

/* Store a built DSN for the original sender, inside the caller's writer
 * transaction: into the local mailbox when the sender is a local account
 * (or an alias of one), otherwise as a queue row from the null sender.
 * Returns 0 or negative. */
struct store_tx;
int dsn_deliver(struct store_tx *tx, const char *to, const char *data, size_t len);

#endif
