/* smtp_load: an SMTP acceptance load generator for tern's benchmarks.
 *
 * One thread, non-blocking sockets, epoll. S sessions each open a
 * connection, EHLO, then send messages back to back on it (MAIL, RCPT,
 * DATA; pipelined in one write when the server advertises PIPELINING),
 * until N messages have been accepted in total or the time limit passes.
 * Every message is unique (a counter in Message-ID and Subject; with the
 * default -B text the body also starts at another line of a pool of
 * English-like word lines) so a
 * content-addressed store cannot deduplicate them, and is exactly -l bytes
 * long (headers + body, before the terminating ".\r\n").
 *
 * Prints one JSON object on stdout:
 *   {"accepted":N,"failed":F,"seconds":T,"msgs_per_s":..,"mb_per_s":..,
 *    "lat_p50_ms":..,"lat_p99_ms":..,...}
 * where seconds runs from the first connect() to the last 250 after DATA,
 * MB = 10^6 bytes of message data, and latency is end-of-data -> 250.
 *
 * -M FILE sends pre-built messages instead (mailauth_bench.py's pool of
 * DKIM-signed messages, so that signing is not in the loop): FILE holds
 * messages in their wire form (CRLF lines, dot-stuffed), each ending with
 * the ".\r\n" line. Message k is pool entry k mod N with one unsigned
 * header line "X-Bench-Seq: <k>" in front, which keeps every message
 * unique without breaking its signature; -l is then the pool's size.
 *
 * Exit status: 0 if every message was accepted, 1 if some failed (the JSON
 * is still printed), 2 on usage or setup errors.
 *
 * Not part of the test suite: built by bench/build.sh, run by bench/run.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum state {
	ST_CONNECTING,
	ST_GREETING,
	ST_EHLO,
	ST_MAIL, /* waiting for the reply to MAIL */
	ST_RCPT, /* waiting for the reply to RCPT */
	ST_DATA, /* waiting for 354 */
	ST_BODY, /* writing the message */
	ST_DOT,  /* waiting for the 250 after end of data */
	ST_RSET, /* waiting for the reply to RSET after a failure */
	ST_QUIT, /* waiting for 221 */
	ST_CLOSED,
};

struct sess {
	int fd;
	int idx;
	enum state st;
	int pipelining;
	int msgs_on_conn;
	int failed_txn; /* a reply in this transaction was not what we wanted */
	/* output */
	char *out;
	size_t outlen, outoff, outcap;
	int out_is_msg; /* out points at a message buffer we own */
	/* input */
	char in[8192];
	size_t inlen;
	char first[256]; /* first line of the reply being read */
	int first_set, has_pipe;
	uint64_t msg_no;
	double t_dot;
};

static struct {
	struct sockaddr_in addr;
	int sessions;
	long total;
	double max_seconds;
	size_t size;
	const char *from, *rcpt, *helo;
	int use_pipelining;
	int per_conn; /* messages per connection, 0 = unlimited */
	int verbose;
	const char *label;
	int random_body;      /* -B random: random alphanumerics (worst case for a text index) */
	const char *msg_pool; /* -M FILE: pre-built (signed) messages */
} opt = {
    .sessions = 1,
    .total = 1000,
    .max_seconds = 60,
    .size = 4096,
    .from = "sender@bench.example",
    .rcpt = "rcpt@bench.test",
    .helo = "loadgen.bench.example",
    .use_pipelining = 1,
    .per_conn = 0,
    .label = "",
};

static int epfd;
static long started, accepted, failed, conn_errors, protocol_errors;
static double t_start, t_last_accept, deadline;
static double *lat;
static size_t nlat;
static char *body; /* the static part of every message (-B random) */
static char *pool; /* -B text: word lines, each message's body starts at another line */
static size_t pool_len, *pool_lines, pool_nlines;
static size_t hdrlen; /* fixed length of the per-message header */
static int open_sessions;
static int stopping;
static char errsample[512];
/* -M: the pre-built messages, each with its terminating ".\r\n" */
static char *mpool;
static size_t *mpool_off, *mpool_len, mpool_n;
#define SEQ_HDR_LEN 27 /* "X-Bench-Seq: %012llu\r\n" */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "smtp_load: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static void note_error(struct sess *s, const char *what, const char *reply)
{
	if (!errsample[0])
		snprintf(errsample, sizeof errsample, "session %d state %d: %s: %.200s", s->idx,
		         s->st, what, reply ? reply : "");
	if (opt.verbose)
		fprintf(stderr, "smtp_load: session %d: %s: %s\n", s->idx, what,
		        reply ? reply : "");
}

