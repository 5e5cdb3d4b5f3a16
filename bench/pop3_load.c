/* pop3_load: downloads every message of a POP3 mailbox with RETR and
 * reports the throughput. The same client is used against tern and Dovecot.
 *
 *   pop3_load [-u user] [-p pass] [-w window] [-n max] HOST:PORT
 *
 * USER/PASS, STAT, then RETR 1..N. With -w 1 (the default) one RETR is in
 * flight at a time, as a mail client does it; -w K keeps K RETR commands
 * pipelined (RFC 2449 PIPELINING style; both servers read commands in
 * order). Nothing is deleted; the session ends with QUIT.
 *
 * Prints one JSON object: messages, bytes (message bytes as received on
 * the wire between "+OK" and the terminating ".", dot-stuffing included),
 * stat_octets (what STAT announced), seconds (first RETR sent to last
 * message received), mb_per_s (10^6 bytes/s), msgs_per_s, login_ms.
 * Exit 0 on success, 1 on a protocol error, 2 on usage/setup errors.
 *
 * Not part of the test suite: built by bench/build.sh, run by bench/run.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int fd;
static char *buf;
static size_t bufcap = 1 << 20, blen, bpos;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fail(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "pop3_load: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(code);
}

static void sendall(const char *s, size_t n)
{
	while (n) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			fail(1, "send: %s", strerror(errno));
		}
		s += w;
		n -= (size_t)w;
	}
}

static void sendf(const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	sendall(tmp, (size_t)n);
}

/* Make sure at least one more byte is buffered (compacting first). */
static void fill(void)
{
	if (bpos == blen) {
		bpos = blen = 0;
	} else if (bpos > bufcap / 2) {
		memmove(buf, buf + bpos, blen - bpos);
		blen -= bpos;
		bpos = 0;
	}
	if (blen == bufcap)
		fail(1, "line too long");
	for (;;) {
		ssize_t r = recv(fd, buf + blen, bufcap - blen, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			fail(1, "recv: %s", strerror(errno));
		if (r == 0)
			fail(1, "connection closed by server");
		blen += (size_t)r;
		return;
	}
}

/* One status line (without CRLF) into out. */
static void read_line(char *out, size_t outlen)
{
	for (;;) {
		char *eol = memchr(buf + bpos, '\n', blen - bpos);
		if (eol) {
			size_t n = (size_t)(eol - (buf + bpos));
			size_t c = n < outlen - 1 ? n : outlen - 1;
			memcpy(out, buf + bpos, c);
			while (c && (out[c - 1] == '\r'))
				c--;
			out[c] = 0;
			bpos += n + 1;
			return;
		}
		fill();
	}
}

static void expect_ok(const char *what)
{
	char line[1024];
	read_line(line, sizeof line);
	if (strncmp(line, "+OK", 3) != 0)
		fail(1, "%s: %s", what, line);
}

/* Reads a multi-line body up to and including the "." line; returns its
 * size in bytes (the CRLF before the dot line included, the dot line not). */
static size_t read_body(void)
{
	size_t n = 0;
	/* The status line's CRLF counts as the line start before the body. */
	for (;;) {
		if (blen - bpos >= 3 && memcmp(buf + bpos, ".\r\n", 3) == 0) {
			bpos += 3;
			return 0;
		}
		if (blen - bpos >= 3)
			break;
		fill();
	}
	for (;;) {
		char *p = memmem(buf + bpos, blen - bpos, "\r\n.\r\n", 5);
		if (p) {
			size_t k = (size_t)(p - (buf + bpos)) + 2;
			n += k;
			bpos += k + 3;
			return n;
		}
		/* keep the last 4 bytes: they may start the terminator */
		if (blen - bpos > 4) {
			size_t k = blen - bpos - 4;
			n += k;
			bpos += k;
		}
		fill();
	}
}

int main(int argc, char **argv)
{
	const char *user = "rcpt@bench.test", *pass = "benchpass";
	int window = 1, c;
	long max = -1;
	while ((c = getopt(argc, argv, "u:p:w:n:")) != -1) {
		switch (c) {
		case 'u':
			user = optarg;
			break;
		case 'p':
			pass = optarg;
			break;
		case 'w':
			window = atoi(optarg);
			break;
		case 'n':
			max = atol(optarg);
			break;
		default:
			fail(2,
			     "usage: pop3_load [-u user] [-p pass] [-w window] [-n max] HOST:PORT");
		}
	}
	if (optind != argc - 1 || window < 1)
		fail(2, "usage: pop3_load [-u user] [-p pass] [-w window] [-n max] HOST:PORT");
	char host[256];
	snprintf(host, sizeof host, "%s", argv[optind]);
	char *colon = strrchr(host, ':');
	if (!colon)
		fail(2, "need HOST:PORT");
	*colon = 0;
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons((uint16_t)atoi(colon + 1))};
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
		fail(2, "bad IPv4 address %s", host);
	buf = malloc(bufcap);
	if (!buf)
		fail(2, "out of memory");

	double t0 = now();
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
		fail(2, "connect %s: %s", argv[optind], strerror(errno));
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	expect_ok("greeting");
	sendf("USER %s\r\n", user);
	expect_ok("USER");
	sendf("PASS %s\r\n", pass);
	expect_ok("PASS");
	sendf("STAT\r\n");
	char line[1024];
	read_line(line, sizeof line);
	long count = 0, octets = 0;
	if (sscanf(line, "+OK %ld %ld", &count, &octets) != 2)
		fail(1, "STAT: %s", line);
	double t_login = now();
	if (max >= 0 && max < count)
		count = max;

	double t1 = now();
	long sent = 0, got = 0;
	size_t bytes = 0;
	while (sent < count && sent < window)
		sendf("RETR %ld\r\n", ++sent);
	while (got < count) {
		read_line(line, sizeof line);
		if (strncmp(line, "+OK", 3) != 0)
			fail(1, "RETR %ld: %s", got + 1, line);
		if (sent < count) /* refill the window before reading the body */
			sendf("RETR %ld\r\n", ++sent);
		bytes += read_body();
		got++;
	}
	double t2 = now();
	sendf("QUIT\r\n");
	expect_ok("QUIT");
	close(fd);
	double secs = t2 - t1;
	if (secs <= 0)
		secs = 1e-9;
	printf("{\"messages\":%ld,\"bytes\":%zu,\"stat_octets\":%ld,\"window\":%d,\"seconds\":%.4f,"
	       "\"mb_per_s\":%.2f,\"msgs_per_s\":%.1f,\"login_ms\":%.2f}\n",
	       got, bytes, octets, window, secs, bytes / secs / 1e6, got / secs,
	       (t_login - t0) * 1000);
	return 0;
}
