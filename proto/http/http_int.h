/* http_int: the HTTP session and what its parts share (not for the app). */
#ifndef TERN_HTTP_INT_H
#define TERN_HTTP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "proto/http/http.h"
#include "proto/http/parser.h"

struct conn;
struct http_push;
struct http_body_stream;

struct http_session {
	struct conn *c;
	const struct http_ctx *ctx;
	struct http_limits limits;
	struct http_parser *parser;     /* NULL while idle between requests */
	const struct http_request *req; /* between HEAD and the response */
	struct buf body;                /* the request's body, up to max_body */
	bool too_big;                   /* the body ran over max_body: 413 at DONE */
	bool waiting;                   /* a handler answers later (paused) */
	bool closed;                    /* the conn is gone; a late answer only frees */
	int refs;                       /* the conn's, and a waiting handler's */
	unsigned requests;              /* answered on this connection */
	char path[1024];                /* the target's path, percent-decoded */
	const char *query;              /* the target's query ("" if none), raw */
	struct http_push *push;         /* an event stream (jmap_push.c): input is dropped */
	struct http_body_stream *out;   /* a body going out in slices (body_stream.c) */
	bool body_pending;              /* the head just sent promised a body still to write */
	bool close_after_body;          /* ... and the connection closes after it */
};

/* ---- responses (response.c) ---- */

/* What a response is, besides its status. */
#define HTTP_R_CACHE 0x1u       /* give an ETag and honour If-None-Match (GET/HEAD) */
#define HTTP_R_GZIP 0x2u        /* compress if the client accepts gzip and it pays */
#define HTTP_R_HTML 0x4u        /* send the HTML Content-Security-Policy */
#define HTTP_R_NOSTORE 0x8u     /* Cache-Control: no-store (secrets, live figures) */
#define HTTP_R_STREAM 0x10u     /* a head only: the body follows until the connection closes */
#define HTTP_R_FRAME_SELF 0x20u /* may be framed by this origin: X-Frame-Options: SAMEORIGIN */
#define HTTP_R_BODY_LATER 0x40u /* head only, Content-Length len: http_respond_stream's */

/* Answer the current request: status line, the headers every response
 * has (Date, security headers, Content-Length, Connection), extra (each
 * "Name: value\r\n", may be NULL), then the body unless the method was
 * HEAD or the status has none. Closes the connection afterwards when the
 * request or the status demands it. */
void http_respond(struct http_session *s, int status, const char *content_type,
                  const char *extra_headers, const void *body, size_t len, unsigned flags);
/* The same from a representation prepared in advance (static files):
 * etag and a gzip-compressed copy may be given; If-None-Match and
 * Accept-Encoding choose among them. */
struct http_entity {
	const char *content_type;
	const char *extra; /* more header lines, or NULL */
	const void *body;
	size_t len;
	const void *gz; /* the body gzip-compressed, or NULL */
	size_t gzlen;
	const char *etag; /* a quoted entity-tag, or NULL */
	unsigned flags;   /* HTTP_R_HTML, HTTP_R_NOSTORE */
};
void http_respond_entity(struct http_session *s, int status, const struct http_entity *e);
/* Answer with a body of e->len bytes that src reads in slices as the
 * socket drains (a download of a big message or upload), so that memory
 * stays at the conn's output limit plus one slice whatever the size. The
 * head is e's (e->body is ignored); HEAD, a 304 or a closed connection
 * only send the head or nothing. A slice that cannot be read after the
 * head went out aborts the connection (the length was promised). The
 * session is held until the body is out; src->free(src->ud) is called
 * once in every case. */
struct http_body_source {
	/* Up to len bytes at off into buf: how many (> 0), or a negative
	 * errno (0 before the end is an error too). */
	long (*read)(void *ud, uint64_t off, void *buf, size_t len);
	void (*free)(void *ud);
	void *ud;
};
#define HTTP_STREAM_SLICE 65536
void http_respond_stream(struct http_session *s, int status, const struct http_entity *e,
                         const struct http_body_source *src);
