/* revoke: `tern acme revoke DOMAIN` (acme.h, RFC 8555 §7.6).
 *
 * Why a loop of its own: the CLI runs in its own process, not in the
 * server's, so it runs one order (order.c, in its revocation mode: the
 * same directory, nonce and account steps, then revokeCert signed with
 * the account key) on the default loop until it finishes. Files are
 * deleted only after the CA confirmed; the server orders a replacement on
 * its next start or at once on SIGHUP (acme_recheck()). */
#include "acme/acme.h"
#include "acme/jws.h"
#include "acme/order.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/x509_crt.h>

#include "tls/rng.h"
#include "tls/tls_client.h"

struct result {
	bool done;
	char err[700];
};

static void on_done(void *ud, const char *err, time_t nb, time_t na)
{
	(void)nb, (void)na;
	struct result *r = ud;
	r->done = true;
	snprintf(r->err, sizeof r->err, "%s", err ? err : "");
}

static const struct acme_entry_config *find_entry(const struct acme_entry_config *entries, size_t n,
                                                  const char *domain, char *first, size_t firstlen)
{
	for (size_t i = 0; i < n; i++) {
		char buf[sizeof entries[i].domains], *names[32];
		int k = acme_split_domains(entries[i].domains, buf, sizeof buf, names, 32);
		for (int j = 0; j < k; j++)
			if (strcasecmp(names[j], domain) == 0) {
				snprintf(first, firstlen, "%s", names[0]);
				return &entries[i];
			}
	}
	return NULL;
}

int acme_revoke(const struct acme_entry_config *entries, size_t n, const char *data_dir,
                const char *domain, char *err, size_t errlen)
{
	char first[256], crt_path[1200], key_path[1200], acct_path[1200];
	const struct acme_entry_config *e = find_entry(entries, n, domain, first, sizeof first);
	if (!e) {
		snprintf(err, errlen, "no [[tls.acme]] entry names %s", domain);
		return -1;
	}
	snprintf(crt_path, sizeof crt_path, "%s/acme/%s.crt", data_dir, first);
	snprintf(key_path, sizeof key_path, "%s/acme/%s.key", data_dir, first);
	snprintf(acct_path, sizeof acct_path, "%s/acme/account.key", data_dir);
	if (access(acct_path, R_OK) != 0) {
		snprintf(err, errlen, "no account key %s: %s", acct_path, strerror(errno));
		return -1;
	}
	if (tls_rng_init(err, errlen) != 0)
		return -1;

	int ret = -1;
	struct acme_key key;
	memset(&key, 0, sizeof key);
	mbedtls_x509_crt crt;
	mbedtls_x509_crt_init(&crt);
	struct acme_account acct;
	memset(&acct, 0, sizeof acct);
	if (acme_key_load_or_create(&key, acct_path, err, errlen) != 0)
		goto out;
	if (mbedtls_x509_crt_parse_file(&crt, crt_path) != 0) {
		snprintf(err, errlen, "no readable certificate %s", crt_path);
		goto out;
	}
	snprintf(acct.directory, sizeof acct.directory, "%s", e->directory);
	snprintf(acct.contact, sizeof acct.contact, "%s", e->contact);
	acct.key = &key;
	if (tls_client_ctx_new(&acct.tls, true, e->ca_file[0] ? e->ca_file : NULL, err, errlen) !=
	    0)
		goto out;
	char *names[1] = {first};
	struct acme_order_params p = {
	    .domains = names, .ndomains = 1, .revoke_der = crt.raw.p, .revoke_len = crt.raw.len};
	struct result r = {0};
	uv_loop_t *loop = uv_default_loop();
	if (!acme_order_start(loop, &acct, &p, on_done, &r)) {
		snprintf(err, errlen, "the revocation could not start");
		goto out_tls;
	}
	uv_run(loop, UV_RUN_DEFAULT); /* until the order's handles are closed */
	if (!r.done || r.err[0]) {
		snprintf(err, errlen, "%s", r.done ? r.err : "the revocation did not finish");
		goto out_tls;
	}
	if ((unlink(crt_path) != 0 && errno != ENOENT) ||
	    (unlink(key_path) != 0 && errno != ENOENT)) {
		snprintf(err, errlen, "revoked, but deleting %s: %s", crt_path, strerror(errno));
		goto out_tls;
	}
	ret = 0;
out_tls:
	tls_client_ctx_free(&acct.tls);
out:
	acme_key_free(&key); /* safe on the zeroed key too */
	mbedtls_x509_crt_free(&crt);
	return ret;
}
