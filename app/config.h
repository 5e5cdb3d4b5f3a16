/* config: tern's settings, loaded from TOML through one declarative table.
 *
 * Every key lives in config_keys[] (config.c): section, name, type, default,
 * bounds and where it is stored in struct config. Loading walks the parsed
 * TOML and looks each key up in that table, so an unknown key, a wrong type
 * or an out-of-range value is an error naming the file, line and key.
 * config.example.toml documents every key; a test checks the two agree.
 *
 * With no file, config_defaults() gives the embedded default: loopback
 * listeners on unprivileged ports, ./tern-data, domain localhost. */
#ifndef TERN_CONFIG_H
#define TERN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_LISTEN 32
#define CONFIG_MAX_CERTS 16

enum listen_protocol { PROTO_SMTP = 0, PROTO_SUBMISSION, PROTO_POP3, PROTO_IMAP };
enum listen_tls { LISTEN_TLS_NONE = 0, LISTEN_TLS_STARTTLS, LISTEN_TLS_IMPLICIT };
enum bare_newline_policy { BARE_NEWLINE_REJECT = 0, BARE_NEWLINE_NORMALIZE };

struct config_listen {
	enum listen_protocol protocol;
	char address[128]; /* "127.0.0.1:2525", "[::1]:2525", "0.0.0.0:25" */
	enum listen_tls tls;
	int64_t max_connections;        /* per listener, 0 = the global limit */
	int64_t max_connections_per_ip; /* 0 = the global limit */
	int64_t idle_timeout;           /* seconds, 0 = the protocol default */
	int line;                       /* where it was defined, for errors */
};

struct config_cert {
	char cert[512];
	char key[512];
};

struct config {
	/* [server] */
	char hostname[256];
	char data_dir[512];
	char domain[256];
	char log_level[16];
	int64_t shutdown_grace; /* seconds */

	/* [tls] */
	struct config_cert certs[CONFIG_MAX_CERTS];
	size_t ncerts;
	int64_t tls_handshake_timeout;

	/* [limits] */
	int64_t max_connections;
	int64_t max_connections_per_ip;
	int64_t max_output;

	/* [auth] */
	bool auth_plaintext_loopback; /* allow AUTH/LOGIN without TLS from loopback */
	int64_t auth_fail_delay_ms;   /* first failure delay, doubles per failure */
	int64_t auth_fail_max_delay_ms;
	int64_t auth_fail_limit;  /* failures per IP before temporary refusal */
	int64_t auth_fail_window; /* seconds a failure counts */

	/* [smtp] */
	int64_t smtp_max_message_size;
	int64_t smtp_spool_memory; /* all messages being received, together */
	int64_t smtp_max_recipients;
	int64_t smtp_max_errors;
	int64_t smtp_max_line;
	int64_t smtp_timeout_command; /* RFC 5321 4.5.3.2: 5 minutes */
	int64_t smtp_timeout_data;    /* 3 minutes per data block */
	char smtp_bare_newline[16];   /* "reject" | "normalize" */
	bool smtp_vrfy_enabled;
	int64_t smtp_greet_delay_ms; /* mx: wait before the greeting to catch early talkers */

	/* [pop3] */
	int64_t pop3_max_errors;
	int64_t pop3_max_line;
	int64_t pop3_timeout; /* 10 minutes */

	/* [imap] */
	int64_t imap_max_errors;
	int64_t imap_max_line;
	int64_t imap_max_literal;
	int64_t imap_timeout; /* 30 minutes */

	/* [queue] */
	int64_t queue_retry_first;     /* seconds */
	int64_t queue_retry_max;       /* seconds */
	int64_t queue_lifetime;        /* seconds */
	int64_t queue_scan_interval;   /* seconds between scans for due rows */
	char queue_dns_servers[512];   /* "ip:port,ip:port"; "" = /etc/resolv.conf */
	int64_t queue_dns_timeout;     /* seconds per DNS try */
	int64_t queue_remote_port;     /* port of MX hosts (25) */
	int64_t queue_connect_timeout; /* seconds */
	char queue_smarthost[256];     /* "" = deliver by MX */
	int64_t queue_smarthost_port;
	char queue_smarthost_user[256];
	char queue_smarthost_password_file[512];
	bool queue_require_tls;               /* every hop must offer STARTTLS */
	char queue_require_tls_domains[1024]; /* comma-separated domains */
	bool queue_verify_tls;                /* verify the peer's certificate */
	int64_t queue_max_connections;        /* outbound connections in total */
	int64_t queue_max_per_domain;         /* outbound connections per domain */
	int64_t queue_delay_dsn_after;        /* seconds; 0 = no delay DSN */
	int64_t queue_max_received_headers;   /* loop limit */

	/* [[listen]] */
	struct config_listen listen[CONFIG_MAX_LISTEN];
	size_t nlisten;

	char path[512]; /* the file it came from, "" for the embedded default */
};

/* The embedded default (also the base every file is applied on). */
void config_defaults(struct config *cfg);
/* Load a file over the defaults. err gets "file:line:col: message". */
int config_load_file(struct config *cfg, const char *path, char *err, size_t errlen);
/* Load from memory (tests, fuzzing). name is used in messages. */
int config_load_string(struct config *cfg, const char *name, const char *text, size_t len,
                       char *err, size_t errlen);
/* Cross-key checks after loading (e.g. duplicate listener addresses). */
int config_validate(const struct config *cfg, char *err, size_t errlen);

const char *config_protocol_name(enum listen_protocol p);
const char *config_tls_name(enum listen_tls t);
enum bare_newline_policy config_bare_newline(const struct config *cfg);

/* Walk the key table: section ("" for top level, "listen" for [[listen]],
 * "tls.cert" for [[tls.cert]]), key, type name, default as TOML text. For the
 * example-file test and `tern check-config --keys`. */
typedef void (*config_key_cb)(void *ud, const char *section, const char *key, const char *type,
                              const char *default_toml);
void config_each_key(config_key_cb cb, void *ud);

#endif
