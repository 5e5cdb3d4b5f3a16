/* mailbox_name: mailbox names between the wire and the store. Inside tern
 * a name is UTF-8 with '/' between levels and "INBOX" in upper case; on the
 * wire it is modified UTF-7 (RFC 9051 §5.1.3) unless the client enabled
 * UTF8=ACCEPT (RFC 9755). Every name a client sends is decoded here and
 * every name sent is encoded here, so the two spellings never mix. */
#include "proto/imap/imap_int.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "lib/mutf7.h"
#include "lib/utf8.h"

ssize_t imap_mailbox_name_encode(const struct imap_session *s, const char *name, char *out,
                                 size_t outcap)
{
	size_t len = strlen(name);
	if (s->enabled & IMAP_EXT_UTF8) {
		if (len + 1 > outcap)
			return -ENAMETOOLONG;
		memcpy(out, name, len + 1);
		return (ssize_t)len;
	}
	return mutf7_encode(name, len, out, outcap);
}

ssize_t imap_mailbox_name_decode(const struct imap_session *s, const char *wire, size_t len,
                                 char *out, size_t outcap, bool strip_trailing_sep)
{
	if (memchr(wire, '\0', len))
		return -EINVAL;
	if (len > IMAP_MAILBOX_NAME_MAX)
		return -ENAMETOOLONG;
	ssize_t n;
	bool ascii = true;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)wire[i] >= 0x80)
			ascii = false;
	if (!ascii) {
		/* raw UTF-8: only with UTF8=ACCEPT (RFC 9755) */
		if (!(s->enabled & IMAP_EXT_UTF8) || !utf8_valid(wire, len))
			return -EINVAL;
		if (len + 1 > outcap)
			return -ENAMETOOLONG;
		memcpy(out, wire, len);
		out[len] = '\0';
		n = (ssize_t)len;
	} else {
		n = mutf7_decode(wire, len, out, outcap);
		if (n < 0) {
			if (!(s->enabled & IMAP_EXT_UTF8) || n == -ENAMETOOLONG)
				return n;
			/* UTF8=ACCEPT: a name with a literal '&' is just a name */
			if (len + 1 > outcap)
				return -ENAMETOOLONG;
			memcpy(out, wire, len);
			out[len] = '\0';
			n = (ssize_t)len;
		}
	}
	for (ssize_t i = 0; i < n; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			return -EINVAL;
	if (strip_trailing_sep)
		while (n > 0 && out[n - 1] == '/')
			out[--n] = '\0';
	if (n == 0)
		return -EINVAL;
	/* no empty components ("a//b", "/a") */
	if (out[0] == '/' || strstr(out, "//") || out[n - 1] == '/')
		return -EINVAL;
	/* INBOX in any case is INBOX, also as a parent */
	if (n >= 5 && strncasecmp(out, "INBOX", 5) == 0 && (n == 5 || out[5] == '/'))
		memcpy(out, "INBOX", 5);
	return n;
}
