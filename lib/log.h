/* log: one line per event, "key=value" fields, session id and peer first.
 *
 *   2026-11-23T09:00:00.123Z info sid=1a2b peer=127.0.0.1:5555 smtp event=connect
 *
 * Callers format their own key=value pairs; log_kv_escape() quotes a value
 * that contains spaces, quotes or control bytes so one event stays on one
 * line whatever a client sent. Secrets (passwords, AUTH payloads) are never
 * passed to these functions: the protocol code logs "auth=plain user=x"
 * and never the response.
 *
 * With log_set_format(LOG_FORMAT_JSON) ([log] format = "json") the same
 * events are written as one JSON object per line, converted at output time:
 *
 *   {"ts":"2026-11-23T09:00:00.123Z","level":"info","sid":"1a2b",
 *    "peer":"127.0.0.1:5555","proto":"smtp","event":"connect"}
 *
 * Every key=value pair becomes a string member (a quoted value unescaped
 * first); words without '=' are gathered in "msg". Bytes that are not
 * UTF-8 become U+FFFD, control bytes \u00XX, so every line parses.
 *
 * The level may change while serving (`tern log level`, app/log_control.c):
 * it is an atomic read by every thread. */
#ifndef TERN_LOG_H
#define TERN_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

enum log_format { LOG_FORMAT_LOGFMT = 0, LOG_FORMAT_JSON };

void log_set_level(enum log_level level);
/* "logfmt" or "json" -> format; -1 if unknown. */
int log_format_parse(const char *name);
void log_set_format(enum log_format format);
enum log_level log_get_level(void);
/* "debug", "info", "warn", "error" -> level; returns -1 if unknown. */
int log_level_parse(const char *name);

/* Log one event. fmt is printf-style and should produce key=value pairs. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Session-scoped: prefixes "sid=<hex> peer=<addr> <proto>". */
void log_session(enum log_level level, uint64_t sid, const char *peer, const char *proto,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The calling thread's debug and info lines wait in a buffer until
 * log_flush() (serve.c: the event loop, once per iteration); warnings and
 * errors flush it and go out at once. Off again flushes. One thread only. */
void log_buffer_this_thread(bool on);
void log_flush(void);

/* Escape a client-controlled value for a log line into out (always
 * NUL-terminated, truncated to outlen). Returns out. */
char *log_kv_escape(char *out, size_t outlen, const char *in, size_t inlen);

/* One event's JSON line (with '\n') into out from its timestamp, level name
 * and logfmt body; always a complete object, however small outlen (>= 128)
 * and whatever the body holds. Returns the length written. */
size_t log_json_line(char *out, size_t outlen, const char *ts, const char *level, const char *body,
                     size_t bodylen);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
