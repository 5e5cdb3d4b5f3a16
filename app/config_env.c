/* config_env: TERN_* environment variables over the embedded default (see
 * config_env.h for the list and the order). Kept apart from config.c,
 * whose key table is the file's grammar: these are a handful of common
 * keys with names of their own, and TERN_LISTEN's short service names. */
#include "app/config_env.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/log.h"

/* A TERN_LISTEN name: the protocol and TLS mode it stands for. */
static const struct {
	const char *name;
	enum listen_protocol protocol;
	enum listen_tls tls;
} services[] = {
    {"smtp", PROTO_SMTP, LISTEN_TLS_STARTTLS},
    {"submission", PROTO_SUBMISSION, LISTEN_TLS_STARTTLS},
    {"submissions", PROTO_SUBMISSION, LISTEN_TLS_IMPLICIT},
    {"pop3", PROTO_POP3, LISTEN_TLS_STARTTLS},
    {"pop3s", PROTO_POP3, LISTEN_TLS_IMPLICIT},
    {"imap", PROTO_IMAP, LISTEN_TLS_STARTTLS},
    {"imaps", PROTO_IMAP, LISTEN_TLS_IMPLICIT},
    {"http", PROTO_HTTP, LISTEN_TLS_NONE},
    {"https", PROTO_HTTP, LISTEN_TLS_IMPLICIT},
    {"sieve", PROTO_SIEVE, LISTEN_TLS_STARTTLS},
};
#define NSERVICES (sizeof services / sizeof services[0])
#define SERVICE_NAMES "smtp, submission, submissions, pop3, pop3s, imap, imaps, http, https, sieve"

/* "HOST:PORT" or "[V6]:PORT" with a port in 1..65535 and no spaces; the
 * listener checks that HOST is an IP address when it binds. */
static bool address_ok(const char *a)
{
	const char *colon = strrchr(a, ':');
	if (!colon || colon == a || !colon[1] || strlen(colon + 1) > 5)
		return false;
	long port = 0;
	for (const char *p = colon + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		port = port * 10 + (*p - '0');
	}
	if (port < 1 || port > 65535)
		return false;
	if (a[0] == '[')
		return colon - a >= 3 && colon[-1] == ']';
	return true;
}

static int parse_listen(struct config *cfg, const char *value, char *err, size_t errlen)
{
	struct config_listen list[CONFIG_MAX_LISTEN];
	size_t n = 0;
	const char *p = value;
	for (;;) {
		p += strspn(p, " \t\n,");
		if (!*p)
			break;
		size_t len = strcspn(p, " \t\n,");
		char entry[200];
		if (len >= sizeof entry) {
			snprintf(err, errlen, "TERN_LISTEN: an entry is too long: \"%.40s...\"", p);
			return -1;
		}
		memcpy(entry, p, len);
		entry[len] = '\0';
		p += len;
		char *eq = strchr(entry, '=');
		if (!eq) {
			snprintf(err, errlen,
			         "TERN_LISTEN: \"%s\" is not NAME=HOST:PORT (NAME is one of %s)",
			         entry, SERVICE_NAMES);
			return -1;
		}
		*eq = '\0';
		const char *addr = eq + 1;
		size_t s = 0;
		while (s < NSERVICES && strcmp(services[s].name, entry) != 0)
			s++;
		if (s == NSERVICES) {
			snprintf(err, errlen, "TERN_LISTEN: unknown name \"%s\" (one of %s)", entry,
			         SERVICE_NAMES);
			return -1;
		}
		if (!address_ok(addr) || strlen(addr) >= sizeof list[0].address) {
			snprintf(err, errlen,
			         "TERN_LISTEN: %s=\"%s\": the address must be HOST:PORT or "
			         "[IPV6]:PORT with a port from 1 to 65535",
			         entry, addr);
			return -1;
		}
		for (size_t i = 0; i < n; i++)
			if (strcmp(list[i].address, addr) == 0) {
				snprintf(err, errlen, "TERN_LISTEN: %s is used twice", addr);
				return -1;
			}
		if (n == CONFIG_MAX_LISTEN) {
			snprintf(err, errlen, "TERN_LISTEN: too many entries (at most %d)",
			         CONFIG_MAX_LISTEN);
			return -1;
		}
		/* The other per-listener keys keep their defaults (0: the global
		 * limits and the protocol's timeout), as a [[listen]] entry
		 * without them. */
		struct config_listen *l = &list[n++];
		memset(l, 0, sizeof *l);
		l->protocol = services[s].protocol;
		l->tls = services[s].tls;
		snprintf(l->address, sizeof l->address, "%s", addr);
	}
	if (n == 0) {
		snprintf(err, errlen, "TERN_LISTEN is set but names no listener");
		return -1;
	}
	memcpy(cfg->listen, list, n * sizeof list[0]);
	cfg->nlisten = n;
	return 0;
}

