/* fuzz_mutf7: IMAP's modified UTF-7 (lib/mutf7.c) both ways, on arbitrary
 * bytes: every mailbox name a client sends is decoded by it.
 *
 * Beyond crashes: the decoding is strict so that a name has exactly one
 * spelling, hence whatever decodes encodes back to the very input; and
 * whatever encodes (valid UTF-8) decodes back to itself. Results are
 * NUL-terminated at the length returned. */
#include "lib/mutf7.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char a[CAP], b[CAP];
	const char *in = (const char *)data;
	ssize_t n = mutf7_decode(in, size, a, sizeof a);
	if (n >= 0) {
		if ((size_t)n >= sizeof a || a[n] != '\0' || memchr(a, '\0', (size_t)n))
			__builtin_trap();
		ssize_t m = mutf7_encode(a, (size_t)n, b, sizeof b);
		if (m != (ssize_t)size || memcmp(b, in, size) != 0)
			__builtin_trap(); /* decoded, but not its one spelling */
	}
	n = mutf7_encode(in, size, a, sizeof a);
	if (n >= 0) {
		if ((size_t)n >= sizeof a || a[n] != '\0')
			__builtin_trap();
		for (ssize_t i = 0; i < n; i++)
			if ((unsigned char)a[i] < 0x20 || (unsigned char)a[i] > 0x7e)
				__builtin_trap(); /* the encoding is printable ASCII */
		ssize_t m = mutf7_decode(a, (size_t)n, b, sizeof b);
		if (m != (ssize_t)size || memcmp(b, in, size) != 0)
			__builtin_trap();
	}
	return 0;
}