static void sess_connect(struct sess *s);

static void sess_close(struct sess *s)
{
	if (s->fd >= 0) {
		epoll_ctl(epfd, EPOLL_CTL_DEL, s->fd, NULL);
		close(s->fd);
		s->fd = -1;
	}
	if (s->out_is_msg)
		free(s->out);
	s->out = NULL;
	s->out_is_msg = 0;
	s->outlen = s->outoff = s->outcap = 0;
	s->inlen = 0;
	s->st = ST_CLOSED;
	open_sessions--;
}

static void want(struct sess *s, uint32_t ev)
{
	struct epoll_event e = {.events = ev, .data.ptr = s};
	epoll_ctl(epfd, EPOLL_CTL_MOD, s->fd, &e);
}

/* Queue a small command (copied into the session's command buffer). */
static void queue_cmd(struct sess *s, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (s->out_is_msg) {
		free(s->out);
		s->out = NULL;
		s->out_is_msg = 0;
		s->outcap = 0;
	}
	if (s->outoff == s->outlen)
		s->outoff = s->outlen = 0;
	if (s->outlen + n > s->outcap) {
		s->outcap = (s->outlen + n) * 2 + 256;
		s->out = realloc(s->out, s->outcap);
		if (!s->out)
			die("out of memory");
	}
	memcpy(s->out + s->outlen, tmp, n);
	s->outlen += n;
}

/* Try to write what is queued; returns -1 if the connection broke. */
static int flush_out(struct sess *s)
{
	while (s->outoff < s->outlen) {
		ssize_t w = send(s->fd, s->out + s->outoff, s->outlen - s->outoff, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				want(s, EPOLLIN | EPOLLOUT);
				return 0;
			}
			if (errno == EINTR)
				continue;
			return -1;
		}
		s->outoff += (size_t)w;
	}
	want(s, EPOLLIN);
	return 0;
}

static void build_pooled_message(struct sess *s)
{
	size_t k = (size_t)(s->msg_no % mpool_n);
	size_t total = SEQ_HDR_LEN + mpool_len[k];
	char *m = malloc(total + 1);
	if (!m)
		die("out of memory");
	snprintf(m, SEQ_HDR_LEN + 1, "X-Bench-Seq: %012llu\r\n", (unsigned long long)s->msg_no);
	memcpy(m + SEQ_HDR_LEN, mpool + mpool_off[k], mpool_len[k]);
	if (s->out_is_msg)
		free(s->out);
	s->out = m;
	s->out_is_msg = 1;
	s->outlen = total;
	s->outoff = 0;
	s->outcap = total;
}

/* Reads -M FILE and splits it after every "\r\n.\r\n". */
static void load_msg_pool(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		die("%s: %s", path, strerror(errno));
	size_t cap = 1 << 20, len = 0;
	mpool = malloc(cap);
	for (;;) {
		if (len == cap && !(mpool = realloc(mpool, cap *= 2)))
			die("out of memory");
		size_t r = fread(mpool + len, 1, cap - len, f);
		if (r == 0)
			break;
		len += r;
	}
	fclose(f);
	size_t n = 0, start = 0;
	for (size_t i = 0; i + 5 <= len; i++)
		if (memcmp(mpool + i, "\r\n.\r\n", 5) == 0)
			n++;
	mpool_off = calloc(n ? n : 1, sizeof *mpool_off);
	mpool_len = calloc(n ? n : 1, sizeof *mpool_len);
	if (!mpool_off || !mpool_len)
		die("out of memory");
	for (size_t i = 0; i + 5 <= len; i++)
		if (memcmp(mpool + i, "\r\n.\r\n", 5) == 0) {
			mpool_off[mpool_n] = start;
			mpool_len[mpool_n++] = i + 5 - start;
			start = i + 5;
			i += 4;
		}
	if (mpool_n == 0)
		die("%s: no message ending with CRLF.CRLF", path);
	/* -l: the wire size of a message without the final ".\r\n" */
	opt.size = SEQ_HDR_LEN + mpool_len[0] - 3;
}

