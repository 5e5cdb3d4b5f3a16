/* keywords: JMAP keywords (RFC 8621 §4.1.1) and the IMAP flags and
 * keywords the store keeps: checking and lowercasing a client's keyword,
 * the system flags $seen, $flagged, $answered and $draft stand for, and
 * an entry's flags as a JMAP keywords object. */
#ifndef TERN_JMAP_KEYWORDS_H
#define TERN_JMAP_KEYWORDS_H

#include <jansson.h>
#include <stdint.h>

/* The longest keyword (RFC 8621 §4.1.1 allows 255 bytes). */
#define JMAP_KEYWORD_MAX 255

/* A keyword from a client: checked (1..255 bytes of %x21-%x7e minus
 * ( ) { ] % * " \) and lowercased into out (JMAP_KEYWORD_MAX + 1). 0, or
 * -1 when it is not a keyword. */
int jmap_keyword_norm(const char *kw, char *out);

/* The IMAP system flag a keyword stands for ($seen -> \Seen ...), or 0. */
uint32_t jmap_keyword_flag(const char *kw);

/* Adds to obj (a JSON object) the keywords of an entry: its system flags
 * ($seen, $flagged, $answered, $draft) and its keywords, lowercased.
 * \Deleted has no keyword. 0 or -ENOMEM. */
int jmap_keywords_add(json_t *obj, uint32_t flags, const char *keywords);

#endif
