/* arena: the parse arena that holds what a parsed message owns (see
 * mime_int.h): lib/arena.h's allocator in fixed chunks of 8 KiB (or a
 * request's size, when bigger). Out of memory it returns NULL, and the
 * parser fails with -ENOMEM. */
#include "mime/mime_int.h"

#include <stdlib.h>

#define MIME_ARENA_CHUNK 8192

struct arena *mime_arena_new(void)
{
	struct arena *a = calloc(1, sizeof(*a));
	if (a) {
		a->chunk = MIME_ARENA_CHUNK;
		a->fixed = true;
	}
	return a;
}

void mime_arena_free(struct arena *a)
{
	if (!a)
		return;
	arena_reset(a);
	free(a);
}
