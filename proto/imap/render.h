/* render: what IMAP sends about a message, written from its parsed MIME
 * tree (mime/mime.h): BODY and BODYSTRUCTURE (RFC 9051 §7.5.2), ENVELOPE,
 * and the IMAP strings they are made of.
 *
 * The store computes these once per message and keeps the strings
 * (proto/imap/index.c, kept by store/msg_index.c); FETCH sends them as they are.
 *
 * IMAP strings are written so that they are valid whether or not the
 * client enabled UTF8=ACCEPT: 8-bit values (raw UTF-8 subjects, names)
 * become literals, never 8-bit quoted strings.
 *
 * Functions append to a struct buf and return 0 or a negative errno
 * value (-ENOMEM, -E2BIG). Nothing here keeps state: they may run in any
 * thread (the store's writer indexes messages with them). */
#ifndef TERN_IMAP_RENDER_H
#define TERN_IMAP_RENDER_H

#include <stdbool.h>
#include <stddef.h>

#include "mime/mime.h"

/* BODYSTRUCTURE (extensible = true: with MD5, disposition, language,
 * location) or BODY (false), RFC 9051 §7.5.2, appended to out.
 * Dovecot's conventions: type, subtype and values as sent; defaults are
 * lower case ("text" "plain" ("charset" "us-ascii") ... "7bit"); "text/..."
 * without a charset gets ("charset" "us-ascii") appended to its params;
 * a multipart with no parts is written with one empty text/plain part;
 * a multipart without a boundary is written as text/plain; an opaque
 * (limit-cut) "message/..." or "multipart/..." as application/octet-stream. */
int imap_bodystructure(const struct mime_message *m, bool extensible, struct buf *out);
/* Same for one part (the BODYSTRUCTURE of an embedded message's root). */
int imap_part_bodystructure(const struct mime_message *m, const struct mime_part *p,
                            bool extensible, struct buf *out);

/* ENVELOPE of the message whose root is msgpart (m->root or p->message):
 * ("date" "subject" (from) (sender) (reply-to) (to) (cc) (bcc)
 * "in-reply-to" "message-id").  Encoded words are left encoded. */
int imap_envelope(const struct mime_message *m, const struct mime_part *msgpart, struct buf *out);

/* Append s as an IMAP string: quoted when it is short 7-bit text without
 * CR/LF, a literal {n}\r\n otherwise; NUL bytes are dropped. */
int imap_string(struct buf *out, const char *s, size_t n);
int imap_nstring(struct buf *out, const char *s); /* NULL -> NIL */

#endif
