/* fuzz_imap_search: any bytes as a SEARCH command line, through the real
 * IMAP parser, the SEARCH key parser and one evaluation. Must never crash,
 * leak or recurse without bound. */
#include "proto/imap/imap_int.h"
#include "proto/imap/search_keys.h"
#include "proto/imap/dates.h"
#include "proto/imap/parser.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_parser_limits l;
	imap_parser_limits_auth(&l, 1 << 16, 1 << 16);
	struct imap_parser *p = imap_parser_new(&l);
	static const char head[] = "a SEARCH ";
	size_t off = 0;
	const uint8_t *parts[3] = {(const uint8_t *)head, data, (const uint8_t *)"\r\n"};
	size_t lens[3] = {sizeof head - 1, size, 2};
	struct imap_cmd *cmd = NULL;
	for (int k = 0; k < 3 && !cmd; k++) {
		off = 0;
		while (off < lens[k]) {
			enum imap_parse_event ev;
			size_t used = imap_parser_feed(p, parts[k] + off, lens[k] - off, &ev);
			off += used;
			if (ev == IMAP_PARSE_COMMAND) {
				cmd = imap_parser_take(p);
				break;
			}
			if (used == 0 && ev == IMAP_PARSE_MORE)
				break;
		}
	}
	if (cmd) {
		struct imap_search q;
		const char *err;
		if (imap_search_parse(cmd->args, cmd->nargs, &cmd->arena, &q, &err) == 0) {
			q.now = 1700000000; /* OLDER/YOUNGER */
			struct imap_search_msg m = {.seq = 1,
			                            .uid = 1,
			                            .internal_date = 1699990000,
			                            .keywords = "a b",
			                            .sent_day = IMAP_NO_DAY,
			                            .headers = "From: x\nSubject: y\n"};
			(void)imap_search_match(&q, q.root, &m);
			/* what the RETURN options ask of a result of 5 */
			size_t from, to;
			if (q.ret & IMAP_SEARCH_RET_PARTIAL) {
				imap_partial_slice(&q.partial, 5, &from, &to);
				if (from > to || to > 5)
					abort();
			}
		}
		imap_cmd_free(&cmd);
	}
	imap_parser_free(&p);
	return 0;
}
