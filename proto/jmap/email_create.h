/* email_create: the creates of an Email/set (RFC 8621 §4.6), which
 * email_set.c runs before its updates and destroys. */
#ifndef TERN_JMAP_EMAIL_CREATE_H
#define TERN_JMAP_EMAIL_CREATE_H

#include <jansson.h>
#include <stdint.h>

#include "proto/jmap/jmap_int.h"

/* On the loop once every create has been tried: created (creation id ->
 * the Email's id, blobId, threadId, size) and notCreated (creation id ->
 * SetError), both new references for done to keep or drop. Each created
 * id is also recorded for "#ref"s (jmap_created_add). */
typedef void (*email_create_done_fn)(void *ud, json_t *created, json_t *not_created);

/* Builds every message of create (creation id -> Email), stores it in
 * its mailboxIds with its keywords (one store job for them all, each
 * create in its own savepoint) and calls done, never before this returns.
 * quota_bytes: the account's quota (0: none). 0, or a negative errno
 * (done will not run). */
int jmap_email_create(struct jmap_call *c, json_t *create, uint64_t quota_bytes,
                      email_create_done_fn done, void *ud);

#endif
