/* fuzz_managesieve: the ManageSieve command parser (proto/sieve/parse.c) on
 * arbitrary bytes, fed the way the session feeds it.
 *
 * The first byte picks the mode (a command, or a SASL response); the rest
 * is a stream that is cut into lines at LF (CR LF or LF, as net/conn
 * delivers them, without the terminator) and appended to a buffer with
 * CRLF; after each line the parser is asked again, and when it asks for a
 * literal of N octets, the next N octets of the stream are appended as
 * they are (the conn's BLOCK mode), capped as the session caps them.
 * Checked, for every command the parser accepts:
 *  - the verb is 1..MSIEVE_VERB_MAX upper-case letters (none for a SASL
 *    response, which holds exactly one string);
 *  - every string lies in the output buffer, NUL-terminated, and a quoted
 *    one is at most MSIEVE_QUOTED_MAX octets; a number fits 32 bits;
 *  - written back with every string as a literal, the command parses again
 *    to the same verb and arguments (the grammar has one meaning);
 * and a request for a literal only ever comes right after "}" CRLF. */
#include "proto/sieve/parse.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LITERAL_CAP (1u << 20) /* the session's max_literal, at most */

static void check_cmd(const struct msieve_cmd *cmd, bool verb, const char *out, size_t outcap)
{
	size_t vlen = strlen(cmd->verb);
	if (verb ? (vlen == 0 || vlen > MSIEVE_VERB_MAX) : (vlen != 0 || cmd->nargs != 1))
		__builtin_trap();
	for (size_t i = 0; i < vlen; i++)
		if (cmd->verb[i] < 'A' || cmd->verb[i] > 'Z')
			__builtin_trap();
	if (cmd->nargs > MSIEVE_MAX_ARGS)
		__builtin_trap();
	for (size_t i = 0; i < cmd->nargs; i++) {
		const struct msieve_arg *a = &cmd->args[i];
		if (a->kind == MSIEVE_ARG_NUMBER) {
			if (a->num > MSIEVE_NUMBER_MAX)
				__builtin_trap();
			continue;
		}
		if (a->str < out || a->str + a->len >= out + outcap || a->str[a->len] != '\0')
			__builtin_trap();
		if (!a->literal && a->len > MSIEVE_QUOTED_MAX)
			__builtin_trap();
	}
}

/* cmd written back with every string as a literal, parsed again in one go
 * (each literal's header ends a line, so this walks the LITERAL answers). */
static void check_round_trip(const struct msieve_cmd *cmd, bool verb)
{
	size_t cap = 64;
	for (size_t i = 0; i < cmd->nargs; i++)
		cap += cmd->args[i].len + 32;
	char *buf = malloc(cap);
	char *out = malloc(cap + MSIEVE_MAX_ARGS);
	size_t n = 0;
	memcpy(buf, cmd->verb, strlen(cmd->verb));
	n += strlen(cmd->verb);
	for (size_t i = 0; i < cmd->nargs; i++) {
		const struct msieve_arg *a = &cmd->args[i];
		if (verb)
			buf[n++] = ' ';
		if (a->kind == MSIEVE_ARG_NUMBER) {
			n += (size_t)snprintf(buf + n, cap - n, "%llu", (unsigned long long)a->num);
			continue;
		}
		n += (size_t)snprintf(buf + n, cap - n, "{%zu+}\r\n", a->len);
		memcpy(buf + n, a->str, a->len);
		n += a->len;
	}
	memcpy(buf + n, "\r\n", 2);
	n += 2;
	/* parse growing prefixes, as the session would see them */
	struct msieve_cmd again;
	uint64_t lit;
	const char *why;
	size_t upto = 0;
	enum msieve_parse_status st;
	for (;;) {
		const char *lf = memchr(buf + upto, '\n', n - upto);
		upto = (size_t)(lf - buf) + 1;
		st = msieve_parse(buf, upto, verb, &again, out, &lit, &why);
		if (st != MSIEVE_PARSE_LITERAL)
			break;
		upto += (size_t)lit;
	}
	if (st != MSIEVE_PARSE_DONE || upto != n || strcmp(again.verb, cmd->verb) != 0 ||
	    again.nargs != cmd->nargs)
		__builtin_trap();
	for (size_t i = 0; i < cmd->nargs; i++) {
		const struct msieve_arg *a = &cmd->args[i], *b = &again.args[i];
		if (a->kind != b->kind || a->num != b->num || a->len != b->len ||
		    (a->kind == MSIEVE_ARG_STRING && memcmp(a->str, b->str, a->len) != 0))
			__builtin_trap();
	}
	free(buf);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	bool verb = (data[0] & 1) == 0;
	const char *in = (const char *)data + 1;
	size_t len = size - 1, pos = 0;
	/* a line adds 2 octets (CRLF for LF); a literal at most its own */
	size_t cap = 2 * len + 16;
	char *buf = malloc(cap);
	char *out = malloc(cap + MSIEVE_MAX_ARGS);
	size_t n = 0;
	while (pos < len) {
		const char *lf = memchr(in + pos, '\n', len - pos);
		size_t end = lf ? (size_t)(lf - in) : len;
		size_t l = end - pos;
		if (l > 0 && in[end - 1] == '\r' && lf)
			l--;
		memcpy(buf + n, in + pos, l);
		memcpy(buf + n + l, "\r\n", 2);
		n += l + 2;
		pos = lf ? end + 1 : len;
		struct msieve_cmd cmd;
		uint64_t lit = 0;
		const char *why = NULL;
		enum msieve_parse_status st = msieve_parse(buf, n, verb, &cmd, out, &lit, &why);
		if (st == MSIEVE_PARSE_LITERAL) {
			if (n < 3 || memcmp(buf + n - 3, "}\r\n", 3) != 0)
				__builtin_trap();
			if (lit > LITERAL_CAP || lit > len - pos)
				break; /* the session says BYE; the stream would end here */
			memcpy(buf + n, in + pos, (size_t)lit);
			n += (size_t)lit;
			pos += (size_t)lit;
			continue;
		}
		if (st == MSIEVE_PARSE_DONE) {
			check_cmd(&cmd, verb, out, cap + MSIEVE_MAX_ARGS);
			check_round_trip(&cmd, verb);
		} else if (st != MSIEVE_PARSE_ERROR || !why || !*why) {
			__builtin_trap();
		}
		n = 0;
	}
	free(buf);
	free(out);
	return 0;
}
