/* buf: a growable byte buffer for building strings and replies.
 *
 * Zero-initialise it ({0}); release with buf_free(). data is always
 * NUL-terminated once something was appended (the NUL is not counted in
 * len). A buffer never grows past BUF_MAX: the adders return -E2BIG, so a
 * hostile input cannot make one allocation unbounded. */
#ifndef TERN_LIB_BUF_H
#define TERN_LIB_BUF_H

#include <stddef.h>

#define BUF_MAX (256u << 20)

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

void buf_free(struct buf *b);
void buf_reset(struct buf *b); /* len = 0, keeps the memory */
/* 0, -E2BIG or -ENOMEM (the buffer is unchanged then). */
int buf_add(struct buf *b, const void *p, size_t n);
int buf_adds(struct buf *b, const char *s);
int buf_addc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The contents as a malloc'd string ("" when empty) that the caller
 * frees; the buffer is empty afterwards. NULL on allocation failure. */
char *buf_take(struct buf *b);

#endif
