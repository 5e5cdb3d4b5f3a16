/* test_tokens: API tokens in the store (store/tokens.c) and their secrets
 * and checks (admin/token.c): only the digest is stored, a secret finds
 * its token, a wrong, revoked or expired one does not, and a token of
 * another scope is told apart. */
#include "admin/admin.h"
#include "store/store.h"
#include "store/tokens.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int passed, failed;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (cond) {                                                                        \
			passed++;                                                                  \
		} else {                                                                           \
			failed++;                                                                  \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
		}                                                                                  \
	} while (0)

static int count_cb(void *ud, const struct store_token *t)
{
	(*(int *)ud)++;
	return 0;
}

static void test_tokens(struct store *st)
{
	char secret[ADMIN_TOKEN_SIZE], other[ADMIN_TOKEN_SIZE];
	struct admin_op op;
	CHECK(admin_op_set(&op, ADMIN_TOKEN_CREATE, "ci", "admin") == 0);
	CHECK(admin_token_make(secret, op.digest) == 0);
	CHECK(strlen(secret) == ADMIN_TOKEN_SIZE - 1 && strncmp(secret, "tern_", 5) == 0);
	CHECK(store_exec(st, admin_op_run, &op) == 0 && op.new_id > 0);
	int64_t id = op.new_id;

	/* the same digest twice is refused */
	CHECK(store_exec(st, admin_op_run, &op) == -EEXIST);
	/* an unknown scope is refused */
	struct admin_op bad;
	admin_op_set(&bad, ADMIN_TOKEN_CREATE, "x", "root");
	CHECK(admin_token_make(other, bad.digest) == 0);
	CHECK(strcmp(secret, other) != 0);
	CHECK(store_exec(st, admin_op_run, &bad) == -EINVAL);

	struct store_rd *rd = store_reader(st);
	struct store_token t;
	CHECK(admin_token_check(rd, secret, strlen(secret), "admin", 1000, &t) == ADMIN_AUTH_OK);
	CHECK(t.id == id && strcmp(t.name, "ci") == 0 && t.last_used == 0);
	CHECK(admin_token_check(rd, secret, strlen(secret), "send", 1000, &t) == ADMIN_AUTH_SCOPE);
	CHECK(admin_token_check(rd, other, strlen(other), "admin", 1000, &t) == ADMIN_AUTH_INVALID);
	CHECK(admin_token_check(rd, secret, strlen(secret) - 1, "admin", 1000, &t) ==
	      ADMIN_AUTH_INVALID);
	CHECK(admin_token_check(rd, "Bearer", 6, "admin", 1000, &t) == ADMIN_AUTH_INVALID);

	/* last use */
	struct admin_op touch = {.kind = ADMIN_TOKEN_TOUCH, .id = id, .now = 4242};
	CHECK(store_exec(st, admin_op_run, &touch) == 0);
	CHECK(admin_token_check(rd, secret, strlen(secret), "admin", 5000, &t) == ADMIN_AUTH_OK);
	CHECK(t.last_used == 4242);

	/* an expiring token */
	struct admin_op exp;
	admin_op_set(&exp, ADMIN_TOKEN_CREATE, "", "admin");
	exp.expires = 2000;
	CHECK(admin_token_make(other, exp.digest) == 0);
	CHECK(store_exec(st, admin_op_run, &exp) == 0);
	CHECK(admin_token_check(rd, other, strlen(other), "admin", 1999, &t) == ADMIN_AUTH_OK);
	CHECK(admin_token_check(rd, other, strlen(other), "admin", 2000, &t) == ADMIN_AUTH_INVALID);

	int n = 0;
	CHECK(admin_tokens(rd, count_cb, &n) == 0 && n == 2);

	/* revoked */
	struct admin_op rev = {.kind = ADMIN_TOKEN_REVOKE, .id = id};
	CHECK(store_exec(st, admin_op_run, &rev) == 0);
	CHECK(store_exec(st, admin_op_run, &rev) == -ENOENT);
	CHECK(admin_token_check(rd, secret, strlen(secret), "admin", 1000, &t) ==
	      ADMIN_AUTH_INVALID);
	n = 0;
	CHECK(admin_tokens(rd, count_cb, &n) == 0 && n == 1);
}

