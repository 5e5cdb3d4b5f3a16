/* env: see env.h. */
#include "proto/common/env.h"

#include "net/conn.h"

bool proto_auth_allowed(const struct proto_env *env, const struct conn *c)
{
	return conn_is_tls(c) || (env->auth_plaintext_loopback && conn_peer_is_loopback(c));
}
