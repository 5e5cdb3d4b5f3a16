/* session: the first step of every protocol's start function.
 *
 * SMTP, POP3 and IMAP sessions begin the same way: a zeroed session struct,
 * attached to the conn with the protocol's callbacks and its line limit,
 * and a conn that is simply dropped when there is no memory for it. What
 * follows differs and stays in each protocol: its fields, the connect log
 * line, the greeting, and the farewell when the server is stopping. */
#ifndef TERN_PROTO_SESSION_H
#define TERN_PROTO_SESSION_H

#include <stddef.h>

struct conn;
struct conn_callbacks;

/* A zeroed session of size bytes, attached to c with cb, c's lines limited
 * to max_line. No callback runs before the start function returns, so it
 * fills in the session after this. NULL when memory ran out: c has been
 * aborted, and nobody is told. */
void *proto_session_new(struct conn *c, size_t size, const struct conn_callbacks *cb,
                        size_t max_line);

#endif
