/* scram_login: the account side of a SCRAM exchange (proto/sasl/scram.c
 * is the message side). Two calls bracket it:
 *
 *   client-first ──► auth_scram_begin: throttle charged (as auth_check
 *                    does), account and keys read on the loop; unknown
 *                    users, accounts without keys yet and refused attempts
 *                    get fake keys, so the server-first message looks the
 *                    same whoever asks
 *   client-final ──► proof checked by the caller ──► auth_scram_finish:
 *                    the result, answered like auth_check's (same delays,
 *                    refusals, metrics) through auth_answer
 */
#ifndef TERN_AUTH_SCRAM_LOGIN_H
#define TERN_AUTH_SCRAM_LOGIN_H

#include <stdbool.h>

#include "auth/auth.h"
#include "auth/scram_keys.h"
#include "store/accounts.h"

struct auth_scram_attempt {
	enum auth_result verdict; /* AUTH_OK: charged, go on; or THROTTLED/TEMPFAIL */
	bool usable;              /* a known, enabled account with keys */
	char ip[48];
	char address[STORE_ADDR_MAX]; /* what the throttle charged */
	struct auth_account acct;
};

/* Fills att and keys (real or fake) for user ("alice@example.com", or a
 * bare local part in the primary domain). */
void auth_scram_begin(struct auth_pool *pool, const char *ip, const char *user, enum hmac_hash h,
                      struct auth_scram_attempt *att, struct scram_keys *keys);
/* The proof was checked: answer through done (later, on the loop). NULL on
 * allocation failure (the charge then stands). */
struct auth_req *auth_scram_finish(struct auth_pool *pool, const struct auth_scram_attempt *att,
                                   bool proof_ok, auth_done_fn done, void *ud);

#endif
