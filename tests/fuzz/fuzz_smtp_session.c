/* fuzz_smtp_session: the whole SMTP server session on arbitrary client bytes.
 *
 * Why this target exists: fuzz_smtp_address covers the pure parsers, but
 * SMTP servers break in their sequencing: a reply owed after an
 * asynchronous step, a mode switch (DATA, BDAT, STARTTLS) in the middle of
 * pipelined input, a session that closes while a store job or a password
 * check is still running. So this target runs the real thing: conn,
 * framing, the session state machine, SASL, the store writer thread and
 * the auth thread pool, on one libuv loop, exactly as `tern serve` wires
 * them, with no entry point added to tern.
 *
 * Set up once (first input): a loop; a store in a temporary directory
 * (tmpfs when there is one: every delivery is a COMMIT) with a domain, an
 * account with a cheap sha512-crypt hash, aliases (local, forwarding,
 * looping, catch-all) and a disabled account; a self-signed TLS server;
 * and one listening socket on 127.0.0.1:0 per server variant (config,
 * protocol). Our own accept callback hands each connection to
 * conn_accept() with smtp_session_start, like server/listener.c does.
 *
 * Per input: a TCP loopback client connects, writes a prelude (chosen by
 * the header) and the fuzz bytes in chunks whose sizes come from the
 * input, pumping the loop between chunks so the server sees the packet
 * boundaries, then half-closes. Replies are read and must be well-formed
 * SMTP reply lines (check_replies()). The input is done when the server
 * has closed, the conn is freed, and no handle or request of the session
 * is left on the loop (auth timers, thread-pool work, writes), so nothing
 * of one input runs during the next. A session that does not finish
 * within WATCHDOG_MS of wall time is a hang: abort() so libFuzzer keeps
 * the input. ASan/UBSan/LSan do the rest.
 *
 * Costs kept small: a fresh store every STORE_RESET_EVERY inputs (the
 * database only grows), unknown-user AUTH made cheap (crypt_gensalt_rn()
 * below), auth failure delays of 0 ms.
 *
 * Input layout:
 *   byte 0  bits 0-2  server variant (see variants[])
 *           bits 3-5  prelude depth: 0 none, 1 EHLO, 2 +MAIL, 3 +RCPT,
 *                     4 +DATA, 5 +BDAT n, 6 +BDAT n LAST,
 *                     7 HELO/MAIL/RCPT/DATA with bare LF line ends
 *           bit 6     AUTH (PLAIN with initial response, PLAIN after a
 *                     334, or LOGIN) with the right password after EHLO
 *           bit 7     shut the server down (conn_shutdown_all(), as on
 *                     SIGTERM after the grace period) part-way through
 *   byte 1  bits 0-6  seed: BDAT size, AUTH mechanism, shutdown point
 *           bit 7     token mode: bytes 0x80-0xFF of the rest stand for
 *                     the words in tokens[] (commands, parameters, known
 *                     addresses, header lines, base64, an over-long line),
 *                     bytes 0x00-0x7F for themselves. This is the
 *                     dictionary that CI's short runs (no -dict, no
 *                     corpus) lack.
 *   byte 2  bits 0-6  chunking seed (0 = one write)
 *           bit 7     the store's next COMMIT fails (disk full): the 451
 *                     after DATA or BDAT LAST
 *   rest    the client's bytes, after the prelude.
 *
 * Set TERN_FUZZ_LOG=debug to see tern's log lines when reproducing.
 */
#include "server/config.h"
#include "server/conn.h"
#include "server/listener.h"
#include "server/log.h"
#include "server/server.h"
#include "store/accounts.h"
#include "store/store.h"
#include "tls/tls.h"

#include <arpa/inet.h>
#include <crypt.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DOMAIN "example.test"
#define USER "user@" DOMAIN
#define PASSWORD "pw"
#define WATCHDOG_MS 30000
/* Inputs between fresh stores: bounds the database (every accepted message
 * is a row) while costing one reopen every few seconds. */
#define STORE_RESET_EVERY 5000
#define MAX_BASE_HANDLES 32
#define SMALL_CHUNKS_UPTO 8192

