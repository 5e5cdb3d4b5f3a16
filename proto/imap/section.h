/* section: IMAP section specs (RFC 9051 §6.4.5) resolved against a parsed
 * message (mime/mime.h): BODY[section] and BINARY[section] byte ranges,
 * HEADER.FIELDS subsets, and parts by number.
 *
 * Functions return 0 or a negative errno value (-EINVAL, -ENOENT, -ENOMEM,
 * -E2BIG) and append output to a struct buf. */
#ifndef TERN_IMAP_SECTION_H
#define TERN_IMAP_SECTION_H

#include <stdbool.h>
#include <stddef.h>

#include "mime/mime.h"

enum imap_section_kind {
	IMAP_SECTION_BODY,       /* "" or "1.2": the (part's) body, raw */
	IMAP_SECTION_HEADER,     /* HEADER: a message header incl. blank line */
	IMAP_SECTION_TEXT,       /* TEXT: a message body */
	IMAP_SECTION_MIME,       /* n.MIME: the part's MIME header */
	IMAP_SECTION_FIELDS,     /* HEADER.FIELDS (...) */
	IMAP_SECTION_FIELDS_NOT, /* HEADER.FIELDS.NOT (...) */
};

struct imap_section {
	enum imap_section_kind kind;
	const struct mime_part *part; /* the part (or message) addressed */
	size_t offset, length;        /* byte range in m->raw; for FIELDS*
	                               * the header the subset is taken from */
	const char *fields;           /* FIELDS*: the list inside (), raw */
	size_t fields_len;
};

/* Resolve an IMAP section spec (the text between [ and ], e.g. "",
 * "1.2.HEADER", "2.MIME", "TEXT", "HEADER.FIELDS (From To)"),
 * case-insensitively.  -EINVAL for bad syntax, -ENOENT for a part number
 * that does not exist.  For FIELDS kinds, produce the bytes with
 * imap_section_fetch(). */
int imap_section_find(const struct mime_message *m, const char *spec, size_t len,
                      struct imap_section *out);
/* Append the header fields of hdr[0..len) whose names are (or with negate,
 * are not) in the space-separated, possibly quoted list, in message order,
 * folded lines kept whole, then the terminating blank line "\r\n". */
int imap_header_fields(const char *hdr, size_t len, const char *fields, size_t flen, bool negate,
                       struct buf *out);
/* The bytes of a resolved section: raw ranges copied, FIELDS built. */
int imap_section_fetch(const struct mime_message *m, const struct imap_section *s,
                       struct buf *out);
/* Find a part by its number ("1.2.3"); NULL when it does not exist.  For
 * BINARY[section], whose part is then decoded with mime_decode_body(). */
const struct mime_part *imap_part_find(const struct mime_message *m, const char *num, size_t len);

#endif
