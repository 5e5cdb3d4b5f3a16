/* tls_client: client-side TLS (outbound SMTP STARTTLS) with mbedTLS.
 *
 * The mirror image of tls.h's sessions: ciphertext in through a buffer that
 * the transport fills from uv_read, ciphertext out through a callback into
 * the transport's output queue, plaintext out of tls_client_read(). Nothing
 * here touches a socket.
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
struct tls_client;

/* ca_file NULL: the Debian bundle /etc/ssl/certs/ca-certificates.crt.
 * Returns 0 or -1 with err. */
int tls_client_ctx_new(struct tls_client_ctx **out, bool verify, const char *ca_file, char *err,
                       size_t errlen);
void tls_client_ctx_free(struct tls_client_ctx **ctx);

/* host: SNI and, with verification, the name the certificate must carry. */
struct tls_client *tls_client_new(struct tls_client_ctx *ctx, const char *host, tls_out_fn out,
                                  void *out_ctx);
void tls_client_free(struct tls_client *s);

void tls_client_in_space(struct tls_client *s, char **buf, size_t *len);
void tls_client_in_commit(struct tls_client *s, size_t n);

/* 0 done, TLS_AGAIN, or -1 (tls_client_error()). */
int tls_client_handshake(struct tls_client *s);
/* >0 bytes, 0 need input, TLS_ERR_CLOSED, -1 error. */
ssize_t tls_client_read(struct tls_client *s, void *buf, size_t len);
int tls_client_write(struct tls_client *s, const void *data, size_t len);
void tls_client_close_notify(struct tls_client *s);

const char *tls_client_error(const struct tls_client *s);
const char *tls_client_version(const struct tls_client *s);
const char *tls_client_cipher(const struct tls_client *s);
/* After the handshake: did the certificate verify (chain and name)? */
bool tls_client_verified(const struct tls_client *s);

#endif
