/* fuzz_fields: splitting a fuzz input into NUL-separated fields, for the
 * targets that build a value from several strings (fuzz_dsn,
 * fuzz_sieve_reply). */
#ifndef TERN_FUZZ_FIELDS_H
#define TERN_FUZZ_FIELDS_H

#include <stddef.h>
#include <string.h>

/* The next field of [*p, end) (NUL-terminated by the caller's copy), or
 * NULL when none is left; *p moves past it. */
static inline const char *fuzz_next_field(char **p, char *end)
{
	if (*p >= end)
		return NULL;
	char *s = *p;
	char *z = memchr(s, '\0', (size_t)(end - s));
	*p = z ? z + 1 : end;
	return s;
}

#endif
