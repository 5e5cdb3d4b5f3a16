/* tls: certificate sets, SNI, reload, and memory-BIO sessions.
 *
 * Why it is built this way:
 *
 * - One "generation" (struct tls_gen) = one mbedtls_ssl_config plus the
 *   certificates and keys it points to. mbedTLS keeps raw pointers from the
 *   config into the certificates and from every ssl context into the config,
 *   so a generation can only be freed when no session uses it: sessions
 *   hold a reference. Reload builds a complete new generation first and
 *   swaps only if every file loaded, so a typo in a renewed certificate
 *   never takes TLS down.
 *
 * - SNI: the config's SNI callback looks the requested name up in the
 *   generation's certificates (SAN DNS names, or the CN when there is no
 *   SAN; "*.example.com" matches one label) and installs the match with
 *   mbedtls_ssl_set_hs_own_cert(). No match keeps the default (the first).
 *   The callback gets the ssl context, and the session embeds it as its
 *   first member, so the session (to remember the name) is a cast away;
 *   mbedtls_ssl_set_user_data_p() would do but is 3.x-only.
 *
 * - tls-alpn-01 (RFC 8737): acme/ registers a process-wide hook
 *   (tls_set_alpn_challenge) before the server is built. Only mbedTLS 3.x
 *   can serve it: its certificate-selection callback
 *   (mbedtls_ssl_conf_cert_cb) runs after the whole ClientHello, when the
 *   negotiated ALPN is known; 2.28 has only the SNI callback, which runs
 *   mid-parse, before ALPN. With a hook, the configs offer ALPN: the
 *   protocols tern speaks (mbedTLS refuses a client whose list shares
 *   nothing with ours, so the list is only set when the hook is) plus
 *   "acme-tls/1". A handshake that picked "acme-tls/1" gets the hook's
 *   certificate for its SNI, or fails when no challenge is pending; once
 *   done it is closed (tls_session_handshake returns -1), as RFC 8737 asks.
 *
 * - Random numbers come from the process-wide DRBG of rng.c; a missing
 *   self-signed certificate is made by selfsigned.c. Both sit below this
 *   file: nothing there calls back into it.
 *
 * - Sessions speak to mbedTLS through custom bio callbacks: recv takes from
 *   a ciphertext buffer that conn fills from uv_read, send appends to conn's
 *   output queue. send never blocks, so WANT_WRITE never surfaces; WANT_READ
 *   means "wait for the next read".
 *
 * - Channel binding for SCRAM's -PLUS mechanisms
 *   (tls_session_channel_binding): on TLS 1.3 "tls-exporter" (RFC 9266),
 *   the exporter with label "EXPORTER-Channel-Binding" and no context,
 *   through mbedtls_ssl_export_keying_material (3.x). On TLS 1.2
 *   "tls-unique" (RFC 5929), the first Finished message of the handshake,
 *   but only when the extended master secret (RFC 7627) was negotiated:
 *   without it a man in the middle can make two connections share it (the
 *   triple handshake attack). The server keeps no session cache and no
 *   tickets, so every handshake is a full one, whose first Finished is the
 *   client's: mbedTLS keeps it as peer_verify_data (for secure
 *   renegotiation, MBEDTLS_SSL_RENEGOTIATION). Whether EMS was negotiated
 *   is known only to the handshake parameters, which 2.28 publishes
 *   (ssl_internal.h) and frees when the handshake ends: the session notes
 *   it while the handshake waits for the client's second flight. 3.x hides
 *   them (library/ssl_misc.h), so there TLS 1.2 offers no binding.
 */
#include "tls/tls.h"
#include "tls/dane.h"
#include "tls/suites.h"
#include "tls/rng.h"
#include "tls/selfsigned.h"
#include "tls/tls_compat.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/error.h>
#if MBEDTLS_VERSION_NUMBER < 0x03000000
#include <mbedtls/ssl_internal.h> /* the handshake's extended_ms */
#endif
#include <mbedtls/oid.h>

#define TLS_IN_CAP (40 * 1024) /* two full records plus slack */

