/* config: the declarative key table and the TOML loader over it.
 *
 * The table below is the single source of truth for every setting: its
 * section, name, type, default, bounds and location in struct config.
 * Defaults are applied by walking it, files are checked against it, and
 * `tern check-config --keys` prints it so the example file can be tested
 * for agreement. Array-of-table sections ([[listen]], [[tls.cert]],
 * [[tls.acme]], [[spam.dnsbl]]) have
 * their own small tables with offsets into their entry structs. */
#include "app/config.h"
#include "mailauth/arc.h"
#include "mailauth/netlist.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/toml.h"

enum key_type { KT_STRING, KT_INT, KT_BOOL, KT_CHOICE };

struct config_key {
	const char *section;
	const char *name;
	enum key_type type;
	size_t offset;
	size_t size;         /* string buffer size */
	const char *def;     /* default, as plain text ("true", "25", "localhost") */
	int64_t min, max;    /* integer bounds */
	const char *choices; /* KT_CHOICE: '|'-separated allowed strings */
};

#define OFF(f) offsetof(struct config, f)
#define STR(sec, key, field, def)                                                                  \
	{                                                                                          \
		sec, key, KT_STRING, OFF(field), sizeof(((struct config *)0)->field), def, 0, 0,   \
		    NULL                                                                           \
	}
#define INT(sec, key, field, def, lo, hi)                                                          \
	{                                                                                          \
		sec, key, KT_INT, OFF(field), 0, #def, lo, hi, NULL                                \
	}
#define BOOL(sec, key, field, def)                                                                 \
	{                                                                                          \
		sec, key, KT_BOOL, OFF(field), 0, #def, 0, 0, NULL                                 \
	}
/* A choice stored as the index of its value in `choices` (an enum whose
 * values follow that order), not as a string. */
#define CHOICE_ENUM(sec, key, field, def, choices)                                                 \
	{                                                                                          \
		sec, key, KT_CHOICE, OFF(field), 0, def, 0, 0, choices                             \
	}
_Static_assert(sizeof(enum smtp_bare_newline) == sizeof(int), "a choice enum is stored as an int");
#define CHOICE(sec, key, field, def, choices)                                                      \
	{                                                                                          \
		sec, key, KT_CHOICE, OFF(field), sizeof(((struct config *)0)->field), def, 0, 0,   \
		    choices                                                                        \
	}

