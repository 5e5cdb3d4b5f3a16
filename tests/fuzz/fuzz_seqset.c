/* fuzz_seqset: IMAP sequence sets (proto/imap/seqset.c), parsed from
 * arbitrary bytes and resolved against a view the input also chooses.
 *
 * Input: byte 0 picks the view's size (0-63 messages), byte 1 its UID
 * gaps and the mode (UIDs or sequence numbers), byte 2 how many UIDs are
 * saved for "$"; the rest is the set's text.
 *
 * Beyond crashes: a parsed set has at most one range per two bytes of
 * text (the header's bound); a resolved set is ascending, disjoint and
 * merged, within 1..count; its count is the number of n it contains; and
 * in sequence mode a set of plain numbers <= count resolves to exactly
 * the numbers it names. */
#include "lib/arena.h"
#include "proto/imap/seqset.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	uint32_t count = data[0] & 63, uids[64], saved[64];
	unsigned gap = (data[1] & 7) + 1;
	bool uid_mode = data[1] & 8;
	for (uint32_t i = 0; i < count; i++)
		uids[i] = (i ? uids[i - 1] : 0) + gap + (i % 3 == 0 ? data[1] >> 4 : 0);
	size_t nsaved = 0;
	for (uint32_t i = 0; i < count && nsaved < (size_t)(data[2] & 63); i += 2)
		saved[nsaved++] = uids[i];
	const char *text = (const char *)data + 3;
	size_t len = size - 3;

	struct arena a = {0};
	struct imap_seqset set, out;
	if (imap_seqset_parse(text, len, &set, &a) == 0) {
		if (set.n > len / 2 + 1 || (set.dollar && set.n))
			__builtin_trap();
		for (size_t i = 0; i < set.n; i++)
			if (set.r[i].lo != IMAP_SEQ_STAR && set.r[i].hi != IMAP_SEQ_STAR &&
			    set.r[i].lo > set.r[i].hi)
				__builtin_trap();
		int r = imap_seqset_resolve(uids, count, saved, nsaved, &set, uid_mode, &out, &a);
		if (r != 0 && r != -ERANGE && r != -EINVAL)
			__builtin_trap();
		if (r == 0) {
			uint64_t total = 0;
			for (size_t i = 0; i < out.n; i++) {
				if (out.r[i].lo < 1 || out.r[i].lo > out.r[i].hi ||
				    out.r[i].hi > count)
					__builtin_trap();
				if (i && out.r[i].lo <= out.r[i - 1].hi + 1)
					__builtin_trap(); /* not disjoint and merged */
				total += out.r[i].hi - out.r[i].lo + 1;
			}
			uint64_t in = 0;
			for (uint32_t n = 1; n <= count; n++)
				in += imap_seqset_contains(&out, n);
			if (total != imap_seqset_count(&out) || in != total)
				__builtin_trap();
			if (!uid_mode && !set.dollar && !imap_seqset_has_star(&set))
				for (size_t i = 0; i < set.n; i++)
					for (uint32_t n = set.r[i].lo;
					     n <= set.r[i].hi && n <= count; n++)
						if (!imap_seqset_contains(&out, n))
							__builtin_trap();
		}
	}
	arena_reset(&a);
	return 0;
}