struct tls_cert {
	mbedtls_x509_crt chain;
	mbedtls_pk_context key;
	char **names; /* lower-case DNS names from SAN, or the CN */
	size_t nnames;
	char fingerprint[96];
};

struct tls_gen {
	unsigned refs;
	mbedtls_ssl_config conf[2]; /* by enum tls_profile (tls/suites.h) */
	struct tls_cert *certs;
	size_t ncerts;
};

struct tls_server {
	struct tls_gen *gen;
	char **cert_files;
	char **key_files;
	size_t nfiles;
	char *selfsigned_dir; /* non-NULL when running on the generated cert */
	char *hostname;
};

struct tls_session {
	mbedtls_ssl_context ssl; /* first: the SNI callback casts back */
	struct tls_gen *gen;
	tls_out_fn out;
	void *out_ctx;
	unsigned char *in;
	size_t in_r, in_w;
	char sni[256];
	char cipher[96];
	char error[160];
	bool ems; /* TLS 1.2 negotiated the extended master secret (2.28 only) */
};

/* ---- names and SNI ---- */

static char *lower_dup(const unsigned char *p, size_t n)
{
	char *s = malloc(n + 1);
	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++)
		s[i] = (char)tolower(p[i]);
	s[n] = '\0';
	return s;
}

static int add_name(struct tls_cert *c, const unsigned char *p, size_t n)
{
	char **v = realloc(c->names, (c->nnames + 1) * sizeof *v);
	if (!v)
		return -1;
	c->names = v;
	if (!(v[c->nnames] = lower_dup(p, n)))
		return -1;
	c->nnames++;
	return 0;
}

static int collect_names(struct tls_cert *c)
{
	const mbedtls_x509_crt *leaf = &c->chain;
	for (const mbedtls_x509_sequence *s = &leaf->subject_alt_names; s; s = s->next) {
		if (s->buf.p && s->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2) &&
		    add_name(c, s->buf.p, s->buf.len) != 0)
			return -1;
	}
	if (c->nnames > 0)
		return 0;
	for (const mbedtls_x509_name *n = &leaf->subject; n; n = n->next) {
		if (n->oid.p && MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0 &&
		    add_name(c, n->val.p, n->val.len) != 0)
			return -1;
	}
	return 0;
}

/* Does a certificate name (maybe "*.example.com") cover host? */
static bool name_matches(const char *pattern, const char *host)
{
	if (strcmp(pattern, host) == 0)
		return true;
	if (pattern[0] != '*' || pattern[1] != '.')
		return false;
	const char *dot = strchr(host, '.');
	if (!dot || dot == host)
		return false;
	return strcmp(dot + 1, pattern + 2) == 0;
}

static int sni_cb(void *p, mbedtls_ssl_context *ssl, const unsigned char *name, size_t len)
{
	struct tls_gen *g = p;
	struct tls_session *s = (struct tls_session *)ssl;
	char host[256];
	if (len >= sizeof host)
		return 0; /* absurd name: keep the default certificate */
	for (size_t i = 0; i < len; i++)
		host[i] = (char)tolower(name[i]);
	host[len] = '\0';
	if (len > 0 && host[len - 1] == '.')
		host[--len] = '\0';
	memcpy(s->sni, host, len + 1);
	for (size_t i = 0; i < g->ncerts; i++) {
		struct tls_cert *c = &g->certs[i];
		for (size_t k = 0; k < c->nnames; k++)
			if (name_matches(c->names[k], host))
				return mbedtls_ssl_set_hs_own_cert(ssl, &c->chain, &c->key);
	}
	return 0;
}

/* ---- tls-alpn-01 ---- */

#define ACME_TLS_ALPN "acme-tls/1"

static tls_alpn_challenge_fn alpn_fn;
static void *alpn_ud;

bool tls_alpn_challenge_supported(void)
{
#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && defined(MBEDTLS_SSL_ALPN)
	return true;
#else
	return false;
#endif
}

int tls_set_alpn_challenge(tls_alpn_challenge_fn fn, void *ud)
{
	if (fn && !tls_alpn_challenge_supported())
		return -1;
	alpn_fn = fn;
	alpn_ud = ud;
	return 0;
}

