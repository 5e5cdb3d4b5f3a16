/* test_config_env: TERN_* variables over the embedded default
 * (app/config_env.c): each common key, TERN_LISTEN's names and addresses,
 * and every malformed value refused with a message naming the variable. */
#include "app/config_env.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

/* The environment a test sets: NULL-terminated name/value pairs. */
static const char *const *fake_env;

static char *fake_get(const char *name)
{
	for (const char *const *p = fake_env; p && p[0]; p += 2)
		if (strcmp(p[0], name) == 0)
			return (char *)p[1];
	return NULL;
}

/* Defaults, then the variables; returns config_env_apply's result. */
static int apply(struct config *cfg, const char *const *env, char *err, size_t errlen)
{
	config_defaults(cfg);
	fake_env = env;
	err[0] = '\0';
	return config_env_apply(cfg, fake_get, err, errlen);
}

static void test_nothing_set(void)
{
	struct config cfg, def;
	char err[512];
	const char *const env[] = {NULL};
	CHECK(apply(&cfg, env, err, sizeof err) == 0, "no variables: ok");
	config_defaults(&def);
	CHECK(memcmp(&cfg, &def, sizeof cfg) == 0, "no variables: the embedded default");
	CHECK(cfg.env_vars[0] == '\0', "no variables named");
}

static void test_common_keys(void)
{
	struct config cfg;
	char err[512];
	const char *const env[] = {"TERN_DOMAIN",      "example.org",   "TERN_HOSTNAME",
	                           "mail.example.org", "TERN_DATA_DIR", "/data dir",
	                           "TERN_LOG_LEVEL",   "debug",         NULL};
	CHECK(apply(&cfg, env, err, sizeof err) == 0, "common keys: %s", err);
	CHECK(strcmp(cfg.domain, "example.org") == 0, "domain %s", cfg.domain);
	CHECK(strcmp(cfg.hostname, "mail.example.org") == 0, "hostname %s", cfg.hostname);
	CHECK(strcmp(cfg.data_dir, "/data dir") == 0, "data_dir may hold a space: %s",
	      cfg.data_dir);
	CHECK(strcmp(cfg.log_level, "debug") == 0, "log_level %s", cfg.log_level);
	CHECK(strcmp(cfg.env_vars, "TERN_DOMAIN,TERN_HOSTNAME,TERN_DATA_DIR,TERN_LOG_LEVEL") == 0,
	      "env_vars %s", cfg.env_vars);
	CHECK(cfg.nlisten == 10 && strcmp(cfg.listen[0].address, "127.0.0.1:2525") == 0,
	      "listeners untouched without TERN_LISTEN");
}

static void test_listen(void)
{
	struct config cfg;
	char err[512];
	const char *const env[] = {
	    "TERN_LISTEN",
	    " smtp=0.0.0.0:25,submissions=0.0.0.0:465 submission=0.0.0.0:587\n"
	    "pop3=[::]:110, pop3s=[::1]:995 imap=127.0.0.2:143 "
	    "imaps=0.0.0.0:993 http=0.0.0.0:80 https=0.0.0.0:443 ",
	    NULL};
	CHECK(apply(&cfg, env, err, sizeof err) == 0, "listen: %s", err);
	static const struct {
		enum listen_protocol p;
		enum listen_tls tls;
		const char *addr;
	} want[] = {
	    {PROTO_SMTP, LISTEN_TLS_STARTTLS, "0.0.0.0:25"},
	    {PROTO_SUBMISSION, LISTEN_TLS_IMPLICIT, "0.0.0.0:465"},
	    {PROTO_SUBMISSION, LISTEN_TLS_STARTTLS, "0.0.0.0:587"},
	    {PROTO_POP3, LISTEN_TLS_STARTTLS, "[::]:110"},
	    {PROTO_POP3, LISTEN_TLS_IMPLICIT, "[::1]:995"},
	    {PROTO_IMAP, LISTEN_TLS_STARTTLS, "127.0.0.2:143"},
	    {PROTO_IMAP, LISTEN_TLS_IMPLICIT, "0.0.0.0:993"},
	    {PROTO_HTTP, LISTEN_TLS_NONE, "0.0.0.0:80"},
	    {PROTO_HTTP, LISTEN_TLS_IMPLICIT, "0.0.0.0:443"},
	};
	CHECK(cfg.nlisten == 9, "nlisten %zu", cfg.nlisten);
	for (size_t i = 0; i < 9 && i < cfg.nlisten; i++) {
		const struct config_listen *l = &cfg.listen[i];
		CHECK(l->protocol == want[i].p && l->tls == want[i].tls &&
		          strcmp(l->address, want[i].addr) == 0,
		      "listener %zu: %s %s %s", i, config_protocol_name(l->protocol), l->address,
		      config_tls_name(l->tls));
		CHECK(l->max_connections == 0 && l->max_connections_per_ip == 0 &&
		          l->idle_timeout == 0,
		      "listener %zu: per-listener limits default to 0", i);
	}
	char verr[512];
	CHECK(config_validate(&cfg, verr, sizeof verr) == 0, "the result validates: %s", verr);
	CHECK(strcmp(cfg.env_vars, "TERN_LISTEN") == 0, "env_vars %s", cfg.env_vars);
}

