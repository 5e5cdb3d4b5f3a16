/* acme: the certificates of [[tls.acme]], their timers and their files
 * (acme.h).
 *
 * Why a timer per certificate and nothing else: the only events are "due"
 * (missing, expiring, or a retry after a failure) and "an order ended".
 * Due starts an order; an ended order either installs the certificate and
 * sets the next due time at two thirds of its lifetime, or sets a retry
 * with backoff. A certificate that is still valid stays in use while its
 * renewal fails. The environment variable TERN_ACME_TEST_RETRY_MS (tests
 * only, undocumented) replaces the first retry delay of one minute. */
#include "acme/acme.h"
#include "acme/alpn.h"
#include "acme/files.h"
#include "acme/jws.h"
#include "acme/order.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "lib/metrics.h"
#include "tls/tls_client.h"

#define RETRY_FIRST_MS (60 * 1000)
#define RETRY_MAX_MS (6 * 3600 * 1000)
#define MAX_ENTRIES 16
#define MAX_NAMES 32

struct acme_cert {
	const struct acme_entry_config *cfg;
	struct acme_account acct;
	char names_buf[1024];
	char *names[MAX_NAMES];
	size_t nnames;
	char crt_path[1200], key_path[1200];
	struct acme_order_params params;
	struct acme_order *order;
	uv_timer_t timer;
	bool have; /* a servable certificate is on disk */
	time_t nb, na;
	uint64_t backoff_ms;
};

static struct {
	struct acme_services svc;
	struct acme_key key;
	bool key_loaded;
	struct acme_cert certs[MAX_ENTRIES];
	size_t n;
	uint64_t retry_first_ms;
	bool started;
} A;

int acme_split_domains(const char *list, char *buf, size_t buflen, char **names, size_t max)
{
	size_t len = strlen(list);
	if (len >= buflen)
		return -1;
	memcpy(buf, list, len + 1);
	size_t n = 0;
	for (char *save = NULL, *t = strtok_r(buf, ", \t", &save); t;
	     t = strtok_r(NULL, ", \t", &save)) {
		size_t l = strlen(t);
		if (n == max || l > 253 || t[0] == '.' || t[0] == '-' || t[l - 1] == '.')
			return -1;
		for (size_t i = 0; i < l; i++) {
			t[i] = (char)tolower((unsigned char)t[i]);
			if (!(islower((unsigned char)t[i]) || isdigit((unsigned char)t[i]) ||
			      t[i] == '-' || t[i] == '.'))
				return -1;
		}
		if (!strchr(t, '.') || strstr(t, ".."))
			return -1;
		names[n++] = t;
	}
	return n ? (int)n : -1;
}

static void on_due(uv_timer_t *t);

static void schedule(struct acme_cert *c, uint64_t ms)
{
	uv_timer_start(&c->timer, on_due, ms, 0);
}

/* When to renew: two thirds into the lifetime. */
static time_t renew_at(const struct acme_cert *c)
{
	return c->nb + (c->na - c->nb) * 2 / 3;
}