static const struct config_key config_keys[] = {
    STR("server", "hostname", hostname, "localhost"),
    STR("server", "data_dir", data_dir, "./tern-data"),
    STR("server", "domain", domain, "localhost"),
    CHOICE("server", "log_level", log_level, "info", "debug|info|warn|error"),
    INT("server", "shutdown_grace", shutdown_grace, 10, 0, 3600),
    INT("server", "disk_reserve", disk_reserve, 67108864, 0, 68719476736),

    CHOICE("log", "format", log_format, "logfmt", "logfmt|json"),

    INT("tls", "handshake_timeout", tls_handshake_timeout, 30, 1, 600),

    INT("limits", "max_connections", max_connections, 10000, 1, 1000000),
    INT("limits", "max_connections_per_ip", max_connections_per_ip, 200, 1, 1000000),
    INT("limits", "max_output", max_output, 1048576, 4096, 1073741824),
    INT("limits", "login_deadline", login_deadline, 60, 0, 86400),

    BOOL("auth", "plaintext_loopback", auth.plaintext_loopback, false),
    INT("auth", "fail_delay_ms", auth.fail_delay_ms, 250, 0, 60000),
    INT("auth", "fail_max_delay_ms", auth.fail_max_delay_ms, 5000, 0, 600000),
    INT("auth", "fail_limit", auth.fail_limit, 20, 1, 1000000),
    INT("auth", "fail_window", auth.fail_window, 600, 1, 86400),
    INT("auth", "account_fail_limit", auth.account_fail_limit, 50, 1, 1000000),
    INT("auth", "account_fail_interval_ms", auth.account_fail_interval_ms, 1000, 0, 3600000),
    INT("auth", "cache_ttl", auth.cache_ttl, 3600, 0, 2592000),
    INT("auth", "cache_size", auth.cache_size, 10000, 0, 10000000),
    BOOL("auth", "check_spf", smtp.check_spf, true),
    BOOL("auth", "check_dkim", smtp.check_dkim, true),
    BOOL("auth", "check_dmarc", smtp.check_dmarc, true),
    BOOL("auth", "dmarc_reject", smtp.dmarc_reject, true),
    INT("auth", "check_timeout", smtp.check_timeout, 10, 1, 300),
    STR("auth", "trusted_networks", smtp.trusted_networks, "127.0.0.1, ::1"),
    STR("auth", "dmarc_trusted_forwarders", smtp.dmarc_forwarders, ""),
    STR("auth", "authserv_id", smtp.authserv_id, ""),
    STR("auth", "arc_trusted_sealers", smtp.arc_sealers, ""),

    INT("smtp", "max_message_size", smtp.max_message_size, 52428800, 1024, 2147483647),
    INT("smtp", "spool_memory", smtp.spool_memory, 536870912, 1048576, INT64_MAX),
    INT("smtp", "max_recipients", smtp.max_recipients, 100, 1, 100000),
    INT("smtp", "max_errors", smtp.max_errors, 10, 1, 1000),
    INT("smtp", "max_line", smtp.max_line, 1000, 512, 65536),
    INT("smtp", "timeout_command", smtp.timeout_command, 300, 1, 3600),
    INT("smtp", "timeout_data", smtp.timeout_data, 180, 1, 3600),
    INT("smtp", "transaction_deadline", smtp.transaction_deadline, 600, 0, 86400),
    CHOICE_ENUM("smtp", "bare_newline", smtp.bare_newline, "normalize", "reject|normalize"),
    BOOL("smtp", "vrfy", smtp.vrfy_enabled, false),
    BOOL("smtp", "mx_auth", smtp.mx_auth, false),
    INT("smtp", "greet_delay_ms", smtp.greet_delay_ms, 250, 0, 30000),
    INT("smtp", "greet_pass_ttl", smtp.greet_pass_ttl, 86400, 0, 2592000),
    INT("smtp", "greet_pass_max", smtp.greet_pass_max, 65536, 256, 16777216),

    INT("pop3", "max_errors", pop3.max_errors, 10, 1, 1000),
    INT("pop3", "max_line", pop3.max_line, 512, 255, 65536),
    INT("pop3", "timeout", pop3.timeout, 600, 1, 86400),

    INT("managesieve", "max_errors", managesieve.max_errors, 10, 1, 1000),
    INT("managesieve", "max_line", managesieve.max_line, 8192, 1024, 65536),
    INT("managesieve", "max_literal", managesieve.max_literal, 1048576, 65536, 16777216),
    INT("managesieve", "max_scripts", managesieve.max_scripts, 32, 1, 1000),
    INT("managesieve", "timeout", managesieve.timeout, 1800, 60, 86400),

    INT("imap", "max_errors", imap.max_errors, 20, 1, 1000),
    INT("imap", "max_line", imap.max_line, 65536, 1024, 10485760),
    INT("imap", "max_literal", imap.max_literal, 52428800, 1024, 2147483647),
    INT("imap", "timeout", imap.timeout, 1800, 60, 86400),
    /* RFC 5464 §4.1: at least 1024 octets and 10 entries */
    INT("imap", "notify_max_pending", imap.notify_max_pending, 1000, 1, 1000000),
    INT("imap", "metadata_max_size", imap.metadata_max_size, 65536, 1024, 16777216),
    INT("imap", "metadata_max_entries", imap.metadata_max_entries, 100, 10, 100000),
    INT("imap", "metadata_max_account_entries", imap.metadata_max_account_entries, 1000, 10,
        10000000),

    INT("http", "max_head", http.max_head, 16384, 1024, 1048576),
    INT("http", "max_headers", http.max_headers, 100, 10, 256),
    INT("http", "max_body", http.max_body, 1048576, 1024, 1073741824),
    INT("http", "header_timeout", http.header_timeout, 10, 1, 3600),
    INT("http", "keepalive_timeout", http.keepalive_timeout, 60, 1, 3600),
    INT("http", "max_requests", http.max_requests, 1000, 1, 1000000),
    STR("http", "metrics_token", http.metrics_token, ""),
    INT("http", "hsts_max_age", http.hsts_max_age, 31536000, 0, 315360000),
    STR("http", "static_dir", http.static_dir, ""),
    BOOL("http", "webmail", http.webmail, true),
    CHOICE_ENUM("http", "mta_sts_mode", http.mta_sts_mode, "off", "off|none|testing|enforce"),
    STR("http", "mta_sts_mx", http.mta_sts_mx, ""),
    INT("http", "mta_sts_max_age", http.mta_sts_max_age, 604800, 86400, 31557600),

    INT("jmap", "max_size_upload", jmap.max_size_upload, 52428800, 1024, 2147483647),
    INT("jmap", "max_concurrent_upload", jmap.max_concurrent_upload, 4, 1, 1000),
    INT("jmap", "max_size_request", jmap.max_size_request, 10485760, 1024, 1073741824),
    INT("jmap", "max_concurrent_requests", jmap.max_concurrent_requests, 4, 1, 1000),
    INT("jmap", "max_calls_in_request", jmap.max_calls_in_request, 64, 1, 10000),
    INT("jmap", "max_objects_in_get", jmap.max_objects_in_get, 1000, 1, 100000),
    INT("jmap", "max_objects_in_set", jmap.max_objects_in_set, 1000, 1, 100000),
    INT("jmap", "session_idle", jmap.session_idle, 1800, 1, 2592000),
    INT("jmap", "session_lifetime", jmap.session_lifetime, 43200, 1, 31536000),
    INT("jmap", "max_push_connections", jmap.max_push_connections, 8, 1, 1000),

    INT("queue", "retry_first", queue.retry_first, 300, 1, 86400),
    INT("queue", "retry_max", queue.retry_max, 3600, 1, 604800),
    INT("queue", "lifetime", queue.lifetime, 432000, 60, 2592000),
    INT("queue", "scan_interval", queue.scan_interval, 5, 1, 3600),
    STR("queue", "dns_servers", queue.dns_servers, ""),
    INT("queue", "dns_timeout", queue.dns_timeout, 5, 1, 60),
    INT("queue", "remote_port", queue.remote_port, 25, 1, 65535),
    INT("queue", "connect_timeout", queue.connect_timeout, 30, 1, 600),
    STR("queue", "smarthost", queue.smarthost, ""),
    INT("queue", "smarthost_port", queue.smarthost_port, 587, 1, 65535),
    STR("queue", "smarthost_user", queue.smarthost_user, ""),
    STR("queue", "smarthost_password_file", queue.smarthost_password_file, ""),
    BOOL("queue", "require_tls", queue.require_tls, false),
    STR("queue", "require_tls_domains", queue.require_tls_domains, ""),
    BOOL("queue", "verify_tls", queue.verify_tls, false),
    STR("queue", "ca_file", queue.ca_file, ""),
    BOOL("queue", "mta_sts", queue.mta_sts, true),
    INT("queue", "mta_sts_port", queue.mta_sts_port, 443, 1, 65535),
    INT("queue", "max_connections", queue.max_connections, 20, 1, 10000),
    INT("queue", "max_per_domain", queue.max_per_domain, 4, 1, 1000),
    INT("queue", "delay_dsn_after", queue.delay_dsn_after, 0, 0, 2592000),
    INT("queue", "max_received_headers", queue.max_received_headers, 50, 5, 1000),

    BOOL("webhooks", "allow_private", webhooks.allow_private, false),
    INT("webhooks", "scan_interval", webhooks.scan_interval, 5, 1, 3600),
    INT("webhooks", "retry_first", webhooks.retry_first, 10, 1, 86400),
    INT("webhooks", "retry_max", webhooks.retry_max, 3600, 1, 86400),
    INT("webhooks", "lifetime", webhooks.lifetime, 259200, 60, 2592000),
    INT("webhooks", "max_concurrent", webhooks.max_concurrent, 4, 1, 64),
    INT("webhooks", "timeout", webhooks.timeout, 10, 1, 300),

    STR("srs", "secret", srs_secret, ""),

    INT("spam", "junk_score", spam.junk_score, 5, -1000000, 1000000),
    INT("spam", "spf_fail_weight", spam.weights.spf_fail, 3, -1000000, 1000000),
    INT("spam", "spf_softfail_weight", spam.weights.spf_softfail, 1, -1000000, 1000000),
    INT("spam", "dkim_fail_weight", spam.weights.dkim_fail, 2, -1000000, 1000000),
    INT("spam", "dmarc_fail_weight", spam.weights.dmarc_fail, 1, -1000000, 1000000),
    INT("spam", "fcrdns_missing_weight", spam.weights.fcrdns_missing, 0, -1000000, 1000000),
    INT("spam", "check_timeout_ms", spam.check_timeout_ms, 2000, 0, 60000),
    BOOL("spam", "fcrdns", spam.fcrdns, false),
    STR("spam", "rspamd_url", spam.rspamd_url, ""),
    INT("spam", "rspamd_timeout_ms", spam.rspamd_timeout_ms, 10000, 100, 600000),
};

