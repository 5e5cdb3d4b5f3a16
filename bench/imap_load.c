/* imap_load: an IMAP load generator for tern's benchmarks, run against tern
 * and Dovecot alike so that both are measured with the same client.
 *
 * Why in C: the IMAP issue compares commands/s, and a Python client would
 * be slower than the servers it measures on this 2-core machine (see the
 * SMTP notes in bench/README.md); it also holds 10,000 idle connections in
 * a few MB. One thread, non-blocking sockets, epoll.
 *
 *   imap_load mix     [opts] HOST:PORT   N clients: LOGIN, SELECT INBOX, then a
 *                                        command mix for -t seconds
 *   imap_load latency [opts] HOST:PORT   SELECT, UID FETCH 1:* (FLAGS) and
 *                                        UID SEARCH BODY <word>, -r times
 *   imap_load idle    [opts] HOST:PORT   -c connections: LOGIN, SELECT, IDLE;
 *                                        then wait for a line on stdin
 *   imap_load stress  [opts] HOST:PORT   N clients, usually on one mailbox,
 *                                        each cycling for -t seconds: LOGIN,
 *                                        SELECT, FETCH (UID FLAGS), FETCH
 *                                        (ENVELOPE), FETCH (BODY.PEEK[]),
 *                                        STORE +/-FLAGS (\Seen), STORE
 *                                        +/-FLAGS ($Stress), APPEND, STORE
 *                                        \Deleted beyond -b, EXPUNGE, LOGOUT
 *                                        (10 counted commands per login)
 *
 * Options:
 *   -u USER   login name; "%d" in it is replaced by the account number
 *             (client index modulo -U), e.g. "user%d@bench.test"
 *   -U N      number of accounts for "%d" (default 1)
 *   -p PASS   password (default benchpass)
 *   -c N      clients (mix, default 10) / connections (idle, default 1000)
 *   -t SECS   mix: measured duration (default 10)
 *   -b N      mix: messages every mailbox keeps; the EXPUNGE step removes
 *             what APPEND added beyond N (default 0: the count at SELECT)
 *   -R N      mix: LOGOUT and log in again after N commands (default 0: never)
 *   -r N      latency: measured repetitions (default 5), each on a new
 *             connection (with -U, each logs in to the next account)
 *   -W N      latency: warm-up repetitions, not counted (default 1)
 *   -w WORD   latency: the SEARCH BODY word (default "quokkaberry")
 *   -o OPS    latency: which of s (SELECT), f (UID FETCH), b (SEARCH BODY)
 *   -S N      idle: spread connections over source addresses 127.0.0.2..N+1
 *   -P N      idle: connections being set up at once (default 100)
 *   -T SECS   setup time limit (default 600)
 *   -L LABEL  label for messages on stderr
 *
 * mix prints one JSON object: commands (tagged OK replies within the
 * window), failed (NO/BAD), commands_per_s, lat_p50_ms/lat_p99_ms and per
 * command kind count/p50/p99. latency prints select_ms, fetch_ms,
 * search_ms (lists and medians), exists, fetch_lines, search_hits. idle
 * prints {"event":"ready",...} when every connection is idling (or failed),
 * then reads stdin; on a line or EOF it sends DONE and LOGOUT, closes, and
 * prints the final object.
 *
 * stress prints what mix prints, plus its state checks: every FETCH and
 * EXPUNGE names a message 1..EXISTS as the client tracks it (EXISTS from
 * SELECT, grown by EXISTS, shrunk by each EXPUNGE), EXISTS never shrinks,
 * nothing arrives that the client did not ask for; violations, NO/BAD
 * replies and lost connections add up to protocol_errors. The FLAGS a
 * STORE reports are checked too, but counted apart (flag_mismatches):
 * another client may change the same message at the same moment.
 *
 * Exit status: 0 ok, 1 when commands failed or connections were lost,
 * 2 on usage/setup errors. Not part of the test suite: built by
 * bench/build.sh, run by bench/imap_bench.py.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

/* Keep in sync with imap_bench.py: the mailboxes' From: names and the
 * words every Subject: takes one of, so that the mix's header searches
 * find something. */
static const char *const from_names[] = {"alice", "bob",   "carol", "dave",
                                         "erin",  "frank", "grace", "heidi"};
static const char *const subject_words[] = {"report", "meeting", "budget",  "invoice",
                                            "travel", "review",  "release", "lunch"};
static const char *const body_words[] = {
    "the",      "of",     "and",    "to",       "in",      "is",      "that",   "for",
    "it",       "as",     "was",    "with",     "be",      "by",      "on",     "not",
    "this",     "are",    "at",     "from",     "have",    "which",   "one",    "you",
    "were",     "all",    "we",     "when",     "there",   "can",     "an",     "your",
    "schedule", "draft",  "please", "attached", "numbers", "quarter", "team",   "update",
    "customer", "server", "backup", "monday",   "friday",  "office",  "thanks", "regards"};
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

enum mode { M_MIX, M_LATENCY, M_IDLE, M_STRESS };

enum state {
	ST_CONNECTING,
	ST_GREETING,
	ST_LOGIN,
	ST_SELECT,
	ST_READY,  /* mix: selected, waiting for the start */
	ST_RUN,    /* mix: a command in flight */
	ST_APPEND, /* mix: synchronizing literal, waiting for "+" */
	ST_IDLE,   /* idle: IDLE sent, waiting for "+" */
	ST_IDLING, /* idle: idling */
	ST_DONE,   /* DONE sent, waiting for the IDLE's tagged reply */
	ST_LOGOUT, /* LOGOUT sent */
	ST_CLOSED,
};

/* Command kinds of the mix, with their weights (percent). */
enum kind {
	K_FETCH_FLAGS,
	K_FETCH_HDRS,
	K_STORE,
	K_SEARCH,
	K_APPEND,
	K_EXPUNGE, /* STORE +FLAGS.SILENT (\Deleted) on the appended ones, then EXPUNGE */
	K_NOOP,
	K_MARK, /* the STORE half of K_EXPUNGE */
	K_LOGIN,
	K_SELECT,
	K_FETCH_ENV,  /* stress */
	K_FETCH_BODY, /* stress */
	K_KEYWORD,    /* stress: STORE +/-FLAGS ($Stress) */
	NKINDS
};
static const char *const kind_names[NKINDS] = {
    "fetch_flags", "fetch_headers", "store",  "search",         "append",     "expunge", "noop",
    "mark",        "login",         "select", "fetch_envelope", "fetch_body", "keyword"};