enum variant_flags {
	V_SUBMISSION = 1 << 0,
	V_TLS = 1 << 1,          /* STARTTLS available */
	V_PLAIN_AUTH = 1 << 2,   /* AUTH allowed without TLS from loopback */
	V_NORMALIZE = 1 << 3,    /* bare_newline = normalize */
	V_VRFY = 1 << 4,         /* [smtp] vrfy = true */
	V_SMALL = 1 << 5,        /* small limits: line, message, recipients, errors, output */
	V_EARLY_TALKER = 1 << 6, /* greeting delay: the client always talks first */
};

static const unsigned variants[8] = {
    V_TLS | V_PLAIN_AUTH,
    V_SUBMISSION | V_TLS | V_PLAIN_AUTH | V_NORMALIZE | V_VRFY,
    V_TLS | V_NORMALIZE | V_VRFY | V_SMALL,
    V_SUBMISSION | V_PLAIN_AUTH | V_SMALL,
    V_TLS | V_PLAIN_AUTH | V_NORMALIZE | V_VRFY,
    V_EARLY_TALKER | V_TLS,
    V_PLAIN_AUTH | V_VRFY,
    V_SUBMISSION | V_TLS | V_PLAIN_AUTH,
};
#define NVARIANTS (sizeof variants / sizeof variants[0])

struct variant {
	struct config cfg;
	struct server srv;
	struct listener l; /* l.tcp is the listening socket */
	struct sockaddr_in addr;
};

static struct {
	bool ready;
	uv_loop_t loop;
	char dir[256];
	char store_dir[300];
	struct store *store;
	struct tls_server *tls;
	struct variant v[NVARIANTS];
	uv_handle_t *base[MAX_BASE_HANDLES]; /* handles that live across inputs */
	size_t nbase;
	unsigned inputs;
	unsigned accepted; /* connections handed to conn_accept() */
} g;

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_smtp_session: %s: %s\n", what, detail ? detail : strerror(errno));
	abort();
}

/* ---- setup ------------------------------------------------------------- */

/* libxcrypt's crypt_gensalt_rn(), replaced in this binary (the definition
 * here wins over the shared library's). auth.c checks the password of an
 * unknown user against a dummy yescrypt setting made with it, so that a
 * miss costs what a real check costs: 0.3 to 0.7 s here, and fuzzed AUTH
 * commands name unknown users all the time. 1000 rounds of sha512-crypt,
 * like the test account's own hash, cost about a millisecond. tern calls
 * this only for that dummy and for new password hashes. */