static bool is_acme_alpn(const mbedtls_ssl_context *ssl)
{
#if defined(MBEDTLS_SSL_ALPN)
	const char *p = mbedtls_ssl_get_alpn_protocol(ssl);
	return p && strcmp(p, ACME_TLS_ALPN) == 0;
#else
	(void)ssl;
	return false;
#endif
}

#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && defined(MBEDTLS_SSL_ALPN)
/* Ours first; "acme-tls/1" is only ever offered alone (by validators). */
static const char *alpn_list[] = {ACME_TLS_ALPN, "http/1.1",    "imap", "pop3",
                                  "smtp",        "managesieve", NULL};

static int cert_cb(mbedtls_ssl_context *ssl)
{
	if (!is_acme_alpn(ssl))
		return 0;
	struct tls_session *s = (struct tls_session *)ssl;
	mbedtls_x509_crt *crt = NULL;
	mbedtls_pk_context *key = NULL;
	if (!alpn_fn || !s->sni[0] || alpn_fn(alpn_ud, s->sni, &crt, &key) != 0 || !crt || !key)
		return MBEDTLS_ERR_SSL_HANDSHAKE_FAILURE;      /* no challenge pending */
	int rc = mbedtls_ssl_set_hs_own_cert(ssl, NULL, NULL); /* drop SNI's pick */
	return rc ? rc : mbedtls_ssl_set_hs_own_cert(ssl, crt, key);
}
#endif

/* ---- generations ---- */

static void gen_unref(struct tls_gen *g)
{
	if (!g || --g->refs > 0)
		return;
	mbedtls_ssl_config_free(&g->conf[TLS_PROFILE_CLIENTS]);
	mbedtls_ssl_config_free(&g->conf[TLS_PROFILE_MTA]);
	for (size_t i = 0; i < g->ncerts; i++) {
		struct tls_cert *c = &g->certs[i];
		mbedtls_x509_crt_free(&c->chain);
		mbedtls_pk_free(&c->key);
		for (size_t k = 0; k < c->nnames; k++)
			free(c->names[k]);
		free(c->names);
	}
	free(g->certs);
	free(g);
}

static void fmt_err(char *err, size_t errlen, const char *what, const char *file, int rc)
{
	char e[128];
	mbedtls_strerror(rc, e, sizeof e);
	snprintf(err, errlen, "%s %s: %s", what, file, e);
}