/* Schema 20: a send token has an account or a domain, an admin token
 * neither; the owner is read back with the token and goes with its
 * account. */
static void test_send_owners(struct store *st)
{
	struct store_rd *rd = store_reader(st);
	struct admin_op op;
	admin_op_set(&op, ADMIN_DOMAIN_ADD, "own.test", NULL);
	CHECK(store_exec(st, admin_op_run, &op) == 0);
	admin_op_set(&op, ADMIN_USER_ADD, "app@own.test", "x");
	CHECK(store_exec(st, admin_op_run, &op) == 0);
	CHECK(admin_scope_valid("send") && admin_scope_has_owner("send") &&
	      !admin_scope_has_owner("admin"));

	char secret[ADMIN_TOKEN_SIZE];
	/* send without an owner, admin with one: refused */
	admin_op_set(&op, ADMIN_TOKEN_CREATE, "", "send");
	CHECK(admin_token_make(secret, op.digest) == 0);
	CHECK(store_exec(st, admin_op_run, &op) == -EINVAL);
	admin_op_set(&op, ADMIN_TOKEN_CREATE, "", "admin");
	snprintf(op.owner, sizeof op.owner, "app@own.test");
	CHECK(admin_token_make(secret, op.digest) == 0);
	CHECK(store_exec(st, admin_op_run, &op) == -EINVAL);
	/* an owner that does not exist: nothing is made */
	admin_op_set(&op, ADMIN_TOKEN_CREATE, "", "send");
	snprintf(op.owner, sizeof op.owner, "ghost@own.test");
	CHECK(admin_token_make(secret, op.digest) == 0);
	CHECK(store_exec(st, admin_op_run, &op) == -ENOENT);
	CHECK(admin_token_check(rd, secret, strlen(secret), "send", 1000,
	                        &(struct store_token){0}) == ADMIN_AUTH_INVALID);

	/* an account token */
	admin_op_set(&op, ADMIN_TOKEN_CREATE, "acct", "send");
	snprintf(op.owner, sizeof op.owner, "app@own.test");
	CHECK(admin_token_make(secret, op.digest) == 0);
	CHECK(store_exec(st, admin_op_run, &op) == 0);
	struct store_token t;
	CHECK(admin_token_check(rd, secret, strlen(secret), "send", 1000, &t) == ADMIN_AUTH_OK);
	CHECK(t.account_id > 0 && t.domain_id == 0);
	CHECK(admin_token_check(rd, secret, strlen(secret), "admin", 1000, &t) == ADMIN_AUTH_SCOPE);

	/* a domain token */
	char dsecret[ADMIN_TOKEN_SIZE];
	admin_op_set(&op, ADMIN_TOKEN_CREATE, "dom", "send");
	snprintf(op.owner, sizeof op.owner, "own.test");
	op.owner_is_domain = true;
	CHECK(admin_token_make(dsecret, op.digest) == 0);
	CHECK(store_exec(st, admin_op_run, &op) == 0);
	CHECK(admin_token_check(rd, dsecret, strlen(dsecret), "send", 1000, &t) == ADMIN_AUTH_OK);
	CHECK(t.account_id == 0 && t.domain_id > 0);

	/* deleting the account takes the owner row with it */
	admin_op_set(&op, ADMIN_USER_DEL, "app@own.test", NULL);
	CHECK(store_exec(st, admin_op_run, &op) == 0);
	CHECK(admin_token_check(rd, secret, strlen(secret), "send", 1000, &t) == ADMIN_AUTH_OK);
	CHECK(t.account_id == 0 && t.domain_id == 0);
}

int main(void)
{
	char dir[] = "/tmp/tern-test-tokens-XXXXXX", err[256];
	if (!mkdtemp(dir))
		return 1;
	struct store *st = NULL;
	if (store_open(&st, dir, NULL, err, sizeof err) < 0) {
		fprintf(stderr, "store_open: %s\n", err);
		return 1;
	}
	test_tokens(st);
	test_send_owners(st);
	store_close(&st);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	printf("test_tokens: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