static const int kind_weight[K_NOOP + 1] = {20, 20, 20, 15, 10, 5, 10};

struct conn {
	int fd;
	int idx;
	enum state st;
	int account;
	/* input: lines are scanned in place; literals are skipped unbuffered */
	char *in;
	size_t inlen, incap;
	size_t lit_left; /* literal bytes still to skip */
	int cont;        /* the next line continues a response (after a literal) */
	/* output */
	char *out;
	size_t outlen, outoff, outcap;
	char tag[16];
	unsigned tagno;
	enum kind kind;
	double t_sent;
	long exists, base;
	int literal_plus;
	int status; /* of the last tagged reply: 0 OK, 1 NO, 2 BAD */
	int tagged; /* a tagged reply for tag[] was seen */
	long cmds_on_conn;
	uint64_t rng;
	unsigned gen;  /* bumped when the connection closes: stale pointers stop */
	char *pending; /* synchronizing APPEND: the literal held back for the "+" */
	size_t pending_len;
	/* stress: the state checks */
	int selected;
	const char *want_flag; /* the flag the STORE in flight sets or clears */
	int want_set;
	long want_lo, want_hi; /* on these messages */
	/* latency mode counters */
	long fetch_lines, search_hits;
	size_t bytes;
};

static struct {
	enum mode mode;
	struct sockaddr_in addr;
	const char *user, *pass, *word, *ops, *label;
	int accounts, clients, reps, warmups, srcs, parallel, relogin;
	long base;
	double seconds, setup_timeout;
} opt = {
    .user = "rcpt@bench.test",
    .pass = "benchpass",
    .word = "quokkaberry",
    .ops = "sfb",
    .label = "",
    .accounts = 1,
    .clients = -1,
    .reps = 5,
    .warmups = 1,
    .parallel = 100,
    .seconds = 10,
    .setup_timeout = 600,
};

static int epfd;
static struct conn *conns;
static int nready, nfailed, nidling, nclosed, nsetup, next_conn;
static int running, stopping;
static double t_start, t_end;
static long ncmds, nfail_cmds, nlost;
static long nproto, nflag_mismatch; /* stress: state violations; FLAGS not as stored */
static long kind_count[NKINDS];
static double *lat[NKINDS];
static size_t nlat[NKINDS], caplat[NKINDS];
static char errsample[512];
static char *append_body;
static size_t append_body_len;

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
	fprintf(stderr, "imap_load%s%s: ", opt.label[0] ? " " : "", opt.label);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static void note_error(struct conn *c, const char *what, const char *line, size_t len)
{
	if (errsample[0])
		return;
	if (len > 200)
		len = 200;
	snprintf(errsample, sizeof errsample, "conn %d state %d: %s: %.*s", c->idx, c->st, what,
	         (int)len, line ? line : "");
	for (char *p = errsample; *p; p++)
		if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
			*p = '\'';
}

static uint64_t rnd(struct conn *c)
{
	/* xorshift64*: cheap, and every client gets its own sequence */
	uint64_t x = c->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	c->rng = x;
	return x * 2685821657736338717ull;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p)
		die("out of memory");
	return p;
}

static void add_lat(enum kind k, double secs)
{
	if (nlat[k] == caplat[k]) {
		caplat[k] = caplat[k] ? caplat[k] * 2 : 4096;
		lat[k] = xrealloc(lat[k], caplat[k] * sizeof(double));
	}
	lat[k][nlat[k]++] = secs;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof *v, cmp_double);
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i];
}

/* ---- output ---- */

static void out_add(struct conn *c, const char *s, size_t n)
{
	if (c->outoff == c->outlen)
		c->outoff = c->outlen = 0;
	if (c->outlen + n > c->outcap) {
		c->outcap = (c->outlen + n) * 2 + 64;
		c->out = xrealloc(c->out, c->outcap);
	}
	memcpy(c->out + c->outlen, s, n);
	c->outlen += n;
}

static void out_printf(struct conn *c, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof tmp)
		die("command too long");
	out_add(c, tmp, (size_t)n);
}

/* Starts a tagged command: "<tag> " goes out first. */
static void cmd_start(struct conn *c, enum kind k)
{
	snprintf(c->tag, sizeof c->tag, "a%u", ++c->tagno);
	c->kind = k;
	c->tagged = 0;
	c->t_sent = now();
	out_printf(c, "%s ", c->tag);
}

static void want(struct conn *c, uint32_t ev)
{
	struct epoll_event e = {.events = ev, .data.ptr = c};
	epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &e);
}

/* Writes what is queued; -1 if the connection broke. */
static int flush_out(struct conn *c)
{
	while (c->outoff < c->outlen) {
		ssize_t w = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (epfd >= 0)
					want(c, EPOLLIN | EPOLLOUT);
				return 0;
			}
			if (errno == EINTR)
				continue;
			return -1;
		}
		c->outoff += (size_t)w;
	}
	if (epfd >= 0 && c->outcap > 65536) {
		/* do not keep an APPEND-sized buffer per connection */
		free(c->out);
		c->out = NULL;
		c->outcap = c->outlen = c->outoff = 0;
	}
	return 0;
}

/* ---- input: one callback per response line that starts a response ---- */

static void on_line(struct conn *c, const char *line, size_t len);

/* Length of "{N}" / "{N+}" at the end of a line (without CRLF), or -1. */
static long literal_at_end(const char *line, size_t len)
{
	if (len < 3 || line[len - 1] != '}')
		return -1;
	size_t i = len - 1;
	if (i > 0 && line[i - 1] == '+')
		i--;
	size_t end = i;
	while (i > 0 && line[i - 1] >= '0' && line[i - 1] <= '9')
		i--;
	if (i == end || i == 0 || line[i - 1] != '{')
		return -1;
	return strtol(line + i, NULL, 10);
}

