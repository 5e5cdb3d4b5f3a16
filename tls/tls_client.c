/* tls_client: outbound TLS sessions (see tls_client.h).
 *
 * Why a separate file from tls.c: the server side is organised around
 * certificate generations, SNI and reload; a client needs none of that,
 * only a config in the client role, an optional CA chain and the same
 * memory-BIO plumbing. The plumbing is small enough that sharing it would
 * cost more coupling than the dozen duplicated lines.
 *
 * Verification: with verify off we still let mbedTLS run the handshake with
 * MBEDTLS_SSL_VERIFY_OPTIONAL so the result is known (and logged), but a
 * failed check does not stop the connection. With verify on it is
 * MBEDTLS_SSL_VERIFY_REQUIRED and the host name is checked.
 */
#include "tls/tls_client.h"
#include "tls/tls_compat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/error.h>

#define TLS_CLIENT_IN_CAP (40 * 1024)
#define DEFAULT_CA_FILE "/etc/ssl/certs/ca-certificates.crt"

struct tls_client_ctx {
	mbedtls_ssl_config conf;
	mbedtls_x509_crt ca;
	bool verify;
};

struct tls_client {
	mbedtls_ssl_context ssl;
	tls_out_fn out;
	void *out_ctx;
	unsigned char *in;
	size_t in_r, in_w;
	char cipher[96];
	char error[160];
};

int tls_client_ctx_new(struct tls_client_ctx **out, bool verify, const char *ca_file, char *err,
                       size_t errlen)
{
	*out = NULL;
	void *rng = tls_rng_ctx();
	if (!rng) {
		snprintf(err, errlen, "cannot seed the DRBG");
		return -1;
	}
	struct tls_client_ctx *c = calloc(1, sizeof *c);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	mbedtls_ssl_config_init(&c->conf);
	mbedtls_x509_crt_init(&c->ca);
	c->verify = verify;
	int rc =
	    mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_CLIENT,
	                                MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
	if (rc != 0) {
		snprintf(err, errlen, "ssl config failed (-0x%04x)", (unsigned)-rc);
		goto fail;
	}
	tc_conf_min_tls12(&c->conf);
	mbedtls_ssl_conf_rng(&c->conf, tls_rng, rng);
	const char *ca = ca_file && *ca_file ? ca_file : DEFAULT_CA_FILE;
	rc = mbedtls_x509_crt_parse_file(&c->ca, ca);
	if (rc < 0 && verify) {
		snprintf(err, errlen, "loading CA bundle %s failed (-0x%04x)", ca, (unsigned)-rc);
		goto fail;
	}
	mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, NULL);
	mbedtls_ssl_conf_authmode(&c->conf, verify ? MBEDTLS_SSL_VERIFY_REQUIRED
	                                           : MBEDTLS_SSL_VERIFY_OPTIONAL);
	*out = c;
	return 0;
fail:
	mbedtls_ssl_config_free(&c->conf);
	mbedtls_x509_crt_free(&c->ca);
	free(c);
	return -1;
}

void tls_client_ctx_free(struct tls_client_ctx **cp)
{
	struct tls_client_ctx *c = *cp;
	if (!c)
		return;
	mbedtls_ssl_config_free(&c->conf);
	mbedtls_x509_crt_free(&c->ca);
	free(c);
	*cp = NULL;
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct tls_client *s = ctx;
	if (s->out(s->out_ctx, buf, len) != 0)
		return MBEDTLS_ERR_SSL_INTERNAL_ERROR;
	return (int)len;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	struct tls_client *s = ctx;
	size_t avail = s->in_w - s->in_r;
	if (avail == 0)
		return MBEDTLS_ERR_SSL_WANT_READ;
	if (len > avail)
		len = avail;
	memcpy(buf, s->in + s->in_r, len);
	s->in_r += len;
	if (s->in_r == s->in_w)
		s->in_r = s->in_w = 0;
	return (int)len;
}

