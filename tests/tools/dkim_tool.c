/* dkim_tool: mailauth/dkim.h on files, for tests and measurements.
 *
 *   dkim_tool sign --key FILE --alg rsa-sha256|ed25519-sha256 --domain D
 *                  --selector S [--canon simple|relaxed/simple|relaxed]
 *                  [--time T] < message > signed message
 *   dkim_tool verify --dns FILE [--time T] < message
 *       one line per signature: "RESULT d=D s=S l=L uncovered=N reason"
 *       (exit 0 when at least one signature passes, 1 otherwise)
 *   dkim_tool bench --key FILE --alg A [--key FILE --alg A] [--n N]
 *       signs a 4 KiB message N times with each key (dual signing) and
 *       prints signatures per second of CPU time
 *
 * The key file holds what the store keeps (admin/dkim.c): PEM for RSA,
 * the base64 seed for Ed25519. The DNS file: tests/tools/dkim_dnsfile.h. */
#include "mailauth/dkim.h"
#include "tests/tools/dkim_dnsfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int usage(void)
{
	fprintf(stderr, "usage: dkim_tool sign|verify|bench [options] (see the source)\n");
	return 2;
}

static struct dkim_signing_key *load_key(const char *path, const char *alg)
{
	char *text = dnsfile_slurp(path, NULL), err[200];
	if (!text) {
		fprintf(stderr, "dkim_tool: cannot read %s\n", path);
		return NULL;
	}
	struct dkim_signing_key *k = dkim_signing_key_load(alg, text, err, sizeof err);
	free(text);
	if (!k)
		fprintf(stderr, "dkim_tool: %s: %s\n", path, err);
	return k;
}

static int parse_canon(const char *s, struct dkim_sign_opts *o)
{
	char h[16] = "", b[16] = "";
	if (sscanf(s, "%15[a-z]/%15[a-z]", h, b) != 2)
		return -1;
	o->header_canon = strcmp(h, "simple") == 0 ? DKIM_CANON_SIMPLE : DKIM_CANON_RELAXED;
	o->body_canon = strcmp(b, "simple") == 0 ? DKIM_CANON_SIMPLE : DKIM_CANON_RELAXED;
	return 0;
}

static double cpu_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	const char *mode = argv[1], *keyp[2] = {0}, *alg[2] = {0}, *domain = "example.com",
	           *selector = "test", *dns = NULL;
	int nkeys = 0, nalg = 0;
	long n = 1000;
	int64_t now = (int64_t)time(NULL);
	struct dkim_sign_opts opts = {DKIM_CANON_RELAXED, DKIM_CANON_RELAXED};
	for (int i = 2; i + 1 < argc; i += 2) {
		const char *o = argv[i], *v = argv[i + 1];
		if (strcmp(o, "--key") == 0 && nkeys < 2)
			keyp[nkeys++] = v;
		else if (strcmp(o, "--alg") == 0 && nalg < 2)
			alg[nalg++] = v;
		else if (strcmp(o, "--domain") == 0)
			domain = v;
		else if (strcmp(o, "--selector") == 0)
			selector = v;
		else if (strcmp(o, "--dns") == 0)
			dns = v;
		else if (strcmp(o, "--time") == 0)
			now = strtoll(v, NULL, 10);
		else if (strcmp(o, "--n") == 0)
			n = strtol(v, NULL, 10);
		else if (strcmp(o, "--canon") == 0 && parse_canon(v, &opts) == 0)
			;
		else
			return usage();
	}
	if (strcmp(mode, "verify") == 0) {
		struct dnsfile d;
		if (!dns || dnsfile_load(&d, dns) < 0)
			return usage();
		size_t len;
		char *msg = dnsfile_read_all(stdin, &len);
		struct dkim_verify *v = dkim_verify_new(now, DKIM_VERIFY_MAX_SIGS);
		if (!msg || !v)
			return 1;
		dkim_verify_feed(v, msg, len);
		dkim_verify_end(v);
		int pass = 0;
		if (dkim_verify_error(v))
			printf("error %s\n", dkim_verify_error(v));
		for (size_t i = 0; i < dkim_verify_count(v); i++)
			dnsfile_answer(&d, v, i);
		for (size_t i = 0; i < dkim_verify_count(v); i++) {
			const struct dkim_sig_result *r = dkim_verify_result(v, i);
			pass += r->result == DKIM_PASS;
			printf("%s d=%s s=%s l=%s%llu uncovered=%llu %s\n",
			       dkim_result_name(r->result), r->domain, r->selector,
			       r->has_l ? "" : "-", (unsigned long long)r->l,
			       (unsigned long long)r->body_uncovered, r->reason);
		}
		dkim_verify_free(&v);
		dnsfile_free(&d);
		free(msg);
		return pass ? 0 : 1;
	}
	if (nkeys == 0 || nkeys != nalg)
		return usage();
	struct dkim_signing_key *key[2] = {0};
	for (int i = 0; i < nkeys; i++)
		if (!(key[i] = load_key(keyp[i], alg[i])))
			return 1;
	char err[200];
	int rc = 0;
	if (strcmp(mode, "sign") == 0) {
		size_t len;
		char *msg = dnsfile_read_all(stdin, &len);
		struct buf out = {0};
		for (int i = 0; msg && i < nkeys && rc == 0; i++)
			rc = dkim_sign(key[i], domain, selector, now, &opts, msg, len, &out, err,
			               sizeof err);
		if (rc == 0 && msg) {
			fwrite(out.data, 1, out.len, stdout);
			fwrite(msg, 1, len, stdout);
		} else {
			fprintf(stderr, "dkim_tool sign: %s\n", err);
			rc = 1;
		}
		buf_free(&out);
		free(msg);
	} else if (strcmp(mode, "bench") == 0) {
		/* a 4 KiB message: a few headers and lines of text */
		struct buf msg = {0};
		buf_adds(&msg, "From: Alice <alice@example.com>\r\nTo: bob@example.net\r\n"
		               "Subject: benchmark\r\nDate: Sun, 6 Dec 2026 18:00:00 +0000\r\n"
		               "Message-ID: <bench@example.com>\r\nMIME-Version: 1.0\r\n"
		               "Content-Type: text/plain; charset=utf-8\r\n\r\n");
		while (msg.len < 4096 - 72)
			buf_adds(
			    &msg,
			    "The quick brown fox jumps over the lazy dog, again and   again. \r\n");
		double t0 = cpu_seconds();
		struct buf out = {0};
		for (long k = 0; k < n && rc == 0; k++) {
			for (int i = 0; i < nkeys && rc == 0; i++) {
				buf_reset(&out);
				rc = dkim_sign(key[i], domain, selector, now, &opts, msg.data,
				               msg.len, &out, err, sizeof err);
			}
		}
		double dt = cpu_seconds() - t0;
		printf("%ld messages of %zu bytes, %d signature%s each (%s%s%s): %.3f ms CPU per "
		       "message, %.0f messages/s per core\n",
		       n, msg.len, nkeys, nkeys > 1 ? "s" : "", alg[0], nkeys > 1 ? " + " : "",
		       nkeys > 1 ? alg[1] : "", dt * 1000 / (double)n, (double)n / dt);
		buf_free(&out);
		buf_free(&msg);
	} else {
		rc = usage();
	}
	for (int i = 0; i < nkeys; i++)
		dkim_signing_key_free(&key[i]);
	return rc;
}
