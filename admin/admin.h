/* admin: what `tern domain|user|alias|queue|token` and the admin API
 * (proto/http/admin_api.c) both do, in one place.
 *
 * Nothing here prints or parses: the CLI parses argv and prints, the API
 * parses JSON and renders it. A change is a struct admin_op, run as a
 * store job (admin_op_run is a store_job_fn): the CLI runs it with
 * store_exec(), the server with store_submit(), and both explain a failure
 * with admin_op_error(). Reads take a store_rd: the CLI's, or the loop's.
 *
 * Passwords are hashed by auth_hash_password (yescrypt): the CLI does it
 * inline, the server off the loop with admin_hash_password_async(). Token
 * secrets are made and hashed here (admin/token.c); the store keeps their
 * SHA-256 only. */
#ifndef TERN_ADMIN_H
#define TERN_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "store/accounts.h"
#include "store/dkim.h"
#include "store/queue.h"
#include "store/tokens.h"
#include "store/webhooks.h"

struct store_rd;
struct store_tx;

enum admin_kind {
	ADMIN_DOMAIN_ADD,
	ADMIN_DOMAIN_DEL,
	ADMIN_USER_ADD,    /* a: address, b: password hash */
	ADMIN_USER_PASSWD, /* a: address, b: password hash */
	ADMIN_USER_DEL,
	ADMIN_ALIAS_ADD, /* a: source, b: target */
	ADMIN_ALIAS_DEL,
	ADMIN_QUEUE_RETRY, /* id; 0 = every row */
	ADMIN_QUEUE_DELETE,
	ADMIN_QUEUE_BOUNCE,
	ADMIN_TOKEN_CREATE, /* a: name, b: scope, digest, expires, owner */
	ADMIN_TOKEN_REVOKE, /* id */
	ADMIN_TOKEN_TOUCH,  /* id, now: last_used */
	ADMIN_USER_QUOTA,   /* a: address, quota: bytes (0 = unlimited) */
	ADMIN_DKIM_ADD,     /* a: domain, b: selector, key: the generated key */
	ADMIN_DKIM_RETIRE,  /* a: domain, b: selector */
	/* owner (owner_is_domain), url, events, secret; new_id (admin/webhook.c) */
	ADMIN_WEBHOOK_ADD,
	ADMIN_WEBHOOK_DEL,   /* id */
	ADMIN_WEBHOOK_RETRY, /* id: an undelivered event, due now */
};

struct admin_dkim_key;

/* One change. Fill it with admin_op_set() (or by hand for ids), run it as
 * a job, then read the results. */
struct admin_op {
	enum admin_kind kind;
	char a[STORE_ADDR_MAX];
	char b[STORE_ADDR_MAX];
	int64_t id;
	int64_t now; /* unix seconds; 0: the time the job runs */
	int64_t expires;
	unsigned char digest[STORE_TOKEN_DIGEST];
	int64_t quota; /* ADMIN_USER_QUOTA */
	/* ADMIN_TOKEN_CREATE: a "send" token's account address, or its domain
	 * when owner_is_domain; "" for an admin token */
	char owner[STORE_ADDR_MAX];
	bool owner_is_domain;
	struct admin_dkim_key *key; /* ADMIN_DKIM_ADD; the caller's */
	/* ADMIN_USER_ADD, ADMIN_USER_PASSWD: the new password's SCRAM keys
	 * (auth/scram_keys.h), set after admin_op_set(); "" leaves none */
	char scram_sha1[STORE_SCRAM_MAX];
	char scram_sha256[STORE_SCRAM_MAX];
	/* ADMIN_WEBHOOK_ADD */
	char url[STORE_WEBHOOK_URL_MAX];
	char events[STORE_WEBHOOK_EVENTS_MAX];
	char secret[STORE_WEBHOOK_SECRET_MAX]; /* made by admin_webhook_secret; wipe after */
	/* results */
	int changed;    /* queue rows changed */
	int64_t new_id; /* ADMIN_TOKEN_CREATE */
};

/* Start an op of kind with its strings (either may be NULL). 0, or
 * -ENAMETOOLONG when one does not fit. */
int admin_op_set(struct admin_op *op, enum admin_kind kind, const char *a, const char *b);
/* The job: 0 or a negative errno (store.h). A queue op that changed no
 * row, or a token op on no token, is -ENOENT. */
int admin_op_run(struct store_tx *tx, void *op);
/* The command's name ("domain add", "queue retry", ...). */
const char *admin_kind_name(enum admin_kind kind);
/* Why op failed with rc, in words. for_cli: the words `tern` has always
 * printed (they name the commands that help); else plain ones for the
 * API. Returns buf. */
