/* methods: the methods of the JMAP core, of Mailbox, Identity and
 * SieveScript
 * (the run functions methods.c puts in its table). */
#ifndef TERN_JMAP_METHODS_H
#define TERN_JMAP_METHODS_H

#include "proto/jmap/jmap_int.h"

#define JMAP_CAP_CORE "urn:ietf:params:jmap:core"
#define JMAP_CAP_MAIL "urn:ietf:params:jmap:mail"
#define JMAP_CAP_SUBMISSION "urn:ietf:params:jmap:submission"

void jmap_core_echo(struct jmap_call *c);             /* core.c */
void jmap_mailbox_get(struct jmap_call *c);           /* mailbox.c */
void jmap_mailbox_changes(struct jmap_call *c);       /* mailbox.c */
void jmap_mailbox_query(struct jmap_call *c);         /* mailbox.c */
void jmap_mailbox_query_changes(struct jmap_call *c); /* mailbox.c */
void jmap_mailbox_set(struct jmap_call *c);           /* mailbox_set.c */
/* The Mailbox state now (what Mailbox/get says): 0 or a negative errno. */
#define JMAP_MAILBOX_STATE_MAX 24
int jmap_mailbox_state(const struct jmap_account *acct, char out[JMAP_MAILBOX_STATE_MAX]);
void jmap_identity_get(struct jmap_call *c);             /* identity.c */
void jmap_identity_set(struct jmap_call *c);             /* identity.c */
void jmap_email_submission_get(struct jmap_call *c);     /* submission.c */
void jmap_email_submission_set(struct jmap_call *c);     /* submission.c */
void jmap_email_submission_query(struct jmap_call *c);   /* submission.c */
void jmap_email_submission_changes(struct jmap_call *c); /* submission.c */
/* JMAP for Sieve (RFC 9661), capability JMAP_CAP_SIEVE (sieve_script.h) */
void jmap_sieve_script_get(struct jmap_call *c);      /* sieve_script.c */
void jmap_sieve_script_query(struct jmap_call *c);    /* sieve_script.c */
void jmap_sieve_script_changes(struct jmap_call *c);  /* sieve_script.c */
void jmap_sieve_script_validate(struct jmap_call *c); /* sieve_script.c */
void jmap_sieve_script_set(struct jmap_call *c);      /* sieve_script_set.c */

#endif