char *crypt_gensalt_rn(const char *prefix, unsigned long count, const char *rbytes, int nrbytes,
                       char *output, int output_size)
{
	static unsigned n;
	int w = snprintf(output, (size_t)output_size, "$6$rounds=1000$fuzz%08x$", n++);
	return w > 0 && w < output_size ? output : NULL;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

static void cleanup(void)
{
	if (g.dir[0])
		nftw(g.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A run that crashed (or was killed) could not remove its directory:
 * remove those whose process is gone, so tmpfs does not fill up. */
static void remove_stale(const char *base)
{
	DIR *d = opendir(base);
	struct dirent *e;
	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		long pid;
		char path[512];
		if (sscanf(e->d_name, "tern-fuzz-smtp-%ld-", &pid) != 1 || pid <= 0 ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof path, "%s/%s", base, e->d_name);
		nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
	closedir(d);
}

static int populate(sqlite3 *db, void *arg)
{
	/* Cheap on purpose: AUTH with the right password costs 1000 rounds
	 * of SHA-512, not a yescrypt. */
	struct crypt_data *cd = calloc(1, sizeof *cd);
	if (!cd)
		return -ENOMEM;
	const char *h = crypt_r(PASSWORD, "$6$rounds=1000$fuzzsalt$", cd);
	char hash[STORE_HASH_MAX];
	snprintf(hash, sizeof hash, "%s", h && h[0] != '*' ? h : "*");
	free(cd);
	int rc = 0;
	rc |= store_domain_add(db, DOMAIN);
	rc |= store_domain_add(db, "catch.test");
	rc |= store_account_add(db, USER, hash, NULL);
	rc |= store_account_add(db, "off@" DOMAIN, hash, NULL);
	rc |= store_account_set_disabled(db, "off@" DOMAIN, 1);
	rc |= store_alias_add(db, "alias@" DOMAIN, USER);
	rc |= store_alias_add(db, "fwd@" DOMAIN, "someone@remote.test");
	rc |= store_alias_add(db, "loop1@" DOMAIN, "loop2@" DOMAIN);
	rc |= store_alias_add(db, "loop2@" DOMAIN, "loop1@" DOMAIN);
	rc |= store_alias_add(db, "@catch.test", USER);
	return rc ? -EIO : 0;
}

static void on_walk_base(uv_handle_t *h, void *arg)
{
	if (g.nbase == MAX_BASE_HANDLES)
		die("setup", "too many handles");
	g.base[g.nbase++] = h;
}

static void record_base_handles(void)
{
	g.nbase = 0;
	uv_walk(&g.loop, on_walk_base, NULL);
}

static void open_store(void)
{
	char err[512];
	if (store_open(&g.store, g.store_dir, &g.loop, err, sizeof err) < 0)
		die("store_open", err);
	if (store_exec(g.store, populate, NULL) < 0)
		die("store", "cannot create the accounts");
	for (size_t i = 0; i < NVARIANTS; i++)
		g.v[i].srv.store = g.store;
}

/* A fresh database: the old one only grows. */
static void reset_store(void)
{
	store_close(&g.store);
	uv_run(&g.loop, UV_RUN_NOWAIT);
	nftw(g.store_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	open_store();
	record_base_handles();
}

static void on_connection(uv_stream_t *server, int status)
{
	struct variant *v = server->data;
	if (status < 0)
		die("accept", uv_strerror(status));
	g.accepted++;
	conn_accept(&g.loop, server, &v->l,
	            v->l.cfg->tls == LISTEN_TLS_STARTTLS ? CONN_TLS_STARTTLS : CONN_TLS_NONE,
	            v->l.cfg->tls == LISTEN_TLS_STARTTLS ? g.tls : NULL, &v->l.limits,
	            smtp_session_start);
}

static void setup_variant(struct variant *v, unsigned f)
{
	struct config *cfg = &v->cfg;
	config_defaults(cfg);
	snprintf(cfg->hostname, sizeof cfg->hostname, "mail." DOMAIN);
	snprintf(cfg->domain, sizeof cfg->domain, DOMAIN);
	snprintf(cfg->data_dir, sizeof cfg->data_dir, "%s", g.store_dir);
	cfg->auth_plaintext_loopback = (f & V_PLAIN_AUTH) != 0;
	/* Failures answer at once; past 20 a second the client's address is
	 * throttled until the second is over (a path of its own). */
	cfg->auth_fail_delay_ms = 0;
	cfg->auth_fail_max_delay_ms = 0;
	cfg->auth_fail_limit = 20;
	cfg->auth_fail_window = 1;
	snprintf(cfg->smtp_bare_newline, sizeof cfg->smtp_bare_newline, "%s",
	         f & V_NORMALIZE ? "normalize" : "reject");
	cfg->smtp_vrfy_enabled = (f & V_VRFY) != 0;
	cfg->smtp_greet_delay_ms = f & V_EARLY_TALKER ? 1000 : 0;
	cfg->smtp_max_errors = 1000; /* keep going: the input decides when to stop */
	cfg->smtp_max_message_size = 4096;
	if (f & V_SMALL) {
		cfg->smtp_max_line = 512;
		cfg->smtp_max_message_size = 1024;
		cfg->smtp_max_recipients = 2;
		cfg->smtp_max_errors = 10;
	}
	cfg->nlisten = 1;
	struct config_listen *lc = &cfg->listen[0];
	memset(lc, 0, sizeof *lc);
	lc->protocol = f & V_SUBMISSION ? PROTO_SUBMISSION : PROTO_SMTP;
	lc->tls = f & V_TLS ? LISTEN_TLS_STARTTLS : LISTEN_TLS_NONE;
	snprintf(lc->address, sizeof lc->address, "127.0.0.1:0");

	v->srv.loop = &g.loop;
	v->srv.cfg = cfg;
	v->srv.tls = g.tls;

	/* What listener.c's protocol_defaults() sets for SMTP. */
	struct listener *l = &v->l;
	l->server = &v->srv;
	l->cfg = lc;
	l->start = smtp_session_start;
	l->limits.max_line = (size_t)cfg->smtp_max_line;
	l->limits.idle_timeout_ms = (uint64_t)cfg->smtp_timeout_command * 1000;
	l->limits.handshake_timeout_ms = (uint64_t)cfg->tls_handshake_timeout * 1000;
	l->limits.max_output = (size_t)cfg->max_output;
	if (f & V_SMALL) {
		/* Below any config bound: a reply or two fills the output
		 * queue until its write completes, so pipelined input runs
		 * into backpressure (stop, drained, resume) all the time. */
		l->limits.max_output = 64;
	}

	uv_tcp_init(&g.loop, &l->tcp);
	l->tcp.data = v;
	struct sockaddr_in a;
	uv_ip4_addr("127.0.0.1", 0, &a);
	int alen = sizeof v->addr;
	int rc = uv_tcp_bind(&l->tcp, (const struct sockaddr *)&a, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&l->tcp, 128, on_connection);
	if (rc == 0)
		rc = uv_tcp_getsockname(&l->tcp, (struct sockaddr *)&v->addr, &alen);
	if (rc != 0)
		die("listen on 127.0.0.1", uv_strerror(rc));
	l->bound = true;
}

static void setup(void)
{
	/* Quiet unless asked: even errors are expected here (the injected
	 * COMMIT failures), and libFuzzer's own output goes to stderr too. */
	const char *lv = getenv("TERN_FUZZ_LOG");
	int level = lv ? log_level_parse(lv) : -1;
	log_set_level(level >= 0 ? (enum log_level)level : (enum log_level)(LOG_ERROR + 1));

	struct stat st;
	const char *base = "/tmp";
	if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode))
		base = "/dev/shm";
	else if (getenv("TMPDIR"))
		base = getenv("TMPDIR");
	remove_stale(base);
	snprintf(g.dir, sizeof g.dir, "%s/tern-fuzz-smtp-%ld-XXXXXX", base, (long)getpid());
	if (!mkdtemp(g.dir))
		die("mkdtemp", NULL);
	atexit(cleanup);
	snprintf(g.store_dir, sizeof g.store_dir, "%s/data", g.dir);

	if (uv_loop_init(&g.loop) != 0)
		die("uv_loop_init", NULL);
	char err[512];
	if (tls_server_create(&g.tls, NULL, 0, g.dir, "mail." DOMAIN, err, sizeof err) < 0)
		die("tls_server_create", err);
	open_store();
	for (size_t i = 0; i < NVARIANTS; i++)
		setup_variant(&g.v[i], variants[i]);
	record_base_handles();
	g.ready = true;
}

/* ---- one session ------------------------------------------------------- */

static void on_walk_count(uv_handle_t *h, void *arg)
{
	for (size_t i = 0; i < g.nbase; i++)
		if (g.base[i] == h)
			return;
	(*(size_t *)arg)++;
}

/* Nothing of the session is left on the loop. */
static bool settled(void)
{
	if (conn_live_count() != 0 || g.loop.active_reqs.count != 0)
		return false;
	size_t extra = 0;
	uv_walk(&g.loop, on_walk_count, &extra);
	return extra == 0;
}

/* What the client hears must be SMTP replies whatever it sent: lines of
 * "ddd", "ddd text" or "ddd-text" ending in CRLF, at most 512 octets
 * (RFC 5321 4.5.3.1.5), no bare CR, LF or NUL. Client bytes echoed into a
 * reply unescaped would show up here. After the second 220 (the STARTTLS
 * go-ahead; the first is the greeting) the bytes are TLS: the first one
 * must start a TLS record. */
struct reply_check {
	char line[520];
	size_t len;
	int n220;
	bool tls, tls_seen;
};

static void bad_reply(const struct reply_check *rc, const char *why)
{
	fprintf(stderr, "fuzz_smtp_session: bad reply line (%s): \"", why);
	for (size_t i = 0; i < rc->len; i++) {
		unsigned char c = (unsigned char)rc->line[i];
		fprintf(stderr, c >= 32 && c < 127 && c != '"' && c != '\\' ? "%c" : "\\x%02x", c);
	}
	fprintf(stderr, "\"\n");
	abort();
}

static void check_replies(struct reply_check *rc, const char *p, size_t n)
{
	for (size_t i = 0; i < n && !rc->tls_seen; i++) {
		if (rc->tls) {
			/* CVE-2011-0411: nothing pipelined behind STARTTLS
			 * is answered in plaintext; what follows the
			 * go-ahead are TLS records (an alert). */
			if (p[i] < 0x14 || p[i] > 0x17) {
				rc->line[0] = p[i];
				rc->len = 1;
				bad_reply(rc, "plaintext after the STARTTLS go-ahead");
			}
			rc->tls_seen = true;
			return;
		}
		if (rc->len == sizeof rc->line)
			bad_reply(rc, "longer than 512 octets");
		rc->line[rc->len++] = p[i];
		if (p[i] != '\n')
			continue;
		const char *l = rc->line;
		size_t len = rc->len;
		if (len < 5 || l[len - 2] != '\r')
			bad_reply(rc, "bare LF or short line");
		if (len > 512)
			bad_reply(rc, "longer than 512 octets");
		for (size_t k = 0; k < 3; k++)
			if (l[k] < '0' || l[k] > '9')
				bad_reply(rc, "no code");
		if (len > 5 && l[3] != ' ' && l[3] != '-')
			bad_reply(rc, "no separator");
		if (memchr(l, '\0', len) || memchr(l, '\r', len - 2))
			bad_reply(rc, "NUL or bare CR");
		if (memcmp(l, "220 ", 4) == 0 && ++rc->n220 == 2)
			rc->tls = true;
		rc->len = 0;
	}
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int client_connect(const struct sockaddr_in *to, const char *from_ip)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket", NULL);
	/* The source address only: the port is chosen at connect() for the
	 * whole 4-tuple, so client ports in TIME_WAIT (one per input, for a
	 * minute) do not run out at a thousand inputs a second. */
	int one = 1;
	setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
	struct sockaddr_in src;
	memset(&src, 0, sizeof src);
	src.sin_family = AF_INET;
	inet_pton(AF_INET, from_ip, &src.sin_addr);
	if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0)
		die("bind", NULL);
	/* Every chunk its own segment, at once: with Nagle, each small chunk
	 * would wait for the server's delayed ACK. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	/* Blocking: on loopback the kernel completes it without our accept. */
	if (connect(fd, (const struct sockaddr *)to, sizeof *to) < 0)
		die("connect", NULL);
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		die("fcntl", NULL);
	return fd;
}

#define AUTH_PLAIN_B64 "AHVzZXJAZXhhbXBsZS50ZXN0AHB3" /* "\0user@example.test\0pw" */
#define USER_B64 "dXNlckBleGFtcGxlLnRlc3Q="
#define PASSWORD_B64 "cHc="

static size_t add(char *out, size_t cap, size_t n, const char *text)
{
	size_t len = strlen(text);
	if (n + len > cap)
		die("prelude", "too long");
	memcpy(out + n, text, len);
	return n + len;
}

/* The commands that take the session to the state the header asks for, so
 * that a few seconds of fuzzing already explore DATA, BDAT and AUTH. */
static size_t prelude(char *out, size_t cap, unsigned depth, bool auth, unsigned seed)
{
	const char *nl = depth == 7 ? "\n" : "\r\n";
	char line[64];
	size_t n = 0;

	if (depth == 0 && !auth)
		return 0;
	n = add(out, cap, n, depth == 7 ? "HELO fuzz.test" : "EHLO fuzz.test");
	n = add(out, cap, n, nl);
	if (auth) {
		switch (seed % 3) {
		case 0:
			n = add(out, cap, n, "AUTH PLAIN " AUTH_PLAIN_B64);
			break;
		case 1:
			n = add(out, cap, n, "AUTH PLAIN");
			n = add(out, cap, n, nl);
			n = add(out, cap, n, AUTH_PLAIN_B64);
			break;
		default:
			n = add(out, cap, n, "AUTH LOGIN " USER_B64);
			n = add(out, cap, n, nl);
			n = add(out, cap, n, PASSWORD_B64);
			break;
		}
		n = add(out, cap, n, nl);
	}
	if (depth >= 2) {
		n = add(out, cap, n, depth == 7 ? "MAIL FROM:<>" : "MAIL FROM:<" USER ">");
		n = add(out, cap, n, nl);
	}
	if (depth >= 3) {
		n = add(out, cap, n,
		        depth == 7 ? "RCPT TO:<alias@" DOMAIN ">" : "RCPT TO:<" USER ">");
		n = add(out, cap, n, nl);
	}
	if (depth == 4 || depth == 7) {
		n = add(out, cap, n, "DATA");
		n = add(out, cap, n, nl);
	} else if (depth == 5 || depth == 6) {
		snprintf(line, sizeof line, "BDAT %u%s\r\n", seed % 48, depth == 6 ? " LAST" : "");
		n = add(out, cap, n, line);
	}
	return n;
}

/* Token mode's words: what a client says, whole commands and pieces of
 * them, and what reaches the deep paths: the addresses the store knows
 * (account, alias, forward, loop, catch-all, +tag, disabled, unknown),
 * every MAIL/RCPT parameter, the header lines the submission checks read,
 * valid and broken SASL responses, chunk sizes that match the long line.
 * Two words are not C strings: a NUL byte, and a 5000-byte line. */
static const char tok_nul[] = "(NUL)", tok_long[] = "(long line)";

static const char *const tokens[] = {
    /* 0x80: verbs and pieces */
    "EHLO fuzz.test\r\n",
    "HELO fuzz.test\r\n",
    "MAIL FROM:<",
    "RCPT TO:<",
    ">\r\n",
    "DATA\r\n",
    "BDAT ",
    " LAST\r\n",
    "\r\n.\r\n",
    "RSET\r\n",
    "NOOP\r\n",
    "QUIT\r\n",
    "VRFY ",
    "EXPN ",
    "HELP\r\n",
    "STARTTLS\r\n",
    /* 0x90: SASL */
    "AUTH PLAIN ",
    "AUTH LOGIN ",
    "AUTH PLAIN\r\n",
    "AUTH LOGIN\r\n",
    AUTH_PLAIN_B64,
    USER_B64,
    PASSWORD_B64,
    "AHVzZXIAd3Jvbmc=", /* "\0user\0wrong" */
    "*\r\n",
    "=\r\n",
    "AUTH PLAIN " AUTH_PLAIN_B64 "\r\n",
    "AUTH LOGIN\r\n" USER_B64 "\r\n" PASSWORD_B64 "\r\n",
    /* authzid other than the user */
    "AUTH PLAIN b3RoZXJAZXhhbXBsZS50ZXN0AHVzZXJAZXhhbXBsZS50ZXN0AHB3\r\n",
    "AUTH PLAIN AG5vYm9keUBleGFtcGxlLnRlc3QAcHc=\r\n", /* unknown user */
    "AUTH PLAIN AG9mZkBleGFtcGxlLnRlc3QAcHc=\r\n",     /* disabled account */
    "AUTH CRAM-MD5\r\n",
    /* 0xa0: addresses */
    USER,
    "alias@" DOMAIN,
    "fwd@" DOMAIN,
    "loop1@" DOMAIN,
    "off@" DOMAIN,
    "nobody@" DOMAIN,
    "x@catch.test",
    "user+Sent@" DOMAIN,
    "someone@remote.test",
    "Postmaster",
    "<>",
    "\"quoted local\"@" DOMAIN,
    "@relay.test,@b.test:",
    "[127.0.0.1]",
    "\xc3\xa9",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 65 */
    /* 0xb0: parameters */
    " SIZE=",
    " BODY=8BITMIME",
    " BODY=BINARYMIME",
    " SMTPUTF8",
    " RET=HDRS",
    " ENVID=x+2Bid",
    " AUTH=<>",
    " NOTIFY=SUCCESS,FAILURE,DELAY",
    " NOTIFY=NEVER",
    " ORCPT=rfc822;x+40y",
    " FOO=bar",
    " RET=FULL",
    "4294967296",
    "18446744073709551616",
    "1024",
    "0",
    /* 0xc0: whole MAIL and RCPT commands */
    "MAIL FROM:<" USER ">\r\n",
    "MAIL FROM:<>\r\n",
    "MAIL FROM:<someone@remote.test> BODY=8BITMIME RET=FULL ENVID=e1\r\n",
    "MAIL FROM:<someone@remote.test> SIZE=100000000\r\n",
    "MAIL FROM:<\xc3\xa9@remote.test> SMTPUTF8\r\n",
    "MAIL FROM:<alias@" DOMAIN "> AUTH=<" USER ">\r\n",
    "RCPT TO:<" USER ">\r\n",
    "RCPT TO:<alias@" DOMAIN ">\r\n",
    "RCPT TO:<fwd@" DOMAIN "> NOTIFY=SUCCESS ORCPT=rfc822;fwd@" DOMAIN "\r\n",
    "RCPT TO:<loop1@" DOMAIN ">\r\n",
    "RCPT TO:<nobody@" DOMAIN ">\r\n",
    "RCPT TO:<someone@remote.test> NOTIFY=FAILURE,DELAY\r\n",
    "RCPT TO:<x@catch.test>\r\n",
    "RCPT TO:<user+Sent@" DOMAIN ">\r\n",
    "RCPT TO:<Postmaster>\r\n",
    "RCPT TO:<off@" DOMAIN ">\r\n",
    /* 0xd0: more commands */
    "RCPT TO:<\xc3\xa9@" DOMAIN ">\r\n",
    "RCPT TO:<" USER "> FOO=bar\r\n",
    "VRFY user\r\n",
    "VRFY <alias@" DOMAIN ">\r\n",
    "BDAT 5000\r\n", /* the long line's length */
    "BDAT 0 LAST\r\n",
    "BDAT 3\r\nabc",
    "BDAT 99999999999999999999\r\n",
    "EHLO [127.0.0.1]\r\n",
    "HELO\r\n",
    "RSET x\r\n",
    "STARTTLS x\r\n",
    "GET / HTTP/1.1\r\n",
    "\r\n.\r\nQUIT\r\n",
    "DATA\r\nFrom: " USER "\r\nSubject: x\r\n\r\nbody\r\n.\r\n",
    "DATA\r\nFrom: a@b.test, c@d.test\r\n\r\nx\r\n.\r\n",
    /* 0xe0: header lines */
    "From: " USER "\r\n",
    "From: Someone <someone@remote.test>\r\n",
    "From: \"Name, with comma\" <alias@" DOMAIN "> (comment)\r\n",
    "From: group: " USER ";\r\n",
    "From: undisclosed:;\r\n",
    "Subject: fuzz\r\nMessage-ID: <x@y>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n",
    "Received: from x by y; Mon, 1 Jan 2024 00:00:00 +0000\r\n",
    "Content-Type: text/plain; charset=utf-8\r\n",
    " \tfolded continuation\r\n",
    "To: " USER "\r\n",
    "no colon header line\r\n",
    "\xe2\x82\xac",
    "\xff",
    "\x80",
    "\t",
    " ",
    /* 0xf0: line ends and dots */
    "\r\n",
    "\n",
    "\r",
    ".\r\n",
    "..",
    tok_nul,
    "\r\n\r\n",
    "\n.\n",
    "\r.\r",
    "\n.\r\n",
    "\r\n.\n",
    ":",
    "<",
    ">",
    "@",
    tok_long,
};
_Static_assert(sizeof tokens / sizeof tokens[0] == 128, "one token per byte 0x80-0xff");

/* The client's bytes in token mode. */
static size_t expand(char *out, size_t cap, const uint8_t *in, size_t len)
{
	static char long_line[5000]; /* over max_line and max_message_size */
	size_t n = 0;
	if (!long_line[0]) {
		memset(long_line, 'a', sizeof long_line - 2);
		memcpy(long_line + sizeof long_line - 2, "\r\n", 2);
	}
	for (size_t i = 0; i < len; i++) {
		const char *t = (const char *)&in[i];
		size_t tl = 1;
		if (in[i] >= 0x80) {
			t = tokens[in[i] - 0x80];
			if (t == tok_nul) {
				t = "";
			} else if (t == tok_long) {
				t = long_line;
				tl = sizeof long_line;
			} else {
				tl = strlen(t);
			}
		}
		if (tl > cap - n)
			break;
		memcpy(out + n, t, tl);
		n += tl;
	}
	return n;
}

/* Chunk sizes: mostly small (pipelining across packets, commands split
 * anywhere), sometimes up to a few hundred bytes; past the first
 * SMALL_CHUNKS_UPTO bytes, large, so a stream of long tokens costs a few
 * writes, not thousands of loop turns. */
static size_t next_chunk(uint32_t *rng, size_t off, size_t left)
{
	if (off >= SMALL_CHUNKS_UPTO)
		return left < 65536 ? left : 65536; /* the bulk of a long token */
	*rng = *rng * 1103515245u + 12345u;
	uint32_t r = *rng >> 8;
	size_t n = 1 + (r >> 4) % (1u << (r % 9));
	return n < left ? n : left;
}

static void run_session(const uint8_t *data, size_t size)
{
	struct variant *v = &g.v[data[0] & 7];
	unsigned depth = (data[0] >> 3) & 7;
	bool auth = (data[0] & 0x40) != 0;
	bool stop = (data[0] & 0x80) != 0;
	unsigned seed = data[1] & 0x7f;
	bool token_mode = (data[1] & 0x80) != 0;
	unsigned chunk_seed = data[2] & 0x7f;
	bool fail_commit = (data[2] & 0x80) != 0;

	static char stream[1 << 20];
	size_t len = prelude(stream, sizeof stream, depth, auth, seed);
	if (token_mode) {
		len += expand(stream + len, sizeof stream - len, data + 3, size - 3);
	} else {
		size_t n = size - 3 < sizeof stream - len ? size - 3 : sizeof stream - len;
		memcpy(stream + len, data + 3, n);
		len += n;
	}

	uint32_t rng = chunk_seed * 2654435761u ^ (uint32_t)len;
	if (fail_commit)
		store_test_fail_next_commits(g.store, 1);
	size_t stop_at = stop ? (seed * 131u) % (len + 1) : SIZE_MAX;
	/* A client that authenticates has an address of its own, so the
	 * failures of fuzzed AUTH commands never throttle it. */
	int fd = client_connect(&v->addr, auth ? "127.0.0.2" : "127.0.0.1");
	size_t off = 0, chunk = 0;
	bool wr_done = false, srv_eof = false, clean_eof = false, stopped = false;
	uint64_t deadline = now_ms() + WATCHDOG_MS;
	static char buf[65536];
	struct reply_check rc = {.len = 0};

	/* Let the server accept first, so that the first chunk boundary is
	 * one the session sees. */
	unsigned accepted = g.accepted;
	while (g.accepted == accepted && now_ms() < deadline) {
		struct pollfd pf = {uv_backend_fd(&g.loop), POLLIN, 0};
		poll(&pf, 1, 50);
		uv_run(&g.loop, UV_RUN_NOWAIT);
	}

	for (;;) {
		bool busy = false, wr_blocked = false;
		if (!stopped && (off >= stop_at || (wr_done && stop))) {
			v->srv.stopping = true;
			conn_shutdown_all();
			stopped = true;
		}
		if (fd >= 0 && !wr_done && off < len) {
			if (chunk == 0)
				chunk = chunk_seed ? next_chunk(&rng, off, len - off) : len - off;
			ssize_t n = send(fd, stream + off, chunk, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0) {
				off += (size_t)n;
				chunk -= (size_t)n;
				busy = true;
			} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				wr_blocked = true;
			} else if (n < 0 && errno != EINTR) {
				wr_done = true; /* the server is gone */
			}
		}
		if (fd >= 0 && !wr_done && off == len) {
			shutdown(fd, SHUT_WR);
			wr_done = true;
		}
		if (fd >= 0) {
			for (;;) {
				ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
				if (n > 0) {
					check_replies(&rc, buf, (size_t)n);
					busy = true;
					continue;
				}
				if (n == 0)
					srv_eof = clean_eof = true;
				else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
					srv_eof = true; /* reset: what was in flight is lost */
				break;
			}
		}
		if (fd >= 0 && srv_eof) {
			close(fd);
			fd = -1;
			busy = true;
		}
		uv_run(&g.loop, UV_RUN_NOWAIT);
		if (fd < 0 && settled())
			break;
		if (now_ms() > deadline) {
			fprintf(stderr,
			        "fuzz_smtp_session: session still running after %d ms: conns=%zu "
			        "reqs=%u written=%zu/%zu server_eof=%d\n",
			        WATCHDOG_MS, conn_live_count(), g.loop.active_reqs.count, off, len,
			        srv_eof);
			uv_print_all_handles(&g.loop, stderr);
			abort();
		}
		if (busy)
			continue;
		int timeout = uv_backend_timeout(&g.loop);
		if (timeout < 0 || timeout > 50)
			timeout = 50;
		struct pollfd pf[2] = {{uv_backend_fd(&g.loop), POLLIN, 0}, {fd, 0, 0}};
		if (fd >= 0)
			pf[1].events = (short)(POLLIN | (wr_blocked ? POLLOUT : 0));
		poll(pf, fd >= 0 ? 2 : 1, timeout);
	}
	if (rc.len && !rc.tls && clean_eof)
		bad_reply(&rc, "unterminated");
	v->srv.stopping = false;
	if (fail_commit)
		store_test_fail_next_commits(g.store, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	if (!g.ready)
		setup();
	run_session(data, size);
	if (++g.inputs % STORE_RESET_EVERY == 0)
		reset_store();
	return 0;
}
