/* admin_api: the admin JSON API under /api/admin/ (issue 17).
 *
 * The same operations as `tern domain|user|alias|queue` (admin/), over
 * HTTPS, for a client with a bearer token of scope "admin":
 *
 *   GET    /api/admin/domains                 POST {"name"}
 *   DELETE /api/admin/domains/NAME
 *   GET    /api/admin/users                   POST {"address", "password"}
 *   GET    /api/admin/users/ADDRESS           DELETE /api/admin/users/ADDRESS
 *   POST   /api/admin/users/ADDRESS/password  {"password"}
 *   POST   /api/admin/users/ADDRESS/quota     {"quota_bytes": N} (0: no limit)
 *   GET    /api/admin/aliases                 POST {"source", "target"}
 *   DELETE /api/admin/aliases/SOURCE
 *   GET    /api/admin/queue                   GET, DELETE /api/admin/queue/ID
 *   POST   /api/admin/queue/ID/retry          POST /api/admin/queue/ID/bounce
 *   GET    /api/admin/domains/NAME/dkim       POST {"algorithm", "selector"?}
 *   DELETE /api/admin/domains/NAME/dkim/SELECTOR (retire)
 *   GET    /api/admin/domains/NAME/dns        the records to publish
 *   GET    /api/admin/webhooks                POST {"account"|"domain", "url", "events"?}
 *   DELETE /api/admin/webhooks/ID
 *   GET    /api/admin/webhook-events          POST /api/admin/webhook-events/ID/retry
 *
 * Order of checks: HTTPS (403 on a plain listener; with an HTTPS listener
 * the router has already redirected), then the token (401 with
 * WWW-Authenticate: Bearer when it is missing, unknown, revoked or
 * expired; 403 for a token of another scope), then the path (404) and the
 * method (405 with Allow), then the body (admin_json.c: 400, 415). The
 * path is looked at only after the token, so that nobody without one
 * learns which paths exist.
 *
 * Reads run on the loop's read view. A change is an admin/ op submitted
 * as a store job: the session is held until the job's completion answers,
 * so the loop never waits for a commit. A password is hashed first, in
 * auth's hashing threads (admin_hash_password_async), never on the loop or
 * the writer thread; the body that carried it is wiped once parsed. A
 * DKIM key pair is made in the pool too (admin_dkim_generate_async); its
 * private half goes to the store job and is wiped after it, and no answer
 * ever carries one.
 * Every change is logged with the op, its argument and the token's id;
 * passwords and token secrets never are. A token's last use is written
 * at most once a minute, as a lazy job. */
#include "proto/http/admin_json.h"
#include "proto/http/http_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "admin/admin.h"
#include "lib/log.h"
#include "net/conn.h"
#include "net/http_client.h"
#include "proto/common/env.h"
#include "store/store.h"

#define API_PREFIX "/api/admin/"
#define TOUCH_EVERY 60 /* seconds between writes of a token's last use */

/* A request, once its token is good. */
struct api_req {
	struct http_session *s;
	int64_t token_id;
	const char *item; /* the second path segment, or NULL */
	const char *sub;  /* the fourth, or NULL */
	int64_t id;       /* item as a queue id (0 when it is not one) */
};

/* ---- answering a change ---- */

/* A change on its way: the op, then its completion answers. */
struct api_job {
	struct http_session *s;
	struct admin_op op;
	int64_t token_id;
	int ok_status;              /* 201, 200 or 204 */
	struct admin_dkim_key *key; /* ADMIN_DKIM_ADD: wiped and freed with the job */
	/* for the log: the conn may be gone when the job completes */
	uint64_t sid;
	char peer[64];
};

static int status_for(const struct admin_op *op, int rc)
{
	switch (-rc) {
	case EEXIST:
	case ENOTEMPTY:
		return 409;
	case ENOENT: /* a user or alias add whose domain is not local: the URL is fine */
		return op->kind == ADMIN_USER_ADD || op->kind == ADMIN_ALIAS_ADD ||
		               op->kind == ADMIN_WEBHOOK_ADD
		           ? 422
		           : 404;
	case EINVAL:
	case ENAMETOOLONG:
		return 400;
	case ENOSPC:
	case EBUSY:
	case ESHUTDOWN:
		return 503;
	default:
		return 500;
	}
}

