/* webdav_xml_write: the escaping a multistatus answer is written with.
 *
 * Why its own file: every string that goes into a WebDAV answer (a
 * display name, a vCard in address-data, an href made of a client's
 * resource name) passes here, so what is escaped, and how, is decided in
 * one place. Hrefs are percent-encoded first (a resource name may hold
 * any byte but '/'), then escaped as XML. */
#include "proto/http/webdav_xml.h"

#include <string.h>

int wdx_escape(struct buf *b, const char *s, size_t n)
{
	int e = 0;
	size_t run = 0; /* bytes copied as they are, pending */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *rep = NULL;
		switch (c) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&apos;";
			break;
		default:
			if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
				rep = "";
			break;
		}
		if (!rep) {
			run++;
			continue;
		}
		e |= buf_add(b, s + i - run, run);
		run = 0;
		e |= buf_adds(b, rep);
	}
	e |= buf_add(b, s + n - run, run);
	return e ? -1 : 0;
}

static bool keep(unsigned char c, bool slash)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~' || c == '@' || c == '+' || c == '!' ||
	       c == '$' || c == '(' || c == ')' || c == '*' || c == ',' || c == ';' || c == '=' ||
	       c == ':' || (slash && c == '/');
}

static int encode(struct buf *b, const char *s, bool slash)
{
	static const char hex[] = "0123456789ABCDEF";
	int e = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (keep(*p, slash)) {
			e |= buf_addc(b, (char)*p);
		} else {
			char pct[3] = {'%', hex[*p >> 4], hex[*p & 15]};
			e |= buf_add(b, pct, 3);
		}
	}
	return e ? -1 : 0;
}

int wdx_href(struct buf *b, const char *path)
{
	/* Nothing encode() keeps needs XML escaping ('&' is not kept). */
	return encode(b, path, true);
}

int wdx_segment(struct buf *b, const char *seg)
{
	return encode(b, seg, false);
}
