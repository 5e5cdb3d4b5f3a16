/* send_api: POST /api/v1/send, transactional sending over HTTP (issue 22).
 *
 * A program with a bearer token of scope "send" hands tern a message as
 * JSON (send_request.c turns it into an envelope and bytes) and tern
 * submits it exactly as SMTP submission and JMAP's EmailSubmission do:
 * submit_start() (deliver/submit.h) checks that the envelope and header
 * senders are the account's own, resolves the recipients, DKIM-signs the
 * copy that goes out and commits message, local entries and queue rows in
 * one store job. The 200 {"message_id", "submission_id", "recipients"} is
 * sent only after that COMMIT.
 *
 * Whose mail is it? A token belongs to an account (it sends as that
 * account's addresses and aliases) or to a domain (it sends as any account
 * of the domain, with that account's addresses: the envelope sender is
 * resolved to its account, which must be in the token's domain, and the
 * submission then runs as that account). Refusals carry the SMTP reply
 * submission gives: {"error": {"code", "smtp", "message"}}.
 *
 * Order of checks: HTTPS (403 on a plain listener), the token (401, 403
 * for another scope or a token whose owner is gone), Content-Type (415),
 * Idempotency-Key, the body (400/413/422), ownership and recipients (403,
 * 422), then the store.
 *
 * Idempotency-Key: a successful send with a key is remembered per token
 * (store/send_idem.h: the body's SHA-256 and the answer) for a day; a
 * request with a known key and the same body gets the same answer and
 * sends nothing ("Idempotent-Replayed: true"), one with another body 422
 * idempotency_mismatch, and one whose twin is still in flight 409. The
 * key's row is written in the message's own transaction (in_submission),
 * so after a crash either both are there (a retry gets the answer) or
 * neither (a retry sends). Refusals are not remembered: a refused request
 * sent nothing, so trying it again is harmless. */
#include "proto/http/admin_json.h"
#include "proto/http/http_int.h"
#include "proto/http/send_request.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "admin/admin.h"
#include "deliver/submit.h"
#include "lib/log.h"
#include "net/conn.h"
#include "proto/common/env.h"
#include "store/accounts.h"
#include "store/send_idem.h"
#include "store/store.h"
#include "tls/tls_compat.h"

#define TOUCH_EVERY 60 /* seconds between writes of a token's last use */

/* The sends with an Idempotency-Key under way, so that a twin sent
 * meanwhile is told to wait rather than sent twice. Few at once. */
struct in_flight {
	struct in_flight *next;
	int64_t token_id;
	char key[STORE_IDEM_KEY_MAX + 1];
};
static struct in_flight *flights;

static struct in_flight *flight_find(int64_t token_id, const char *key)
{
	for (struct in_flight *f = flights; f; f = f->next)
		if (f->token_id == token_id && !strcmp(f->key, key))
			return f;
	return NULL;
}

static void flight_end(struct in_flight *f)
{
	for (struct in_flight **p = &flights; *p; p = &(*p)->next)
		if (*p == f) {
			*p = f->next;
			free(f);
			return;
		}
}

/* One send, from submit_start() to the answer. */
struct send_job {
	struct http_session *s;
	struct send_request req;
	struct submit_result res;
	struct in_flight *flight; /* when keyed */
	int64_t token_id;
	unsigned char hash[STORE_IDEM_HASH];
	char *answer; /* the 200's JSON, for the key's row */
	size_t answer_len;
	int64_t now;
};

static void error_answer(struct http_session *s, int status, const char *code, const char *smtp,
                         const char *message, const char *extra)
{
	json_t *e = json_pack("{s:s, s:s}", "code", code, "message", message);
	if (e && smtp)
		json_object_set_new(e, "smtp", json_string(smtp));
	http_json_respond(s, status, json_pack("{s:o}", "error", e), extra);
}

static void free_op(void *arg, int status)
{
	(void)status;
	free(arg);
}

static void touch(struct http_session *s, const struct store_token *t, int64_t now)
{
	if (now - t->last_used < TOUCH_EVERY || s->ctx->env->stopping)
		return;
	struct admin_op *op = calloc(1, sizeof *op);
	if (!op)
		return;
	*op = (struct admin_op){.kind = ADMIN_TOKEN_TOUCH, .id = t->id, .now = now};
	if (store_submit_lazy(s->ctx->env->store, admin_op_run, free_op, op) < 0)
		free(op);
}

