/* life: when an HTTP session is freed, and how a handler holds it.
 *
 * Two owners may hold a session: its conn (until the `closed` callback)
 * and a handler waiting for the store (from hold to resume). Whichever
 * lets go last frees it. */
#include "proto/http/http_int.h"

#include <stdlib.h>

#include "net/conn.h"

void http_session_release(struct http_session *s)
{
	if (--s->refs > 0)
		return;
	http_parser_free(s->parser);
	buf_free(&s->body);
	free(s);
}

void http_session_hold(struct http_session *s)
{
	s->waiting = true;
	s->refs++;
	conn_pause(s->c);
}

void http_session_resume(struct http_session *s)
{
	s->waiting = false;
	if (!s->closed) {
		s->req = NULL;
		if (s->parser && http_parser_idle(s->parser)) {
			http_parser_free(s->parser); /* any buffered input makes a new one */
			s->parser = NULL;
		}
		conn_resume(s->c);
	}
	http_session_release(s);
}
