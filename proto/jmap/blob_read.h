/* blob_read: the bytes of a JMAP blob id of an account (RFC 8620 §6),
 * whatever kind it is: "B<msgid>" a whole message, "B<msgid>.<part>" a
 * part's decoded body (jmap_int.h), "U<n>" an upload, "Z..." a Sieve
 * script's content (sieve_script.h). Download, Email/set
 * create (attachments) and Email/import all read blobs through here, so a
 * kind of blob is added in one place. Only blobs of that account are
 * found: a message must have an entry in one of its mailboxes. */
#ifndef TERN_JMAP_BLOB_READ_H
#define TERN_JMAP_BLOB_READ_H

#include <stddef.h>

#include "lib/buf.h"
#include "proto/jmap/jmap_int.h"

struct store_rd;

/* The blob's bytes appended to out, its media type (lowercase, or ""
 * when the blob has none of its own) into type and its file name (UTF-8,
 * "" if none) into name. 1 found, 0 no such blob (or malformed id, or not
 * the account's), or a negative errno. rd is a read view (begun). */
int jmap_blob_read(struct store_rd *rd, const struct jmap_account *acct, const char *blob_id,
                   struct buf *out, char *type, size_t typelen, char *name, size_t namelen);

#endif
