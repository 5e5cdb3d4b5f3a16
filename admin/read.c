/* read: what the CLI lists and the API's GETs answer, on a read view. Thin
 * on purpose: both callers go through here, so a filter or a field added
 * later is added once. */
#include "admin/admin.h"

#include <errno.h>
#include <string.h>

#include "store/store.h"

int admin_domains(struct store_rd *rd, int (*cb)(void *ud, const char *name), void *ud)
{
	return store_domain_list(rd, cb, ud);
}

int admin_domain_exists(struct store_rd *rd, const char *name)
{
	return store_domain_exists(rd, name);
}

int admin_users(struct store_rd *rd, int (*cb)(void *ud, const struct store_account *a), void *ud)
{
	return store_account_list(rd, cb, ud);
}

int admin_user_get(struct store_rd *rd, const char *address, struct store_account *out)
{
	struct store_account tmp;
	return store_account_lookup(rd, address, out ? out : &tmp);
}

int admin_user_add_check(struct store_rd *rd, const char *address)
{
	const char *at = strrchr(address, '@');
	if (!at || at == address || !at[1])
		return -EINVAL;
	int rc = admin_user_get(rd, address, NULL);
	if (rc != 0)
		return rc < 0 ? rc : -EEXIST;
	rc = store_domain_exists(rd, at + 1);
	return rc < 0 ? rc : rc == 0 ? -ENOENT : 0;
}

int admin_aliases(struct store_rd *rd, int (*cb)(void *ud, const char *source, const char *target),
                  void *ud)
{
	return store_alias_list(rd, cb, ud);
}

int admin_queue(struct store_rd *rd, store_queue_cb cb, void *ud)
{
	return store_queue_list(rd, cb, ud);
}

int admin_queue_get(struct store_rd *rd, int64_t id, store_queue_cb cb, void *ud)
{
	return store_queue_get(rd, id, cb, ud);
}

int admin_tokens(struct store_rd *rd, int (*cb)(void *ud, const struct store_token *t), void *ud)
{
	return store_token_list(rd, cb, ud);
}

int admin_dkim_keys(struct store_rd *rd, const char *domain,
                    int (*cb)(void *ud, const struct store_dkim_key *k), void *ud)
{
	return store_dkim_list(rd, domain, cb, ud);
}
