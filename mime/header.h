/* header: RFC 5322 header fields, read from raw bytes, two ways.
 *
 * Lenient (mime_header_next): a line that is neither a header field nor
 * the continuation of one is skipped.  This is how stored mail is read
 * (the MIME parser, IMAP, the search index), where whatever a sender wrote
 * must still give the fields that are there.
 *
 * Strict (mime_field_next and what is built on it): such a line makes the
 * header malformed.  This is how a message being received is checked and
 * read (SMTP's end of data, From: of a submission), where a malformed
 * header is refused rather than guessed at.
 *
 * Both take lines ending in CRLF or LF, and a field goes on over every
 * following line that starts with a space or a tab (folding). */
#ifndef TERN_MIME_HEADER_H
#define TERN_MIME_HEADER_H

#include <stddef.h>

struct buf;

/* ---- lenient ---- */

/* Iterate over the header fields in raw[*pos..end): returns 1 with the
 * field name and its raw value (after the colon, folding and final line
 * break included), 0 at the blank line that ends the header or at end.
 * *pos advances past the field. */
int mime_header_next(const char *raw, size_t *pos, size_t end, const char **name, size_t *nlen,
                     const char **value, size_t *vlen);

/* Unfold and trim a raw header value (CR/LF removed, ends trimmed) into a
 * NUL-terminated copy: out is reset first, not appended to. */
int mime_unfold(const char *v, size_t len, struct buf *out);
/* The index of the first character at or after i of v[0..len) that is
 * not CFWS (RFC 5322 §3.2.2: white space, line folds, comments, nested
 * and with quoted pairs); len when the rest is all CFWS. */
size_t mime_skip_cfws(const char *v, size_t len, size_t i);

/* ---- strict ---- */

struct mime_field {
	const char *name;
	size_t name_len;
	const char *value; /* after the colon, folding included, line end excluded */
	size_t value_len;
};
/* Header fields of a message, in order. *pos starts at 0. Returns 1 with
 * the field filled, 0 at the end of the header section, -1 if the header
 * is malformed (a line that is neither "name:" nor a continuation). */
int mime_field_next(const char *data, size_t len, size_t *pos, struct mime_field *f);
/* Whole header section well-formed? 0 or -1. */
int mime_header_check(const char *data, size_t len);
/* Number of fields with that name (case-insensitive), or -1 if malformed. */
int mime_header_count(const char *data, size_t len, const char *name);

/* The addr-specs of an RFC 5322 address-list / mailbox-list field value
 * (display names, comments, groups and angle brackets stripped). cb gets
 * each one (not NUL-terminated) and returns 0 to go on. Returns the number
 * found, or -1 if the value is unparsable, or cb's non-zero value.  (For
 * name, route, mailbox and host of each address, leniently, see
 * mime_addresses_parse() in mime/mime.h.) */
int mime_addr_specs(const char *value, size_t len,
                    int (*cb)(void *ud, const char *addr, size_t alen), void *ud);

#endif
