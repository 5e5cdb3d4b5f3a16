/* cli_health: `tern health`, the probe a container's HEALTHCHECK runs.
 *
 * It reads the same configuration as `tern serve` and asks the running
 * server, over its own listeners, whether its loop answers: GET /healthz on
 * the first plain HTTP listener (proto/http/status.c answers it from the
 * loop); with none, the greeting of the first SMTP, POP3 or IMAP listener
 * without implicit TLS; with none of those, a TCP connect to the first
 * listener. A wildcard address (0.0.0.0, [::]) is reached on loopback.
 * Exit 0 when healthy, 1 otherwise (bad arguments too: Docker reserves 2).
 * Blocking sockets with a deadline: a CLI, no event loop. */
#include "app/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
    "usage: tern [--config FILE] health [--timeout SECONDS]\n\n"
    "Asks the running server whether it answers, on its own listeners: GET\n"
    "/healthz on the first plain HTTP listener, else the greeting of the first\n"
    "SMTP, POP3 or IMAP listener without implicit TLS, else a TCP connect.\n"
    "Exit 0: healthy; 1: not (or bad arguments). --timeout: 1 to 300, default 5.\n";

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Host and port of a listener address, a wildcard turned into loopback. */
static int split_address(const char *address, char *host, size_t hlen, char *port, size_t plen)
{
	const char *colon = strrchr(address, ':');
	if (!colon || colon == address)
		return -1;
	const char *h = address;
	size_t n = (size_t)(colon - address);
	if (h[0] == '[' && n >= 2 && h[n - 1] == ']') {
		h++;
		n -= 2;
	}
	if (n >= hlen || strlen(colon + 1) >= plen)
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	snprintf(port, plen, "%s", colon + 1);
	if (strcmp(host, "0.0.0.0") == 0)
		snprintf(host, hlen, "127.0.0.1");
	else if (strcmp(host, "::") == 0)
		snprintf(host, hlen, "::1");
	return 0;
}

