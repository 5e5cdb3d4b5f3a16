/* parse: see parse.h. The grammar is RFC 5804 §4's, read strictly: one
 * space between arguments, no trailing space, a quoted string never holds
 * CR, LF or NUL, and a number fits in 32 bits. Both literal forms are
 * accepted ("{N+}" is what §4 defines for clients; "{N}" is what IMAP
 * clients send, and nothing is lost by taking it: the server never sends a
 * continuation for it, and the client does not wait for one in ManageSieve). */
#include "proto/sieve/parse.h"

#include <string.h>

static bool is_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool at_crlf(const char *buf, size_t len, size_t p)
{
	return len - p >= 2 && buf[p] == '\r' && buf[p + 1] == '\n';
}

/* Digits at buf[*p..]: at most 10, at most MSIEVE_NUMBER_MAX. */
static bool read_number(const char *buf, size_t len, size_t *p, uint64_t *out)
{
	uint64_t n = 0;
	size_t digits = 0;
	while (*p < len && is_digit(buf[*p])) {
		if (++digits > 10)
			return false;
		n = n * 10 + (uint64_t)(buf[*p] - '0');
		(*p)++;
	}
	if (digits == 0 || n > MSIEVE_NUMBER_MAX)
		return false;
	*out = n;
	return true;
}

/* A quoted string from buf[*p] (the opening quote) into out[*o..]. */
static bool read_quoted(const char *buf, size_t len, size_t *p, char *out, size_t *o,
                        const char **why)
{
	size_t n = 0;
	(*p)++;
	for (;;) {
		if (*p >= len) {
			*why = "unterminated quoted string";
			return false;
		}
		char c = buf[*p];
		if (c == '"')
			break;
		if (c == '\\') {
			(*p)++;
			c = *p < len ? buf[*p] : '\0';
			if (c != '"' && c != '\\') {
				*why = "bad escape in quoted string";
				return false;
			}
		} else if (c == '\r' || c == '\n' || c == '\0') {
			*why = "CR, LF or NUL in quoted string";
			return false;
		}
		if (++n > MSIEVE_QUOTED_MAX) {
			*why = "quoted string too long";
			return false;
		}
		out[(*o)++] = c;
		(*p)++;
	}
	(*p)++;
	return true;
}

enum msieve_parse_status msieve_parse(const char *buf, size_t len, bool verb,
                                      struct msieve_cmd *cmd, char *out, uint64_t *literal,
                                      const char **why)
{
	memset(cmd, 0, sizeof *cmd);
	*why = "syntax error";
	size_t p = 0, o = 0;
	if (verb) {
		size_t n = 0;
		while (p < len && is_alpha(buf[p])) {
			if (n == MSIEVE_VERB_MAX) {
				*why = "unknown command";
				return MSIEVE_PARSE_ERROR;
			}
			char c = buf[p++];
			cmd->verb[n++] = (char)(c >= 'a' ? c - 'a' + 'A' : c);
		}
		if (n == 0) {
			*why = "expected a command name";
			return MSIEVE_PARSE_ERROR;
		}
	}
	for (;;) {
		if (at_crlf(buf, len, p)) {
			if (p + 2 != len)
				return MSIEVE_PARSE_ERROR;
			if (!verb && cmd->nargs != 1) {
				*why = "expected a string";
				return MSIEVE_PARSE_ERROR;
			}
			return MSIEVE_PARSE_DONE;
		}
		if (p >= len)
			return MSIEVE_PARSE_ERROR;
		if (verb || cmd->nargs > 0) {
			if (buf[p] != ' ') {
				*why = verb ? "expected a space" : "expected CRLF";
				return MSIEVE_PARSE_ERROR;
			}
			p++;
		}
		if (cmd->nargs == MSIEVE_MAX_ARGS || (!verb && cmd->nargs == 1)) {
			*why = "too many arguments";
			return MSIEVE_PARSE_ERROR;
		}
		struct msieve_arg *a = &cmd->args[cmd->nargs];
		char c = p < len ? buf[p] : '\0';
		if (c == '"') {
			a->str = out + o;
			size_t start = o;
			if (!read_quoted(buf, len, &p, out, &o, why))
				return MSIEVE_PARSE_ERROR;
			a->len = o - start;
			out[o++] = '\0';
		} else if (c == '{') {
			p++;
			uint64_t n;
			if (!read_number(buf, len, &p, &n)) {
				*why = "bad literal size";
				return MSIEVE_PARSE_ERROR;
			}
			if (p < len && buf[p] == '+')
				p++;
			if (p >= len || buf[p] != '}' || !at_crlf(buf, len, p + 1)) {
				*why = "bad literal";
				return MSIEVE_PARSE_ERROR;
			}
			p += 3;
			if (p == len) {
				*literal = n;
				return MSIEVE_PARSE_LITERAL;
			}
			if (len - p < n)
				return MSIEVE_PARSE_ERROR;
			a->str = out + o;
			a->len = (size_t)n;
			a->literal = true;
			memcpy(out + o, buf + p, (size_t)n);
			o += (size_t)n;
			out[o++] = '\0';
			p += (size_t)n;
		} else if (verb && is_digit(c)) {
			a->kind = MSIEVE_ARG_NUMBER;
			if (!read_number(buf, len, &p, &a->num)) {
				*why = "bad number";
				return MSIEVE_PARSE_ERROR;
			}
		} else {
			*why = verb ? "expected a string or a number" : "expected a string";
			return MSIEVE_PARSE_ERROR;
		}
		cmd->nargs++;
	}
}

const char *msieve_arg_text(const struct msieve_arg *a)
{
	if (a->kind != MSIEVE_ARG_STRING || memchr(a->str, '\0', a->len))
		return NULL;
	return a->str;
}
