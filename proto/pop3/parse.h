/* parse: split a POP3 command line and read its numbers.
 *
 * RFC 1939 section 3: a command is a case-insensitive keyword of three or
 * four characters, then arguments separated by a single space, each up to
 * 40 characters. RFC 5034 lets the AUTH initial response be longer (it is
 * bounded by the line limit instead). We accept runs of spaces between
 * arguments, as every other server does, and reject control characters so
 * nothing odd reaches a log line or a handler.
 */
#ifndef TERN_POP3_PARSE_H
#define TERN_POP3_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POP3_MAX_ARGS 2
#define POP3_VERB_MAX 4

struct pop3_cmd {
	char verb[POP3_VERB_MAX + 1]; /* upper-cased, NUL-terminated */
	size_t nargs;
	char *args[POP3_MAX_ARGS]; /* NUL-terminated, pointing into the line */
	bool too_many;             /* more than POP3_MAX_ARGS arguments */
	size_t rest_off;           /* offset of the first argument in the line as
	                            * sent (PASS takes the rest verbatim) */
};

/* Parse line[0..len) in place (spaces become NULs; line[len] must be
 * writable). Returns 0, or -EINVAL for an empty line, a keyword that is
 * not 1-4 letters, or a control byte in the line. More arguments than
 * POP3_MAX_ARGS set too_many (the handler decides: PASS allows spaces). */
int pop3_parse(char *line, size_t len, struct pop3_cmd *cmd);

/* A message number: decimal digits only, 1..max. Returns 0 and sets *out,
 * -EINVAL (not a number) or -ERANGE (0, above max, or overflow). */
int pop3_parse_msgnum(const char *s, uint32_t max, uint32_t *out);

/* A non-negative line count for TOP (saturates at INT64_MAX). Returns 0
 * or -EINVAL. */
int pop3_parse_count(const char *s, int64_t *out);

#endif