static int load_cert(struct tls_cert *c, const char *cert_file, const char *key_file, char *err,
                     size_t errlen)
{
	int rc = mbedtls_x509_crt_parse_file(&c->chain, cert_file);
	if (rc != 0) {
		fmt_err(err, errlen, "loading certificate", cert_file, rc);
		return -1;
	}
	rc = tc_pk_parse_keyfile(&c->key, key_file, tls_rng_ctx());
	if (rc != 0) {
		fmt_err(err, errlen, "loading key", key_file, rc);
		return -1;
	}
	rc = tc_pk_check_pair(&c->chain.pk, &c->key, tls_rng_ctx());
	if (rc != 0) {
		fmt_err(err, errlen, "key does not match certificate", cert_file, rc);
		return -1;
	}
	if (collect_names(c) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	unsigned char h[32];
	tc_sha256(c->chain.raw.p, c->chain.raw.len, h);
	for (int i = 0; i < 32; i++)
		snprintf(c->fingerprint + i * 3, 4, "%02X%s", h[i], i < 31 ? ":" : "");
	return 0;
}

static struct tls_gen *gen_build(const struct tls_server *t, char *err, size_t errlen)
{
	struct tls_gen *g = calloc(1, sizeof *g);
	if (!g || !(g->certs = calloc(t->nfiles, sizeof *g->certs))) {
		free(g);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	g->refs = 1;
	mbedtls_ssl_config_init(&g->conf[TLS_PROFILE_CLIENTS]);
	mbedtls_ssl_config_init(&g->conf[TLS_PROFILE_MTA]);
	for (size_t i = 0; i < t->nfiles; i++) {
		mbedtls_x509_crt_init(&g->certs[i].chain);
		mbedtls_pk_init(&g->certs[i].key);
	}
	g->ncerts = t->nfiles;
	for (size_t i = 0; i < t->nfiles; i++)
		if (load_cert(&g->certs[i], t->cert_files[i], t->key_files[i], err, errlen) != 0)
			goto fail;

	/* One configuration per profile, sharing the certificates. */
	for (int p = TLS_PROFILE_CLIENTS; p <= TLS_PROFILE_MTA; p++) {
		mbedtls_ssl_config *conf = &g->conf[p];
		int rc = mbedtls_ssl_config_defaults(conf, MBEDTLS_SSL_IS_SERVER,
		                                     MBEDTLS_SSL_TRANSPORT_STREAM,
		                                     MBEDTLS_SSL_PRESET_DEFAULT);
		if (rc != 0) {
			fmt_err(err, errlen, "ssl config", "", rc);
			goto fail;
		}
		tc_conf_min_tls12(conf);
		mbedtls_ssl_conf_ciphersuites(conf, tls_suites((enum tls_profile)p));
		mbedtls_ssl_conf_rng(conf, mbedtls_ctr_drbg_random, tls_rng_ctx());
		rc = mbedtls_ssl_conf_own_cert(conf, &g->certs[0].chain, &g->certs[0].key);
		if (rc != 0) {
			fmt_err(err, errlen, "installing certificate", t->cert_files[0], rc);
			goto fail;
		}
		mbedtls_ssl_conf_sni(conf, sni_cb, g);
#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && defined(MBEDTLS_SSL_ALPN)
		if (alpn_fn) {
			if ((rc = mbedtls_ssl_conf_alpn_protocols(conf, alpn_list)) != 0) {
				fmt_err(err, errlen, "ssl config", "alpn", rc);
				goto fail;
			}
			mbedtls_ssl_conf_cert_cb(conf, cert_cb);
		}
#endif
	}
	return g;
fail:
	gen_unref(g);
	return NULL;
}

/* ---- the server ---- */

static void server_free_files(struct tls_server *t)
{
	for (size_t i = 0; i < t->nfiles; i++) {
		free(t->cert_files[i]);
		free(t->key_files[i]);
	}
	free(t->cert_files);
	free(t->key_files);
	free(t->selfsigned_dir);
	free(t->hostname);
}

static int mkdir_p(const char *path)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp)
		return -1;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

int tls_server_create(struct tls_server **out, const struct tls_cert_spec *certs, size_t ncerts,
                      const char *data_dir, const char *hostname, char *err, size_t errlen)
{
	*out = NULL;
	if (tls_rng_init(err, errlen) != 0)
		return -1;
	struct tls_server *t = calloc(1, sizeof *t);
	if (!t)
		goto oom;
	size_t n = ncerts ? ncerts : 1;
	t->cert_files = calloc(n, sizeof(char *));
	t->key_files = calloc(n, sizeof(char *));
	t->hostname = strdup(hostname && *hostname ? hostname : "localhost");
	if (!t->cert_files || !t->key_files || !t->hostname)
		goto oom;
	t->nfiles = n;
	if (ncerts == 0) {
		char dir[4096];
		snprintf(dir, sizeof dir, "%s/tls", data_dir ? data_dir : ".");
		if (mkdir_p(dir) != 0) {
			snprintf(err, errlen, "creating %s: %s", dir, strerror(errno));
			goto fail;
		}
		if (!(t->selfsigned_dir = strdup(dir)))
			goto oom;
		if (asprintf(&t->cert_files[0], "%s/selfsigned.crt", dir) < 0 ||
		    asprintf(&t->key_files[0], "%s/selfsigned.key", dir) < 0) {
			t->cert_files[0] = t->key_files[0] = NULL;
			goto oom;
		}
		if (tls_selfsigned_ensure(dir, t->hostname, err, errlen) != 0)
			goto fail;
	} else {
		for (size_t i = 0; i < ncerts; i++) {
			t->cert_files[i] = strdup(certs[i].cert_file);
			t->key_files[i] = strdup(certs[i].key_file);
			if (!t->cert_files[i] || !t->key_files[i])
				goto oom;
		}
	}
	if (!(t->gen = gen_build(t, err, errlen)))
		goto fail;
	*out = t;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	if (t) {
		server_free_files(t);
		free(t);
	}
	return -1;
}

int tls_server_set_certs(struct tls_server *t, const struct tls_cert_spec *certs, size_t ncerts,
                         char *err, size_t errlen)
{
	if (ncerts == 0) {
		snprintf(err, errlen, "no certificate given");
		return -1;
	}
	/* The new file lists in a scratch server, so a failure changes nothing. */
	struct tls_server n = {0};
	n.cert_files = calloc(ncerts, sizeof(char *));
	n.key_files = calloc(ncerts, sizeof(char *));
	n.nfiles = ncerts;
	bool ok = n.cert_files && n.key_files;
	for (size_t i = 0; ok && i < ncerts; i++) {
		n.cert_files[i] = strdup(certs[i].cert_file);
		n.key_files[i] = strdup(certs[i].key_file);
		ok = n.cert_files[i] && n.key_files[i];
	}
	struct tls_gen *g = NULL;
	if (!ok)
		snprintf(err, errlen, "out of memory");
	else
		g = gen_build(&n, err, errlen);
	if (!g) {
		if (!n.cert_files || !n.key_files)
			n.nfiles = 0;
		server_free_files(&n);
		return -1;
	}
	n.hostname = t->hostname; /* kept: the self-signed fallback's name */
	t->hostname = NULL;
	server_free_files(t);
	t->cert_files = n.cert_files;
	t->key_files = n.key_files;
	t->nfiles = n.nfiles;
	t->selfsigned_dir = NULL;
	t->hostname = n.hostname;
	gen_unref(t->gen);
	t->gen = g;
	return 0;
}

int tls_server_reload(struct tls_server *t, char *err, size_t errlen)
{
	if (t->selfsigned_dir &&
	    tls_selfsigned_ensure(t->selfsigned_dir, t->hostname, err, errlen) != 0)
		return -1;
	struct tls_gen *g = gen_build(t, err, errlen);
	if (!g)
		return -1;
	gen_unref(t->gen);
	t->gen = g;
	return 0;
}

void tls_server_free(struct tls_server **tp)
{
	struct tls_server *t = *tp;
	if (!t)
		return;
	gen_unref(t->gen);
	server_free_files(t);
	free(t);
	*tp = NULL;
}

size_t tls_server_cert_count(const struct tls_server *t)
{
	return t->gen->ncerts;
}

const char *tls_server_cert_file(const struct tls_server *t, size_t i)
{
	return i < t->nfiles ? t->cert_files[i] : NULL;
}

size_t tls_server_fingerprints(const struct tls_server *t, char out[][96], size_t max)
{
	size_t n = t->gen->ncerts < max ? t->gen->ncerts : max;
	for (size_t i = 0; i < n; i++)
		memcpy(out[i], t->gen->certs[i].fingerprint, 96);
	return n;
}

/* ---- sessions ---- */

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct tls_session *s = ctx;
	if (s->out(s->out_ctx, buf, len) != 0)
		return MBEDTLS_ERR_SSL_INTERNAL_ERROR;
	return (int)len;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	struct tls_session *s = ctx;
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

/* One session type serves both roles: the server passes its current
 * certificate generation, the outbound client its own config. */
static struct tls_session *session_new(const mbedtls_ssl_config *conf, const char *host,
                                       tls_out_fn out, void *ctx)
{
	struct tls_session *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	mbedtls_ssl_init(&s->ssl);
	if (mbedtls_ssl_setup(&s->ssl, conf) != 0 ||
	    (host && *host && mbedtls_ssl_set_hostname(&s->ssl, host) != 0)) {
		mbedtls_ssl_free(&s->ssl);
		free(s);
		return NULL;
	}
	s->out = out;
	s->out_ctx = ctx;
	mbedtls_ssl_set_bio(&s->ssl, s, bio_send, bio_recv, NULL);
	return s;
}

struct tls_session *tls_session_new(struct tls_server *t, enum tls_profile profile, tls_out_fn out,
                                    void *ctx)
{
	struct tls_session *s = session_new(&t->gen->conf[profile], NULL, out, ctx);
	if (s) {
		s->gen = t->gen;
		s->gen->refs++;
	}
	return s;
}

struct tls_session *tls_session_new_client(const mbedtls_ssl_config *conf, const char *host,
                                           tls_out_fn out, void *ctx)
{
	return session_new(conf, host, out, ctx);
}

bool tls_session_verified(const struct tls_session *s)
{
	return mbedtls_ssl_get_verify_result(&s->ssl) == 0;
}

const char *tls_session_verify_problem(const struct tls_session *s)
{
	uint32_t f = mbedtls_ssl_get_verify_result(&s->ssl);
	if (f == 0)
		return NULL;
	if (f & MBEDTLS_X509_BADCERT_EXPIRED)
		return "certificate-expired";
	if (f & MBEDTLS_X509_BADCERT_CN_MISMATCH)
		return "certificate-host-mismatch";
	if (f & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
		return "certificate-not-trusted";
	return "validation-failure";
}

int tls_session_dane_check(const struct tls_session *s, const struct dane_tlsa *recs, size_t n,
                           const char *host, const char **why)
{
	return (int)dane_match_chain(recs, n, mbedtls_ssl_get_peer_cert(&s->ssl), host, why);
}

void tls_session_free(struct tls_session *s)
{
	if (!s)
		return;
	mbedtls_ssl_free(&s->ssl);
	gen_unref(s->gen);
	free(s->in);
	free(s);
}

void tls_session_in_space(struct tls_session *s, char **buf, size_t *len)
{
	if (!s->in && !(s->in = malloc(TLS_IN_CAP))) {
		*buf = NULL;
		*len = 0;
		return;
	}
	if (s->in_r > 0 && s->in_w == TLS_IN_CAP) {
		memmove(s->in, s->in + s->in_r, s->in_w - s->in_r);
		s->in_w -= s->in_r;
		s->in_r = 0;
	}
	*buf = (char *)s->in + s->in_w;
	*len = TLS_IN_CAP - s->in_w;
}

void tls_session_release_input(struct tls_session *s)
{
	if (s->in && s->in_r == s->in_w) {
		free(s->in);
		s->in = NULL;
		s->in_r = s->in_w = 0;
	}
}

/* Give back the resident pages of one record buffer: from a page boundary
 * past its first 64 bytes (2.28 keeps the record sequence number at its
 * start) to the last page boundary inside it. The memory stays allocated;
 * the kernel hands zeroed pages back when mbedTLS next writes there. */
static void discard_pages(unsigned char *buf, size_t len)
{
	static uintptr_t page;
	if (!page)
		page = (uintptr_t)sysconf(_SC_PAGESIZE);
	if (!buf)
		return;
	uintptr_t lo = ((uintptr_t)buf + 64 + page - 1) & ~(page - 1);
	uintptr_t hi = ((uintptr_t)buf + len) & ~(page - 1);
	if (hi > lo)
		madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

bool tls_session_trim_idle(struct tls_session *s)
{
	mbedtls_ssl_context *ssl = &s->ssl;
	/* Only between records: nothing received and not yet processed, no
	 * plaintext waiting to be read, nothing waiting to be sent. */
	if (TC_FIELD(ssl, state) != MBEDTLS_SSL_HANDSHAKE_OVER || TC_FIELD(ssl, in_left) ||
	    TC_FIELD(ssl, in_offt) || TC_FIELD(ssl, out_left) || (s->in && s->in_r != s->in_w))
		return false;
	tls_session_release_input(s);
	discard_pages(TC_FIELD(ssl, in_buf), MBEDTLS_SSL_IN_CONTENT_LEN);
	discard_pages(TC_FIELD(ssl, out_buf), MBEDTLS_SSL_OUT_CONTENT_LEN);
	return true;
}

void tls_session_in_commit(struct tls_session *s, size_t n)
{
	s->in_w += n;
}

static void set_error(struct tls_session *s, int rc)
{
	char e[128];
	mbedtls_strerror(rc, e, sizeof e);
	snprintf(s->error, sizeof s->error, "%s (-0x%04x)", e, (unsigned)-rc);
}

int tls_session_handshake(struct tls_session *s)
{
	int rc = mbedtls_ssl_handshake(&s->ssl);
#if MBEDTLS_VERSION_NUMBER < 0x03000000 && defined(MBEDTLS_SSL_EXTENDED_MASTER_SECRET)
	if (s->ssl.handshake)
		s->ems = s->ssl.handshake->extended_ms == MBEDTLS_SSL_EXTENDED_MS_ENABLED;
#endif
	if (rc == 0 && is_acme_alpn(&s->ssl)) {
		/* A tls-alpn-01 validation: the certificate was the answer. */
		mbedtls_ssl_close_notify(&s->ssl);
		snprintf(s->error, sizeof s->error, "tls-alpn-01 challenge answered, closing");
		return -1;
	}
	if (rc == 0)
		return 0;
	if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
		return TLS_AGAIN;
	set_error(s, rc);
	return -1;
}

ssize_t tls_session_read(struct tls_session *s, void *buf, size_t len)
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
			continue; /* client side only, but harmless to absorb */
#endif
		default:
			set_error(s, rc);
			return -1;
		}
	}
}

