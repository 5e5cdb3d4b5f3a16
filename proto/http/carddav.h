/* carddav: the address books over WebDAV (RFC 6352, RFC 4918, RFC 6578),
 * what the router hands /.well-known/carddav, /dav and everything below.
 * carddav_int.h is what its files share. */
#ifndef TERN_HTTP_CARDDAV_H
#define TERN_HTTP_CARDDAV_H

struct http_session;

/* Any method: OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH,
 * MKCOL, REPORT (the parser's HTTP_OTHER; s->req->method_name says). */
void http_carddav(struct http_session *s);

#endif
