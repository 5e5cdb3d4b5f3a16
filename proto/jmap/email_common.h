/* email_common: what the Email, Thread and SearchSnippet methods share:
 * the account check of methods that are not /get, the state string and
 * a message's bytes. */
#ifndef TERN_JMAP_EMAIL_COMMON_H
#define TERN_JMAP_EMAIL_COMMON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/jmap/jmap_int.h"
#include "proto/jmap/keywords.h"
#include "store/emails.h"

/* Checks args' "accountId" is the caller's account ("A" + id). Answers
 * the call itself (invalidArguments, accountNotFound) and returns false
 * when it is not. */
bool jmap_email_account_ok(struct jmap_call *c);

/* The account's Email/Thread state into out (STORE_EMAIL_STATE_MAX),
 * recorded with its snapshot so that a later Email/changes or
 * Thread/changes from it can be answered (email_changes.c). Every state a
 * client is given must come from here. 0, or a negative errno. */
int jmap_email_state(const struct jmap_account *a, char *out);

/* The whole message (RFC 5322 bytes) into out (reset first). 0,
 * -ENOENT, or a negative errno. */
struct buf;
int jmap_message_bytes(const struct jmap_account *a, int64_t message_id, struct buf *out);

/* Answers with serverFail, the description naming what failed. */
void jmap_server_fail(struct jmap_call *c, const char *what);

#endif
