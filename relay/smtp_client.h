/* smtp_client: the outbound SMTP client as a plain state machine.
 *
 * It never touches a socket: replies come in through smtp_client_line(),
 * bytes go out through io->write(), and STARTTLS, timers and the end of the
 * session are requests to the owner (the queue runner, over a conn_client,
 * or a unit test feeding scripted replies). One client is one connection;
 * it can carry several transactions in a row (one per message for the
 * domain), each with several recipients.
 *
 * Owner's side of the contract:
 *   - after connecting, feed reply lines; the client answers with commands;
 *   - io->ready(): the session is established (or the last transaction
 *     finished) — call smtp_client_send() with the next transaction or
 *     smtp_client_quit();
 *   - io->tx_done(): every recipient of the transaction has its result;
 *   - io->failed(): the session is over (the reply says why, 4xx or 5xx);
 *     a transaction in flight got tx_done first with that reply for its
 *     unfinished recipients. Close the transport.
 *   - io->starttls(): start the client TLS handshake and report with
 *     smtp_client_tls_done();
 *   - io->timeout(ms): (re)arm the reply timer; when it fires call
 *     smtp_client_timed_out(). ms = 0 disarms it;
 *   - the transport closed under us: smtp_client_closed().
 * Callbacks may be invoked from inside any smtp_client_* call; the client
 * must not be freed from inside a callback (defer it). */
#ifndef TERN_SMTP_CLIENT_H
#define TERN_SMTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "relay/smtp_reply.h"

/* RFC 5321 4.5.3.2 timeouts, in milliseconds. */
#define SMTP_TIMEOUT_GREETING (5 * 60 * 1000)
#define SMTP_TIMEOUT_COMMAND (5 * 60 * 1000) /* EHLO, MAIL, RCPT, STARTTLS, AUTH */
#define SMTP_TIMEOUT_DATA_INIT (2 * 60 * 1000)
#define SMTP_TIMEOUT_DATA_BLOCK (3 * 60 * 1000)
#define SMTP_TIMEOUT_DATA_TERM (10 * 60 * 1000)

enum smtp_client_state {
	SC_GREETING = 0, /* connected, waiting for 220 */
	SC_EHLO,
	SC_HELO,
	SC_STARTTLS,  /* STARTTLS sent, waiting for 220 */
	SC_TLS,       /* handshake running */
	SC_AUTH,      /* AUTH PLAIN sent */
	SC_AUTH_USER, /* AUTH LOGIN: username next */
	SC_AUTH_PASS, /* AUTH LOGIN: password next */
	SC_READY,     /* idle between transactions */
	SC_TX,        /* MAIL .. end of data */
	SC_RSET,      /* cleaning up a transaction that delivered nothing */
	SC_QUIT,
	SC_FAILED, /* terminal */
};

enum smtp_rcpt_status { SMTP_RCPT_PENDING = 0, SMTP_RCPT_OK, SMTP_RCPT_TEMP, SMTP_RCPT_PERM };

struct smtp_tx_rcpt {
	const char *addr;   /* without <> */
	const char *notify; /* DSN NOTIFY value or NULL */
	const char *orcpt;  /* DSN ORCPT value ("rfc822;x@y") or NULL */
	/* results */
	enum smtp_rcpt_status status;
	struct smtp_reply reply;
	bool rcpt_accepted; /* RCPT got 2xx, waiting for the end of data */
};

struct smtp_tx {
	const char *mail_from; /* "" = null sender */
	const char *ret;       /* "FULL"/"HDRS" or NULL */
	const char *envid;
	const char *data; /* the message, CRLF */
	size_t len;
	struct smtp_tx_rcpt *rcpts;
	size_t nrcpts;
	void *ud; /* the owner's */
};

struct smtp_client;

struct smtp_client_io {
	int (*write)(void *ud, const void *data, size_t len);
	int (*starttls)(void *ud);
	void (*timeout)(void *ud, uint64_t ms);
	void (*ready)(void *ud);
	void (*tx_done)(void *ud, struct smtp_tx *tx);
	void (*failed)(void *ud, const struct smtp_reply *why);
	/* one line per event, for the owner's log (optional) */
	void (*log)(void *ud, const char *event, const char *detail);
};

struct smtp_client_opts {
	const char *helo;      /* our name for EHLO/HELO */
	const char *peer_name; /* the host we talk to, for messages */
	bool tls_available;    /* the owner can do STARTTLS */
	bool require_tls;      /* no STARTTLS -> temporary failure */
	const char *auth_user; /* smarthost: AUTH after TLS (NULL: no AUTH) */
	const char *auth_pass;
};

struct smtp_client *smtp_client_new(const struct smtp_client_opts *opts,
                                    const struct smtp_client_io *io, void *ud);
void smtp_client_free(struct smtp_client **cl);

/* Input from the transport. */
void smtp_client_line(struct smtp_client *cl, const char *line, size_t len);
void smtp_client_tls_done(struct smtp_client *cl, bool ok, const char *err);
void smtp_client_timed_out(struct smtp_client *cl);
void smtp_client_closed(struct smtp_client *cl);

/* Start a transaction (state must be SC_READY). The tx and everything it
 * points to must stay valid until tx_done. Returns 0 or -EBUSY. */
int smtp_client_send(struct smtp_client *cl, struct smtp_tx *tx);
/* Send QUIT; the owner closes the transport gracefully after this. */
void smtp_client_quit(struct smtp_client *cl);

enum smtp_client_state smtp_client_state(const struct smtp_client *cl);
const char *smtp_client_state_name(enum smtp_client_state s);
unsigned smtp_client_extensions(const struct smtp_client *cl);
bool smtp_client_tls_active(const struct smtp_client *cl);

#endif
