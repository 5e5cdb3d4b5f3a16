/* fuzz_imap_parser: arbitrary bytes, split at points chosen by the first
 * input byte, through the IMAP parser with small limits. Checks: no crash,
 * no leak, every command has a tag and a name, literals have their length. */
#include "proto/imap/imap_int.h"
#include "proto/imap/parser.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_arg(const struct imap_arg *a, unsigned depth)
{
	if (depth > 16)
		abort();
	if (a->type == IMAP_ARG_LIST) {
		for (size_t i = 0; i < a->nlist; i++)
			check_arg(&a->list[i], depth + 1);
	} else if (!a->str || a->str[a->len] != '\0') {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t chunk = (data[0] % 17) + 1;
	bool preauth = data[0] & 0x80;
	data++;
	size--;
	struct imap_parser_limits l;
	if (preauth)
		imap_parser_limits_preauth(&l);
	else
		imap_parser_limits_auth(&l, 4096, 8192);
	struct imap_parser *p = imap_parser_new(&l);
	size_t off = 0;
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;
		const char *d = (const char *)data + off;
		off += n;
		while (n) {
			enum imap_parse_event ev;
			size_t used = imap_parser_feed(p, d, n, &ev);
			if (used > n)
				abort();
			d += used;
			n -= used;
			if (ev == IMAP_PARSE_COMMAND) {
				struct imap_cmd *c = imap_parser_take(p);
				if (!c->tag || !c->name || !*c->tag || !*c->name)
					abort();
				for (size_t i = 0; i < c->nargs; i++)
					check_arg(&c->args[i], 0);
				imap_cmd_free(&c);
			} else if (ev == IMAP_PARSE_LITERAL) {
				if (!imap_parser_literal_skip(p) &&
				    imap_parser_literal_len(p) > l.max_literal)
					abort();
			} else if (ev == IMAP_PARSE_MORE && used == 0) {
				abort(); /* no progress */
			}
		}
	}
	imap_parser_free(&p);
	return 0;
}
