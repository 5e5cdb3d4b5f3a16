/* rcpt: from a recipient address to where its copy goes: a local mailbox
 * entry or a queue row.
 *
 * Resolved when the recipient is named (SMTP's RCPT, a JMAP envelope), on
 * the loop thread's read connection, so the submitter learns about an
 * unknown user or a relay attempt at once, not after sending the body. An
 * account whose quota is used up already refuses (DELIVER_MAILBOX_FULL, for
 * SMTP 452 4.2.2: temporary, so the sender retries once mail is deleted or
 * the quota raised). The check costs a sum over the account's entries,
 * only for accounts with a quota; a message that fits at resolution is
 * taken even if it ends over the limit (IMAP APPEND checks the exact
 * size). */
#ifndef TERN_DELIVER_RCPT_H
#define TERN_DELIVER_RCPT_H

#include <stdbool.h>
#include <stdint.h>

#include "deliver/status.h"

struct store;

struct deliver_rcpt {
	char *addr;         /* the address as given (or the alias's forward target) */
	bool remote;        /* a queue row, not a mailbox entry */
	bool forwarded;     /* remote because a local alias points elsewhere */
	int64_t account_id; /* local */
	int64_t mailbox_id; /* local */
	char *notify;       /* DSN NOTIFY or NULL */
	char *orcpt;        /* DSN ORCPT or NULL */
};

/* Resolve addr (a complete address: SMTP turns <postmaster> into one
 * first). may_relay: the submitter is authenticated, so an address of a
 * domain that is not ours is queued rather than refused; an alias that
 * forwards elsewhere is queued whoever sends. notify and orcpt (DSN
 * parameters, NULL when absent) are copied into out: a remote recipient's
 * go with its queue row, a local one's decide the "delivered" DSN.
 * DELIVER_OK with out filled (strings allocated), or why not (out zeroed):
 * An SRS address at one of our domains (a bounce to a Sieve redirect's
 * sender, mailauth/srs.h) resolves to the address it decodes to, relayed
 * whoever sends; a forged or expired one is DELIVER_NO_SUCH_USER.
 * DELIVER_NO_SUCH_USER, DELIVER_ALIAS_LOOP, DELIVER_BAD_ADDRESS,
 * DELIVER_RELAY_DENIED, DELIVER_MAILBOX_FULL, DELIVER_STORE_FAIL. Loop
 * thread. */
enum deliver_status deliver_rcpt_resolve(struct store *store, const char *addr, bool may_relay,
                                         const char *notify, const char *orcpt,
                                         struct deliver_rcpt *out);

/* Free what deliver_rcpt_resolve() allocated, and zero *r. */
void deliver_rcpt_free(struct deliver_rcpt *r);

#endif
