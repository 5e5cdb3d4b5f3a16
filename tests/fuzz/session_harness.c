/* session_harness: see session_harness.h. */
#include "tests/fuzz/session_harness.h"

#include "auth/auth.h"
#include "net/conn.h"
#include "proto/imap/index.h"
#include "proto/imap/view_cache.h"
#include "lib/log.h"
#include "store/accounts.h"
#include "store/store.h"
#include "tls/tls.h"

#include <arpa/inet.h>
#include <crypt.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
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

#define MAX_VARIANTS 16
#define MAX_BASE_HANDLES 48

static struct {
	const struct harness_spec *spec;
	bool ready;
	uv_loop_t loop;
	char dir[256];
	char store_dir[300];
	struct store *store;
	struct auth_settings auth_settings;
	struct auth_pool *auth;
	struct tls_server *tls;
	struct harness_variant v[MAX_VARIANTS];
	uv_handle_t *base[MAX_BASE_HANDLES]; /* handles that live across inputs */
	size_t nbase;
	unsigned inputs;
	unsigned accepted; /* connections handed to conn_accept() */
} g;

_Noreturn void harness_die(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_%s_session: %s: %s\n", g.spec ? g.spec->name : "?", what,
	        detail ? detail : strerror(errno));
	abort();
}

void harness_print_escaped(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		fprintf(stderr, c >= 32 && c < 127 && c != '"' && c != '\\' ? "%c" : "\\x%02x", c);
	}
}

/* ---- the client's bytes -------------------------------------------------- */

const char harness_tok_nul[] = "(NUL)", harness_tok_long[] = "(long line)";

size_t harness_add(char *out, size_t cap, size_t n, const char *text)
{
	size_t len = strlen(text);
	if (n + len > cap)
		harness_die("prelude", "too long");
	memcpy(out + n, text, len);
	return n + len;
}

/* One word of t, or false when it does not fit. */
static bool add_word(char *out, size_t cap, size_t *n, const struct harness_tokens *t,
                     const char *w)
{
	if (w == harness_tok_long) {
		size_t plen = strlen(t->long_prefix);
		if (t->long_len > cap - *n || t->long_len < plen + 2)
			return false;
		memcpy(out + *n, t->long_prefix, plen);
		memset(out + *n + plen, 'a', t->long_len - plen - 2);
		memcpy(out + *n + t->long_len - 2, "\r\n", 2);
		*n += t->long_len;
		return true;
	}
	size_t wl = w == harness_tok_nul ? 1 : strlen(w);
	if (wl > cap - *n)
		return false;
	memcpy(out + *n, w == harness_tok_nul ? "" : w, wl);
	*n += wl;
	return true;
}

size_t harness_add_input(char *out, size_t cap, size_t n, const uint8_t *in, size_t len,
                         const struct harness_tokens *t)
{
	for (size_t i = 0; i < len && n < cap; i++) {
		if (t && in[i] >= 0x80) {
			if (!add_word(out, cap, &n, t, t->words[(in[i] - 0x80) % t->nwords]))
				break;
		} else {
			out[n++] = (char)in[i];
		}
	}
	return n;
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
		char name[16], path[512];
		if (sscanf(e->d_name, "tern-fuzz-%15[a-z0-9]-%ld-", name, &pid) != 2 || pid <= 0 ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof path, "%s/%s", base, e->d_name);
		nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
	closedir(d);
}

static int populate(struct store_tx *tx, void *arg)
{
	/* Cheap on purpose: a login with the right password costs 1000
	 * rounds of SHA-512, not a yescrypt. */
	struct crypt_data *cd = calloc(1, sizeof *cd);
	if (!cd)
		return -ENOMEM;
	const char *h = crypt_r(HARNESS_PASSWORD, "$6$rounds=1000$fuzzsalt$", cd);
	char hash[STORE_HASH_MAX];
	snprintf(hash, sizeof hash, "%s", h && h[0] != '*' ? h : "*");
	free(cd);
	int64_t id = 0;
	int rc = store_domain_add(tx, HARNESS_DOMAIN);
	if (rc == 0)
		rc = store_account_add(tx, HARNESS_USER, hash, &id);
	if (rc == 0 && g.spec->populate)
		rc = g.spec->populate(tx, hash, id);
	return rc < 0 ? rc : 0;
}

