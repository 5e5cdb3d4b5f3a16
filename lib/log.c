/* log: see log.h. Lines logged on the event loop's thread are gathered and
 * written once per loop iteration (log_flush() from serve.c, before the loop
 * polls): at info level a delivery logs three lines, and a write(2) each cost
 * the loop more than parsing the whole SMTP transaction. Warnings and errors,
 * and lines from other threads, are written at once. */
#include "lib/log.h"
#include "lib/hex.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

/* Read by every thread, changed by the loop while serving (log_control). */
static _Atomic int current_level = LOG_INFO;
static enum log_format current_format = LOG_FORMAT_LOGFMT; /* set before threads start */
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level level)
{
	atomic_store_explicit(&current_level, (int)level, memory_order_relaxed);
}
enum log_level log_get_level(void)
{
	return (enum log_level)atomic_load_explicit(&current_level, memory_order_relaxed);
}

void log_set_format(enum log_format format)
{
	current_format = format;
}

int log_format_parse(const char *name)
{
	if (strcmp(name, "logfmt") == 0)
		return LOG_FORMAT_LOGFMT;
	if (strcmp(name, "json") == 0)
		return LOG_FORMAT_JSON;
	return -1;
}

int log_level_parse(const char *name)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(name, level_names[i]) == 0)
			return i;
	return -1;
}

static void log_timestamp(char *buf, size_t len)
{
	struct timeval tv;
	struct tm tm;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000));
}

/* ---- logfmt -> JSON ---------------------------------------------------- */

/* An output buffer that always keeps room to close the object. */
struct jout {
	char *p;
	size_t len, cap; /* cap: usable bytes, the closing ones reserved */
	size_t good;     /* length after the last whole member */
	bool full;
};

static void jput(struct jout *o, const char *s, size_t n)
{
	if (o->full || o->len + n > o->cap) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is not one. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t need;
	unsigned char lo = 0x80, hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf)
		need = 1;
	else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (n < need + 1 || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i <= need; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return need + 1;
}

/* One byte string as the inside of a JSON string: an escape for quotes,
 * backslashes and control bytes, U+FFFD for a byte that is not UTF-8. A
 * character is written whole or not at all. */
static void jstr_bytes(struct jout *o, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < n && !o->full;) {
		unsigned char c = u[i];
		char esc[8];
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			jput(o, esc, 2);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof esc, "\\u%04x", c);
			jput(o, esc, 6);
			i++;
		} else if (c < 0x80) {
			jput(o, (const char *)u + i, 1);
			i++;
		} else {
			size_t l = utf8_seq(u + i, n - i);
			if (l) {
				jput(o, (const char *)u + i, l);
				i += l;
			} else {
				jput(o, "\\ufffd", 6);
				i++;
			}
		}
	}
}

/* A value as logfmt wrote it: bare up to the next space, or quoted as
 * log_kv_escape() quotes (\" \\ \xNN). Its bytes, unescaped, go to val
 * (at most vcap); returns where the value ends in s. */
static size_t logfmt_value(const char *s, size_t n, char *val, size_t vcap, size_t *vlen)
{
	size_t i = 0, v = 0;
	if (n == 0 || s[0] != '"') {
		while (i < n && s[i] != ' ') {
			if (v < vcap)
				val[v++] = s[i];
			i++;
		}
		*vlen = v;
		return i;
	}
	for (i = 1; i < n && s[i] != '"'; i++) {
		char c = s[i];
		if (c == '\\' && i + 1 < n) {
			if (s[i + 1] == 'x' && i + 3 < n && hex_value(s[i + 2]) >= 0 &&
			    hex_value(s[i + 3]) >= 0) {
				c = (char)(hex_value(s[i + 2]) * 16 + hex_value(s[i + 3]));
				i += 3;
			} else {
				c = s[++i];
			}
		}
		if (v < vcap)
			val[v++] = c;
	}
	*vlen = v;
	return i < n ? i + 1 : i; /* past the closing quote */
}

static void jmember(struct jout *o, const char *key, size_t klen, const char *val, size_t vlen)
{
	jput(o, ",\"", 2);
	jstr_bytes(o, key, klen);
	jput(o, "\":\"", 3);
	jstr_bytes(o, val, vlen);
	jput(o, "\"", 1);
	if (!o->full)
		o->good = o->len;
}

