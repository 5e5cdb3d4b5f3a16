/* judge: how the mx listener judges a message (SPF, DKIM, DMARC), for
 * session.c. Not a public API.
 *
 * session.c calls, in order: smtp_judge_start() when the session starts,
 * smtp_judge_helo() at HELO/EHLO, smtp_judge_mail() at MAIL,
 * smtp_judge_body() for what each DATA/BDAT piece added to the spool,
 * smtp_judge_end() at the end of the message, and smtp_judge_txn_reset()
 * whenever the transaction goes (RSET, a new MAIL, HELO, the end), and
 * smtp_judge_free() when the connection closes. Nothing here calls into
 * session.c: the end is reported through the callback given to
 * smtp_judge_end(). */
#ifndef TERN_SMTP_JUDGE_H
#define TERN_SMTP_JUDGE_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"
#include "mailauth/arc.h"
#include "mailauth/junk_score.h"

struct smtp_session;
struct smtp_ctx;
struct mime_spool;

enum smtp_judge_action {
	SMTP_JUDGE_DELIVER,  /* as addressed */
	SMTP_JUDGE_JUNK,     /* DMARC quarantine: the recipients' Junk, $Junk */
	SMTP_JUDGE_REJECT,   /* 550 5.7.1 */
	SMTP_JUDGE_TEMPFAIL, /* 451 4.4.3: a DMARC temperror */
};

struct smtp_verdict {
	enum smtp_judge_action action;
	char reply[600];       /* REJECT/TEMPFAIL: the reply's detail text */
	char log[400];         /* "spf=pass dkim=pass dmarc=none" fields for the log line */
	struct buf fields;     /* the Authentication-Results field to prepend */
	enum arc_status arc;   /* the ARC chain's (PENDING: not checked), for sealing a forward */
	struct junk_auth auth; /* the results the built-in spam score weighs (deliver.c) */
};

/* Whether this session's mail is judged (an mx listener with a resolver,
 * a client outside trusted_networks, a check enabled); the judge is
 * made then. 0, or -1 when out of memory (nothing is judged). */
int smtp_judge_start(struct smtp_session *s, const struct smtp_ctx *ctx);
void smtp_judge_helo(struct smtp_session *s);
void smtp_judge_mail(struct smtp_session *s);
/* The spool grew by data[0..len) (dot-unstuffed message bytes). */
void smtp_judge_body(struct smtp_session *s, const char *data, size_t len);
typedef void (*smtp_judged_fn)(struct smtp_session *s, struct smtp_verdict *v);
/* End of the message: false when this session is not judged (deliver as
 * it is). Else true: done(s, verdict) runs once every check has ended or
 * the deadline passed, never before this returns, unless
 * smtp_judge_txn_reset()/smtp_judge_free() come first. */
bool smtp_judge_end(struct smtp_session *s, smtp_judged_fn done);
void smtp_judge_txn_reset(struct smtp_session *s);
void smtp_judge_free(struct smtp_session *s);

/* Remove from the spool's header every Authentication-Results field whose
 * authserv-id is id (RFC 8601 5). Returns how many. */
size_t smtp_judge_strip_ours(struct mime_spool *m, const char *id);
/* Remove from the spool's header every X-Spam-Flag, X-Spam-Score,
 * X-Spam-Status, X-Spam-Level and X-Spam-Report field: on mx mail only
 * our own verdict may speak (a sender would write "X-Spam-Flag: NO" for a
 * client's filter to trust). Returns how many. */
size_t smtp_judge_strip_spam_fields(struct mime_spool *m);

#endif