static void audit(const struct api_job *j, int status)
{
	char arg[200];
	const char *a = j->op.a;
	char id[24];
	if ((j->op.kind >= ADMIN_QUEUE_RETRY && j->op.kind <= ADMIN_TOKEN_TOUCH) ||
	    j->op.kind == ADMIN_WEBHOOK_DEL || j->op.kind == ADMIN_WEBHOOK_RETRY) {
		snprintf(id, sizeof id, "%lld", (long long)j->op.id);
		a = id;
	}
	log_session(status < 400 ? LOG_INFO : LOG_DEBUG, j->sid, j->peer, "http",
	            "event=admin op=\"%s\" arg=%s token=%lld status=%d",
	            admin_kind_name(j->op.kind), log_kv_escape(arg, sizeof arg, a, strlen(a)),
	            (long long)j->token_id, status);
}

/* The new key's public side, and the TXT record to publish. */
static json_t *dkim_added(const struct admin_op *op)
{
	const char *alg = admin_dkim_alg_name(op->key->alg);
	char name[2 * STORE_ADDR_MAX + 16], value[STORE_DKIM_PUBLIC_MAX + 40];
	snprintf(name, sizeof name, "%s._domainkey.%s", op->b, op->a);
	snprintf(value, sizeof value, "v=DKIM1; k=%s; p=%s", admin_dkim_key_type(alg),
	         op->key->public_key);
	return json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s}}", "domain", op->a, "selector",
	                 op->b, "algorithm", alg, "public_key", op->key->public_key, "dns", "name",
	                 name, "type", "TXT", "value", value);
}

static json_t *success_body(const struct admin_op *op)
{
	switch (op->kind) {
	case ADMIN_DOMAIN_ADD:
		return json_pack("{s:s}", "name", op->a);
	case ADMIN_USER_ADD:
		return json_pack("{s:s}", "address", op->a);
	case ADMIN_ALIAS_ADD:
		return json_pack("{s:s, s:s}", "source", op->a, "target", op->b);
	case ADMIN_USER_QUOTA:
		return json_pack("{s:s, s:I}", "address", op->a, "quota_bytes",
		                 (json_int_t)op->quota);
	case ADMIN_DKIM_ADD:
		return dkim_added(op);
	case ADMIN_WEBHOOK_ADD:
		/* the signing secret, shown this once (as `tern webhook add` does) */
		return json_pack("{s:I, s:s, s:s, s:s, s:s}", "id", (json_int_t)op->new_id,
		                 op->owner_is_domain ? "domain" : "account", op->owner, "url",
		                 op->url, "events", op->events, "secret", op->secret);
	default:
		return json_pack("{s:I, s:i}", "id", (json_int_t)op->id, "changed", op->changed);
	}
}

static void job_done(void *arg, int rc)
{
	struct api_job *j = arg;
	struct http_session *s = j->s;
	int status = rc < 0 ? status_for(&j->op, rc) : j->ok_status;
	if (!s->closed) {
		if (rc < 0) {
			char msg[400];
			http_json_error(s, status,
			                admin_op_error(&j->op, rc, false, msg, sizeof msg), NULL);
		} else if (status == 204) {
			http_respond(s, 204, NULL, NULL, NULL, 0, HTTP_R_NOSTORE);
		} else {
			http_json_respond(s, status, success_body(&j->op), NULL);
		}
	}
	audit(j, status);
	explicit_bzero(j->op.b, sizeof j->op.b); /* a password hash, perhaps */
	explicit_bzero(j->op.secret, sizeof j->op.secret);
	if (j->key) {
		admin_dkim_key_wipe(j->key);
		free(j->key);
	}
	free(j);
	http_session_resume(s);
}

/* The writer thread: the op alone. */
static int run_job(struct store_tx *tx, void *arg)
{
	struct api_job *j = arg;
	return admin_op_run(tx, &j->op);
}

/* Submit j (held session); answers through job_done either way. */
static void submit(struct api_job *j)
{
	int rc = store_submit(j->s->ctx->env->store, run_job, job_done, j);
	if (rc < 0)
		job_done(j, rc);
}