size_t log_json_line(char *out, size_t outlen, const char *ts, const char *level, const char *body,
                     size_t bodylen)
{
	/* Kept back for the end: ,"truncated":true}\n and the NUL. */
	struct jout o = {out, 0, outlen > 24 ? outlen - 24 : 0, 0, false};
	static _Thread_local char val[2048], msg[2048];
	size_t msglen = 0;
	jput(&o, "{\"ts\":\"", 7);
	jstr_bytes(&o, ts, strlen(ts));
	jput(&o, "\",\"level\":\"", 11);
	jstr_bytes(&o, level, strlen(level));
	jput(&o, "\"", 1);
	o.good = o.len;
	size_t i = 0;
	while (i < bodylen && !o.full) {
		while (i < bodylen && body[i] == ' ')
			i++;
		if (i >= bodylen)
			break;
		size_t k = i;
		while (k < bodylen && body[k] != ' ' && body[k] != '=')
			k++;
		if (k < bodylen && body[k] == '=' && k > i) {
			size_t vlen;
			size_t used =
			    logfmt_value(body + k + 1, bodylen - k - 1, val, sizeof val, &vlen);
			jmember(&o, body + i, k - i, val, vlen);
			i = k + 1 + used;
		} else {
			/* a word without a key (or "=x"): part of "msg" */
			while (k < bodylen && body[k] != ' ')
				k++;
			if (msglen && msglen < sizeof msg)
				msg[msglen++] = ' ';
			size_t w = k - i < sizeof msg - msglen ? k - i : sizeof msg - msglen;
			memcpy(msg + msglen, body + i, w);
			msglen += w;
			i = k;
		}
	}
	if (msglen)
		jmember(&o, "msg", 3, msg, msglen);
	/* Out of room: back to the last whole member, and say so. */
	size_t n = o.len;
	if (o.full) {
		n = o.good;
		memcpy(out + n, ",\"truncated\":true", 17);
		n += 17;
	}
	out[n++] = '}';
	out[n++] = '\n';
	out[n] = '\0';
	return n;
}

#define LOG_BUF_SIZE 16384
#define LOG_LINE_MAX 2400 /* prefix + head + the 2048-byte body + newline */
/* JSON: every byte of the body may become a 6-byte escape. */
#define LOG_JSON_MAX (6 * 2048 + 256)
_Static_assert(LOG_JSON_MAX <= LOG_BUF_SIZE, "a JSON line fits the pending buffer");
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
	char ts[64], body[2048];
	static _Thread_local char line[LOG_JSON_MAX];
	log_timestamp(ts, sizeof ts);
	int n;
	if (current_format == LOG_FORMAT_JSON) {
		int h = snprintf(body, sizeof body, "%s", head);
		if (h < 0 || (size_t)h >= sizeof body)
			h = 0;
		vsnprintf(body + h, sizeof body - (size_t)h, fmt, ap);
		n = (int)log_json_line(line, sizeof line, ts, level_names[level], body,
		                       strlen(body));
	} else {
		vsnprintf(body, sizeof body, fmt, ap);
		n = snprintf(line, LOG_LINE_MAX, "%s %s %s%s\n", ts, level_names[level], head,
		             body);
		if (n < 0)
			return;
		if ((size_t)n >= LOG_LINE_MAX) {
			n = LOG_LINE_MAX - 1;
			line[n - 1] = '\n';
		}
	}
	size_t len = (size_t)n;
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
	if ((int)level < atomic_load_explicit(&current_level, memory_order_relaxed))
		return;
	va_list ap;
	va_start(ap, fmt);
	log_vemit(level, "", fmt, ap);
	va_end(ap);
}

void log_session(enum log_level level, uint64_t sid, const char *peer, const char *proto,
                 const char *fmt, ...)
{
	if ((int)level < atomic_load_explicit(&current_level, memory_order_relaxed))
		return;
	char head[160];
	/* JSON names the protocol; logfmt has always written it bare. */
	snprintf(head, sizeof head, "sid=%08llx peer=%s %s%s ", (unsigned long long)sid,
	         peer ? peer : "-", current_format == LOG_FORMAT_JSON ? "proto=" : "",
	         proto ? proto : "-");
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
