/* jmap_routes: JMAP over HTTPS (RFC 8620 §2, §3.1) and the webmail's
 * login.
 *
 *   GET  /.well-known/jmap, /jmap/session   the session resource
 *   POST /jmap/api                          a JMAP request
 *   POST /jmap/login  {"username","password"} -> {"csrf","username"} and
 *                     the tern_session cookie (jmap_web_sessions.c)
 *   POST /jmap/logout                       ends that session (204)
 *   GET  /jmap/eventsource                  push (jmap_push.c)
 *
 * and authenticates the same way for the blob endpoints of jmap_blob.c
 * (http_jmap_authenticate).
 *
 * Only over TLS: on a plain listener the router has already redirected
 * to HTTPS when there is an HTTPS listener, and 403 answers otherwise.
 *
 * A request is authenticated by the tern_session cookie or by Basic
 * (RFC 7617). A cookie request that is not GET/HEAD must carry the
 * session's X-CSRF-Token (403 otherwise): the cookie is sent by the
 * browser on its own, the token only by the page. Basic credentials and
 * the login go through auth_check(), the same pool, password check and
 * throttle as IMAP and SMTP (hashing in the pool's threads, never on the
 * loop): 401 wrong, 429 throttled, 503 when the store fails. The Basic
 * challenge is left out of a 401 to a browser's script (Sec-Fetch-Mode
 * other than navigate) or to a request with a cookie, so the webmail
 * shows its own form rather than the browser's dialog.
 *
 * The session is held (conn paused) while a password is checked and
 * while a JMAP request waits for the store; a late answer to a closed
 * connection only frees. */
#include "proto/http/admin_json.h"
#include "proto/http/http_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/auth.h"
#include "lib/base64.h"
#include "net/conn.h"
#include "proto/common/env.h"
#include "proto/jmap/jmap.h"

#define COOKIE_NAME "tern_session"
#define COOKIE_ATTRS "; Path=/; HttpOnly; Secure; SameSite=Strict"
#define BASIC_CHALLENGE "WWW-Authenticate: Basic realm=\"tern\", charset=\"UTF-8\"\r\n"
#define MAX_USER HTTP_BASIC_USER_MAX
#define MAX_PASSWORD HTTP_BASIC_PASSWORD_MAX

enum endpoint { EP_SESSION, EP_API, EP_LOGIN, EP_LOGOUT, EP_EVENTSOURCE, EP_CALL };

/* One request on its way through authentication and the runner. */
struct jreq {
	struct http_session *s;
	enum endpoint ep;
	bool held;
	bool by_cookie;
	struct jmap_web_login who;
	struct jmap_limits limits; /* the runner points at them until it answers */
	http_jmap_authed_fn then;  /* EP_CALL: another file's endpoint */
};

static void jreq_end(struct jreq *j)
{
	struct http_session *s = j->s;
	bool held = j->held;
	explicit_bzero(j, sizeof *j);
	free(j);
	if (held)
		http_session_resume(s);
}

static const char *field(const struct http_session *s, const char *name, size_t *len)
{
	const struct http_field *f = http_request_field(s->req, name);
	if (!f)
		return NULL;
	*len = f->value_len;
	return f->value;
}

const char *http_cookie_value(const char *v, size_t n, const char *name, size_t *len)
{
	const char *end = v + n;
	size_t name_len = strlen(name);
	while (v < end) {
		while (v < end && (*v == ' ' || *v == ';'))
			v++;
		const char *semi = memchr(v, ';', (size_t)(end - v));
		const char *stop = semi ? semi : end;
		if ((size_t)(stop - v) > name_len && memcmp(v, name, name_len) == 0 &&
		    v[name_len] == '=') {
			*len = (size_t)(stop - v) - name_len - 1;
			return v + name_len + 1;
		}
		v = stop;
	}
	return NULL;
}

/* The tern_session cookie's value in the Cookie field, or NULL. */
static const char *session_cookie(const struct http_session *s, size_t *len)
{
	size_t n;
	const char *v = field(s, "Cookie", &n);
	return v ? http_cookie_value(v, n, COOKIE_NAME, len) : NULL;
}

static bool wants_challenge(const struct http_session *s)
{
	size_t n, c;
	const char *mode = field(s, "Sec-Fetch-Mode", &n);
	if (mode && !(n == 8 && strncasecmp(mode, "navigate", 8) == 0))
		return false;
	return session_cookie(s, &c) == NULL;
}

static void unauthorized(struct http_session *s)
{
	http_json_error(s, 401, "authentication required",
	                wants_challenge(s) ? BASIC_CHALLENGE : NULL);
}

