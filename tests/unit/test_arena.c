/* test_arena: lib/arena's bump allocator, in both of its chunk policies
 * (the zeroed default IMAP's commands use, mime's fixed chunks). */
#include "lib/arena.h"

#include <stdint.h>
#include <string.h>

#include "check.h"

static bool zeroed(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void allocations(struct arena *a, const char *policy)
{
	size_t sizes[] = {1, 0, 15, 16, 17, 1000, 5000, 8192, 70000, 3, 2 << 20, 7};
	size_t total = 0;
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		unsigned char *p = arena_alloc(a, sizes[i]);
		CHECK(p != NULL, "%s: alloc %zu", policy, sizes[i]);
		if (!p)
			continue;
		CHECK(((uintptr_t)p & 15) == 0, "%s: alloc %zu is 16-byte aligned", policy,
		      sizes[i]);
		CHECK(zeroed(p, sizes[i]), "%s: alloc %zu is zeroed", policy, sizes[i]);
		memset(p, 0xa5, sizes[i]);
		total += (sizes[i] + 15) & ~(size_t)15;
	}
	CHECK(a->total == total, "%s: total %zu, want %zu", policy, a->total, total);

	char *s = arena_strndup(a, "hello, world", 5);
	CHECK(s && strcmp(s, "hello") == 0, "%s: strndup", policy);
	s = arena_strndup(a, NULL, 0);
	CHECK(s && *s == '\0', "%s: strndup of nothing", policy);
	s = arena_printf(a, "%s %d %.3s", "n", 42, "abcdef");
	CHECK(s && strcmp(s, "n 42 abc") == 0, "%s: printf", policy);

	CHECK(arena_alloc(a, SIZE_MAX - 3) == NULL, "%s: an impossible size is NULL", policy);

	arena_reset(a);
	CHECK(a->head == NULL && a->total == 0, "%s: reset empties the arena", policy);
	unsigned char *p = arena_alloc(a, 100);
	CHECK(p && zeroed(p, 100), "%s: usable after reset", policy);
	arena_reset(a);
}

int main(void)
{
	struct arena imap = {0};
	allocations(&imap, "default");
	struct arena mime = {.chunk = 8192, .fixed = true};
	allocations(&mime, "fixed");
	CHECK(mime.chunk == 8192 && mime.fixed, "reset keeps the chunk settings");
	return check_report("test_arena");
}
