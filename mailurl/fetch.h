/* fetch: the bytes an IMAP URL names, for one account: a whole message,
 * or a part of it by section (mime/section.h), optionally a ;PARTIAL=
 * range of them. What CATENATE (RFC 4469) splices into a new message and
 * URLFETCH / BURL (RFC 4467, 4468) hand out; it lives below the protocols
 * because IMAP and SMTP both need it and never include each other.
 *
 * Reading a URL never sets \Seen. Who may read what is the caller's
 * business (CATENATE: the session's own account; URLAUTH: the verified
 * token); this file only finds the bytes.
 */
#ifndef TERN_MAILURL_FETCH_H
#define TERN_MAILURL_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "mailurl/url.h"

struct store_rd;

/* Append the bytes u names to out, from the mailbox called mailbox (the
 * store's internal UTF-8 name: the caller decodes u->mailbox its way) of
 * account_id. The whole message is read (and parsed for a section), so a
 * command that fetches many URLs passes *read_left, the message bytes it
 * may still read, which this lowers (NULL: no such bound). Returns 0;
 * -ENOENT when the mailbox, its UIDVALIDITY, the message or the section is
 * not there (or u names no message); -EINVAL for a section that is not
 * valid IMAP syntax; -E2BIG when the result would exceed max bytes or the
 * message is more than *read_left; -ENOMEM; or the store's error. */
int mailurl_fetch(struct store_rd *rd, int64_t account_id, const char *mailbox,
                  const struct mailurl *u, size_t max, uint64_t *read_left, struct buf *out);

#endif