static struct api_job *new_job(struct api_req *q, enum admin_kind kind, const char *a,
                               const char *b, int ok_status)
{
	struct http_session *s = q->s;
	if (s->ctx->env->stopping) {
		http_json_error(s, 503, "the server is stopping", NULL);
		return NULL;
	}
	struct api_job *j = calloc(1, sizeof *j);
	if (!j) {
		http_json_error(s, 500, "out of memory", NULL);
		return NULL;
	}
	if (admin_op_set(&j->op, kind, a, b) < 0) {
		free(j);
		http_json_error(s, 400, "name or address too long", NULL);
		return NULL;
	}
	j->s = s;
	j->sid = conn_id(s->c);
	snprintf(j->peer, sizeof j->peer, "%s", conn_peer(s->c));
	j->token_id = q->token_id;
	j->ok_status = ok_status;
	j->op.id = q->id;
	return j;
}

/* Run a change without a password. */
static void change(struct api_req *q, enum admin_kind kind, const char *a, const char *b,
                   int ok_status)
{
	struct api_job *j = new_job(q, kind, a, b, ok_status);
	if (!j)
		return;
	http_session_hold(q->s);
	submit(j);
}

static void hashed(void *ud, int rc, const char *hash, const char *scram_sha1,
                   const char *scram_sha256, const char *err)
{
	struct api_job *j = ud;
	if (rc < 0 || snprintf(j->op.b, sizeof j->op.b, "%s", hash) >= (int)sizeof j->op.b ||
	    snprintf(j->op.scram_sha1, sizeof j->op.scram_sha1, "%s", scram_sha1) >=
	        (int)sizeof j->op.scram_sha1 ||
	    snprintf(j->op.scram_sha256, sizeof j->op.scram_sha256, "%s", scram_sha256) >=
	        (int)sizeof j->op.scram_sha256) {
		log_session(LOG_ERROR, j->sid, j->peer, "http",
		            "event=admin_hash_failed err=\"%s\"", err ? err : "too long");
		job_done(j, -EIO);
		return;
	}
	submit(j);
}

/* Run a change that needs a password hashed first. */
static void change_with_password(struct api_req *q, enum admin_kind kind, const char *address,
                                 const char *password)
{
	const char *problem = admin_password_problem(password, strlen(password));
	if (problem) {
		http_json_error(q->s, 400, problem, NULL);
		return;
	}
	struct api_job *j = new_job(q, kind, address, NULL, kind == ADMIN_USER_ADD ? 201 : 204);
	if (!j)
		return;
	http_session_hold(q->s);
	int rc = admin_hash_password_async(q->s->ctx->env->auth, password, hashed, j);
	if (rc < 0)
		job_done(j, rc);
}

/* ---- bodies ---- */

/* Parse the body's fields (all required unless optional); on a problem
 * answer and return -1. */
static int fields(struct api_req *q, const char *const *names, const char **values, size_t n,
                  bool optional, json_t **doc)
{
	char err[200];
	int status = http_json_fields(q->s, names, values, n, doc, err, sizeof err);
	if (status == 0 && !optional)
		for (size_t i = 0; i < n; i++)
			if (!values[i]) {
				snprintf(err, sizeof err, "missing field \"%s\"", names[i]);
				status = 400;
				break;
			}
	if (status != 0) {
		json_decref(*doc);
		*doc = NULL;
		http_json_error(q->s, status, err, NULL);
		return -1;
	}
	return 0;
}

/* The body carried a password: forget it (jansson's copy goes with doc). */
static void wipe_body(struct http_session *s)
{
	if (s->body.data)
		explicit_bzero(s->body.data, s->body.len);
}

/* ---- handlers ---- */

static int add_name(void *ud, const char *name)
{
	return json_array_append_new(ud, json_pack("{s:s}", "name", name));
}

static int add_user(void *ud, const struct store_account *a)
{
	return json_array_append_new(ud, http_json_user(a));
}

static int add_alias(void *ud, const char *source, const char *target)
{
	return json_array_append_new(ud,
	                             json_pack("{s:s, s:s}", "source", source, "target", target));
}

static int add_row(void *ud, const struct store_queue_row *r)
{
	return json_array_append_new(ud, http_json_queue_row(r));
}

static int set_row(void *ud, const struct store_queue_row *r)
{
	*(json_t **)ud = http_json_queue_row(r);
	return 0;
}

/* Answer {"<key>": [...]} from a list function's walk. */
static void answer_list(struct api_req *q, const char *key, json_t *list, int rc)
{
	if (rc < 0 || !list) {
		json_decref(list);
		http_json_error(q->s, 500, "the store could not be read", NULL);
		return;
	}
	http_json_respond(q->s, 200, json_pack("{s:o}", key, list), NULL);
}

