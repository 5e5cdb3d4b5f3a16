/* jmap_password: POST /jmap/password, the webmail's "change my
 * password" (cookie + X-CSRF-Token, body {"old": ..., "new": ...}). Why a
 * file of its own: it is the one webmail request that writes an account's
 * credentials, so it goes through exactly what the other paths use: the
 * old password through auth_check (the pool and the login throttle that
 * IMAP and the login form count in), the new one checked by
 * admin_password_problem (the CLI's minimum) and hashed on the hashing
 * threads by admin_hash_password_async, then stored by the admin op the
 * CLI and the admin API run (ADMIN_USER_PASSWD). Every other webmail
 * session of the account ends; the one that asked stays.
 *
 * Answers: 204 changed; 400 no such body or the new password too weak;
 * 401 no session; 403 a wrong CSRF token or a wrong old password; 429
 * throttled; 503 the check or the store failed. */
#include "proto/http/admin_json.h"
#include "proto/http/http_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin.h"
#include "auth/auth.h"
#include "net/conn.h"
#include "proto/common/env.h"
#include "store/store.h"

#define COOKIE_NAME "tern_session"

struct pw_change {
	struct http_session *s;
	struct jmap_web_login who;
	char token[JMAP_WEB_TOKEN_LEN + 1]; /* the session that stays */
	char new_password[ADMIN_PASSWORD_MAX + 1];
	struct admin_op op;
};

static void pw_end(struct pw_change *p, bool held)
{
	struct http_session *s = p->s;
	explicit_bzero(p, sizeof *p);
	free(p);
	if (held)
		http_session_resume(s);
}

static void stored(void *arg, int rc)
{
	struct pw_change *p = arg;
	struct http_session *s = p->s;
	if (!s->closed) {
		if (rc < 0) {
			http_json_error(s, 503, "the password could not be stored", NULL);
		} else {
			jmap_web_logout_others(s->ctx->jmap, p->who.account_id, p->token,
			                       strlen(p->token));
			http_respond(s, 204, NULL, NULL, NULL, 0, HTTP_R_NOSTORE);
		}
	}
	pw_end(p, true);
}

static int store_job(struct store_tx *tx, void *arg)
{
	struct pw_change *p = arg;
	return admin_op_run(tx, &p->op);
}

static void hashed(void *ud, int rc, const char *hash, const char *scram_sha1,
                   const char *scram_sha256, const char *err)
{
	(void)err;
	struct pw_change *p = ud;
	if (rc < 0 || admin_op_set(&p->op, ADMIN_USER_PASSWD, p->who.address, hash) < 0 ||
	    snprintf(p->op.scram_sha1, sizeof p->op.scram_sha1, "%s", scram_sha1) >=
	        (int)sizeof p->op.scram_sha1 ||
	    snprintf(p->op.scram_sha256, sizeof p->op.scram_sha256, "%s", scram_sha256) >=
	        (int)sizeof p->op.scram_sha256 ||
	    store_submit(p->s->ctx->env->store, store_job, stored, p) < 0)
		stored(p, -EIO);
}

static void checked(void *ud, enum auth_result result, const struct auth_account *acct)
{
	struct pw_change *p = ud;
	struct http_session *s = p->s;
	if (s->closed) {
		pw_end(p, true);
		return;
	}
	if (result == AUTH_OK && acct->account_id == p->who.account_id) {
		if (admin_hash_password_async(s->ctx->env->auth, p->new_password, hashed, p) < 0)
			stored(p, -ENOMEM);
		explicit_bzero(p->new_password, sizeof p->new_password);
		return;
	}
	if (result == AUTH_OK || result == AUTH_FAIL)
		http_json_error(s, 403, "the old password is wrong", NULL);
	else if (result == AUTH_THROTTLED)
		http_json_error(s, 429, "too many failed logins: try again later",
		                "Retry-After: 60\r\n");
	else
		http_json_error(s, 503, "the password could not be checked: try again later", NULL);
	pw_end(p, true);
}

static const char *field(const struct http_session *s, const char *name, size_t *len)
{
	const struct http_field *f = http_request_field(s->req, name);
	if (!f)
		return NULL;
	*len = f->value_len;
	return f->value;
}

void http_jmap_password(struct http_session *s)
{
	if (!conn_is_tls(s->c)) {
		http_json_error(s, 403, "JMAP is served over HTTPS only", NULL);
		return;
	}
	size_t clen = 0, tlen = 0, n = 0;
	const char *cookies = field(s, "Cookie", &n);
	const char *tok = cookies ? http_cookie_value(cookies, n, COOKIE_NAME, &tlen) : NULL;
	const char *csrf = field(s, "X-CSRF-Token", &clen);
	struct jmap_web_login who;
	enum jmap_web_check ck =
	    tok ? jmap_web_check(s->ctx->jmap, tok, tlen, csrf, clen, true, &who) : JMAP_WEB_NONE;
	if (ck == JMAP_WEB_NONE) {
		http_json_error(s, 401, "authentication required", NULL);
		return;
	}
	if (ck == JMAP_WEB_BAD_CSRF) {
		http_json_error(s, 403, "the X-CSRF-Token header is missing or wrong", NULL);
		return;
	}
	static const char *const names[] = {"old", "new"};
	const char *values[2] = {NULL, NULL};
	json_t *doc = NULL;
	char err[200];
	int status = http_json_fields(s, names, values, 2, &doc, err, sizeof err);
	explicit_bzero(s->body.data, s->body.len);
	const char *problem = NULL;
	if (status == 0 && (!values[0] || !values[1] || !*values[0])) {
		status = 400;
		snprintf(err, sizeof err, "old and new are required");
	} else if (status == 0 &&
	           (problem = admin_password_problem(values[1], strlen(values[1])))) {
		status = 400;
		snprintf(err, sizeof err, "%s", problem);
	}
	struct pw_change *p = status ? NULL : calloc(1, sizeof *p);
	if (!status && !p) {
		status = 503;
		snprintf(err, sizeof err, "out of memory");
	}
	if (status) {
		for (int i = 0; i < 2; i++)
			if (values[i])
				explicit_bzero((char *)values[i], strlen(values[i]));
		json_decref(doc);
		http_json_error(s, status, err, NULL);
		return;
	}
	p->s = s;
	p->who = who;
	snprintf(p->token, sizeof p->token, "%.*s", (int)tlen, tok);
	snprintf(p->new_password, sizeof p->new_password, "%s", values[1]);
	struct auth_req *ar =
	    auth_check(s->ctx->env->auth, conn_peer_ip(s->c), who.address, values[0], checked, p);
	explicit_bzero((char *)values[0], strlen(values[0]));
	explicit_bzero((char *)values[1], strlen(values[1]));
	json_decref(doc);
	if (!ar) {
		http_json_error(s, 503, "out of memory", NULL);
		pw_end(p, false);
		return;
	}
	http_session_hold(s);
}