#undef OFF
#define LOFF(f) offsetof(struct config_listen, f)
static const struct config_key listen_keys[] = {
    {"listen", "protocol", KT_CHOICE, LOFF(protocol), 0, "smtp", 0, 0,
     "smtp|submission|pop3|imap|http|sieve"},
    {"listen", "address", KT_STRING, LOFF(address), sizeof(((struct config_listen *)0)->address),
     "127.0.0.1:2525", 0, 0, NULL},
    {"listen", "tls", KT_CHOICE, LOFF(tls), 0, "none", 0, 0, "none|starttls|implicit"},
    {"listen", "max_connections", KT_INT, LOFF(max_connections), 0, "0", 0, 1000000, NULL},
    {"listen", "max_connections_per_ip", KT_INT, LOFF(max_connections_per_ip), 0, "0", 0, 1000000,
     NULL},
    {"listen", "idle_timeout", KT_INT, LOFF(idle_timeout), 0, "0", 0, 86400, NULL},
};
#define COFF(f) offsetof(struct config_cert, f)
static const struct config_key cert_keys[] = {
    {"tls.cert", "cert", KT_STRING, COFF(cert), sizeof(((struct config_cert *)0)->cert), "", 0, 0,
     NULL},
    {"tls.cert", "key", KT_STRING, COFF(key), sizeof(((struct config_cert *)0)->key), "", 0, 0,
     NULL},
};