/* Consumes what can be consumed of c->in; keeps an incomplete line. */
static void scan_input(struct conn *c)
{
	size_t pos = 0;
	unsigned gen = c->gen;
	while (pos < c->inlen && c->gen == gen) {
		if (c->lit_left) {
			size_t k = c->inlen - pos < c->lit_left ? c->inlen - pos : c->lit_left;
			pos += k;
			c->bytes += k;
			c->lit_left -= k;
			continue;
		}
		char *nl = memchr(c->in + pos, '\n', c->inlen - pos);
		if (!nl)
			break;
		char *line = c->in + pos;
		size_t n = (size_t)(nl - line);
		pos += n + 1;
		c->bytes += n + 1;
		if (n && line[n - 1] == '\r')
			n--;
		int was_cont = c->cont;
		long lit = literal_at_end(line, n);
		c->cont = lit >= 0;
		if (lit > 0)
			c->lit_left = (size_t)lit;
		if (!was_cont)
			on_line(c, line, n);
	}
	if (c->gen != gen)
		return;
	if (pos < c->inlen)
		memmove(c->in, c->in + pos, c->inlen - pos);
	c->inlen -= pos;
}

/* Makes room for at least 4 KiB more input. */
static void in_reserve(struct conn *c)
{
	if (c->incap - c->inlen >= 4096)
		return;
	size_t cap = c->incap ? c->incap * 2 : 8192;
	if (cap > (64u << 20))
		die("response line longer than 64 MiB");
	c->in = xrealloc(c->in, cap);
	c->incap = cap;
}

/* ---- the response handlers ---- */

static long parse_long(const char *p, const char *end, const char **rest)
{
	long v = 0;
	while (p < end && *p >= '0' && *p <= '9')
		v = v * 10 + (*p++ - '0');
	*rest = p;
	return v;
}

static int starts(const char *line, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	return len >= n && strncasecmp(line, prefix, n) == 0;
}

static int has_literal_plus(const char *line, size_t len)
{
	return memmem(line, len, "LITERAL+", 8) != NULL;
}

/* Untagged responses the generator keeps track of. */
static void on_untagged(struct conn *c, const char *line, size_t len)
{
	const char *end = line + len, *p = line + 2;
	if (p < end && *p >= '0' && *p <= '9') {
		long n = parse_long(p, end, &p);
		if (starts(p, (size_t)(end - p), " EXISTS")) {
			if (opt.mode == M_STRESS && c->selected && n < c->exists) {
				nproto++;
				note_error(c, "EXISTS shrank", line, len);
			}
			c->exists = n;
		} else if (starts(p, (size_t)(end - p), " EXPUNGE")) {
			if (opt.mode == M_STRESS && (n < 1 || n > c->exists)) {
				nproto++;
				note_error(c, "EXPUNGE out of range", line, len);
			}
			c->exists--;
		} else if (starts(p, (size_t)(end - p), " FETCH")) {
			c->fetch_lines++;
			if (opt.mode == M_STRESS && (n < 1 || n > c->exists)) {
				nproto++;
				note_error(c, "FETCH out of range", line, len);
			}
			const char *f = memmem(line, len, "FLAGS (", 7);
			if (opt.mode == M_STRESS && c->want_flag && f && n >= c->want_lo &&
			    n <= c->want_hi) {
				const char *close = memchr(f, ')', (size_t)(end - f));
				size_t fl = strlen(c->want_flag);
				const char *q = f + 7;
				int has = 0;
				while (close && q + fl <= close) {
					if (strncasecmp(q, c->want_flag, fl) == 0 &&
					    (q + fl == close || q[fl] == ' '))
						has = 1;
					const char *sp = memchr(q, ' ', (size_t)(close - q));
					q = sp ? sp + 1 : close;
				}
				if (has != c->want_set)
					nflag_mismatch++;
			}
		}
		return;
	}
	if (starts(line, len, "* SEARCH") || starts(line, len, "* ESEARCH")) {
		for (p = line + 8; p < end; p++)
			if (*p == ' ' && p + 1 < end && p[1] >= '0' && p[1] <= '9')
				c->search_hits++;
		return;
	}
	if (has_literal_plus(line, len))
		c->literal_plus = 1;
}

static void conn_close(struct conn *c);
static void mix_next(struct conn *c);
static void idle_next_connect(void);

static void send_login(struct conn *c)
{
	char user[256];
	snprintf(user, sizeof user, opt.user, c->account);
	cmd_start(c, K_LOGIN);
	out_printf(c, "LOGIN \"%s\" \"%s\"\r\n", user, opt.pass);
	c->st = ST_LOGIN;
}

static void send_select(struct conn *c)
{
	cmd_start(c, K_SELECT);
	out_printf(c, "SELECT INBOX\r\n");
	c->st = ST_SELECT;
}

static void setup_failed(struct conn *c, const char *what, const char *line, size_t len)
{
	note_error(c, what, line, len);
	nfailed++;
	conn_close(c);
}

