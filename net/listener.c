/* listener: one uv_tcp per [[listen]] entry, all on the one loop.
 *
 * Each listener knows its protocol's entry point and the conn limits that
 * apply to it (line length and idle timeout per protocol, connection
 * counts from [limits] unless the entry overrides them). Accepting is all
 * it does; conn takes over from there. */
#include "net/listener.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "app/server.h"

static struct listener listeners[CONFIG_MAX_LISTEN];
static size_t nlisteners;

/* Parse "1.2.3.4:25" or "[::1]:25" into a sockaddr. */
static int parse_address(const char *text, struct sockaddr_storage *out)
{
	char host[128];
	const char *colon = strrchr(text, ':');
	if (!colon)
		return -1;
	int port = atoi(colon + 1);
	size_t hlen = (size_t)(colon - text);
	if (text[0] == '[') {
		if (hlen < 2 || text[hlen - 1] != ']' || hlen - 2 >= sizeof host)
			return -1;
		memcpy(host, text + 1, hlen - 2);
		host[hlen - 2] = '\0';
		return uv_ip6_addr(host, port, (struct sockaddr_in6 *)out) == 0 ? 0 : -1;
	}
	if (hlen >= sizeof host)
		return -1;
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	if (strchr(host, ':'))
		return uv_ip6_addr(host, port, (struct sockaddr_in6 *)out) == 0 ? 0 : -1;
	return uv_ip4_addr(host, port, (struct sockaddr_in *)out) == 0 ? 0 : -1;
}

static void on_connection(uv_stream_t *server, int status)
{
	struct listener *l = server->data;
	if (status < 0) {
		log_warn("event=accept_error listen=%s err=%s", l->cfg->address,
		         uv_strerror(status));
		return;
	}
	struct server *srv = l->server;
	conn_accept(srv->loop, server, l, (enum conn_tls_mode)l->cfg->tls, srv->tls, &l->limits,
	            l->start);
}

static void protocol_defaults(const struct config *cfg, const struct config_listen *lc,
                              struct listener *l)
{
	struct conn_limits *lim = &l->limits;
	memset(lim, 0, sizeof *lim);
	uint64_t idle_s = 300;
	switch (lc->protocol) {
	case PROTO_SMTP:
	case PROTO_SUBMISSION:
		lim->max_line = (size_t)cfg->smtp.max_line;
		idle_s = (uint64_t)cfg->smtp.timeout_command;
		l->start = smtp_session_start;
		break;
	case PROTO_POP3:
		lim->max_line = (size_t)cfg->pop3.max_line;
		idle_s = (uint64_t)cfg->pop3.timeout;
		l->start = pop3_session_start;
		break;
	case PROTO_IMAP:
		lim->max_line = (size_t)cfg->imap.max_line;
		idle_s = (uint64_t)cfg->imap.timeout;
		l->start = imap_session_start;
		break;
	}
	if (lc->idle_timeout > 0)
		idle_s = (uint64_t)lc->idle_timeout;
	lim->idle_timeout_ms = idle_s * 1000;
	lim->handshake_timeout_ms = (uint64_t)cfg->tls_handshake_timeout * 1000;
	lim->max_output = (size_t)cfg->max_output;
	lim->max_conn_total =
	    (unsigned)(lc->max_connections > 0 ? lc->max_connections : cfg->max_connections);
	lim->max_conn_per_ip =
	    (unsigned)(lc->max_connections_per_ip > 0 ? lc->max_connections_per_ip
	                                              : cfg->max_connections_per_ip);
}

int listeners_start(struct server *srv, char *err, size_t errlen)
{
	const struct config *cfg = srv->cfg;
	nlisteners = 0;
	for (size_t i = 0; i < cfg->nlisten; i++) {
		const struct config_listen *lc = &cfg->listen[i];
		struct listener *l = &listeners[nlisteners];
		memset(l, 0, sizeof *l);
		l->server = srv;
		l->cfg = lc;
		protocol_defaults(cfg, lc, l);
		struct sockaddr_storage addr;
		if (parse_address(lc->address, &addr) < 0) {
			snprintf(err, errlen, "listen address \"%s\" is not IP:PORT", lc->address);
			return -1;
		}
		uv_tcp_init(srv->loop, &l->tcp);
		l->tcp.data = l;
		nlisteners++;
		int rc = uv_tcp_bind(&l->tcp, (const struct sockaddr *)&addr, 0);
		if (rc == 0)
			rc = uv_listen((uv_stream_t *)&l->tcp, 511, on_connection);
		if (rc < 0) {
			snprintf(err, errlen, "cannot listen on %s (%s): %s", lc->address,
			         config_protocol_name(lc->protocol), uv_strerror(rc));
			return -1;
		}
		l->bound = true;
		log_info("event=listen protocol=%s address=%s tls=%s",
		         config_protocol_name(lc->protocol), lc->address, config_tls_name(lc->tls));
	}
	return 0;
}

void listeners_stop(void)
{
	for (size_t i = 0; i < nlisteners; i++) {
		struct listener *l = &listeners[i];
		if (!uv_is_closing((uv_handle_t *)&l->tcp))
			uv_close((uv_handle_t *)&l->tcp, NULL);
		l->bound = false;
	}
}