/* Each bad value fails, and the message holds `want`. */
static void bad(const char *var, const char *value, const char *want)
{
	struct config cfg;
	char err[512];
	const char *const env[] = {var, value, NULL};
	int rc = apply(&cfg, env, err, sizeof err);
	CHECK(rc < 0, "%s=\"%s\" refused", var, value);
	CHECK(strstr(err, want) != NULL, "%s=\"%s\": error \"%s\" lacks \"%s\"", var, value, err,
	      want);
	CHECK(strncmp(err, var, strlen(var)) == 0, "the error names %s: %s", var, err);
}

static void test_bad_values(void)
{
	bad("TERN_DOMAIN", "", "is set but empty");
	bad("TERN_HOSTNAME", "mail example", "must not contain spaces");
	bad("TERN_DATA_DIR", "", "is set but empty");
	bad("TERN_LOG_LEVEL", "verbose", "one of debug, info, warn, error");
	bad("TERN_LISTEN", "", "names no listener");
	bad("TERN_LISTEN", " , ", "names no listener");
	bad("TERN_LISTEN", "smtp", "is not NAME=HOST:PORT");
	bad("TERN_LISTEN", "smtps=0.0.0.0:465", "unknown name \"smtps\"");
	bad("TERN_LISTEN", "SMTP=0.0.0.0:25", "unknown name");
	bad("TERN_LISTEN", "smtp=0.0.0.0", "HOST:PORT");
	bad("TERN_LISTEN", "smtp=0.0.0.0:", "HOST:PORT");
	bad("TERN_LISTEN", "smtp=:25", "HOST:PORT");
	bad("TERN_LISTEN", "smtp=0.0.0.0:0", "from 1 to 65535");
	bad("TERN_LISTEN", "smtp=0.0.0.0:65536", "from 1 to 65535");
	bad("TERN_LISTEN", "smtp=0.0.0.0:2x5", "HOST:PORT");
	bad("TERN_LISTEN", "smtp=0.0.0.0:-25", "HOST:PORT");
	bad("TERN_LISTEN", "smtp=0.0.0.0:0000025", "HOST:PORT");
	bad("TERN_LISTEN", "smtp=[::1:25", "HOST:PORT");
	bad("TERN_LISTEN", "smtp=[]:25", "HOST:PORT");
	bad("TERN_LISTEN", "smtp=0.0.0.0:25 imap=0.0.0.0:25", "0.0.0.0:25 is used twice");
	char longv[400];
	memset(longv, 'a', sizeof longv - 1);
	longv[sizeof longv - 1] = '\0';
	memcpy(longv, "smtp=", 5);
	bad("TERN_LISTEN", longv, "too long");
	char many[2000] = "";
	for (int i = 0; i < CONFIG_MAX_LISTEN + 1; i++) {
		char e[40];
		snprintf(e, sizeof e, "smtp=127.0.0.1:%d ", 10000 + i);
		strcat(many, e);
	}
	bad("TERN_LISTEN", many, "too many entries");
	char dom[400];
	memset(dom, 'd', sizeof dom - 1);
	dom[sizeof dom - 1] = '\0';
	bad("TERN_DOMAIN", dom, "too long");
}

/* Exactly CONFIG_MAX_LISTEN entries fit (and a trailing comma is fine). */
static void test_listen_limit_exact(void)
{
	struct config cfg;
	char err[512], many[2000] = "";
	for (int i = 0; i < CONFIG_MAX_LISTEN; i++) {
		char e[40];
		snprintf(e, sizeof e, "imap=127.0.0.1:%d,", 20000 + i);
		strcat(many, e);
	}
	const char *const env[] = {"TERN_LISTEN", many, NULL};
	CHECK(apply(&cfg, env, err, sizeof err) == 0, "%d listeners fit: %s", CONFIG_MAX_LISTEN,
	      err);
	CHECK(cfg.nlisten == CONFIG_MAX_LISTEN, "nlisten %zu", cfg.nlisten);
}

static void test_env_file(void)
{
	char dir[] = "/tmp/tern-config-env-XXXXXX";
	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	char buf[600];
	const char *const none[] = {NULL};
	fake_env = none;
	CHECK(config_env_file(fake_get, buf, sizeof buf) == NULL, "no TERN_DATA_DIR: no file");
	const char *const env[] = {"TERN_DATA_DIR", dir, NULL};
	fake_env = env;
	CHECK(config_env_file(fake_get, buf, sizeof buf) == NULL, "no tern.toml yet: no file");
	char path[600];
	snprintf(path, sizeof path, "%s/tern.toml", dir);
	CHECK(mkdir(path, 0700) == 0, "a directory named tern.toml");
	CHECK(config_env_file(fake_get, buf, sizeof buf) == NULL, "a directory is not the file");
	rmdir(path);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL, "create %s", path);
	if (f)
		fclose(f);
	const char *got = config_env_file(fake_get, buf, sizeof buf);
	CHECK(got && strcmp(got, path) == 0, "found %s", got ? got : "(null)");
	char small[8];
	CHECK(config_env_file(fake_get, small, sizeof small) == NULL, "too long a path: no file");
	check_remove_dir(dir);
}

int main(void)
{
	test_nothing_set();
	test_common_keys();
	test_listen();
	test_bad_values();
	test_listen_limit_exact();
	test_env_file();
	return check_report("test_config_env");
}
