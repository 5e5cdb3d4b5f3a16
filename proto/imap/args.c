/* args: reading the arguments of a parsed command (struct imap_arg,
 * imap_int.h): an atom by name, an astring, a string, a number. Pure: no
 * session, so the pure parsers (search_keys.c, fetch_parse.c) and their
 * unit tests use them too. */
#include "proto/imap/imap_int.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

bool imap_arg_is_atom(const struct imap_arg *a, const char *word)
{
	return a && (a->type == IMAP_ARG_ATOM || a->type == IMAP_ARG_NIL) &&
	       strlen(word) == a->len && strncasecmp(a->str, word, a->len) == 0;
}

bool imap_arg_astring(const struct imap_arg *a, const char **str, size_t *len)
{
	if (!a)
		return false;
	switch (a->type) {
	case IMAP_ARG_ATOM:
	case IMAP_ARG_QUOTED:
	case IMAP_ARG_LITERAL:
	case IMAP_ARG_NIL:
		*str = a->str;
		*len = a->len;
		return true;
	default:
		return false;
	}
}

bool imap_arg_string(const struct imap_arg *a, const char **str, size_t *len)
{
	if (!a || (a->type != IMAP_ARG_QUOTED && a->type != IMAP_ARG_LITERAL))
		return false;
	*str = a->str;
	*len = a->len;
	return true;
}

bool imap_arg_u64(const struct imap_arg *a, uint64_t *out)
{
	if (!a || a->type != IMAP_ARG_ATOM || a->len == 0 || a->len > 19)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < a->len; i++) {
		if (a->str[i] < '0' || a->str[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(a->str[i] - '0');
	}
	if (v > (uint64_t)INT64_MAX)
		return false;
	*out = v;
	return true;
}

bool imap_arg_u32(const struct imap_arg *a, uint32_t *out)
{
	uint64_t v;
	if (!imap_arg_u64(a, &v) || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}
