/* fuzz_vcard: arbitrary bytes through the vCard reader and writer
 * (contacts/vcard.c), as an imported file or a CardDAV PUT body would
 * reach them.
 *
 * Beyond crashes and leaks: an error is "line N: why" with N within the
 * input's lines; what reads writes out with CRLF only and no line over 75
 * octets; and reading that again gives the very same cards (the reader
 * keeps values as written, so nothing may change but folding and the
 * case of names). */
#include "contacts/vcard.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vcard_list a, b;
	char err[256] = {0};
	int rc = vcard_parse((const char *)data, size, &a, err, sizeof err);
	if (rc < 0) {
		size_t lines = 1;
		for (size_t i = 0; i < size; i++)
			lines += data[i] == '\n';
		unsigned long n = strtoul(err + 5, NULL, 10);
		if (rc != -ENOMEM && (strncmp(err, "line ", 5) || n < 1 || n > lines))
			__builtin_trap();
		return 0;
	}
	size_t len = 0;
	char *out = vcard_write(a.cards, a.n, &len);
	if (out) {
		size_t col = 0;
		for (size_t i = 0; i < len; i++) {
			if (out[i] == '\r' && (i + 1 >= len || out[i + 1] != '\n'))
				__builtin_trap();
			if (out[i] == '\n' && (i == 0 || out[i - 1] != '\r'))
				__builtin_trap();
			if (out[i] == '\r' || out[i] == '\n') {
				col = 0;
				continue;
			}
			if (++col > 75)
				__builtin_trap();
		}
		if (vcard_parse(out, len, &b, err, sizeof err) != 0 || !vcard_list_equal(&a, &b))
			__builtin_trap();
		vcard_list_free(&b);
		free(out);
	}
	vcard_list_free(&a);
	return 0;
}
