/* http: what the app needs to serve HTTP (RFC 9110, RFC 9112).
 *
 * The app loads struct http_settings from [http] (part of struct config),
 * describes the mail listeners the autoconfiguration endpoints announce
 * (struct http_site), fills a struct http_ctx per listener and gives the
 * listener http_session_start() with it; nothing in proto/http reads the
 * config. */
#ifndef TERN_HTTP_H
#define TERN_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conn;
struct proto_env;
struct jmap_settings;

/* [http] */
struct http_settings {
	int64_t max_head;          /* request line + headers, bytes */
	int64_t max_headers;       /* header fields per request */
	int64_t max_body;          /* request body, bytes */
	int64_t header_timeout;    /* seconds for a request's head, whatever is sent */
	int64_t keepalive_timeout; /* seconds a connection may sit idle between requests */
	int64_t max_requests;      /* requests per connection */
	char metrics_token[256];   /* bearer token for /metrics; "" = loopback clients only */
	int64_t hsts_max_age;      /* seconds, Strict-Transport-Security on HTTPS */
	char static_dir[512];      /* files served for paths no route claims; "" = none */
	bool webmail;              /* the built-in webmail at / and /webmail/ */
	/* Our MTA-STS policy (RFC 8461), served to https://mta-sts.<domain>/ */
	int mta_sts_mode;        /* enum http_mta_sts_mode */
	char mta_sts_mx[512];    /* comma-separated MX names; "" = [server] hostname */
	int64_t mta_sts_max_age; /* seconds */
};

enum http_mta_sts_mode {
	HTTP_MTA_STS_OFF = 0,
	HTTP_MTA_STS_NONE,
	HTTP_MTA_STS_TESTING,
	HTTP_MTA_STS_ENFORCE
};

/* A mail service the autoconfiguration endpoints announce. */
enum http_service_kind { HTTP_SVC_IMAP, HTTP_SVC_POP3, HTTP_SVC_SUBMISSION };
enum http_service_tls { HTTP_SVC_PLAIN, HTTP_SVC_STARTTLS, HTTP_SVC_TLS };

#define HTTP_MAX_SERVICES 32

struct http_service {
	enum http_service_kind kind;
	enum http_service_tls tls;
	int port;
};

/* What every HTTP listener describes: the mail services, best first
 * (implicit TLS before STARTTLS), and where HTTPS is. */
struct http_site {
	struct http_service services[HTTP_MAX_SERVICES];
	size_t nservices;
	int https_port; /* the first HTTPS listener's port; 0 = none (no redirects) */
};

/* A listener's context: what http_session_start() gets as ctx. */
struct http_ctx {
	const struct http_settings *settings;
	const struct proto_env *env;
	const struct http_site *site;
	const struct jmap_settings *jmap; /* [jmap] */
	bool https;                       /* the listener is implicit TLS */
	/* POST /api/v1/send (send_api.c): SMTP submission's limits, [smtp]
	 * max_message_size and max_recipients; its body may be the message
	 * in base64 plus the JSON around it, even past [http] max_body */
	int64_t send_max_size;
	int64_t send_max_rcpts;
};

/* A conn_start_fn (net/conn.h); ctx is a struct http_ctx. */
void http_session_start(struct conn *c, void *ctx);

#endif
