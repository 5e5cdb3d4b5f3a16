/* scram_login: see scram_login.h. */
#include "auth/scram_login.h"

#include <stdio.h>
#include <string.h>

#include "auth/throttle.h"
#include "lib/log.h"
#include "store/store.h"

void auth_scram_begin(struct auth_pool *pool, const char *ip, const char *user, enum hmac_hash h,
                      struct auth_scram_attempt *att, struct scram_keys *keys)
{
	struct auth_pool_parts p = auth_pool_parts(pool);
	memset(att, 0, sizeof *att);
	snprintf(att->ip, sizeof att->ip, "%s", ip ? ip : "");
	if (strchr(user, '@'))
		snprintf(att->address, sizeof att->address, "%s", user);
	else
		snprintf(att->address, sizeof att->address, "%s@%s", user, p.settings->domain);
	scram_keys_fake(h, att->address, keys);

	enum throttle_verdict v = throttle_begin(p.throttle, att->ip, att->address, uv_now(p.loop));
	if (v != THROTTLE_GO) {
		log_warn("event=auth_throttled ip=%s by=%s", att->ip,
		         v == THROTTLE_NETWORK ? "network" : "account");
		att->verdict = AUTH_THROTTLED;
		return;
	}
	struct store_account acct;
	int rc = store_account_lookup(store_reader(p.store), att->address, &acct);
	if (rc < 0) {
		log_error("event=auth_lookup_failed err=%d", rc);
		att->verdict = AUTH_TEMPFAIL;
		return;
	}
	att->verdict = AUTH_OK;
	if (rc == 1 &&
	    scram_keys_parse(h, h == HMAC_SHA1 ? acct.scram_sha1 : acct.scram_sha256, keys) == 0) {
		att->usable = !acct.disabled;
		att->acct.account_id = acct.id;
		snprintf(att->acct.address, sizeof att->acct.address, "%s", acct.address);
	} else if (rc == 1) {
		scram_keys_fake(h, att->address, keys); /* parse left it half filled */
	}
	explicit_bzero(&acct, sizeof acct);
}

struct auth_req *auth_scram_finish(struct auth_pool *pool, const struct auth_scram_attempt *att,
                                   bool proof_ok, auth_done_fn done, void *ud)
{
	enum auth_result r = att->verdict;
	if (r == AUTH_OK)
		r = proof_ok && att->usable ? AUTH_OK : AUTH_FAIL;
	return auth_answer(pool, att->ip, att->address, r, r == AUTH_OK ? &att->acct : NULL, done,
	                   ud);
}
