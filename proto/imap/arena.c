/* arena: the per-command allocator.
 *
 * Why: a parsed IMAP command is a small tree of strings and lists, and a
 * handler adds its own state next to it. Freeing all of it in one call when
 * the command ends (or the connection dies mid-command) removes a whole
 * class of leaks and double frees. Chunks grow geometrically, so a command
 * with a 50 MB literal costs one big chunk and a tiny one costs one 1 KiB
 * chunk. */
#include "proto/imap/imap_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct imap_arena_chunk {
	struct imap_arena_chunk *next;
	size_t size, used;
	_Alignas(16) unsigned char data[];
};

#define ARENA_MIN_CHUNK 1024

void *imap_arena_alloc(struct imap_arena *a, size_t n)
{
	size_t need = (n + 15) & ~(size_t)15;
	struct imap_arena_chunk *c = a->head;
	if (need < n)
		abort();
	if (!c || c->size - c->used < need) {
		size_t size = c ? c->size * 2 : ARENA_MIN_CHUNK;
		if (size < need)
			size = need;
		if (size > 1024 * 1024 && need < 1024 * 1024)
			size = 1024 * 1024;
		if (size < need)
			size = need;
		c = malloc(sizeof(*c) + size);
		if (!c)
			abort();
		c->size = size;
		c->used = 0;
		c->next = a->head;
		a->head = c;
	}
	void *p = c->data + c->used;
	c->used += need;
	a->total += need;
	memset(p, 0, n);
	return p;
}

char *imap_arena_strndup(struct imap_arena *a, const char *s, size_t n)
{
	char *p = imap_arena_alloc(a, n + 1);
	if (n)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *imap_arena_printf(struct imap_arena *a, const char *fmt, ...)
{
	va_list ap, ap2;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	char *p = imap_arena_alloc(a, (size_t)n + 1);
	vsnprintf(p, (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	return p;
}

void imap_arena_reset(struct imap_arena *a)
{
	struct imap_arena_chunk *c = a->head;
	while (c) {
		struct imap_arena_chunk *next = c->next;
		free(c);
		c = next;
	}
	a->head = NULL;
	a->total = 0;
}