static struct store_rd *reader(struct api_req *q)
{
	return store_reader(q->s->ctx->env->store);
}

static void domains_list(struct api_req *q)
{
	json_t *list = json_array();
	answer_list(q, "domains", list, list ? admin_domains(reader(q), add_name, list) : -1);
}

static void domain_add(struct api_req *q)
{
	static const char *const names[] = {"name"};
	const char *v[1];
	json_t *doc;
	if (fields(q, names, v, 1, false, &doc) < 0)
		return;
	change(q, ADMIN_DOMAIN_ADD, v[0], NULL, 201);
	json_decref(doc);
}

static void domain_del(struct api_req *q)
{
	change(q, ADMIN_DOMAIN_DEL, q->item, NULL, 204);
}

static void users_list(struct api_req *q)
{
	json_t *list = json_array();
	answer_list(q, "users", list, list ? admin_users(reader(q), add_user, list) : -1);
}

static void user_get(struct api_req *q)
{
	struct store_account a;
	int rc = admin_user_get(reader(q), q->item, &a);
	if (rc < 0)
		http_json_error(q->s, 500, "the store could not be read", NULL);
	else if (rc == 0)
		http_json_error(q->s, 404, "no such user", NULL);
	else
		http_json_respond(q->s, 200, http_json_user(&a), NULL);
	explicit_bzero(a.password_hash, sizeof a.password_hash);
}

static void user_add(struct api_req *q)
{
	static const char *const names[] = {"address", "password"};
	const char *v[2];
	json_t *doc;
	int rc = fields(q, names, v, 2, false, &doc);
	wipe_body(q->s);
	if (rc < 0)
		return;
	/* Before the slow hash: would the add fail anyway? */
	struct admin_op op;
	rc = admin_op_set(&op, ADMIN_USER_ADD, v[0], NULL);
	if (rc == 0)
		rc = admin_user_add_check(reader(q), v[0]);
	if (rc < 0) {
		char msg[400];
		http_json_error(q->s, status_for(&op, rc),
		                admin_op_error(&op, rc, false, msg, sizeof msg), NULL);
	} else {
		change_with_password(q, ADMIN_USER_ADD, v[0], v[1]);
	}
	json_decref(doc);
}

static void user_del(struct api_req *q)
{
	change(q, ADMIN_USER_DEL, q->item, NULL, 204);
}

static void user_password(struct api_req *q)
{
	static const char *const names[] = {"password"};
	const char *v[1];
	json_t *doc;
	int rc = fields(q, names, v, 1, false, &doc);
	wipe_body(q->s);
	if (rc < 0)
		return;
	/* Before the slow hash: is there such a user at all? */
	int found = admin_user_get(reader(q), q->item, NULL);
	if (found != 1)
		http_json_error(q->s, found < 0 ? 500 : 404,
		                found < 0 ? "the store could not be read" : "no such user", NULL);
	else
		change_with_password(q, ADMIN_USER_PASSWD, q->item, v[0]);
	json_decref(doc);
}

static void user_quota(struct api_req *q)
{
	static const char *const names[] = {"quota_bytes"};
	json_t *v[1], *doc;
	char err[200];
	int status = http_json_members(q->s, names, v, 1, &doc, err, sizeof err);
	if (status == 0 && (!v[0] || !json_is_integer(v[0]) || json_integer_value(v[0]) < 0)) {
		snprintf(err, sizeof err,
		         v[0] ? "\"quota_bytes\" must be an integer, 0 or more (0: no limit)"
		              : "missing field \"quota_bytes\"");
		status = 400;
	}
	if (status != 0) {
		http_json_error(q->s, status, err, NULL);
	} else {
		struct api_job *j = new_job(q, ADMIN_USER_QUOTA, q->item, NULL, 200);
		if (j) {
			j->op.quota = (int64_t)json_integer_value(v[0]);
			http_session_hold(q->s);
			submit(j);
		}
	}
	json_decref(doc);
}

/* ---- DKIM keys and DNS records ---- */

/* 1 when the domain of the URL is local; else answered (404, 500). */
static int domain_found(struct api_req *q)
{
	int rc = admin_domain_exists(reader(q), q->item);
	if (rc == 1)
		return 1;
	http_json_error(q->s, rc < 0 ? 500 : 404,
	                rc < 0 ? "the store could not be read" : "no such domain", NULL);
	return 0;
}

