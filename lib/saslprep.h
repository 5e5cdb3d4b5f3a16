/* saslprep: the SASLprep profile of stringprep (RFC 4013, RFC 3454), which
 * SCRAM (RFC 5802 §2.2, §5.1) applies to user names and passwords so that
 * a client and the server derive the same bytes from strings that look
 * the same: non-ASCII spaces become U+0020, soft hyphens and the like are
 * dropped, NFKC folds compatibility characters ("Ⅸ" is "IX") and
 * composed/decomposed accents; control, private-use, non-character and
 * other prohibited code points are refused, as is a string that mixes
 * right-to-left and left-to-right text wrongly (RFC 3454 §6).
 *
 * The tables are RFC 3454's own (Unicode 3.2), in saslprep_tables.h;
 * NFKC is libunistring's u8_normalize. */
#ifndef TERN_LIB_SASLPREP_H
#define TERN_LIB_SASLPREP_H

#include <stddef.h>

/* What the string is for (RFC 3454 §7): a query (what a client sends to
 * be compared) may hold code points unassigned in Unicode 3.2; a stored
 * string (a password being set) may not. */
enum saslprep_use { SASLPREP_QUERY, SASLPREP_STORED };

enum saslprep_error {
	SASLPREP_OK = 0,
	SASLPREP_EUTF8 = -1,       /* not well-formed UTF-8, or a NUL */
	SASLPREP_ETOOLONG = -2,    /* more than SASLPREP_IN_MAX bytes */
	SASLPREP_EPROHIBITED = -3, /* a prohibited code point (§2.3) */
	SASLPREP_EBIDI = -4,       /* RFC 3454 §6 */
	SASLPREP_EUNASSIGNED = -5, /* unassigned, in a stored string */
	SASLPREP_EEMPTY = -6,      /* nothing left (RFC 5802 §5.1: abort) */
	SASLPREP_ENOMEM = -7,
};

/* The longest input taken; the caller bounds it before (a password is at
 * most 1023 bytes). The output is at most NFKC's expansion of it. */
#define SASLPREP_IN_MAX 4096

/* Prepare in[0..len). On success *out is a new NUL-terminated string of
 * *out_len bytes (free it with saslprep_free), and SASLPREP_OK; otherwise
 * an error and *out is NULL. Input that is all printable ASCII is copied
 * as it is. Temporary copies are zeroed: this sees passwords. */
int saslprep(const char *in, size_t len, enum saslprep_use use, char **out, size_t *out_len);
/* Zero and free what saslprep returned (NULL is fine). */
void saslprep_free(char *s, size_t len);
/* A name for an error, for logs. */
const char *saslprep_strerror(int err);

#endif