static void build_message(struct sess *s)
{
	if (mpool) {
		build_pooled_message(s);
		return;
	}
	size_t total = opt.size + 3;
	char *m = malloc(total);
	if (!m)
		die("out of memory");
	int n = snprintf(m, hdrlen + 1,
	                 "From: <%s>\r\nTo: <%s>\r\nSubject: bench %012llu\r\n"
	                 "Message-ID: <%012llu.%s>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\n",
	                 opt.from, opt.rcpt, (unsigned long long)s->msg_no,
	                 (unsigned long long)s->msg_no, opt.helo);
	if ((size_t)n != hdrlen)
		die("internal: header length %d != %zu", n, hdrlen);
	size_t blen = opt.size - hdrlen;
	if (pool) {
		/* a different line of the pool for every message, so bodies differ */
		size_t li = (size_t)((s->msg_no * 7919u) % pool_nlines);
		memcpy(m + hdrlen, pool + pool_lines[li], blen);
		m[hdrlen + blen - 2] = '\r';
		m[hdrlen + blen - 1] = '\n';
		if (blen >= 3 && m[hdrlen + blen - 3] == '\r')
			m[hdrlen + blen - 3] = 'x';
	} else {
		memcpy(m + hdrlen, body, blen);
	}
	memcpy(m + opt.size, ".\r\n", 3);
	if (s->out_is_msg)
		free(s->out);
	s->out = m;
	s->out_is_msg = 1;
	s->outlen = total;
	s->outoff = 0;
	s->outcap = total;
}

/* Start the next transaction on an idle, greeted session, or finish. */
static void next_txn(struct sess *s)
{
	double t = now();
	int reconnect = opt.per_conn > 0 && s->msgs_on_conn >= opt.per_conn;
	if (stopping || started >= opt.total || t >= deadline) {
		stopping = stopping || t >= deadline;
		queue_cmd(s, "QUIT\r\n");
		s->st = ST_QUIT;
		if (flush_out(s) < 0)
			sess_close(s);
		return;
	}
	if (reconnect) {
		queue_cmd(s, "QUIT\r\n");
		flush_out(s);
		sess_close(s);
		open_sessions++;
		sess_connect(s);
		return;
	}
	s->msg_no = (uint64_t)started++;
	s->failed_txn = 0;
	s->msgs_on_conn++;
	queue_cmd(s, "MAIL FROM:<%s>\r\n", opt.from);
	if (s->pipelining) {
		queue_cmd(s, "RCPT TO:<%s>\r\n", opt.rcpt);
		queue_cmd(s, "DATA\r\n");
	}
	s->st = ST_MAIL;
	if (flush_out(s) < 0) {
		conn_errors++;
		failed++;
		note_error(s, "write failed", strerror(errno));
		sess_close(s);
	}
}

static void txn_failed(struct sess *s, const char *what, const char *reply)
{
	protocol_errors++;
	note_error(s, what, reply);
	if (!s->failed_txn) {
		s->failed_txn = 1;
		failed++;
	}
}

