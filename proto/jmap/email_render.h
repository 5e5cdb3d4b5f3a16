/* email_render: a message's bytes as the parts of a JMAP Email object
 * that come from its content (RFC 8621 §4.1.2-4.1.4): header fields in
 * their parsed forms, the body structure, textBody/htmlBody/attachments,
 * bodyValues, hasAttachment and preview; a part's decoded bytes for a
 * download; and search snippets.
 *
 * Pure: no store, no loop. The caller (email_get.c) reads the bytes and
 * adds the metadata properties (id, blobId, threadId, mailboxIds,
 * keywords, size, receivedAt). */
#ifndef TERN_JMAP_EMAIL_RENDER_H
#define TERN_JMAP_EMAIL_RENDER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

/* What Email/get asked for besides the metadata (RFC 8621 §4.2). */
struct jmap_email_opts {
	const json_t *properties;      /* names; NULL: the default list of §4.2 */
	const json_t *body_properties; /* names; NULL: the default list of §4.2 */
	bool fetch_text_body_values;
	bool fetch_html_body_values;
	bool fetch_all_body_values;
	size_t max_body_value_bytes; /* 0: no limit */
};

/* Check and take Email/get's own arguments (bodyProperties,
 * fetchTextBodyValues, fetchHTMLBodyValues, fetchAllBodyValues,
 * maxBodyValueBytes) from args into o, and check every name in
 * o->properties / o->body_properties is a property this implementation
 * knows (header:Name:asForm:all included). 0, or -1 with *why set to a
 * static description for an invalidArguments error. */
int jmap_email_opts_parse(const json_t *args, const json_t *properties, struct jmap_email_opts *o,
                          const char **why);

/* Add to obj every content property o asks for, from raw (len bytes, the
 * RFC 5322 message whose blob id prefix is "B<message_id>"). A message
 * that does not parse still gets what can be said (an empty body
 * structure, null header values). 0, or -ENOMEM. */
int jmap_email_render(json_t *obj, const char *raw, size_t len, int64_t message_id,
                      const struct jmap_email_opts *o);

/* The decoded content of part part_id ("1", "2.1": IMAP part numbers) of
 * raw into out, its media type (lowercase "type/subtype") into type and
 * its file name (decoded, UTF-8; "" if none) into name. 1 found, 0 no such
 * part, -ENOMEM. */
int jmap_email_part(const char *raw, size_t len, const char *part_id, struct buf *out, char *type,
                    size_t typelen, char *name, size_t namelen);

/* RFC 8621 §5 SearchSnippet for raw and the search terms (the text,
 * subject and body strings of the query's filter, case-insensitive):
 * "subject" and "preview" with each match wrapped in <mark></mark> and
 * everything else HTML-escaped, or JSON null when nothing matches. Adds
 * both to obj. 0, or -ENOMEM. */
int jmap_email_snippet(json_t *obj, const char *raw, size_t len, const char *const *terms,
                       size_t nterms);

#endif
