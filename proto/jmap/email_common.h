/* email_common: what the Email, Thread and SearchSnippet methods share:
 * the account check of methods that are not /get, the state string, the
 * mapping between IMAP flags and JMAP keywords (RFC 8621 §4.1.1), and
 * the /changes answer for a server that keeps no change log. */
#ifndef TERN_JMAP_EMAIL_COMMON_H
#define TERN_JMAP_EMAIL_COMMON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/jmap/jmap_int.h"
#include "store/emails.h"

/* Email/set and Email/query take an id list or keyword names no longer
 * than this (RFC 8621 §4.1.1 allows 255 bytes). */
#define JMAP_KEYWORD_MAX 255

/* Checks args' "accountId" is the caller's account ("A" + id). Answers
 * the call itself (invalidArguments, accountNotFound) and returns false
 * when it is not. */
bool jmap_email_account_ok(struct jmap_call *c);

/* The account's Email/Thread state into out (STORE_EMAIL_STATE_MAX).
 * 0, or a negative errno. */
int jmap_email_state(const struct jmap_account *a, char *out);

/* A keyword from a client: checked (1..255 bytes of %x21-%x7e minus
 * ( ) { ] % * " \) and lowercased into out (JMAP_KEYWORD_MAX + 1). 0, or
 * -1 when it is not a keyword. */
int jmap_keyword_norm(const char *kw, char *out);

/* The IMAP system flag a keyword stands for ($seen -> \Seen ...), or 0. */
uint32_t jmap_keyword_flag(const char *kw);

/* Adds to obj (a JSON object) the keywords of an entry: its system flags
 * ($seen, $flagged, $answered, $draft) and its keywords, lowercased.
 * \Deleted has no keyword. 0 or -ENOMEM. */
int jmap_keywords_add(json_t *obj, uint32_t flags, const char *keywords);

/* Email/changes, Thread/changes: without a change log the only changes
 * tern can tell are none, when sinceState is the current state; any other
 * state gets cannotCalculateChanges (RFC 8620 §5.2). */
void jmap_changes_unchanged(struct jmap_call *c);

/* The whole message (RFC 5322 bytes) into out (reset first). 0,
 * -ENOENT, or a negative errno. */
struct buf;
int jmap_message_bytes(const struct jmap_account *a, int64_t message_id, struct buf *out);

/* Answers with serverFail, the description naming what failed. */
void jmap_server_fail(struct jmap_call *c, const char *what);

#endif