static void schedule_renewal(struct acme_cert *c)
{
	time_t now = time(NULL), at = renew_at(c);
	uint64_t ms = at > now ? (uint64_t)(at - now) * 1000 : 0;
	if (ms < 1000)
		ms = 1000;
	char when[32];
	struct tm tm;
	gmtime_r(&at, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	log_info("acme event=renewal_scheduled domain=%s at=%s in=%llus", c->names[0], when,
	         (unsigned long long)(ms / 1000));
	schedule(c, ms);
}

static void order_done(void *ud, const char *err, time_t nb, time_t na)
{
	struct acme_cert *c = ud;
	c->order = NULL;
	if (err) {
		metric_add(MET_ACME_FAILED, 1);
		uint64_t delay = c->backoff_ms ? c->backoff_ms : A.retry_first_ms;
		c->backoff_ms = delay * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : delay * 2;
		char e[700];
		log_kv_escape(e, sizeof e, err, strlen(err));
		log_warn("acme event=order_failed domain=%s err=%s retry_in=%llums", c->names[0], e,
		         (unsigned long long)delay);
		schedule(c, delay);
		return;
	}
	metric_add(MET_ACME_ISSUED, 1);
	c->have = true;
	c->nb = nb;
	c->na = na;
	c->backoff_ms = 0;
	log_info("acme event=issued domain=%s names=%zu not_after=%lld file=%s", c->names[0],
	         c->nnames, (long long)na, c->crt_path);
	if (A.svc.installed)
		A.svc.installed(A.svc.ud);
	schedule_renewal(c);
}

static void on_due(uv_timer_t *t)
{
	struct acme_cert *c = t->data;
	if (c->order || !A.started)
		return;
	log_info("acme event=order_start domain=%s reason=%s", c->names[0],
	         c->backoff_ms ? "retry"
	         : !c->have    ? "no_certificate"
	                       : "renewal");
	c->order = acme_order_start(A.svc.loop, &c->acct, &c->params, order_done, c);
	if (!c->order)
		order_done(c, "the order could not start", 0, 0);
}

/* Is the certificate on disk servable? Fills have/nb/na. */
static void load_existing(struct acme_cert *c)
{
	char err[400];
	c->have = false;
	if (acme_cert_check_files(c->crt_path, c->key_path, c->names, c->nnames, &c->nb, &c->na,
	                          err, sizeof err) != 0) {
		char e[500];
		log_kv_escape(e, sizeof e, err, strlen(err));
		log_info("acme event=no_usable_certificate domain=%s why=%s", c->names[0], e);
		return;
	}
	if (c->na <= time(NULL)) {
		log_info("acme event=certificate_expired domain=%s not_after=%lld", c->names[0],
		         (long long)c->na);
		return;
	}
	c->have = true;
	log_info("acme event=certificate_loaded domain=%s not_after=%lld file=%s", c->names[0],
	         (long long)c->na, c->crt_path);
}

int acme_init(const struct acme_entry_config *entries, size_t n, const struct acme_services *svc,
              char *err, size_t errlen)
{
	memset(&A, 0, sizeof A);
	A.svc = *svc;
	A.retry_first_ms = RETRY_FIRST_MS;
	const char *t = getenv("TERN_ACME_TEST_RETRY_MS");
	if (t && atoll(t) > 0)
		A.retry_first_ms = (uint64_t)atoll(t);
	if (n == 0)
		return 0;
	if (n > MAX_ENTRIES) {
		snprintf(err, errlen, "too many [[tls.acme]] entries (at most %d)", MAX_ENTRIES);
		return -1;
	}
	char dir[700];
	snprintf(dir, sizeof dir, "%s/acme", svc->data_dir);
	if (acme_mkdir_p(dir) != 0) {
		snprintf(err, errlen, "creating %s: %s", dir, strerror(errno));
		return -1;
	}
	char keypath[800];
	snprintf(keypath, sizeof keypath, "%s/account.key", dir);
	if (acme_key_load_or_create(&A.key, keypath, err, errlen) != 0)
		return -1;
	A.key_loaded = true;
	for (size_t i = 0; i < n; i++) {
		struct acme_cert *c = &A.certs[i];
		const struct acme_entry_config *e = &entries[i];
		c->cfg = e;
		int k = acme_split_domains(e->domains, c->names_buf, sizeof c->names_buf, c->names,
		                           MAX_NAMES);
		if (k < 0) {
			snprintf(err, errlen,
			         "[[tls.acme]] domains \"%s\" is not a list of DNS names",
			         e->domains);
			goto fail;
		}
		c->nnames = (size_t)k;
		if (strncmp(e->directory, "https://", 8) != 0) {
			snprintf(err, errlen, "[[tls.acme]] directory must be an https:// URL");
			goto fail;
		}
		snprintf(c->crt_path, sizeof c->crt_path, "%s/%s.crt", dir, c->names[0]);
		snprintf(c->key_path, sizeof c->key_path, "%s/%s.key", dir, c->names[0]);
		snprintf(c->acct.directory, sizeof c->acct.directory, "%s", e->directory);
		snprintf(c->acct.contact, sizeof c->acct.contact, "%s", e->contact);
		c->acct.key = &A.key;
		if (tls_client_ctx_new(&c->acct.tls, true, e->ca_file[0] ? e->ca_file : NULL, err,
		                       errlen) != 0)
			goto fail;
		c->params = (struct acme_order_params){.domains = c->names,
		                                       .ndomains = c->nnames,
		                                       .crt_path = c->crt_path,
		                                       .key_path = c->key_path,
		                                       .challenge = e->challenge};
		if (e->challenge == ACME_TLS_ALPN_01 &&
		    tls_set_alpn_challenge(acme_alpn_lookup, NULL) != 0) {
			snprintf(err, errlen, "%s", ACME_TLS_ALPN_UNSUPPORTED);
			goto fail;
		}
		A.n = i + 1;
		uv_timer_init(svc->loop, &c->timer);
		c->timer.data = c;
		load_existing(c);
	}
	return 0;
fail:
	for (size_t i = A.n; i < n; i++)
		tls_client_ctx_free(&A.certs[i].acct.tls);
	acme_free();
	return -1;
}

void acme_start(void)
{
	A.started = true;
	for (size_t i = 0; i < A.n; i++) {
		struct acme_cert *c = &A.certs[i];
		if (c->have)
			schedule_renewal(c);
		else
			schedule(c, 0);
	}
}

void acme_stop(void)
{
	A.started = false;
	for (size_t i = 0; i < A.n; i++) {
		struct acme_cert *c = &A.certs[i];
		acme_order_cancel(c->order);
		c->order = NULL;
		if (c->timer.loop && !uv_is_closing((uv_handle_t *)&c->timer))
			uv_close((uv_handle_t *)&c->timer, NULL);
	}
}

void acme_free(void)
{
	acme_stop();
	for (size_t i = 0; i < A.n; i++)
		tls_client_ctx_free(&A.certs[i].acct.tls);
	A.n = 0;
	if (A.key_loaded)
		acme_key_free(&A.key);
	A.key_loaded = false;
	tls_set_alpn_challenge(NULL, NULL);
	acme_alpn_clear();
}

size_t acme_recheck(void)
{
	size_t changed = 0;
	for (size_t i = 0; i < A.n; i++) {
		struct acme_cert *c = &A.certs[i];
		bool had = c->have;
		load_existing(c);
		if (c->have)
			continue;
		if (had) {
			changed++;
			log_info("acme event=certificate_gone domain=%s file=%s", c->names[0],
			         c->crt_path);
		}
		if (A.started && !c->order) {
			c->backoff_ms = 0;
			schedule(c, 0);
		}
	}
	return changed;
}

size_t acme_certs(struct tls_cert_spec *out, size_t max)
{
	size_t k = 0;
	for (size_t i = 0; i < A.n && k < max; i++)
		if (A.certs[i].have)
			out[k++] = (struct tls_cert_spec){A.certs[i].crt_path, A.certs[i].key_path};
	return k;
}

int64_t acme_earliest_expiry(void)
{
	int64_t e = 0;
	for (size_t i = 0; i < A.n; i++)
		if (A.certs[i].have && (e == 0 || A.certs[i].na < e))
			e = A.certs[i].na;
	return e;
}
