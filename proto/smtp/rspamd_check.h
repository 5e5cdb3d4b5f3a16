/* rspamd_check: one message posted to rspamd's /checkv2 ([spam]
 * rspamd_url) on the loop (net/http_client.h), its reply read by
 * mailauth/rspamd.h. The session applies the action; an error or a
 * timeout is reported as !ok and the mail is delivered (fail open). */
#ifndef TERN_SMTP_RSPAMD_CHECK_H
#define TERN_SMTP_RSPAMD_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "mailauth/rspamd.h"

struct rspamd_check;
/* ok false: no usable answer (why says what); r is then NULL. */
typedef void (*rspamd_check_cb)(void *ud, bool ok, const char *why, const struct rspamd_result *r);

/* NULL when the request could not start (no callback then). */
struct rspamd_check *rspamd_check_start(uv_loop_t *loop, const char *base_url, uint64_t timeout_ms,
                                        const struct rspamd_envelope *env, const char *msg,
                                        size_t len, rspamd_check_cb cb, void *ud);
/* No callback after this. */
void rspamd_check_cancel(struct rspamd_check *c);

#endif
