/* Shared by test_imap_fetch_parse.c and test_imap_search_parse.c: parse a
 * command line with the real IMAP parser, fed one byte at a time. */
#ifndef TERN_TEST_IMAP_MSG_UTIL_H
#define TERN_TEST_IMAP_MSG_UTIL_H

#include "proto/imap/imap_int.h"
#include "proto/imap/parser.h"

#include <stdio.h>
#include <string.h>

#include "check.h"

/* Feeds text (CRLF appended; literals "{n+}" inline) byte by byte.
 * Returns the command or NULL on a parse error. */
static struct imap_cmd *parse_cmd(const char *text)
{
	struct imap_parser_limits l;
	imap_parser_limits_auth(&l, 1 << 20, 65536);
	struct imap_parser *p = imap_parser_new(&l);
	char buf[8192];
	snprintf(buf, sizeof buf, "%s\r\n", text);
	size_t n = strlen(buf), i = 0;
	struct imap_cmd *cmd = NULL;
	while (i < n) {
		enum imap_parse_event ev;
		size_t used = imap_parser_feed(p, buf + i, 1, &ev);
		i += used;
		if (ev == IMAP_PARSE_COMMAND) {
			cmd = imap_parser_take(p);
			break;
		}
		if (ev == IMAP_PARSE_ERROR)
			break;
		if (used == 0 && ev == IMAP_PARSE_MORE)
			break;
	}
	imap_parser_free(&p);
	return cmd;
}

#endif
