/* log_control: `tern log level LEVEL` reaching the running `tern serve`.
 *
 * The CLI writes the level to <data_dir>/log-level (a temporary file renamed
 * over it); the server stats that path every LOG_CONTROL_POLL_MS
 * (uv_fs_poll), applies the level, logs event=log_level and removes the
 * file, which tells the CLI it was taken. No signal, no pid file, no token:
 * whoever may write the data directory may already change anything in it,
 * and it works the same in a container whose volume is the data directory.
 * The change lasts until the server stops: at start the file is removed and
 * [server] log_level rules. */
#ifndef TERN_LOG_CONTROL_H
#define TERN_LOG_CONTROL_H

#include <stddef.h>
#include <uv.h>

#define LOG_CONTROL_FILE "log-level"
#define LOG_CONTROL_POLL_MS 250

/* Server: start watching (the handle does not keep the loop alive). */
void log_control_start(uv_loop_t *loop, const char *data_dir);
void log_control_stop(void);

/* CLI: request the level (a log_level_parse() name) and wait up to
 * wait_ms for a server to take it. 0: taken; -ETIMEDOUT: nobody did (the
 * request is withdrawn); another negative errno: it could not be written
 * (err says why). */
int log_control_request(const char *data_dir, const char *level, int wait_ms, char *err,
                        size_t errlen);

#endif