const char *admin_op_error(const struct admin_op *op, int rc, bool for_cli, char *buf, size_t len);

/* ---- reads (admin/read.c); callbacks return 0 to go on ---- */

int admin_domains(struct store_rd *rd, int (*cb)(void *ud, const char *name), void *ud);
/* 1, 0, or negative. */
int admin_domain_exists(struct store_rd *rd, const char *name);
int admin_users(struct store_rd *rd, int (*cb)(void *ud, const struct store_account *a), void *ud);
/* 1 found, 0 not, negative on error; out may be NULL. */
int admin_user_get(struct store_rd *rd, const char *address, struct store_account *out);
/* Before hashing a new account's password: 0 if the add may work,
 * -EEXIST (an account has the address), -ENOENT (its domain is not
 * local), -EINVAL (not user@domain), or a store error. The add itself
 * checks again (and for aliases). */
int admin_user_add_check(struct store_rd *rd, const char *address);
int admin_aliases(struct store_rd *rd, int (*cb)(void *ud, const char *source, const char *target),
                  void *ud);
/* Every queue row, by id (the count, or negative); one row (1, 0, negative). */
int admin_queue(struct store_rd *rd, store_queue_cb cb, void *ud);
int admin_queue_get(struct store_rd *rd, int64_t id, store_queue_cb cb, void *ud);
int admin_tokens(struct store_rd *rd, int (*cb)(void *ud, const struct store_token *t), void *ud);
/* The DKIM keys of domain (NULL: all), public side only. */
int admin_dkim_keys(struct store_rd *rd, const char *domain,
                    int (*cb)(void *ud, const struct store_dkim_key *k), void *ud);

/* ---- webhooks (admin/webhook.c): `tern webhook` and the API ---- */
/* Is list a comma-separated set of delivered, delayed, bounced, incoming
 * (each at most once, not empty)? */
bool admin_webhook_events_valid(const char *list);
/* A new signing secret, "whsec_" and 64 hex digits. 0, or -1. */
int admin_webhook_secret(char out[STORE_WEBHOOK_SECRET_MAX]);
/* The op's run (admin_op_run hands the webhook kinds here). */
int admin_webhook_run(struct store_tx *tx, struct admin_op *op, int64_t now);
/* Every webhook (no secret is read by the callers that print); every
 * event not delivered yet. Callbacks as in store/webhooks.h. */
int admin_webhooks(struct store_rd *rd, int (*cb)(void *ud, const struct store_webhook *w),
                   void *ud);
int admin_webhook_events(struct store_rd *rd,
                         int (*cb)(void *ud, const struct store_webhook_event *e), void *ud);

/* ---- passwords (admin/password.c) ---- */

#define ADMIN_PASSWORD_MIN 8
#define ADMIN_PASSWORD_MAX 1023

/* Whether a new password is acceptable: NULL, or why not ("the password
 * must have at least 8 characters"). */
const char *admin_password_problem(const char *password, size_t len);

/* Hash password (yescrypt) and make its SCRAM keys on auth's hashing
 * threads; done runs on the loop with rc 0, the hash and the keys (texts
 * for struct admin_op), or -1 and err. The password is copied and the copy
 * wiped once hashed; the caller may wipe its own at once. Returns 0, or a
 * negative errno (done is then never called). */
typedef void (*admin_hash_fn)(void *ud, int rc, const char *hash, const char *scram_sha1,
                              const char *scram_sha256, const char *err);
struct auth_pool;
int admin_hash_password_async(struct auth_pool *auth, const char *password, admin_hash_fn done,
                              void *ud);

/* ---- tokens (admin/token.c) ---- */

#define ADMIN_TOKEN_PREFIX "tern_"
/* "tern_" + 32 random bytes in unpadded base64url (43) + NUL */
#define ADMIN_TOKEN_SIZE (5 + 43 + 1)

/* Is scope one tokens may have ("admin", "send")? */
bool admin_scope_valid(const char *scope);
/* Does a token of scope belong to an account or a domain ("send" does,
 * "admin" does not)? */
bool admin_scope_has_owner(const char *scope);
/* The scopes, comma-separated, for messages. */
const char *admin_scope_names(void);
/* A new secret and its digest. 0, or -1 (no randomness). */
int admin_token_make(char secret[ADMIN_TOKEN_SIZE], unsigned char digest[STORE_TOKEN_DIGEST]);

