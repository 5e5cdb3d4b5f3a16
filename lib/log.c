/* log: see log.h. Lines logged on the event loop's thread are gathered and
 * written once per loop iteration (log_flush() from serve.c, before the loop
 * polls): at info level a delivery logs three lines, and a write(2) each cost
 * the loop more than parsing the whole SMTP transaction. Warnings and errors,
 * and lines from other threads, are written at once. */
#include "lib/log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static enum log_level current_level = LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level level)
{
	current_level = level;
}
enum log_level log_get_level(void)
{
	return current_level;
}

int log_level_parse(const char *name)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(name, level_names[i]) == 0)
			return i;
	return -1;
}

static void log_prefix(char *buf, size_t len, enum log_level level)
{
	struct timeval tv;
	struct tm tm;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	         (int)(tv.tv_usec / 1000), level_names[level]);
}

#define LOG_BUF_SIZE 16384
#define LOG_LINE_MAX 2400 /* prefix + head + the 2048-byte body + newline */
static _Thread_local bool thread_buffers;
static char pending[LOG_BUF_SIZE]; /* the buffering thread's only */
static size_t npending;

void log_buffer_this_thread(bool on)
{
	if (!on)
		log_flush();
	thread_buffers = on;
}

/* One fwrite per flush and per direct line: stdio locks the stream per call,
 * so lines from concurrent threads never interleave inside a line. */
void log_flush(void)
{
	if (!thread_buffers || npending == 0)
		return;
	fwrite(pending, 1, npending, stderr);
	fflush(stderr);
	npending = 0;
}

static void log_vemit(enum log_level level, const char *head, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void log_vemit(enum log_level level, const char *head, const char *fmt, va_list ap)
{
	char prefix[64], body[2048], line[LOG_LINE_MAX];
	log_prefix(prefix, sizeof prefix, level);
	vsnprintf(body, sizeof body, fmt, ap);
	int n = snprintf(line, sizeof line, "%s %s%s\n", prefix, head, body);
	if (n < 0)
		return;
	size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
	if (len == sizeof line - 1)
		line[len - 1] = '\n';
	if (thread_buffers && level < LOG_WARN) {
		if (npending + len > sizeof pending)
			log_flush();
		memcpy(pending + npending, line, len);
		npending += len;
		return;
	}
	log_flush();
	fwrite(line, 1, len, stderr);
	fflush(stderr);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if (level < current_level)
		return;
	va_list ap;
	va_start(ap, fmt);
	log_vemit(level, "", fmt, ap);
	va_end(ap);
}

void log_session(enum log_level level, uint64_t sid, const char *peer, const char *proto,
                 const char *fmt, ...)
{
	if (level < current_level)
		return;
	char head[160];
	snprintf(head, sizeof head, "sid=%08llx peer=%s %s ", (unsigned long long)sid,
	         peer ? peer : "-", proto ? proto : "-");
	va_list ap;
	va_start(ap, fmt);
	log_vemit(level, head, fmt, ap);
	va_end(ap);
}

char *log_kv_escape(char *out, size_t outlen, const char *in, size_t inlen)
{
	size_t o = 0;
	int quote = inlen == 0;
	for (size_t i = 0; i < inlen; i++) {
		unsigned char ch = (unsigned char)in[i];
		if (ch <= ' ' || ch == '"' || ch == '\\' || ch >= 0x7f)
			quote = 1;
	}
	if (outlen == 0)
		return out;
	if (quote && o + 1 < outlen)
		out[o++] = '"';
	for (size_t i = 0; i < inlen && o + 5 < outlen; i++) {
		unsigned char ch = (unsigned char)in[i];
		if (ch == '"' || ch == '\\') {
			out[o++] = '\\';
			out[o++] = (char)ch;
		} else if (ch < ' ' || ch == 0x7f) {
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", ch);
		} else {
			out[o++] = (char)ch;
		}
	}
	if (quote && o + 1 < outlen)
		out[o++] = '"';
	out[o] = '\0';
	return out;
}
