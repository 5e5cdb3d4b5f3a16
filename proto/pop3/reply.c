/* reply: what the session sends: single-line replies, raw multi-line
 * output, and the error count that ends a session after max_errors.
 *
 * Why a file of its own: every command and store job answers the client,
 * and these lived in session.c, which dispatches to the commands; so the
 * commands called back up into it. Here they sit below the commands, on
 * top of life.c (too many errors closes the session).
 */
#include "proto/pop3/pop3_int.h"

#include <stdarg.h>
#include <stdio.h>

#include "net/conn.h"

void pop3_write(struct pop3_session *s, const void *data, size_t len)
{
	if (!s->closed)
		conn_write(s->conn, data, len);
}

void pop3_reply(struct pop3_session *s, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof buf - 3)
		n = (int)(sizeof buf - 3);
	buf[n++] = '\r';
	buf[n++] = '\n';
	pop3_write(s, buf, (size_t)n);
}

bool pop3_error(struct pop3_session *s)
{
	if (++s->errors < s->cfg->max_errors)
		return false;
	pop3_log(s, LOG_INFO, "event=too_many_errors errors=%lld", (long long)s->errors);
	pop3_reply(s, "-ERR too many errors");
	pop3_close(s);
	return true;
}