/* The connection drained or closed: go on writing, or let go (session.c). */
void http_body_stream_drained(struct http_session *s);
void http_body_stream_closed(struct http_session *s);
/* gzip of body into out: 0, or -1 when it failed or did not pay. */
int http_gzip(struct buf *out, const void *body, size_t len);
/* A short text/plain answer ("404 Not Found\n"). */
void http_respond_error(struct http_session *s, int status);
const char *http_reason(int status);

/* ---- routing (routes.c) ---- */

/* Dispatch a complete request (head and body in s). */
void http_route(struct http_session *s);

/* ---- the target (target.c) ---- */

/* Split s->req's target into s->path (decoded) and s->query. 0, or -1
 * (answer 400): not origin- or absolute-form, a bad escape, an encoded NUL
 * or slash, or a dot segment. */
int http_split_target(struct http_session *s);
/* The value of the query parameter name, percent-decoded into out.
 * Returns its length, or -1 if absent or too long. */
int http_query_param(const char *query, const char *name, char *out, size_t outlen);

/* ---- the session's life (life.c) ---- */

/* A handler that answers later (a store job) holds the session: conn
 * paused, no more requests parsed. http_session_resume() after it has
 * responded (or not, when s->closed). */
void http_session_hold(struct http_session *s);
void http_session_resume(struct http_session *s);
/* Drop a reference; the last one frees the session. */
void http_session_release(struct http_session *s);

/* ---- endpoints ---- */
void http_autoconfig_thunderbird(struct http_session *s);
void http_autodiscover_outlook(struct http_session *s);
void http_mobileconfig_apple(struct http_session *s);
void http_healthz(struct http_session *s);
void http_readyz(struct http_session *s);
void http_metrics(struct http_session *s);
void http_mta_sts(struct http_session *s);
/* A file under [http] static_dir for s->path: answered (true), or not
 * there (false: the caller says 404). */
bool http_static(struct http_session *s);
void http_admin_api(struct http_session *s); /* /api/admin/ (admin_api.c) */
void http_send_api(struct http_session *s);  /* /api/v1/send (send_api.c) */
/* The most body a request for s's target may have: [http] max_body, or
 * for /api/v1/send the message size limit in base64 and its JSON. */
int64_t http_max_body(const struct http_session *s, const struct http_request *r);
/* 413 for a body over that: JSON with the SMTP reply for the sending API,
 * the short text answer for the rest. */
void http_respond_too_big(struct http_session *s);
void http_webmail(struct http_session *s); /* /, /webmail/ (webmail.c) */
/* JMAP (jmap_routes.c): the session resource (/.well-known/jmap and
 * /jmap/session), the API, the webmail's login and logout. */
void http_jmap_session(struct http_session *s);
void http_jmap_api(struct http_session *s);
void http_jmap_login(struct http_session *s);
void http_jmap_logout(struct http_session *s);
void http_jmap_password(struct http_session *s); /* jmap_password.c */
void http_jmap_eventsource(struct http_session *s);
/* JMAP push (jmap_push.c): GET /jmap/eventsource for an authenticated
 * account either answers an error or turns s into an event stream that
 * lives until the connection closes. */
void http_jmap_push_start(struct http_session *s, int64_t account_id, const char *address);
/* What the stream's query asks (?types=...&closeafter=state|no&ping=N):
 * types a bit set of Mailbox, Email, Thread (HTTP_PUSH_TYPES for "*"; names
 * the server has no state for are ignored), ping 0 (off) or clamped to
 * [HTTP_PUSH_PING_MIN, HTTP_PUSH_PING_MAX] seconds. 0, or -1 with a
 * message in err: types missing or empty, or a bad closeafter or ping. */
