/* fuzz_pop3: the POP3 pure parts on arbitrary bytes.
 *
 *  - every line of the input goes through pop3_parse() and, for its
 *    arguments, pop3_parse_msgnum() / pop3_parse_count();
 *  - the whole input, as a message, goes through pop3_dot as RETR (whole,
 *    and in pieces whose sizes come from the input) and as TOP. Checked:
 *    the output never exceeds the 2*len bound, chunked output equals whole
 *    output, every line of the output is CRLF-terminated, and un-stuffing
 *    the RETR output gives the message with bare LFs made CRLF, i.e.
 *    exactly `octets` bytes (plus the CRLF added to an unterminated last
 *    line). */
#include "proto/pop3/dot.h"
#include "proto/pop3/parse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t filter(const char *msg, size_t len, int64_t top, size_t step, char *out,
                     uint64_t *octets)
{
	struct pop3_dot d;
	pop3_dot_init(&d, top);
	size_t o = 0;
	for (size_t i = 0; i < len; i += step) {
		size_t n = len - i < step ? len - i : step;
		size_t w = pop3_dot_feed(&d, msg + i, n, out + o);
		if (w > 2 * n)
			__builtin_trap();
		o += w;
	}
	o += pop3_dot_finish(&d, out + o);
	*octets = d.octets;
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *msg = (const char *)data;

	/* Lines as commands. */
	char *line = malloc(size + 1);
	size_t start = 0;
	for (size_t i = 0; i <= size; i++) {
		if (i == size || data[i] == '\n') {
			size_t len = i - start;
			memcpy(line, msg + start, len);
			struct pop3_cmd cmd;
			if (pop3_parse(line, len, &cmd) == 0) {
				if (cmd.verb[0] == '\0' || cmd.nargs > POP3_MAX_ARGS ||
				    cmd.rest_off > len)
					__builtin_trap();
				for (size_t a = 0; a < cmd.nargs; a++) {
					uint32_t n;
					int64_t c;
					if (pop3_parse_msgnum(cmd.args[a], 1000, &n) == 0 &&
					    (n < 1 || n > 1000))
						__builtin_trap();
					if (pop3_parse_count(cmd.args[a], &c) == 0 && c < 0)
						__builtin_trap();
				}
			}
			start = i + 1;
		}
	}
	free(line);

	/* The message filter. */
	size_t cap = 2 * size + POP3_DOT_FINISH_MAX;
	char *whole = malloc(cap), *chunked = malloc(cap);
	uint64_t oct1, oct2;
	size_t n1 = filter(msg, size, -1, size ? size : 1, whole, &oct1);
	size_t step = size ? 1 + data[0] % 17 : 1;
	size_t n2 = filter(msg, size, -1, step, chunked, &oct2);
	if (n1 != n2 || memcmp(whole, chunked, n1) != 0 || oct1 != oct2)
		__builtin_trap();
	if (oct1 != pop3_dot_octets(msg, size))
		__builtin_trap();
	/* Every LF is preceded by CR, and the output ends with CRLF.CRLF. */
	for (size_t i = 0; i < n1; i++)
		if (whole[i] == '\n' && (i == 0 || whole[i - 1] != '\r'))
			__builtin_trap();
	if (n1 < 3 || memcmp(whole + n1 - 3, ".\r\n", 3) != 0)
		__builtin_trap();
	/* Un-stuff: drop the terminator and one leading dot per line. */
	size_t un = 0;
	for (size_t i = 0; i < n1 - 3; i++)
		if (!(whole[i] == '.' && (i == 0 || whole[i - 1] == '\n')))
			un++;
	if (un < oct1 || un - oct1 > 2)
		__builtin_trap();

	/* TOP with a line count from the input: a prefix of RETR's output. */
	int64_t top = size ? data[size - 1] % 8 : 0;
	n2 = filter(msg, size, top, step, chunked, &oct2);
	if (n2 > n1 + 2 || oct2 > oct1)
		__builtin_trap();
	free(whole);
	free(chunked);
	return 0;
}