#define AOFF(f) offsetof(struct acme_entry_config, f)
#define ASIZE(f) sizeof(((struct acme_entry_config *)0)->f)
static const struct config_key acme_keys[] = {
    {"tls.acme", "directory", KT_STRING, AOFF(directory), ASIZE(directory), "", 0, 0, NULL},
    {"tls.acme", "contact", KT_STRING, AOFF(contact), ASIZE(contact), "", 0, 0, NULL},
    {"tls.acme", "domains", KT_STRING, AOFF(domains), ASIZE(domains), "", 0, 0, NULL},
    {"tls.acme", "ca_file", KT_STRING, AOFF(ca_file), ASIZE(ca_file), "", 0, 0, NULL},
    {"tls.acme", "challenge", KT_CHOICE, AOFF(challenge), 0, "http-01", 0, 0,
     "http-01|tls-alpn-01"},
};
_Static_assert(sizeof(enum acme_challenge_type) == sizeof(int), "a choice enum is an int");

#define DOFF(f) offsetof(struct dnsbl_zone, f)
static const struct config_key dnsbl_keys[] = {
    {"spam.dnsbl", "zone", KT_STRING, DOFF(zone), sizeof(((struct dnsbl_zone *)0)->zone), "", 0, 0,
     NULL},
    {"spam.dnsbl", "weight", KT_INT, DOFF(weight), 0, "5", -1000000, 1000000, NULL},
    {"spam.dnsbl", "action", KT_CHOICE, DOFF(action), 0, "junk", 0, 0, "junk|reject"},
};
_Static_assert(sizeof(enum dnsbl_action) == sizeof(int), "a choice enum is an int");

#define NKEYS(t) (sizeof(t) / sizeof((t)[0]))

static const char *const protocol_names[] = {"smtp", "submission", "pop3", "imap", "http", "sieve"};
static const char *const tls_names[] = {"none", "starttls", "implicit"};

const char *config_protocol_name(enum listen_protocol p)
{
	return (unsigned)p < sizeof protocol_names / sizeof protocol_names[0] ? protocol_names[p]
	                                                                      : "?";
}
const char *config_tls_name(enum listen_tls t)
{
	return (unsigned)t < 3 ? tls_names[t] : "?";
}

/* Index of `value` in a '|'-separated list, or -1. */
static int choice_index(const char *choices, const char *value, size_t vlen)
{
	int idx = 0;
	const char *p = choices;
	while (*p) {
		const char *bar = strchr(p, '|');
		size_t n = bar ? (size_t)(bar - p) : strlen(p);
		if (n == vlen && memcmp(p, value, n) == 0)
			return idx;
		idx++;
		if (!bar)
			break;
		p = bar + 1;
	}
	return -1;
}

/* A choice field is a string or an enum (every listen entry's, and
 * smtp.bare_newline). The key table tells which by its size field
 * (0 = enum). */
static void key_store_default(const struct config_key *k, void *base)
{
	char *field = (char *)base + k->offset;
	switch (k->type) {
	case KT_STRING:
		snprintf(field, k->size, "%s", k->def);
		break;
	case KT_INT:
		*(int64_t *)field = strtoll(k->def, NULL, 10);
		break;
	case KT_BOOL:
		*(bool *)field = strcmp(k->def, "true") == 0;
		break;
	case KT_CHOICE:
		if (k->size)
			snprintf(field, k->size, "%s", k->def);
		else
			*(int *)field = choice_index(k->choices, k->def, strlen(k->def));
		break;
	}
}

static void listen_default(struct config_listen *l, enum listen_protocol p, const char *addr,
                           enum listen_tls tls)
{
	for (size_t i = 0; i < NKEYS(listen_keys); i++)
		key_store_default(&listen_keys[i], l);
	l->protocol = p;
	snprintf(l->address, sizeof l->address, "%s", addr);
	l->tls = tls;
}

