/* utf8: encoding and decoding one code point, and checking a string.
 * Strict, as RFC 3629 asks: no overlong forms, no surrogates, nothing above
 * U+10FFFF. */
#ifndef TERN_LIB_UTF8_H
#define TERN_LIB_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Write cp into out (1 to 4 bytes) and return the count. A code point
 * UTF-8 cannot carry (a surrogate, above U+10FFFF) is written as U+FFFD. */
size_t utf8_encode(uint32_t cp, char out[4]);
/* Decode the code point at s[*i] (len bytes in all) and advance *i past
 * it; -1 (and *i unchanged) when the bytes there are not well-formed. */
int32_t utf8_decode(const unsigned char *s, size_t len, size_t *i);
/* Well-formed UTF-8 without NUL. */
bool utf8_valid(const char *s, size_t len);

#endif