bool http_basic_credentials(const char *v, size_t len, char *user, char *password)
{
	if (len < 6 || strncasecmp(v, "Basic ", 6) != 0)
		return false;
	v += 6;
	len -= 6;
	while (len && *v == ' ')
		v++, len--;
	char out[MAX_USER + MAX_PASSWORD + 2];
	size_t n = 0;
	uint32_t acc = 0;
	int bits = 0;
	size_t i = 0;
	for (; i < len && v[i] != '='; i++) {
		int d = base64_value((unsigned char)v[i], '/');
		if (d < 0)
			return false;
		acc = acc << 6 | (uint32_t)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n + 1 >= sizeof out)
				return false;
			out[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	for (; i < len; i++)
		if (v[i] != '=')
			return false;
	out[n] = '\0';
	char *colon = memchr(out, ':', n);
	bool ok = colon && memchr(out, '\0', n) == NULL && colon != out &&
	          (size_t)(colon - out) < MAX_USER && strlen(colon + 1) < MAX_PASSWORD;
	if (ok) {
		*colon = '\0';
		memcpy(user, out, (size_t)(colon - out) + 1);
		memcpy(password, colon + 1, strlen(colon + 1) + 1);
	}
	explicit_bzero(out, sizeof out);
	return ok;
}

/* ---- what an authenticated request does ---- */

static void on_jmap_answer(void *ud, int status, const char *type, const char *body, size_t len)
{
	struct jreq *j = ud;
	if (!j->s->closed)
		http_respond(j->s, status, type, NULL, body, len, HTTP_R_NOSTORE);
	jreq_end(j);
}

static void fill_limits(struct jreq *j)
{
	const struct jmap_settings *js = j->s->ctx->jmap;
	int64_t max_req = js->max_size_request;
	if (max_req > j->s->ctx->settings->max_body)
		max_req = j->s->ctx->settings->max_body; /* HTTP would refuse more first (413) */
	j->limits = (struct jmap_limits){
	    .max_size_upload = (size_t)js->max_size_upload,
	    .max_concurrent_upload = (size_t)js->max_concurrent_upload,
	    .max_size_request = (size_t)max_req,
	    .max_concurrent_requests = (size_t)js->max_concurrent_requests,
	    .max_calls_in_request = (size_t)js->max_calls_in_request,
	    .max_objects_in_get = (size_t)js->max_objects_in_get,
	    .max_objects_in_set = (size_t)js->max_objects_in_set,
	};
}

static void login_answer(struct jreq *j);

static void authenticated(struct jreq *j)
{
	struct http_session *s = j->s;
	fill_limits(j);
	struct jmap_account acct = {s->ctx->env->store, j->who.account_id, j->who.address,
	                            &j->limits, s->ctx->env->hostname};
	switch (j->ep) {
	case EP_SESSION: {
		json_t *doc = jmap_session_json(&acct);
		if (!doc)
			http_json_error(s, 500, "out of memory", NULL);
		else
			http_json_respond(s, 200, doc, NULL);
		jreq_end(j);
		return;
	}
	case EP_API: {
		if (s->ctx->env->stopping) {
			http_json_error(s, 503, "the server is stopping", NULL);
			jreq_end(j);
			return;
		}
		bool held = j->held;
		struct jmap_request *r =
		    jmap_request_start(&acct, s->body.data, s->body.len, on_jmap_answer, j);
		if (r && !held) { /* it answers later: j lives until then */
			j->held = true;
			http_session_hold(s);
		}
		return;
	}
	case EP_LOGIN:
		login_answer(j);
		return;
	case EP_EVENTSOURCE: /* jmap_push.c */
		http_jmap_push_start(s, j->who.account_id, j->who.address);
		jreq_end(j);
		return;
	case EP_CALL: {
		bool held = j->held;
		j->held = false;
		if (j->then(s, &j->who)) { /* it answers later and resumes then */
			if (!held)
				http_session_hold(s);
		} else if (held) {
			http_session_resume(s);
		}
		jreq_end(j);
		return;
	}
	case EP_LOGOUT: {
		size_t n;
		const char *tok = session_cookie(s, &n);
		if (tok)
			jmap_web_logout(s->ctx->jmap, tok, n);
		http_respond(s, 204, NULL,
		             "Set-Cookie: " COOKIE_NAME "=" COOKIE_ATTRS "; Max-Age=0\r\n", NULL, 0,
		             HTTP_R_NOSTORE);
		jreq_end(j);
		return;
	}
	}
}

static void on_checked(void *ud, enum auth_result result, const struct auth_account *acct)
{
	struct jreq *j = ud;
	struct http_session *s = j->s;
	if (s->closed) {
		jreq_end(j);
		return;
	}
	switch (result) {
	case AUTH_OK:
		j->who.account_id = acct->account_id;
		snprintf(j->who.address, sizeof j->who.address, "%s", acct->address);
		authenticated(j);
		return;
	case AUTH_FAIL:
		if (j->ep == EP_LOGIN)
			http_json_error(s, 401, "wrong username or password", NULL);
		else
			unauthorized(s);
		break;
	case AUTH_THROTTLED:
		http_json_error(s, 429, "too many failed logins: try again later",
		                "Retry-After: 60\r\n");
		break;
	case AUTH_TEMPFAIL:
	default:
		http_json_error(s, 503, "the password could not be checked: try again later", NULL);
		break;
	}
	jreq_end(j);
}

/* Check user and password in the pool; the session is held meanwhile. */
static void check_password(struct jreq *j, const char *user, const char *password)
{
	struct http_session *s = j->s;
	struct auth_req *ar =
	    auth_check(s->ctx->env->auth, conn_peer_ip(s->c), user, password, on_checked, j);
	if (!ar) {
		http_json_error(s, 503, "out of memory", NULL);
		jreq_end(j);
		return;
	}
	j->held = true;
	http_session_hold(s);
}

static struct jreq *new_jreq(struct http_session *s, enum endpoint ep)
{
	if (!conn_is_tls(s->c)) {
		http_json_error(s, 403, "JMAP is served over HTTPS only", NULL);
		return NULL;
	}
	struct jreq *j = calloc(1, sizeof *j);
	if (!j) {
		http_json_error(s, 503, "out of memory", NULL);
		return NULL;
	}
	j->s = s;
	j->ep = ep;
	return j;
}

/* Authenticate by cookie or Basic, then go on in authenticated(). */
static void start(struct http_session *s, enum endpoint ep, http_jmap_authed_fn then)
{
	struct jreq *j = new_jreq(s, ep);
	if (!j)
		return;
	j->then = then;
	size_t tlen = 0, clen = 0, alen = 0;
	const char *tok = session_cookie(s, &tlen);
	const char *auth = field(s, "Authorization", &alen);
	if (tok && (!auth || ep == EP_LOGOUT)) {
		bool need_csrf = s->req->method != HTTP_GET && s->req->method != HTTP_HEAD;
		const char *csrf = field(s, "X-CSRF-Token", &clen);
		switch (jmap_web_check(s->ctx->jmap, tok, tlen, csrf, clen, need_csrf, &j->who)) {
		case JMAP_WEB_OK:
			j->by_cookie = true;
			authenticated(j);
			return;
		case JMAP_WEB_BAD_CSRF:
			http_json_error(s, 403, "the X-CSRF-Token header is missing or wrong",
			                NULL);
			jreq_end(j);
			return;
		case JMAP_WEB_NONE:
			break;
		}
	}
	char user[MAX_USER], password[MAX_PASSWORD];
	if (ep == EP_LOGOUT || !auth || !http_basic_credentials(auth, alen, user, password)) {
		unauthorized(s);
		jreq_end(j);
		return;
	}
	check_password(j, user, password);
	explicit_bzero(password, sizeof password);
}

void http_jmap_session(struct http_session *s)
{
	start(s, EP_SESSION, NULL);
}

void http_jmap_api(struct http_session *s)
{
	start(s, EP_API, NULL);
}

void http_jmap_logout(struct http_session *s)
{
	start(s, EP_LOGOUT, NULL);
}

void http_jmap_authenticate(struct http_session *s, http_jmap_authed_fn then)
{
	start(s, EP_CALL, then);
}

void http_jmap_eventsource(struct http_session *s)
{
	start(s, EP_EVENTSOURCE, NULL);
}

/* ---- login ---- */

static void login_answer(struct jreq *j)
{
	struct http_session *s = j->s;
	char token[JMAP_WEB_TOKEN_LEN + 1], csrf[JMAP_WEB_TOKEN_LEN + 1];
	if (jmap_web_login(s->ctx->jmap, &j->who, token, csrf) < 0) {
		http_json_error(s, 503, "no session could be made", NULL);
		jreq_end(j);
		return;
	}
	char cookie[200];
	snprintf(cookie, sizeof cookie, "Set-Cookie: " COOKIE_NAME "=%s" COOKIE_ATTRS "\r\n",
	         token);
	http_json_respond(s, 200, json_pack("{s:s, s:s}", "csrf", csrf, "username", j->who.address),
	                  cookie);
	explicit_bzero(token, sizeof token);
	explicit_bzero(cookie, sizeof cookie);
	jreq_end(j);
}

void http_jmap_login(struct http_session *s)
{
	struct jreq *j = new_jreq(s, EP_LOGIN);
	if (!j)
		return;
	static const char *const names[] = {"username", "password"};
	const char *values[2];
	json_t *doc = NULL;
	char err[200];
	int status = http_json_fields(s, names, values, 2, &doc, err, sizeof err);
	explicit_bzero(s->body.data, s->body.len);
	if (status == 0 && (!values[0] || !values[1] || !*values[0] ||
	                    strlen(values[0]) >= MAX_USER || strlen(values[1]) >= MAX_PASSWORD)) {
		status = 400;
		snprintf(err, sizeof err, "username and password are required");
	}
	if (status) {
		if (doc && values[1])
			explicit_bzero((char *)values[1], strlen(values[1]));
		json_decref(doc);
		http_json_error(s, status, err, NULL);
		jreq_end(j);
		return;
	}
	check_password(j, values[0], values[1]);
	explicit_bzero((char *)values[1], strlen(values[1]));
	json_decref(doc);
}