void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	for (size_t i = 0; i < NKEYS(config_keys); i++)
		key_store_default(&config_keys[i], cfg);
	static const struct {
		enum listen_protocol p;
		const char *addr;
		enum listen_tls tls;
	} defaults[] = {
	    {PROTO_SMTP, "127.0.0.1:2525", LISTEN_TLS_STARTTLS},
	    {PROTO_SUBMISSION, "127.0.0.1:2587", LISTEN_TLS_STARTTLS},
	    {PROTO_SUBMISSION, "127.0.0.1:2465", LISTEN_TLS_IMPLICIT},
	    {PROTO_POP3, "127.0.0.1:2110", LISTEN_TLS_STARTTLS},
	    {PROTO_POP3, "127.0.0.1:2995", LISTEN_TLS_IMPLICIT},
	    {PROTO_IMAP, "127.0.0.1:2143", LISTEN_TLS_STARTTLS},
	    {PROTO_IMAP, "127.0.0.1:2993", LISTEN_TLS_IMPLICIT},
	    {PROTO_HTTP, "127.0.0.1:2080", LISTEN_TLS_NONE},
	    {PROTO_HTTP, "127.0.0.1:2443", LISTEN_TLS_IMPLICIT},
	    {PROTO_SIEVE, "127.0.0.1:24190", LISTEN_TLS_STARTTLS},
	};
	for (size_t i = 0; i < NKEYS(defaults); i++)
		listen_default(&cfg->listen[i], defaults[i].p, defaults[i].addr, defaults[i].tls);
	cfg->nlisten = NKEYS(defaults);
}

static const char *key_type_name(const struct config_key *k)
{
	switch (k->type) {
	case KT_STRING:
		return "string";
	case KT_INT:
		return "integer";
	case KT_BOOL:
		return "boolean";
	default:
		return "string";
	}
}

struct load_ctx {
	const char *name;
	char *err;
	size_t errlen;
};

