/* arc_tool: mailauth/arc.h on files, for the dkimpy round trip
 * (tests/integration/test_arc_dkimpy.py).
 *
 *   arc_tool seal --key FILE --alg rsa-sha256|ed25519-sha256 --domain D
 *                 --selector S --authres TEXT [--dns FILE] [--chain C]
 *                 [--time T] < message > message with the new set on top
 *       the chain status is --chain (none, pass or fail: what was found
 *       before the message was changed), or comes from verifying the
 *       message with --dns (none without either); exit 3 when the message
 *       must not be sealed
 *   arc_tool verify --dns FILE [--time T] < message
 *       one line "RESULT n=N oldest-pass=K failed=I reason"
 *       (exit 0 on pass, 1 otherwise)
 *
 * Key and DNS files as dkim_tool's (tests/tools/dkim_dnsfile.h). */
#include "mailauth/arc.h"
#include "tests/tools/dkim_dnsfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int usage(void)
{
	fprintf(stderr, "usage: arc_tool seal|verify [options] (see the source)\n");
	return 2;
}

static struct arc_verify *verify(const char *msg, size_t len, const struct dnsfile *d, int64_t now)
{
	struct arc_verify *v = arc_verify_new(now);
	if (!v)
		return NULL;
	arc_verify_feed(v, msg, len);
	arc_verify_end(v);
	for (size_t k = 0; k < arc_verify_query_count(v); k++) {
		const char *txt[DNSFILE_MAX];
		size_t tl[DNSFILE_MAX], n = 0;
		enum dkim_dns st = dnsfile_lookup(d, arc_verify_query(v, k), txt, tl, &n);
		arc_verify_key(v, k, st, txt, tl, n);
	}
	return v;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	const char *mode = argv[1], *keyp = NULL, *alg = "rsa-sha256", *domain = "example.com",
	           *selector = "test", *dns = NULL, *authres = NULL, *chain_arg = NULL;
	int64_t now = (int64_t)time(NULL);
	for (int i = 2; i + 1 < argc; i += 2) {
		const char *o = argv[i], *val = argv[i + 1];
		if (strcmp(o, "--key") == 0)
			keyp = val;
		else if (strcmp(o, "--alg") == 0)
			alg = val;
		else if (strcmp(o, "--domain") == 0)
			domain = val;
		else if (strcmp(o, "--selector") == 0)
			selector = val;
		else if (strcmp(o, "--dns") == 0)
			dns = val;
		else if (strcmp(o, "--chain") == 0)
			chain_arg = val;
		else if (strcmp(o, "--authres") == 0)
			authres = val;
		else if (strcmp(o, "--time") == 0)
			now = strtoll(val, NULL, 10);
		else
			return usage();
	}
	struct dnsfile d = {0};
	if (dns && dnsfile_load(&d, dns) < 0)
		return usage();
	size_t len;
	char *msg = dnsfile_read_all(stdin, &len);
	if (!msg)
		return 1;
	int rc = 1;
	if (strcmp(mode, "verify") == 0) {
		struct arc_verify *v = dns ? verify(msg, len, &d, now) : NULL;
		if (!v)
			return usage();
		const struct arc_result *r = arc_verify_result(v);
		printf("%s n=%u oldest-pass=%u failed=%u %s\n", arc_status_name(r->status),
		       r->instances, r->oldest_pass, r->failed, r->reason ? r->reason : "");
		rc = r->status == ARC_PASS ? 0 : 1;
		arc_verify_free(&v);
	} else if (strcmp(mode, "seal") == 0 && keyp && authres) {
		char err[200];
		char *text = dnsfile_slurp(keyp, NULL);
		struct dkim_signing_key *k =
		    text ? dkim_signing_key_load(alg, text, err, sizeof err) : NULL;
		free(text);
		if (!k) {
			fprintf(stderr, "arc_tool: cannot load %s\n", keyp);
			return 1;
		}
		enum arc_status chain = ARC_NONE;
		if (chain_arg) {
			chain = strcmp(chain_arg, "pass") == 0   ? ARC_PASS
			        : strcmp(chain_arg, "fail") == 0 ? ARC_FAIL
			                                         : ARC_NONE;
		} else if (dns) {
			struct arc_verify *v = verify(msg, len, &d, now);
			chain = v ? arc_verify_result(v)->status : ARC_FAIL;
			arc_verify_free(&v);
		}
		struct buf out = {0};
		int s = arc_seal(k, domain, selector, now, NULL, 0, chain, authres, msg, len, &out,
		                 err, sizeof err);
		if (s == 0) {
			fwrite(out.data, 1, out.len, stdout);
			fwrite(msg, 1, len, stdout);
			rc = 0;
		} else if (s == 1) {
			rc = 3;
		} else {
			fprintf(stderr, "arc_tool: %s\n", err);
		}
		buf_free(&out);
		dkim_signing_key_free(&k);
	} else {
		rc = usage();
	}
	dnsfile_free(&d);
	free(msg);
	return rc;
}
