/* fuzz_log_json: arbitrary bytes as a log body (what lib/log.c converts
 * for [log] format = "json"): the line must stay inside its buffer, be one
 * object ending in "}\n", and hold no raw control byte or quote imbalance
 * a JSON reader would trip on (checked by a small validator below). */
#include "lib/log.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Strings outside are only "...": count the unescaped quotes and check that
 * nothing below 0x20 appears anywhere. */
static void check(const char *line, size_t n)
{
	if (n < 3 || line[0] != '{' || line[n - 2] != '}' || line[n - 1] != '\n' || line[n] != '\0')
		__builtin_trap();
	size_t quotes = 0;
	for (size_t i = 0; i + 1 < n; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c < 0x20)
			__builtin_trap();
		if (c == '\\')
			i++;
		else if (c == '"')
			quotes++;
	}
	if (quotes % 2)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 2047)
		size = 2047;
	char *body = malloc(size + 1);
	memcpy(body, data, size);
	body[size] = '\0';
	size_t len = strlen(body); /* a body is a C string */
	static char big[16384], small[160];
	check(big, log_json_line(big, sizeof big, "2026-12-06T18:00:00.000Z", "info", body, len));
	check(small, log_json_line(small, sizeof small, "t", "warn", body, len));
	free(body);
	return 0;
}