static int load_fail(struct load_ctx *lc, const struct toml_value *v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int load_fail(struct load_ctx *lc, const struct toml_value *v, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (v)
		snprintf(lc->err, lc->errlen, "%s:%d:%d: %s", lc->name, toml_line(v), toml_col(v),
		         msg);
	else
		snprintf(lc->err, lc->errlen, "%s: %s", lc->name, msg);
	return -1;
}

/* Apply one TOML value to the field a key describes. */
static int apply_key(struct load_ctx *lc, const struct config_key *k, const char *full,
                     const struct toml_value *v, void *base)
{
	char *field = (char *)base + k->offset;
	enum toml_type t = toml_type(v);
	switch (k->type) {
	case KT_STRING:
	case KT_CHOICE: {
		if (t != TOML_STRING)
			return load_fail(lc, v, "key '%s' must be a string, not %s", full,
			                 toml_type_name(t));
		size_t len;
		const char *s = toml_string(v, &len);
		if (memchr(s, '\0', len))
			return load_fail(lc, v, "key '%s' must not contain NUL", full);
		if (k->type == KT_CHOICE) {
			int idx = choice_index(k->choices, s, len);
			if (idx < 0)
				return load_fail(lc, v, "key '%s' must be one of %s, not \"%.*s\"",
				                 full, k->choices, (int)(len > 64 ? 64 : len), s);
			if (k->size)
				snprintf(field, k->size, "%.*s", (int)len, s);
			else
				*(int *)field = idx;
			return 0;
		}
		if (len >= k->size)
			return load_fail(lc, v, "key '%s' is too long (at most %zu bytes)", full,
			                 k->size - 1);
		memcpy(field, s, len);
		field[len] = '\0';
		return 0;
	}
	case KT_INT: {
		if (t != TOML_INTEGER)
			return load_fail(lc, v, "key '%s' must be an integer, not %s", full,
			                 toml_type_name(t));
		int64_t n = toml_int(v);
		if (n < k->min || n > k->max)
			return load_fail(lc, v, "key '%s' = %lld is out of range [%lld, %lld]",
			                 full, (long long)n, (long long)k->min, (long long)k->max);
		*(int64_t *)field = n;
		return 0;
	}
	case KT_BOOL:
		if (t != TOML_BOOL)
			return load_fail(lc, v, "key '%s' must be a boolean, not %s", full,
			                 toml_type_name(t));
		*(bool *)field = toml_bool(v);
		return 0;
	}
	return -1;
}

/* One plain key of a section that also holds arrays of tables ([tls],
 * [spam]): found in config_keys by section and name, then applied. */
static int apply_section_key(struct load_ctx *lc, const char *section, const char *key,
                             const struct toml_value *kv, struct config *cfg)
{
	char full[256];
	snprintf(full, sizeof full, "%s.%s", section, key);
	for (size_t n = 0; n < NKEYS(config_keys); n++)
		if (strcmp(config_keys[n].section, section) == 0 &&
		    strcmp(config_keys[n].name, key) == 0)
			return apply_key(lc, &config_keys[n], full, kv, cfg);
	return load_fail(lc, kv, "unknown key '%s'", full);
}

/* Apply every key of a TOML table using a key table for `section`. */
static int apply_table(struct load_ctx *lc, const struct config_key *keys, size_t nkeys,
                       const char *section, const struct toml_value *table, void *base)
{
	for (size_t i = 0; i < toml_table_size(table); i++) {
		const char *name = toml_table_key(table, i);
		const struct toml_value *v = toml_table_value(table, i);
		char full[256];
		snprintf(full, sizeof full, "%s.%s", section, name);
		const struct config_key *k = NULL;
		for (size_t j = 0; j < nkeys; j++)
			if (strcmp(keys[j].section, section) == 0 &&
			    strcmp(keys[j].name, name) == 0)
				k = &keys[j];
		if (!k)
			return load_fail(lc, v, "unknown key '%s'", full);
		if (apply_key(lc, k, full, v, base) < 0)
			return -1;
	}
	return 0;
}

static int apply_listen(struct load_ctx *lc, struct config *cfg, const struct toml_value *arr)
{
	if (toml_type(arr) != TOML_ARRAY)
		return load_fail(lc, arr, "'listen' must be an array of tables ([[listen]])");
	cfg->nlisten = 0;
	for (size_t i = 0; i < toml_array_size(arr); i++) {
		const struct toml_value *t = toml_array_get(arr, i);
		if (toml_type(t) != TOML_TABLE)
			return load_fail(lc, t, "'listen' entries must be tables");
		if (cfg->nlisten >= CONFIG_MAX_LISTEN)
			return load_fail(lc, t, "too many [[listen]] entries (at most %d)",
			                 CONFIG_MAX_LISTEN);
		struct config_listen *l = &cfg->listen[cfg->nlisten++];
		listen_default(l, PROTO_SMTP, "", LISTEN_TLS_NONE);
		l->line = toml_line(t);
		if (!toml_table_get(t, "protocol") || !toml_table_get(t, "address"))
			return load_fail(lc, t, "[[listen]] needs 'protocol' and 'address'");
		if (apply_table(lc, listen_keys, NKEYS(listen_keys), "listen", t, l) < 0)
			return -1;
	}
	return 0;
}

static int apply_certs(struct load_ctx *lc, struct config *cfg, const struct toml_value *arr)
{
	if (toml_type(arr) != TOML_ARRAY)
		return load_fail(lc, arr, "'tls.cert' must be an array of tables ([[tls.cert]])");
	for (size_t i = 0; i < toml_array_size(arr); i++) {
		const struct toml_value *t = toml_array_get(arr, i);
		if (toml_type(t) != TOML_TABLE)
			return load_fail(lc, t, "'tls.cert' entries must be tables");
		if (cfg->ncerts >= CONFIG_MAX_CERTS)
			return load_fail(lc, t, "too many [[tls.cert]] entries");
		struct config_cert *c = &cfg->certs[cfg->ncerts++];
		memset(c, 0, sizeof *c);
		if (apply_table(lc, cert_keys, NKEYS(cert_keys), "tls.cert", t, c) < 0)
			return -1;
		if (!c->cert[0] || !c->key[0])
			return load_fail(lc, t, "[[tls.cert]] needs both 'cert' and 'key'");
	}
	return 0;
}

/* domains may also be a TOML array of strings: joined with commas. */
static int acme_domains_array(struct load_ctx *lc, struct acme_entry_config *a,
                              const struct toml_value *v)
{
	size_t n = 0;
	a->domains[0] = '\0';
	for (size_t i = 0; i < toml_array_size(v); i++) {
		const struct toml_value *e = toml_array_get(v, i);
		size_t len;
		const char *s = toml_type(e) == TOML_STRING ? toml_string(e, &len) : NULL;
		if (!s || memchr(s, '\0', len))
			return load_fail(lc, e, "tls.acme.domains must hold strings");
		if (n + len + 2 > sizeof a->domains)
			return load_fail(lc, e, "tls.acme.domains is too long");
		if (n)
			a->domains[n++] = ',';
		memcpy(a->domains + n, s, len);
		n += len;
		a->domains[n] = '\0';
	}
	return 0;
}

static int apply_acme(struct load_ctx *lc, struct config *cfg, const struct toml_value *arr)
{
	if (toml_type(arr) != TOML_ARRAY)
		return load_fail(lc, arr, "'tls.acme' must be an array of tables ([[tls.acme]])");
	for (size_t i = 0; i < toml_array_size(arr); i++) {
		const struct toml_value *t = toml_array_get(arr, i);
		if (toml_type(t) != TOML_TABLE)
			return load_fail(lc, t, "'tls.acme' entries must be tables");
		if (cfg->nacme >= CONFIG_MAX_ACME)
			return load_fail(lc, t, "too many [[tls.acme]] entries (at most %d)",
			                 CONFIG_MAX_ACME);
		struct acme_entry_config *a = &cfg->acme[cfg->nacme++];
		memset(a, 0, sizeof *a);
		const struct toml_value *d = toml_table_get(t, "domains");
		for (size_t j = 0; j < toml_table_size(t); j++) {
			const struct toml_value *v = toml_table_value(t, j);
			if (v == d && toml_type(d) == TOML_ARRAY) {
				if (acme_domains_array(lc, a, d) < 0)
					return -1;
				continue;
			}
			const char *name = toml_table_key(t, j);
			const struct config_key *k = NULL;
			for (size_t n = 0; n < NKEYS(acme_keys); n++)
				if (strcmp(acme_keys[n].name, name) == 0)
					k = &acme_keys[n];
			char full[256];
			snprintf(full, sizeof full, "tls.acme.%s", name);
			if (!k)
				return load_fail(lc, v, "unknown key '%s'", full);
			if (apply_key(lc, k, full, v, a) < 0)
				return -1;
		}
		if (!a->directory[0] || !a->domains[0])
			return load_fail(lc, t, "[[tls.acme]] needs 'directory' and 'domains'");
		if (strncmp(a->directory, "https://", 8) != 0)
			return load_fail(lc, t, "tls.acme.directory must be an https:// URL");
		char buf[sizeof a->domains];
		char *names[32];
		if (acme_split_domains(a->domains, buf, sizeof buf, names, 32) < 0)
			return load_fail(lc, t,
			                 "tls.acme.domains must be DNS names (at most 32), "
			                 "comma-separated");
		if (a->challenge == ACME_TLS_ALPN_01 && !tls_alpn_challenge_supported())
			return load_fail(lc, t, "%s", ACME_TLS_ALPN_UNSUPPORTED);
	}
	return 0;
}

static int apply_dnsbl(struct load_ctx *lc, struct config *cfg, const struct toml_value *arr)
{
	if (toml_type(arr) != TOML_ARRAY)
		return load_fail(lc, arr,
		                 "'spam.dnsbl' must be an array of tables ([[spam.dnsbl]])");
	for (size_t i = 0; i < toml_array_size(arr); i++) {
		const struct toml_value *t = toml_array_get(arr, i);
		if (toml_type(t) != TOML_TABLE)
			return load_fail(lc, t, "'spam.dnsbl' entries must be tables");
		if (cfg->spam.ndnsbl >= DNSBL_MAX_ZONES)
			return load_fail(lc, t, "too many [[spam.dnsbl]] entries (at most %d)",
			                 DNSBL_MAX_ZONES);
		struct dnsbl_zone *z = &cfg->spam.dnsbl[cfg->spam.ndnsbl++];
		for (size_t n = 0; n < NKEYS(dnsbl_keys); n++)
			key_store_default(&dnsbl_keys[n], z);
		if (apply_table(lc, dnsbl_keys, NKEYS(dnsbl_keys), "spam.dnsbl", t, z) < 0)
			return -1;
		if (!dnsbl_zone_valid(z->zone))
			return load_fail(lc, t, "spam.dnsbl.zone must be a DNS name, not \"%s\"",
			                 z->zone);
	}
	return 0;
}

static bool is_section(const char *name)
{
	for (size_t i = 0; i < NKEYS(config_keys); i++)
		if (strcmp(config_keys[i].section, name) == 0)
			return true;
	return false;
}

static int apply_root(struct load_ctx *lc, struct config *cfg, const struct toml_value *root)
{
	for (size_t i = 0; i < toml_table_size(root); i++) {
		const char *name = toml_table_key(root, i);
		const struct toml_value *v = toml_table_value(root, i);
		if (strcmp(name, "listen") == 0) {
			if (apply_listen(lc, cfg, v) < 0)
				return -1;
			continue;
		}
		if (!is_section(name))
			return load_fail(lc, v, "unknown key '%s'", name);
		if (toml_type(v) != TOML_TABLE)
			return load_fail(lc, v, "'%s' must be a table ([%s])", name, name);
		if (strcmp(name, "spam") == 0) {
			/* [spam] holds plain keys and the [[spam.dnsbl]] array. */
			for (size_t j = 0; j < toml_table_size(v); j++) {
				const char *key = toml_table_key(v, j);
				const struct toml_value *kv = toml_table_value(v, j);
				if (strcmp(key, "dnsbl") == 0) {
					if (apply_dnsbl(lc, cfg, kv) < 0)
						return -1;
					continue;
				}
				if (apply_section_key(lc, "spam", key, kv, cfg) < 0)
					return -1;
			}
			continue;
		}
		if (strcmp(name, "tls") == 0) {
			/* [tls] holds plain keys and the [[tls.cert]] array. */
			for (size_t j = 0; j < toml_table_size(v); j++) {
				const char *key = toml_table_key(v, j);
				if (strcmp(key, "cert") == 0 &&
				    apply_certs(lc, cfg, toml_table_value(v, j)) < 0)
					return -1;
				if (strcmp(key, "acme") == 0 &&
				    apply_acme(lc, cfg, toml_table_value(v, j)) < 0)
					return -1;
			}
			for (size_t j = 0; j < toml_table_size(v); j++) {
				const char *key = toml_table_key(v, j);
				if (strcmp(key, "cert") == 0 || strcmp(key, "acme") == 0)
					continue;
				const struct toml_value *kv = toml_table_value(v, j);
				if (apply_section_key(lc, "tls", key, kv, cfg) < 0)
					return -1;
			}
			continue;
		}
		if (apply_table(lc, config_keys, NKEYS(config_keys), name, v, cfg) < 0)
			return -1;
	}
	return 0;
}

int config_load_string(struct config *cfg, const char *name, const char *text, size_t len,
                       char *err, size_t errlen)
{
	struct load_ctx lc = {name, err, errlen};
	struct toml_error terr = {0};
	struct toml_value *root = toml_parse(text, len, &terr);
	if (!root) {
		snprintf(err, errlen, "%s:%d:%d: %s", name, terr.line, terr.col, terr.msg);
		return -1;
	}
	int rc = apply_root(&lc, cfg, root);
	toml_free(&root);
	if (rc == 0)
		rc = config_validate(cfg, err, errlen);
	return rc;
}

int config_load_file(struct config *cfg, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	size_t n;
	while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap) {
			if (cap >= (16u << 20)) {
				free(buf);
				fclose(f);
				snprintf(err, errlen, "%s: file too large", path);
				return -1;
			}
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	fclose(f);
	if (!buf) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	snprintf(cfg->path, sizeof cfg->path, "%s", path);
	int rc = config_load_string(cfg, path, buf, len, err, errlen);
	free(buf);
	return rc;
}

int config_validate(const struct config *cfg, char *err, size_t errlen)
{
	const char *name = cfg->path[0] ? cfg->path : "config";
	for (size_t i = 0; i < cfg->nlisten; i++) {
		const struct config_listen *l = &cfg->listen[i];
		const char *colon = strrchr(l->address, ':');
		if (!colon || colon == l->address || !colon[1]) {
			snprintf(err, errlen, "%s:%d: listen.address \"%s\" must be HOST:PORT",
			         name, l->line, l->address);
			return -1;
		}
		char *end;
		long port = strtol(colon + 1, &end, 10);
		if (*end || port < 1 || port > 65535) {
			snprintf(err, errlen, "%s:%d: listen.address \"%s\" has a bad port", name,
			         l->line, l->address);
			return -1;
		}
		if (l->protocol == PROTO_SMTP && l->tls == LISTEN_TLS_IMPLICIT) {
			/* allowed: some sites run inbound SMTPS; nothing to reject */
		}
		if (l->protocol == PROTO_HTTP && l->tls == LISTEN_TLS_STARTTLS) {
			snprintf(err, errlen,
			         "%s:%d: an http listener is tls = \"none\" or \"implicit\" (HTTP "
			         "has no STARTTLS)",
			         name, l->line);
			return -1;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(cfg->listen[j].address, l->address) == 0) {
				snprintf(err, errlen, "%s:%d: listen.address \"%s\" is used twice",
				         name, l->line, l->address);
				return -1;
			}
	}
	struct netlist nl;
	char why[200];
	if (netlist_parse(&nl, cfg->smtp.trusted_networks, false, why, sizeof why) < 0) {
		snprintf(err, errlen, "%s: auth.trusted_networks: %s", name, why);
		return -1;
	}
	if (netlist_parse(&nl, cfg->smtp.dmarc_forwarders, true, why, sizeof why) < 0) {
		snprintf(err, errlen, "%s: auth.dmarc_trusted_forwarders: %s", name, why);
		return -1;
	}
	{
		char sealers[sizeof cfg->smtp.arc_sealers];
		const char *names[ARC_MAX_SEALERS];
		snprintf(sealers, sizeof sealers, "%s", cfg->smtp.arc_sealers);
		if (arc_sealers_parse(sealers, names, ARC_MAX_SEALERS, why, sizeof why) < 0) {
			snprintf(err, errlen, "%s: auth.arc_trusted_sealers: %s", name, why);
			return -1;
		}
	}
	if (!cfg->domain[0] || !cfg->hostname[0] || !cfg->data_dir[0]) {
		snprintf(err, errlen,
		         "%s: server.domain, server.hostname and server.data_dir must not be empty",
		         name);
		return -1;
	}
	return 0;
}

static void emit_keys(config_key_cb cb, void *ud, const struct config_key *keys, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct config_key *k = &keys[i];
		char def[600];
		if (k->type == KT_STRING || k->type == KT_CHOICE)
			snprintf(def, sizeof def, "\"%s\"", k->def);
		else
			snprintf(def, sizeof def, "%s", k->def);
		cb(ud, k->section, k->name, key_type_name(k), def);
	}
}

void config_each_key(config_key_cb cb, void *ud)
{
	emit_keys(cb, ud, config_keys, NKEYS(config_keys));
	emit_keys(cb, ud, cert_keys, NKEYS(cert_keys));
	emit_keys(cb, ud, acme_keys, NKEYS(acme_keys));
	emit_keys(cb, ud, dnsbl_keys, NKEYS(dnsbl_keys));
	emit_keys(cb, ud, listen_keys, NKEYS(listen_keys));
}