static int add_key(void *ud, const struct store_dkim_key *k)
{
	return json_array_append_new(ud, http_json_dkim_key(k));
}

static void dkim_list(struct api_req *q)
{
	if (!domain_found(q))
		return;
	json_t *list = json_array();
	answer_list(q, "keys", list,
	            list ? admin_dkim_keys(reader(q), q->item, add_key, list) : -1);
}

static void dkim_made(void *ud, int rc, struct admin_dkim_key *key, const char *err)
{
	struct api_job *j = ud;
	if (rc < 0 || !(j->key = malloc(sizeof *j->key))) {
		log_session(LOG_ERROR, j->sid, j->peer, "http",
		            "event=admin_dkim_keygen_failed err=\"%s\"",
		            err ? err : "out of memory");
		job_done(j, -EIO);
		return;
	}
	memcpy(j->key, key, sizeof *key);
	j->op.key = j->key;
	submit(j);
}

static void dkim_add(struct api_req *q)
{
	static const char *const names[] = {"algorithm", "selector"};
	const char *v[2];
	json_t *doc;
	if (fields(q, names, v, 2, true, &doc) < 0)
		return;
	enum admin_dkim_alg alg;
	char sel[STORE_DKIM_SELECTOR_MAX];
	if (!v[0] || admin_dkim_alg_parse(v[0], &alg) < 0) {
		http_json_error(q->s, 400, "\"algorithm\" must be \"rsa-2048\" or \"ed25519\"",
		                NULL);
	} else if (v[1] && !admin_dkim_selector_valid(v[1])) {
		http_json_error(q->s, 400, "malformed selector", NULL);
	} else if (domain_found(q)) {
		if (v[1])
			snprintf(sel, sizeof sel, "%s", v[1]);
		else
			admin_dkim_selector(alg, (int64_t)time(NULL), sel, sizeof sel);
		struct api_job *j = new_job(q, ADMIN_DKIM_ADD, q->item, sel, 201);
		if (j) {
			http_session_hold(q->s);
			int rc = admin_dkim_generate_async(conn_loop(q->s->c), alg, dkim_made, j);
			if (rc < 0)
				job_done(j, rc);
		}
	}
	json_decref(doc);
}

static void dkim_retire(struct api_req *q)
{
	change(q, ADMIN_DKIM_RETIRE, q->item, q->sub, 204);
}

static int add_record(void *ud, const struct admin_dns_record *r)
{
	return json_array_append_new(
	    ud, json_pack("{s:s, s:s, s:s}", "name", r->name, "type", r->type, "value", r->value));
}

static void domain_dns(struct api_req *q)
{
	static const char *const modes[] = {"", "none", "testing", "enforce"};
	const struct http_site *site = q->s->ctx->site;
	const struct http_settings *set = q->s->ctx->settings;
	struct admin_dns_service svc[HTTP_MAX_SERVICES];
	size_t n = 0;
	for (size_t i = 0; site && i < site->nservices && i < HTTP_MAX_SERVICES; i++) {
		const struct http_service *h = &site->services[i];
		svc[n++] =
		    (struct admin_dns_service){h->kind == HTTP_SVC_IMAP   ? ADMIN_SVC_IMAP
		                               : h->kind == HTTP_SVC_POP3 ? ADMIN_SVC_POP3
		                                                          : ADMIN_SVC_SUBMISSION,
		                               h->tls == HTTP_SVC_TLS, h->port};
	}
	int mode = set->mta_sts_mode;
	struct admin_dns_site ds = {
	    .hostname = q->s->ctx->env->hostname,
	    .services = svc,
	    .nservices = n,
	    .mta_sts_mode = mode >= 0 && mode < 4 ? modes[mode] : "",
	    .mta_sts_mx = set->mta_sts_mx,
	    .mta_sts_max_age = set->mta_sts_max_age,
	    .https_port = site ? site->https_port : 0,
	};
	json_t *list = json_array();
	int rc = list ? admin_dns_records(reader(q), q->item, &ds, add_record, list) : -1;
	if (rc == -ENOENT) {
		json_decref(list);
		http_json_error(q->s, 404, "no such domain", NULL);
		return;
	}
	answer_list(q, "records", list, rc);
}

