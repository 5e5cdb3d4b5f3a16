/* parse: one ManageSieve command (RFC 5804 §4), as the session collects it.
 *
 * A command is a name, then arguments separated by one space, then CRLF.
 * An argument is a quoted string (at most 1024 octets, "\\" and "\""
 * escaped), a literal ("{N}" or "{N+}", CRLF, N octets) or a number
 * (HAVESPACE's size). The session hands the parser everything it has
 * collected so far: whole lines with their CRLF, and the octets of each
 * literal inline. The parser reads it from the start every time and says
 * either "done", or "a literal of N octets comes next" (the buffer ends
 * right after a literal's header), or what is wrong. Re-reading is cheap:
 * a command holds at most MSIEVE_MAX_ARGS arguments, and the session bounds
 * the buffer.
 *
 * A SASL response (RFC 5804 §2.1) is one string alone on its line: the same
 * parser reads it with verb = false.
 *
 * Pure: no I/O, no allocation. */
#ifndef TERN_MSIEVE_PARSE_H
#define TERN_MSIEVE_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MSIEVE_MAX_ARGS 4
#define MSIEVE_VERB_MAX 16
#define MSIEVE_QUOTED_MAX 1024
#define MSIEVE_NUMBER_MAX 4294967295u /* RFC 5804 §4: number */

enum msieve_arg_kind { MSIEVE_ARG_STRING = 0, MSIEVE_ARG_NUMBER };

struct msieve_arg {
	enum msieve_arg_kind kind;
	const char *str; /* STRING: NUL-terminated (it may hold NULs: see len) */
	size_t len;
	uint64_t num; /* NUMBER */
	bool literal; /* STRING: it came as a literal */
};

struct msieve_cmd {
	char verb[MSIEVE_VERB_MAX + 1]; /* upper-cased; "" for a SASL response */
	size_t nargs;
	struct msieve_arg args[MSIEVE_MAX_ARGS];
};

enum msieve_parse_status {
	MSIEVE_PARSE_DONE = 0,    /* cmd is filled */
	MSIEVE_PARSE_LITERAL = 1, /* *literal octets must follow, then more of the line */
	MSIEVE_PARSE_ERROR = -1,  /* *why says what is wrong */
};

/* Read buf[0..len). out must have room for len + MSIEVE_MAX_ARGS bytes: the
 * strings are written there, unescaped and NUL-terminated, and cmd's
 * pointers point into it. verb: a command (true) or a SASL response. */
enum msieve_parse_status msieve_parse(const char *buf, size_t len, bool verb,
                                      struct msieve_cmd *cmd, char *out, uint64_t *literal,
                                      const char **why);

/* A string argument that holds no NUL (a script name, a mechanism): its
 * text, or NULL. */
const char *msieve_arg_text(const struct msieve_arg *a);

#endif