int tls_session_write(struct tls_session *s, const void *data, size_t len)
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
			continue; /* our send never blocks; retry the record */
		set_error(s, rc);
		return -1;
	}
	return 0;
}

void tls_session_close_notify(struct tls_session *s)
{
	(void)mbedtls_ssl_close_notify(&s->ssl);
}

const char *tls_session_error(const struct tls_session *s)
{
	return s->error[0] ? s->error : "unknown";
}

const char *tls_session_channel_binding(struct tls_session *s, unsigned char *out, size_t cap,
                                        size_t *len)
{
	if (TC_FIELD(&s->ssl, state) != MBEDTLS_SSL_HANDSHAKE_OVER)
		return NULL;
#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && defined(MBEDTLS_SSL_KEYING_MATERIAL_EXPORT)
	if (mbedtls_ssl_get_version_number(&s->ssl) == MBEDTLS_SSL_VERSION_TLS1_3) {
		static const char label[] = "EXPORTER-Channel-Binding";
		if (cap < 32 || mbedtls_ssl_export_keying_material(
		                    &s->ssl, out, 32, label, sizeof label - 1, NULL, 0, 0) != 0)
			return NULL;
		*len = 32;
		return "tls-exporter";
	}
#endif
#if MBEDTLS_VERSION_NUMBER < 0x03000000 && defined(MBEDTLS_SSL_RENEGOTIATION)
	size_t n = s->ssl.verify_data_len;
	if (s->ems && n > 0 && n <= cap && !strcmp(mbedtls_ssl_get_version(&s->ssl), "TLSv1.2")) {
		memcpy(out, s->ssl.peer_verify_data, n);
		*len = n;
		return "tls-unique";
	}
#endif
	(void)out;
	(void)cap;
	(void)len;
	return NULL;
}

const char *tls_session_version(const struct tls_session *s)
{
	return mbedtls_ssl_get_version(&s->ssl);
}

/* mbedTLS names suites "TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256" and
 * "TLS1-3-AES-128-GCM-SHA256"; IANA uses underscores and "TLS_" for both. */
const char *tls_session_cipher(struct tls_session *s)
{
	const char *m = mbedtls_ssl_get_ciphersuite(&s->ssl);
	if (!m)
		return NULL;
	if (strncmp(m, "TLS1-3-", 7) == 0)
		snprintf(s->cipher, sizeof s->cipher, "TLS_%s", m + 7);
	else
		snprintf(s->cipher, sizeof s->cipher, "%s", m);
	for (char *p = s->cipher; *p; p++)
		if (*p == '-')
			*p = '_';
	return s->cipher;
}

const char *tls_session_sni(const struct tls_session *s)
{
	return s->sni[0] ? s->sni : NULL;
}