static void aliases_list(struct api_req *q)
{
	json_t *list = json_array();
	answer_list(q, "aliases", list, list ? admin_aliases(reader(q), add_alias, list) : -1);
}

static void alias_add(struct api_req *q)
{
	static const char *const names[] = {"source", "target"};
	const char *v[2];
	json_t *doc;
	if (fields(q, names, v, 2, false, &doc) < 0)
		return;
	change(q, ADMIN_ALIAS_ADD, v[0], v[1], 201);
	json_decref(doc);
}

static void alias_del(struct api_req *q)
{
	change(q, ADMIN_ALIAS_DEL, q->item, NULL, 204);
}

static void queue_list(struct api_req *q)
{
	json_t *list = json_array();
	answer_list(q, "queue", list, list ? admin_queue(reader(q), add_row, list) : -1);
}

static void queue_get(struct api_req *q)
{
	json_t *row = NULL;
	int rc = admin_queue_get(reader(q), q->id, set_row, &row);
	if (rc < 0 || (rc == 1 && !row))
		http_json_error(q->s, 500, "the store could not be read", NULL);
	else if (rc == 0)
		http_json_error(q->s, 404, "no such queue entry", NULL);
	else
		http_json_respond(q->s, 200, row, NULL);
}

static void queue_delete(struct api_req *q)
{
	change(q, ADMIN_QUEUE_DELETE, NULL, NULL, 204);
}

/* retry and bounce take no fields: an empty body, or {}. */
static void queue_action(struct api_req *q, enum admin_kind kind)
{
	json_t *doc;
	if (fields(q, NULL, NULL, 0, true, &doc) < 0)
		return;
	json_decref(doc);
	change(q, kind, NULL, NULL, 200);
}

static void queue_retry(struct api_req *q)
{
	queue_action(q, ADMIN_QUEUE_RETRY);
}

static void queue_bounce(struct api_req *q)
{
	queue_action(q, ADMIN_QUEUE_BOUNCE);
}

/* ---- webhooks (admin/webhook.c) ---- */

static int add_webhook(void *ud, const struct store_webhook *w)
{
	/* never the secret: it was shown once, at the add */
	return json_array_append_new(
	    ud, json_pack("{s:I, s:s, s:s, s:s, s:I}", "id", (json_int_t)w->id,
	                  w->account_id ? "account" : "domain", w->owner, "url", w->url, "events",
	                  w->events, "created", (json_int_t)w->created));
}

static int add_event(void *ud, const struct store_webhook_event *e)
{
	json_t *payload = json_loads(e->json, 0, NULL);
	return json_array_append_new(
	    ud, json_pack("{s:I, s:I, s:s, s:I, s:I, s:I, s:I, s:s, s:o}", "id", (json_int_t)e->id,
	                  "webhook_id", (json_int_t)e->webhook_id, "state",
	                  e->failed_at ? "failed" : "pending", "attempts", (json_int_t)e->attempts,
	                  "created", (json_int_t)e->created, "next_attempt",
	                  (json_int_t)(e->failed_at ? 0 : e->next_attempt), "failed_at",
	                  (json_int_t)e->failed_at, "last_error", e->last_error, "payload",
	                  payload ? payload : json_string(e->json)));
}

static void webhooks_list(struct api_req *q)
{
	json_t *list = json_array();
	answer_list(q, "webhooks", list, list ? admin_webhooks(reader(q), add_webhook, list) : -1);
}

/* An http:// or https:// URL. Its addresses are not looked up here (that
 * would block the loop): the runner refuses loopback, link-local and
 * private ones before every POST unless [webhooks] allow_private, as it
 * does for the CLI's webhooks, since DNS can change after the add. */
static bool webhook_url_ok(const char *url)
{
	char host[256], path[STORE_WEBHOOK_URL_MAX];
	int port;
	bool https;
	return strlen(url) < STORE_WEBHOOK_URL_MAX &&
	       http_url_split(url, host, sizeof host, &port, path, sizeof path, &https) == 0 &&
	       host[0];
}

