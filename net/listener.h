/* listener: binds every [[listen]] entry on the loop and hands accepted
 * sockets to conn with the listener's protocol, TLS mode and limits. */
#ifndef TERN_LISTENER_H
#define TERN_LISTENER_H

#include <stdbool.h>
#include <uv.h>

#include "app/config.h"
#include "net/conn.h"

struct server;

struct listener {
	struct server *server;
	const struct config_listen *cfg;
	struct conn_limits limits;
	conn_start_fn start;
	uv_tcp_t tcp;
	bool bound;
};

/* Bind all listeners; on failure, err names the address and the reason. */
int listeners_start(struct server *srv, char *err, size_t errlen);
/* Stop accepting (close the listening sockets). */
void listeners_stop(void);

static inline struct server *listener_server(const struct listener *l)
{
	return l->server;
}
static inline const struct config_listen *listener_config(const struct listener *l)
{
	return l->cfg;
}
static inline enum listen_protocol listener_protocol(const struct listener *l)
{
	return l->cfg->protocol;
}

#endif
