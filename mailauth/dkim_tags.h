/* dkim_tags: the tag=value list of RFC 6376 §3.2, shared by the
 * DKIM-Signature header field and the key record in DNS.
 *
 * Why its own file: both inputs come from strangers (a message, a TXT
 * record), so the one parser is small, bounded (DKIM_TAGS_MAX tags) and
 * fuzzed (tests/fuzz/fuzz_dkim.c). It copies nothing: each tag points
 * into the input. */
#ifndef TERN_MAILAUTH_DKIM_TAGS_H
#define TERN_MAILAUTH_DKIM_TAGS_H

#include <stdbool.h>
#include <stddef.h>

#define DKIM_TAGS_MAX 32

struct dkim_tag {
	const char *name;
	size_t name_len;
	const char *value; /* without the whitespace around it; may hold FWS inside */
	size_t value_len;
	size_t value_off; /* where the raw value span starts in the input (after '=') */
	size_t value_end; /* where it ends (before ';' or the end) */
};

struct dkim_tags {
	struct dkim_tag tag[DKIM_TAGS_MAX];
	size_t n;
};

/* Parses in[0..len). 0, or -1 for a syntax error, a duplicate tag name or
 * more than DKIM_TAGS_MAX tags. */
int dkim_tags_parse(const char *in, size_t len, struct dkim_tags *out);
/* The tag named name (case-sensitive, as §3.2 says), or NULL. */
const struct dkim_tag *dkim_tags_get(const struct dkim_tags *t, const char *name);
/* value equals s exactly. */
bool dkim_tag_is(const struct dkim_tag *t, const char *s);

#endif