/* One complete reply (possibly multi-line; line = its last line). */
static void on_reply(struct sess *s, int code, const char *first, int multi_has_pipelining)
{
	switch (s->st) {
	case ST_GREETING:
		if (code != 220) {
			conn_errors++;
			note_error(s, "greeting", first);
			sess_close(s);
			return;
		}
		queue_cmd(s, "EHLO %s\r\n", opt.helo);
		s->st = ST_EHLO;
		if (flush_out(s) < 0)
			sess_close(s);
		return;
	case ST_EHLO:
		if (code != 250) {
			conn_errors++;
			note_error(s, "EHLO", first);
			sess_close(s);
			return;
		}
		s->pipelining = opt.use_pipelining && multi_has_pipelining;
		next_txn(s);
		return;
	case ST_MAIL:
		if (code != 250)
			txn_failed(s, "MAIL", first);
		if (!s->pipelining) {
			if (s->failed_txn) {
				next_txn(s);
				return;
			}
			queue_cmd(s, "RCPT TO:<%s>\r\n", opt.rcpt);
			if (flush_out(s) < 0) {
				sess_close(s);
				return;
			}
		}
		s->st = ST_RCPT;
		return;
	case ST_RCPT:
		if (code != 250 && code != 251)
			txn_failed(s, "RCPT", first);
		if (!s->pipelining) {
			if (s->failed_txn) {
				queue_cmd(s, "RSET\r\n");
				s->st = ST_RSET;
				if (flush_out(s) < 0)
					sess_close(s);
				return;
			}
			queue_cmd(s, "DATA\r\n");
			if (flush_out(s) < 0) {
				sess_close(s);
				return;
			}
		}
		s->st = ST_DATA;
		return;
	case ST_DATA:
		if (code != 354) {
			/* A pipelined DATA after a failed RCPT is refused (554/503): fine,
			 * the failure was counted already. */
			if (!s->failed_txn)
				txn_failed(s, "DATA", first);
			next_txn(s);
			return;
		}
		if (s->failed_txn) {
			/* Some server accepted DATA anyway: send an empty message and
			 * let the 250/5xx fall through as a failed transaction. */
			queue_cmd(s, ".\r\n");
			s->st = ST_DOT;
			s->t_dot = now();
			if (flush_out(s) < 0)
				sess_close(s);
			return;
		}
		build_message(s);
		s->st = ST_BODY;
		s->t_dot = 0;
		if (flush_out(s) < 0) {
			conn_errors++;
			failed++;
			note_error(s, "write failed during DATA", strerror(errno));
			sess_close(s);
			return;
		}
		if (s->outoff == s->outlen) {
			s->st = ST_DOT;
			s->t_dot = now();
		}
		return;
	case ST_BODY:
		/* A reply before the body was written: the server gave up. */
		txn_failed(s, "reply during DATA", first);
		sess_close(s);
		return;
	case ST_DOT:
		if (code == 250 && !s->failed_txn) {
			double t = now();
			accepted++;
			t_last_accept = t;
			lat[nlat++] = t - s->t_dot;
		} else if (!s->failed_txn) {
			txn_failed(s, "end of data", first);
		}
		next_txn(s);
		return;
	case ST_RSET:
		next_txn(s);
		return;
	case ST_QUIT:
		sess_close(s);
		return;
	default:
		note_error(s, "unexpected reply", first);
		sess_close(s);
		return;
	}
}

/* Parse complete replies out of s->in. */
static void parse_input(struct sess *s)
{
	size_t pos = 0;
	char *first = s->first;
	for (;;) {
		if (s->st == ST_CLOSED || s->st == ST_CONNECTING)
			return; /* closed or reconnected: the old input is gone */
		char *eol = memchr(s->in + pos, '\n', s->inlen - pos);
		if (!eol)
			break;
		size_t linelen = (size_t)(eol - (s->in + pos)) + 1;
		char *line = s->in + pos;
		if (!s->first_set) {
			size_t n = linelen < sizeof s->first - 1 ? linelen : sizeof s->first - 1;
			memcpy(first, line, n);
			while (n && (first[n - 1] == '\n' || first[n - 1] == '\r'))
				n--;
			first[n] = 0;
			s->first_set = 1;
			s->has_pipe = 0;
		}
		if (linelen >= 14 && strncasecmp(line + 4, "PIPELINING", 10) == 0)
			s->has_pipe = 1;
		pos += linelen;
		if (linelen >= 4 && line[3] == '-')
			continue; /* continuation */
		int code = linelen >= 3 ? atoi(line) : 0;
		s->first_set = 0;
		on_reply(s, code, first, s->has_pipe);
	}
	if (s->st == ST_CLOSED || s->st == ST_CONNECTING)
		return;
	if (pos) {
		memmove(s->in, s->in + pos, s->inlen - pos);
		s->inlen -= pos;
	}
	if (s->inlen == sizeof s->in) {
		note_error(s, "reply line too long", NULL);
		sess_close(s);
	}
}

