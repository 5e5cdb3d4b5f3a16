/* mime_int.h: helpers shared by the files of mime/, not an API. */
#ifndef TERN_PROTO_MIME_INT_H
#define TERN_PROTO_MIME_INT_H

#include "mime/mime.h"

#include <stdint.h>

/* A bump allocator: everything a parse result owns lives in one arena and
 * goes away with it. */
struct mime_arena;
struct mime_arena *mime_arena_new(void);
void mime_arena_free(struct mime_arena *a);
void *mime_arena_alloc(struct mime_arena *a, size_t n);
char *mime_arena_strndup(struct mime_arena *a, const char *s, size_t n);

static inline int mime_lc(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

static inline bool mime_wsp(int c)
{
	return c == ' ' || c == '\t';
}

bool mime_ieq(const char *a, size_t alen, const char *b); /* b is NUL-terminated */

/* Parse a Content-Type-like value: "type/subtype; params" (want_subtype)
 * or "type; params" (Content-Disposition).  Returns false if the type is
 * not a valid token (the caller applies defaults); params are parsed
 * anyway.  Strings are arena-allocated. */
bool mime_ctype_parse(struct mime_arena *a, const char *v, size_t len, bool want_subtype,
                      const char **type, const char **subtype, struct mime_param **params,
                      unsigned *nparams);

/* Remove comments outside quoted strings, unfold; result in out. */
int mime_strip_comments(const char *v, size_t len, struct mime_buf *out);

/* UTF-8 validity of a byte string. */
bool mime_utf8_valid(const char *s, size_t n);

#endif