/* A connected socket, or -1 with why. */
static int connect_to(const char *address, int64_t deadline, char *why, size_t wlen)
{
	char host[128], port[8];
	if (split_address(address, host, sizeof host, port, sizeof port) < 0) {
		snprintf(why, wlen, "bad address");
		return -1;
	}
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
	struct addrinfo *ai;
	int rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0) {
		snprintf(why, wlen, "%s", gai_strerror(rc));
		return -1;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(why, wlen, "%s", strerror(errno));
		freeaddrinfo(ai);
		return -1;
	}
	rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	if (rc < 0 && errno == EINPROGRESS) {
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};
		int left = (int)(deadline - now_ms());
		if (left < 0)
			left = 0;
		rc = poll(&pfd, 1, left);
		if (rc == 0) {
			errno = ETIMEDOUT;
			rc = -1;
		} else if (rc > 0) {
			int soerr = 0;
			socklen_t sl = sizeof soerr;
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
			errno = soerr;
			rc = soerr ? -1 : 0;
		}
	}
	if (rc < 0) {
		snprintf(why, wlen, "%s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads until a line ends, the buffer is full, EOF or the deadline. */
static ssize_t read_line(int fd, char *buf, size_t len, int64_t deadline)
{
	size_t n = 0;
	while (n + 1 < len && !memchr(buf, '\n', n)) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int left = (int)(deadline - now_ms());
		if (left <= 0 || poll(&pfd, 1, left) <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		ssize_t r = read(fd, buf + n, len - 1 - n);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
	}
	buf[n] = '\0';
	return (ssize_t)n;
}

static bool send_all(int fd, const char *s)
{
	size_t len = strlen(s);
	return send(fd, s, len, MSG_NOSIGNAL) == (ssize_t)len;
}

/* One probe: its answer's first line into `line`; true when healthy. */
static bool probe(const struct config_listen *l, int64_t deadline, char *line, size_t llen)
{
	int fd = connect_to(l->address, deadline, line, llen);
	if (fd < 0)
		return false;
	bool ok = false;
	if (l->protocol == PROTO_HTTP && l->tls == LISTEN_TLS_NONE) {
		/* The answer fits a small buffer; a whole status line is enough. */
		ok = send_all(fd, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n"
		                  "Connection: close\r\n\r\n") &&
		     read_line(fd, line, llen, deadline) > 0 &&
		     strncmp(line, "HTTP/1.1 200 ", 13) == 0;
	} else if (l->tls == LISTEN_TLS_IMPLICIT) {
		snprintf(line, llen, "connected (implicit TLS: no greeting read)");
		ok = true;
	} else {
		static const char *const greeting[] = {[PROTO_SMTP] = "220",
		                                       [PROTO_SUBMISSION] = "220",
		                                       [PROTO_POP3] = "+OK",
		                                       [PROTO_IMAP] = "* OK",
		                                       [PROTO_SIEVE] = "\"IMPLEMENTATION\""};
		static const char *const bye[] = {[PROTO_SMTP] = "QUIT\r\n",
		                                  [PROTO_SUBMISSION] = "QUIT\r\n",
		                                  [PROTO_POP3] = "QUIT\r\n",
		                                  [PROTO_IMAP] = "h LOGOUT\r\n",
		                                  [PROTO_SIEVE] = "LOGOUT\r\n"};
		const char *want = greeting[l->protocol];
		ok = read_line(fd, line, llen, deadline) > 0 &&
		     strncmp(line, want, strlen(want)) == 0;
		if (ok)
			send_all(fd, bye[l->protocol]);
	}
	if (!ok && !line[0])
		snprintf(line, llen, "%s", errno ? strerror(errno) : "connection closed");
	line[strcspn(line, "\r\n")] = '\0';
	close(fd);
	return ok;
}

/* The listener to ask: see the comment at the top. NULL if none. */
static const struct config_listen *pick(const struct config *cfg)
{
	for (size_t i = 0; i < cfg->nlisten; i++)
		if (cfg->listen[i].protocol == PROTO_HTTP && cfg->listen[i].tls == LISTEN_TLS_NONE)
			return &cfg->listen[i];
	for (size_t i = 0; i < cfg->nlisten; i++)
		if (cfg->listen[i].protocol != PROTO_HTTP &&
		    cfg->listen[i].tls != LISTEN_TLS_IMPLICIT)
			return &cfg->listen[i];
	return cfg->nlisten ? &cfg->listen[0] : NULL;
}

int cli_health(const struct config *cfg, int argc, char **argv)
{
	if (!cfg) {
		fputs(usage, stdout);
		return 0;
	}
	long timeout = 5;
	for (int i = 0; i < argc; i++) {
		char *end;
		if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			timeout = strtol(argv[++i], &end, 10);
			if (*end || end == argv[i] || timeout < 1 || timeout > 300) {
				fprintf(stderr, "tern health: --timeout takes 1 to 300 seconds\n");
				return 1;
			}
		} else {
			fprintf(stderr, "tern health: unexpected argument '%s'\n\n%s", argv[i],
			        usage);
			return 1;
		}
	}
	const struct config_listen *l = pick(cfg);
	if (!l) {
		fprintf(stderr, "tern health: the configuration has no listener\n");
		return 1;
	}
	char line[256] = "";
	errno = 0;
	bool ok = probe(l, now_ms() + timeout * 1000, line, sizeof line);
	const char *what =
	    l->protocol == PROTO_HTTP && l->tls == LISTEN_TLS_NONE ? " GET /healthz" : "";
	if (ok) {
		printf("healthy: %s %s%s: %s\n", config_protocol_name(l->protocol), l->address,
		       what, line);
		return 0;
	}
	fprintf(stderr, "tern health: unhealthy: %s %s%s: %s\n", config_protocol_name(l->protocol),
	        l->address, what, line[0] ? line : "no answer");
	return 1;
}
