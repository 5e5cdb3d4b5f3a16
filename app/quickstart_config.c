/* quickstart_config: the tern.toml `tern quickstart` writes, and writing
 * it safely (see quickstart.h).
 *
 * The file sets only what differs from the embedded default, with a
 * comment for each part, so that it stays readable next to
 * config.example.toml: [server] names and data_dir, MTA-STS in "testing"
 * mode (reports only: a sender never refuses to deliver because of it),
 * ACME for the host name and mta-sts.<domain> (two entries, so that one
 * name whose DNS is not there yet does not hold up the other), and the
 * standard ports on every interface. "[::]" takes IPv4 as well on Linux
 * (dual stack) unless net.ipv6.bindv6only is set; then both wildcards are
 * written. A host without IPv6 gets "0.0.0.0". tern has no ManageSieve
 * listener, so there is no 4190. */
#include "app/quickstart.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

const char quickstart_ports[] = "25 587 465 110 995 143 993 80 443";

static const struct {
	const char *protocol;
	int port;
	const char *tls;
	const char *what;
} listeners[] = {
    {"smtp", 25, "starttls", "mail from the Internet (MX)"},
    {"submission", 587, "starttls", "mail clients sending (STARTTLS)"},
    {"submission", 465, "implicit", "mail clients sending (TLS)"},
    {"pop3", 110, "starttls", "POP3 (STARTTLS)"},
    {"pop3", 995, "implicit", "POP3 (TLS)"},
    {"imap", 143, "starttls", "IMAP (STARTTLS)"},
    {"imap", 993, "implicit", "IMAP (TLS)"},
    {"http", 80, "none", "autoconfig, ACME http-01, redirects to HTTPS"},
    {"http", 443, "implicit", "HTTPS: autodiscover, MTA-STS policy, admin API"},
};

/* Whether an IPv6 wildcard can be bound here at all. */
static bool have_ipv6(void)
{
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT};
	bool ok = bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	close(fd);
	return ok;
}

/* net.ipv6.bindv6only: "[::]" then takes IPv6 only. */
static bool v6only_default(void)
{
	FILE *f = fopen("/proc/sys/net/ipv6/bindv6only", "r");
	int c = f ? fgetc(f) : '0';
	if (f)
		fclose(f);
	return c == '1';
}

struct text {
	char *p;
	size_t len, used;
	bool overflow;
};

static void add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(t->p + t->used, t->len - t->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= t->len - t->used)
		t->overflow = true;
	else
		t->used += (size_t)n;
}

/* s as the inside of a TOML basic string: quote and backslash escaped,
 * control bytes as \uXXXX. */
static const char *toml_escaped(const char *s, char *out, size_t len)
{
	size_t n = 0;
	for (; *s && n + 7 < len; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			out[n++] = '\\';
			out[n++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			n += (size_t)snprintf(out + n, len - n, "\\u%04x", c);
		} else {
			out[n++] = (char)c;
		}
	}
	out[n] = '\0';
	return out;
}