#define HTTP_PUSH_TYPES 0x7u
#define HTTP_PUSH_PING_MIN 5
#define HTTP_PUSH_PING_MAX 300
struct http_push_query {
	unsigned types;
	bool close_after_state;
	unsigned ping_s;
};
int http_push_parse_query(const char *query, struct http_push_query *q, char *err, size_t errlen);
/* The connection sat idle: true to keep the stream open. */
bool http_push_keep(struct http_session *s);
/* The connection closed: the stream lets go of s (NULL-safe). */
void http_push_closed(struct http_session *s);
struct jmap_web_login;
/* What an authenticated request does (who: its account). It answers now
 * and returns false, or returns true and answers later: the session is
 * held until it calls http_session_resume(). */
typedef bool (*http_jmap_authed_fn)(struct http_session *s, const struct jmap_web_login *who);
/* Authenticate s as /jmap/api does (cookie + X-CSRF-Token, or Basic),
 * answering 401/403/429/503 itself, then call then. */
void http_jmap_authenticate(struct http_session *s, http_jmap_authed_fn then);
/* The blob endpoints (jmap_blob.c, RFC 8620 §6): POST /jmap/upload/{accountId}/,
 * GET /jmap/download/{accountId}/{blobId}/{name}?accept={type}, and the
 * webmail's sanitized HTML view GET /jmap/html/{accountId}/{emailId}. */
void http_jmap_upload(struct http_session *s);
void http_jmap_download(struct http_session *s);
void http_jmap_html(struct http_session *s);
/* Split a download path's rest "{accountId}/{blobId}/{name}" (after
 * "/jmap/download/"): account id, blob id (NUL-terminated into blob,
 * bloblen bytes) and name (a pointer into rest). false when malformed. */
bool http_jmap_download_split(const char *rest, int64_t *account_id, char *blob, size_t bloblen,
                              const char **name);
/* RFC 7617: an Authorization value "Basic " base64(user ":" password)
 * into user (HTTP_BASIC_USER_MAX bytes) and password
 * (HTTP_BASIC_PASSWORD_MAX), NUL-terminated. false when malformed, too
 * long, with a NUL, or an empty user. */
#define HTTP_BASIC_USER_MAX 320
#define HTTP_BASIC_PASSWORD_MAX 1024
bool http_basic_credentials(const char *v, size_t len, char *user, char *password);
/* The value of cookie name in a Cookie field's value (v, n bytes: RFC 6265
 * §4.2.1 "a=b; c=d"), *len bytes, or NULL. */
const char *http_cookie_value(const char *v, size_t n, const char *name, size_t *len);

/* ---- the webmail's sessions (jmap_web_sessions.c) ---- */

struct jmap_settings;
#define JMAP_WEB_TOKEN_LEN 43 /* 32 random bytes, base64url */
struct jmap_web_login {
	int64_t account_id;
	char address[320];
};
/* A new session for who: its cookie token and CSRF token. 0, or -1 (no
 * randomness). */
int jmap_web_login(const struct jmap_settings *js, const struct jmap_web_login *who,
                   char token[JMAP_WEB_TOKEN_LEN + 1], char csrf[JMAP_WEB_TOKEN_LEN + 1]);
enum jmap_web_check { JMAP_WEB_OK, JMAP_WEB_NONE, JMAP_WEB_BAD_CSRF };
/* The session of a cookie token: OK (who filled, the session touched),
 * NONE (unknown, or expired: then forgotten), or BAD_CSRF when need_csrf
 * and csrf (csrf_len bytes, may be NULL) is not the session's. */
enum jmap_web_check jmap_web_check(const struct jmap_settings *js, const char *token, size_t len,
                                   const char *csrf, size_t csrf_len, bool need_csrf,
                                   struct jmap_web_login *who);
void jmap_web_logout(const struct jmap_settings *js, const char *token, size_t len);
/* Ends every session of account_id but the one of token (len bytes). */
void jmap_web_logout_others(const struct jmap_settings *js, int64_t account_id, const char *token,
                            size_t len);

#endif