/* The token's check; false when it answered. */
static bool authorized(struct http_session *s, struct store_token *t, int64_t now)
{
	static const char challenge[] = "WWW-Authenticate: Bearer realm=\"tern send\"\r\n";
	static const char invalid[] =
	    "WWW-Authenticate: Bearer realm=\"tern send\", error=\"invalid_token\"\r\n";
	const struct http_field *f = http_request_field(s->req, "Authorization");
	if (!f || f->value_len < 7 || strncasecmp(f->value, "Bearer ", 7) != 0) {
		error_answer(s, 401, "unauthorized", "530 5.7.0 Authentication required",
		             "a bearer token of scope send is required", challenge);
		return false;
	}
	const char *secret = f->value + 7;
	size_t len = f->value_len - 7;
	while (len && *secret == ' ') {
		secret++;
		len--;
	}
	switch (admin_token_check(store_reader(s->ctx->env->store), secret, len, "send", now, t)) {
	case ADMIN_AUTH_OK:
		break;
	case ADMIN_AUTH_SCOPE:
		error_answer(s, 403, "wrong_scope", "535 5.7.8 Authentication credentials invalid",
		             "this token's scope is not send", NULL);
		return false;
	case ADMIN_AUTH_ERROR:
		error_answer(s, 500, "server_error", "451 4.3.0 Temporary local problem",
		             "the store could not be read", NULL);
		return false;
	default:
		error_answer(s, 401, "invalid_token",
		             "535 5.7.8 Authentication credentials invalid",
		             "the token is unknown, revoked or expired", invalid);
		return false;
	}
	if (!t->account_id && !t->domain_id) {
		error_answer(s, 403, "token_without_owner",
		             "535 5.7.8 Authentication credentials invalid",
		             "the token's account or domain no longer exists", NULL);
		return false;
	}
	touch(s, t, now);
	return true;
}

/* The account the message is sent as, into *acct: the token's own, or,
 * for a domain token, the account of the envelope sender when it is in
 * the token's domain. false when it answered. */
static bool sending_account(struct http_session *s, const struct store_token *t,
                            const char *mail_from, struct store_account *acct)
{
	struct store_rd *rd = store_reader(s->ctx->env->store);
	int64_t id = t->account_id;
	if (!id) {
		struct store_rcpt r;
		int rc = store_resolve_rcpt(rd, mail_from, &r);
		if (rc < 0 && rc != -ENOENT && rc != -EINVAL && rc != -ELOOP) {
			error_answer(s, 500, "server_error", "451 4.3.0 Temporary local problem",
			             "the store could not be read", NULL);
			return false;
		}
		id = rc == STORE_RCPT_LOCAL ? r.account_id : 0;
	}
	int rc = id ? store_account_get(rd, id, acct) : 0;
	if (rc < 0) {
		error_answer(s, 500, "server_error", "451 4.3.0 Temporary local problem",
		             "the store could not be read", NULL);
		return false;
	}
	if (rc == 0 || (t->domain_id && acct->domain_id != t->domain_id)) {
		error_answer(s, 403, "sender_not_owned",
		             "553 5.7.1 Sender address not owned by authenticated user",
		             "the envelope sender is not an address of this token's domain", NULL);
		return false;
	}
	if (acct->disabled) {
		error_answer(s, 403, "account_disabled",
		             "535 5.7.8 Authentication credentials invalid",
		             "the sending account is disabled", NULL);
		return false;
	}
	return true;
}

