/* objectid: RFC 8474's object identifiers as tern spells them.
 *
 *   MAILBOXID  "F" + the mailbox's UIDVALIDITY: the store never hands a
 *              UIDVALIDITY out twice and RENAME keeps it, which is what
 *              RFC 8474 §4 asks of a MAILBOXID (RENAME INBOX makes a new
 *              mailbox, so a new id, as the RFC says it should);
 *   EMAILID    "M" + the message row's id, which the store never reuses
 *              (schema 9): a COPY or MOVE shares the row, a second
 *              delivery of the same bytes is a new row;
 *   THREADID   "T" + the thread (store/threads.h).
 *
 * A letter first, then digits: no id starts with a digit or a dash, is
 * "NIL", or differs from another only by case (RFC 8474 §8.1). JMAP will
 * use the same strings. Pure code, no session. */
#ifndef TERN_IMAP_OBJECTID_H
#define TERN_IMAP_OBJECTID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* objectid = 1*255(ALPHA / DIGIT / "_" / "-") */
bool imap_objectid_valid(const char *s, size_t n);
/* The number of an id of ours with that prefix letter ("M123" -> 123), or
 * -1 for any other valid objectid (it names nothing here). */
int64_t imap_objectid_number(const char *s, size_t n, char prefix);

#endif
