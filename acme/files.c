/* files: atomic writes and certificate checks for acme/ (files.h).
 *
 * Why the checks: a certificate the CA sent is installed into every TLS
 * listener at once, so it is parsed, matched against the key it was
 * ordered with and against the names it was ordered for before it is
 * written; the same check decides at startup whether what is on disk can
 * be served or must be ordered again. */
#include "acme/files.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/error.h>
#include <mbedtls/oid.h>

#include "tls/rng.h"
#include "tls/tls_compat.h"

#define MAX_FILE (1u << 20)

int acme_mkdir_p(const char *path)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
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

static time_t x509_time(const mbedtls_x509_time *t)
{
	struct tm tm = {.tm_year = t->year - 1900,
	                .tm_mon = t->mon - 1,
	                .tm_mday = t->day,
	                .tm_hour = t->hour,
	                .tm_min = t->min,
	                .tm_sec = t->sec};
	return timegm(&tm);
}

static bool leaf_has_name(const mbedtls_x509_crt *leaf, const char *name)
{
	size_t n = strlen(name);
	for (const mbedtls_x509_sequence *s = &leaf->subject_alt_names; s; s = s->next)
		if (s->buf.p && s->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2) &&
		    s->buf.len == n && strncasecmp((const char *)s->buf.p, name, n) == 0)
			return true;
	return false;
}

static void mbed_err(char *err, size_t errlen, const char *what, int rc)
{
	char e[128];
	mbedtls_strerror(rc, e, sizeof e);
	snprintf(err, errlen, "%s: %s", what, e);
}

int acme_cert_check_pem(const char *chain, size_t len, const char *key_pem, size_t key_len,
                        char *const *domains, size_t ndomains, time_t *not_before,
                        time_t *not_after, char *err, size_t errlen)
{
	mbedtls_x509_crt crt;
	mbedtls_pk_context key;
	mbedtls_x509_crt_init(&crt);
	mbedtls_pk_init(&key);
	int ret = -1;
	/* mbedTLS wants the NUL counted in a PEM buffer's length. */
	int rc = mbedtls_x509_crt_parse(&crt, (const unsigned char *)chain, len + 1);
	if (rc != 0) {
		mbed_err(err, errlen, rc > 0 ? "certificate chain has bad parts" : "certificate",
		         rc);
		goto out;
	}
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
	rc = mbedtls_pk_parse_key(&key, (const unsigned char *)key_pem, key_len + 1, NULL, 0,
	                          mbedtls_ctr_drbg_random, tls_rng_ctx());
#else
	rc = mbedtls_pk_parse_key(&key, (const unsigned char *)key_pem, key_len + 1, NULL, 0);
#endif
	if (rc != 0) {
		mbed_err(err, errlen, "key", rc);
		goto out;
	}
	if ((rc = tc_pk_check_pair(&crt.pk, &key, tls_rng_ctx())) != 0) {
		mbed_err(err, errlen, "key does not match the certificate", rc);
		goto out;
	}
	for (size_t i = 0; i < ndomains; i++)
		if (!leaf_has_name(&crt, domains[i])) {
			snprintf(err, errlen, "certificate does not name %s", domains[i]);
			goto out;
		}
	*not_before = x509_time(&crt.valid_from);
	*not_after = x509_time(&crt.valid_to);
	ret = 0;
out:
	mbedtls_x509_crt_free(&crt);
	mbedtls_pk_free(&key);
	return ret;
}

/* The whole file, NUL-terminated; NULL with err. */
static char *slurp(const char *path, size_t *len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	char *buf = malloc(MAX_FILE + 1);
	size_t n = 0;
	while (buf && n < MAX_FILE) {
		ssize_t k = read(fd, buf + n, MAX_FILE - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

int acme_cert_check_files(const char *crt_path, const char *key_path, char *const *domains,
                          size_t ndomains, time_t *not_before, time_t *not_after, char *err,
                          size_t errlen)
{
	size_t clen = 0, klen = 0;
	char *c = slurp(crt_path, &clen, err, errlen);
	if (!c)
		return -1;
	char *k = slurp(key_path, &klen, err, errlen);
	int rc = -1;
	if (k)
		rc = acme_cert_check_pem(c, clen, k, klen, domains, ndomains, not_before, not_after,
		                         err, errlen);
	if (k) {
		memset(k, 0, klen);
		free(k);
	}
	free(c);
	return rc;
}
