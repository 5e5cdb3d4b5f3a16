/* buf: the growable output buffer of mime/ (and of what renders from it).
 *
 * Every function that produces bytes appends them to a struct mime_buf,
 * which grows on the heap and is limited to MIME_BUF_MAX bytes: an append
 * that would pass the limit fails with -E2BIG and changes nothing, a failed
 * allocation with -ENOMEM. */
#ifndef TERN_MIME_BUF_H
#define TERN_MIME_BUF_H

#include <stddef.h>

#define MIME_BUF_MAX (256u << 20)

/* Zero-initialise it ({0}) or use mime_buf_init(); release with
 * mime_buf_free().  data is always NUL-terminated once something was
 * appended (not counted in len); it may be NULL before that. */
struct mime_buf {
	char *data;
	size_t len;
	size_t cap;
};

void mime_buf_init(struct mime_buf *b);
void mime_buf_free(struct mime_buf *b);
void mime_buf_reset(struct mime_buf *b); /* len = 0, keeps memory */
/* Append n bytes (n may be 0: that only makes data non-NULL).  Returns 0,
 * -E2BIG or -ENOMEM. */
int mime_buf_add(struct mime_buf *b, const void *p, size_t n);
int mime_buf_adds(struct mime_buf *b, const char *s);
int mime_buf_addc(struct mime_buf *b, char c);

#endif
