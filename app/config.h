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

#include "acme/acme.h"
#include "auth/auth.h"
#include "proto/http/http.h"
#include "proto/imap/imap.h"
#include "proto/jmap/jmap.h"
#include "proto/pop3/pop3.h"
#include "proto/sieve/managesieve.h"
#include "proto/smtp/smtp.h"
#include "relay/scheduler.h"
#include "relay/webhook_runner.h"

#define CONFIG_MAX_LISTEN 32
#define CONFIG_MAX_CERTS 16
#define CONFIG_MAX_ACME 8

/* PROTO_SIEVE is last: the ones before it are counted in lib/metrics.h's
 * order (app/serve.c). */
enum listen_protocol {
	PROTO_SMTP = 0,
	PROTO_SUBMISSION,
	PROTO_POP3,
	PROTO_IMAP,
	PROTO_HTTP,
	PROTO_SIEVE
};
enum listen_tls { LISTEN_TLS_NONE = 0, LISTEN_TLS_STARTTLS, LISTEN_TLS_IMPLICIT };

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
	/* [log] */
	char log_format[16];    /* "logfmt" | "json" */
	int64_t shutdown_grace; /* seconds */
	int64_t disk_reserve;   /* bytes kept aside so that deletes commit on a full disk */

	/* [tls] */
	struct config_cert certs[CONFIG_MAX_CERTS];
	size_t ncerts;
	struct acme_entry_config acme[CONFIG_MAX_ACME]; /* [[tls.acme]] */
	size_t nacme;
	int64_t tls_handshake_timeout;

	/* [limits] */
	int64_t max_connections;
	int64_t max_connections_per_ip;
	int64_t max_output;
	int64_t login_deadline; /* seconds to log in (submission, POP3, IMAP), whatever is sent */

	/* The sections each layer reads, in the structs those layers own. */
	struct auth_settings auth;          /* [auth] */
	struct smtp_settings smtp;          /* [smtp] */
	struct pop3_settings pop3;          /* [pop3] */
	struct msieve_settings managesieve; /* [managesieve] */
	struct imap_settings imap;          /* [imap] */
	struct http_settings http;          /* [http] */
	struct jmap_settings jmap;          /* [jmap] */
	struct relay_settings queue;        /* [queue] */
	struct webhook_settings webhooks;   /* [webhooks] */
	char srs_secret[256];               /* [srs] secret: "" = <data_dir>/srs.secret */

	struct smtp_spam_settings spam; /* [spam] and [[spam.dnsbl]] */

	/* [[listen]] */
	struct config_listen listen[CONFIG_MAX_LISTEN];
	size_t nlisten;

	char path[512]; /* the file it came from, "" for the embedded default */
	/* The TERN_* variables applied under it (app/config_env.h), "" for none. */
	char env_vars[96];
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

/* Walk the key table: section ("" for top level, "listen" for [[listen]],
 * "tls.cert" for [[tls.cert]], "tls.acme" for [[tls.acme]]), key, type
 * name, default as TOML text. For the example-file test and
 * `tern check-config --keys`. */
typedef void (*config_key_cb)(void *ud, const char *section, const char *key, const char *type,
                              const char *default_toml);
void config_each_key(config_key_cb cb, void *ud);

#endif
