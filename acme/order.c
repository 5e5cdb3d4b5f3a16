/* order: the RFC 8555 flow for one certificate (order.h).
 *
 * Each step sends one request and names the handler for its answer;
 * signed requests go through send_signed(), which fetches a nonce when it
 * has none, keeps the request so that a badNonce answer can be signed
 * again with the nonce that came with it, and turns an error status into
 * the problem document's detail. Waits (an authorization or the order
 * still being processed) use one timer, for Retry-After seconds (1 to 30)
 * or 1 s. Bounds: 5 badNonce retries per request, 120 polls and 10
 * minutes per order. The server's JSON is read with jansson; a missing or
 * mistyped member is an error, never a crash. */
#include "lib/file.h"
#include "acme/order.h"
#include "acme/acme.h"
#include "acme/alpn.h"
#include "acme/b64url.h"
#include "acme/challenge.h"
#include "acme/csr.h"
#include "acme/files.h"
#include "net/http_client.h"
#include "acme/jws.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"

#define MAX_NONCE_RETRIES 5
#define MAX_POLLS 120
#define ORDER_DEADLINE_MS (10 * 60 * 1000)
#define REQUEST_TIMEOUT_MS 30000

struct acme_order;
typedef void (*handler_fn)(struct acme_order *o, struct http_resp *r, json_t *j);
typedef void (*step_fn)(struct acme_order *o);

/* What a response is for: the directory, a nonce, or a signed request. */
enum pending { P_DIRECTORY, P_NONCE, P_SIGNED };

struct acme_order {
	uv_loop_t *loop;
	struct acme_account *a;
	const struct acme_order_params *p;
	acme_order_cb cb;
	void *ud;
	struct http_client *http;
	uv_timer_t timer;
	uint64_t deadline;
	bool finished;

	/* the signed request in flight, kept for a badNonce retry */
	char *url;
	char *payload;
	bool use_kid;
	const char *accept;
	handler_fn handler;
	int nonce_retries;
	enum pending pending;
	step_fn wait_step; /* what the timer resumes */

	char order_url[1024], finalize_url[1024], cert_url[1024];
	char **authz;
	size_t nauthz, authz_i;
	bool authz_triggered;
	char token[160];
	char alpn_domain[256]; /* a tls-alpn-01 certificate being served */
	int polls;
	mbedtls_pk_context cert_key;
};

static void on_timer_closed(uv_handle_t *h)
{
	struct acme_order *o = h->data;
	for (size_t i = 0; i < o->nauthz; i++)
		free(o->authz[i]);
	free(o->authz);
	free(o->url);
	free(o->payload);
	mbedtls_pk_free(&o->cert_key);
	free(o);
}

static void withdraw(struct acme_order *o)
{
	if (o->token[0])
		acme_challenge_remove(o->token);
	o->token[0] = '\0';
	if (o->alpn_domain[0])
		acme_alpn_remove(o->alpn_domain);
	o->alpn_domain[0] = '\0';
}

static void release(struct acme_order *o)
{
	withdraw(o);
	http_client_cancel(o->http);
	o->http = NULL;
	uv_close((uv_handle_t *)&o->timer, on_timer_closed);
}

static void finish(struct acme_order *o, const char *err, time_t nb, time_t na)
{
	if (o->finished)
		return;
	o->finished = true;
	o->http = NULL; /* we are in its callback, or it is done */
	release(o);
	o->cb(o->ud, err, nb, na);
}

