/* reply: what the session sends. RFC 5804 §4: a response is OK, NO or BYE,
 * then an optional response code in parentheses, then an optional string
 * for a human. A string goes quoted when it is at most 1024 octets and
 * holds no CR, LF, NUL, quote or backslash, else as a literal {N}: quoted
 * strings may carry escapes, but a literal is what every client reads the
 * same way, and a compile error may quote the script. Also the error count
 * that ends a session after max_errors. */
#include "proto/sieve/msieve_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "net/conn.h"

void msieve_write(struct msieve_session *s, const void *data, size_t len)
{
	if (!s->closed)
		conn_write(s->conn, data, len);
}

static bool quotable(const char *str, size_t len)
{
	if (len > MSIEVE_QUOTED_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = str[i];
		if (c == '\r' || c == '\n' || c == '\0' || c == '"' || c == '\\')
			return false;
	}
	return true;
}

void msieve_write_string(struct msieve_session *s, const char *str, size_t len)
{
	if (quotable(str, len)) {
		msieve_write(s, "\"", 1);
		msieve_write(s, str, len);
		msieve_write(s, "\"", 1);
		return;
	}
	char head[32];
	int n = snprintf(head, sizeof head, "{%zu}\r\n", len);
	msieve_write(s, head, (size_t)n);
	msieve_write(s, str, len);
}

void msieve_respond(struct msieve_session *s, const char *kind, const char *code, const char *text)
{
	msieve_write(s, kind, strlen(kind));
	if (code && *code) {
		msieve_write(s, " (", 2);
		msieve_write(s, code, strlen(code));
		msieve_write(s, ")", 1);
	}
	if (text) {
		msieve_write(s, " ", 1);
		msieve_write_string(s, text, strlen(text));
	}
	msieve_write(s, "\r\n", 2);
}

void msieve_respondf(struct msieve_session *s, const char *kind, const char *code, const char *fmt,
                     ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	msieve_respond(s, kind, code, buf);
}

bool msieve_fail(struct msieve_session *s, const char *code, const char *text)
{
	msieve_respond(s, "NO", code, text);
	if (++s->errors < s->cfg->max_errors)
		return false;
	msieve_log(s, LOG_INFO, "event=too_many_errors errors=%lld", (long long)s->errors);
	msieve_respond(s, "BYE", NULL, "Too many errors");
	msieve_close(s);
	return true;
}