/* deliver/'s refusal as the API's error: HTTP status, code, SMTP reply. */
static void refusal(struct http_session *s, const struct submit_result *res,
                    const struct send_request *req)
{
	int http = 422;
	const char *code = "refused", *smtp = "554 5.0.0 Refused";
	switch (res->status) {
	case DELIVER_NOT_OWNED:
		http = 403, code = "sender_not_owned";
		smtp = "553 5.7.1 Sender address not owned by authenticated user";
		break;
	case DELIVER_RELAY_DENIED:
		http = 403, code = "relay_denied", smtp = "554 5.7.1 Relay access denied";
		break;
	case DELIVER_NO_SUCH_USER:
		code = "invalid_recipient", smtp = "550 5.1.1 User unknown";
		break;
	case DELIVER_ALIAS_LOOP:
		code = "invalid_recipient", smtp = "550 5.4.6 Alias loop";
		break;
	case DELIVER_BAD_ADDRESS:
		code = "invalid_recipient", smtp = "501 5.1.3 Bad recipient address syntax";
		break;
	case DELIVER_MAILBOX_FULL:
		code = "mailbox_full", smtp = "452 4.2.2 Mailbox full, try again later";
		break;
	case DELIVER_NO_RCPTS:
		code = "no_recipients", smtp = "554 5.5.0 No recipients have been specified";
		break;
	case DELIVER_TOO_MANY_RCPTS:
		code = "too_many_recipients", smtp = "452 4.5.3 Too many recipients";
		break;
	case DELIVER_TOO_BIG:
		http = 413, code = "message_too_large";
		smtp = "552 5.3.4 Message size exceeds fixed limit";
		break;
	case DELIVER_BAD_MESSAGE:
		code = "invalid_message", smtp = "554 5.6.0 Message content rejected";
		break;
	default:
		http = 500, code = "server_error", smtp = "451 4.3.0 Temporary local problem";
	}
	char msg[400];
	snprintf(msg, sizeof msg, "%s", res->why ? res->why : deliver_status_name(res->status));
	json_t *bad = json_array();
	for (size_t i = 0; bad && res->rcpts && i < res->nrcpts && i < req->nrcpts; i++)
		if (res->rcpts[i].status != DELIVER_OK)
			json_array_append_new(
			    bad, json_pack("{s:s, s:s}", "address", req->rcpts[i], "reason",
			                   deliver_status_name(res->rcpts[i].status)));
	json_t *e = json_pack("{s:s, s:s, s:s}", "code", code, "smtp", smtp, "message", msg);
	if (e && json_array_size(bad))
		json_object_set_new(e, "recipients", bad);
	else
		json_decref(bad);
	http_json_respond(s, http, json_pack("{s:o}", "error", e), NULL);
}

static void job_free(struct send_job *j)
{
	if (j->flight)
		flight_end(j->flight);
	send_request_free(&j->req);
	submit_result_free(&j->res);
	free(j->answer);
	free(j);
}

/* The answer, once everything is on disk. */
static void finish(struct send_job *j, int status)
{
	struct http_session *s = j->s;
	if (!s->closed) {
		if (status < 0)
			error_answer(s, 500, "server_error", "451 4.3.0 Temporary local problem",
			             "the message could not be stored", NULL);
		else
			http_respond(s, 200, "application/json", NULL, j->answer, j->answer_len,
			             HTTP_R_NOSTORE);
	}
	job_free(j);
	http_session_resume(s);
}

/* The 200's JSON: the message, the submission and, per recipient, where
 * it went (a local mailbox, or the queue row that will relay it). */
static char *answer_json(const struct send_job *j, const char *const *queue_rcpts,
                         const int64_t *queue_ids, size_t nqueue)
{
	json_t *rcpts = json_array(), *ids = json_array();
	for (size_t i = 0; rcpts && i < j->res.nrcpts && i < j->req.nrcpts; i++) {
		json_t *r = json_pack("{s:s, s:s}", "address", j->req.rcpts[i], "outcome",
		                      j->res.rcpts[i].remote ? "queued" : "delivered");
		for (size_t k = 0; r && j->res.rcpts[i].remote && k < nqueue; k++)
			if (strcasecmp(queue_rcpts[k], j->req.rcpts[i]) == 0) {
				json_object_set_new(r, "queue_id", json_integer(queue_ids[k]));
				break;
			}
		json_array_append_new(rcpts, r);
	}
	for (size_t k = 0; ids && k < nqueue; k++)
		json_array_append_new(ids, json_integer(queue_ids[k]));
	json_t *body = json_pack("{s:s, s:s, s:o, s:o}", "message_id", j->req.message_id,
	                         "submission_id", j->res.id, "queue_ids", ids, "recipients", rcpts);
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	return text;
}

/* In the submission's own transaction (deliver/job.h's in_tx): the answer
 * is made there, since it names the queue rows, and with a key its row is
 * written there too, so a crash cannot leave a sent message without its
 * key (a retry would send it again) or a key without its message. Writer
 * thread: it reads only the job, which the loop leaves alone meanwhile. */