enum admin_auth {
	ADMIN_AUTH_OK,
	ADMIN_AUTH_INVALID, /* unknown, revoked, expired or malformed */
	ADMIN_AUTH_SCOPE,   /* a valid token of another scope */
	ADMIN_AUTH_ERROR,   /* the store failed */
};
/* Check a presented secret for scope at now: its SHA-256 looked up (out
 * is filled when the token exists). */
enum admin_auth admin_token_check(struct store_rd *rd, const char *secret, size_t len,
                                  const char *scope, int64_t now, struct store_token *out);

/* ---- DKIM keys (admin/dkim.c) ---- */

enum admin_dkim_alg { ADMIN_DKIM_RSA, ADMIN_DKIM_ED25519 };

#define ADMIN_DKIM_PRIVATE_MAX 4096

/* A generated key pair. private_key never leaves the store again: wipe
 * the struct once the add job has run (admin_dkim_key_wipe). */
struct admin_dkim_key {
	enum admin_dkim_alg alg;
	char private_key[ADMIN_DKIM_PRIVATE_MAX]; /* RSA: PEM; Ed25519: base64 seed */
	char public_key[STORE_DKIM_PUBLIC_MAX];   /* base64, the record's p= */
};

/* "rsa-2048" (or "rsa", "rsa-sha256") and "ed25519" (or
 * "ed25519-sha256"): 0, or -1 for another name. */
int admin_dkim_alg_parse(const char *name, enum admin_dkim_alg *out);
/* The DKIM a= name ("rsa-sha256"), and the key type of k= ("rsa"). */
const char *admin_dkim_alg_name(enum admin_dkim_alg alg);
const char *admin_dkim_key_type(const char *algorithm);
/* The default selector for a key made at now: "tYYYYMMr" (RSA) or
 * "tYYYYMMe" (Ed25519), in UTC. */
void admin_dkim_selector(enum admin_dkim_alg alg, int64_t now, char *out, size_t len);
/* Is s a selector (letters, digits, '-', '.' between labels; < 64)? */
bool admin_dkim_selector_valid(const char *s);
/* Make a key pair (RSA-2048 takes a fraction of a second): 0, or -1
 * with err. Synchronous: the CLI's way. */
int admin_dkim_generate(enum admin_dkim_alg alg, struct admin_dkim_key *out, char *err,
                        size_t errlen);
/* The same in libuv's thread pool; done runs on the loop with rc 0 and
 * the key (valid during the call only), or -1 and err. 0, or a negative
 * errno (done is then never called). */
typedef void (*admin_dkim_fn)(void *ud, int rc, struct admin_dkim_key *key, const char *err);
int admin_dkim_generate_async(uv_loop_t *loop, enum admin_dkim_alg alg, admin_dkim_fn done,
                              void *ud);
void admin_dkim_key_wipe(struct admin_dkim_key *k);

/* ---- DNS records to publish (admin/dns.c) ---- */

enum admin_svc { ADMIN_SVC_IMAP, ADMIN_SVC_POP3, ADMIN_SVC_SUBMISSION };

struct admin_dns_service {
	enum admin_svc kind;
	bool implicit_tls; /* else STARTTLS (or plain) */
	int port;
};

/* What the records describe besides the store: the server's name, its
 * mail listeners (best first), and the MTA-STS policy it serves. */
struct admin_dns_site {
	const char *hostname; /* [server] hostname */
	const struct admin_dns_service *services;
	size_t nservices;
	const char *mta_sts_mode; /* "none", "testing", "enforce"; NULL or "" = off */
	const char *mta_sts_mx;   /* "" = hostname */
	int64_t mta_sts_max_age;
	int https_port; /* the first HTTPS listener's (autodiscover's SRV); 0 = none */
};

struct admin_dns_record {
	const char *name;  /* owner name, no trailing dot */
	const char *type;  /* "MX", "TXT", "CNAME", "SRV" */
	const char *value; /* as in a zone file (host names end in a dot); TXT unquoted */
};

/* The records a local domain should publish: MX, SPF, one DKIM TXT per
 * live key, DMARC, MTA-STS (when a policy is served), TLS-RPT, the
 * autoconfig and autodiscover CNAMEs, RFC 6186/8314 SRV records for the
 * listeners and Outlook's _autodiscover._tcp SRV (with an HTTPS listener).
 * 0, -ENOENT (not a local domain), a store error, or cb's non-zero. */
int admin_dns_records(struct store_rd *rd, const char *domain, const struct admin_dns_site *site,
                      int (*cb)(void *ud, const struct admin_dns_record *r), void *ud);

#endif
