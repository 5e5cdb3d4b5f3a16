/* header: RFC 5322 header fields, read from raw bytes.
 *
 * Lenient: a line that is neither a header field nor the continuation of
 * one is skipped, and a header may end with the input instead of a blank
 * line.  This is how stored mail is read (IMAP, the search index), where
 * whatever a sender wrote must still give the fields that are there. */
#ifndef TERN_MIME_HEADER_H
#define TERN_MIME_HEADER_H

#include <stddef.h>

struct mime_buf;

/* Iterate over the header fields in raw[*pos..end): returns 1 with the
 * field name and its raw value (after the colon, folding and final line
 * break included), 0 at the blank line that ends the header or at end.
 * *pos advances past the field. */
int mime_header_next(const char *raw, size_t *pos, size_t end, const char **name, size_t *nlen,
                     const char **value, size_t *vlen);

/* Unfold and trim a raw header value (CR/LF removed, ends trimmed) into a
 * NUL-terminated copy: out is reset first, not appended to. */
int mime_unfold(const char *v, size_t len, struct mime_buf *out);

#endif