static void failf(struct acme_order *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void failf(struct acme_order *o, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	finish(o, msg, 0, 0);
}

static const char *jstr(json_t *j, const char *key)
{
	const char *s = json_string_value(json_object_get(j, key));
	return s ? s : "";
}

static bool copy_url(char *dst, size_t dstlen, const char *src)
{
	size_t n = strlen(src);
	if (n == 0 || n >= dstlen || strncmp(src, "https://", 8) != 0)
		return false;
	memcpy(dst, src, n + 1);
	return true;
}

static void on_response(void *ud, const char *err, struct http_resp *r);

static void send_request(struct acme_order *o, const char *method, const char *url,
                         const char *body, const char *accept)
{
	if (uv_now(o->loop) > o->deadline) {
		failf(o, "the order took too long");
		return;
	}
	struct http_client_req req = {
	    .method = method,
	    .url = url,
	    .accept = accept,
	    .content_type = body ? "application/jose+json" : NULL,
	    .body = body,
	    .body_len = body ? strlen(body) : 0,
	    .timeout_ms = REQUEST_TIMEOUT_MS,
	};
	o->http = http_client_start(o->loop, o->a->tls, &req, on_response, o);
	if (!o->http)
		failf(o, "cannot request %s", url);
}

static void send_signed_now(struct acme_order *o)
{
	if (!o->a->nonce[0]) {
		o->a->nonce[0] = '\0';
		o->pending = P_NONCE;
		send_request(o, "HEAD", o->a->new_nonce, NULL, NULL);
		return;
	}
	char *jws =
	    acme_jws(o->a->key, o->url, o->a->nonce, o->use_kid ? o->a->kid : NULL, o->payload);
	o->a->nonce[0] = '\0'; /* used */
	if (!jws) {
		failf(o, "cannot sign a request");
		return;
	}
	o->pending = P_SIGNED;
	send_request(o, "POST", o->url, jws, o->accept);
	free(jws);
}

/* POST payload (NULL: POST-as-GET) to url, then handler. */
static void send_signed(struct acme_order *o, const char *url, const char *payload, bool use_kid,
                        const char *accept, handler_fn handler)
{
	free(o->url);
	free(o->payload);
	o->url = strdup(url);
	o->payload = strdup(payload ? payload : "");
	if (!o->url || !o->payload) {
		failf(o, "out of memory");
		return;
	}
	o->use_kid = use_kid;
	o->accept = accept;
	o->handler = handler;
	o->nonce_retries = 0;
	send_signed_now(o);
}

static void send_signed_json(struct acme_order *o, const char *url, json_t *payload, bool use_kid,
                             handler_fn handler)
{
	char *s = payload ? json_dumps(payload, JSON_COMPACT) : NULL;
	json_decref(payload);
	if (!s) {
		failf(o, "out of memory");
		return;
	}
	send_signed(o, url, s, use_kid, NULL, handler);
	free(s);
}

static void on_directory(struct acme_order *o, struct http_resp *r, json_t *j);
static void step_account(struct acme_order *o);

static void on_response(void *ud, const char *err, struct http_resp *r)
{
	struct acme_order *o = ud;
	o->http = NULL;
	if (err) {
		failf(o, "%s", err);
		return;
	}
	if (r->nonce[0])
		snprintf(o->a->nonce, sizeof o->a->nonce, "%s", r->nonce);
	json_t *j = NULL;
	if (r->body_len && strstr(r->content_type, "json"))
		j = json_loadb(r->body, r->body_len, 0, NULL);
	enum pending kind = o->pending;
	if (kind == P_NONCE) {
		json_decref(j);
		if (!o->a->nonce[0])
			failf(o, "no Replay-Nonce from %s (status %d)", o->a->new_nonce, r->status);
		else
			send_signed_now(o);
		return;
	}
	if (r->status >= 400) {
		const char *type = jstr(j, "type");
		if (kind == P_SIGNED && strcmp(type, "urn:ietf:params:acme:error:badNonce") == 0 &&
		    o->nonce_retries++ < MAX_NONCE_RETRIES) {
			log_info("acme event=bad_nonce_retry url=%s", o->url);
			json_decref(j);
			send_signed_now(o);
			return;
		}
		failf(o, "status %d from %s type=%.100s detail=%.200s", r->status,
		      kind == P_SIGNED ? o->url : o->a->directory, *type ? type : "none",
		      jstr(j, "detail"));
		json_decref(j);
		return;
	}
	if (kind == P_DIRECTORY)
		on_directory(o, r, j);
	else
		o->handler(o, r, j);
	json_decref(j);
}

/* ---- directory and account ---- */

static void on_directory(struct acme_order *o, struct http_resp *r, json_t *j)
{
	if (!json_is_object(j) ||
	    !copy_url(o->a->new_nonce, sizeof o->a->new_nonce, jstr(j, "newNonce")) ||
	    !copy_url(o->a->new_account, sizeof o->a->new_account, jstr(j, "newAccount")) ||
	    !copy_url(o->a->new_order, sizeof o->a->new_order, jstr(j, "newOrder"))) {
		o->a->new_nonce[0] = '\0';
		failf(o, "the directory %s lacks newNonce, newAccount or newOrder",
		      o->a->directory);
		return;
	}
	/* optional in the directory until a revocation needs it */
	if (!copy_url(o->a->revoke_cert, sizeof o->a->revoke_cert, jstr(j, "revokeCert")))
		o->a->revoke_cert[0] = '\0';
	step_account(o);
}

static void step_order(struct acme_order *o);

static void on_account(struct acme_order *o, struct http_resp *r, json_t *j)
{
	if (!copy_url(o->a->kid, sizeof o->a->kid, r->location)) {
		failf(o, "newAccount gave no account URL");
		return;
	}
	const char *status = jstr(j, "status");
	if (*status && strcmp(status, "valid") != 0) {
		o->a->kid[0] = '\0';
		failf(o, "the account is %s", status);
		return;
	}
	log_info("acme event=account status=%d kid=%s", r->status, o->a->kid);
	step_order(o);
}

static void step_account(struct acme_order *o)
{
	if (o->a->kid[0]) {
		step_order(o);
		return;
	}
	json_t *p = json_pack("{s:b}", "termsOfServiceAgreed", 1);
	if (p && o->a->contact[0])
		json_object_set_new(p, "contact", json_pack("[s]", o->a->contact));
	send_signed_json(o, o->a->new_account, p, false, on_account);
}

/* ---- the order and its authorizations ---- */

static void step_authz(struct acme_order *o);
static void step_finalize(struct acme_order *o);
static void step_poll_order(struct acme_order *o);
static void step_download(struct acme_order *o);

static void on_order(struct acme_order *o, struct http_resp *r, json_t *j)
{
	if (!copy_url(o->order_url, sizeof o->order_url, r->location)) {
		failf(o, "newOrder gave no order URL");
		return;
	}
	json_t *az = json_object_get(j, "authorizations");
	if (!json_is_array(az) || json_array_size(az) == 0 || json_array_size(az) > 100 ||
	    !copy_url(o->finalize_url, sizeof o->finalize_url, jstr(j, "finalize"))) {
		failf(o, "the order lacks authorizations or finalize");
		return;
	}
	o->authz = calloc(json_array_size(az), sizeof *o->authz);
	if (!o->authz) {
		failf(o, "out of memory");
		return;
	}
	for (size_t i = 0; i < json_array_size(az); i++) {
		const char *u = json_string_value(json_array_get(az, i));
		if (!u || strncmp(u, "https://", 8) != 0 || !(o->authz[o->nauthz++] = strdup(u))) {
			failf(o, "bad authorization URL in the order");
			return;
		}
	}
	log_info("acme event=order_created order=%s authorizations=%zu status=%s", o->order_url,
	         o->nauthz, jstr(j, "status"));
	o->authz_i = 0;
	o->authz_triggered = false;
	step_authz(o);
}

/* ---- revocation (§7.6) ---- */

static void on_revoked(struct acme_order *o, struct http_resp *r, json_t *j)
{
	(void)r, (void)j;
	log_info("acme event=revoked domain=%s", o->p->domains[0]);
	finish(o, NULL, 0, 0);
}

static void step_revoke(struct acme_order *o)
{
	if (!o->a->revoke_cert[0]) {
		failf(o, "the directory %s has no revokeCert", o->a->directory);
		return;
	}
	size_t n = b64url_len(o->p->revoke_len) + 1;
	char *b = malloc(n);
	if (!b) {
		failf(o, "out of memory");
		return;
	}
	b64url_encode(o->p->revoke_der, o->p->revoke_len, b, n);
	/* reason 1: keyCompromise (RFC 5280 §5.3.1) */
	json_t *p = json_pack("{s:s, s:i}", "certificate", b, "reason", 1);
	free(b);
	send_signed_json(o, o->a->revoke_cert, p, true, on_revoked);
}

static void step_order(struct acme_order *o)
{
	if (o->p->revoke_der) {
		step_revoke(o);
		return;
	}
	json_t *ids = json_array();
	for (size_t i = 0; ids && i < o->p->ndomains; i++)
		json_array_append_new(
		    ids, json_pack("{s:s, s:s}", "type", "dns", "value", o->p->domains[i]));
	send_signed_json(o, o->a->new_order, json_pack("{s:o}", "identifiers", ids), true,
	                 on_order);
}

static void on_wait_timer(uv_timer_t *t)
{
	struct acme_order *o = t->data;
	if (!o->finished && o->wait_step)
		o->wait_step(o);
}

/* Come back to step after the server's Retry-After (1..30 s) or 1 s. */
static void wait_then(struct acme_order *o, struct http_resp *r, step_fn step)
{
	if (++o->polls > MAX_POLLS) {
		failf(o, "gave up polling after %d tries", MAX_POLLS);
		return;
	}
	long s = r->retry_after;
	uint64_t ms = s < 0 ? 1000 : s < 1 ? 1000 : s > 30 ? 30000 : (uint64_t)s * 1000;
	o->wait_step = step;
	uv_timer_start(&o->timer, on_wait_timer, ms, 0);
}

static void on_challenge(struct acme_order *o, struct http_resp *r, json_t *j)
{
	/* The challenge is processing: poll the authorization. */
	wait_then(o, r, step_authz);
}

static const char *authz_error(json_t *j)
{
	json_t *chs = json_object_get(j, "challenges");
	for (size_t i = 0; i < json_array_size(chs); i++) {
		json_t *e = json_object_get(json_array_get(chs, i), "error");
		if (json_is_object(e))
			return jstr(e, "detail");
	}
	return "";
}

static void on_authz(struct acme_order *o, struct http_resp *r, json_t *j)
{
	const char *status = jstr(j, "status");
	const char *ident = jstr(json_object_get(j, "identifier"), "value");
	if (strcmp(status, "valid") == 0) {
		log_info("acme event=authorization_valid domain=%s", ident);
		withdraw(o);
		o->authz_i++;
		o->authz_triggered = false;
		step_authz(o);
		return;
	}
	if (strcmp(status, "pending") != 0) {
		failf(o, "authorization for %.253s is %.20s: %.300s", ident,
		      *status ? status : "unknown", authz_error(j));
		return;
	}
	if (o->authz_triggered) {
		wait_then(o, r, step_authz);
		return;
	}
	bool alpn = o->p->challenge == ACME_TLS_ALPN_01;
	const char *type = alpn ? "tls-alpn-01" : "http-01";
	json_t *chs = json_object_get(j, "challenges");
	json_t *ch = NULL;
	for (size_t i = 0; i < json_array_size(chs) && !ch; i++)
		if (strcmp(jstr(json_array_get(chs, i), "type"), type) == 0)
			ch = json_array_get(chs, i);
	const char *token = jstr(ch, "token");
	char url[1024];
	if (!ch || !copy_url(url, sizeof url, jstr(ch, "url")) || !*token ||
	    strlen(token) >= sizeof o->token || (alpn && strlen(ident) >= sizeof o->alpn_domain)) {
		failf(o, "no usable %s challenge for %s", type, ident);
		return;
	}
	char keyauth[256];
	snprintf(keyauth, sizeof keyauth, "%s.%s", token, o->a->key->thumbprint);
	if (alpn) {
		if (acme_alpn_add(ident, keyauth) != 0) {
			failf(o, "cannot make the tls-alpn-01 certificate for %s", ident);
			return;
		}
		snprintf(o->alpn_domain, sizeof o->alpn_domain, "%s", ident);
	} else {
		if (acme_challenge_add(token, keyauth) != 0) {
			failf(o, "cannot serve the challenge token for %s", ident);
			return;
		}
		snprintf(o->token, sizeof o->token, "%s", token);
	}
	o->authz_triggered = true;
	log_info("acme event=challenge domain=%s type=%s", ident, type);
	send_signed(o, url, "{}", true, NULL, on_challenge);
}

static void step_authz(struct acme_order *o)
{
	if (o->authz_i == o->nauthz) {
		step_finalize(o);
		return;
	}
	send_signed(o, o->authz[o->authz_i], NULL, true, NULL, on_authz);
}

/* ---- finalize, poll, download ---- */

static void on_order_state(struct acme_order *o, struct http_resp *r, json_t *j)
{
	const char *status = jstr(j, "status");
	if (strcmp(status, "valid") == 0) {
		if (!copy_url(o->cert_url, sizeof o->cert_url, jstr(j, "certificate"))) {
			failf(o, "a valid order without a certificate URL");
			return;
		}
		step_download(o);
	} else if (strcmp(status, "processing") == 0 || strcmp(status, "ready") == 0 ||
	           strcmp(status, "pending") == 0) {
		wait_then(o, r, step_poll_order);
	} else {
		failf(o, "the order is %s", *status ? status : "unknown");
	}
}

static void step_poll_order(struct acme_order *o)
{
	send_signed(o, o->order_url, NULL, true, NULL, on_order_state);
}

static void step_finalize(struct acme_order *o)
{
	unsigned char der[4096 + ACME_MAX_DOMAINS * 300];
	size_t len;
	mbedtls_pk_free(&o->cert_key);
	mbedtls_pk_init(&o->cert_key);
	if (acme_key_generate(&o->cert_key) != 0 ||
	    acme_csr_make(&o->cert_key, o->p->domains, o->p->ndomains, der, sizeof der, &len) !=
	        0) {
		failf(o, "cannot make the certificate request");
		return;
	}
	char *csr = b64url_dup(der, len);
	json_t *p = csr ? json_pack("{s:s}", "csr", csr) : NULL;
	free(csr);
	log_info("acme event=finalize order=%s", o->order_url);
	send_signed_json(o, o->finalize_url, p, true, on_order_state);
}

static void on_certificate(struct acme_order *o, struct http_resp *r, json_t *j)
{
	unsigned char key[800];
	if (mbedtls_pk_write_key_pem(&o->cert_key, key, sizeof key) != 0) {
		failf(o, "cannot write the certificate key");
		return;
	}
	size_t klen = strlen((char *)key);
	time_t nb, na;
	char err[400];
	if (!r->body || acme_cert_check_pem(r->body, r->body_len, (char *)key, klen, o->p->domains,
	                                    o->p->ndomains, &nb, &na, err, sizeof err) != 0) {
		memset(key, 0, sizeof key);
		failf(o, "the certificate from %s is unusable: %s", o->cert_url,
		      r->body ? err : "empty");
		return;
	}
	/* The key first: a crash between the two renames leaves a pair that
	 * does not match, which the next start orders again. */
	int rc = file_write_atomic(o->p->key_path, key, klen, 0600, err, sizeof err);
	memset(key, 0, sizeof key);
	if (rc == 0)
		rc = file_write_atomic(o->p->crt_path, r->body, r->body_len, 0644, err, sizeof err);
	if (rc != 0) {
		failf(o, "storing the certificate: %s", err);
		return;
	}
	finish(o, NULL, nb, na);
}

static void step_download(struct acme_order *o)
{
	send_signed(o, o->cert_url, NULL, true, "application/pem-certificate-chain",
	            on_certificate);
}

/* ---- start and cancel ---- */

static void step_start(struct acme_order *o)
{
	if (o->a->new_nonce[0]) {
		step_account(o);
		return;
	}
	o->pending = P_DIRECTORY;
	send_request(o, "GET", o->a->directory, NULL, "application/json");
}

struct acme_order *acme_order_start(uv_loop_t *loop, struct acme_account *acct,
                                    const struct acme_order_params *params, acme_order_cb cb,
                                    void *ud)
{
	if (params->ndomains == 0 || params->ndomains > ACME_MAX_DOMAINS)
		return NULL;
	struct acme_order *o = calloc(1, sizeof *o);
	if (!o)
		return NULL;
	o->loop = loop;
	o->a = acct;
	o->p = params;
	o->cb = cb;
	o->ud = ud;
	mbedtls_pk_init(&o->cert_key);
	uv_timer_init(loop, &o->timer);
	o->timer.data = o;
	o->deadline = uv_now(loop) + ORDER_DEADLINE_MS;
	/* From the loop, so that the callback never runs inside this call. */
	o->wait_step = step_start;
	uv_timer_start(&o->timer, on_wait_timer, 0, 0);
	return o;
}

void acme_order_cancel(struct acme_order *o)
{
	if (!o || o->finished)
		return;
	o->finished = true;
	release(o);
}