static void sess_connect(struct sess *s)
{
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		die("socket: %s", strerror(errno));
	int one = 1;
	setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	s->st = ST_CONNECTING;
	s->inlen = 0;
	s->msgs_on_conn = 0;
	s->pipelining = 0;
	int rc = connect(s->fd, (struct sockaddr *)&opt.addr, sizeof opt.addr);
	if (rc < 0 && errno != EINPROGRESS)
		die("connect: %s", strerror(errno));
	struct epoll_event e = {.events = EPOLLOUT | EPOLLIN, .data.ptr = s};
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, s->fd, &e) < 0)
		die("epoll_ctl: %s", strerror(errno));
}

static void on_event(struct sess *s, uint32_t ev)
{
	if (s->st == ST_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof err;
		getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			conn_errors++;
			note_error(s, "connect", strerror(err));
			sess_close(s);
			return;
		}
		s->st = ST_GREETING;
		want(s, EPOLLIN);
	}
	if (ev & EPOLLOUT) {
		if (flush_out(s) < 0) {
			conn_errors++;
			if (s->st == ST_BODY || s->st == ST_DOT)
				failed++;
			note_error(s, "write", strerror(errno));
			sess_close(s);
			return;
		}
		if (s->st == ST_BODY && s->outoff == s->outlen) {
			s->st = ST_DOT;
			s->t_dot = now();
		}
	}
	if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		for (;;) {
			ssize_t r = recv(s->fd, s->in + s->inlen, sizeof s->in - s->inlen, 0);
			if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				if (s->st != ST_QUIT) {
					conn_errors++;
					if (s->st >= ST_MAIL && s->st <= ST_DOT && !s->failed_txn)
						failed++;
					note_error(s, "connection closed by server",
					           r < 0 ? strerror(errno) : "EOF");
				}
				sess_close(s);
				return;
			}
			s->inlen += (size_t)r;
			parse_input(s);
			if (s->st == ST_CLOSED || s->st == ST_CONNECTING)
				return;
		}
	}
}

/* -B text (the default): English-like text, lines of words up to 76
 * characters, from a vocabulary of common words, so that a server that
 * indexes message text (tern's FTS5 trigram index) sees realistic text
 * rather than random characters (every trigram new: the worst case). */