int quickstart_config_text(const struct quickstart_site *s, char *out, size_t len)
{
	struct text t = {out, len, 0, false};
	char data_dir[2100];
	out[0] = '\0';
	add(&t,
	    "# tern configuration written by `tern quickstart %s`.\n"
	    "# Every other key keeps its default: config.example.toml lists them all.\n"
	    "# Check changes with `tern check-config --config FILE`.\n\n"
	    "[server]\n"
	    "# The name in DNS (MX, A/AAAA) and in the TLS certificate.\n"
	    "hostname = \"%s\"\n"
	    "# The primary domain: bare user names at login are taken in it.\n"
	    "domain = \"%s\"\n"
	    "# The store, certificates and keys. Back this directory up.\n"
	    "data_dir = \"%s\"\n\n",
	    s->address, s->hostname, s->domain,
	    toml_escaped(s->data_dir, data_dir, sizeof data_dir));
	add(&t, "[http]\n"
	        "# MTA-STS (RFC 8461) in testing mode: senders report TLS failures to the\n"
	        "# TLS-RPT address but deliver anyway. Move to \"enforce\" once the reports\n"
	        "# are clean and https://mta-sts.<domain>/ has a valid certificate.\n"
	        "mta_sts_mode = \"testing\"\n\n");
	if (s->acme) {
		add(&t,
		    "# Certificates from Let's Encrypt over http-01 (port 80 below), ordered at\n"
		    "# start and renewed by tern. Until DNS points here the orders fail and are\n"
		    "# retried (1 minute, doubling up to 6 hours; a restart orders at once);\n"
		    "# meanwhile a self-signed certificate is served.\n"
		    "[[tls.acme]]\n"
		    "directory = \"https://acme-v02.api.letsencrypt.org/directory\"\n"
		    "contact = \"mailto:%s\"\n"
		    "domains = \"%s\"\n\n"
		    "# The MTA-STS policy's name, in an order of its own.\n"
		    "[[tls.acme]]\n"
		    "directory = \"https://acme-v02.api.letsencrypt.org/directory\"\n"
		    "contact = \"mailto:%s\"\n"
		    "domains = \"mta-sts.%s\"\n\n",
		    s->address, s->hostname, s->address, s->domain);
	} else {
		add(&t,
		    "# No ACME: a self-signed certificate is served. Add [[tls.cert]] (your own\n"
		    "# certificate) or [[tls.acme]] entries: see config.example.toml.\n\n");
	}
	const char *wild[2] = {"0.0.0.0", NULL};
	if (have_ipv6()) {
		wild[0] = "[::]";
		if (v6only_default()) {
			wild[0] = "0.0.0.0";
			wild[1] = "[::]";
		}
	}
	add(&t,
	    "# The standard ports on every interface%s.\n"
	    "# tern has no ManageSieve listener, so 4190 is not here.\n",
	    wild[1] || wild[0][0] == '0' ? "" : " (\"[::]\" takes IPv4 too)");
	for (size_t i = 0; i < sizeof listeners / sizeof listeners[0]; i++)
		for (size_t w = 0; w < 2 && wild[w]; w++)
			add(&t,
			    "\n# %s\n[[listen]]\nprotocol = \"%s\"\naddress = \"%s:%d\"\n"
			    "tls = \"%s\"\n",
			    listeners[i].what, listeners[i].protocol, wild[w], listeners[i].port,
			    listeners[i].tls);
	return t.overflow ? -1 : 0;
}

int quickstart_mkdirs(const char *path, unsigned mode)
{
	char buf[1024];
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof buf) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, n + 1);
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = '\0';
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, (mode_t)mode) < 0) {
		struct stat st;
		if (errno != EEXIST)
			return -1;
		if (stat(buf, &st) < 0 || !S_ISDIR(st.st_mode)) {
			errno = ENOTDIR;
			return -1;
		}
	}
	return 0;
}

static int fail(char *err, size_t errlen, const char *what, const char *path)
{
	snprintf(err, errlen, "cannot %s %s: %s", what, path, strerror(errno));
	return -1;
}

int quickstart_write_file(const char *path, const char *text, bool backup, char *err, size_t errlen)
{
	char tmp[1100], bak[1100], dir[1100];
	snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
	snprintf(bak, sizeof bak, "%s.bak", path);
	snprintf(dir, sizeof dir, "%s", path);
	char *parent = dirname(dir);
	if (quickstart_mkdirs(parent, 0755) < 0)
		return fail(err, errlen, "create the directory", parent);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return fail(err, errlen, "write", path);
	size_t len = strlen(text);
	bool ok = write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
	if (close(fd) != 0)
		ok = false;
	if (!ok) {
		fail(err, errlen, "write", tmp);
		unlink(tmp);
		return -1;
	}
	if (backup && access(path, F_OK) == 0 && rename(path, bak) < 0) {
		fail(err, errlen, "keep the old file as", bak);
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		fail(err, errlen, "write", path);
		unlink(tmp);
		return -1;
	}
	int dfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

int quickstart_absolute(const char *path, char *out, size_t len)
{
	if (path[0] == '/') {
		if (strlen(path) >= len)
			return -1;
		snprintf(out, len, "%s", path);
		return 0;
	}
	char cwd[1024];
	if (!getcwd(cwd, sizeof cwd))
		return -1;
	while (path[0] == '.' && path[1] == '/')
		path += 2;
	int n = snprintf(out, len, "%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, path);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}