static int set_string(char *field, size_t size, const char *var, const char *value, char *err,
                      size_t errlen)
{
	if (!value[0]) {
		snprintf(err, errlen, "%s is set but empty (unset it for the default)", var);
		return -1;
	}
	if (strlen(value) >= size) {
		snprintf(err, errlen, "%s is too long (at most %zu bytes)", var, size - 1);
		return -1;
	}
	if (strpbrk(value, " \t\r\n") && strcmp(var, "TERN_DATA_DIR") != 0) {
		snprintf(err, errlen, "%s must not contain spaces: \"%s\"", var, value);
		return -1;
	}
	snprintf(field, size, "%s", value);
	return 0;
}

static void note_var(struct config *cfg, const char *var)
{
	size_t used = strlen(cfg->env_vars);
	snprintf(cfg->env_vars + used, sizeof cfg->env_vars - used, "%s%s", used ? "," : "", var);
}

int config_env_apply(struct config *cfg, config_env_get_fn get, char *err, size_t errlen)
{
	const struct {
		const char *var;
		char *field;
		size_t size;
	} strings[] = {
	    {"TERN_DOMAIN", cfg->domain, sizeof cfg->domain},
	    {"TERN_HOSTNAME", cfg->hostname, sizeof cfg->hostname},
	    {"TERN_DATA_DIR", cfg->data_dir, sizeof cfg->data_dir},
	};
	cfg->env_vars[0] = '\0';
	for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
		const char *v = get(strings[i].var);
		if (!v)
			continue;
		if (set_string(strings[i].field, strings[i].size, strings[i].var, v, err, errlen) <
		    0)
			return -1;
		note_var(cfg, strings[i].var);
	}
	const char *level = get("TERN_LOG_LEVEL");
	if (level) {
		if (log_level_parse(level) < 0) {
			snprintf(
			    err, errlen,
			    "TERN_LOG_LEVEL must be one of debug, info, warn, error, not \"%.32s\"",
			    level);
			return -1;
		}
		snprintf(cfg->log_level, sizeof cfg->log_level, "%s", level);
		note_var(cfg, "TERN_LOG_LEVEL");
	}
	const char *listen = get("TERN_LISTEN");
	if (listen) {
		if (parse_listen(cfg, listen, err, errlen) < 0)
			return -1;
		note_var(cfg, "TERN_LISTEN");
	}
	return 0;
}

const char *config_env_file(config_env_get_fn get, char *buf, size_t len)
{
	const char *dir = get("TERN_DATA_DIR");
	if (!dir || !dir[0])
		return NULL;
	int n = snprintf(buf, len, "%s/%s", dir, CONFIG_ENV_FILE);
	struct stat st;
	if (n < 0 || (size_t)n >= len || stat(buf, &st) < 0 || !S_ISREG(st.st_mode))
		return NULL;
	return buf;
}

static bool is_loopback(const char *address)
{
	return strncmp(address, "127.", 4) == 0 || strncmp(address, "[::1]:", 6) == 0 ||
	       strncmp(address, "::1:", 4) == 0;
}

void config_env_log(const struct config *cfg)
{
	log_info("event=config file=%s env=%s", cfg->path[0] ? cfg->path : "\"(embedded default)\"",
	         cfg->env_vars[0] ? cfg->env_vars : "-");
	for (size_t i = 0; i < cfg->nlisten; i++)
		if (!is_loopback(cfg->listen[i].address))
			return;
	log_info("event=loopback_only listeners=%zu note=\"only this machine can connect\" "
	         "hint=\"set [[listen]] addresses in a config file, or TERN_LISTEN\"",
	         cfg->nlisten);
}
