/* status: what the submission path says about a recipient, a sender or a
 * whole message, in no protocol's words.
 *
 * deliver/ sits below the protocols, so it cannot answer with an SMTP reply
 * or a JMAP error: each caller maps these to its own (proto/smtp/deliver.c:
 * the SMTP replies it always sent; JMAP's EmailSubmission/set: forbiddenFrom,
 * invalidRecipients, overQuota, ...). */
#ifndef TERN_DELIVER_STATUS_H
#define TERN_DELIVER_STATUS_H

enum deliver_status {
	DELIVER_OK = 0,
	DELIVER_NO_SUCH_USER,   /* a local domain with no such account or alias */
	DELIVER_ALIAS_LOOP,     /* the aliases go round */
	DELIVER_BAD_ADDRESS,    /* not an address the store can look up */
	DELIVER_RELAY_DENIED,   /* a remote address, and the sender may not relay */
	DELIVER_MAILBOX_FULL,   /* a local account whose quota is used up */
	DELIVER_NOT_OWNED,      /* envelope or header sender not the account's own */
	DELIVER_NO_RCPTS,       /* nobody to send to */
	DELIVER_TOO_MANY_RCPTS, /* over the caller's recipient limit */
	DELIVER_TOO_BIG,        /* over the caller's size limit */
	DELIVER_BAD_MESSAGE,    /* empty, or not a message at all */
	DELIVER_STORE_FAIL,     /* no store, a read that failed, no memory */
};

/* A short lower-case name for logs: "no_such_user", "not_owned", ... */
const char *deliver_status_name(enum deliver_status st);

#endif
