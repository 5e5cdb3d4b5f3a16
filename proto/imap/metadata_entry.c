/* metadata_entry: METADATA entry names (RFC 5464 §3.2), checked and
 * folded to lower case, and the match of a name against an entry and a
 * DEPTH. Pure code: no session. */
#include "proto/imap/imap_int.h"

#include <errno.h>
#include <string.h>

ssize_t imap_metadata_entry(const char *name, size_t len, char *out, size_t cap, bool prefix)
{
	if (len < 2 || len > IMAP_METADATA_ENTRY_MAX || len >= cap || name[0] != '/' ||
	    name[len - 1] == '/')
		return -EINVAL;
	size_t components = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		/* no CTL, no 8-bit (§3.2); no wildcards; no empty component */
		if (c < 0x20 || c >= 0x7f || c == '*' || c == '%')
			return -EINVAL;
		if (c == '/') {
			if (name[i + 1] == '/')
				return -EINVAL;
			components++;
		}
		out[i] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
	}
	out[len] = '\0';
	/* the scope is the first component; at least one below it, and a
	 * vendor entry names its vendor and something of it */
	bool priv = strncmp(out, "/private/", 9) == 0, shared = strncmp(out, "/shared/", 8) == 0;
	if (prefix && (strcmp(out, "/private") == 0 || strcmp(out, "/shared") == 0))
		return (ssize_t)len; /* what GETMETADATA may look below */
	if (!priv && !shared)
		return -EINVAL;
	const char *rest = out + (priv ? 9 : 8);
	if (strncmp(rest, "vendor", 6) == 0 && (rest[6] == '/' || rest[6] == '\0') &&
	    components < 4 && !prefix)
		return -EINVAL;
	return (ssize_t)len;
}

bool imap_metadata_match(const char *entry, int depth, const char *name)
{
	size_t el = strlen(entry);
	if (strncmp(name, entry, el) != 0)
		return false;
	if (name[el] == '\0')
		return true;
	if (depth == 0 || name[el] != '/')
		return false;
	return depth < 0 || strchr(name + el + 1, '/') == NULL;
}