static void webhook_add(struct api_req *q)
{
	static const char *const names[] = {"account", "domain", "url", "events"};
	const char *v[4] = {NULL, NULL, NULL, NULL};
	json_t *doc;
	if (fields(q, names, v, 4, true, &doc) < 0)
		return;
	const char *problem = NULL;
	if ((v[0] == NULL) == (v[1] == NULL))
		problem = "exactly one of \"account\" and \"domain\" is required";
	else if (!v[2] || !webhook_url_ok(v[2]))
		problem = "\"url\" must be an http:// or https:// URL";
	else if (v[3] && !admin_webhook_events_valid(v[3]))
		problem = "\"events\" is a comma-separated subset of "
		          "delivered,delayed,bounced,incoming";
	else if (strlen(v[0] ? v[0] : v[1]) >= STORE_ADDR_MAX)
		problem = "name or address too long";
	if (problem) {
		json_decref(doc);
		http_json_error(q->s, 400, problem, NULL);
		return;
	}
	struct api_job *j = new_job(q, ADMIN_WEBHOOK_ADD, NULL, NULL, 201);
	if (!j) {
		json_decref(doc);
		return;
	}
	j->op.owner_is_domain = v[1] != NULL;
	snprintf(j->op.owner, sizeof j->op.owner, "%s", v[0] ? v[0] : v[1]);
	snprintf(j->op.url, sizeof j->op.url, "%s", v[2]);
	snprintf(j->op.events, sizeof j->op.events, "%s",
	         v[3] ? v[3] : "delivered,delayed,bounced");
	json_decref(doc);
	if (admin_webhook_secret(j->op.secret) < 0) {
		free(j);
		http_json_error(q->s, 500, "no randomness for the secret", NULL);
		return;
	}
	http_session_hold(q->s);
	submit(j);
}

static void webhook_del(struct api_req *q)
{
	change(q, ADMIN_WEBHOOK_DEL, NULL, NULL, 204);
}

static void webhook_events_list(struct api_req *q)
{
	json_t *list = json_array();
	answer_list(q, "events", list,
	            list ? admin_webhook_events(reader(q), add_event, list) : -1);
}

static void webhook_event_retry(struct api_req *q)
{
	queue_action(q, ADMIN_WEBHOOK_RETRY);
}

/* ---- the table ---- */

enum shape { COLLECTION, ITEM, ACTION, SUBITEM };

static const struct api_route {
	const char *collection;
	enum shape shape;
	const char *action; /* ACTION and SUBITEM */
	enum http_method method;
	void (*fn)(struct api_req *q);
} api_routes[] = {
    {"domains", COLLECTION, NULL, HTTP_GET, domains_list},
    {"domains", COLLECTION, NULL, HTTP_POST, domain_add},
    {"domains", ITEM, NULL, HTTP_DELETE, domain_del},
    {"users", COLLECTION, NULL, HTTP_GET, users_list},
    {"users", COLLECTION, NULL, HTTP_POST, user_add},
    {"users", ITEM, NULL, HTTP_GET, user_get},
    {"users", ITEM, NULL, HTTP_DELETE, user_del},
    {"users", ACTION, "password", HTTP_POST, user_password},
    {"users", ACTION, "quota", HTTP_POST, user_quota},
    {"domains", ACTION, "dkim", HTTP_GET, dkim_list},
    {"domains", ACTION, "dkim", HTTP_POST, dkim_add},
    {"domains", SUBITEM, "dkim", HTTP_DELETE, dkim_retire},
    {"domains", ACTION, "dns", HTTP_GET, domain_dns},
    {"aliases", COLLECTION, NULL, HTTP_GET, aliases_list},
    {"aliases", COLLECTION, NULL, HTTP_POST, alias_add},
    {"aliases", ITEM, NULL, HTTP_DELETE, alias_del},
    {"queue", COLLECTION, NULL, HTTP_GET, queue_list},
    {"queue", ITEM, NULL, HTTP_GET, queue_get},
    {"queue", ITEM, NULL, HTTP_DELETE, queue_delete},
    {"queue", ACTION, "retry", HTTP_POST, queue_retry},
    {"queue", ACTION, "bounce", HTTP_POST, queue_bounce},
    {"webhooks", COLLECTION, NULL, HTTP_GET, webhooks_list},
    {"webhooks", COLLECTION, NULL, HTTP_POST, webhook_add},
    {"webhooks", ITEM, NULL, HTTP_DELETE, webhook_del},
    {"webhook-events", COLLECTION, NULL, HTTP_GET, webhook_events_list},
    {"webhook-events", ACTION, "retry", HTTP_POST, webhook_event_retry},
};