static int in_submission(struct store_tx *tx, void *ud, const char *const *queue_rcpts,
                         const int64_t *queue_ids, size_t nqueue)
{
	struct send_job *j = ud;
	free(j->answer);
	j->answer = answer_json(j, queue_rcpts, queue_ids, nqueue);
	if (!j->answer)
		return -ENOMEM;
	j->answer_len = strlen(j->answer);
	if (!j->flight)
		return 0;
	return store_idem_put(tx, j->token_id, j->flight->key, j->now, j->hash, 200, j->answer,
	                      j->answer_len);
}

static void sent(void *ud, int status)
{
	struct send_job *j = ud;
	finish(j, status < 0 ? status : j->answer ? 0 : -EIO);
}

/* The Idempotency-Key, if any, into key: 0 none, 1 there, -1 answered
 * (malformed). */
static int idem_key(struct http_session *s, char key[STORE_IDEM_KEY_MAX + 1])
{
	const struct http_field *f = http_request_field(s->req, "Idempotency-Key");
	if (!f)
		return 0;
	bool ok = f->value_len > 0 && f->value_len <= STORE_IDEM_KEY_MAX;
	for (size_t i = 0; ok && i < f->value_len; i++)
		ok = (unsigned char)f->value[i] > ' ' && (unsigned char)f->value[i] < 0x7f;
	if (!ok) {
		error_answer(s, 400, "invalid_idempotency_key", NULL,
		             "Idempotency-Key is 1 to 255 printable ASCII characters", NULL);
		return -1;
	}
	memcpy(key, f->value, f->value_len);
	key[f->value_len] = '\0';
	return 1;
}

static void unique_string(char *out, size_t len)
{
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char raw[24];
	if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
		for (size_t i = 0; i < sizeof raw; i++)
			raw[i] = (unsigned char)rand();
	size_t n = len - 1 < sizeof raw ? len - 1 : sizeof raw;
	for (size_t i = 0; i < n; i++)
		out[i] = alnum[raw[i] % (sizeof alnum - 1)];
	out[n] = '\0';
}

static bool is_send_target(const struct http_request *r)
{
	static const char path[] = "/api/v1/send";
	return r && r->target_len >= sizeof path - 1 && !memcmp(r->target, path, sizeof path - 1) &&
	       (r->target[sizeof path - 1] == '\0' || r->target[sizeof path - 1] == '?');
}

void http_respond_too_big(struct http_session *s)
{
	if (is_send_target(s->req))
		error_answer(s, 413, "message_too_large",
		             "552 5.3.4 Message size exceeds fixed limit",
		             "the request body passes the message size limit in base64", NULL);
	else
		http_respond_error(s, 413);
}

int64_t http_max_body(const struct http_session *s, const struct http_request *r)
{
	int64_t max = s->ctx->settings->max_body;
	if (is_send_target(r)) {
		/* the message in base64, and 1 MiB for the JSON, text and fields */
		int64_t send = (s->ctx->send_max_size + 2) / 3 * 4 + (1 << 20);
		if (send > max)
			max = send;
	}
	return max;
}

