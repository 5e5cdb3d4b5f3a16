/* log_control: see log_control.h. */
#include "app/log_control.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"

static uv_fs_poll_t poller;
static bool polling;
static char path[1024];

static void on_change(uv_fs_poll_t *h, int status, const uv_stat_t *prev, const uv_stat_t *curr)
{
	(void)h;
	(void)prev;
	(void)curr;
	if (status < 0) /* gone (we removed it) or not there yet */
		return;
	char buf[32] = "";
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, " \t\r\n")] = '\0';
	int level = log_level_parse(buf);
	if (level < 0) {
		char esc[80];
		log_warn("event=log_level_refused value=%s file=%s",
		         log_kv_escape(esc, sizeof esc, buf, strlen(buf)), path);
	} else {
		enum log_level was = log_get_level();
		/* said at the more verbose of the two levels, so that it shows */
		enum log_level say = (enum log_level)level < was ? (enum log_level)level : was;
		log_set_level(say);
		log_msg(say, "event=log_level level=%s was=%s", buf,
		        was == LOG_DEBUG  ? "debug"
		        : was == LOG_INFO ? "info"
		        : was == LOG_WARN ? "warn"
		                          : "error");
		log_set_level((enum log_level)level);
	}
	unlink(path); /* taken: the CLI waits for this */
}

void log_control_start(uv_loop_t *loop, const char *data_dir)
{
	snprintf(path, sizeof path, "%s/%s", data_dir, LOG_CONTROL_FILE);
	unlink(path); /* a request left from before this start: the config rules */
	uv_fs_poll_init(loop, &poller);
	if (uv_fs_poll_start(&poller, on_change, path, LOG_CONTROL_POLL_MS) == 0) {
		polling = true;
		uv_unref((uv_handle_t *)&poller);
	}
}

void log_control_stop(void)
{
	if (!polling)
		return;
	uv_fs_poll_stop(&poller);
	uv_close((uv_handle_t *)&poller, NULL);
	polling = false;
}

int log_control_request(const char *data_dir, const char *level, int wait_ms, char *err,
                        size_t errlen)
{
	char file[1024], tmp[1100];
	snprintf(file, sizeof file, "%s/%s", data_dir, LOG_CONTROL_FILE);
	snprintf(tmp, sizeof tmp, "%s.%ld.tmp", file, (long)getpid());
	FILE *f = fopen(tmp, "w");
	if (!f) {
		int e = errno;
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(e));
		return -e;
	}
	fprintf(f, "%s\n", level);
	if (fclose(f) != 0 || rename(tmp, file) != 0) {
		int e = errno;
		unlink(tmp);
		snprintf(err, errlen, "cannot write %s: %s", file, strerror(e));
		return -e;
	}
	for (int waited = 0; waited < wait_ms; waited += 50) {
		if (access(file, F_OK) != 0)
			return 0;
		nanosleep(&(struct timespec){0, 50 * 1000000L}, NULL);
	}
	if (access(file, F_OK) != 0)
		return 0;
	unlink(file);
	snprintf(err, errlen, "no running tern serve took %s within %d ms", file, wait_ms);
	return -ETIMEDOUT;
}
