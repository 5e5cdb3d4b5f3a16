/* buf: the growable output buffer every mime/ function writes to, and the
 * bump allocator that holds what a parsed message owns.  See buf.h. */
#include "mime/mime_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void mime_buf_init(struct mime_buf *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
}

void mime_buf_free(struct mime_buf *b)
{
	free(b->data);
	mime_buf_init(b);
}

void mime_buf_reset(struct mime_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

int mime_buf_add(struct mime_buf *b, const void *p, size_t n)
{
	if (n > MIME_BUF_MAX || b->len > MIME_BUF_MAX - n)
		return -E2BIG;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *d = realloc(b->data, cap);
		if (!d)
			return -ENOMEM;
		b->data = d;
		b->cap = cap;
	}
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int mime_buf_adds(struct mime_buf *b, const char *s)
{
	return mime_buf_add(b, s, strlen(s));
}

int mime_buf_addc(struct mime_buf *b, char c)
{
	return mime_buf_add(b, &c, 1);
}

struct arena_block {
	struct arena_block *next;
	size_t used, cap;
	_Alignas(16) unsigned char data[];
};

struct mime_arena {
	struct arena_block *head;
};

struct mime_arena *mime_arena_new(void)
{
	return calloc(1, sizeof(struct mime_arena));
}

void mime_arena_free(struct mime_arena *a)
{
	if (!a)
		return;
	struct arena_block *b = a->head;
	while (b) {
		struct arena_block *n = b->next;
		free(b);
		b = n;
	}
	free(a);
}

void *mime_arena_alloc(struct mime_arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	struct arena_block *b = a->head;
	if (!b || b->cap - b->used < n) {
		size_t cap = n > 8192 ? n : 8192;
		b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->used = 0;
		b->cap = cap;
		b->next = a->head;
		a->head = b;
	}
	void *p = b->data + b->used;
	b->used += n;
	memset(p, 0, n);
	return p;
}

char *mime_arena_strndup(struct mime_arena *a, const char *s, size_t n)
{
	char *p = mime_arena_alloc(a, n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}
