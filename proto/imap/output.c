/* output: what a session writes. Raw bytes (through COMPRESS when it is
 * active: conn applies the filter), printf-style text, untagged lines, and
 * the IMAP string forms (atom, quoted, literal, NIL, mailbox names) chosen
 * by content. Below the update queue and the tagged reply, which write
 * through it; it calls nothing above itself. */
#include "proto/imap/imap_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/mutf7.h"
#include "lib/utf8.h"
#include "net/conn.h"
#include "proto/imap/parser.h"

int imap_write(struct imap_session *s, const void *data, size_t len)
{
	if (s->closed)
		return -1;
	return conn_write(s->conn, data, len);
}

int imap_vwritef(struct imap_session *s, const char *prefix, const char *fmt, va_list ap, bool crlf)
{
	char buf[2048];
	size_t plen = strlen(prefix);
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(buf + plen, sizeof buf - plen - 2, fmt, ap);
	if (n < 0) {
		va_end(ap2);
		return -1;
	}
	memcpy(buf, prefix, plen);
	if ((size_t)n < sizeof buf - plen - 2) {
		va_end(ap2);
		size_t len = plen + (size_t)n;
		if (crlf) {
			buf[len++] = '\r';
			buf[len++] = '\n';
		}
		return imap_write(s, buf, len);
	}
	char *big = malloc(plen + (size_t)n + 3);
	if (!big) {
		va_end(ap2);
		return -1;
	}
	memcpy(big, prefix, plen);
	vsnprintf(big + plen, (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	size_t len = plen + (size_t)n;
	if (crlf) {
		big[len++] = '\r';
		big[len++] = '\n';
	}
	int rc = imap_write(s, big, len);
	free(big);
	return rc;
}

int imap_printf(struct imap_session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = imap_vwritef(s, "", fmt, ap, false);
	va_end(ap);
	return rc;
}

void imap_untagged(struct imap_session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	imap_vwritef(s, "* ", fmt, ap, true);
	va_end(ap);
}

bool imap_output_full(const struct imap_session *s)
{
	return !s->closed && conn_output_full(s->conn);
}

static bool atom_safe(const char *str, size_t len)
{
	if (len == 0 || len > 256)
		return false;
	if (len == 3 && strncasecmp(str, "NIL", 3) == 0)
		return false;
	/* ATOM-CHARs only, and no "[" either */
	for (size_t i = 0; i < len; i++)
		if (!imap_is_atom_char((unsigned char)str[i]) || str[i] == '[')
			return false;
	return true;
}

static bool quotable(const struct imap_session *s, const char *str, size_t len)
{
	if (len > 4096)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!imap_is_quoted_char((unsigned char)str[i], s->enabled & IMAP_EXT_UTF8))
			return false;
	if (s->enabled & IMAP_EXT_UTF8)
		return utf8_valid(str, len);
	return true;
}

void imap_write_literal(struct imap_session *s, const char *data, size_t len)
{
	bool nul = memchr(data, '\0', len) != NULL;
	imap_printf(s, "%s{%zu}\r\n", nul ? "~" : "", len);
	imap_write(s, data, len);
}

void imap_write_quoted(struct imap_session *s, const char *str, size_t len)
{
	if (!quotable(s, str, len)) {
		imap_write_literal(s, str, len);
		return;
	}
	char buf[2 * 4096 + 2];
	size_t w = 0;
	buf[w++] = '"';
	for (size_t i = 0; i < len; i++) {
		if (str[i] == '"' || str[i] == '\\')
			buf[w++] = '\\';
		buf[w++] = str[i];
	}
	buf[w++] = '"';
	imap_write(s, buf, w);
}

void imap_write_astring(struct imap_session *s, const char *str, size_t len)
{
	if (atom_safe(str, len))
		imap_write(s, str, len);
	else
		imap_write_quoted(s, str, len);
}

void imap_write_nstring(struct imap_session *s, const char *str, size_t len)
{
	if (!str)
		imap_write(s, "NIL", 3);
	else
		imap_write_quoted(s, str, len);
}

void imap_write_mailbox(struct imap_session *s, const char *name)
{
	char buf[IMAP_MAILBOX_NAME_MAX * 4 + 16];
	ssize_t n = imap_mailbox_name_encode(s, name, buf, sizeof buf);
	if (n < 0) {
		imap_write_quoted(s, name, strlen(name));
		return;
	}
	/* Always quoted: some clients mis-handle atoms with '/' or '&'. An
	 * atom is only used for INBOX. */
	if (strcmp(buf, "INBOX") == 0)
		imap_write(s, buf, (size_t)n);
	else
		imap_write_quoted(s, buf, (size_t)n);
}