static void on_walk_base(uv_handle_t *h, void *arg)
{
	if (g.nbase == MAX_BASE_HANDLES)
		harness_die("setup", "too many handles");
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
		harness_die("store_open", err);
	imap_index_register(g.store); /* as serve does */
	if (store_exec(g.store, populate, NULL) < 0)
		harness_die("store", "cannot create the accounts");
	if (auth_pool_new(&g.auth, &g.loop, g.store, &g.auth_settings) < 0)
		harness_die("auth_pool_new", NULL);
	for (size_t i = 0; i < g.spec->nvariants; i++) {
		g.v[i].env.store = g.store;
		g.v[i].env.auth = g.auth;
	}
}

/* A fresh database: the old one only grows. The auth pool, which reads
 * it, goes with it (and its throttle table: every 5000 inputs). */
void harness_reset_store(void)
{
	auth_pool_free(&g.auth);
	store_close(&g.store);
	imap_view_cache_clear(); /* SELECT's indexes were of the old one */
	uv_run(&g.loop, UV_RUN_NOWAIT);
	nftw(g.store_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	open_store();
	record_base_handles();
}

/* In front of the protocol's start function: one more connection. */
static void on_start(struct conn *c, void *ctx)
{
	struct harness_variant *v = ctx;
	g.accepted++;
	v->wired.spec.start(c, v->wired.spec.ctx);
}

static void setup_variant(struct harness_variant *v, size_t i)
{
	struct config *cfg = &v->cfg;
	config_defaults(cfg);
	snprintf(cfg->hostname, sizeof cfg->hostname, "mail." HARNESS_DOMAIN);
	snprintf(cfg->domain, sizeof cfg->domain, HARNESS_DOMAIN);
	snprintf(cfg->data_dir, sizeof cfg->data_dir, "%s", g.store_dir);
	cfg->nlisten = 1;
	struct config_listen *lc = &cfg->listen[0];
	memset(lc, 0, sizeof *lc);
	snprintf(lc->address, sizeof lc->address, "127.0.0.1:0");
	v->max_output = 0;
	g.spec->configure(v, i);

	/* What serve_run() sets (the store and the auth pool: open_store()). */
	v->env.hostname = cfg->hostname;
	v->env.domain = cfg->domain;
	v->env.auth_plaintext_loopback = cfg->auth.plaintext_loopback;
	v->env.stopping = false;
	bool starttls = lc->tls == LISTEN_TLS_STARTTLS;
	serve_wire_listener(&v->wired, cfg, lc, &v->env, starttls ? g.tls : NULL);

	struct listener_spec spec = v->wired.spec;
	spec.start = on_start;
	spec.ctx = v;
	if (v->max_output)
		spec.limits.max_output = v->max_output;
	struct sockaddr_storage bound;
	char err[512];
	if (listener_open(&g.loop, &spec, &bound, err, sizeof err) < 0)
		harness_die("listener_open", err);
	memcpy(&v->addr, &bound, sizeof v->addr);
}

void harness_setup(const struct harness_spec *spec)
{
	if (g.ready)
		return;
	g.spec = spec;
	if (spec->nvariants > MAX_VARIANTS)
		harness_die("setup", "too many variants");

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
	snprintf(g.dir, sizeof g.dir, "%s/tern-fuzz-%s-%ld-XXXXXX", base, spec->name,
	         (long)getpid());
	if (!mkdtemp(g.dir))
		harness_die("mkdtemp", NULL);
	atexit(cleanup);
	snprintf(g.store_dir, sizeof g.store_dir, "%s/data", g.dir);
	/* Failures answer at once; past 20 a second the client's address is
	 * throttled until the second is over (a path of its own), and past 10
	 * the account takes one guess a second (another). */
	g.auth_settings = (struct auth_settings){
	    .fail_delay_ms = 0,
	    .fail_max_delay_ms = 0,
	    .fail_limit = 20,
	    .fail_window = 1,
	    .account_fail_limit = 10,
	    .account_fail_interval_ms = 1000,
	    .domain = HARNESS_DOMAIN,
	};

	if (uv_loop_init(&g.loop) != 0)
		harness_die("uv_loop_init", NULL);
	char err[512];
	if (tls_server_create(&g.tls, NULL, 0, g.dir, "mail." HARNESS_DOMAIN, err, sizeof err) < 0)
		harness_die("tls_server_create", err);
	open_store();
	for (size_t i = 0; i < spec->nvariants; i++)
		setup_variant(&g.v[i], i);
	record_base_handles();
	g.ready = true;
}

struct harness_variant *harness_variant(size_t i)
{
	return &g.v[i % g.spec->nvariants];
}

struct store *harness_store(void)
{
	return g.store;
}

void harness_input_done(void)
{
	if (++g.inputs % HARNESS_STORE_RESET_EVERY == 0)
		harness_reset_store();
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
	/* A session that closed with a store job in flight (an APPEND whose
	 * connection went away) gives its memory back in the completion. */
	if (store_jobs_outstanding(g.store) != 0)
		return false;
	size_t extra = 0;
	uv_walk(&g.loop, on_walk_count, &extra);
	return extra == 0;
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
		harness_die("socket", NULL);
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
		harness_die("bind", NULL);
	/* Every chunk its own segment, at once: with Nagle, each small chunk
	 * would wait for the server's delayed ACK. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	/* Blocking: on loopback the kernel completes it without our accept. */
	if (connect(fd, (const struct sockaddr *)to, sizeof *to) < 0)
		harness_die("connect", NULL);
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		harness_die("fcntl", NULL);
	return fd;
}

/* Chunk sizes: mostly small (pipelining across packets, commands split
 * anywhere), sometimes up to a few hundred bytes; past the first
 * HARNESS_SMALL_CHUNKS_UPTO bytes, large, so a stream of long tokens costs
 * a few writes, not thousands of loop turns. */
static size_t next_chunk(uint32_t *rng, size_t off, size_t left)
{
	if (off >= HARNESS_SMALL_CHUNKS_UPTO)
		return left < 65536 ? left : 65536; /* the bulk of a long token */
	*rng = *rng * 1103515245u + 12345u;
	uint32_t r = *rng >> 8;
	size_t n = 1 + (r >> 4) % (1u << (r % 9));
	return n < left ? n : left;
}

bool harness_run(struct harness_variant *v, const struct harness_session *hs)
{
	const char *stream = hs->stream;
	size_t len = hs->len;
	unsigned chunk_seed = hs->chunk_seed;
	bool stop = hs->stop;
	size_t stop_at = stop ? hs->stop_at : SIZE_MAX;

	uint32_t rng = chunk_seed * 2654435761u ^ (uint32_t)len;
	if (hs->fail_commit)
		store_test_fail_next_commits(g.store, 1);
	int fd = client_connect(&v->addr, hs->from_ip ? hs->from_ip : "127.0.0.1");
	size_t off = 0, chunk = 0;
	bool wr_done = false, srv_eof = false, clean_eof = false, stopped = false;
	uint64_t deadline = now_ms() + HARNESS_WATCHDOG_MS;
	static char buf[65536];

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
			v->env.stopping = true;
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
					hs->on_bytes(hs->ud, buf, (size_t)n);
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
			        "fuzz_%s_session: session still running after %d ms: conns=%zu "
			        "reqs=%u written=%zu/%zu server_eof=%d\n",
			        g.spec->name, HARNESS_WATCHDOG_MS, conn_live_count(),
			        g.loop.active_reqs.count, off, len, srv_eof);
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
	v->env.stopping = false;
	if (hs->fail_commit)
		store_test_fail_next_commits(g.store, 0);
	return clean_eof;
}

bool harness_run_input(const struct harness_layout *l, const uint8_t *data, size_t size, void *ud)
{
	unsigned depth = (data[0] >> 3) & 7, seed = data[1] & 0x7f;
	bool token_mode = (data[0] & 0x40) != 0, stop = (data[0] & 0x80) != 0;

	static char stream[1 << 20];
	size_t len = l->prelude(stream, sizeof stream, depth, seed);
	/* Room left for finish. */
	len = harness_add_input(stream, sizeof stream - 16, len, data + 3, size - 3,
	                        token_mode ? l->dictionary : NULL);
	if (data[2] & 0x80)
		len = harness_add(stream, sizeof stream, len, l->finish);

	struct harness_session hs = {
	    .stream = stream,
	    .len = len,
	    .chunk_seed = data[2] & 0x7f,
	    .stop = stop,
	    .stop_at = stop ? (seed * 131u) % (len + 1) : SIZE_MAX,
	    .fail_commit = (data[1] & 0x80) != 0,
	    .from_ip = depth ? "127.0.0.2" : "127.0.0.1",
	    .on_bytes = l->on_bytes,
	    .ud = ud,
	};
	return harness_run(harness_variant(data[0] & 7), &hs);
}
