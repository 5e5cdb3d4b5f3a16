/* tokens: API tokens (table `tokens`), by the SHA-256 of their secret.
 *
 * The store never sees a secret: admin/ makes it, hashes it, and hands
 * over the digest; a presented token is looked up by its digest. The
 * scope is free text here; admin/ keeps the list of valid scopes.
 *
 * Return convention as in store.h. */
#ifndef TERN_STORE_TOKENS_H
#define TERN_STORE_TOKENS_H

#include <stddef.h>
#include <stdint.h>

struct store_rd;
struct store_tx;

#define STORE_TOKEN_DIGEST 32 /* SHA-256 */
#define STORE_TOKEN_NAME_MAX 128
#define STORE_TOKEN_SCOPE_MAX 32

struct store_token {
	int64_t id;
	char name[STORE_TOKEN_NAME_MAX];
	char scope[STORE_TOKEN_SCOPE_MAX];
	unsigned char digest[STORE_TOKEN_DIGEST];
	int64_t created;   /* unix seconds */
	int64_t last_used; /* 0 = never */
	int64_t expires;   /* 0 = never */
	/* schema 20 (token_owners): a "send" token's account or domain, 0 if
	 * none (admin tokens; a send token whose owner was deleted) */
	int64_t account_id;
	int64_t domain_id;
};

/* A new token: 0 (id set when not NULL), -EINVAL (empty scope, a name or
 * scope too long for struct store_token), -EEXIST (that digest exists). */
int store_token_add(struct store_tx *tx, const char *name, const char *scope,
                    const unsigned char digest[STORE_TOKEN_DIGEST], int64_t expires, int64_t *id);
/* Give token_id an owner: the account with address account, or the
 * domain named domain (exactly one of them non-NULL). 0, -ENOENT (no such
 * token, account or domain), -EINVAL (both or neither). */
int store_token_set_owner(struct store_tx *tx, int64_t token_id, const char *account,
                          const char *domain);
/* Delete a token: 0, or -ENOENT. */
int store_token_del(struct store_tx *tx, int64_t id);
/* Note a use at `now`. 0, or -ENOENT. */
int store_token_touch(struct store_tx *tx, int64_t id, int64_t now);
/* Every token, by id; callback as in accounts.h. */
int store_token_list(struct store_rd *rd, int (*cb)(void *ud, const struct store_token *t),
                     void *ud);
/* The token with this digest: 1 (out filled), 0 none, or negative. */
int store_token_find(struct store_rd *rd, const unsigned char digest[STORE_TOKEN_DIGEST],
                     struct store_token *out);

#endif
