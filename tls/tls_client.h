/* tls_client: client-side TLS (outbound SMTP STARTTLS) with mbedTLS.
 *
 * Only the client-role configuration lives here; a connection is an
 * ordinary tls_session (tls.h), the same memory-buffer machinery the
 * server side uses, created with tls_client_new().
 *
 * One tls_client_ctx holds an mbedtls_ssl_config for the client role. With
 * verify off (the default for MTA-to-MTA: encrypt without verifying, since
 * without DANE or MTA-STS there is no name to verify against) any
 * certificate is accepted; with verify on the chain is checked against the
 * system CA bundle and the host name given to tls_client_new(). */
#ifndef TERN_TLS_CLIENT_H
#define TERN_TLS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "tls/tls.h" /* tls_out_fn, TLS_AGAIN, TLS_ERR_CLOSED */

struct tls_client_ctx;

/* ca_file NULL: the Debian bundle /etc/ssl/certs/ca-certificates.crt.
 * Returns 0 or -1 with err. */
int tls_client_ctx_new(struct tls_client_ctx **out, bool verify, const char *ca_file, char *err,
                       size_t errlen);
void tls_client_ctx_free(struct tls_client_ctx **ctx);

/* A client session: drive it with the tls_session_* functions of tls.h.
 * host: SNI and, with verification, the name the certificate must carry. */
struct tls_session *tls_client_new(struct tls_client_ctx *ctx, const char *host, tls_out_fn out,
                                   void *out_ctx);

#endif
