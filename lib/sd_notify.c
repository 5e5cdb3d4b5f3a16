/* sd_notify: $NOTIFY_SOCKET datagrams (see sd_notify.h).
 *
 * A fresh non-blocking socket per message: messages are few (start,
 * reloads, stop), and no descriptor is held open for a manager that may
 * never listen. The address is read from the environment each time, so a
 * test (or a re-exec) can change it. */
#include "lib/sd_notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"

/* $NOTIFY_SOCKET as a sockaddr_un: its length, or 0 when unset or unusable. */
static socklen_t notify_address(struct sockaddr_un *sa)
{
	const char *path = getenv("NOTIFY_SOCKET");
	size_t len = path ? strlen(path) : 0;
	if (len < 2 || len >= sizeof sa->sun_path || (path[0] != '/' && path[0] != '@'))
		return 0;
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, len);
	if (path[0] == '@') /* abstract: a leading NUL, no terminator counted */
		sa->sun_path[0] = '\0';
	else
		len++; /* the path's NUL */
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
}

int sd_notify_send(const char *text)
{
	struct sockaddr_un sa;
	socklen_t salen = notify_address(&sa);
	if (salen == 0)
		return 0;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		log_msg(LOG_DEBUG, "event=sd_notify_failed err=\"%s\"", strerror(errno));
		return -1;
	}
	size_t len = strlen(text);
	ssize_t n;
	do
		n = sendto(fd, text, len, MSG_NOSIGNAL, (const struct sockaddr *)&sa, salen);
	while (n < 0 && errno == EINTR);
	int err = errno;
	close(fd);
	if (n != (ssize_t)len) {
		log_msg(LOG_DEBUG, "event=sd_notify_failed err=\"%s\"",
		        n < 0 ? strerror(err) : "short send");
		return -1;
	}
	return 1;
}

int sd_notify_sendf(const char *fmt, ...)
{
	char text[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	return sd_notify_send(text); /* a STATUS line too long is cut, not dropped */
}

int sd_notify_reloading(const char *status)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	unsigned long long usec =
	    (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000;
	return sd_notify_sendf("RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=%s", usec, status);
}