struct tls_client *tls_client_new(struct tls_client_ctx *ctx, const char *host, tls_out_fn out,
                                  void *out_ctx)
{
	struct tls_client *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	if (!(s->in = malloc(TLS_CLIENT_IN_CAP))) {
		free(s);
		return NULL;
	}
	mbedtls_ssl_init(&s->ssl);
	if (mbedtls_ssl_setup(&s->ssl, &ctx->conf) != 0 ||
	    (host && *host && mbedtls_ssl_set_hostname(&s->ssl, host) != 0)) {
		mbedtls_ssl_free(&s->ssl);
		free(s->in);
		free(s);
		return NULL;
	}
	s->out = out;
	s->out_ctx = out_ctx;
	mbedtls_ssl_set_bio(&s->ssl, s, bio_send, bio_recv, NULL);
	return s;
}

void tls_client_free(struct tls_client *s)
{
	if (!s)
		return;
	mbedtls_ssl_free(&s->ssl);
	free(s->in);
	free(s);
}

void tls_client_in_space(struct tls_client *s, char **buf, size_t *len)
{
	if (s->in_r > 0 && s->in_w == TLS_CLIENT_IN_CAP) {
		memmove(s->in, s->in + s->in_r, s->in_w - s->in_r);
		s->in_w -= s->in_r;
		s->in_r = 0;
	}
	*buf = (char *)s->in + s->in_w;
	*len = TLS_CLIENT_IN_CAP - s->in_w;
}

void tls_client_in_commit(struct tls_client *s, size_t n)
{
	s->in_w += n;
}

static void set_error(struct tls_client *s, int rc)
{
	char e[128];
	mbedtls_strerror(rc, e, sizeof e);
	snprintf(s->error, sizeof s->error, "%s (-0x%04x)", e, (unsigned)-rc);
}

int tls_client_handshake(struct tls_client *s)
{
	int rc = mbedtls_ssl_handshake(&s->ssl);
	if (rc == 0)
		return 0;
	if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
		return TLS_AGAIN;
	set_error(s, rc);
	return -1;
}

ssize_t tls_client_read(struct tls_client *s, void *buf, size_t len)
{
	for (;;) {
		int rc = mbedtls_ssl_read(&s->ssl, buf, len);
		if (rc > 0)
			return rc;
		switch (rc) {
		case MBEDTLS_ERR_SSL_WANT_READ:
		case MBEDTLS_ERR_SSL_WANT_WRITE:
			return 0;
		case 0:
		case MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY:
			return TLS_ERR_CLOSED;
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
		case MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET:
			continue; /* TLS 1.3 servers send tickets after the handshake */
#endif
		default:
			set_error(s, rc);
			return -1;
		}
	}
}

int tls_client_write(struct tls_client *s, const void *data, size_t len)
{
	const unsigned char *p = data;
	while (len > 0) {
		int rc = mbedtls_ssl_write(&s->ssl, p, len);
		if (rc > 0) {
			p += rc;
			len -= (size_t)rc;
			continue;
		}
		if (rc == MBEDTLS_ERR_SSL_WANT_WRITE || rc == MBEDTLS_ERR_SSL_WANT_READ)
			continue;
		set_error(s, rc);
		return -1;
	}
	return 0;
}

void tls_client_close_notify(struct tls_client *s)
{
	(void)mbedtls_ssl_close_notify(&s->ssl);
}

const char *tls_client_error(const struct tls_client *s)
{
	return s->error[0] ? s->error : "unknown";
}

const char *tls_client_version(const struct tls_client *s)
{
	return mbedtls_ssl_get_version(&s->ssl);
}

const char *tls_client_cipher(const struct tls_client *s)
{
	const char *m = mbedtls_ssl_get_ciphersuite(&s->ssl);
	return m ? m : "";
}

bool tls_client_verified(const struct tls_client *s)
{
	return mbedtls_ssl_get_verify_result(&s->ssl) == 0;
}
