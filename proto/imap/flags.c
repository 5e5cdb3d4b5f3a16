/* flags: IMAP flag lists <-> store flag bits and keywords (flags.h). */
#include "proto/imap/flags.h"
#include "proto/imap/imap_int.h"
#include "proto/imap/parser.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "store/entries.h"
#include "store/mail.h"

int imap_format_flags(struct buf *b, uint32_t flags, const char *keywords)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} sys[] = {{STORE_FLAG_SEEN, "\\Seen"},       {STORE_FLAG_ANSWERED, "\\Answered"},
	           {STORE_FLAG_FLAGGED, "\\Flagged"}, {STORE_FLAG_DELETED, "\\Deleted"},
	           {STORE_FLAG_DRAFT, "\\Draft"},     {IMAP_FLAG_RECENT, "\\Recent"}};
	int r = buf_addc(b, '(');
	bool first = true;
	for (size_t i = 0; r == 0 && i < sizeof sys / sizeof sys[0]; i++) {
		if (flags & sys[i].bit) {
			if (!first)
				r = buf_addc(b, ' ');
			if (r == 0)
				r = buf_adds(b, sys[i].name);
			first = false;
		}
	}
	if (r == 0 && keywords && *keywords) {
		if (!first)
			r = buf_addc(b, ' ');
		if (r == 0)
			r = buf_adds(b, keywords);
	}
	if (r == 0)
		r = buf_addc(b, ')');
	return r;
}

bool imap_keyword_valid(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!imap_is_atom_char((unsigned char)s[i]))
			return false;
	return true;
}

/* System flag bit for "\Seen" etc., 0 for a keyword, -1 for an unknown or
 * unstorable system flag. */
int imap_flag_parse(const char *s, size_t len, uint32_t *bit)
{
	*bit = 0;
	if (len == 0)
		return -1;
	if (s[0] == '\\') {
		if ((*bit = store_flag_named(s, len)) != 0)
			return 1;
		if (len == 7 && strncasecmp(s, "\\Recent", 7) == 0)
			return 2; /* ignored */
		return -1;
	}
	return imap_keyword_valid(s, len) ? 0 : -1;
}

/* Flags from a list or a run of atoms into (mask, keywords). */
int imap_flags_collect(const struct imap_arg *args, size_t n, struct arena *a, uint32_t *mask,
                       char **keywords)
{
	struct buf kw = {0};
	*mask = 0;
	buf_add(&kw, "", 0);
	for (size_t i = 0; i < n; i++) {
		/* NIL is an atom to the grammar of a flag (RFC 9051 §9: flag-keyword
		 * = atom): the keyword "NIL", as the client spelled it */
		if (args[i].type != IMAP_ARG_ATOM && args[i].type != IMAP_ARG_NIL) {
			buf_free(&kw);
			return -EINVAL;
		}
		uint32_t bit;
		int r = imap_flag_parse(args[i].str, args[i].len, &bit);
		if (r < 0) {
			buf_free(&kw);
			return -EINVAL;
		}
		if (r == 1)
			*mask |= bit;
		else if (r == 0 && !store_keyword_has(kw.data, args[i].str, args[i].len)) {
			if (kw.len)
				buf_addc(&kw, ' ');
			buf_add(&kw, args[i].str, args[i].len);
		}
	}
	*keywords = imap_arena_strndup(a, kw.data, kw.len);
	buf_free(&kw);
	return 0;
}
