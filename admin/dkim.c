/* dkim: making DKIM key pairs, and their names.
 *
 * RSA-2048 (rsa-sha256, RFC 6376) with mbedTLS and the process's DRBG
 * (tls/rng.h); Ed25519 (ed25519-sha256, RFC 8463) with libsodium. What is
 * published (p=) is, for RSA, the base64 of the SubjectPublicKeyInfo DER
 * (RFC 6376 §3.6.1); for Ed25519, the base64 of the raw 32-byte public
 * key (RFC 8463 §4.2). The private side is stored as PEM (RSA) or as the
 * base64 of the 32-byte seed (Ed25519), from which the signer derives the
 * whole key.
 *
 * An RSA key takes tens to hundreds of milliseconds to find: the server
 * makes it in libuv's thread pool (like a password hash, admin/password.c),
 * never on the loop or the writer thread; the CLI inline. Every buffer
 * that held private material is wiped before it is freed. */
#include "admin/admin.h"

#include <errno.h>
#include <mbedtls/base64.h>
#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tls/rng.h"

int admin_dkim_alg_parse(const char *name, enum admin_dkim_alg *out)
{
	if (!name)
		return -1;
	if (strcmp(name, "rsa-2048") == 0 || strcmp(name, "rsa") == 0 ||
	    strcmp(name, "rsa-sha256") == 0)
		*out = ADMIN_DKIM_RSA;
	else if (strcmp(name, "ed25519") == 0 || strcmp(name, "ed25519-sha256") == 0)
		*out = ADMIN_DKIM_ED25519;
	else
		return -1;
	return 0;
}

const char *admin_dkim_alg_name(enum admin_dkim_alg alg)
{
	return alg == ADMIN_DKIM_RSA ? "rsa-sha256" : "ed25519-sha256";
}

const char *admin_dkim_key_type(const char *algorithm)
{
	return strncmp(algorithm, "ed25519", 7) == 0 ? "ed25519" : "rsa";
}

void admin_dkim_selector(enum admin_dkim_alg alg, int64_t now, char *out, size_t len)
{
	time_t t = (time_t)now;
	struct tm tm;
	gmtime_r(&t, &tm);
	snprintf(out, len, "t%04d%02d%c", tm.tm_year + 1900, tm.tm_mon + 1,
	         alg == ADMIN_DKIM_RSA ? 'r' : 'e');
}

/* RFC 6376 §3.1: a selector is dot-separated labels (sub-domain). */
bool admin_dkim_selector_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n >= STORE_DKIM_SELECTOR_MAX || s[0] == '.' || s[n - 1] == '.' || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || c == '-' || (c == '.' && s[i + 1] != '.');
		if (!ok)
			return false;
	}
	return true;
}

static int b64(const unsigned char *in, size_t n, char *out, size_t outlen)
{
	size_t olen = 0;
	return mbedtls_base64_encode((unsigned char *)out, outlen, &olen, in, n) == 0 ? 0 : -1;
}

static int gen_rsa(struct admin_dkim_key *out, char *err, size_t errlen)
{
	mbedtls_pk_context pk;
	mbedtls_pk_init(&pk);
	unsigned char der[1024];
	void *rng = tls_rng_ctx();
	int rc = rng ? mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA)) : -1;
	if (rc == 0)
		rc = mbedtls_rsa_gen_key(mbedtls_pk_rsa(pk), tls_rng, rng, 2048, 65537);
	if (rc == 0)
		rc = mbedtls_pk_write_key_pem(&pk, (unsigned char *)out->private_key,
		                              sizeof out->private_key);
	int n = rc == 0 ? mbedtls_pk_write_pubkey_der(&pk, der, sizeof der) : -1;
	/* the DER is written at the end of the buffer */
	if (n <= 0 ||
	    b64(der + sizeof der - n, (size_t)n, out->public_key, sizeof out->public_key) < 0) {
		snprintf(err, errlen, "RSA key generation failed (%s)",
		         rng ? "mbedTLS" : "no random generator");
		rc = -1;
	}
	mbedtls_pk_free(&pk);
	return rc == 0 ? 0 : -1;
}

static int gen_ed25519(struct admin_dkim_key *out, char *err, size_t errlen)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	unsigned char seed[crypto_sign_SEEDBYTES];
	int rc = -1;
	if (sodium_init() >= 0 && crypto_sign_keypair(pk, sk) == 0 &&
	    crypto_sign_ed25519_sk_to_seed(seed, sk) == 0 &&
	    b64(seed, sizeof seed, out->private_key, sizeof out->private_key) == 0 &&
	    b64(pk, sizeof pk, out->public_key, sizeof out->public_key) == 0)
		rc = 0;
	else
		snprintf(err, errlen, "Ed25519 key generation failed (libsodium)");
	sodium_memzero(sk, sizeof sk);
	sodium_memzero(seed, sizeof seed);
	return rc;
}

int admin_dkim_generate(enum admin_dkim_alg alg, struct admin_dkim_key *out, char *err,
                        size_t errlen)
{
	memset(out, 0, sizeof *out);
	out->alg = alg;
	int rc = alg == ADMIN_DKIM_RSA ? gen_rsa(out, err, errlen) : gen_ed25519(out, err, errlen);
	if (rc < 0)
		admin_dkim_key_wipe(out);
	return rc;
}

void admin_dkim_key_wipe(struct admin_dkim_key *k)
{
	explicit_bzero(k, sizeof *k);
}

struct gen_work {
	uv_work_t work;
	enum admin_dkim_alg alg;
	admin_dkim_fn done;
	void *ud;
	int rc;
	struct admin_dkim_key key;
	char err[128];
};

static void work_gen(uv_work_t *w)
{
	struct gen_work *g = w->data;
	g->rc = admin_dkim_generate(g->alg, &g->key, g->err, sizeof g->err);
}

static void after_gen(uv_work_t *w, int status)
{
	struct gen_work *g = w->data;
	if (status < 0) { /* cancelled: never ran */
		g->rc = -1;
		snprintf(g->err, sizeof g->err, "key generation was cancelled");
	}
	g->done(g->ud, g->rc, g->rc == 0 ? &g->key : NULL, g->err);
	explicit_bzero(g, sizeof *g);
	free(g);
}

int admin_dkim_generate_async(uv_loop_t *loop, enum admin_dkim_alg alg, admin_dkim_fn done,
                              void *ud)
{
	/* Seed the shared DRBG here, on the loop, not first in a worker. */
	if (alg == ADMIN_DKIM_RSA && !tls_rng_ctx())
		return -EIO;
	struct gen_work *g = calloc(1, sizeof *g);
	if (!g)
		return -ENOMEM;
	g->alg = alg;
	g->done = done;
	g->ud = ud;
	g->work.data = g;
	int rc = uv_queue_work(loop, &g->work, work_gen, after_gen);
	if (rc < 0) {
		free(g);
		return rc;
	}
	return 0;
}
