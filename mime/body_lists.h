/* body_lists: RFC 8621 §4.1.4's textBody, htmlBody and attachments lists
 * of a parsed message, and the one rule for "has an attachment".
 *
 * Why in mime/: two readers must agree on the rule. JMAP's Email/get
 * shows hasAttachment from the lists (proto/jmap/email_render_body.c),
 * and the message index keeps the same answer as a bit so that
 * Email/query's hasAttachment filter reads it per row without parsing
 * (proto/imap/index.c sets it, STORE_SORT_HAS_ATTACHMENT in
 * store/msg_index.h). Both call the functions here, so they agree by
 * construction. Pure functions over struct mime_message: any thread.
 *
 * The walk is §4.1.4's parseStructure(): it does not descend into
 * message/rfc822 or message/global (an attached message is one leaf
 * part). Its recursion is as deep as the multiparts, which mime_parse()
 * caps at MIME_MAX_DEPTH; every list holds at most m->nparts parts. */
#ifndef TERN_MIME_BODY_LISTS_H
#define TERN_MIME_BODY_LISTS_H

#include <stdbool.h>
#include <stddef.h>

#include "mime/mime.h"

/* The three lists, each in message order, as pointers into the parse. A
 * part may be in textBody and htmlBody both, and an inline image in
 * attachments too. */
struct mime_body_lists {
	const struct mime_part **text, **html, **att;
	size_t ntext, nhtml, natt;
};

/* Fill *out (zeroed first). 0 or -ENOMEM (*out empty then). */
int mime_body_lists(const struct mime_message *m, struct mime_body_lists *out);
void mime_body_lists_free(struct mime_body_lists *l);

/* Does this part of the attachments list count as an attachment to a
 * user? Everything does but an image, audio or video part shown inline
 * by the HTML: one with a Content-ID and no "attachment" disposition
 * (what a cid: reference names). */
bool mime_part_counts_as_attachment(const struct mime_part *p);

/* 1 if some part of l's attachments list counts as an attachment, else
 * 0. */
bool mime_body_lists_have_attachment(const struct mime_body_lists *l);

/* mime_body_lists() and the rule in one: 1 or 0, or -ENOMEM. */
int mime_has_attachment(const struct mime_message *m);

/* A part's decoded file name: Content-Disposition's filename, else
 * Content-Type's name (RFC 2231 pieces joined, RFC 2047 words decoded by
 * mime_parse()); NULL when it has none or an empty one. */
const char *mime_part_filename(const struct mime_part *p);

#endif
