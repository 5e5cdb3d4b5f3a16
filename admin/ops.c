/* ops: the changes `tern` and the admin API make, as one store job.
 *
 * A struct admin_op names the change and carries its arguments; the job
 * calls the store's operation for it. The queue ops keep what `tern queue`
 * always did: delete drops the row without a bounce, bounce makes it
 * expire now (the runner bounces it at its next scan), retry makes it due
 * now. A queue op that found no row is -ENOENT, so that both callers
 * report "no such entry" the same way. */
#include "admin/admin.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store/dkim.h"
#include "store/store.h"

static int copy(char *dst, size_t n, const char *src)
{
	if (!src) {
		dst[0] = '\0';
		return 0;
	}
	size_t len = strlen(src);
	if (len >= n)
		return -ENAMETOOLONG;
	memcpy(dst, src, len + 1);
	return 0;
}

int admin_op_set(struct admin_op *op, enum admin_kind kind, const char *a, const char *b)
{
	memset(op, 0, sizeof *op);
	op->kind = kind;
	int rc = copy(op->a, sizeof op->a, a);
	if (rc == 0)
		rc = copy(op->b, sizeof op->b, b);
	return rc;
}

static int queue_op(struct store_tx *tx, struct admin_op *op, int64_t now)
{
	int rc;
	switch (op->kind) {
	case ADMIN_QUEUE_RETRY:
		rc = store_queue_retry(tx, op->id, now);
		break;
	case ADMIN_QUEUE_DELETE:
		rc = store_queue_finish(tx, op->id) == 0 ? 1 : 0;
		break;
	default:
		rc = store_queue_cancel(tx, op->id, now);
		break;
	}
	if (rc < 0)
		return rc;
	op->changed = rc;
	return rc == 0 ? -ENOENT : 0;
}

int admin_op_run(struct store_tx *tx, void *arg)
{
	struct admin_op *op = arg;
	int64_t now = op->now ? op->now : (int64_t)time(NULL);
	switch (op->kind) {
	case ADMIN_DOMAIN_ADD:
		return store_domain_add(tx, op->a);
	case ADMIN_DOMAIN_DEL:
		return store_domain_del(tx, op->a);
	case ADMIN_USER_ADD:
	case ADMIN_USER_PASSWD: {
		int rc = op->kind == ADMIN_USER_ADD ? store_account_add(tx, op->a, op->b, NULL)
		                                    : store_account_set_password(tx, op->a, op->b);
		if (rc == 0 && op->scram_sha1[0] && op->scram_sha256[0])
			rc = store_account_set_scram(tx, op->a, NULL, op->scram_sha1,
			                             op->scram_sha256);
		return rc;
	}
	case ADMIN_USER_DEL:
		return store_account_del(tx, op->a);
	case ADMIN_ALIAS_ADD:
		return store_alias_add(tx, op->a, op->b);
	case ADMIN_ALIAS_DEL:
		return store_alias_del(tx, op->a);
	case ADMIN_QUEUE_RETRY:
	case ADMIN_QUEUE_DELETE:
	case ADMIN_QUEUE_BOUNCE:
		return queue_op(tx, op, now);
	case ADMIN_TOKEN_CREATE: {
		if (!admin_scope_valid(op->b) ||
		    admin_scope_has_owner(op->b) != (op->owner[0] != 0))
			return -EINVAL;
		int rc = store_token_add(tx, op->a, op->b, op->digest, op->expires, &op->new_id);
		if (rc == 0 && op->owner[0])
			rc = store_token_set_owner(tx, op->new_id,
			                           op->owner_is_domain ? NULL : op->owner,
			                           op->owner_is_domain ? op->owner : NULL);
		return rc;
	}
	case ADMIN_TOKEN_REVOKE:
		return store_token_del(tx, op->id);
	case ADMIN_TOKEN_TOUCH:
		return store_token_touch(tx, op->id, now);
	case ADMIN_USER_QUOTA:
		return store_account_set_quota(tx, op->a, op->quota);
	case ADMIN_DKIM_ADD:
		if (!op->key || !admin_dkim_selector_valid(op->b))
			return -EINVAL;
		return store_dkim_add(tx, op->a, op->b, admin_dkim_alg_name(op->key->alg),
		                      op->key->private_key, op->key->public_key);
	case ADMIN_DKIM_RETIRE:
		return store_dkim_retire(tx, op->a, op->b, now);
	case ADMIN_WEBHOOK_ADD:
	case ADMIN_WEBHOOK_DEL:
	case ADMIN_WEBHOOK_RETRY:
		return admin_webhook_run(tx, op, now);
	}
	return -EINVAL;
}

const char *admin_kind_name(enum admin_kind kind)
{
	static const char *const names[] = {
	    [ADMIN_DOMAIN_ADD] = "domain add",       [ADMIN_DOMAIN_DEL] = "domain del",
	    [ADMIN_USER_ADD] = "user add",           [ADMIN_USER_PASSWD] = "user passwd",
	    [ADMIN_USER_DEL] = "user del",           [ADMIN_ALIAS_ADD] = "alias add",
	    [ADMIN_ALIAS_DEL] = "alias del",         [ADMIN_QUEUE_RETRY] = "queue retry",
	    [ADMIN_QUEUE_DELETE] = "queue delete",   [ADMIN_QUEUE_BOUNCE] = "queue bounce",
	    [ADMIN_TOKEN_CREATE] = "token create",   [ADMIN_TOKEN_REVOKE] = "token revoke",
	    [ADMIN_TOKEN_TOUCH] = "token touch",     [ADMIN_USER_QUOTA] = "user quota",
	    [ADMIN_DKIM_ADD] = "dkim keygen",        [ADMIN_DKIM_RETIRE] = "dkim retire",
	    [ADMIN_WEBHOOK_ADD] = "webhook add",     [ADMIN_WEBHOOK_DEL] = "webhook delete",
	    [ADMIN_WEBHOOK_RETRY] = "webhook retry",
	};
	return (unsigned)kind < sizeof names / sizeof names[0] ? names[kind] : "?";
}
