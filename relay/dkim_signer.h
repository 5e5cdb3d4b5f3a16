/* dkim_signer: DKIM-signs the mail tern sends out, with the keys in the
 * store, off the loop.
 *
 * Who calls it: SMTP for a submitted message with remote recipients (before
 * the queue row is written, so a retry never signs again), and the relay
 * for the DSNs tern wrote itself (at relay time: they are built inside the
 * writer's job). The domain signed for is the one of the message's From
 * address, or the nearest parent domain that has keys (MAILER-DAEMON@
 * mail.example.com is signed d=example.com: DMARC's relaxed alignment).
 * Every live key of that domain signs: RSA and Ed25519 make the dual
 * signature of RFC 8463 §6, two selectors during a rotation both sign.
 *
 * The parsed keys are cached on the loop per domain; the cache is dropped
 * when store_dkim_serial() moved (a key added or retired, by this process
 * or the CLI), checked at most once a second. A key that fails to sign is
 * counted and logged, and the message goes on without that signature:
 * a broken key must not hold up or lose mail. */
#ifndef TERN_RELAY_DKIM_SIGNER_H
#define TERN_RELAY_DKIM_SIGNER_H

#include <stddef.h>
#include <uv.h>

#include "mailauth/arc.h"

struct store;

/* Start (after the store is open) and stop (frees the cache; signatures
 * in flight still complete). Without a start, nothing is signed. */
void dkim_signer_start(uv_loop_t *loop, struct store *store);
void dkim_signer_stop(void);

/* On the loop: the DKIM-Signature fields to prepend (len 0: none). The
 * text is the signer's; copy it before returning. */
typedef void (*dkim_signer_done_fn)(void *ud, const char *fields, size_t len);

/* Sign msg (CRLF, as it will be sent), which must stay unchanged until
 * done() runs. 1: signing in the thread pool, done() will be called on the
 * loop. 0: nothing to sign (no From, no keys for its domain, the signer is
 * not started) or the work could not start (logged); done() is not called
 * and the message goes unsigned. (Built without mbedTLS's threading, it
 * signs inline: done() then runs before this returns 1.) */
int dkim_signer_sign(const char *msg, size_t len, dkim_signer_done_fn done, void *ud);

/* The same for an ARC seal (RFC 8617) by domain (or its nearest parent
 * with keys; its first RSA key: ARC knows rsa-sha256 only): done() gets
 * ARC-Seal, ARC-Message-Signature and ARC-Authentication-Results (len 0
 * when the chain must not be sealed or sealing failed). chain: the
 * judge's result; authres: our "Authentication-Results: ..." field. */
int dkim_signer_arc_seal(const char *domain, enum arc_status chain, const char *authres,
                         size_t authres_len, const char *msg, size_t len, dkim_signer_done_fn done,
                         void *ud);

#endif
