/* mime_int.h: helpers shared by the files of mime/, not an API.
 *
 * The files call each other in one direction only, bottom to top:
 * arena.c (the parse arena) <- header.c (fields) <- decode.c (transfer
 * encodings, charsets, RFC 2047) <- mime.c (the parser, Content-Type) <-
 * text.c (searchable text) <- preview.c (RFC 8970 previews); body_lists.c (RFC 8621
 * body lists, the has-attachment rule) on mime.c; address.c (address lists) and spool.c
 * (messages being received) need none of them. */
#ifndef TERN_MIME_MIME_INT_H
#define TERN_MIME_MIME_INT_H

#include "mime/mime.h"
#include "lib/arena.h"

#include <stdint.h>

/* The parse arena (arena.c): everything a parse result owns lives in one
 * lib/arena.h arena and goes away with it.  Allocations are zeroed.  Out
 * of memory, arena_alloc() and arena_strndup() return NULL and the parse
 * fails with -ENOMEM. */
struct arena *mime_arena_new(void);
void mime_arena_free(struct arena *a);

static inline int mime_lc(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

static inline bool mime_wsp(int c)
{
	return c == ' ' || c == '\t';
}

/* header.c */
bool mime_ieq(const char *a, size_t alen, const char *b); /* b is NUL-terminated */
/* Is [p, e) (one line without its break) the first line of a header field? */
bool mime_field_line(const char *p, const char *e);
/* Remove comments outside quoted strings, unfold; result in out. */
int mime_strip_comments(const char *v, size_t len, struct buf *out);

/* mime.c */
/* Parse a Content-Type-like value: "type/subtype; params" (want_subtype)
 * or "type; params" (Content-Disposition).  Returns false if the type is
 * not a valid token (the caller applies defaults); params are parsed
 * anyway.  Strings are arena-allocated. */
bool mime_ctype_parse(struct arena *a, const char *v, size_t len, bool want_subtype,
                      const char **type, const char **subtype, struct mime_param **params,
                      unsigned *nparams);

/* text.c */
/* HTML as text: tags, scripts and styles dropped, entities decoded. */
int mime_html_strip(const char *s, size_t n, struct buf *out);

/* decode.c */
/* Append code point cp as UTF-8 (lib/utf8.h: U+FFFD for one UTF-8 cannot carry). */
int mime_put_utf8(struct buf *out, unsigned cp);

#endif
