/* session: see session.h. */
#include "proto/common/session.h"

#include <stdlib.h>

#include "net/conn.h"

void *proto_session_new(struct conn *c, size_t size, const struct conn_callbacks *cb,
                        size_t max_line)
{
	void *s = calloc(1, size);
	if (!s) {
		conn_abort(c);
		return NULL;
	}
	conn_set_callbacks(c, cb, s);
	conn_set_max_line(c, max_line);
	return s;
}