static const char *method_name(enum http_method m)
{
	switch (m) {
	case HTTP_GET:
		return "GET, HEAD";
	case HTTP_POST:
		return "POST";
	case HTTP_DELETE:
		return "DELETE";
	default:
		return "?";
	}
}

/* ---- the token ---- */

static void free_op(void *arg, int status)
{
	free(arg);
}

/* The token's check; false when it answered (401, 403, 500). */
static bool authorized(struct http_session *s, int64_t *token_id)
{
	static const char challenge[] = "WWW-Authenticate: Bearer realm=\"tern admin\"\r\n";
	static const char invalid[] =
	    "WWW-Authenticate: Bearer realm=\"tern admin\", error=\"invalid_token\"\r\n";
	const char *secret;
	size_t len;
	if (!http_bearer(s->req, &secret, &len)) {
		http_json_error(s, 401, "a bearer token is required", challenge);
		return false;
	}
	struct store_token t;
	int64_t now = (int64_t)time(NULL);
	struct store *st = s->ctx->env->store;
	switch (admin_token_check(store_reader(st), secret, len, "admin", now, &t)) {
	case ADMIN_AUTH_OK:
		break;
	case ADMIN_AUTH_SCOPE:
		http_json_error(s, 403, "this token's scope is not admin", NULL);
		return false;
	case ADMIN_AUTH_ERROR:
		http_json_error(s, 500, "the store could not be read", NULL);
		return false;
	default:
		http_json_error(s, 401, "the token is unknown, revoked or expired", invalid);
		return false;
	}
	*token_id = t.id;
	if (now - t.last_used >= TOUCH_EVERY && !s->ctx->env->stopping) {
		struct admin_op *op = calloc(1, sizeof *op);
		if (op) {
			*op = (struct admin_op){.kind = ADMIN_TOKEN_TOUCH, .id = t.id, .now = now};
			if (store_submit_lazy(st, admin_op_run, free_op, op) < 0)
				free(op);
		}
	}
	return true;
}

/* ---- dispatch ---- */

void http_admin_api(struct http_session *s)
{
	if (!conn_is_tls(s->c)) {
		http_json_error(s, 403, "the admin API is served over HTTPS only", NULL);
		return;
	}
	struct api_req q = {.s = s};
	if (!authorized(s, &q.token_id))
		return;
	/* collection[/item[/action[/sub]]] */
	char path[sizeof s->path];
	snprintf(path, sizeof path, "%s", s->path + strlen(API_PREFIX));
	char *seg[4] = {path, NULL, NULL, NULL};
	int nseg = 1;
	for (char *p = path; *p; p++)
		if (*p == '/') {
			if (nseg == 4) {
				nseg = 5;
				break;
			}
			*p = '\0';
			seg[nseg++] = p + 1;
		}
	bool empty = false;
	for (int i = 0; i < nseg && i < 4; i++)
		empty |= seg[i][0] == '\0';
	enum shape shape = (enum shape)(nseg - 1);
	bool by_id = strcmp(seg[0], "queue") == 0 || strcmp(seg[0], "webhooks") == 0 ||
	             strcmp(seg[0], "webhook-events") == 0;
	if (!empty && nseg <= 4 && by_id && nseg >= 2) {
		char *end;
		long long id = strtoll(seg[1], &end, 10);
		if (*end != '\0' || id <= 0)
			empty = true; /* not an id: no such resource */
		q.id = id;
	}
	q.item = seg[1];
	q.sub = seg[3];
	enum http_method m = s->req->method == HTTP_HEAD ? HTTP_GET : s->req->method;
	char allow[80] = "";
	bool found = false;
	for (size_t i = 0; !empty && nseg <= 4 && i < sizeof api_routes / sizeof api_routes[0];
	     i++) {
		const struct api_route *r = &api_routes[i];
		if (r->shape != shape || strcmp(r->collection, seg[0]) != 0 ||
		    (shape >= ACTION && strcmp(r->action, seg[2]) != 0))
			continue;
		found = true;
		if (r->method == m) {
			r->fn(&q);
			return;
		}
		size_t n = strlen(allow);
		snprintf(allow + n, sizeof allow - n, "%s%s", n ? ", " : "",
		         method_name(r->method));
	}
	if (!found) {
		http_json_error(s, 404, "no such resource", NULL);
		return;
	}
	char extra[120];
	snprintf(extra, sizeof extra, "Allow: %s\r\n", allow);
	http_json_error(s, 405, "method not allowed", extra);
}
