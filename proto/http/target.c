/* target: the request-target taken apart (RFC 9112 §3.2, RFC 3986).
 *
 * The path is percent-decoded once, here, and refused if it could walk up
 * a directory or smuggle a NUL or a slash; the query stays raw until a
 * handler asks for one parameter, decoded (with '+' as a space, as HTML
 * forms send it). */
#include "proto/http/http_int.h"

#include "lib/hex.h"

#include <string.h>
#include <strings.h>

/* Percent-decode in[0..len) into out (NUL-terminated). plus_space: a '+'
 * is a space (query strings). -1 on a bad escape, a NUL, or no room. */
static int pct_decode(const char *in, size_t len, char *out, size_t outlen, bool plus_space,
                      bool allow_slash)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		char ch = in[i];
		if (ch == '%') {
			if (i + 2 >= len)
				return -1;
			int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			ch = (char)(hi * 16 + lo);
			if (ch == '\0' || (!allow_slash && ch == '/'))
				return -1;
			i += 2;
		} else if (ch == '+' && plus_space) {
			ch = ' ';
		}
		if (o + 1 >= outlen)
			return -1;
		out[o++] = ch;
	}
	out[o] = '\0';
	return (int)o;
}

int http_query_param(const char *query, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name);
	const char *p = query;
	while (p && *p) {
		const char *amp = strchr(p, '&');
		size_t seg = amp ? (size_t)(amp - p) : strlen(p);
		if (seg > nl && strncmp(p, name, nl) == 0 && p[nl] == '=')
			return pct_decode(p + nl + 1, seg - nl - 1, out, outlen, true, true);
		p = amp ? amp + 1 : NULL;
	}
	return -1;
}

int http_split_target(struct http_session *s)
{
	const char *t = s->req->target;
	size_t len = s->req->target_len;
	/* absolute-form (RFC 9112 §3.2.2): a server must accept it */
	if (len > 7 && (strncasecmp(t, "http://", 7) == 0 || strncasecmp(t, "https://", 8) == 0)) {
		const char *slash = strchr(t + (t[4] == ':' ? 7 : 8), '/');
		if (!slash)
			slash = "/";
		len -= (size_t)(slash - t) <= len ? (size_t)(slash - t) : len;
		t = slash;
		if (!len)
			len = 1;
	}
	if (t[0] != '/')
		return -1;
	const char *q = memchr(t, '?', len);
	size_t plen = q ? (size_t)(q - t) : len;
	s->query = q ? q + 1 : "";
	if (pct_decode(t, plen, s->path, sizeof s->path, false, false) < 0)
		return -1;
	/* no dot segments (RFC 3986 §3.3): nothing is served by walking up */
	for (const char *p = s->path; (p = strstr(p, "/.")) != NULL; p++) {
		if (p[2] == '\0' || p[2] == '/' || (p[2] == '.' && (p[3] == '\0' || p[3] == '/')))
			return -1;
	}
	return 0;
}