void http_send_api(struct http_session *s)
{
	if (!conn_is_tls(s->c)) {
		error_answer(s, 403, "https_required", NULL,
		             "the sending API is served over HTTPS only", NULL);
		return;
	}
	int64_t now = (int64_t)time(NULL);
	struct store_token t;
	if (!authorized(s, &t, now))
		return;
	if (s->ctx->env->stopping) {
		error_answer(s, 503, "stopping", "421 4.3.2 Service shutting down",
		             "the server is stopping", NULL);
		return;
	}
	const struct http_field *ct = http_request_field(s->req, "Content-Type");
	if (!ct || ct->value_len < 16 || strncasecmp(ct->value, "application/json", 16) != 0 ||
	    (ct->value_len > 16 && ct->value[16] != ';' && ct->value[16] != ' ')) {
		error_answer(s, 415, "unsupported_media_type", NULL, "the body is application/json",
		             NULL);
		return;
	}
	char key[STORE_IDEM_KEY_MAX + 1];
	int keyed = idem_key(s, key);
	if (keyed < 0)
		return;
	unsigned char hash[STORE_IDEM_HASH];
	tc_sha256((const unsigned char *)(s->body.data ? s->body.data : ""), s->body.len, hash);
	if (keyed) {
		if (flight_find(t.id, key)) {
			error_answer(s, 409, "idempotency_in_flight", "451 4.3.0 Try again later",
			             "a request with this Idempotency-Key is still being sent",
			             NULL);
			return;
		}
		unsigned char kept[STORE_IDEM_HASH];
		int status;
		struct buf answer = {0};
		int rc = store_idem_find(store_reader(s->ctx->env->store), t.id, key, now, kept,
		                         &status, &answer);
		if (rc < 0) {
			buf_free(&answer);
			error_answer(s, 500, "server_error", "451 4.3.0 Temporary local problem",
			             "the store could not be read", NULL);
			return;
		}
		if (rc == 1) {
			if (memcmp(kept, hash, sizeof hash) == 0)
				http_respond(
				    s, status, "application/json", "Idempotent-Replayed: true\r\n",
				    answer.data ? answer.data : "", answer.len, HTTP_R_NOSTORE);
			else
				error_answer(
				    s, 422, "idempotency_mismatch", NULL,
				    "this Idempotency-Key was used with another request body",
				    NULL);
			buf_free(&answer);
			return;
		}
		buf_free(&answer);
	}
	struct send_job *j = calloc(1, sizeof *j);
	if (!j) {
		error_answer(s, 500, "server_error", "451 4.3.0 Temporary local problem",
		             "out of memory", NULL);
		return;
	}
	j->s = s;
	j->token_id = t.id;
	j->now = now;
	memcpy(j->hash, hash, sizeof hash);
	char unique[25];
	unique_string(unique, sizeof unique);
	const char *hostname = s->ctx->env->hostname ? s->ctx->env->hostname : "localhost";
	struct send_limits lim = {.max_size = (size_t)s->ctx->send_max_size,
	                          .max_rcpts = (size_t)s->ctx->send_max_rcpts,
	                          .now = now,
	                          .unique = unique,
	                          .hostname = hostname};
	struct send_error err;
	int rc =
	    send_request_parse(s->body.data ? s->body.data : "", s->body.len, &lim, &j->req, &err);
	if (rc != 0) {
		if (rc > 0)
			error_answer(s, err.http, err.code, err.smtp, err.message, NULL);
		else
			error_answer(s, 500, "server_error", "451 4.3.0 Temporary local problem",
			             strerror(-rc), NULL);
		job_free(j);
		return;
	}
	struct store_account acct;
	if (!sending_account(s, &t, j->req.mail_from, &acct)) {
		job_free(j);
		return;
	}
	if (keyed) {
		if (!(j->flight = calloc(1, sizeof *j->flight))) {
			error_answer(s, 500, "server_error", "451 4.3.0 Temporary local problem",
			             "out of memory", NULL);
			job_free(j);
			return;
		}
		j->flight->token_id = t.id;
		memcpy(j->flight->key, key, sizeof key);
		j->flight->next = flights;
		flights = j->flight;
	}
	struct submit_req q = {.store = s->ctx->env->store,
	                       .hostname = hostname,
	                       .account_id = acct.id,
	                       .login = acct.address,
	                       .peer_ip = conn_peer_ip(s->c),
	                       .with = "HTTPS",
	                       .origin = conn_id(s->c),
	                       .mail_from = j->req.mail_from,
	                       .rcpts = (const char *const *)j->req.rcpts,
	                       .nrcpts = j->req.nrcpts,
	                       .msg = j->req.msg.data,
	                       .len = j->req.msg.len,
	                       .max_rcpts = (size_t)s->ctx->send_max_rcpts,
	                       .max_size = (size_t)s->ctx->send_max_size,
	                       .in_tx = in_submission,
	                       .in_tx_ud = j};
	enum deliver_status st = submit_start(&q, &j->res, sent, j);
	explicit_bzero(acct.password_hash, sizeof acct.password_hash);
	if (st != DELIVER_OK) {
		refusal(s, &j->res, &j->req);
		job_free(j);
		return;
	}
	log_session(LOG_INFO, conn_id(s->c), conn_peer(s->c), "http",
	            "event=send token=%lld account=%lld submission=%s rcpts=%zu size=%zu",
	            (long long)t.id, (long long)acct.id, j->res.id, j->req.nrcpts, j->req.msg.len);
	http_session_hold(s);
}
