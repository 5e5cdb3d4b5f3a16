/* arena: the per-command allocator, lib/arena.h's bump allocator with
 * IMAP's out-of-memory rule.
 *
 * Why an arena: a parsed IMAP command is a small tree of strings and
 * lists, and a handler adds its own state next to it. Freeing all of it in
 * one call when the command ends (or the connection dies mid-command)
 * removes a whole class of leaks and double frees. The arena's default
 * chunks (1 KiB, doubling up to 1 MiB) make a tiny command cost 1 KiB and
 * a 50 MB literal one chunk.
 *
 * Why abort: the parser and every handler allocate from it at many small
 * steps, and none of them could answer a command half built; so, like
 * tern's other small allocations, running out of memory here ends the
 * process instead of returning NULL. */
#include "proto/imap/imap_int.h"

#include <stdarg.h>
#include <stdlib.h>

void *imap_arena_alloc(struct arena *a, size_t n)
{
	void *p = arena_alloc(a, n);
	if (!p)
		abort();
	return p;
}

char *imap_arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_strndup(a, s, n);
	if (!p)
		abort();
	return p;
}

char *imap_arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = arena_vprintf(a, fmt, ap);
	va_end(ap);
	if (!p)
		abort();
	return p;
}
