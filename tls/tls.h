/* tls: server-side TLS for every listener, with mbedTLS (2.28 or 3.6).
 *
 * A tls_server holds the certificates (one or more PEM chain + key pairs,
 * the first the default, SNI choosing among them) and the mbedTLS
 * configuration built from them. The configuration and its certificates are
 * one reference-counted "generation": every session takes a reference when
 * it starts, so tls_server_reload() can swap in a new generation while
 * established sessions keep using the old one until they end.
 *
 * A tls_session is one TLS connection over memory buffers: conn puts the
 * ciphertext it reads into the session's input buffer, the session hands
 * the ciphertext it produces to an output callback (conn's output queue),
 * and plaintext comes out of tls_session_read(). Nothing here touches a
 * socket, so the same code runs under libuv and in tests.
 *
 * With no certificate configured, tls_server_create() uses (or creates on
 * first start) a self-signed ECDSA P-256 certificate in <data_dir>/tls/.
 */
#ifndef TERN_TLS_H
#define TERN_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "tls/suites.h"

struct tls_server;
struct tls_session;

struct tls_cert_spec {
	const char *cert_file; /* PEM: leaf first, then intermediates */
	const char *key_file;  /* PEM private key (RSA or EC) */
};

/* Load every certificate (the first is the default). With ncerts == 0,
 * use <data_dir>/tls/selfsigned.{crt,key}, generating them when missing,
 * for hostname (NULL: "localhost"). Returns 0 or -1 with err filled. */
int tls_server_create(struct tls_server **out, const struct tls_cert_spec *certs, size_t ncerts,
                      const char *data_dir, const char *hostname, char *err, size_t errlen);
/* Re-read the same files. On failure the old certificates stay in use. */
int tls_server_reload(struct tls_server *t, char *err, size_t errlen);
/* Replace the certificate files (ncerts >= 1; the first is the default)
 * and build a generation from them, as reload does: new sessions use it,
 * established ones keep theirs. On failure nothing changes. Later reloads
 * re-read these files. For certificates obtained at run time (acme/). */
int tls_server_set_certs(struct tls_server *t, const struct tls_cert_spec *certs, size_t ncerts,
                         char *err, size_t errlen);
void tls_server_free(struct tls_server **t);

/* tls-alpn-01 (RFC 8737) for acme/: fn(ud, sni, &crt, &key) gives the
 * challenge certificate for a name whose challenge is pending (0), or -1.
 * Pointers must stay valid until the challenge is withdrawn (they are
 * used within the loop turn that calls fn). Process-wide; set before
 * tls_server_create() (generations built from then on offer ALPN with
 * "acme-tls/1"). Needs mbedTLS 3.x (the certificate-selection callback):
 * tls_alpn_challenge_supported() says so; setting it otherwise fails. */
struct mbedtls_x509_crt;
struct mbedtls_pk_context;
typedef int (*tls_alpn_challenge_fn)(void *ud, const char *sni, struct mbedtls_x509_crt **crt,
                                     struct mbedtls_pk_context **key);
bool tls_alpn_challenge_supported(void);
int tls_set_alpn_challenge(tls_alpn_challenge_fn fn, void *ud);

/* Certificates in use: count, file name and SHA-256 fingerprint of each
 * leaf as colon-separated upper-case hex ("AB:CD:..", 95 chars + NUL). */
size_t tls_server_cert_count(const struct tls_server *t);
const char *tls_server_cert_file(const struct tls_server *t, size_t i);
size_t tls_server_fingerprints(const struct tls_server *t, char out[][96], size_t max);

/* Sessions. profile picks the cipher suites (tls/suites.h: people's
 * clients or other mail servers). out() receives ciphertext to send; it
 * returns 0 or -1. */
typedef int (*tls_out_fn)(void *ctx, const unsigned char *data, size_t len);
struct tls_session *tls_session_new(struct tls_server *t, enum tls_profile profile, tls_out_fn out,
                                    void *ctx);
/* A client session on the outbound side's config (tls/tls_client.h);
 * host is sent as SNI and checked when the config verifies. */
struct mbedtls_ssl_config;
struct tls_session *tls_session_new_client(const struct mbedtls_ssl_config *conf, const char *host,
                                           tls_out_fn out, void *ctx);
void tls_session_free(struct tls_session *s);
/* The peer's certificate verified (client side). */
bool tls_session_verified(const struct tls_session *s);
/* Why it did not verify, in TLS-RPT's result-type words (RFC 8460 4.3):
 * "certificate-expired", "certificate-host-mismatch",
 * "certificate-not-trusted" or "validation-failure"; NULL when verified. */
const char *tls_session_verify_problem(const struct tls_session *s);
/* DANE (tls/dane.h): the peer's chain, as presented, against TLSA records
 * (an enum dane_result; DANE_NO_CERT before a handshake). host: the MX
 * name for DANE-TA. */
struct dane_tlsa;
int tls_session_dane_check(const struct tls_session *s, const struct dane_tlsa *recs, size_t n,
                           const char *host, const char **why);

/* Ciphertext input: space to read into (after compaction; *len 0 means the
 * buffer is full and reading should stop), then commit what was read. */
void tls_session_in_space(struct tls_session *s, char **buf, size_t *len);
void tls_session_in_commit(struct tls_session *s, size_t n);
/* Give the ciphertext buffer back while nothing is in it (an idle
 * connection); the next tls_session_in_space() makes a new one. */
void tls_session_release_input(struct tls_session *s);
/* A session idle between records gives back what it holds resident: the
 * ciphertext buffer, and the pages of mbedTLS's 16 KiB input and output
 * record buffers (about 32 KiB, which mbedTLS allocates per session for
 * its whole life). Returns false, doing nothing, when a record is partly
 * received, plaintext is unread or output is pending. */
bool tls_session_trim_idle(struct tls_session *s);

#define TLS_AGAIN 1         /* needs more ciphertext input */
#define TLS_ERR_CLOSED (-2) /* the peer sent close_notify */

/* Drive the handshake: 0 done, TLS_AGAIN, or -1 (tls_session_error()). */
int tls_session_handshake(struct tls_session *s);
/* Decrypt into buf: >0 bytes, 0 (TLS_AGAIN: need input), TLS_ERR_CLOSED,
 * or -1 on error. */
ssize_t tls_session_read(struct tls_session *s, void *buf, size_t len);
/* Encrypt all of data into the output callback: 0 or -1. */
int tls_session_write(struct tls_session *s, const void *data, size_t len);
void tls_session_close_notify(struct tls_session *s);

const char *tls_session_error(const struct tls_session *s);
const char *tls_session_version(const struct tls_session *s); /* "TLSv1.2" */
/* The channel binding a server session can give SCRAM-*-PLUS: writes it to
 * out and returns its type ("tls-exporter" on TLS 1.3, "tls-unique" on
 * TLS 1.2 with the extended master secret; see tls.c), or NULL: none. */
const char *tls_session_channel_binding(struct tls_session *s, unsigned char *out, size_t cap,
                                        size_t *len);
const char *tls_session_cipher(struct tls_session *s);    /* IANA name */
const char *tls_session_sni(const struct tls_session *s); /* or NULL */

#endif
