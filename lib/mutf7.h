/* mutf7: IMAP's modified UTF-7 for mailbox names (RFC 3501 §5.1.3,
 * RFC 9051 §5.1.3).
 *
 * Printable US-ASCII stands for itself except '&', which is "&-"; any run
 * of other characters is "&" + modified BASE64 (',' instead of '/', no
 * padding) of their UTF-16BE + "-". Decoding is strict, as the RFC asks: a
 * shift that encodes printable ASCII, "&" followed directly by "-" and
 * another shift, non-zero padding bits, broken surrogates and raw 8-bit
 * bytes are all errors, so every name has exactly one spelling.
 */
#ifndef TERN_IMAP_MUTF7_H
#define TERN_IMAP_MUTF7_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* UTF-8 -> modified UTF-7. Returns the length written (out is
 * NUL-terminated), -EINVAL for invalid UTF-8 or a NUL, -ENAMETOOLONG. */
ssize_t mutf7_encode(const char *utf8, size_t len, char *out, size_t cap);
/* Modified UTF-7 -> UTF-8. Same returns. */
ssize_t mutf7_decode(const char *in, size_t len, char *out, size_t cap);

#endif