static void on_tagged(struct conn *c, const char *line, size_t len)
{
	const char *p = line + strlen(c->tag) + 1;
	size_t rest = len - strlen(c->tag) - 1;
	c->status = starts(p, rest, "OK") ? 0 : starts(p, rest, "NO") ? 1 : 2;
	c->tagged = 1;
	if (opt.mode == M_LATENCY)
		return;
	double t = now();
	switch (c->st) {
	case ST_LOGIN:
		if (c->status) {
			setup_failed(c, "LOGIN", line, len);
			break;
		}
		if (has_literal_plus(line, len))
			c->literal_plus = 1;
		if (running)
			add_lat(K_LOGIN, t - c->t_sent);
		send_select(c);
		if (flush_out(c) < 0)
			setup_failed(c, "write", NULL, 0);
		break;
	case ST_SELECT:
		if (c->status) {
			setup_failed(c, "SELECT", line, len);
			break;
		}
		if (opt.mode == M_IDLE) {
			cmd_start(c, K_NOOP);
			out_printf(c, "IDLE\r\n");
			c->st = ST_IDLE;
			if (flush_out(c) < 0)
				setup_failed(c, "write", NULL, 0);
			break;
		}
		c->selected = 1;
		if (opt.base == 0 && c->base == 0)
			c->base = c->exists;
		if (running) {
			/* a re-login within the measurement: LOGIN and SELECT count */
			if (t <= t_end) {
				ncmds += 2;
				kind_count[K_LOGIN]++;
				kind_count[K_SELECT]++;
				add_lat(K_SELECT, t - c->t_sent);
			}
			c->st = ST_RUN;
			mix_next(c);
		} else {
			c->st = ST_READY;
			nready++;
		}
		break;
	case ST_RUN:
		if (t <= t_end) {
			if (c->status == 0) {
				ncmds++;
				kind_count[c->kind]++;
				add_lat(c->kind, t - c->t_sent);
			} else {
				nfail_cmds++;
				note_error(c, kind_names[c->kind], line, len);
			}
		}
		c->cmds_on_conn++;
		mix_next(c);
		break;
	case ST_APPEND:
		/* the server refused the APPEND before the literal */
		nfail_cmds++;
		note_error(c, "APPEND", line, len);
		c->st = ST_RUN;
		mix_next(c);
		break;
	case ST_IDLE:
		setup_failed(c, "IDLE", line, len);
		break;
	case ST_IDLING:
		/* the server ended the IDLE: counted as lost when it closes */
		note_error(c, "IDLE ended", line, len);
		conn_close(c);
		break;
	case ST_DONE:
		cmd_start(c, K_NOOP);
		out_printf(c, "LOGOUT\r\n");
		c->st = ST_LOGOUT;
		if (flush_out(c) < 0)
			conn_close(c);
		break;
	case ST_LOGOUT:
		conn_close(c);
		break;
	default:
		break;
	}
}

static void on_line(struct conn *c, const char *line, size_t len)
{
	if (c->st == ST_GREETING) {
		if (!starts(line, len, "* OK")) {
			setup_failed(c, "greeting", line, len);
			return;
		}
		c->literal_plus = has_literal_plus(line, len);
		if (opt.mode == M_LATENCY) {
			c->st = ST_LOGIN;
			return;
		}
		send_login(c);
		if (flush_out(c) < 0)
			setup_failed(c, "write", NULL, 0);
		return;
	}
	if (starts(line, len, "* ")) {
		on_untagged(c, line, len);
		return;
	}
	if (line[0] == '+') {
		if (c->st == ST_IDLE) {
			c->st = ST_IDLING;
			nidling++;
			nsetup--;
			idle_next_connect();
		} else if (c->st == ST_APPEND) {
			out_add(c, c->pending, c->pending_len);
			out_add(c, "\r\n", 2);
			free(c->pending);
			c->pending = NULL;
			c->st = ST_RUN;
			if (flush_out(c) < 0)
				conn_close(c);
		}
		return;
	}
	size_t tl = strlen(c->tag);
	if (tl && len > tl && line[tl] == ' ' && memcmp(line, c->tag, tl) == 0) {
		on_tagged(c, line, len);
		return;
	}
	if (opt.mode == M_STRESS)
		nproto++;
	note_error(c, "unexpected line", line, len);
}

/* ---- connections ---- */

static int open_socket(int idx)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (epfd >= 0 ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (opt.srcs > 0) {
		/* 127.0.0.2, .3, ...: more than ~28,000 connections to one port
		 * would run out of ephemeral ports from a single address */
		struct sockaddr_in src = {.sin_family = AF_INET};
		src.sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)(idx % opt.srcs));
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
		if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0)
			die("bind 127.0.0.%d: %s", 2 + idx % opt.srcs, strerror(errno));
	}
	return fd;
}

static void conn_start(struct conn *c)
{
	c->fd = open_socket(c->idx);
	c->st = ST_CONNECTING;
	c->inlen = c->lit_left = 0;
	c->cont = 0;
	c->outlen = c->outoff = 0;
	c->tag[0] = 0;
	c->exists = 0;
	c->selected = 0;
	c->want_flag = NULL;
	c->cmds_on_conn = 0;
	struct epoll_event e = {.events = EPOLLOUT | EPOLLIN, .data.ptr = c};
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &e) < 0)
		die("epoll_ctl: %s", strerror(errno));
	nsetup++;
	if (connect(c->fd, (struct sockaddr *)&opt.addr, sizeof opt.addr) < 0 &&
	    errno != EINPROGRESS)
		setup_failed(c, "connect", strerror(errno), strlen(strerror(errno)));
}