static void build_pool(size_t blen)
{
	static const char *const words[] = {
	    "the",        "of",        "and",      "to",        "a",        "in",
	    "is",         "it",        "you",      "that",      "he",       "was",
	    "for",        "on",        "are",      "with",      "as",       "I",
	    "his",        "they",      "be",       "at",        "one",      "have",
	    "this",       "from",      "or",       "had",       "by",       "hot",
	    "word",       "but",       "what",     "some",      "we",       "can",
	    "out",        "other",     "were",     "all",       "there",    "when",
	    "up",         "use",       "your",     "how",       "said",     "an",
	    "each",       "she",       "which",    "do",        "their",    "time",
	    "if",         "will",      "way",      "about",     "many",     "then",
	    "them",       "write",     "would",    "like",      "so",       "these",
	    "her",        "long",      "make",     "thing",     "see",      "him",
	    "two",        "has",       "look",     "more",      "day",      "could",
	    "go",         "come",      "did",      "number",    "sound",    "no",
	    "most",       "people",    "my",       "over",      "know",     "water",
	    "than",       "call",      "first",    "who",       "may",      "down",
	    "side",       "been",      "now",      "find",      "meeting",  "report",
	    "project",    "schedule",  "attached", "please",    "review",   "thanks",
	    "regards",    "invoice",   "budget",   "customer",  "server",   "release",
	    "deadline",   "tomorrow",  "Monday",   "Friday",    "question", "answer",
	    "update",     "document",  "version",  "change",    "team",     "office",
	    "account",    "payment",   "order",    "delivery",  "address",  "information",
	    "following",  "important", "message",  "discussed", "agreed",   "proposal",
	    "contract",   "quarter",   "results",  "numbers",   "figures",  "morning",
	    "afternoon",  "weekend",   "holiday",  "travel",    "hotel",    "flight",
	    "conference",
	};
	const size_t nw = sizeof words / sizeof words[0];
	size_t target = ((size_t)4 << 20) + blen + 256;
	pool = malloc(target + 128);
	size_t cap_lines = target / 20 + 16;
	pool_lines = malloc(cap_lines * sizeof *pool_lines);
	if (!pool || !pool_lines)
		die("out of memory");
	uint32_t rnd = 4242;
	size_t n = 0, nl = 0;
	while (n < target) {
		pool_lines[nl++] = n;
		size_t col = 0;
		for (;;) {
			rnd = rnd * 1103515245u + 12345u;
			const char *w = words[(rnd >> 16) % nw];
			size_t wl = strlen(w);
			if (col + wl + 1 > 76)
				break;
			if (col)
				pool[n + col++] = ' ';
			memcpy(pool + n + col, w, wl);
			col += wl;
			if (((rnd >> 8) & 15) == 0 && col < 75)
				pool[n + col++] = '.';
		}
		pool[n + col++] = '\r';
		pool[n + col++] = '\n';
		n += col;
	}
	pool_len = n;
	/* usable start lines: those with at least blen bytes after them */
	while (nl > 0 && pool_lines[nl - 1] + blen > pool_len)
		nl--;
	pool_nlines = nl;
	if (pool_nlines == 0)
		die("internal: text pool too small");
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: smtp_load [-s sessions] [-n messages] [-t max_seconds] [-l size]\n"
	        "                 [-f from] [-r rcpt] [-H helo] [-R msgs_per_conn] [-P] [-v]\n"
	        "                 [-L label] [-B text|random] [-M pool] HOST:PORT\n"
	        "  -M  send pre-built messages from this file (each ends with \".\\r\\n\")\n"
	        "  -B  body: English-like word lines (default), or random alphanumerics\n"
	        "  -P  do not pipeline MAIL/RCPT/DATA even if PIPELINING is offered\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int c;
	while ((c = getopt(argc, argv, "s:n:t:l:f:r:H:R:PvL:B:M:")) != -1) {
		switch (c) {
		case 's':
			opt.sessions = atoi(optarg);
			break;
		case 'n':
			opt.total = atol(optarg);
			break;
		case 't':
			opt.max_seconds = atof(optarg);
			break;
		case 'l':
			opt.size = (size_t)atol(optarg);
			break;
		case 'f':
			opt.from = optarg;
			break;
		case 'r':
			opt.rcpt = optarg;
			break;
		case 'H':
			opt.helo = optarg;
			break;
		case 'R':
			opt.per_conn = atoi(optarg);
			break;
		case 'P':
			opt.use_pipelining = 0;
			break;
		case 'v':
			opt.verbose = 1;
			break;
		case 'L':
			opt.label = optarg;
			break;
		case 'M':
			opt.msg_pool = optarg;
			break;
		case 'B':
			if (strcmp(optarg, "random") == 0)
				opt.random_body = 1;
			else if (strcmp(optarg, "text") == 0)
				opt.random_body = 0;
			else
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1 || opt.sessions < 1 || opt.total < 1)
		usage();
	char host[256];
	snprintf(host, sizeof host, "%s", argv[optind]);
	char *colon = strrchr(host, ':');
	if (!colon)
		usage();
	*colon = 0;
	opt.addr.sin_family = AF_INET;
	opt.addr.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &opt.addr.sin_addr) != 1)
		die("bad IPv4 address %s", host);

	if (opt.msg_pool)
		load_msg_pool(opt.msg_pool);
	/* The per-message header has a fixed length; the body fills the rest
	 * with 78-byte lines (76 characters + CRLF), none starting with '.'. */
	hdrlen = (size_t)snprintf(
	    NULL, 0,
	    "From: <%s>\r\nTo: <%s>\r\nSubject: bench %012llu\r\n"
	    "Message-ID: <%012llu.%s>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\n",
	    opt.from, opt.rcpt, 0ULL, 0ULL, opt.helo);
	if (opt.size < hdrlen + 2)
		die("message size %zu is smaller than the header (%zu)", opt.size, hdrlen + 2);
	size_t blen = opt.size - hdrlen;
	body = malloc(blen);
	if (!body)
		die("out of memory");
	if (!opt.random_body)
		build_pool(blen);
	static const char alpha[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	uint32_t rnd = 12345;
	for (size_t i = 0; i < blen;) {
		size_t rem = blen - i;
		size_t len = rem > 160 ? 78 : rem > 80 ? rem / 2 : rem; /* every line >= 2 */
		for (size_t k = 0; k + 2 < len; k++) {
			rnd = rnd * 1103515245u + 12345u;
			body[i + k] = (k % 8 == 7) ? ' ' : alpha[(rnd >> 16) % 62];
		}
		body[i + len - 2] = '\r';
		body[i + len - 1] = '\n';
		i += len;
	}

	lat = calloc((size_t)opt.total, sizeof *lat);
	struct sess *ss = calloc((size_t)opt.sessions, sizeof *ss);
	if (!lat || !ss)
		die("out of memory");
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die("epoll_create1: %s", strerror(errno));

	t_start = now();
	deadline = t_start + opt.max_seconds;
	t_last_accept = t_start;
	for (int i = 0; i < opt.sessions; i++) {
		ss[i].idx = i;
		ss[i].fd = -1;
		open_sessions++;
		sess_connect(&ss[i]);
	}
	struct epoll_event evs[256];
	while (open_sessions > 0) {
		double left = deadline + 10 - now(); /* grace for QUIT/last replies */
		if (left <= 0)
			break;
		int n = epoll_wait(epfd, evs, 256, (int)(left * 1000) + 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait: %s", strerror(errno));
		}
		for (int i = 0; i < n; i++) {
			struct sess *s = evs[i].data.ptr;
			if (s->st != ST_CLOSED)
				on_event(s, evs[i].events);
		}
		/* Sessions that died can't retry forever against a dead server:
		 * stop once there are many connection errors. */
		if (conn_errors > 50 + opt.sessions * 2)
			stopping = 1;
	}
	double secs = t_last_accept - t_start;
	if (secs <= 0)
		secs = now() - t_start;
	qsort(lat, nlat, sizeof *lat, cmp_double);
	double p50 = nlat ? lat[nlat / 2] * 1000 : 0;
	double p99 = nlat ? lat[(size_t)((nlat - 1) * 0.99)] * 1000 : 0;
	double mps = accepted / secs;
	long unfinished = started - accepted - failed;
	printf("{\"label\":\"%s\",\"sessions\":%d,\"size\":%zu,\"requested\":%ld,\"started\":%ld,"
	       "\"accepted\":%ld,\"failed\":%ld,\"unfinished\":%ld,\"conn_errors\":%ld,"
	       "\"protocol_errors\":%ld,\"seconds\":%.4f,\"msgs_per_s\":%.1f,\"mb_per_s\":%.2f,"
	       "\"lat_p50_ms\":%.3f,\"lat_p99_ms\":%.3f,\"pipelining\":%d,\"timed_out\":%s,"
	       "\"first_error\":\"",
	       opt.label, opt.sessions, opt.size, opt.total, started, accepted, failed, unfinished,
	       conn_errors, protocol_errors, secs, mps, mps * (double)opt.size / 1e6, p50, p99,
	       opt.use_pipelining, stopping ? "true" : "false");
	for (const char *p = errsample; *p; p++) {
		if (*p == '"' || *p == '\\')
			putchar('\\');
		if ((unsigned char)*p >= 0x20)
			putchar(*p);
	}
	printf("\"}\n");
	return (accepted == opt.total) ? 0 : 1;
}
