/* methods: the methods of the JMAP core and of Mailbox and Identity
 * (the run functions methods.c puts in its table). */
#ifndef TERN_JMAP_METHODS_H
#define TERN_JMAP_METHODS_H

#include "proto/jmap/jmap_int.h"

#define JMAP_CAP_CORE "urn:ietf:params:jmap:core"
#define JMAP_CAP_MAIL "urn:ietf:params:jmap:mail"
#define JMAP_CAP_SUBMISSION "urn:ietf:params:jmap:submission"

void jmap_core_echo(struct jmap_call *c);                /* core.c */
void jmap_mailbox_get(struct jmap_call *c);              /* mailbox.c */
void jmap_mailbox_changes(struct jmap_call *c);          /* mailbox.c */
void jmap_mailbox_query(struct jmap_call *c);            /* mailbox.c */
void jmap_mailbox_query_changes(struct jmap_call *c);    /* mailbox.c */
void jmap_identity_get(struct jmap_call *c);             /* identity.c */
void jmap_identity_set(struct jmap_call *c);             /* identity.c */
void jmap_email_submission_get(struct jmap_call *c);     /* submission.c */
void jmap_email_submission_set(struct jmap_call *c);     /* submission.c */
void jmap_email_submission_query(struct jmap_call *c);   /* submission.c */
void jmap_email_submission_changes(struct jmap_call *c); /* submission.c */

#endif