static void conn_close(struct conn *c)
{
	if (c->st == ST_CLOSED)
		return;
	if (c->st == ST_IDLING || c->st == ST_DONE || c->st == ST_LOGOUT)
		nclosed++;
	else if (c->st != ST_READY && c->st != ST_RUN && c->st != ST_APPEND)
		nsetup--;
	if (c->fd >= 0) {
		if (epfd >= 0)
			epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
	c->st = ST_CLOSED;
	c->gen++;
	free(c->pending);
	c->pending = NULL;
	free(c->in);
	c->in = NULL;
	c->incap = c->inlen = 0;
	free(c->out);
	c->out = NULL;
	c->outcap = c->outlen = c->outoff = 0;
	if (opt.mode == M_IDLE && !stopping)
		idle_next_connect();
}

static void on_event(struct conn *c, uint32_t ev)
{
	if (c->st == ST_CONNECTING) {
		int err = 0;
		socklen_t l = sizeof err;
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
		if (err) {
			setup_failed(c, "connect", strerror(err), strlen(strerror(err)));
			return;
		}
		c->st = ST_GREETING;
		want(c, EPOLLIN);
	}
	if (ev & EPOLLOUT) {
		if (flush_out(c) < 0) {
			if (c->st == ST_RUN || c->st == ST_IDLING)
				nlost++;
			note_error(c, "write", strerror(errno), strlen(strerror(errno)));
			conn_close(c);
			return;
		}
		if (c->outoff == c->outlen)
			want(c, EPOLLIN);
	}
	if (!(ev & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	unsigned gen = c->gen;
	for (;;) {
		in_reserve(c);
		ssize_t r = recv(c->fd, c->in + c->inlen, c->incap - c->inlen, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (r <= 0) {
			if (c->st == ST_LOGOUT) {
				conn_close(c);
				return;
			}
			const char *why = r == 0 ? "closed by server" : strerror(errno);
			note_error(c, "read", why, strlen(why));
			if (c->st == ST_RUN || c->st == ST_APPEND || c->st == ST_READY ||
			    c->st == ST_IDLING || c->st == ST_DONE)
				nlost++;
			else
				nfailed++;
			conn_close(c);
			return;
		}
		c->inlen += (size_t)r;
		scan_input(c);
		if (c->gen != gen)
			return;
		if ((size_t)r < 4096)
			break;
	}
	if (opt.mode == M_IDLE && c->st == ST_IDLING && c->incap > 1024 && c->inlen == 0) {
		/* an idle connection keeps no read buffer */
		free(c->in);
		c->in = NULL;
		c->incap = 0;
	}
}

static void loop_once(int timeout_ms)
{
	struct epoll_event evs[256];
	int n = epoll_wait(epfd, evs, 256, timeout_ms);
	if (n < 0 && errno != EINTR)
		die("epoll_wait: %s", strerror(errno));
	for (int i = 0; i < n; i++) {
		if (evs[i].data.ptr == NULL)
			continue; /* stdin, handled by the caller */
		on_event(evs[i].data.ptr, evs[i].events);
	}
}

/* ---- mix ---- */

static void build_append_body(void)
{
	/* ~1.5 KiB of text; every APPEND gets its own header (tern's store is
	 * content-addressed: identical messages would be stored once) */
	size_t cap = 4096, len = 0;
	append_body = xrealloc(NULL, cap);
	uint64_t x = 88172645463325252ull;
	size_t col = 0;
	while (len < 1500) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		const char *w = body_words[x % NELEM(body_words)];
		size_t wl = strlen(w);
		if (col + wl + 1 > 72) {
			memcpy(append_body + len, "\r\n", 2);
			len += 2;
			col = 0;
		} else if (col) {
			append_body[len++] = ' ';
			col++;
		}
		memcpy(append_body + len, w, wl);
		len += wl;
		col += wl;
	}
	memcpy(append_body + len, "\r\n", 2);
	append_body_len = len + 2;
}

static void send_append(struct conn *c)
{
	static unsigned long long serial;
	char hdr[512];
	int hl =
	    snprintf(hdr, sizeof hdr,
	             "From: %s <%s@example.org>\r\nTo: <user%d@bench.test>\r\n"
	             "Subject: %s appended %d.%llu\r\n"
	             "Message-ID: <%d.%d.%llu@load.bench.example>\r\n"
	             "Date: Mon, 6 May 2024 10:00:00 +0000\r\n\r\n",
	             from_names[c->idx % NELEM(from_names)], from_names[c->idx % NELEM(from_names)],
	             c->account, subject_words[rnd(c) % NELEM(subject_words)], c->idx, serial,
	             (int)getpid(), c->idx, serial);
	serial++;
	size_t total = (size_t)hl + append_body_len;
	cmd_start(c, K_APPEND);
	out_printf(c, "APPEND INBOX (\\Seen) {%zu%s}\r\n", total, c->literal_plus ? "+" : "");
	if (!c->literal_plus) {
		/* synchronizing literal: the message goes after the "+" */
		free(c->pending);
		c->pending = xrealloc(NULL, total);
		memcpy(c->pending, hdr, (size_t)hl);
		memcpy(c->pending + hl, append_body, append_body_len);
		c->pending_len = total;
		c->st = ST_APPEND;
		return;
	}
	out_add(c, hdr, (size_t)hl);
	out_add(c, append_body, append_body_len);
	out_add(c, "\r\n", 2);
}

static void mix_next(struct conn *c)
{
	double t = now();
	if (stopping || t >= t_end) {
		cmd_start(c, K_NOOP);
		out_printf(c, "LOGOUT\r\n");
		c->st = ST_LOGOUT;
		if (flush_out(c) < 0)
			conn_close(c);
		return;
	}
	if (opt.relogin > 0 && c->cmds_on_conn >= opt.relogin && c->kind != K_MARK) {
		cmd_start(c, K_NOOP);
		out_printf(c, "LOGOUT\r\n");
		flush_out(c);
		conn_close(c);
		conn_start(c);
		nsetup--; /* a re-login is not a setup */
		return;
	}
	long base = opt.base ? opt.base : c->base;
	enum kind k;
	c->want_flag = NULL;
	if (opt.mode == M_STRESS) {
		static const enum kind cycle[] = {K_FETCH_FLAGS, K_FETCH_ENV, K_FETCH_BODY,
		                                  K_STORE,       K_KEYWORD,   K_APPEND,
		                                  K_MARK,        K_EXPUNGE};
		k = cycle[c->cmds_on_conn % NELEM(cycle)];
		if (k == K_MARK && c->exists <= base)
			k = K_NOOP;
	} else if (c->kind == K_MARK && c->st == ST_RUN && c->tagged) {
		k = K_EXPUNGE; /* the second half of the pair */
	} else {
		int r = (int)(rnd(c) % 100), acc = 0;
		for (k = 0; k < K_NOOP; k++) {
			acc += kind_weight[k];
			if (r < acc)
				break;
		}
		if (k == K_EXPUNGE) {
			if (c->exists > base)
				k = K_MARK;
			else
				k = K_NOOP;
		}
	}
	if ((k == K_FETCH_FLAGS || k == K_FETCH_HDRS || k == K_STORE || k == K_FETCH_ENV ||
	     k == K_FETCH_BODY || k == K_KEYWORD) &&
	    c->exists <= 0)
		k = K_NOOP;
	long a = 0, b = 0;
	if (c->exists > 0) {
		a = 1 + (long)(rnd(c) % (uint64_t)c->exists);
		b = a + (long)(rnd(c) % 10);
		if (b > c->exists)
			b = c->exists;
	}
	switch (k) {
	case K_FETCH_FLAGS:
		cmd_start(c, k);
		out_printf(c, "FETCH %ld:%ld (UID FLAGS)\r\n", a, b);
		break;
	case K_FETCH_HDRS:
		cmd_start(c, k);
		out_printf(c,
		           "FETCH %ld:%ld (UID FLAGS RFC822.SIZE INTERNALDATE "
		           "BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE MESSAGE-ID)])\r\n",
		           a, b);
		break;
	case K_STORE: {
		static const char *const ops[] = {"+FLAGS (\\Seen)", "-FLAGS (\\Seen)",
		                                  "+FLAGS (\\Flagged)", "-FLAGS (\\Flagged)"};
		static const char *const flag[] = {"\\Seen", "\\Seen", "\\Flagged", "\\Flagged"};
		int op = (int)(rnd(c) % 4);
		cmd_start(c, k);
		out_printf(c, "STORE %ld:%ld %s\r\n", a, b, ops[op]);
		c->want_flag = flag[op];
		c->want_set = op % 2 == 0;
		c->want_lo = a;
		c->want_hi = b;
		break;
	}
	case K_FETCH_ENV:
		cmd_start(c, k);
		out_printf(c, "FETCH %ld:%ld (UID ENVELOPE)\r\n", a, b);
		break;
	case K_FETCH_BODY:
		cmd_start(c, k);
		out_printf(c, "FETCH %ld (UID BODY.PEEK[])\r\n", a);
		break;
	case K_KEYWORD: {
		int set = (int)(rnd(c) % 2);
		cmd_start(c, k);
		out_printf(c, "STORE %ld:%ld %sFLAGS ($Stress)\r\n", a, b, set ? "+" : "-");
		c->want_flag = "$Stress";
		c->want_set = set;
		c->want_lo = a;
		c->want_hi = b;
		break;
	}
	case K_SEARCH:
		cmd_start(c, k);
		switch (rnd(c) % 4) {
		case 0:
			out_printf(c, "UID SEARCH UNSEEN\r\n");
			break;
		case 1:
			out_printf(c, "UID SEARCH FLAGGED\r\n");
			break;
		case 2:
			out_printf(c, "UID SEARCH FROM \"%s\"\r\n",
			           from_names[rnd(c) % NELEM(from_names)]);
			break;
		default:
			out_printf(c, "UID SEARCH SUBJECT \"%s\"\r\n",
			           subject_words[rnd(c) % NELEM(subject_words)]);
			break;
		}
		break;
	case K_APPEND:
		send_append(c);
		break;
	case K_MARK:
		cmd_start(c, k);
		out_printf(c, "STORE %ld:%ld +FLAGS.SILENT (\\Deleted)\r\n", base + 1, c->exists);
		break;
	case K_EXPUNGE:
		cmd_start(c, k);
		out_printf(c, "EXPUNGE\r\n");
		break;
	default:
		cmd_start(c, K_NOOP);
		out_printf(c, "NOOP\r\n");
		break;
	}
	if (c->st != ST_APPEND)
		c->st = ST_RUN;
	if (flush_out(c) < 0) {
		nlost++;
		note_error(c, "write", strerror(errno), strlen(strerror(errno)));
		conn_close(c);
	}
}

static void print_kinds(void)
{
	printf(",\"kinds\":{");
	int first = 1;
	for (int k = 0; k < NKINDS; k++) {
		if (!kind_count[k])
			continue;
		printf("%s\"%s\":{\"count\":%ld,\"p50_ms\":%.3f,\"p99_ms\":%.3f}", first ? "" : ",",
		       kind_names[k], kind_count[k], pct(lat[k], nlat[k], 0.5) * 1000,
		       pct(lat[k], nlat[k], 0.99) * 1000);
		first = 0;
	}
	printf("}");
}

static int run_mix(void)
{
	if (opt.clients < 0)
		opt.clients = 10;
	build_append_body();
	conns = calloc((size_t)opt.clients, sizeof *conns);
	if (!conns)
		die("out of memory");
	double t0 = now();
	for (int i = 0; i < opt.clients; i++) {
		struct conn *c = &conns[i];
		c->idx = i;
		c->account = i % opt.accounts;
		c->rng = 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1) ^ (uint64_t)getpid();
		c->fd = -1;
		conn_start(c);
	}
	while (nready + nfailed < opt.clients) {
		if (now() - t0 > opt.setup_timeout)
			die("setup: %d of %d clients selected after %.0fs (%s)", nready,
			    opt.clients, opt.setup_timeout, errsample);
		loop_once(100);
	}
	double setup_s = now() - t0;
	if (!nready)
		die("no client got through LOGIN and SELECT: %s", errsample);
	if (opt.mode == M_STRESS) {
		/* for a caller measuring the server's CPU over the window only */
		printf("{\"event\":\"running\",\"setup_s\":%.3f}\n", now() - t0);
		fflush(stdout);
	}
	running = 1;
	t_start = now();
	t_end = t_start + opt.seconds;
	for (int i = 0; i < opt.clients; i++)
		if (conns[i].st == ST_READY) {
			conns[i].st = ST_RUN;
			conns[i].kind = K_NOOP;
			mix_next(&conns[i]);
		}
	/* run, then let the LOGOUTs finish (bounded) */
	int open = 1;
	while (open) {
		loop_once(50);
		double t = now();
		if (t > t_end + 30)
			break;
		open = 0;
		for (int i = 0; i < opt.clients; i++)
			if (conns[i].st != ST_CLOSED)
				open = 1;
	}
	size_t n = 0;
	for (int k = 0; k < NKINDS; k++)
		n += nlat[k];
	double *all = xrealloc(NULL, (n ? n : 1) * sizeof(double));
	n = 0;
	for (int k = 0; k < NKINDS; k++) {
		memcpy(all + n, lat[k], nlat[k] * sizeof(double));
		n += nlat[k];
	}
	printf("{\"mode\":\"%s\",\"clients\":%d,\"ready\":%d,\"setup_failed\":%d,"
	       "\"seconds\":%.3f,\"setup_s\":%.3f,\"commands\":%ld,\"failed\":%ld,\"lost\":%ld,"
	       "\"commands_per_s\":%.1f,\"lat_p50_ms\":%.3f,\"lat_p90_ms\":%.3f,"
	       "\"lat_p99_ms\":%.3f",
	       opt.mode == M_STRESS ? "stress" : "mix", opt.clients, nready, nfailed, opt.seconds,
	       setup_s, ncmds, nfail_cmds, nlost, ncmds / opt.seconds, pct(all, n, 0.5) * 1000,
	       pct(all, n, 0.9) * 1000, pct(all, n, 0.99) * 1000);
	if (opt.mode == M_STRESS)
		printf(",\"logins\":%ld,\"protocol_errors\":%ld,\"state_violations\":%ld,"
		       "\"flag_mismatches\":%ld",
		       kind_count[K_LOGIN], nfail_cmds + nlost + nproto, nproto, nflag_mismatch);
	print_kinds();
	/* sanity: the searches find something, the mailboxes stay near -b */
	long hits = 0, exists = 0;
	for (int i = 0; i < opt.clients; i++) {
		hits += conns[i].search_hits;
		exists += conns[i].exists;
	}
	printf(",\"search_hits\":%ld,\"exists_avg\":%.1f,\"first_error\":\"%s\"}\n", hits,
	       (double)exists / opt.clients, errsample);
	return (nfail_cmds || nlost || nfailed || nproto) ? 1 : 0;
}

/* ---- latency (one blocking connection) ---- */

/* Reads until the tagged reply of c->tag arrived. */
static void wait_tagged(struct conn *c)
{
	while (!c->tagged) {
		in_reserve(c);
		ssize_t r = recv(c->fd, c->in + c->inlen, c->incap - c->inlen, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			die("%s: %s", c->tag,
			    r == 0 ? "connection closed by server" : strerror(errno));
		c->inlen += (size_t)r;
		scan_input(c);
	}
}

static void sync_cmd(struct conn *c, const char *cmd)
{
	cmd_start(c, K_NOOP);
	out_printf(c, "%s\r\n", cmd);
	if (flush_out(c) < 0)
		die("send: %s", strerror(errno));
	wait_tagged(c);
	if (c->status)
		die("%s failed", cmd);
}

struct rep {
	double select_ms, fetch_ms, search_ms;
	long exists, fetch_lines, search_hits;
	size_t fetch_bytes;
};

static void latency_once(struct rep *r)
{
	struct conn cc = {0}, *c = &cc;
	c->incap = 1 << 20; /* a big UID FETCH response in few recv() calls */
	c->in = xrealloc(NULL, c->incap);
	c->fd = open_socket(0);
	if (connect(c->fd, (struct sockaddr *)&opt.addr, sizeof opt.addr) < 0)
		die("connect: %s", strerror(errno));
	c->st = ST_GREETING;
	while (c->st == ST_GREETING) {
		in_reserve(c);
		ssize_t n = recv(c->fd, c->in + c->inlen, c->incap - c->inlen, 0);
		if (n <= 0)
			die("greeting: %s", n == 0 ? "closed" : strerror(errno));
		c->inlen += (size_t)n;
		scan_input(c);
		if (c->st == ST_CLOSED)
			die("greeting: %s", errsample);
	}
	/* with -U, each repetition logs in to the next account */
	static int rep;
	char user[256], login[600];
	snprintf(user, sizeof user, opt.user, rep++ % opt.accounts);
	snprintf(login, sizeof login, "LOGIN \"%s\" \"%s\"", user, opt.pass);
	sync_cmd(c, login);
	memset(r, 0, sizeof *r);
	r->select_ms = r->fetch_ms = r->search_ms = -1;
	/* a SELECT is needed anyway; it is timed when 's' is asked for */
	double t = now();
	sync_cmd(c, "SELECT INBOX");
	if (strchr(opt.ops, 's'))
		r->select_ms = (now() - t) * 1000;
	r->exists = c->exists;
	if (strchr(opt.ops, 'f')) {
		c->fetch_lines = 0;
		c->bytes = 0;
		t = now();
		sync_cmd(c, "UID FETCH 1:* (FLAGS)");
		r->fetch_ms = (now() - t) * 1000;
		r->fetch_lines = c->fetch_lines;
		r->fetch_bytes = c->bytes;
	}
	if (strchr(opt.ops, 'b')) {
		char cmd[300];
		snprintf(cmd, sizeof cmd, "UID SEARCH BODY \"%s\"", opt.word);
		c->search_hits = 0;
		t = now();
		sync_cmd(c, cmd);
		r->search_ms = (now() - t) * 1000;
		r->search_hits = c->search_hits;
	}
	sync_cmd(c, "LOGOUT");
	close(c->fd);
	free(c->in);
	free(c->out);
}

static void print_list(const char *name, struct rep *reps, int n, size_t off)
{
	double *v = xrealloc(NULL, (size_t)(n ? n : 1) * sizeof(double));
	printf(",\"%s\":[", name);
	for (int i = 0; i < n; i++) {
		v[i] = *(double *)((char *)&reps[i] + off);
		printf("%s%.3f", i ? "," : "", v[i]);
	}
	printf("],\"%s_median\":%.3f", name, n ? pct(v, (size_t)n, 0.5) : -1.0);
	free(v);
}

static int run_latency(void)
{
	epfd = -1;
	struct rep w, *reps = calloc((size_t)(opt.reps ? opt.reps : 1), sizeof *reps);
	if (!reps)
		die("out of memory");
	for (int i = 0; i < opt.warmups; i++)
		latency_once(&w);
	for (int i = 0; i < opt.reps; i++)
		latency_once(&reps[i]);
	struct rep *last = opt.reps ? &reps[opt.reps - 1] : &w;
	printf("{\"mode\":\"latency\",\"reps\":%d,\"exists\":%ld,\"fetch_lines\":%ld,"
	       "\"fetch_bytes\":%zu,\"search_hits\":%ld,\"word\":\"%s\"",
	       opt.reps, last->exists, last->fetch_lines, last->fetch_bytes, last->search_hits,
	       opt.word);
	print_list("select_ms", reps, opt.reps, offsetof(struct rep, select_ms));
	print_list("fetch_ms", reps, opt.reps, offsetof(struct rep, fetch_ms));
	print_list("search_ms", reps, opt.reps, offsetof(struct rep, search_ms));
	printf("}\n");
	return 0;
}

/* ---- idle ---- */

static void idle_next_connect(void)
{
	while (!stopping && next_conn < opt.clients && nsetup < opt.parallel)
		conn_start(&conns[next_conn++]);
}

static int run_idle(void)
{
	if (opt.clients < 0)
		opt.clients = 1000;
	conns = calloc((size_t)opt.clients, sizeof *conns);
	if (!conns)
		die("out of memory");
	for (int i = 0; i < opt.clients; i++) {
		conns[i].idx = i;
		conns[i].account = i % opt.accounts;
		conns[i].fd = -1;
		conns[i].st = ST_CLOSED;
	}
	struct epoll_event e = {.events = EPOLLIN, .data.ptr = NULL};
	double t0 = now();
	idle_next_connect();
	while (nidling + nfailed < opt.clients) {
		if (now() - t0 > opt.setup_timeout) {
			fprintf(stderr,
			        "imap_load: setup time limit: %d idling, %d failed, %d pending\n",
			        nidling, nfailed, opt.clients - nidling - nfailed);
			break;
		}
		loop_once(100);
	}
	double setup_s = now() - t0;
	int idling_at_ready = nidling - nclosed;
	printf("{\"event\":\"ready\",\"connections\":%d,\"idling\":%d,\"failed\":%d,"
	       "\"setup_s\":%.3f,\"first_error\":\"%s\"}\n",
	       opt.clients, idling_at_ready, nfailed, setup_s, errsample);
	fflush(stdout);
	/* hold the connections (answering nothing, reading what comes) until
	 * the runner has read the server's memory and writes a line */
	epoll_ctl(epfd, EPOLL_CTL_ADD, 0, &e);
	for (;;) {
		struct epoll_event evs[256];
		int n = epoll_wait(epfd, evs, 256, 1000);
		int input = 0;
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL)
				input = 1;
			else
				on_event(evs[i].data.ptr, evs[i].events);
		}
		if (input)
			break;
	}
	int lost_while_idle = nclosed;
	stopping = 1;
	double t1 = now();
	for (int i = 0; i < opt.clients; i++) {
		struct conn *c = &conns[i];
		if (c->st == ST_IDLING) {
			out_printf(c, "DONE\r\n");
			c->st = ST_DONE;
			if (flush_out(c) < 0)
				conn_close(c);
		} else if (c->st != ST_CLOSED) {
			conn_close(c);
		}
	}
	while (now() - t1 < 30) {
		int open = 0;
		for (int i = 0; i < opt.clients && !open; i++)
			open = conns[i].st != ST_CLOSED;
		if (!open)
			break;
		loop_once(100);
	}
	for (int i = 0; i < opt.clients; i++)
		conn_close(&conns[i]);
	printf("{\"mode\":\"idle\",\"connections\":%d,\"idling\":%d,\"failed\":%d,"
	       "\"lost_while_idle\":%d,\"setup_s\":%.3f,\"first_error\":\"%s\"}\n",
	       opt.clients, idling_at_ready, nfailed, lost_while_idle, setup_s, errsample);
	return (nfailed || lost_while_idle) ? 1 : 0;
}

static void usage(void)
{
	die("usage: imap_load mix|latency|idle|stress [-u user] [-U accounts] [-p pass] [-c n] "
	    "[-t secs] [-b base] [-R n] [-r reps] [-W warmups] [-w word] [-o sfb] [-S srcs] "
	    "[-P parallel] [-T secs] [-L label] HOST:PORT");
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "mix") == 0)
		opt.mode = M_MIX;
	else if (strcmp(argv[1], "latency") == 0)
		opt.mode = M_LATENCY;
	else if (strcmp(argv[1], "idle") == 0)
		opt.mode = M_IDLE;
	else if (strcmp(argv[1], "stress") == 0)
		opt.mode = M_STRESS;
	else
		usage();
	argv++;
	argc--;
	int ch;
	while ((ch = getopt(argc, argv, "u:U:p:c:t:b:R:r:W:w:o:S:P:T:L:")) != -1) {
		switch (ch) {
		case 'u':
			opt.user = optarg;
			break;
		case 'U':
			opt.accounts = atoi(optarg);
			break;
		case 'p':
			opt.pass = optarg;
			break;
		case 'c':
			opt.clients = atoi(optarg);
			break;
		case 't':
			opt.seconds = atof(optarg);
			break;
		case 'b':
			opt.base = atol(optarg);
			break;
		case 'R':
			opt.relogin = atoi(optarg);
			break;
		case 'r':
			opt.reps = atoi(optarg);
			break;
		case 'W':
			opt.warmups = atoi(optarg);
			break;
		case 'w':
			opt.word = optarg;
			break;
		case 'o':
			opt.ops = optarg;
			break;
		case 'S':
			opt.srcs = atoi(optarg);
			break;
		case 'P':
			opt.parallel = atoi(optarg);
			break;
		case 'T':
			opt.setup_timeout = atof(optarg);
			break;
		case 'L':
			opt.label = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1 || opt.accounts < 1 || opt.parallel < 1 || opt.seconds <= 0)
		usage();
	char host[256];
	snprintf(host, sizeof host, "%s", argv[optind]);
	char *colon = strrchr(host, ':');
	if (!colon)
		die("need HOST:PORT");
	*colon = 0;
	opt.addr.sin_family = AF_INET;
	opt.addr.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &opt.addr.sin_addr) != 1)
		die("bad IPv4 address %s", host);
	if (opt.mode == M_LATENCY)
		return run_latency();
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die("epoll_create1: %s", strerror(errno));
	if (opt.mode == M_STRESS)
		opt.relogin = 8; /* the cycle: LOGIN, SELECT, 8 commands, LOGOUT */
	return opt.mode == M_MIX || opt.mode == M_STRESS ? run_mix() : run_idle();
}
