/* arena: a bump allocator in chunks, freed all at once.
 *
 * What lives in an arena dies together: a parsed IMAP command and its
 * handler's state (proto/imap/arena.c), a parsed message's tree
 * (mime/arena.c). Freeing it in one call removes a whole class of leaks
 * and double frees.
 *
 * Allocations are 16-byte aligned and zeroed. Out of memory, the
 * allocators return NULL and leave the arena as it was; each user says
 * what that means for it (the IMAP command arena aborts, the MIME parse
 * fails with -ENOMEM).
 *
 * Chunk sizes. A zeroed struct arena (the usual way to make one) starts
 * with a 1 KiB chunk and doubles each next one up to 1 MiB; a request
 * bigger than that gets a chunk of its own size. So a tiny command costs
 * 1 KiB and a 50 MB literal one chunk of 50 MB. Setting `chunk` changes the
 * first size; setting `fixed` too makes every chunk `chunk` bytes (or the
 * request's size, when bigger).
 */
#ifndef TERN_LIB_ARENA_H
#define TERN_LIB_ARENA_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct arena_chunk;

struct arena {
	struct arena_chunk *head;
	size_t total; /* bytes handed out (each rounded up to 16), for limits and logs */
	size_t chunk; /* the first chunk's size; 0: 1 KiB */
	bool fixed;   /* every chunk `chunk` bytes: no doubling */
};

/* n zeroed bytes, or NULL. */
void *arena_alloc(struct arena *a, size_t n);
/* A copy of [s, s+n) with a NUL appended, or NULL. */
char *arena_strndup(struct arena *a, const char *s, size_t n);
/* The formatted string, or NULL. */
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *arena_vprintf(struct arena *a, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Frees every chunk; the arena (with its chunk settings) can be reused. */
void arena_reset(struct arena *a);

#endif
