/* listener: one uv_tcp per listener_open(), all on the one loop.
 *
 * Accepting is all a listener does: each connection goes to conn_accept()
 * with the spec's TLS mode, TLS server, limits and start function, and
 * conn takes over from there. */
#include "net/listener.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"

struct listener {
	struct listener_spec spec;
	char address[128];
	uv_tcp_t tcp;
};

static struct listener listeners[LISTENER_MAX];
static size_t nlisteners;

static const char *tls_name(enum conn_tls_mode t)
{
	static const char *const names[] = {"none", "starttls", "implicit"};
	return (unsigned)t < 3 ? names[t] : "?";
}

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
		log_warn("event=accept_error listen=%s err=%s", l->address, uv_strerror(status));
		return;
	}
	conn_accept(server->loop, server, l->spec.tls, l->spec.tls_server, l->spec.tls_profile,
	            &l->spec.limits, l->spec.start, l->spec.ctx);
}

int listener_open(uv_loop_t *loop, const struct listener_spec *spec, struct sockaddr_storage *bound,
                  char *err, size_t errlen)
{
	if (nlisteners == LISTENER_MAX) {
		snprintf(err, errlen, "too many listeners (at most %d)", LISTENER_MAX);
		return -1;
	}
	struct listener *l = &listeners[nlisteners];
	memset(l, 0, sizeof *l);
	l->spec = *spec;
	snprintf(l->address, sizeof l->address, "%s", spec->address);
	l->spec.address = l->address;
	struct sockaddr_storage addr;
	if (parse_address(spec->address, &addr) < 0) {
		snprintf(err, errlen, "listen address \"%s\" is not IP:PORT", spec->address);
		return -1;
	}
	uv_tcp_init(loop, &l->tcp);
	l->tcp.data = l;
	nlisteners++;
	int rc = uv_tcp_bind(&l->tcp, (const struct sockaddr *)&addr, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&l->tcp, 511, on_connection);
	if (rc == 0 && bound) {
		int len = sizeof *bound;
		rc = uv_tcp_getsockname(&l->tcp, (struct sockaddr *)bound, &len);
	}
	if (rc < 0) {
		snprintf(err, errlen, "cannot listen on %s (%s): %s", spec->address, spec->name,
		         uv_strerror(rc));
		return -1;
	}
	log_info("event=listen protocol=%s address=%s tls=%s", spec->name, spec->address,
	         tls_name(spec->tls));
	return 0;
}

void listeners_stop(void)
{
	for (size_t i = 0; i < nlisteners; i++) {
		struct listener *l = &listeners[i];
		if (!uv_is_closing((uv_handle_t *)&l->tcp))
			uv_close((uv_handle_t *)&l->tcp, NULL);
	}
}
